"""One problem, one alarm: the tiers of a limit condition are one alarm whose priority rises
and falls with the value; advisories yield to a physiological alarm on the same vital; a
latched alarm tells what the nurse missed. Expected logs are written from the rules in
clinical.md §11.1 (SpO2 < 90 MEDIUM after 15 s, clears at 91; < 85 HIGH at once, clears
at 86; DBP >= 110 MEDIUM, >= 120 HIGH; rise over the pre-dose reading DBP +25)."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings

from alarms.model import AlarmEventKind, AlarmKind, AlarmState, AlarmStatus, Priority
from alarms.presets import PRESETS
from alarms.rules import LimitRule, Op, tier_groups
from monitor.messages import TimelineMark
from tests.alarms.alarm_helpers import stream
from tests.alarms.test_alarm_engine import Run
from tests.alarms.test_alarm_equivalence import recordings

H, M, L = Priority.HIGH, Priority.MEDIUM, Priority.LOW
START, END, PRIORITY = AlarmEventKind.START, AlarmEventKind.END, AlarmEventKind.PRIORITY


def log(r: Run) -> list[tuple[AlarmEventKind, float, str, Priority]]:
    return [(e.event, e.t_s, e.alarm.key, e.alarm.priority) for e in r.events
            if e.alarm is not None]


def test_a_desaturation_is_one_alarm_whose_priority_follows_the_tiers() -> None:
    r = Run()
    r.series("spo2", [95] + [88] * 20 + [82] * 5 + [88] * 10 + [95])
    # 88 from t=1: MEDIUM once it has lasted 15 s; 82 at t=21: HIGH at once; 88 at t=26:
    # MEDIUM again; 95 at t=36: ended, and latched because it reached HIGH.
    key = "spo2-low:dev"
    assert log(r) == [(START, 16, key, M), (PRIORITY, 21, key, H), (PRIORITY, 26, key, M),
                      (END, 36, key, H)]
    (ep,) = r.episodes()
    assert (ep.priority, ep.highest, ep.onset_t_s, ep.signal_t_s, ep.end_t_s) == (
        M, H, 1, 16, 36)
    assert (ep.condition, ep.limit, ep.worst_value) == ("SpO2 LOW", 90, 82)


def test_the_banner_text_follows_the_tier_and_a_latched_alarm_shows_its_worst() -> None:
    r = Run()
    r.series("spo2", [95] + [88] * 20 + [82, 81, 83, 84, 84])
    (a,) = r.engine.snapshot().alarms
    assert (a.message, a.priority, a.limit) == ("*** SpO2 CRITICAL 84 < 85", H, 85)
    r.series("spo2", [87] * 5 + [95], t0=26)
    (a,) = r.engine.snapshot().alarms
    assert a.state is AlarmState.LATCHED and a.priority is H
    assert a.message == "*** SpO2 LOW 81, ended"  # not the value at the end
    assert (a.worst_value, a.worst_t_s) == (81, 22)
    r.engine.acknowledge(a.key)
    assert r.engine.snapshot().alarms == ()


def test_a_rise_to_a_more_severe_tier_sounds_again_after_an_acknowledgement() -> None:
    r = Run()
    r.series("spo2", [88] * 20)  # MEDIUM from t=15
    r.engine.acknowledge(user="nurse", t_s=19)
    assert r.engine.snapshot().sounding is None
    r.series("spo2", [83] * 3, t0=20)
    snap = r.engine.snapshot()
    assert snap.sounding is H and not snap.alarms[0].acknowledged
    r.engine.acknowledge(user="nurse", t_s=22)
    r.series("spo2", [88, 95], t0=23)  # acknowledged at HIGH: nothing to latch
    assert r.engine.snapshot().alarms == ()
    assert [(k, t, p) for k, t, _, p in log(r)] == [
        (START, 15, M), (AlarmEventKind.ACKNOWLEDGE, 19, M), (PRIORITY, 20, H),
        (AlarmEventKind.ACKNOWLEDGE, 22, H), (PRIORITY, 23, M), (END, 24, M)]


def test_a_very_high_diastolic_is_one_alarm_and_the_rise_advisory_yields() -> None:
    r = Run()
    r.num(0, sbp=120, dbp=80, map=93)  # the pre-dose reading: DIA rise limit 80 + 25
    r.engine(TimelineMark("dev", 1_000_100.0, 100, "dose_start"))
    r.num(600, sbp=150, dbp=122, map=131)
    (a,) = r.engine.snapshot().alarms
    assert (a.key, a.priority, a.message) == (
        "dbp-high:dev", H, "*** NIBP DIA VERY HIGH 122 ≥ 120")
    r.engine.acknowledge(t_s=700)  # (unacknowledged, it would stay HIGH from 780 on)
    r.num(1200, sbp=150, dbp=112, map=125)
    r.num(1800, sbp=150, dbp=108, map=122)  # below 110: the advisory (>= 105) takes over
    key = "dbp-high:dev"
    assert log(r) == [(START, 600, key, H), (AlarmEventKind.ACKNOWLEDGE, 700, key, H),
                      (AlarmEventKind.REMINDER, 880, key, H), (PRIORITY, 1200, key, M),
                      (END, 1800, key, H), (START, 1800, "dbp-rise:dev", L)]
    # The reminder made it unacknowledged again: it reached HIGH, so it latches.
    assert [a.state for a in r.engine.snapshot().alarms] == [AlarmState.LATCHED,
                                                              AlarmState.ACTIVE]
    eps = {e.key: e for e in r.episodes()}
    assert eps["dbp-rise:dev"].limit == 105 and eps["dbp-rise:dev"].kind is AlarmKind.ADVISORY


def test_the_pre_dose_advisory_yields_on_the_same_vital_only() -> None:
    r = Run()
    r.num(0, sbp=185, dbp=95, map=125)  # SYS is a physiological alarm, DIA only above 90
    assert sorted((a.key, a.kind) for a in r.engine.snapshot().alarms) == [
        ("dbp-predose:dev", AlarmKind.ADVISORY), ("sbp-high:dev", AlarmKind.PHYSIOLOGICAL)]


def test_tiers_group_by_vital_and_direction() -> None:
    groups = {g[0].id: [r.id for r in g] for g in tier_groups(PRESETS["iv-ketamine"].limits)}
    assert groups["spo2-low"] == ["spo2-low", "spo2-critical"]
    assert groups["sbp-high"] == ["sbp-high", "sbp-very-high"]
    assert groups["dbp-high"] == ["dbp-high", "dbp-very-high"]
    assert groups["sbp-low"] == ["sbp-low"] and groups["sbp-predose"] == ["sbp-predose"]
    late = LimitRule("spo2-late", "spo2", Op.LT, 80, H, "SpO2 LATE", "test", delay_s=5)
    low = LimitRule("spo2-low", "spo2", Op.LT, 90, M, "SpO2 LOW", "test", delay_s=15)
    try:
        tier_groups((low, late))
    except ValueError as e:
        assert "only the least severe" in str(e)
    else:
        raise AssertionError("a delayed severe tier must be refused")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recordings())
def test_one_physiological_alarm_per_vital_and_no_advisory_beside_it(case) -> None:
    rec, dose, until, name, recorded = case
    _, events = stream(rec, PRESETS[name], dose=dose, until=until, recorded=recorded)
    active: dict[str, AlarmStatus] = {}
    for i, ev in enumerate(events):
        a = ev.alarm
        if a is None or ev.event is AlarmEventKind.LIMIT_CHANGE:
            continue
        if ev.event in (END, AlarmEventKind.SESSION_END):
            active.pop(a.key, None)
        else:
            active[a.key] = a
        if i + 1 < len(events) and events[i + 1].t_s == ev.t_s:
            continue  # judge each instant once all its changes are in
        physiological = Counter(x.vital for x in active.values()
                                if x.kind is AlarmKind.PHYSIOLOGICAL)
        assert max(physiological.values(), default=0) <= 1, active
        assert not any(x.kind is AlarmKind.ADVISORY and physiological[x.vital]
                       for x in active.values() if x.vital is not None
                       and x.key.endswith(f":{rec.source}")), active
