"""Fakes with the real interfaces, and a dashboard wired as the app wires it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import numpy as np
from PySide6.QtCore import QSettings

from alarms.model import (
    AlarmEvent,
    AlarmEventKind,
    AlarmKind,
    AlarmSnapshot,
    AlarmState,
    AlarmStatus,
    Priority,
)
from alarms.presets import PRESETS
from devices.sim.model import PLETH_HZ, PatientModel
from devices.sim.scenarios import SCENARIOS, SimSettings
from monitor.buffers import PlethRing, SessionTrends
from monitor.live import LiveState
from monitor.messages import Message, Numerics, TimelineMark, Waveform
from monitor.runtime import IoThread
from tests.helpers.qt import to_array
from ui.bridge import AlarmControl, AlarmRelay, Bridge
from ui.dashboard import DashboardSources, DashboardWindow
from ui.sources import Limits

AUDIO_PAUSE_S = 120.0


class FakeClock:
    """Session seconds that a test sets; thread-safe enough for float reads."""

    def __init__(self, t: float = 0.0, wall0: float = 1_700_000_000.0) -> None:
        self.t = t
        self.wall0 = wall0

    def now(self) -> float:
        return self.t

    def wall(self, t_s: float | None = None) -> float:
        return self.wall0 + (self.t if t_s is None else t_s)


class FakeMonotonic:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


AUDIO_RULE = PRESETS["iv-ketamine"].system_rule("audio-unavailable")
assert AUDIO_RULE is not None


class FakeAlarmSource:
    """The alarm engine's interface: state the test sets, commands it records (and on which
    thread they ran). Unacknowledged alarms sound unless audio is paused or unavailable.

    Like the engine, it tells its listeners each change as an `AlarmEvent`: when a snapshot
    is taken, an alarm newly ACTIVE starts, one no longer ACTIVE ends (at the clock's time),
    and one that went up a priority says so."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.alarms: list[AlarmStatus] = []
        self._listeners: list = []
        self._told: dict[str, AlarmStatus] = {}  # the ACTIVE alarms the listeners know of
        self.paused_until: float | None = None
        self.audio_available = True
        self.calls: list[tuple[str, str]] = []  # (command, thread name)
        self.limits: dict[str, Limits] = {"hr": (50, 120), "spo2": (90, None),
                                          "sbp": (90, 180), "dbp": (None, 110), "rr": (8, 30)}

    def snapshot(self) -> AlarmSnapshot:
        alarms = list(self.alarms)
        if not self.audio_available:
            # The text the engine's own rule gives (alarms/presets.py), not one of our own.
            alarms.append(technical_alarm("audio-unavailable", Priority.MEDIUM,
                                          f"** {AUDIO_RULE.condition}"))
        alarms.sort(key=lambda a: -a.priority)
        self._tell(alarms)
        paused = self.paused_until is not None and self.paused_until > self.clock.now()
        loud = [a.priority for a in alarms if not a.acknowledged]
        sounding = max(loud) if loud and not paused and self.audio_available else None
        return AlarmSnapshot(self.clock.now(), tuple(alarms),
                             self.paused_until if paused else None, self.audio_available,
                             sounding)

    def add_listener(self, listener) -> None:
        self._listeners.append(listener)

    def _tell(self, alarms: list[AlarmStatus]) -> None:
        t = self.clock.now()
        active = {a.key: a for a in alarms if a.state is AlarmState.ACTIVE}
        events = []
        for key, was in list(self._told.items()):
            if key not in active:
                events.append(AlarmEvent(t, self.clock.wall(t), AlarmEventKind.END,
                                         replace(was, state=AlarmState.ENDED)))
                del self._told[key]
        for key, a in active.items():
            was = self._told.get(key)
            if was is None:
                events.append(AlarmEvent(a.signal_t_s, self.clock.wall(a.signal_t_s),
                                         AlarmEventKind.START, a))
            elif a.priority > was.priority:
                events.append(AlarmEvent(t, self.clock.wall(t), AlarmEventKind.PRIORITY,
                                         replace(a, onset_t_s=was.onset_t_s)))
            if was is None or a.priority > was.priority:
                self._told[key] = a if was is None else replace(a, onset_t_s=was.onset_t_s)
        for ev in events:
            for listener in self._listeners:
                listener(ev)

    def acknowledge(self, key: str | None = None, user: str = "") -> None:
        self.calls.append(("acknowledge", threading.current_thread().name))
        self.alarms = [replace(a, acknowledged=True) if key in (None, a.key) else a
                       for a in self.alarms]

    def pause_audio(self, user: str = "") -> None:
        self.calls.append(("pause_audio", threading.current_thread().name))
        self.paused_until = self.clock.now() + AUDIO_PAUSE_S

    def set_audio_available(self, available: bool) -> None:
        self.calls.append((f"audio_available={available}", threading.current_thread().name))
        self.audio_available = available

    def limits_for(self, vital: str) -> Limits | None:
        return self.limits.get(vital)


def physiological_alarm(key: str, vital: str, priority: Priority, message: str,
                        onset: float = 0.0) -> AlarmStatus:
    return AlarmStatus(key, AlarmKind.PHYSIOLOGICAL, priority, vital, message, message,
                       AlarmState.ACTIVE, onset, onset, None, None, False)


def technical_alarm(key: str, priority: Priority, message: str,
                    vital: str | None = None, source: str | None = None) -> AlarmStatus:
    return AlarmStatus(key, AlarmKind.TECHNICAL, priority, vital, message, message,
                       AlarmState.ACTIVE, 0.0, 0.0, None, None, False, source=source)


class FakeAudioOutput:
    def __init__(self, available: bool = True) -> None:
        self._available = available
        self.played: list[np.ndarray] = []

    def available(self) -> bool:
        return self._available

    def play(self, pcm: np.ndarray, rate: int) -> None:
        self.played.append(pcm)


@dataclass
class Rig:
    """A dashboard wired like the app, with fakes at the edges; `feed` runs messages through
    the sinks on the real device-io thread."""

    window: DashboardWindow
    clock: FakeClock
    mono: FakeMonotonic
    alarms: FakeAlarmSource
    audio: FakeAudioOutput
    io: IoThread
    relay: AlarmRelay
    live: LiveState
    pleth: PlethRing
    trends: SessionTrends
    bridge: Bridge
    settings_path: Path
    sinks: list = field(default_factory=list)

    def feed(self, *messages: Message) -> None:
        feed_through(self.io, self.sinks, messages)

    def poll_alarms(self) -> None:
        self.io.call(self.relay.poll)

    def close(self) -> None:
        self.window.close()
        self.io.stop()


def feed_through(io: IoThread, sinks: Sequence[Callable[[Message], object]],
                 messages: Iterable[Message],
                 stamp: Callable[[Message], Message] | None = None) -> None:
    """Runs `messages` through `sinks` on the real device-io thread, as the runtime does,
    each first through `stamp` when given (the recorder storing a timeline mark)."""
    def run() -> None:
        for msg in messages:
            stamped = msg if stamp is None else stamp(msg)
            for sink in sinks:
                sink(stamped)
    io.call(run)


def make_rig(tmp_path: Path, audio: FakeAudioOutput | None = None, kiosk: bool = False,
             size: tuple[int, int] = (1920, 1080)) -> Rig:
    clock = FakeClock()
    mono = FakeMonotonic()
    source = FakeAlarmSource(clock)
    audio = audio or FakeAudioOutput()
    io = IoThread().start()
    bridge = Bridge()
    live, pleth, trends = LiveState(), PlethRing(), SessionTrends(hours=1)
    source.add_listener(trends.alarm_event)
    relay = AlarmRelay(source, bridge)
    control = AlarmControl(relay, io)
    sources = DashboardSources(clock.now, clock.wall, live, pleth, trends, bridge, control,
                               source, 300.0)
    settings_path = tmp_path / "settings.ini"
    settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
    window = DashboardWindow(sources, audio, settings, kiosk=kiosk, monotonic=mono)
    window.resize(*size)
    rig = Rig(window, clock, mono, source, audio, io, relay, live, pleth, trends, bridge,
              settings_path)
    rig.sinks = [live, pleth, trends, bridge.sink, relay.sink]
    return rig


R = TypeVar("R")


@contextmanager
def shown(qtbot, rig: R) -> Iterator[R]:
    """A rig (anything with a `window` and a `close()`) shown and started, closed after."""
    qtbot.addWidget(rig.window)
    try:
        rig.window.show()
        qtbot.waitExposed(rig.window)
        rig.window.start()
        yield rig
    finally:
        rig.close()


def shown_rig(qtbot, tmp_path: Path, **kwargs) -> AbstractContextManager[Rig]:
    """A dashboard rig, shown and started, closed and stopped afterwards."""
    return shown(qtbot, make_rig(tmp_path, **kwargs))


def open_window(qtbot, tmp_path: Path, session, audio) -> DashboardWindow:
    """The real window on a `DashboardSession` in this process: recording and showing;
    closing it ends the session."""
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = DashboardWindow(session.sources(), audio, settings)
    qtbot.addWidget(window)
    window.closing.connect(session.stop)
    session.start()
    window.show()
    window.start()
    return window


def session_messages(scenario: str, until_s: float, probe_off_from: float | None = None
                     ) -> list[Message]:
    """A simulated session up to `until_s`: vitals each second, NIBP every 5 min, dose
    marks, and the last 6 s of pleth."""
    settings = SimSettings(SCENARIOS[scenario], seed=3, dose_at_s=600.0)
    model = PatientModel(settings)
    out: list[Message] = [TimelineMark("sim", 0.0, 600.0, "dose_start",
                                       (("route", "iv"), ("infusion_min", 40.0)))]
    for t in range(int(until_s)):
        values = model.numerics(float(t))
        if probe_off_from is not None and t >= probe_off_from:
            values = {k: v for k, v in values.items() if k not in ("spo2", "pr")}
        out.append(Numerics("sim", float(t), float(t), tuple(values.items())))
        if t % 300 == 30:
            out.append(Numerics("sim", float(t), float(t), tuple(model.nibp(float(t)).items())))
    if probe_off_from is None:
        for k in range(60):
            t = until_s - 6 + k * 0.1
            out.append(Waveform("sim", t, t, "pleth", PLETH_HZ, model.pleth(t, 10)))
    return out


def open_rig(qtbot, tmp_path: Path, size: tuple[int, int] = (1920, 1080),
             audio: FakeAudioOutput | None = None) -> Rig:
    r = make_rig(tmp_path, audio=audio, size=size)
    qtbot.addWidget(r.window)
    r.window.show()
    qtbot.waitExposed(r.window)
    r.window.resize(*size)
    return r


def settle(r: Rig, qtbot) -> np.ndarray:
    r.window.start()
    r.window.refresh()
    r.window.pleth.refresh()
    r.window.trend.refresh(force=True)
    r.mono.t = 1000.1  # a lit phase of every flash
    r.window.flash.refresh()
    qtbot.wait(10)
    return to_array(r.window.grab().toImage())
