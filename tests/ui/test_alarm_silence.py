"""Acknowledge (A) and audio pause (P) heard through the real sound server.

The real window on a `DashboardSession` (the recorder's own alarm engine, a replay of SpO2 80 %:
SpO2 CRITICAL, HIGH at once) plays through the libpulse output (ui/pulse_output.py) into a
private PulseAudio null sink (tests/pulse.py) whose monitor is recorded; the bursts are found in
the recording (tests/alarm_sound.py). The keys are pressed on the window as a nurse would.
Times "in the recording" come from its length when the key was pressed (within ~0.1 s).

IEC 60601-1-8 (clinical.md §1.5): ACKNOWLEDGED silences the conditions active now, until they
end; a new condition sounds. AUDIO PAUSED silences the alarms present for its period (here
shortened through the preset's `audio_pause_s`, the product's own setting), then they sound
again. A technical condition that starts after the acknowledgement sounds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from pytestqt.exceptions import TimeoutError as WaitTimeout

from alarms.model import AlarmKind, AlarmState, Priority
from alarms.presets import with_rules
from devices.spec import parse_spec
from monitor.messages import Message, Numerics
from monitor.recorder import RecordingPlan, SessionRecorder
from monitor.store import SessionStore
from tests.alarm_sound import BURST_GAP_S, Burst, find_bursts
from tests.pulse import PulseServer, Recording
from ui.alarm_tones import PATTERNS, SAMPLE_RATE
from ui.app import DashboardSession
from ui.dashboard import DashboardWindow
from ui.pulse_output import pulse_output

pytestmark = pytest.mark.slow

HIGH_PERIOD_S = PATTERNS[Priority.HIGH].period_s  # 5 s: burst start to the next one's start
HIGH_BURST_S = PATTERNS[Priority.HIGH].burst_s  # 1.97 s
PAUSE_S = 6.0  # the shortened AUDIO PAUSED (the product's default is 120 s)
# From the key to the sound following it: the command reaches the engine on the device-io
# thread, the snapshot comes back to the GUI, and the server holds up to 0.25 s queued
# (ui/pulse_output.py TARGET_S).
REACT_S = 0.6
# A burst is whole once the recording has gone this long past its last pulse: longer than any
# gap inside a burst (HIGH 0.35 s between its two groups of five), shorter than between bursts.
WHOLE_AFTER_S = 0.5
# The shortened reminder for an acknowledged alarm still present (the product's is 3 min):
# long enough that the technical alarm's burst before it stands apart.
REMINDER_S = 9.0


def _replay(path: Path, seconds: int = 120) -> Path:
    """SpO2 80 % every second (SpO2 CRITICAL: HIGH, no delay); no other vital, so the test
    alone decides when a second condition begins."""
    path.write_text("time_s,spo2\n" + "".join(f"{t},80\n" for t in range(seconds)))
    return path


class Room:
    """The dashboard window, its session and the recording of the sink."""

    def __init__(self, qtbot, window: DashboardWindow, session: DashboardSession,
                 rec: Recording) -> None:
        self.qtbot = qtbot
        self.window = window
        self.session = session
        self.rec = rec

    def now_s(self) -> float:
        """Where the recording is now (s)."""
        return len(self.rec.samples()) / self.rec.rate

    def bursts(self, complete_only: bool = False) -> list[Burst]:
        return find_bursts(self.rec.samples(), self.rec.rate, complete_only)

    def wait_burst_after(self, after_s: float, timeout_ms: int,
                         complete: bool = False) -> Burst:
        """The first burst that began after `after_s` in the recording (polled)."""
        found: list[Burst] = []

        def began() -> bool:
            found[:] = [b for b in self.bursts() if b.start_s > after_s
                        and (not complete or self.now_s() - b.end_s >= WHOLE_AFTER_S)]
            return bool(found)
        try:
            self.qtbot.waitUntil(began, timeout=timeout_ms)
        except WaitTimeout as e:
            raise AssertionError(f"no burst began after {after_s:.2f} s within {timeout_ms} ms "
                                 f"(recorded {self.now_s():.2f} s): {self.bursts()}; "
                                 f"alarms {self.window.snapshot}") from e
        return found[0]

    def wait_recorded(self, until_s: float, timeout_ms: int) -> None:
        """Until the recording reaches `until_s` (the GUI and the sound keep running)."""
        self.qtbot.waitUntil(lambda: self.now_s() >= until_s, timeout=timeout_ms)

    def press(self, key: Qt.Key) -> float:
        """The key on the window; returns when it was pressed, in the recording."""
        at = self.now_s()
        self.qtbot.keyClick(self.window, key)
        return at

    def inject(self, message: Callable[[float, float], Message]) -> None:
        """A device message (made from wall and session time, now), handed to the sinks on
        the device-io thread as the device's own would be."""
        clock = self.session.recorder.clock
        t = clock.now()
        self.session.recorder.runtime.inject(message(clock.wall(t), t))

    def patient_alarms(self):
        return self.window.banner.alarms


