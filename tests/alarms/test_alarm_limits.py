"""Limits changed during a session, and devices a person disconnected on purpose."""

from __future__ import annotations

import pytest

from alarms.engine import AlarmEngine
from alarms.episodes import episodes_from_events
from alarms.log import limit_changes
from alarms.model import AlarmEvent, AlarmEventKind
from alarms.presets import PRESETS
from monitor.messages import Condition, DeviceCondition, DeviceState, DeviceStatus, Numerics

IV = PRESETS["iv-ketamine"]


class Run:
    def __init__(self) -> None:
        self.engine = AlarmEngine(IV, wall0=1_000_000.0)
        self.events: list[AlarmEvent] = []
        self.engine.add_listener(self.events.append)

    def spo2(self, t0: float, values: list[float], src: str = "dev") -> None:
        for i, v in enumerate(values):
            t = t0 + i
            self.engine(Numerics(src, 1_000_000.0 + t, t, (("spo2", v),)))

    def started(self) -> list[str]:
        return [e.alarm.key for e in self.events
                if e.event is AlarmEventKind.START and e.alarm is not None]


def test_a_raised_spo2_low_limit_alarms_where_the_preset_did_not() -> None:
    preset_run, changed = Run(), Run()
    new = changed.engine.set_limit("spo2-low", 92, "nurse", t_s=0)
    assert new.limit == 92 and changed.engine.limits_for("spo2") == (92, None)
    assert preset_run.engine.limits_for("spo2") == (90, None)
    for r in (preset_run, changed):
        r.spo2(0, [91] * 30)
    assert preset_run.started() == []
    assert changed.started() == ["spo2-low:dev"]
    (ep,) = episodes_from_events(changed.events)
    assert ep.limit == 92 and ep.signal_t_s == 15  # onset 0 + the rule's 15 s delay


def test_a_lowered_limit_applies_to_the_next_samples_and_is_logged() -> None:
    r = Run()
    r.spo2(0, [89] * 5)  # pending: below 90 for less than the delay
    r.engine.set_limit("spo2-low", 88, "nurse")
    r.spo2(5, [89] * 30)
    assert r.started() == []  # 89 is not below 88: the pending condition ended
    (change,) = limit_changes(r.events)
    assert (change.rule_id, change.vital, change.old, change.new, change.user, change.t_s) == (
        "spo2-low", "spo2", 90, 88, "nurse", 4)
    assert change.t_wall == 1_000_004.0
    assert episodes_from_events(r.events) == []  # a limit change is not an alarm episode


def test_limit_changes_are_checked_against_the_vital_registry() -> None:
    r = Run()
    with pytest.raises(ValueError, match="plausible range"):
        r.engine.set_limit("spo2-low", 120, "nurse")
    with pytest.raises(ValueError, match="no limit rule"):
        r.engine.set_limit("spo2-lowest", 80, "nurse")
    assert r.events == [] and r.engine.limit_rules() == IV.limits


def test_nibp_limit_change_applies_to_the_next_reading() -> None:
    r = Run()
    r.engine.set_limit("sbp-high", 150, "nurse", t_s=0)
    r.engine(Numerics("dev", 0, 1, (("sbp", 155.0), ("dbp", 85.0), ("map", 108.0))))
    assert "sbp-high:dev" in r.started()  # (with the pre-dose advisory above 140)
    assert r.engine.limits_for("sbp") == (90, 150)
    r.engine(Numerics("dev", 0, 2, (("sbp", 145.0), ("dbp", 85.0), ("map", 105.0))))
    ended = [e.alarm.key for e in r.events if e.event is AlarmEventKind.END and e.alarm]
    assert ended == ["sbp-high:dev"]


def test_a_forgotten_source_raises_no_link_lost_or_not_current_alarm() -> None:
    r = Run()
    r.spo2(0, [97] * 5, src="dev")
    r.spo2(0, [97] * 5, src="other")
    r.engine(DeviceCondition("dev", 0, 5, Condition.LOW_PERFUSION, True, "spo2"))
    r.engine.tick(20)
    assert "low_perfusion:dev:spo2" in r.started()
    r.engine.forget_source("dev", "nurse", t_s=20)
    r.engine(DeviceStatus("dev", 0, 20, DeviceState.DISCONNECTED, "disconnected by the user"))
    r.engine(DeviceStatus("other", 0, 21, DeviceState.DISCONNECTED, "link lost"))
    r.engine.tick(120)
    started = r.started()
    assert "link-lost:other" in started and "spo2-not-current:other" not in started
    assert not any(k.endswith(":dev") or ":dev:" in k for k in started[1:])
    assert all(a.key.split(":")[1] != "dev" for a in r.engine.snapshot().alarms)
    ended = [e.alarm.key for e in r.events if e.event is AlarmEventKind.END and e.alarm]
    assert "low_perfusion:dev:spo2" in ended
