"""The board sounds what the site lets it: a room's HIGH alarm, then (acknowledged in the
room) the board's own MEDIUM "room offline", through the real PulseAudio output into a private
server's null sink, recorded and measured (IEC 60601-1-8 bursts, as on the room screen)."""

from __future__ import annotations

import time

import pytest

from alarms.model import Priority
from monitor.central.board_model import BoardModel
from tests.alarm_sound import find_bursts
from tests.central.board_payloads import T0, alarm, alarms, numerics, received, status
from ui.alarm_tones import SAMPLE_RATE
from ui.audio import AlarmAudio
from ui.board.bridge import BoardBridge
from ui.board.window import BoardWindow
from ui.pulse_output import pulse_output


def test_the_board_sounds_high_then_a_room_offline(qtbot, pulse_server, monkeypatch):
    for key, value in pulse_server.env.items():
        monkeypatch.setenv(key, value)
    output = pulse_output(SAMPLE_RATE)
    if output is None:
        pytest.skip("needs libpulse-simple (Debian: libpulse0)")
    rec = pulse_server.record()
    now = [T0]
    bridge = BoardBridge()
    window = BoardWindow(BoardModel(), bridge, now=lambda: now[0], audio=AlarmAudio(output))
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(output.available, timeout=5_000)
        bridge.sink(received("status", status("room-1", T0), T0))
        bridge.sink(received("numerics", numerics("room-1", T0), T0))
        bridge.sink(received("alarms", alarms("room-1", T0, 1, alarm(
            "spo2-critical", "SpO2 LOW 84", "HIGH")), T0))
        qtbot.waitUntil(lambda: len(find_bursts(rec.samples(), rec.rate)) >= 1,
                        timeout=15_000)
        high = find_bursts(rec.samples(), rec.rate)[0]
        assert len(high.pulses) == 10 and abs(high.fundamental_hz - 660) < 15
        # Acknowledged in the room; then the room goes quiet: the board's MEDIUM alarm.
        bridge.sink(received("alarms", alarms("room-1", T0 + 1, 2, alarm(
            "spo2-critical", "SpO2 LOW 84", "HIGH", acknowledged=True)), T0 + 1))
        now[0] = T0 + 5
        window.redraw()
        assert window.audio.sounding is Priority.MEDIUM
        start = time.monotonic()
        qtbot.waitUntil(lambda: any(len(b.pulses) == 3 for b in
                                    find_bursts(rec.samples(), rec.rate)), timeout=15_000)
        medium = next(b for b in find_bursts(rec.samples(), rec.rate) if len(b.pulses) == 3)
        assert abs(medium.fundamental_hz - 523) < 15 and medium.start_s > high.end_s
        assert time.monotonic() - start < 10  # within the HIGH rhythm's next slot
    finally:
        window.audio.stop()
        output.close()
        rec.stop()
