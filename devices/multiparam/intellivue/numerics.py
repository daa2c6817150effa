"""From decoded IntelliVue numerics to Vigil vitals: physio ids, units, measurement state.

A value counts only when its MeasurementState has a zero high byte (PIPG p.76-77) and its
FLOAT is not a special value; otherwise the state becomes a device condition. NBP
"unavailable" is the monitor's ordinary state between cuff cycles, so it raises nothing.
A valid state is the monitor vouching for the value (`monitor.validity.Flag.VALID`): an HR
of 0 in a valid state flagged in alarm is VF or asystole (seen on a real MP90), a
measurement, not a placeholder.
"""

from __future__ import annotations

import math

from devices.multiparam.intellivue import pdu
from monitor.messages import Condition

CONTINUOUS = {
    pdu.NOM_ECG_CARD_BEAT_RATE: ("hr", pdu.NOM_DIM_BEAT_PER_MIN),
    pdu.NOM_PLETH_PULS_RATE: ("pr", pdu.NOM_DIM_BEAT_PER_MIN),
    pdu.NOM_PULS_RATE: ("pr", pdu.NOM_DIM_BEAT_PER_MIN),  # used when no pleth pulse is sent
    pdu.NOM_PULS_OXIM_SAT_O2: ("spo2", pdu.NOM_DIM_PERCENT),
}
NIBP = {pdu.NOM_PRESS_BLD_NONINV_SYS: "sbp", pdu.NOM_PRESS_BLD_NONINV_DIA: "dbp",
        pdu.NOM_PRESS_BLD_NONINV_MEAN: "map"}
NIBP_CONDITION_VITAL = "sbp"  # NIBP conditions are reported once, against systolic
KPA_TO_MMHG = 760.0 / 101.325


def is_valid(state: int) -> bool:
    return state & 0xFF00 == 0


def in_alarm(state: int) -> bool:
    """The monitor's own alarm is on for a valid numeric (MSMT_STATE_IN_ALARM)."""
    return is_valid(state) and bool(state & pdu.MS_IN_ALARM)


def state_condition(state: int, *, nibp: bool = False) -> tuple[Condition, str] | None:
    """The condition a non-valid MeasurementState stands for (None when valid)."""
    if is_valid(state):
        return None
    if state & pdu.MS_DEMO_DATA:
        return Condition.DEMO_DATA, "monitor in demo mode"
    if state & pdu.MS_TEST_DATA:
        return Condition.DEMO_DATA, "monitor sends test data"
    if state & pdu.MS_INVALID:
        return Condition.MEASUREMENT_INVALID, "monitor marks the value invalid"
    if state & pdu.MS_UNAVAILABLE:
        return None if nibp else (Condition.SEARCHING, "monitor: value unavailable")
    if state & pdu.MS_QUESTIONABLE:
        return Condition.POOR_SIGNAL, "monitor marks the value questionable"
    if state & pdu.MS_CALIBRATION_ONGOING:
        return Condition.MEASUREMENT_INVALID, "calibration in progress"
    return Condition.MEASUREMENT_INVALID, f"measurement state 0x{state:04X}"


def continuous_value(v: pdu.NuValue) -> tuple[float | None, tuple[Condition, str] | None]:
    """(value, condition) of an HR / PR / SpO2 NuObsValue; exactly one is not None."""
    cond = state_condition(v.state)
    if cond is not None:
        return None, cond
    _, unit = CONTINUOUS[v.physio_id]
    if v.unit != unit:
        return None, (Condition.MEASUREMENT_INVALID, f"unexpected unit code 0x{v.unit:04X}")
    if not math.isfinite(v.value):
        return None, (Condition.MEASUREMENT_INVALID, "monitor sent no value")
    return v.value, None


def nibp_values(v: pdu.NuValue) -> float | None:
    """The NBP element in mmHg, or None when it is not a valid number in a known unit."""
    if not is_valid(v.state) or not math.isfinite(v.value):
        return None
    if v.unit == pdu.NOM_DIM_MMHG:
        return v.value
    if v.unit == pdu.NOM_DIM_KILO_PASCAL:
        return round(v.value * KPA_TO_MMHG, 1)
    return None
