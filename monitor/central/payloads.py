"""The central station's wire vocabulary: topics and payloads under `vigil/<room>/`.

The room publisher and the board both speak only through this module, so the two can never
disagree on a field. Every payload is JSON with `"v": 1`, at most 64 KiB, checked against the
JSON Schema shipped beside its description in `docs/central/` (the contract a third party
builds to). `parse_*` raise `PayloadError` naming the topic and what is wrong; a receiver
drops that payload with one log line and goes on.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

import jsonschema

VERSION: Final = 1
MAX_PAYLOAD_BYTES: Final = 64 * 1024
ROOM_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
PREFIX: Final = "vigil"
KINDS: Final = ("status", "numerics", "alarms", "ack")
SCHEMA_DIR: Final = Path(__file__).resolve().parents[2] / "docs" / "central"

# Why the room last said it was online or offline.
REASON_CLOSED: Final = "closed"
REASON_LOST: Final = "connection lost"

ValueState = Literal["live", "stale", "invalid"]
AlarmKindName = Literal["physiological", "technical"]
PriorityName = Literal["HIGH", "MEDIUM", "LOW"]


class PayloadError(ValueError):
    """A payload that cannot be used: malformed, too large, unknown version or topic."""


def valid_room(room: str) -> bool:
    return bool(ROOM_RE.fullmatch(room))


def topic(room: str, kind: str) -> str:
    """`vigil/<room>/<kind>`; a ValueError for a room name or kind outside the contract."""
    if not valid_room(room):
        raise ValueError(f"room name {room!r} must match {ROOM_RE.pattern}")
    if kind not in KINDS:
        raise ValueError(f"unknown topic kind {kind!r}; known: {', '.join(KINDS)}")
    return f"{PREFIX}/{room}/{kind}"


def split_topic(name: str) -> tuple[str, str]:
    """(room, kind) of a topic under `vigil/`; PayloadError for any other topic."""
    parts = name.split("/")
    if len(parts) != 3 or parts[0] != PREFIX or not valid_room(parts[1]) or parts[2] not in KINDS:
        raise PayloadError(f"{name}: not a Vigil topic (expected vigil/<room>/"
                           f"{'|'.join(KINDS)})")
    return parts[1], parts[2]


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    status: str


@dataclass(frozen=True, slots=True)
class Due:
    what: str  # e.g. "BP ~40 min", "2-h minimum"
    due: float  # epoch seconds


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    patient: str | None  # None unless the clinic publishes initials
    preset: str
    phase: str  # BASELINE, DOSING, PEAK, RECOVERY, DISCHARGE-READY
    dose_start: float | None
    next_due: tuple[Due, ...]
    discharged: bool


@dataclass(frozen=True, slots=True)
class Status:
    """`vigil/<room>/status`, retained, QoS 1."""

    room: str
    online: bool
    t: float
    reason: str | None
    session: SessionInfo | None
    devices: tuple[Device, ...]


@dataclass(frozen=True, slots=True)
class NumericValue:
    vital: str  # a key of monitor.vitals.VITALS
    label: str
    unit: str
    value: float | None  # None unless state is "live"
    t: float | None  # time of the last good value
    state: ValueState


@dataclass(frozen=True, slots=True)
class Numerics:
    """`vigil/<room>/numerics`, QoS 0, 1 Hz."""

    room: str
    t: float
    values: tuple[NumericValue, ...]


@dataclass(frozen=True, slots=True)
class Alarm:
    id: str  # the engine's alarm key
    vital: str | None
    kind: AlarmKindName
    text: str
    priority: PriorityName
    onset: float
    acknowledged: bool
    audio_paused: bool


@dataclass(frozen=True, slots=True)
class AlarmSet:
    """`vigil/<room>/alarms`, retained, QoS 1: the room's whole current set."""

    room: str
    t: float
    seq: int  # monotonic per room process
    alarms: tuple[Alarm, ...]


@dataclass(frozen=True, slots=True)
class Ack:
    """`vigil/<room>/ack`, board to room, QoS 1, not retained."""

    alarm_id: str
    user: str
    t: float


Payload = Status | Numerics | AlarmSet | Ack
_KIND_OF: Final[dict[type[Any], str]] = {
    Status: "status", Numerics: "numerics", AlarmSet: "alarms", Ack: "ack"}


def last_will(room: str, connect_t: float) -> Status:
    """What the broker publishes for a room whose connection dies."""
    return Status(room, False, connect_t, REASON_LOST, None, ())


@cache
def schema(kind: str) -> dict[str, Any]:
    """The shipped JSON Schema for `kind` (docs/central/<kind>.schema.json)."""
    with open(SCHEMA_DIR / f"{kind}.schema.json", encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


@cache
def _validator(kind: str) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema(kind))
    cls.check_schema(schema(kind))
    validator: jsonschema.protocols.Validator = cls(schema(kind))
    return validator


def to_dict(payload: Payload) -> dict[str, Any]:
    d = {"v": VERSION, **asdict(payload)}
    return _lists(d)  # type: ignore[no-any-return]  # _lists keeps a dict a dict


