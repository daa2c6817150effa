"""The vital registry: the one table that defines every vital Vigil knows.

Storage, alarms, display and export all read this table; no other module hard-codes a
vital's unit, range, precision, colour or code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class VitalKind(StrEnum):
    CONTINUOUS = "continuous"  # a numeric the device updates about once a second
    INTERMITTENT = "intermittent"  # a discrete reading (NIBP): alarms on the reading itself
    WAVEFORM = "waveform"  # sampled at a fixed rate and stored as chunks


@dataclass(frozen=True, slots=True)
class Vital:
    key: str
    label: str
    unit: str
    ucum: str  # the unit as UCUM, for FHIR
    plausible: tuple[float, float]  # outside this a value is an artefact, not physiology
    precision: int  # decimals shown on screen and in reports
    colour: str  # display colour: conventional, never red, yellow or cyan (alarm priorities)
    loinc: str | None  # LOINC code; None where LOINC has none (pleth)
    mdc: str  # ISO/IEEE 11073 nomenclature reference id
    kind: VitalKind
    stale_after_s: float | None  # shown "not current" when the last datum is older
    tile: str  # the dashboard tile that shows it, and flashes for its alarms
    short: str = ""  # a badge's name for it beside another vital's number ("" : its label)
    trend_row_of: str = ""  # the vital whose trend row its alarms shade ("": its own)

    @property
    def short_label(self) -> str:
        return self.short or self.label

    @property
    def trend_vital(self) -> str:
        """The vital whose trend row shades this one's alarms (PR has no line: HR's row)."""
        return self.trend_row_of or self.key

    def is_plausible(self, value: float) -> bool:
        lo, hi = self.plausible
        return math.isfinite(value) and lo <= value <= hi

    def format(self, value: float | None) -> str:
        """The value as a nurse reads it; dashes for no value."""
        if value is None or not math.isfinite(value):
            return "--"
        return f"{value:.{self.precision}f}"


# Plausible ranges are what a bedside device can report for a living adult; a value outside
# is a device placeholder or artefact (a monitor's 0 for "not available", a probe off).
# RR 0 falls outside on purpose: a monitor that stores 0 when it has no RR is far more common
# than a device reporting apnoea as a number; apnoea devices signal it as a device condition.
_VITALS = (
    Vital("hr", "HR", "bpm", "/min", (20, 300), 0, "#33dd55", "8867-4", "MDC_ECG_HEART_RATE",
          VitalKind.CONTINUOUS, 30.0, "hr"),
    Vital("pr", "PR", "bpm", "/min", (20, 300), 0, "#40c4ff", "8889-8", "MDC_PULS_OXIM_PULS_RATE",
          VitalKind.CONTINUOUS, 30.0, "spo2", trend_row_of="hr"),
    Vital("spo2", "SpO2", "%", "%", (30, 100), 0, "#40c4ff", "59408-5", "MDC_PULS_OXIM_SAT_O2",
          VitalKind.CONTINUOUS, 30.0, "spo2"),
    Vital("sbp", "NIBP sys", "mmHg", "mm[Hg]", (40, 300), 0, "#f0f0f0", "8480-6",
          "MDC_PRESS_BLD_NONINV_SYS", VitalKind.INTERMITTENT, None, "nibp", "SYS"),
    Vital("dbp", "NIBP dia", "mmHg", "mm[Hg]", (15, 250), 0, "#f0f0f0", "8462-4",
          "MDC_PRESS_BLD_NONINV_DIA", VitalKind.INTERMITTENT, None, "nibp", "DIA"),
    Vital("map", "NIBP mean", "mmHg", "mm[Hg]", (20, 260), 0, "#f0f0f0", "8478-0",
          "MDC_PRESS_BLD_NONINV_MEAN", VitalKind.INTERMITTENT, None, "nibp", "MAP"),
    Vital("rr", "RR", "/min", "/min", (1, 100), 0, "#ce93d8", "9279-1", "MDC_RESP_RATE",
          VitalKind.CONTINUOUS, 60.0, "rr"),
    Vital("pleth", "Pleth", "", "1", (-1e6, 1e6), 2, "#40c4ff", None, "MDC_PULS_OXIM_PLETH",
          VitalKind.WAVEFORM, 10.0, "spo2"),
)

VITALS: MappingProxyType[str, Vital] = MappingProxyType({v.key: v for v in _VITALS})
NUMERIC_KEYS: tuple[str, ...] = tuple(v.key for v in _VITALS if v.kind != VitalKind.WAVEFORM)
WAVEFORM_KEYS: tuple[str, ...] = tuple(v.key for v in _VITALS if v.kind == VitalKind.WAVEFORM)
NIBP_KEYS: tuple[str, str, str] = ("sbp", "dbp", "map")
ORDER: MappingProxyType[str, int] = MappingProxyType({v.key: i for i, v in enumerate(_VITALS)})


def vital(key: str) -> Vital:
    """The registry entry for `key`; a clear KeyError naming the known keys otherwise."""
    try:
        return VITALS[key]
    except KeyError:
        raise KeyError(f"unknown vital {key!r}; known: {', '.join(VITALS)}") from None
