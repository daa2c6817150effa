"""What follows the clock and the dose start: the reminder for acknowledged alarms (every
3 min, clinical.md §11.3), NIBP overdue on the §11.2 schedule (every 10 min to 60 min after
the dose, then every 15 min; overdue 2 min later) and a corrected dose start. Expected
times are written from those rules."""

from __future__ import annotations

from alarms.model import AlarmEventKind, Priority
from alarms.presets import PRESETS, with_rules
from monitor.messages import TimelineMark
from tests.alarms.test_alarm_engine import IV, Run

ACK, REMIND = AlarmEventKind.ACKNOWLEDGE, AlarmEventKind.REMINDER
START, END = AlarmEventKind.START, AlarmEventKind.END


def test_an_acknowledged_alarm_still_present_sounds_again_every_3_min() -> None:
    r = Run()
    r.series("hr", [130] * 21)  # HR > 120: MEDIUM after 10 s
    r.engine.acknowledge(user="nurse", t_s=20)
    r.series("hr", [130] * 190, t0=21)
    snap = r.engine.snapshot()
    assert snap.sounding is Priority.MEDIUM and not snap.alarms[0].acknowledged
    r.engine.acknowledge(user="nurse", t_s=210)
    r.series("hr", [130] * 190, t0=211)
    assert [(e.event, e.t_s) for e in r.events] == [
        (START, 10), (ACK, 20), (REMIND, 200), (ACK, 210), (REMIND, 390)]
    (ep,) = r.episodes()
    assert ep.acknowledged_t_s == 20 and ep.escalated_t_s is None


def test_no_reminder_once_the_condition_ended_or_when_the_preset_has_none() -> None:
    r = Run()
    r.series("hr", [130] * 21)
    r.engine.acknowledge(t_s=20)
    r.series("hr", [80] + [130] * 5 + [80] * 200, t0=21)  # ended at 21, back for 5 s
    assert REMIND not in [e.event for e in r.events]
    quiet = Run(with_rules(IV, reminder_s=None))
    quiet.series("hr", [130] * 21)
    quiet.engine.acknowledge(t_s=20)
    quiet.series("hr", [130] * 400, t0=21)
    assert [e.event for e in quiet.events] == [START, ACK]


def test_nibp_overdue_follows_the_schedule_around_the_dose() -> None:
    r = Run()
    r.engine.set_dose_start(0)
    assert [r.engine.nibp_interval_s(t) for t in (-300, 0, 3599, 3600, 7200)] == [
        600, 600, 600, 900, 900]
    r.num(3000, sbp=120, dbp=80, map=93)  # 50 min after the dose: due in 10 min
    r.engine.tick(3721)
    r.num(3800, sbp=120, dbp=80, map=93)  # 63 min: due in 15 min
    r.engine.tick(4819)

    def overdue() -> list[tuple[AlarmEventKind, float]]:
        return [(e.event, e.t_s) for e in r.events if e.alarm.key == "nibp-overdue:dev"]

    assert overdue() == [(START, 3720), (END, 3800)]
    r.engine.tick(4821)
    assert overdue() == [(START, 3720), (END, 3800), (START, 4820)]
    assert r.events[-1].alarm.priority is Priority.LOW


def test_a_corrected_dose_start_moves_the_baseline_bp_check_and_minimum() -> None:
    r = Run(PRESETS["esketamine-rems"])  # BP check 40 min after the dose; 2 h minimum
    r.num(0, sbp=120, dbp=75, map=90)
    r.engine(TimelineMark("ui", 1_000_200.0, 200, "dose_start"))  # entered as 200
    r.num(300, sbp=150, dbp=85, map=107)
    r.num(900, sbp=165, dbp=95, map=118)  # +45 over the 120 before 200: advisory
    assert [e.alarm.key for e in r.events if e.event is START] == ["sbp-rise:dev"]
    r.engine.tick(1000)
    r.engine.move_dose_start(400)  # corrected at t=1000: the baseline is now 150/85
    assert r.engine.dose_start_s == 400
    assert r.engine.nibp_interval_s(3999) == 600 and r.engine.nibp_interval_s(4000) == 900
    # The check was due at 2600 (window 2300-2600, no reading): now at 2800, and the
    # reading at 2650 is in its window. Readings every 10 min keep NIBP from being overdue.
    for t in (1500, 2100, 2650, *range(3250, 7400, 600)):
        r.num(t, sbp=120, dbp=80, map=93)
    r.engine(TimelineMark("ui", 0, 7400, "discharge"))  # 2 h after 200, not after 400
    eps = {e.rule_id: e for e in r.episodes()}
    assert set(eps) == {"sbp-rise", "min-monitoring"}
    rise = eps["sbp-rise"]
    assert (rise.onset_t_s, rise.end_t_s, rise.limit, rise.worst_value) == (900, 1000, 160, 165)
    assert eps["min-monitoring"].signal_t_s == 7400


def test_a_dose_start_moved_earlier_raises_a_missed_bp_check_now() -> None:
    def run(readings: tuple[float, ...]) -> Run:
        r = Run()
        for t in readings:
            r.num(t, sbp=120, dbp=80, map=93)
        r.engine.set_dose_start(2450)  # entered late, at the wrong time
        r.engine.tick(2500)
        r.engine.move_dose_start(0)  # the check was due at 2400 (window 2100-2400)
        r.engine.tick(2510)
        return r

    assert run((0, 600, 1200, 1800, 2400)).events == []  # the 2400 reading was in time
    (ev,) = run((0, 600, 1200, 1800)).events  # none in the window nor since: due now
    assert (ev.event, ev.t_s, ev.alarm.key) == (START, 2500, "bp-check-due:session")


def test_a_reminder_waits_for_an_audio_pause_in_progress() -> None:
    r = Run()
    r.series("hr", [130] * 21)  # MEDIUM from t=10
    r.engine.acknowledge(t_s=20)
    r.series("hr", [130] * 170, t0=21)
    assert r.engine.pause_audio(t_s=190) == 310
    r.series("hr", [130] * 20, t0=191)  # the reminder falls due at 200
    snap = r.engine.snapshot()
    assert not snap.alarms[0].acknowledged and snap.sounding is None
    r.series("hr", [130] * 101, t0=211)
    assert r.engine.snapshot().sounding is Priority.MEDIUM
