"""What the tiles say: NIBP time, age, countdown, greying and blanking; staleness."""

from __future__ import annotations

import time

from monitor.live import LiveState
from monitor.messages import Numerics
from ui.readouts import clock_text, continuous_tile, duration_text, nibp_tile

WALL0 = 1_700_000_000.0


def wall_of(t_s: float) -> float:
    return WALL0 + t_s


def live_with(*msgs: Numerics) -> LiveState:
    live = LiveState()
    for m in msgs:
        live(m)
    return live


def nibp(t: float, sbp: float = 142, dbp: float = 88, mean: float = 104) -> Numerics:
    return Numerics("sim", WALL0 + t, t, (("sbp", sbp), ("dbp", dbp), ("map", mean)))


def test_nibp_before_any_reading_is_dashes():
    tile = nibp_tile(LiveState().snapshot(10.0), None, 300.0, wall_of)
    assert tile.value == "---/---" and not tile.live and "no reading" in tile.note


def test_nibp_reading_shows_time_age_and_countdown():
    tile = nibp_tile(live_with(nibp(100.0)).snapshot(280.0), None, 300.0, wall_of)
    assert tile.value == "142/88" and tile.secondary == "(104)" and tile.live
    at = time.strftime("%H:%M", time.localtime(WALL0 + 100.0))
    assert tile.note == f"{at}  ·  3 min ago  ·  next 2:00"


def test_nibp_is_greyed_when_overdue_and_blanked_after_an_hour():
    live = live_with(nibp(100.0))
    overdue = nibp_tile(live.snapshot(100.0 + 300 + 121), None, 300.0, wall_of)
    assert overdue.value == "142/88" and not overdue.live and "OVERDUE 2:01" in overdue.note
    old = nibp_tile(live.snapshot(100.0 + 3601), None, 300.0, wall_of)
    assert old.value == "---/---" and not old.live


def test_nibp_invalid_reading_is_not_a_number():
    tile = nibp_tile(live_with(nibp(100.0, sbp=900)).snapshot(110.0), None, 300.0, wall_of)
    assert tile.value == "---/---" and "INVALID" in tile.note


def test_artefact_and_stale_values_are_dashes_with_a_reason():
    live = live_with(Numerics("sim", WALL0, 0.0, (("spo2", 97.0), ("hr", 0.0))))
    snap = live.snapshot(40.0)
    spo2 = continuous_tile(snap, "spo2", None)
    assert spo2.value == "--" and spo2.note == "NOT CURRENT: no data 40 s"
    hr = continuous_tile(snap, "hr", None)
    assert hr.value == "--" and "artefact" in hr.note


def test_a_monitors_valid_hr_zero_in_alarm_is_shown_with_its_alarm_flag():
    # IntelliVue HR 0, state valid + in alarm (VF): a measurement, shown as 0 with the
    # monitor's own alarm; the same 0 unflagged (a file's placeholder) is an artefact.
    mp = Numerics("mp", WALL0, 0.0, (("hr", 0.0), ("spo2", 97.0)), ("hr", "spo2"), ("hr",))
    snap = live_with(mp).snapshot(1.0)
    hr = continuous_tile(snap, "hr", None)
    assert (hr.value, hr.live, hr.note) == ("0", True, "MONITOR IN ALARM")
    spo2 = continuous_tile(snap, "spo2", None)
    assert (spo2.value, spo2.note) == ("97", "")
    plain = live_with(Numerics("f", WALL0, 0.0, (("hr", 0.0),))).snapshot(1.0)
    hr = continuous_tile(plain, "hr", None)
    assert (hr.value, hr.live, hr.note) == ("--", False, "INVALID: artefact")


def test_nibp_in_alarm_on_the_monitor_says_so():
    n = nibp(100.0, sbp=230, dbp=125, mean=160)
    flagged = Numerics(n.source, n.t_wall, n.t_s, n.values, n.keys(), ("sbp", "dbp"))
    tile = nibp_tile(live_with(flagged).snapshot(110.0), None, 300.0, wall_of)
    assert tile.value == "230/125" and tile.note.startswith("MONITOR IN ALARM  ·  ")


def test_time_texts():
    assert duration_text(45) == "45 s" and duration_text(185) == "3 min"
    assert duration_text(3900) == "1 h 05"
    assert clock_text(120) == "2:00" and clock_text(3725) == "1:02:05"
