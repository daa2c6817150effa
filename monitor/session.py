"""The session model: who, what was given, what happened when, and the phases that follow.

Plain frozen dataclasses: the store builds them, the runtime, reports and UI read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

# EntryKind is vocabulary (alarms and drivers name kinds too), so it lives in the ground layer.
from monitor.messages import EntryKind as EntryKind
from monitor.messages import TimelineMark


class SessionStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"  # the recording process died; the data up to then is kept


class Route(StrEnum):
    IV = "iv"
    IM = "im"
    SUBLINGUAL = "sublingual"
    INTRANASAL = "intranasal"


@dataclass(frozen=True, slots=True)
class Patient:
    identifier: str | None = None  # clinic id or initials; never written to logs
    weight_kg: float | None = None


@dataclass(frozen=True, slots=True)
class DoseProtocol:
    drug: str | None = None
    route: Route | None = None
    dose_mg: float | None = None
    infusion_min: float | None = None  # planned infusion length (IV)
    lot: str | None = None

    def dose_mg_per_kg(self, patient: Patient) -> float | None:
        if self.dose_mg is None or not patient.weight_kg:
            return None
        return self.dose_mg / patient.weight_kg


# The simulator's patient (devices/sim: 70 kg, ketamine 0.5 mg/kg IV over 40 min): what a
# session on the simulator alone starts with when nobody entered a patient.
SIM_PATIENT = Patient("SIM-DEMO", 70.0)
SIM_PROTOCOL = DoseProtocol("ketamine", Route.IV, 35.0, 40.0)


@dataclass(frozen=True, slots=True)
class Revision:
    """One earlier state of a timeline entry, kept when it was edited."""

    revised_wall: float
    author: str
    t_s: float
    data: MappingProxyType[str, Any]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    id: int
    kind: str
    t_s: float
    t_wall: float
    data: MappingProxyType[str, Any]
    author: str
    created_wall: float
    revisions: tuple[Revision, ...] = ()


@dataclass(frozen=True, slots=True)
class Phase:
    name: str  # baseline, dosing, peak, recovery
    start_s: float
    end_s: float | None


# When the effects peak after the dose starts, by route (seconds from dose start).
# IV 0.5 mg/kg/40 min: BP peaks 30-40 min (Yale 2024, Riva-Posse 2018); intranasal esketamine
# ~40 min (label). IM and sublingual windows are design choices from the onset times in
# the clinical reference (IM effects within minutes, < 1 h; sublingual ~20 min after holding).
PEAK_WINDOW_S: MappingProxyType[Route, tuple[float, float]] = MappingProxyType({
    Route.IV: (25 * 60, 50 * 60),
    Route.INTRANASAL: (30 * 60, 50 * 60),
    Route.IM: (10 * 60, 35 * 60),
    Route.SUBLINGUAL: (20 * 60, 45 * 60),
})


@dataclass(frozen=True, slots=True)
class Session:
    id: int
    uuid: str
    patient: Patient
    protocol: DoseProtocol
    preset: str | None
    start_wall: float
    end_wall: float | None
    status: SessionStatus
    entries: tuple[TimelineEntry, ...] = field(default=())

    @property
    def duration_s(self) -> float | None:
        return None if self.end_wall is None else self.end_wall - self.start_wall

    def entries_of(self, kind: str) -> tuple[TimelineEntry, ...]:
        return tuple(e for e in self.entries if e.kind == kind)

    @property
    def dose_start_s(self) -> float | None:
        return dose_start_s(self.entries)

    def phases(self) -> tuple[Phase, ...]:
        """Baseline, dosing, peak and recovery, from the dose entries and the route."""
        return phases(self.entries, self.protocol, self.duration_s)


def dose_start_s(entries: Iterable[TimelineEntry]) -> float | None:
    """The first dose start on the timeline; None before the dose."""
    return min((e.t_s for e in entries if e.kind == EntryKind.DOSE_START), default=None)


def phases(entries: Iterable[TimelineEntry], protocol: DoseProtocol, end_s: float | None
           ) -> tuple[Phase, ...]:
    """Baseline, dosing, peak and recovery, from the dose entries, the protocol's route and
    infusion length, and the end of the record (None: still open)."""
    entries = tuple(entries)
    dose = dose_start_s(entries)
    if dose is None:
        return (Phase("baseline", 0.0, end_s),)
    stops = [e.t_s for e in entries if e.kind == EntryKind.DOSE_STOP and e.t_s >= dose]
    if stops:
        dose_end = min(stops)
    elif protocol.infusion_min:
        dose_end = dose + protocol.infusion_min * 60
    else:
        dose_end = dose
    route = protocol.route or Route.IV
    peak_lo, peak_hi = PEAK_WINDOW_S[route]
    out = [Phase("baseline", 0.0, dose)]
    if dose_end > dose:
        out.append(Phase("dosing", dose, dose_end))
    out.append(Phase("peak", dose + peak_lo, dose + peak_hi))
    out.append(Phase("recovery", max(dose + peak_hi, dose_end), end_s))
    return tuple(out)


# -- one conversion between a timeline entry and the mark the runtime's sinks see ------------

def mark_data(data: Mapping[str, Any]) -> tuple[tuple[str, str | float], ...]:
    """Entry data as a mark carries it: numbers and text only (immutable), in key order."""
    return tuple((k, v if isinstance(v, int | float) and not isinstance(v, bool) else str(v))
                 for k, v in sorted(data.items()))


def entry_mark(e: TimelineEntry, data: Mapping[str, Any] | None = None) -> TimelineMark:
    """The mark of a stored entry (its id, its author as the source); `data` replaces the
    entry's own."""
    return TimelineMark(e.author, e.t_wall, e.t_s, e.kind,
                        mark_data(e.data if data is None else data), e.id)


def mark_entry(m: TimelineMark, entry_id: int | None = None) -> TimelineEntry:
    """A mark as a timeline entry: its own store id, else `entry_id` (a mark not in the
    store: give it a negative one, which nothing can edit)."""
    eid = m.entry_id if m.entry_id is not None else entry_id
    if eid is None:
        raise ValueError(f"timeline mark {m.kind!r} at {m.t_s:g} s: not stored, and no id given")
    return TimelineEntry(eid, m.kind, m.t_s, m.t_wall, MappingProxyType(dict(m.data)),
                         m.source, m.t_wall)


def phase_at(phases: tuple[Phase, ...], now_s: float, dose_running: bool) -> str:
    """The phase to show now: the latest one under way. Once the dose has started it is
    never "baseline": between phases (no dosing band known, or before the peak window) it
    is "dosing" while the dose runs (no Dose stop yet), else "post-dose"."""
    current = [p for p in phases if p.start_s <= now_s
               and (p.end_s is None or now_s < p.end_s or p is phases[-1])]
    name = current[-1].name if current else ""
    if len(phases) > 1 and name in ("", "baseline"):  # a dose has started
        return "dosing" if dose_running else "post-dose"
    return name or "baseline"