def _lists(obj: Any) -> Any:
    """Tuples as JSON arrays, recursively (asdict keeps them tuples)."""
    if isinstance(obj, dict):
        return {k: _lists(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_lists(v) for v in obj]
    return obj


def to_json(payload: Payload) -> bytes:
    """The payload as compact UTF-8 JSON; a ValueError if it breaks its own schema or size
    (a bug in the sender, caught before it reaches the wire)."""
    kind = _KIND_OF[type(payload)]
    d = to_dict(payload)
    errors = sorted(_validator(kind).iter_errors(d), key=lambda e: list(e.absolute_path))
    if errors:
        raise ValueError(f"{kind} payload breaks its schema: {_describe(errors[0])}")
    data = json.dumps(d, separators=(",", ":"), allow_nan=False).encode()
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"{kind} payload is {len(data)} bytes (max {MAX_PAYLOAD_BYTES})")
    return data


def _describe(error: jsonschema.ValidationError) -> str:
    """Where the payload breaks its schema and which rule, never the offending value: the
    message is logged, and a bad value may be patient data (initials too long, say)."""
    where = "/".join(str(p) for p in error.absolute_path) or "(top)"
    if error.validator == "required":  # names a field of the schema, not a value
        return f"at {where}: {error.message}"
    return f"at {where}: the value breaks the schema's {error.validator!r} rule"


def _load(topic_name: str, kind: str, data: bytes) -> dict[str, Any]:
    if len(data) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"{topic_name}: payload of {len(data)} bytes is over the "
                           f"{MAX_PAYLOAD_BYTES}-byte limit")
    try:
        d = json.loads(data, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as e:
        raise PayloadError(f"{topic_name}: not JSON ({e})") from None
    if not isinstance(d, dict):
        raise PayloadError(f"{topic_name}: payload is {type(d).__name__}, not an object")
    if d.get("v") != VERSION:
        raise PayloadError(f"{topic_name}: unknown version v={d.get('v')!r} "
                           f"(this Vigil reads v={VERSION})")
    errors = sorted(_validator(kind).iter_errors(d), key=lambda e: list(e.absolute_path))
    if errors:
        raise PayloadError(f"{topic_name}: {_describe(errors[0])}")
    return d


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _check(topic_name: str, kind: str) -> str:
    room, got = split_topic(topic_name)
    if got != kind:
        raise PayloadError(f"{topic_name}: a {kind} payload on a {got} topic")
    return room


def _same_room(topic_name: str, room: str, d: dict[str, Any]) -> None:
    if d["room"] != room:
        raise PayloadError(f"{topic_name}: payload names room {d['room']!r}, "
                           f"the topic room {room!r}")


def _f(x: Any) -> float:
    return float(x)


def _opt_f(x: Any) -> float | None:
    return None if x is None else float(x)


def parse_status(topic_name: str, data: bytes) -> Status:
    room = _check(topic_name, "status")
    d = _load(topic_name, "status", data)
    _same_room(topic_name, room, d)
    s = d["session"]
    session = None if s is None else SessionInfo(
        int(s["id"]), s["patient"], s["preset"], s["phase"], _opt_f(s["dose_start"]),
        tuple(Due(n["what"], _f(n["due"])) for n in s["next_due"]), bool(s["discharged"]))
    return Status(room, bool(d["online"]), _f(d["t"]), d["reason"], session,
                  tuple(Device(x["name"], x["status"]) for x in d["devices"]))


def parse_numerics(topic_name: str, data: bytes) -> Numerics:
    room = _check(topic_name, "numerics")
    d = _load(topic_name, "numerics", data)
    _same_room(topic_name, room, d)
    values = tuple(NumericValue(x["vital"], x["label"], x["unit"], _opt_f(x["value"]),
                                _opt_f(x["t"]), x["state"]) for x in d["values"])
    for v in values:
        if v.state != "live" and v.value is not None:
            raise PayloadError(f"{topic_name}: {v.vital} is {v.state} but carries a value")
        if v.value is not None and not math.isfinite(v.value):
            raise PayloadError(f"{topic_name}: {v.vital} value is not finite")
    return Numerics(room, _f(d["t"]), values)


def parse_alarms(topic_name: str, data: bytes) -> AlarmSet:
    room = _check(topic_name, "alarms")
    d = _load(topic_name, "alarms", data)
    _same_room(topic_name, room, d)
    return AlarmSet(room, _f(d["t"]), int(d["seq"]), tuple(
        Alarm(a["id"], a["vital"], a["kind"], a["text"], a["priority"], _f(a["onset"]),
              bool(a["acknowledged"]), bool(a["audio_paused"])) for a in d["alarms"]))


def parse_ack(topic_name: str, data: bytes) -> Ack:
    _check(topic_name, "ack")
    d = _load(topic_name, "ack", data)
    return Ack(d["alarm_id"], d["user"], _f(d["t"]))


def parse(topic_name: str, data: bytes) -> Payload:
    """Any payload, by its topic; PayloadError for an unknown topic or a bad payload."""
    _, kind = split_topic(topic_name)
    if kind == "status":
        return parse_status(topic_name, data)
    if kind == "numerics":
        return parse_numerics(topic_name, data)
    if kind == "alarms":
        return parse_alarms(topic_name, data)
    return parse_ack(topic_name, data)
