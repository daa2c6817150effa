"""PROVISIONAL (board branch): replaced by the room engineer's module on merge."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_PAYLOAD = 64 * 1024


class PayloadError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Due:
    what: str
    due: float


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    patient: str | None
    preset: str
    phase: str
    dose_start: float | None
    next_due: tuple[Due, ...]
    discharged: bool


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    name: str
    status: str


@dataclass(frozen=True, slots=True)
class Status:
    room: str
    online: bool
    t: float
    reason: str | None
    session: SessionInfo | None
    devices: tuple[DeviceInfo, ...]


@dataclass(frozen=True, slots=True)
class NumericValue:
    vital: str
    label: str
    unit: str
    value: float | None
    t: float | None
    state: str


@dataclass(frozen=True, slots=True)
class NumericsPayload:
    room: str
    t: float
    values: tuple[NumericValue, ...]


@dataclass(frozen=True, slots=True)
class AlarmItem:
    id: str
    vital: str | None
    kind: str
    text: str
    priority: str
    onset: float
    acknowledged: bool
    audio_paused: bool


@dataclass(frozen=True, slots=True)
class AlarmsPayload:
    room: str
    t: float
    seq: int
    alarms: tuple[AlarmItem, ...]


Payload = Status | NumericsPayload | AlarmsPayload


def parse(topic: str, data: bytes) -> Payload:
    if len(data) > MAX_PAYLOAD:
        raise PayloadError(f"{topic}: payload too large")
    try:
        d: Any = json.loads(data)
    except ValueError as e:
        raise PayloadError(f"{topic}: not JSON: {e}") from None
    if not isinstance(d, dict) or d.get("v") != 1:
        raise PayloadError(f"{topic}: unknown version")
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != "vigil":
        raise PayloadError(f"{topic}: unknown topic")
    try:
        if parts[2] == "status":
            s = d["session"]
            return Status(d["room"], d["online"], d["t"], d["reason"], None if s is None else
                          SessionInfo(s["id"], s["patient"], s["preset"], s["phase"],
                                      s["dose_start"],
                                      tuple(Due(x["what"], x["due"]) for x in s["next_due"]),
                                      s["discharged"]),
                          tuple(DeviceInfo(x["name"], x["status"]) for x in d["devices"]))
        if parts[2] == "numerics":
            return NumericsPayload(d["room"], d["t"], tuple(
                NumericValue(x["vital"], x["label"], x["unit"], x["value"], x["t"], x["state"])
                for x in d["values"]))
        if parts[2] == "alarms":
            return AlarmsPayload(d["room"], d["t"], d["seq"], tuple(
                AlarmItem(x["id"], x["vital"], x["kind"], x["text"], x["priority"], x["onset"],
                          x["acknowledged"], x["audio_paused"]) for x in d["alarms"]))
    except (KeyError, TypeError) as e:
        raise PayloadError(f"{topic}: malformed: {e}") from None
    raise PayloadError(f"{topic}: unknown topic")
