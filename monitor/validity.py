"""The one validity rule: whether a value a device sent is a measurement, an artefact, or a
device condition. Every device family, both alarm engines and the display ask `judge`.

| what the source says about the value (`Flag`)           | Vigil treats it as (`Verdict`)  |
|---------------------------------------------------------|---------------------------------|
| marked invalid, unavailable, demo/test or questionable  | a device condition, no number   |
| no number at all (a placeholder, NaN)                   | a device condition, no number   |
| nothing: the source cannot say (file, plain oximeter)   | a measurement if plausible,     |
|                                                         | else an artefact (technical)    |
| valid: the device's own validity state vouches for it   | a measurement, even outside the |
|                                                         | plausible range (HR 0 in VF)    |

A monitor that keeps a validity state beside each value (IntelliVue MeasurementState, S/5
special codes, a Bluetooth oximeter's "validated data" bit) and says "valid" has ruled out
its own placeholders, so its value is judged against the alarm limits like any other: an
IntelliVue HR 0 flagged valid and in alarm is asystole or VF, not "leads off".
"""

from __future__ import annotations

import math
from enum import StrEnum

import numpy as np

from monitor.vitals import VITALS


class Flag(StrEnum):
    """What a source says about one value."""

    VALID = "valid"  # the device's validity state vouches for it
    FLAGGED = "flagged"  # marked invalid, unavailable, demo/test or questionable
    UNFLAGGED = "unflagged"  # the source cannot say (a replayed file, a plain oximeter)


class Verdict(StrEnum):
    """What Vigil makes of the value."""

    MEASUREMENT = "measurement"  # shown, recorded, judged against the alarm limits
    ARTEFACT = "artefact"  # recorded as sent, but a technical condition, never physiology
    DEVICE_CONDITION = "device_condition"  # no number: the driver reports a DeviceCondition


def judge(key: str, value: float | None, flag: Flag) -> Verdict:
    """The rule (module docstring) for one value of vital `key`."""
    if flag is Flag.FLAGGED or value is None or not math.isfinite(value):
        return Verdict.DEVICE_CONDITION
    if flag is Flag.VALID or VITALS[key].is_plausible(value):
        return Verdict.MEASUREMENT
    return Verdict.ARTEFACT


def is_measurement(key: str, value: float, flag: Flag) -> bool:
    return judge(key, value, flag) is Verdict.MEASUREMENT


def measurements(key: str, values: np.ndarray, validated: np.ndarray | None = None
                 ) -> np.ndarray:
    """`judge(...) is MEASUREMENT` for an array of values (NaN: no value), where
    `validated` (same length, or None for none) marks the values the device vouched for."""
    lo, hi = VITALS[key].plausible
    ok = (values >= lo) & (values <= hi)  # NaN fails both comparisons, an infinity one
    if validated is not None:
        ok |= validated & np.isfinite(values)
    return ok
