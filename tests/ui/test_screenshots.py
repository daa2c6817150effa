"""Screenshots of the main states at 1920x1080 with semantic pixel checks.

`VIGIL_SCREENSHOTS=1` saves them into docs/screenshots/ (committed for review); otherwise
they go to the test's tmp_path.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF
from ui_fakes import (
    FakeAudioOutput,
    open_rig,
    session_messages,
    settle,
    technical_alarm,
)

from alarms.engine import AlarmEngine
from alarms.model import Priority
from alarms.presets import preset
from monitor.messages import Message, Numerics, Waveform
from tests.helpers.qt import region, share_of, to_array
from ui.theme import ALARM_COLOURS, PANEL, STALE, vital_colour

SESSION_S = 45 * 60.0  # 35 min after a dose at 10 min: the peak phase


def engine_alarms(messages: list[Message], t_end: float) -> list:
    """The real alarm engine's alarms at `t_end` for a simulated session."""
    engine = AlarmEngine(preset("iv-ketamine"), wall0=0.0)
    for m in messages:
        engine(m)
    engine.tick(t_end)
    return list(engine.snapshot(t_end).alarms)


def first_worst_time(messages: list[Message], vital: str, worst: float) -> float:
    return next(m.t_s for m in messages if isinstance(m, Numerics)
                and dict(m.values).get(vital) == worst)


SIZES = [pytest.param((1920, 1080), "", id="1920"), pytest.param((1366, 768), "-1366", id="1366")]




def show_engine_state(r, qtbot, messages, alarms, t_s: float):
    """The rig at `t_s` with the session's messages and the engine's alarms (two on the
    banner); returns the settled screenshot."""
    r.clock.t = t_s
    r.alarms.alarms = alarms
    r.feed(*messages)
    r.poll_alarms()
    qtbot.waitUntil(lambda: len(r.window.banner.alarms) == 2)
    return settle(r, qtbot)


def test_screenshot_normal(qtbot, tmp_path, shots_dir):
    r = open_rig(qtbot, tmp_path)
    try:
        r.clock.t = SESSION_S
        r.feed(*session_messages("normal", SESSION_S))
        shot = settle(r, qtbot)
        r.window.grab().save(str(shots_dir / "normal.png"))
        w = r.window
        banner = region(shot, w, w.banner)
        for p in Priority:
            assert share_of(banner, ALARM_COLOURS[p]) < 0.01
        assert share_of(region(shot, w, w.tiles["hr"], (0.1, 0.2, 0.9, 0.75)),
                        vital_colour("hr")) > 0.05
        assert share_of(region(shot, w, w.tiles["nibp"], (0.1, 0.2, 0.9, 0.75)),
                        vital_colour("sbp")) > 0.03
        assert share_of(region(shot, w, w.pleth), vital_colour("pleth")) > 0.002
        assert share_of(region(shot, w, w.trend), vital_colour("hr")) > 0.001
        # The HR trend is one unbroken line: every pixel column of the session has HR green
        # between 55 and 100 bpm (the limit lines at 50 and 120 are outside that band), except
        # where an NIBP marker is drawn over it.
        vb = w.trend.plots[0].getViewBox()
        origin = w.trend.mapTo(w, QPoint(0, 0))

        def to_window(t_s: float, value: float) -> tuple[int, int]:
            p = w.trend.mapFromScene(vb.mapViewToScene(QPointF(t_s, value)))
            return origin.x() + p.x(), origin.y() + p.y()

        x0, y_top = to_window(60.0, 100.0)
        x1, y_bottom = to_window(SESSION_S - 60, 55.0)
        band = shot[y_top:y_bottom, x0:x1]
        has_hr = (np.abs(band - np.array(vital_colour("hr").getRgb()[:3])).max(axis=-1)
                  <= 40).any(axis=0)
        covered = np.zeros(x1 - x0, dtype=bool)
        for t in r.trends.series("sbp")[0]:
            c = to_window(float(t), 0.0)[0] - x0
            covered[max(0, c - 8): max(0, c + 9)] = True
        assert (has_hr | covered).all(), np.flatnonzero(~(has_hr | covered))
    finally:
        r.window.close()
        r.io.stop()


