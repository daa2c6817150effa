"""HL7 v2.6 messages as text: PCD-01 ORU^R01 (vitals), PCD-04 ORU^R40 (alarms), and the
ACK a receiver answers with.

Built as field lists and joined here (segments end with CR); free text is escaped with the
`hl7` package's escaping, numbers are written exactly as the vitals CSV writes them. The
tests parse every message with hl7apy against the v2.6 structures.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import hl7
from hl7.exceptions import HL7Exception

from alarms.model import AlarmEvent, AlarmEventKind, AlarmState
from monitor.hl7.codes import (
    ALARM_PRIORITY,
    ALARM_STATE,
    ALERT_TYPE,
    ALERT_TYPES,
    EVENT_PHASE,
    EVT_ALARM,
    INACTIVATION_STATE,
    MDS,
    PRIORITY_CODES,
    PROFILE_PCD01,
    PROFILE_PCD04,
    SCORE_CODES,
    SYSTEM_PATH,
    VITAL_CODES,
)
from monitor.timefmt import number

SEGMENT_END = "\r"
_ESCAPER = hl7.parse("MSH|^~\\&|")


def escape(text: str) -> str:
    """Free text made safe inside a field (| ^ ~ \\ & and non-ASCII escaped)."""
    return str(_ESCAPER.escape(text))


def dtm(t_wall: float) -> str:
    """HL7 DTM in UTC to the millisecond, e.g. 20261203021500.250+0000."""
    dt = datetime.fromtimestamp(t_wall, tz=UTC)
    return dt.strftime("%Y%m%d%H%M%S.") + f"{dt.microsecond // 1000:03d}+0000"


def host_eui64(host: str | None = None) -> str:
    """A stable EUI-64-shaped id for this Vigil (from the host name): MSH-3 and OBX-18."""
    digest = hashlib.sha256((host or socket.gethostname()).encode()).hexdigest()
    return digest[:16].upper()


@dataclass(frozen=True, slots=True)
class Party:
    """Who sends and for whom: the same on every message of a session."""

    patient_id: str  # the clinic's id, or the session's pseudonym in a de-identified feed
    eui64: str
    facility: str = ""
    receiver: str = ""
    receiver_facility: str = ""


@dataclass(frozen=True, slots=True)
class Observation:
    """One value to send: a vital (a key of VITAL_CODES, measured by `source`) or a score
    (a key of SCORE_CODES, entered by staff)."""

    key: str
    value: float
    t_wall: float
    source: str | None = None


def _segment(*fields: str) -> str:
    return "|".join(fields).rstrip("|")


def _header(p: Party, control_id: str, t_wall: float, event: str, profile: str) -> list[str]:
    app = f"VIGIL^{p.eui64}^EUI-64"
    return [
        "MSH|^~\\&|" + _segment(app, escape(p.facility), escape(p.receiver),
                                escape(p.receiver_facility), dtm(t_wall), "",
                                f"ORU^{event}^ORU_R01", control_id, "P", "2.6", "", "",
                                "AL", "NE", "", "", "", "", profile),
        # PID-5 is required: Vigil holds no name, so the name's type says "unspecified".
        _segment("PID", "", "", f"{escape(p.patient_id)}^^^VIGIL^PI", "", "^^^^^^U"),
        _segment("PV1", "", "O"),
    ]


def _obr(control_id: str, t_wall: float, p: Party, code: str, end: float | None = None
         ) -> str:
    filler = f"{control_id}^VIGIL^{p.eui64}^EUI-64"
    return _segment("OBR", "1", filler, filler, code, "", "", dtm(t_wall),
                    "" if end is None else dtm(end))


def _obx(n: int, vtype: str, code: str, path: str, value: str, unit: str, status: str,
         t_wall: float | None, device: str, flags: str = "") -> str:
    return _segment("OBX", str(n), vtype, code, path, value, unit, "", flags, "", "",
                    status, "", "", "" if t_wall is None else dtm(t_wall), "", "", "", device)


def _device(p: Party, source: str | None) -> str:
    return "" if source is None else f"{escape(source)}^VIGIL^{p.eui64}^EUI-64"


def oru_r01(p: Party, control_id: str, t_wall: float, observations: Sequence[Observation]
            ) -> str:
    """PCD-01: the MDS row, then one OBX per observation (vitals in containment order,
    then scores). Only finite values: the feed sends only what was measured."""
    segs = _header(p, control_id, t_wall, "R01", PROFILE_PCD01)
    segs.append(_obr(control_id, t_wall, p, "182777000^monitoring of patient^SCT"))
    segs.append(_obx(1, "", MDS.cwe(), "1.0.0.0", "", "", "X", None, _device(p, "vigil")))
    n = 1
    for o in observations:
        if not math.isfinite(o.value):
            raise ValueError(f"observation {o.key}: not a finite number ({o.value})")
        n += 1
        vc = VITAL_CODES.get(o.key)
        if vc is not None:
            segs.append(_obx(n, "NM", vc.metric.cwe(), vc.path, number(o.value),
                             vc.unit.cwe(), "R", o.t_wall, _device(p, o.source)))
        else:
            code = SCORE_CODES[o.key]
            segs.append(_obx(n, "NM", code.cwe(), "", number(o.value), "", "F", o.t_wall, ""))
    return SEGMENT_END.join(segs) + SEGMENT_END


_PHASES = {AlarmEventKind.START: "start", AlarmEventKind.END: "end",
           AlarmEventKind.SESSION_END: "end", AlarmEventKind.PRIORITY: "update",
           AlarmEventKind.ESCALATE: "escalate", AlarmEventKind.ACKNOWLEDGE: "update"}
# The alarm events PCD-04 reports (start, priority changes, acknowledgement, end).
ALERT_EVENTS = frozenset(_PHASES)
_STATES = {AlarmState.ACTIVE: "active", AlarmState.LATCHED: "latched",
           AlarmState.ENDED: "inactive"}


def oru_r40(p: Party, control_id: str, ev: AlarmEvent, wall0: float) -> str:
    """PCD-04: one alert's identity (text, OBX-4 facet .1), the vital that caused it
    (worst value, .2), then its phase, state, inactivation, priority and type (.3 to .7)."""
    a = ev.alarm
    if a is None or ev.event not in _PHASES:
        raise ValueError(f"alarm event {ev.event} is not reported as an alert")
    segs = _header(p, control_id, ev.t_wall, "R40", PROFILE_PCD04)
    end = ev.t_wall if ev.event in (AlarmEventKind.END, AlarmEventKind.SESSION_END) else None
    segs.append(_obr(control_id, wall0 + a.onset_t_s, p, EVT_ALARM.cwe(), end))
    vc = VITAL_CODES.get(a.vital or "")
    base = vc.path if vc is not None else SYSTEM_PATH
    rows = [("ST", EVT_ALARM.cwe(), f"{base}.1", escape(f"{a.condition}: {a.message}"), "")]
    if vc is not None and a.worst_value is not None and math.isfinite(a.worst_value):
        rows.append(("NM", vc.metric.cwe(), f"{base}.2", number(a.worst_value),
                     vc.unit.cwe()))
    inactivation = "alert-acknowledged" if a.acknowledged else "enabled"
    state = "inactive" if end is not None else _STATES[a.state]
    for facet, (code, value) in enumerate(
            ((EVENT_PHASE, _PHASES[ev.event]), (ALARM_STATE, state),
             (INACTIVATION_STATE, inactivation), (ALARM_PRIORITY, PRIORITY_CODES[a.priority]),
             (ALERT_TYPE, ALERT_TYPES[a.kind])), 3):
        rows.append(("ST", code.cwe(), f"{base}.{facet}", value, ""))
    # OBX-8 of the alert row: abnormal, its priority and type (as GE's and Draeger's).
    flags = f"A~{PRIORITY_CODES[a.priority]}~{ALERT_TYPES[a.kind]}"
    for n, (vtype, code_text, path, value, unit) in enumerate(rows, 1):
        segs.append(_obx(n, vtype, code_text, path, value, unit, "R", ev.t_wall,
                         _device(p, "vigil"), flags if n == 1 else ""))
    return SEGMENT_END.join(segs) + SEGMENT_END


def control_id_of(message: str) -> str:
    """MSH-10 of a message built here."""
    return message.split(SEGMENT_END, 1)[0].split("|")[9]


@dataclass(frozen=True, slots=True)
class Ack:
    code: str  # MSA-1: AA, AE, AR (or CA, CE, CR in enhanced mode)
    control_id: str  # MSA-2: the MSH-10 acknowledged
    text: str = ""  # MSA-3 or ERR, for the log and review

    @property
    def accepted(self) -> bool:
        return self.code in ("AA", "CA")


class AckError(ValueError):
    """The answer is not an HL7 ACK."""


ACK_CODES = frozenset({"AA", "AE", "AR", "CA", "CE", "CR"})  # HL7 table 0008


def parse_ack(text: str) -> Ack:
    """The receiver's answer; AckError if it is not an ACK with a known MSA-1 (then the
    message is sent again, never taken as answered). Segments may end with LF or CRLF
    (some engines send them so)."""
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    try:
        msg = hl7.parse(text)
        msa = msg.segment("MSA")
    except (KeyError, ValueError, IndexError, HL7Exception) as e:
        raise AckError(f"not an HL7 ACK (no MSA segment): {text[:80]!r}") from e
    fields = [str(f).strip() for f in msa]
    fields += [""] * (4 - len(fields))
    if fields[1] not in ACK_CODES:
        raise AckError(f"not an HL7 ACK (MSA-1 {fields[1][:8]!r} is none of "
                       f"{', '.join(sorted(ACK_CODES))})")
    err = ""
    with contextlib.suppress(KeyError):
        err = str(msg.segment("ERR"))
    return Ack(fields[1], fields[2], fields[3] or err)


def ack(message: str, code: str = "AA", text: str = "") -> str:
    """The original-mode ACK a receiver sends for `message` (tests and tools)."""
    msh = message.split(SEGMENT_END, 1)[0].split("|")
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    head = "|".join(["MSH", msh[1], msh[4], msh[5], msh[2], msh[3], now, "",
                     "ACK^" + msh[8].split("^")[1] + "^ACK", "ACK" + msh[9], "P", "2.6"])
    return head + SEGMENT_END + _segment("MSA", code, msh[9], escape(text)) + SEGMENT_END
