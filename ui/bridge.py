"""Where Qt meets the core: device-thread events become queued signals on the GUI thread.

`Bridge` is created on the GUI thread; its class-level signals are emitted from the
device-io thread (runtime sinks and tickers), so Qt delivers them queued to GUI slots.
Only immutable messages cross: `Message`s from monitor.messages and `AlarmSnapshot`s.
Waveforms never cross: the display pulls them from monitor.buffers at its own rate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from alarms.model import AlarmSnapshot
from monitor.messages import (
    Battery,
    DeviceCondition,
    DeviceStatus,
    Message,
    Numerics,
    TimelineMark,
    Waveform,
)
from monitor.runtime import IoThread
from ui.sources import AlarmSource

log = logging.getLogger(__name__)


class Bridge(QObject):
    numericsArrived = Signal(object)  # Numerics
    deviceChanged = Signal(object)  # DeviceStatus | DeviceCondition | Battery
    timelineMarked = Signal(object)  # TimelineMark
    alarmsChanged = Signal(object)  # AlarmSnapshot

    def sink(self, msg: Message) -> None:
        """A runtime sink (device-io thread): forwards the low-rate messages."""
        if isinstance(msg, Waveform):
            return
        if isinstance(msg, Numerics):
            self.numericsArrived.emit(msg)
        elif isinstance(msg, DeviceStatus | DeviceCondition | Battery):
            self.deviceChanged.emit(msg)
        elif isinstance(msg, TimelineMark):
            self.timelineMarked.emit(msg)


def _snapshot_key(s: AlarmSnapshot) -> tuple[object, ...]:
    return (s.alarms, s.audio_paused_until_s, s.audio_available, s.sounding)


class AlarmRelay:
    """Runs on the device-io thread after the alarm engine: re-reads its snapshot after each
    message and on a ticker, and emits it when it changed (never per sample otherwise).
    The trend's alarm episodes do not come from here: the trend buffers listen to the
    engine's events (`SessionTrends.alarm_event`), as the store does."""

    def __init__(self, source: AlarmSource, bridge: Bridge) -> None:
        self.source = source
        self.bridge = bridge
        self._last: tuple[object, ...] | None = None

    def sink(self, msg: Message) -> None:
        if not isinstance(msg, Waveform):
            self.poll()

    def tick(self, _t_s: float) -> None:
        self.poll()

    def poll(self) -> None:
        snap = self.source.snapshot()
        key = _snapshot_key(snap)
        if key == self._last:
            return
        self._last = key
        self.bridge.alarmsChanged.emit(snap)


class AlarmControl:
    """The GUI's handle on the alarm source: each command is posted to the device-io thread
    (never blocking the GUI), then the relay re-reads the snapshot so the display follows."""

    def __init__(self, relay: AlarmRelay, io: IoThread) -> None:
        self._relay = relay
        self._io = io

    def _post(self, fn: Callable[[], object]) -> None:
        def run() -> None:
            try:
                fn()
            finally:
                self._relay.poll()
        if self._io.loop.is_closed():
            log.warning("alarm command dropped: the device thread has stopped")
            return
        self._io.loop.call_soon_threadsafe(run)

    def acknowledge(self, key: str | None = None, user: str = "") -> None:
        self._post(lambda: self._relay.source.acknowledge(key, user))

    def pause_audio(self, user: str = "") -> None:
        self._post(lambda: self._relay.source.pause_audio(user))

    def set_audio_available(self, available: bool) -> None:
        self._post(lambda: self._relay.source.set_audio_available(available))

    def refresh(self) -> None:
        self._post(lambda: None)

    def set_limit(self, rule_id: str, value: float, user: str = "") -> None:
        """A limit change (ui.limits_dialog), applied and logged by the engine."""
        # Only the engine has set_limit (no AlarmSource need); the limits dialog that calls
        # this is offered only for a source with limit rules (ui/app.py).
        self._post(lambda: self._relay.source.set_limit(  # type: ignore[attr-defined]
            rule_id, value, user))
