"""The dashboard's interactions, offscreen, against fakes of the alarm engine and audio."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from ui_fakes import FakeAudioOutput, make_rig, physiological_alarm, shown_rig

from alarms.model import AlarmKind, AlarmState, AlarmStatus, Priority
from monitor.messages import Numerics, TimelineMark, Waveform
from tests.helpers.qt import share_of, to_array
from ui.alarm_tones import PATTERNS
from ui.bridge import Bridge
from ui.theme import ALARM_COLOURS, PANEL, TECHNICAL_MARK, vital_colour
from ui.tiles import VitalTile, keep_units


def vitals(t: float, **values: float) -> Numerics:
    return Numerics("sim", 1_700_000_000.0 + t, t, tuple(values.items()))


def test_tiles_show_current_values_and_limits(rig, qtbot):
    rig.clock.t = 10.5
    rig.feed(vitals(10.0, hr=72, spo2=97, pr=71, rr=14))
    tiles = rig.window.tiles
    qtbot.waitUntil(lambda: tiles["hr"].content.value == "72")
    assert tiles["hr"].content.live
    assert tiles["spo2"].content.value == "97"
    assert tiles["spo2"].content.secondary == "PR 71"
    assert tiles["rr"].content.value == "14"
    assert tiles["hr"].content.limits == "120\n50"
    assert tiles["spo2"].content.limits == "off\n90"
    assert tiles["nibp"].content.value == "---/---"


@pytest.mark.parametrize(("size", "minimum_px"), [((1920, 1080), 70), ((1366, 768), 50)])
def test_digits_are_readable_at_four_metres(qtbot, tmp_path, size, minimum_px):
    """4 m needs ~18.6 mm digits (clinical reference §10): ~70 px on a 24-inch 1080p screen,
    ~50 px on the same screen at 1366x768 (larger pixels)."""
    with shown_rig(qtbot, tmp_path, size=size) as r:
        r.clock.t = 1.0
        r.feed(vitals(1.0, hr=72, spo2=97, pr=71, rr=14, sbp=142, dbp=88, map=104))
        qtbot.waitUntil(lambda: r.window.tiles["nibp"].content.value == "142/88")
        heights = {k: t.value_pixel_size() for k, t in r.window.tiles.items()}
        assert min(heights.values()) >= minimum_px, heights


def test_stale_spo2_is_dashes_never_a_number(rig, qtbot):
    rig.clock.t = 1.0
    rig.feed(vitals(1.0, hr=72, spo2=97, pr=71, rr=14))
    qtbot.waitUntil(lambda: rig.window.tiles["spo2"].content.value == "97")
    rig.clock.t = 32.0  # SpO2 not updated for 31 s
    rig.feed(vitals(32.0, hr=73, rr=14))
    qtbot.waitUntil(lambda: not rig.window.tiles["spo2"].content.live)
    content = rig.window.tiles["spo2"].content
    assert content.value == "--"
    assert "NOT CURRENT" in content.note
    assert rig.window.tiles["hr"].content.live


def test_high_alarm_reaches_banner_and_tile_which_flash_at_2_hz(rig, qtbot):
    rig.alarms.alarms = [physiological_alarm("spo2-low:sim", "spo2", Priority.HIGH,
                                             "*** SpO2 CRITICAL 82 < 85")]
    rig.poll_alarms()
    qtbot.waitUntil(lambda: rig.window.banner.alarms != ())
    assert rig.window.flash.running
    lit = []
    for step in range(8):  # 2 s at 0.25 s steps: a 2 Hz 50 % flash alternates every step
        rig.mono.t = 1000.0 + step * 0.25
        rig.window.flash.refresh()
        lit.append(rig.window.tiles["spo2"].lit)
    assert lit == [True, False] * 4
    assert rig.window.tiles["spo2"].alarm is Priority.HIGH
    assert rig.window.tiles["hr"].alarm is None


def test_medium_alarm_flashes_at_half_hertz_low_is_steady(rig, qtbot):
    rig.alarms.alarms = [physiological_alarm("hr-high", "hr", Priority.MEDIUM, "** HR 130 > 120"),
                         physiological_alarm("rr-high", "rr", Priority.LOW, "* RR 32 > 30")]
    rig.poll_alarms()
    qtbot.waitUntil(lambda: rig.window.tiles["rr"].alarm is Priority.LOW)
    hr, rr = [], []
    for step in range(8):  # 4 s at 0.5 s steps
        rig.mono.t = 1000.0 + step * 0.5
        rig.window.flash.refresh()
        hr.append(rig.window.tiles["hr"].lit)
        rr.append(rig.window.tiles["rr"].lit)
    assert hr == [True, True, False, False] * 2
    assert all(rr)


def test_acknowledge_key_runs_on_the_device_thread(rig, qtbot):
    rig.alarms.alarms = [physiological_alarm("hr-high", "hr", Priority.MEDIUM, "** HR 130 > 120")]
    rig.poll_alarms()
    qtbot.waitUntil(lambda: rig.window.banner.alarms != ())
    qtbot.keyClick(rig.window, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: rig.window.banner.alarms[0].acknowledged)
    assert ("acknowledge", "device-io") in rig.alarms.calls
    assert rig.window.snapshot is not None and rig.window.snapshot.sounding is None


def test_audio_pause_shows_a_two_minute_countdown(rig, qtbot):
    rig.clock.t = 100.0
    qtbot.mouseClick(rig.window.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: rig.window.snapshot is not None
                    and rig.window.snapshot.audio_paused_until_s == 220.0)
    rig.window.refresh()
    assert rig.window.audio_label.text() == "AUDIO PAUSED 2:00"
    assert ("pause_audio", "device-io") in rig.alarms.calls
    rig.clock.t = 161.0
    rig.window.refresh()
    assert rig.window.audio_label.text() == "AUDIO PAUSED 0:59"
    assert "0:59" in rig.window.pause_button.text()


def test_no_audio_output_raises_visual_only_alarm(qtbot, tmp_path):
    r = make_rig(tmp_path, audio=FakeAudioOutput(available=False))
    qtbot.addWidget(r.window)
    try:
        r.window.start()
        qtbot.waitUntil(lambda: any("audio output unavailable" in a.message
                                    for a in r.window.strip.alarms))
        assert r.window.banner.alarms == ()  # equipment, not the patient
        assert ("audio_available=False", "device-io") in r.alarms.calls
        r.window.refresh()
        assert "visual only" in r.window.audio_label.text()
    finally:
        r.window.close()
        r.io.stop()


def test_sounding_alarm_plays_bursts_on_time(rig, qtbot):
    rig.alarms.alarms = [physiological_alarm("spo2-low:sim", "spo2", Priority.HIGH,
                                             "*** SpO2 CRITICAL 82 < 85")]
    rig.poll_alarms()
    qtbot.waitUntil(lambda: len(rig.audio.played) == 1)
    assert len(rig.audio.played[0]) == round(PATTERNS[Priority.HIGH].burst_s * 48_000)
    rig.mono.t += PATTERNS[Priority.HIGH].period_s - 0.1
    rig.window.audio.tick()
    assert len(rig.audio.played) == 1
    rig.mono.t += 0.1
    rig.window.audio.tick()
    assert len(rig.audio.played) == 2
    qtbot.keyClick(rig.window, Qt.Key.Key_A)  # acknowledged: silent, still shown
    qtbot.waitUntil(lambda: rig.window.audio.sounding is None)
    rig.mono.t += 60
    rig.window.audio.tick()
    assert len(rig.audio.played) == 2
    assert rig.window.banner.alarms


def test_trend_follows_now_until_panned_and_f_returns(rig, qtbot):
    rig.clock.t = 3 * 3600.0
    samples = [vitals(float(t), hr=70 + t % 5, spo2=97, pr=70, rr=14) for t in range(0, 60)]
    rig.feed(*samples, TimelineMark("sim", 0.0, 10.0, "dose_start", (("route", "iv"),)))
    rig.window.trend.refresh()
    lo, hi = rig.window.trend.x_range()
    assert lo < rig.clock.t < hi and hi - lo == pytest.approx(3600, rel=0.01)
    t, _v = rig.trends.series("hr")
    assert len(t) == 60
    view = rig.window.trend.viewport()
    wheel = QWheelEvent(QPointF(400, 100), QPointF(view.mapToGlobal(QPoint(400, 100))),
                        QPoint(0, 0), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view, wheel)
    qtbot.waitUntil(lambda: not rig.window.trend.follow)
    assert not rig.window.follow_button.isChecked()
    rig.clock.t += 600
    rig.window.trend.refresh()
    lo, hi = rig.window.trend.x_range()
    assert not lo < rig.clock.t < hi  # a panned view stays where the nurse put it
    qtbot.keyClick(rig.window, Qt.Key.Key_F)
    assert rig.window.trend.follow and rig.window.follow_button.isChecked()
    lo, hi = rig.window.trend.x_range()
    assert lo < rig.clock.t < hi
    qtbot.keyClick(rig.window, Qt.Key.Key_Minus)
    assert rig.window.trend.window_min == 120
    lo, hi = rig.window.trend.x_range()
    assert hi - lo == pytest.approx(7200, rel=0.01)


def test_pleth_sweeps_and_clears_without_signal(rig, qtbot):
    rig.clock.t = 2.0
    wave = np.sin(np.linspace(0, 12, 200)).astype(np.float32)
    rig.feed(Waveform("sim", 0.0, 0.0, "pleth", 100.0, wave[:100]),
             Waveform("sim", 1.0, 1.0, "pleth", 100.0, wave[100:]))
    qtbot.waitUntil(lambda: rig.window.pleth.showing_signal)
    y = rig.window.pleth.sweep_data()
    assert np.isfinite(y).sum() == 195  # the head trails the newest sample by 50 ms
    rig.clock.t = 2.1
    rig.window.pleth.refresh()
    y = rig.window.pleth.sweep_data()
    assert np.isfinite(y).sum() == 200  # all 200 samples, the rest of the 6 s sweep empty
    assert np.array_equal(y[:200], wave)
    rig.clock.t = 5.0
    rig.window.pleth.refresh()
    assert not rig.window.pleth.showing_signal
    assert rig.window.pleth.no_signal.isVisible()


def test_window_layout_is_remembered(qtbot, tmp_path):
    r = make_rig(tmp_path)
    qtbot.addWidget(r.window)
    r.window.show()
    qtbot.waitExposed(r.window)
    r.window.resize(760, 700)  # the offscreen screen is 800x800
    qtbot.waitUntil(lambda: r.window.width() == 760)
    r.window.act_zoom_out.trigger()
    r.window.close()
    r.io.stop()
    again = make_rig(tmp_path, size=(800, 600))
    qtbot.addWidget(again.window)
    settings = QSettings(str(again.settings_path), QSettings.Format.IniFormat)
    try:
        assert settings.value("window/geometry") is not None
        fresh = type(again.window)(again.window.sources, again.audio, settings)
        qtbot.addWidget(fresh)
        fresh.show_for_session()
        qtbot.waitExposed(fresh)
        assert (fresh.width(), fresh.height()) == (760, 700)
        assert fresh.trend.window_min == 120
        fresh.close()
    finally:
        again.window.close()
        again.io.stop()


def test_kiosk_is_full_screen(qtbot, tmp_path):
    r = make_rig(tmp_path, kiosk=True)
    qtbot.addWidget(r.window)
    try:
        r.window.show_for_session()
        qtbot.waitUntil(r.window.isFullScreen)
        qtbot.keyClick(r.window, Qt.Key.Key_F11)  # kiosk stays full screen
        assert r.window.isFullScreen()
    finally:
        r.window.close()
        r.io.stop()


def test_bridge_delivers_device_thread_emits_on_the_gui_thread(qtbot):
    from monitor.runtime import IoThread

    bridge = Bridge()
    seen: list[str] = []
    bridge.numericsArrived.connect(lambda _m: seen.append(threading.current_thread().name))
    io = IoThread().start()
    try:
        with qtbot.waitSignal(bridge.numericsArrived, timeout=2000):
            io.call(lambda: bridge.sink(vitals(1.0, hr=70)))
        assert seen == [threading.main_thread().name]
    finally:
        io.stop()


def test_tile_paints_alarm_colour_when_lit(qtbot):
    from ui.theme import ALARM_COLOURS

    tile = VitalTile("HR", "bpm", ALARM_COLOURS[Priority.LOW])
    qtbot.addWidget(tile)
    tile.resize(300, 200)
    tile.set_alarm(Priority.HIGH, True)
    img = tile.grab().toImage()
    assert img.pixelColor(20, 100).name() == ALARM_COLOURS[Priority.HIGH].name()
    tile.set_alarm(Priority.HIGH, False)
    img = tile.grab().toImage()
    assert img.pixelColor(20, 100).name() != ALARM_COLOURS[Priority.HIGH].name()


def test_latched_tile_shows_the_current_value_in_normal_colours_with_a_badge(rig, qtbot):
    """The desaturation is over (SpO2 96 now): no red tile around a normal number, but a
    badge with the worst value and when it was seen."""
    worst_t = time.mktime((2023, 11, 15, 16, 57, 20, 0, 0, -1)) - 1_700_000_000.0
    rig.clock.t = worst_t + 120.5
    rig.feed(vitals(worst_t + 120, hr=72, spo2=96, pr=71, rr=14))
    rig.alarms.alarms = [AlarmStatus(
        "spo2-low:sim", AlarmKind.PHYSIOLOGICAL, Priority.HIGH, "spo2", "SpO2 LOW",
        "*** SpO2 LOW 81, ended", AlarmState.LATCHED, worst_t - 30, worst_t - 30, 81.0,
        90.0, False, worst_t)]
    rig.poll_alarms()
    tile = rig.window.tiles["spo2"]
    qtbot.waitUntil(lambda: tile.latched is not None and tile.content.value == "96")
    rig.mono.t = 1000.1  # the lit half of the 2 Hz flash
    rig.window.flash.refresh()
    img = to_array(tile.grab().toImage())
    h = img.shape[0]
    red = ALARM_COLOURS[Priority.HIGH]
    assert tile.alarm is None
    assert tuple(img[h // 2, 12]) == PANEL.getRgb()[:3]
    below_title = img[int(h * 0.3):, :]
    assert share_of(below_title, red) == 0.0
    assert share_of(below_title, vital_colour("spo2")) > 0.03  # the number, live colour
    assert tile.badge_text == "⚑ LATCHED 81 16:57"
    b = tile.badge_rect
    badge = img[int(b.top()) + 2:int(b.bottom()) - 2, int(b.left()) + 2:int(b.right()) - 2]
    assert share_of(badge, red) > 0.5


def test_technical_condition_on_a_vital_marks_its_tile_as_equipment_never_flashing(rig, qtbot):
    rig.alarms.alarms = [
        AlarmStatus("spo2-not-current:sim", AlarmKind.TECHNICAL, Priority.MEDIUM, "spo2",
                    "SpO2 not current", "** SpO2 not current", AlarmState.ACTIVE, 0.0, 0.0,
                    None, None, False),
        AlarmStatus("sbp-rise:sim", AlarmKind.ADVISORY, Priority.LOW, "sbp",
                    "SYS +40 mmHg over pre-dose", "* SYS +40 mmHg over pre-dose",
                    AlarmState.ACTIVE, 0.0, 0.0, None, None, False)]
    rig.poll_alarms()
    tiles = rig.window.tiles
    qtbot.waitUntil(lambda: tiles["spo2"].technical is Priority.MEDIUM)
    lit = []
    for step in range(4):  # 4 s at 1 s steps: a MEDIUM alarm's 0.5 Hz flash would show
        rig.mono.t = 1000.0 + step
        rig.window.flash.refresh()
        lit.append((tiles["spo2"].lit, tiles["nibp"].lit))
    assert lit == [(False, False)] * 4
    assert tiles["spo2"].alarm is None and tiles["nibp"].alarm is None
    rig.mono.t = 1000.1
    rig.window.flash.refresh()
    img = to_array(tiles["spo2"].grab().toImage())
    h = img.shape[0]
    assert tuple(img[h // 2, 12]) == PANEL.getRgb()[:3]
    for p in Priority:
        if p is not Priority.LOW:
            assert share_of(img, ALARM_COLOURS[p]) == 0.0
    assert share_of(img[:, :6], TECHNICAL_MARK) > 0.3  # the dashed frame


def test_a_wrapped_note_keeps_each_number_with_its_unit():
    assert keep_units("NOT CURRENT: no data 46 s") == "NOT CURRENT: no data 46\u00a0s"
    assert keep_units("22:53  ·  4 min ago  ·  next 0:30") == (
        "22:53  ·  4\u00a0min ago  ·  next 0:30")


def test_nibp_countdown_stops_when_the_session_ends(rig, qtbot):
    """After the end no reading is due: the tile keeps the last reading, its time and age,
    but no 'next' countdown and never 'OVERDUE'."""
    rig.clock.t = 100.0
    rig.feed(vitals(100.0, sbp=142, dbp=88, map=104))
    tile = rig.window.tiles["nibp"]
    qtbot.waitUntil(lambda: tile.content.value == "142/88")
    rig.window.refresh_tiles()
    assert "next " in tile.content.note  # counting down while recording
    rig.window.session_ended("SESSION ENDED 10:00: not recording")
    rig.clock.t = 100.0 + 3000  # long past the next reading's time
    rig.window.refresh_tiles()
    note = tile.content.note
    assert "next" not in note and "OVERDUE" not in note, note
    assert note.endswith("50 min ago"), note