def test_screenshot_high_priority_alarm(qtbot, tmp_path, shots_dir):
    """A desaturation to 82 % with respiratory depression, judged by the real alarm engine:
    the SpO2 tiers are ONE alarm (keyed by the least severe tier) at HIGH, with the critical
    tier's text; RR is still MEDIUM."""
    r = open_rig(qtbot, tmp_path)
    try:
        until = 600.0 + 4 * 60 + 40  # 100 s into the simulated desaturation
        messages = session_messages("desaturation", until)
        alarms = engine_alarms(messages, until)
        assert [(a.key, a.priority, a.message) for a in alarms] == [
            ("spo2-low:sim", Priority.HIGH, "*** SpO2 CRITICAL 82 < 85"),
            ("rr-low:sim", Priority.MEDIUM, "** RR LOW 6 < 8")]
        shot = show_engine_state(r, qtbot, messages, alarms, until)
        r.window.grab().save(str(shots_dir / "alarm-high.png"))
        w = r.window
        red = ALARM_COLOURS[Priority.HIGH]
        assert [d.text for d in w.banner.drawn[:2]] == [
            "*** SpO2 CRITICAL 82 < 85", "** RR LOW 6 < 8"]  # one SpO2 alarm, not two
        assert share_of(region(shot, w, w.banner, (0, 0, 0.55, 1)), red) > 0.6
        assert share_of(region(shot, w, w.tiles["spo2"]), red) > 0.5
        assert share_of(region(shot, w, w.tiles["rr"]), ALARM_COLOURS[Priority.MEDIUM]) > 0.5
        assert share_of(region(shot, w, w.tiles["hr"]), red) < 0.01
        r.mono.t = 1000.3  # the dark half of the 2 Hz flash
        r.window.flash.refresh()
        dark = to_array(r.window.grab().toImage())
        assert share_of(region(dark, w, w.banner, (0, 0, 0.55, 1)), red) < 0.2
    finally:
        r.window.close()
        r.io.stop()


def test_screenshot_stale_spo2(qtbot, tmp_path, shots_dir):
    r = open_rig(qtbot, tmp_path)
    try:
        r.clock.t = SESSION_S
        r.feed(*session_messages("normal", SESSION_S, probe_off_from=SESSION_S - 45))
        not_current = technical_alarm("spo2-not-current:sim", Priority.MEDIUM,
                                      "** SpO2 not current", "spo2")
        r.alarms.alarms = [replace(not_current, onset_t_s=SESSION_S - 15,
                                   signal_t_s=SESSION_S - 15)]
        r.poll_alarms()
        qtbot.waitUntil(lambda: r.window.tiles["spo2"].technical is Priority.MEDIUM)
        shot = settle(r, qtbot)
        r.window.grab().save(str(shots_dir / "stale-spo2.png"))
        w = r.window
        # Equipment, not the patient: a dashed cyan frame, no yellow on the tile.
        tile = region(shot, w, w.tiles["spo2"])
        assert share_of(tile, ALARM_COLOURS[Priority.MEDIUM]) == 0.0
        assert share_of(tile[:, :5], ALARM_COLOURS[Priority.LOW]) > 0.3
        value = region(shot, w, w.tiles["spo2"], (0.05, 0.15, 0.95, 0.75))
        assert share_of(value, vital_colour("spo2")) < 0.001  # no live-looking number
        assert share_of(value, STALE, tol=12) > 0.01  # grey dashes
        assert w.tiles["spo2"].content.value == "--"
        assert share_of(region(shot, w, w.tiles["hr"], (0.1, 0.2, 0.9, 0.75)),
                        vital_colour("hr")) > 0.05
        assert not w.pleth.showing_signal
    finally:
        r.window.close()
        r.io.stop()


def test_screenshot_audio_paused(qtbot, tmp_path, shots_dir):
    """A hypertensive surge judged by the real alarm engine, so the banner, the tile and
    the data agree; then the nurse pauses the audio."""
    r = open_rig(qtbot, tmp_path)
    try:
        t_end = 45 * 60 + 40.0  # 10 s after the 35-min reading of the surge (>= 180)
        messages = session_messages("hypertensive-surge", t_end)
        engine = AlarmEngine(preset("iv-ketamine"), wall0=0.0)
        for m in messages:
            engine(m)
        engine.tick(t_end)
        alarms = engine.snapshot(t_end).alarms
        assert alarms and all(a.vital in ("sbp", "dbp") and a.priority is Priority.MEDIUM
                              for a in alarms)
        r.clock.t = t_end
        r.alarms.alarms = list(alarms)
        r.feed(*messages)
        r.window.act_pause.trigger()
        qtbot.waitUntil(lambda: r.window.snapshot is not None
                        and r.window.snapshot.audio_paused_until_s is not None)
        r.clock.t += 17
        r.feed(*[m for m in session_messages("hypertensive-surge", r.clock.t)
                 if isinstance(m, Waveform)])  # the pleth goes on during the pause
        shot = settle(r, qtbot)
        r.window.grab().save(str(shots_dir / "audio-paused.png"))
        w = r.window
        assert w.audio_label.text() == "AUDIO PAUSED 1:43"
        yellow = ALARM_COLOURS[Priority.MEDIUM]
        assert share_of(region(shot, w, w.audio_label), yellow) > 0.05
        assert share_of(region(shot, w, w.banner, (0, 0, 0.95, 1)), yellow) > 0.5
        assert r.window.audio.sounding is None
    finally:
        r.window.close()
        r.io.stop()