@contextmanager
def room(qtbot, tmp_path: Path, server: PulseServer, monkeypatch: pytest.MonkeyPatch,
         **rules: float) -> Iterator[Room]:
    """`rules`: preset settings the test shortens (`audio_pause_s`, `reminder_s`)."""
    for name, value in server.env.items():  # libpulse in this process uses the private server
        monkeypatch.setenv(name, value)
    output = pulse_output(SAMPLE_RATE)
    if output is None:
        pytest.skip("libpulse-simple is not installed (Debian: libpulse0)")
    plan = RecordingPlan((parse_spec(f"replay:{_replay(tmp_path / 'spo2-80.csv')}"),),
                         3600.0, 1.0)

    def engine(recorder: SessionRecorder):
        """The recorder's own engine (already a sink and a ticker), shorter times if asked."""
        if rules:
            recorder.alarms.preset = with_rules(recorder.alarms.preset, **rules)
        return recorder.alarms

    rec = server.record()
    with SessionStore(tmp_path / "vigil.sqlite3") as store:
        session = DashboardSession(store, plan, engine)
        settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
        window = DashboardWindow(session.sources(), output, settings)
        qtbot.addWidget(window)
        window.closing.connect(session.stop)
        try:
            session.start()
            window.show()
            window.start()
            window.activateWindow()
            yield Room(qtbot, window, session, rec)
        finally:
            window.close()
            session.stop()
            output.close()


def _spo2_alarm(r: Room):
    [alarm] = [a for a in r.patient_alarms() if a.vital == "spo2"]
    return alarm


