"""Alarm sounds: the bursts of ui.alarm_tones played on time.

The output is injectable (`AudioOutput`): the app uses `default_output()`, the PulseAudio
output of ui.pulse_output (the sound server, probed and reconnected), or `QtAudioOutput` (a
QAudioSink on the default device) where libpulse is not installed; tests use a recording fake.
With no output the dashboard tells the alarm source, which raises the "alarms are visual only"
technical alarm; it clears when the output is back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QTimer, Signal
from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices

from alarms.model import Priority
from ui.alarm_tones import SAMPLE_RATE, BurstScheduler, burst_pcm
from ui.pulse_output import pulse_output

log = logging.getLogger(__name__)

TICK_MS = 50  # how often the scheduler is asked; a burst starts within this of its due time
RETRY_MS = 2000  # after a failed burst, QtAudioOutput tries the device again this much later


class AudioOutput(Protocol):
    def available(self) -> bool: ...

    def play(self, pcm: np.ndarray, rate: int) -> None: ...


class QtAudioOutput(QObject):
    """Plays int16 mono PCM on the default output device through a QAudioSink (the fallback
    where libpulse is not installed; see ui.pulse_output for why it is not the first choice).
    A failed burst makes it unavailable for RETRY_MS, then the next burst tries a new sink."""

    availabilityChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._devices = QMediaDevices(self)
        self._devices.audioOutputsChanged.connect(self._on_outputs_changed)
        self._sink: QAudioSink | None = None
        self._buffer: QBuffer | None = None
        self._failed = False
        self._retry = QTimer(self)
        self._retry.setSingleShot(True)
        self._retry.setInterval(RETRY_MS)
        self._retry.timeout.connect(self._on_outputs_changed)
        self._was_available = self.available()

    def available(self) -> bool:
        return not self._failed and not QMediaDevices.defaultAudioOutput().isNull()

    def _on_outputs_changed(self) -> None:
        self._failed = False
        self._sink = None
        now = self.available()
        if now != self._was_available:
            self._was_available = now
            self.availabilityChanged.emit(now)

    def play(self, pcm: np.ndarray, rate: int) -> None:
        if not self.available():
            return
        if self._sink is None:
            fmt = QAudioFormat()
            fmt.setSampleRate(rate)
            fmt.setChannelCount(1)
            fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
            self._sink = QAudioSink(QMediaDevices.defaultAudioOutput(), fmt, self)
            self._sink.stateChanged.connect(lambda _state: self._check_sink())
        self._sink.stop()
        buffer = QBuffer(self)
        buffer.setData(QByteArray(pcm.astype(np.int16).tobytes()))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        if self._buffer is not None:
            self._buffer.deleteLater()
        self._buffer = buffer
        self._sink.start(buffer)

    def _check_sink(self) -> None:
        if self._sink is None:
            return
        err = self._sink.error()
        # PySide6 >= 6.7 returns QtAudio.Error here, which never equals QAudio.Error: compare
        # with the members of the type the call returned.
        if err not in (type(err).NoError, type(err).UnderrunError):
            log.error("alarm audio failed: %s", err)
            self._failed = True
            self._was_available = False
            self.availabilityChanged.emit(False)
            self._retry.start()


def default_output() -> AudioOutput:
    """The sound server through libpulse where it is installed, else QtMultimedia."""
    return pulse_output(SAMPLE_RATE) or QtAudioOutput()


class AlarmAudio(QObject):
    """Sounds the priority the alarm source says should sound, with the standard's bursts."""

    burstStarted = Signal(object)  # Priority

    def __init__(self, output: AudioOutput, now: Callable[[], float] = time.monotonic,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.output = output
        self._now = now
        self._scheduler = BurstScheduler()
        self._sounding: Priority | None = None
        self._pcm = {p: burst_pcm(p) for p in Priority}
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.tick)

    @property
    def sounding(self) -> Priority | None:
        return self._sounding

    def set_sounding(self, priority: Priority | None) -> None:
        self._sounding = priority
        self.tick()
        if priority is None:
            self._timer.stop()
        elif not self._timer.isActive():
            self._timer.start()

    def tick(self) -> None:
        start = self._scheduler.update(self._sounding, self._now())
        if start is not None:
            self.output.play(self._pcm[start], SAMPLE_RATE)
            self.burstStarted.emit(start)

    def stop(self) -> None:
        self._timer.stop()
        self._sounding = None
