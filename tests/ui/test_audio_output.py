"""QtAudioOutput on this machine: its availability matches QtMultimedia's device list, and
playing without a device is harmless (offscreen CI has no audio output)."""

from __future__ import annotations

import pytest
from PySide6.QtMultimedia import QMediaDevices

from alarms.model import Priority
from ui.alarm_tones import SAMPLE_RATE, burst_pcm
from ui.audio import QtAudioOutput


@pytest.mark.qt_log_ignore("PulseAudioService", "Couldn't (load|resolve)", "FFmpeg")
def test_qt_output_availability_follows_the_devices(qtbot):
    output = QtAudioOutput()
    has_device = not QMediaDevices.defaultAudioOutput().isNull()
    assert output.available() is has_device
    output.play(burst_pcm(Priority.LOW), SAMPLE_RATE)  # plays, or does nothing without one
    assert output.available() is has_device