def test_acknowledge_silences_the_high_alarm_and_a_new_condition_sounds(
        qtbot, tmp_path: Path, pulse_server: PulseServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A: no HIGH burst begins for more than a whole period while the banner shows the alarm
    acknowledged; a new condition (HR 20, HIGH) sounds at once."""
    with room(qtbot, tmp_path, pulse_server, monkeypatch) as r:
        first = r.wait_burst_after(-1.0, 15_000, complete=True)  # heard: a whole HIGH burst
        assert len(first.pulses) == 10 and 150 <= first.fundamental_hz <= 1000, first
        pressed = r.press(Qt.Key.Key_A)
        qtbot.waitUntil(lambda: _spo2_alarm(r).acknowledged, timeout=3000)
        alarm = _spo2_alarm(r)
        assert alarm.priority is Priority.HIGH and alarm.state is AlarmState.ACTIVE
        # Silent for more than a whole HIGH period after the key (a burst already playing
        # may end, as 6.10 asks; none begins).
        r.wait_recorded(pressed + REACT_S + HIGH_PERIOD_S + 0.5, 15_000)
        late = [b for b in r.bursts() if b.start_s > pressed + REACT_S]
        assert not late, (pressed, late)
        ended = max(b.end_s for b in r.bursts() if b.start_s <= pressed + REACT_S)
        assert ended <= pressed + REACT_S + HIGH_BURST_S, (pressed, r.bursts())
        # the banner still shows it, acknowledged, while the condition lasts
        assert _spo2_alarm(r).acknowledged and _spo2_alarm(r).state is AlarmState.ACTIVE
        qtbot.waitUntil(lambda: any("Acknowledged" in d.text for d in r.window.banner.drawn),
                        timeout=3000)
        # A new condition: HR 20 (HR EXTREME LOW, HIGH, no delay) sounds at once.
        new_at = r.now_s()
        r.inject(lambda wall, t: Numerics("replay", wall, t, (("hr", 20.0),)))
        again = r.wait_burst_after(new_at, 5000, complete=True)
        assert again.start_s - new_at <= 1.5, (new_at, again)
        assert len(again.pulses) == 10, again
        hr = [a for a in r.patient_alarms() if a.vital == "hr"]
        assert hr and not hr[0].acknowledged and hr[0].priority is Priority.HIGH, hr
        print(f"ack: A pressed {pressed - ended:.2f} s after the last burst ended; silent "
              f"{again.start_s - ended:.2f} s (HIGH period {HIGH_PERIOD_S:g} s) until the new "
              f"condition, heard {again.start_s - new_at:.2f} s after it began")


def test_audio_pause_silences_for_its_period_then_the_alarm_sounds_again(
        qtbot, tmp_path: Path, pulse_server: PulseServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """P silences the alarms present for the pause (AUDIO PAUSED shown), and they sound again
    when it ends; during a pause a new condition still sounds (IEC 60601-1-8 6.8.1)."""
    with room(qtbot, tmp_path, pulse_server, monkeypatch, audio_pause_s=PAUSE_S) as r:
        r.wait_burst_after(-1.0, 15_000, complete=True)
        pressed = r.press(Qt.Key.Key_P)
        qtbot.waitUntil(lambda: r.window.audio_label.text().startswith("AUDIO PAUSED"),
                        timeout=3000)
        assert r.window.snapshot is not None and r.window.snapshot.sounding is None
        back = r.wait_burst_after(pressed + REACT_S, round((PAUSE_S + 5) * 1000))
        # nothing in the pause; the engine starts it at its last sample (up to 0.5 s before
        # the key), and the display learns of its end within a relay poll (0.25 s)
        assert PAUSE_S - 0.8 <= back.start_s - pressed <= PAUSE_S + 1.0, (pressed, back)
        ended = max(b.end_s for b in r.bursts() if b.start_s <= pressed + REACT_S)
        assert ended <= pressed + REACT_S + HIGH_BURST_S, (pressed, r.bursts())
        qtbot.waitUntil(lambda: r.window.audio_label.text() == "Audio on", timeout=2000)
        full = r.wait_burst_after(pressed + REACT_S, 5000, complete=True)
        assert len(full.pulses) == 10, full  # the HIGH alarm itself, not a stray sound
        assert not _spo2_alarm(r).acknowledged
        # Paused again: the alarm present is silenced, a new condition sounds (6.8.1).
        second = r.press(Qt.Key.Key_P)
        qtbot.waitUntil(lambda: r.window.audio_label.text().startswith("AUDIO PAUSED"),
                        timeout=3000)
        last_end = max(b.end_s for b in r.bursts())  # the new burst must stand apart from it
        r.wait_recorded(max(last_end + BURST_GAP_S, second + REACT_S), 5000)
        assert not [b for b in r.bursts() if b.start_s > second + REACT_S], r.bursts()
        new_at = r.now_s()
        r.inject(lambda wall, t: Numerics("replay", wall, t, (("hr", 20.0),)))
        r.wait_burst_after(new_at, 3000)
        assert r.window.audio_label.text().startswith("AUDIO PAUSED")  # heard in the pause
        new = r.wait_burst_after(new_at, 5000, complete=True)
        assert new.start_s - new_at <= 1.0 and len(new.pulses) == 10, (new_at, new)
        hr = [a for a in r.patient_alarms() if a.vital == "hr"]
        assert hr and hr[0].priority is Priority.HIGH, hr
        print(f"pause: new condition heard {new.start_s - new_at:.2f} s after it began")
        print(f"pause: P pressed {pressed - ended:.2f} s after the last burst ended; sound "
              f"back {back.start_s - pressed:.2f} s after P (pause {PAUSE_S:g} s)")


def test_a_technical_alarm_after_the_acknowledgement_sounds_and_the_reminder_comes(
        qtbot, tmp_path: Path, pulse_server: PulseServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Acknowledging silences the conditions present (clinical.md §1.5): a technical one that
    starts after it, a storage failure (MEDIUM, Vigil's own), sounds its MEDIUM bursts while
    the acknowledged SpO2 alarm stays silent; and the acknowledged alarm, still present, sounds
    again after the preset's reminder time (shortened here; 3 min in the product)."""
    with room(qtbot, tmp_path, pulse_server, monkeypatch, reminder_s=REMINDER_S) as r:
        r.wait_burst_after(-1.0, 15_000, complete=True)
        pressed = r.press(Qt.Key.Key_A)
        qtbot.waitUntil(lambda: _spo2_alarm(r).acknowledged, timeout=3000)
        # past the end of any burst playing at the key, and far enough from it that the next
        # sound is a burst of its own (tests/alarm_sound.py BURST_GAP_S)
        r.wait_recorded(pressed + REACT_S + HIGH_BURST_S + BURST_GAP_S, 8000)
        fault_at = r.now_s()
        engine = r.session.recorder.alarms  # as the store writer reports a failed write
        r.session.recorder.runtime.call_soon(
            lambda: engine.storage_failed(OSError(28, "No space left on device")))
        heard = r.wait_burst_after(fault_at, 8000, complete=True)
        assert heard.start_s - fault_at <= 1.0, (fault_at, heard)
        # MEDIUM's burst: 3 pulses at 523 Hz, not the acknowledged HIGH alarm's 10 at 660 Hz
        assert len(heard.pulses) == 3, heard
        assert abs(heard.fundamental_hz - PATTERNS[Priority.MEDIUM].fundamental_hz) < 20, heard
        snap = r.window.snapshot
        assert snap is not None and snap.sounding is Priority.MEDIUM
        [fault] = [a for a in snap.alarms if a.kind is AlarmKind.TECHNICAL
                   and a.condition.startswith("storage failure")]
        assert fault.priority is Priority.MEDIUM and not fault.acknowledged
        spo2 = _spo2_alarm(r)  # still there, still silent
        assert spo2.state is AlarmState.ACTIVE and spo2.acknowledged
        # The reminder: the HIGH alarm sounds again REMINDER_S after the acknowledgement
        # (the engine stamps the key with its last sample: up to 0.5 s before it).
        reminded = r.wait_burst_after(heard.end_s, round((REMINDER_S + 3) * 1000),
                                      complete=True)
        assert REMINDER_S - 0.8 <= reminded.start_s - pressed <= REMINDER_S + 1.0, \
            (pressed, reminded)
        assert len(reminded.pulses) == 10, reminded
        assert not _spo2_alarm(r).acknowledged
        print(f"technical: heard {heard.start_s - fault_at:.2f} s after it began; reminder "
              f"{reminded.start_s - pressed:.2f} s after A (reminder {REMINDER_S:g} s)")
