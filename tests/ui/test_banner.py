"""The banner puts the patient first, the strip takes the system's alarms, latched alarms tell the
truth and no alarm text is ever cut: snapshots built by hand, checked on the pixels."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF
from ui_fakes import shown_rig

from alarms.model import AlarmKind, AlarmState, AlarmStatus, Priority
from tests.helpers.qt import region, share_of, to_array
from ui.banner import split_alarms
from ui.theme import ALARM_COLOURS

WALL0 = 1_700_000_000.0  # the rig's wall clock at session time 0
# Session time of 16:57:20 local time the day after WALL0.
T_1657 = time.mktime((2023, 11, 15, 16, 57, 20, 0, 0, -1)) - WALL0


def status(key: str, kind: AlarmKind, priority: Priority, vital: str | None, condition: str,
           message: str, signal: float, state: AlarmState = AlarmState.ACTIVE,
           worst: float | None = None, worst_t: float | None = None,
           acknowledged: bool = False, source: str | None = None) -> AlarmStatus:
    return AlarmStatus(key, kind, priority, vital, condition, message, state, signal - 5,
                       signal, worst, None, acknowledged, worst_t, source)


P, T, A = AlarmKind.PHYSIOLOGICAL, AlarmKind.TECHNICAL, AlarmKind.ADVISORY
M, H, L = Priority.MEDIUM, Priority.HIGH, Priority.LOW

RR_LOW = status("rr-low:sim", P, M, "rr", "RR LOW", "** RR LOW 6 < 8", 100.0)
SBP_HIGH = status("sbp-high:sim", P, M, "sbp", "NIBP SYS HIGH", "** NIBP SYS HIGH 185 ≥ 180",
                  90.0)
AUDIO = status("audio-unavailable:vigil", T, M, None, "audio output unavailable",
               "** audio output unavailable", 200.0)
LINK = status("link-lost:sim-2", T, M, None, "sim-2: device disconnected",
              "** sim-2: device disconnected", 210.0, source="sim-2")
BATTERY = status("battery-low:sim", T, L, None, "sim: device battery low",
                 "* sim: device battery low", 50.0, source="sim")
SPO2_STALE = status("spo2-not-current:sim", T, M, "spo2", "SpO2 not current",
                    "** SpO2 not current", 300.0)
PREDOSE = status("sbp-predose:sim", A, L, "sbp",
                 "BP above 140/90 before dosing: consider deferring the dose",
                 "* BP above 140/90 before dosing: consider deferring the dose", 20.0)
# The SpO2 tiers as the engine merges them: one alarm keyed by the LOW tier, latched HIGH, ended
# under the LOW tier's name.
LATCHED = status("spo2-low:sim", P, H, "spo2", "SpO2 LOW", "*** SpO2 LOW 81, ended",
                 T_1657 - 40, AlarmState.LATCHED, worst=81.0, worst_t=T_1657)


def test_order_is_priority_then_patient_first_then_newest():
    rr_old = status("rr-low:old", P, M, "rr", "RR LOW", "** RR LOW 7 < 8", 10.0)
    patient, system = split_alarms(
        (AUDIO, LINK, SPO2_STALE, PREDOSE, BATTERY, rr_old, RR_LOW, SBP_HIGH, LATCHED))
    assert [a.key for a in patient] == [
        "spo2-low:sim",  # HIGH (latched) over every MEDIUM
        "rr-low:sim", "sbp-high:sim", "rr-low:old",  # MEDIUM physiological, newest first
        "spo2-not-current:sim",  # MEDIUM technical on a vital, though the newest
        "sbp-predose:sim"]  # LOW advisory
    assert [a.key for a in system] == [
        "link-lost:sim-2", "audio-unavailable:vigil", "battery-low:sim"]


def test_active_alarm_comes_before_a_latched_one_of_its_priority():
    active = status("sbp-high:sim", P, H, "sbp", "NIBP SYS VERY HIGH",
                    "*** NIBP SYS VERY HIGH 205 ≥ 200", LATCHED.signal_t_s - 100)
    patient, _ = split_alarms((LATCHED, active))
    assert [a.key for a in patient] == ["sbp-high:sim", "spo2-low:sim"]


@pytest.mark.parametrize("patient_alarm", [RR_LOW, SBP_HIGH], ids=["rr", "nibp"])
def test_a_newer_technical_alarm_never_takes_the_banner_from_the_patient(qtbot, tmp_path,
                                                                         patient_alarm):
    with shown_rig(qtbot, tmp_path) as r:
        r.alarms.alarms = [AUDIO, LINK, patient_alarm]  # as the engine sends: newest first
        r.poll_alarms()
        qtbot.waitUntil(lambda: len(r.window.strip.alarms) == 2)
        w = r.window
        assert w.banner.alarms == (patient_alarm,)
        assert w.strip.alarms == (LINK, AUDIO)
        r.mono.t = 1000.1  # the lit half of the yellow flash
        w.flash.refresh()
        shot = to_array(w.grab().toImage())
        assert w.banner.drawn[0].text == patient_alarm.message
        yellow = ALARM_COLOURS[Priority.MEDIUM]
        assert share_of(region(shot, w, w.banner, (0, 0, 0.95, 1)), yellow) > 0.6
        assert [d.text for d in w.strip.drawn[1:]] == [
            "** sim-2: device disconnected", "** audio output unavailable"]
        assert share_of(region(shot, w, w.strip, (0.1, 0, 1, 1)), yellow) > 0.1
        assert w.strip.height() < w.banner.height() / 2


def test_the_banner_takes_the_patients_colour_under_a_higher_technical_alarm(rig, qtbot):
    rr_high = status("rr-high:sim", P, L, "rr", "RR HIGH", "* RR HIGH 32 > 30", 100.0)
    rig.alarms.alarms = [AUDIO, rr_high]
    rig.poll_alarms()
    qtbot.waitUntil(lambda: rig.window.banner.alarms == (rr_high,))
    w = rig.window
    rig.mono.t = 1000.1  # the lit half of the yellow flash
    w.flash.refresh()
    shot = to_array(w.grab().toImage())
    banner = region(shot, w, w.banner, (0, 0, 0.95, 1))
    assert share_of(banner, ALARM_COLOURS[Priority.LOW]) > 0.6
    assert share_of(banner, ALARM_COLOURS[Priority.MEDIUM]) < 0.01
    assert share_of(region(shot, w, w.strip, (0, 0, 0.3, 1)), ALARM_COLOURS[Priority.MEDIUM]) > 0.2


def test_only_system_alarms_leave_the_banner_saying_no_patient_alarm(rig, qtbot):
    rig.alarms.alarms = [AUDIO]
    rig.poll_alarms()
    qtbot.waitUntil(lambda: rig.window.strip.alarms == (AUDIO,))
    rig.window.banner.repaint()
    assert rig.window.banner.alarms == ()
    assert rig.window.banner.drawn[0].text == "No patient alarms"


def test_latched_alarm_shows_its_worst_value_and_time_not_the_value_at_its_end(rig, qtbot):
    rig.alarms.alarms = [LATCHED]
    rig.poll_alarms()
    qtbot.waitUntil(lambda: rig.window.banner.alarms == (LATCHED,))
    rig.window.banner.repaint()
    texts = [d.text for d in rig.window.banner.drawn]
    assert texts == ["*** SpO2 LOW 81 at 16:57, ended", "Ended: acknowledge [A] to clear"]


@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768)])
def test_an_acknowledged_first_alarm_says_so_on_its_own_line(qtbot, tmp_path, size):
    with shown_rig(qtbot, tmp_path, size=size) as r:
        r.alarms.alarms = [SBP_HIGH, RR_LOW, PREDOSE]
        r.poll_alarms()
        qtbot.waitUntil(lambda: len(r.window.banner.alarms) == 3)
        qtbot.keyClick(r.window, Qt.Key.Key_A)
        qtbot.waitUntil(lambda: all(a.acknowledged for a in r.window.banner.alarms))
        r.window.banner.repaint()
        drawn = r.window.banner.drawn
        assert [d.text for d in drawn] == [
            "** RR LOW 6 < 8", "Acknowledged: silent until it ends",
            "** NIBP SYS HIGH 185 ≥ 180 · ACK",
            "* BP above 140/90 before dosing: consider deferring the dose · ACK"]
        assert_whole(drawn)


def assert_whole(drawn: list) -> None:
    """Every text drawn whole, each line within its box (measured with its font)."""
    for d in drawn:
        fm = QFontMetricsF(d.fitted.font)
        assert not d.fitted.elided and d.fitted.text == d.text, d
        assert all(fm.horizontalAdvance(line) <= d.rect.width() for line in d.fitted.lines)
        assert fm.height() * len(d.fitted.lines) <= d.rect.height() + 1, d


@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768)])
def test_a_long_advisory_wraps_whole_beside_the_first_alarm(qtbot, tmp_path, size):
    rr_high = status("rr-high:sim", P, L, "rr", "RR HIGH", "* RR HIGH 32 > 30", 100.0)
    with shown_rig(qtbot, tmp_path, size=size) as r:
        r.alarms.alarms = [PREDOSE, rr_high]
        r.poll_alarms()
        qtbot.waitUntil(lambda: r.window.banner.alarms == (rr_high, PREDOSE))
        r.window.banner.repaint()
        drawn = r.window.banner.drawn
        assert [d.text for d in drawn] == [
            "* RR HIGH 32 > 30", "* BP above 140/90 before dosing: consider deferring the dose"]
        assert_whole(drawn)
        assert min(d.fitted.font.pixelSize() for d in drawn) >= 17


@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768)])
def test_no_banner_or_strip_text_is_cut_at_1920_or_1366(qtbot, tmp_path, size):
    with shown_rig(qtbot, tmp_path, size=size) as r:
        rr_ack = status("rr-low:sim", P, M, "rr", "RR LOW", "** RR LOW 6 < 8", 100.0,
                        acknowledged=True)
        r.alarms.alarms = [LATCHED, rr_ack, SBP_HIGH, SPO2_STALE, PREDOSE, AUDIO, LINK,
                           BATTERY]
        r.poll_alarms()
        qtbot.waitUntil(lambda: len(r.window.banner.alarms) == 5)
        assert r.window.width() == size[0]
        r.window.banner.repaint()
        r.window.strip.repaint()
        drawn = r.window.banner.drawn + r.window.strip.drawn
        assert [d.text for d in drawn] == [
            "*** SpO2 LOW 81 at 16:57, ended", "Ended: acknowledge [A] to clear",
            "** RR LOW 6 < 8 · ACK", "** NIBP SYS HIGH 185 ≥ 180", "+ 2 more",
            "System",
            "** sim-2: device disconnected", "** audio output unavailable",
            "* sim: device battery low"]
        assert_whole(drawn)
        # Legible at 1 m (4.7 mm, ~17 px): the first alarm much more so.
        assert drawn[0].fitted.font.pixelSize() >= 28
        assert min(d.fitted.font.pixelSize() for d in drawn) >= 17
