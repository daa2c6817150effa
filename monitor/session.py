"""The session model: who, what was given, what happened when, and the phases that follow.

Plain frozen dataclasses: the store builds them, the runtime, reports and UI read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

# EntryKind is vocabulary (alarms and drivers name kinds too), so it lives in the ground layer.
from monitor.messages import EntryKind as EntryKind


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
        starts = self.entries_of(EntryKind.DOSE_START)
        return min(e.t_s for e in starts) if starts else None

    def phases(self) -> tuple[Phase, ...]:
        """Baseline, dosing, peak and recovery, from the dose entries and the route."""
        end = self.duration_s
        dose = self.dose_start_s
        if dose is None:
            return (Phase("baseline", 0.0, end),)
        stops = [e.t_s for e in self.entries_of(EntryKind.DOSE_STOP) if e.t_s >= dose]
        if stops:
            dose_end = min(stops)
        elif self.protocol.infusion_min:
            dose_end = dose + self.protocol.infusion_min * 60
        else:
            dose_end = dose
        route = self.protocol.route or Route.IV
        peak_lo, peak_hi = PEAK_WINDOW_S[route]
        phases = [Phase("baseline", 0.0, dose)]
        if dose_end > dose:
            phases.append(Phase("dosing", dose, dose_end))
        phases.append(Phase("peak", dose + peak_lo, dose + peak_hi))
        phases.append(Phase("recovery", max(dose + peak_hi, dose_end), end))
        return tuple(phases)


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