@pytest.mark.parametrize(("size", "suffix"), SIZES)
def test_screenshot_latched(qtbot, tmp_path, shots_dir, size, suffix):
    """After a desaturation with respiratory depression, judged by the real engine: both
    HIGH alarms ended and wait for acknowledgement. The banner says the worst value and
    when; the tiles show today's normal numbers in their own colours, with a badge."""
    r = open_rig(qtbot, tmp_path, size)
    try:
        t_end = 2400.0  # SpO2 back above 90 % for two minutes
        messages = session_messages("desaturation", t_end)
        alarms = engine_alarms(messages, t_end)
        assert {(a.vital, a.priority, a.state.value) for a in alarms} == {
            ("spo2", Priority.HIGH, "latched"), ("rr", Priority.HIGH, "latched")}
        # The engine stamps when the worst value was seen: the first sample at that value.
        assert all(a.worst_t_s == first_worst_time(messages, a.vital, a.worst_value)
                   for a in alarms)
        shot = show_engine_state(r, qtbot, messages, alarms, t_end)
        (shots_dir if not suffix else tmp_path).mkdir(exist_ok=True)
        r.window.grab().save(str((shots_dir if not suffix else tmp_path)
                                 / f"latched{suffix}.png"))
        w = r.window
        red = ALARM_COLOURS[Priority.HIGH]
        # The merged tiers' alarm ends under the least severe tier's name.
        assert re.fullmatch(r"\*\*\* SpO2 LOW 81 at \d\d:\d\d, ended",
                            w.banner.drawn[0].text), w.banner.drawn[0].text
        assert not any(d.fitted.elided for d in w.banner.drawn)
        assert share_of(region(shot, w, w.banner, (0, 0, 0.55, 1)), red) > 0.6
        for key in ("spo2", "rr"):
            tile = w.tiles[key]
            assert tile.content.live and tile.badge_text.startswith("⚑ ")
            body = region(shot, w, tile, (0.05, 0.3, 0.95, 0.95))
            assert share_of(body, red) == 0.0  # no red tile around a normal number
            assert share_of(body, PANEL, tol=6) > 0.6
            assert share_of(body, vital_colour(key)) > 0.02
    finally:
        r.window.close()
        r.io.stop()


@pytest.mark.parametrize(("size", "suffix"), SIZES)
def test_screenshot_technical_strip(qtbot, tmp_path, shots_dir, size, suffix):
    """A hypertensive surge (the real engine's NIBP alarms) while the audio output is gone
    and a device's battery is low: the patient keeps the banner, the system's alarms go to the
    strip under it."""
    r = open_rig(qtbot, tmp_path, size, audio=FakeAudioOutput(available=False))
    try:
        t_end = 45 * 60 + 40.0  # 10 s after the 35-min reading of the surge (>= 180)
        messages = session_messages("hypertensive-surge", t_end)
        r.clock.t = t_end
        battery = technical_alarm("battery-low:sim", Priority.LOW, "* sim: device battery low",
                                  source="sim")
        r.alarms.alarms = [replace(battery, onset_t_s=t_end - 240, signal_t_s=t_end - 240),
                           *engine_alarms(messages, t_end)]
        r.feed(*messages)
        r.window.start()
        qtbot.waitUntil(lambda: len(r.window.strip.alarms) == 2)
        shot = settle(r, qtbot)
        out = shots_dir if not suffix else tmp_path
        r.window.grab().save(str(out / f"technical-strip{suffix}.png"))
        w = r.window
        yellow = ALARM_COLOURS[Priority.MEDIUM]
        assert w.banner.drawn[0].text.startswith("** NIBP ")
        assert [d.text for d in w.strip.drawn[1:]] == [
            "** audio output unavailable", "* sim: device battery low"]
        assert share_of(region(shot, w, w.banner, (0, 0, 0.55, 1)), yellow) > 0.6
        strip = region(shot, w, w.strip)
        assert share_of(strip, yellow) > 0.05  # the MEDIUM pill (its text is short)
        assert share_of(strip, ALARM_COLOURS[Priority.LOW]) > 0.05
    finally:
        r.window.close()
        r.io.stop()
