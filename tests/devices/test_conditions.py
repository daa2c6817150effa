"""The drivers' one condition tracker: transitions only, per group, held, restated."""

from __future__ import annotations

from devices.conditions import ConditionChange, ConditionTracker
from monitor.messages import Condition, DeviceCondition

OFF = (Condition.SENSOR_OFF, None)
INV = (Condition.MEASUREMENT_INVALID, "spo2")


def test_one_condition_per_vital_reports_transitions_only() -> None:
    tr = ConditionTracker()
    inv = (Condition.MEASUREMENT_INVALID, "invalid")
    assert tr.set("spo2", None) == []
    assert tr.set("spo2", inv) == [ConditionChange(Condition.MEASUREMENT_INVALID, True, "spo2",
                                                   "invalid")]
    assert tr.set("spo2", inv) == []
    assert tr.set("spo2", (Condition.MEASUREMENT_INVALID, "other words")) == []
    assert tr.set("spo2", (Condition.DEMO_DATA, "demo")) == [
        ConditionChange(Condition.MEASUREMENT_INVALID, False, "spo2", ""),
        ConditionChange(Condition.DEMO_DATA, True, "spo2", "demo")]
    tr.set("hr", inv)
    assert tr.clear() == [ConditionChange(Condition.MEASUREMENT_INVALID, False, "hr", ""),
                          ConditionChange(Condition.DEMO_DATA, False, "spo2", "")]
    assert tr.clear() == []
    assert dict(tr.active) == {}


def test_an_update_speaks_only_for_its_group() -> None:
    tr = ConditionTracker()
    assert tr.update({OFF: "probe off"}, group="plx") == [
        ConditionChange(Condition.SENSOR_OFF, True, None, "probe off")]
    hr_off = (Condition.SENSOR_OFF, "hr")
    assert tr.update({hr_off: "no contact"}, group="hr") == [
        ConditionChange(Condition.SENSOR_OFF, True, "hr", "no contact")]
    assert tr.update({}, group="hr") == [ConditionChange(Condition.SENSOR_OFF, False, "hr")]
    assert dict(tr.active) == {OFF: "probe off"}  # the other group's condition stands


def test_new_words_keep_the_condition_unless_restated() -> None:
    quiet, loud = ConditionTracker(), ConditionTracker(restate=True)
    for tr in (quiet, loud):
        tr.update({INV: "dashes"})
    assert quiet.update({INV: "127"}) == []
    assert quiet.active[INV] == "dashes"
    assert loud.update({INV: "127"}) == [
        ConditionChange(Condition.MEASUREMENT_INVALID, True, "spo2", "127")]
    assert loud.active[INV] == "127"


def test_a_held_condition_ends_only_once_absent_that_long() -> None:
    tr = ConditionTracker(hold_s=1.0)
    tr.update({OFF: "probe off"}, 0.0)
    assert tr.update({}, 0.5) == []  # absent 0 s so far
    assert tr.update({}, 1.2) == []  # absent 0.7 s
    assert tr.update({OFF: "probe off"}, 1.3) == []  # back: the absence starts again
    assert tr.update({}, 1.4) == []
    assert tr.update({}, 2.39) == []
    assert tr.update({}, 2.4) == [ConditionChange(Condition.SENSOR_OFF, False, None)]


def test_a_change_becomes_the_message_the_alarm_engine_reads() -> None:
    change = ConditionChange(Condition.SENSOR_OFF, True, "spo2", "probe off")
    assert change.message("ox", 1e9, 3.0) == DeviceCondition(
        "ox", 1e9, 3.0, Condition.SENSOR_OFF, True, "spo2", "probe off")
