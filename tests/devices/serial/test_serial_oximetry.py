"""The clinical rules shared by the serial drivers: no value from a device-invalid or blocked
reading, conditions as transitions, numerics rate, pleth chunks."""

from __future__ import annotations

import numpy as np
import pytest

from devices.serial.oximetry import OximeterReading, Oximetry
from monitor.messages import Condition, DeviceCondition, Numerics, Waveform


def _split(msgs: list) -> tuple[list[Numerics], list[DeviceCondition], list[Waveform]]:
    return ([m for m in msgs if isinstance(m, Numerics)],
            [m for m in msgs if isinstance(m, DeviceCondition)],
            [m for m in msgs if isinstance(m, Waveform)])


def test_valid_values_pass_and_invalid_ones_become_a_condition() -> None:
    ox = Oximetry("ox")
    nums, conds, _ = _split(ox.update(OximeterReading((("spo2", 97), ("pr", 72))), 1.0, 101.0))
    assert nums[0].values == (("spo2", 97.0), ("pr", 72.0))
    assert conds == []
    nums, conds, _ = _split(ox.update(OximeterReading((("spo2", None), ("pr", 72))), 2.0, 102.0))
    assert nums[0].values == (("pr", 72.0),)
    assert [(c.condition, c.vital, c.active) for c in conds] == [
        (Condition.MEASUREMENT_INVALID, "spo2", True)]
    nums, conds, _ = _split(ox.update(OximeterReading((("spo2", 96), ("pr", 71))), 3.0, 103.0))
    assert [(c.condition, c.vital, c.active) for c in conds] == [
        (Condition.MEASUREMENT_INVALID, "spo2", False)]
    assert nums[0].values == (("spo2", 96.0), ("pr", 71.0))


@pytest.mark.parametrize(("key", "value"), [("spo2", 0), ("spo2", 101), ("pr", 0), ("pr", 400)])
def test_implausible_unmarked_values_are_passed_on_as_artefacts(key: str, value: int) -> None:
    # The oximeter did not mark it, so it is unflagged: the alarm engine judges it an
    # artefact (a technical condition), as for a replayed file; no device condition here.
    nums, conds, _ = _split(Oximetry("ox").update(OximeterReading(((key, value),)), 0.0, 0.0))
    assert nums[0].values == ((key, float(value)),) and nums[0].validated == ()
    assert conds == []


@pytest.mark.parametrize("blocking", [Condition.SENSOR_OFF, Condition.NO_FINGER,
                                      Condition.SEARCHING, Condition.SENSOR_FAULT])
def test_blocking_states_suppress_even_plausible_held_values(blocking: Condition) -> None:
    ox = Oximetry("ox", pleth_hz=75.0, pleth_chunk=2)
    msgs = ox.update(OximeterReading((("spo2", 97), ("pr", 72)), ((blocking, "why"),), (1.0, 2.0)),
                     5.0, 105.0)
    nums, conds, waves = _split(msgs)
    assert nums[0].values == ()  # reported, so not stale, but no number
    assert [(c.condition, c.vital, c.active, c.detail) for c in conds] == [
        (blocking, None, True, "why")]
    assert waves == []


def test_non_blocking_states_keep_values_and_conditions_end() -> None:
    ox = Oximetry("ox")
    r = OximeterReading((("spo2", 93),), ((Condition.LOW_PERFUSION, "low"),
                                          (Condition.POOR_SIGNAL, "a"),
                                          (Condition.POOR_SIGNAL, "b")))
    nums, conds, _ = _split(ox.update(r, 0.0, 0.0))
    assert nums[0].values == (("spo2", 93.0),)
    assert {(c.condition, c.detail) for c in conds} == {
        (Condition.LOW_PERFUSION, "low"), (Condition.POOR_SIGNAL, "a; b")}
    assert _split(ox.update(r, 1.0, 1.0))[1] == []  # no repeats while unchanged
    _, conds, _ = _split(ox.update(OximeterReading((("spo2", 93),)), 2.0, 2.0))
    assert sorted((c.condition, c.active) for c in conds) == [
        (Condition.LOW_PERFUSION, False), (Condition.POOR_SIGNAL, False)]


def test_numerics_period_and_pleth_chunks() -> None:
    ox = Oximetry("ox", numerics_period_s=1.0, pleth_hz=50.0, pleth_chunk=4)
    out = []
    for k in range(10):  # 10 reports, 0.1 s apart, 2 pleth samples each
        reading = OximeterReading((("pr", 60 + k),), (), (2.0 * k, 2.0 * k + 1))
        out += ox.update(reading, k / 10, k / 10)
    nums, _, waves = _split(out)
    assert [n.values for n in nums] == [(("pr", 60.0),)]
    assert [len(w.values) for w in waves] == [4] * 5
    assert np.array_equal(np.concatenate([w.values for w in waves]), np.arange(20.0))
    assert waves[0].t_s == pytest.approx(0.1 - 3 / 50.0)  # first sample dated back
    assert all(w.rate_hz == 50.0 and w.vital == "pleth" for w in waves)


def test_hold_debounces_flicker_and_keeps_blocking_until_stable() -> None:
    ox = Oximetry("ox", hold_s=1.0)
    out = []
    finger_out = OximeterReading((("spo2", 0),), ((Condition.NO_FINGER, "finger out"),))
    good = OximeterReading((("spo2", 97),))
    # 60 reports a second, alternating at the edge of the state for half a second
    for k in range(30):
        out += [(k, m) for m in ox.update(finger_out if k % 2 else good, k / 60, k / 60)]
    for k in range(30, 150):
        out += [(k, m) for m in ox.update(good, k / 60, k / 60)]
    conds = [(k, m.active) for k, m in out if isinstance(m, DeviceCondition)]
    # one start; the end once it has been unreported for 1 s (60 reports from k=30)
    assert conds == [(1, True), (30 + 60, False)]
    valued = [k for k, m in out if isinstance(m, Numerics) and m.values]
    assert valued == [0, *range(90, 150)]  # no number while the condition is held
