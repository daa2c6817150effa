"""What a room tells the central station, built from what the room itself shows.

Pure functions of the live state, the alarm snapshot and the session's marks, so the board
sees exactly the room's truth: a value the room shows as stale or invalid goes out as null,
never as a number; the alarm set is the engine's own, without the advisories.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from alarms.model import AlarmKind, AlarmSnapshot, AlarmState
from alarms.presets import Preset
from monitor.central import payloads as p
from monitor.live import Freshness, Snapshot
from monitor.messages import EntryKind
from monitor.session import DoseProtocol, Patient, Session, SessionStatus, TimelineEntry, phase_at
from monitor.vitals import VITALS

Wall = Callable[[float], float]  # session seconds -> epoch seconds


def numerics(room: str, snap: Snapshot, wall: Wall, now: float) -> p.Numerics:
    """Every numeric the room has had a value for, in registry order. A device condition on
    the vital (probe off) or an artefact makes it invalid; a value the room shows as not
    current is stale; either goes out with `value` null and the time of the last good value."""
    invalid = {vital for _src, _cond, vital in snap.conditions if vital}
    values = []
    for key, r in snap.readings.items():
        if r.freshness is Freshness.NONE:
            continue
        v = VITALS[key]
        t = None if r.t_s is None or r.freshness is Freshness.ARTEFACT else wall(r.t_s)
        if r.freshness is Freshness.ARTEFACT or key in invalid:
            state: p.ValueState = "invalid"
        elif r.freshness is Freshness.STALE:
            state = "stale"
        else:
            state = "live"
        value = r.value if state == "live" else None
        values.append(p.NumericValue(key, v.label, v.unit, value, t, state))
    return p.Numerics(room, now, tuple(values))


def alarm_items(snap: AlarmSnapshot, wall: Wall) -> tuple[p.Alarm, ...]:
    """The engine's shown alarms (active and latched, its order), advisories left out."""
    items = []
    for a in snap.alarms:
        if a.kind is AlarmKind.ADVISORY or a.state is AlarmState.ENDED:
            continue
        kind: p.AlarmKindName = ("physiological" if a.kind is AlarmKind.PHYSIOLOGICAL
                                 else "technical")
        text = a.condition + (", ended" if a.state is AlarmState.LATCHED else "")
        paused = (snap.audio_paused_until_s is not None and a.state is AlarmState.ACTIVE
                  and not a.acknowledged)
        items.append(p.Alarm(a.key, a.vital, kind, text, a.priority.name,  # type: ignore[arg-type]
                             wall(a.onset_t_s), a.acknowledged, paused))
    return tuple(items)


def initials(identifier: str | None) -> str | None:
    """Initials of what was entered as the patient ("Jane Doe" -> "JD"; "J.D." -> "JD")."""
    if not identifier:
        return None
    parts = [w for w in re.split(r"[\s.\-_,]+", identifier) if w]
    letters = "".join(w[0] for w in parts if w[0].isalpha()).upper()
    return letters[:3] or None


@dataclass
class SessionMarks:
    """The session as the central station sees it, from the timeline marks the runtime hands
    on (dose start and stop, discharge): phase and what is due next."""

    session_id: int
    patient: Patient
    protocol: DoseProtocol
    preset: Preset
    start_wall: float
    entries: list[TimelineEntry] = field(default_factory=list)
    discharged: bool = False

    def mark(self, kind: str, t_s: float, t_wall: float) -> bool:
        """Notes a timeline mark; True when it changes what the status says."""
        if kind == EntryKind.DISCHARGE:
            self.discharged = True
        elif kind not in (EntryKind.DOSE_START, EntryKind.DOSE_STOP):
            return False
        self.entries.append(TimelineEntry(len(self.entries), kind, t_s, t_wall,
                                          MappingProxyType({}), "", t_wall))
        return True

    def _session(self) -> Session:
        return Session(self.session_id, "", self.patient, self.protocol, self.preset.name,
                       self.start_wall, None, SessionStatus.ACTIVE, tuple(self.entries))

    def info(self, now_s: float, patient_shown: bool) -> p.SessionInfo:
        s = self._session()
        dose = s.dose_start_s
        if self.discharged:
            phase = "DISCHARGE-READY"
        else:
            running = dose is not None and not any(
                e.kind == EntryKind.DOSE_STOP and e.t_s >= dose for e in self.entries)
            phase = phase_at(s.phases(), now_s, running).upper()
        due: list[p.Due] = []
        if dose is not None and not self.discharged:
            bp, mm = self.preset.bp_check, self.preset.min_monitoring
            if bp is not None and now_s < dose + bp.after_dose_s + bp.window_s:
                due.append(p.Due(f"BP ~{bp.after_dose_s / 60:g} min",
                                 self.start_wall + dose + bp.after_dose_s))
            if mm is not None and now_s < dose + mm.min_s:
                hours = mm.min_s / 3600
                due.append(p.Due(f"{hours:g}-h minimum" if hours >= 1
                                 else f"{mm.min_s / 60:g}-min minimum",
                                 self.start_wall + dose + mm.min_s))
        due.sort(key=lambda d: d.due)
        return p.SessionInfo(
            self.session_id, initials(self.patient.identifier) if patient_shown else None,
            self.preset.name, phase, None if dose is None else self.start_wall + dose,
            tuple(due), self.discharged)


def devices(states: Mapping[str, str]) -> tuple[p.Device, ...]:
    return tuple(p.Device(name, state) for name, state in sorted(states.items()))
