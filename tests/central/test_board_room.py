"""The board with a real room (`main.py record --room ... --broker ...`): the room's alarm
reaches the painted board; an acknowledgement from the board is applied by a room that runs
with --allow-remote-ack (the board says so only once the room's alarm set shows it, and the
room's alarm log names the board's user); a room without it leaves the alarm as it was and
the board says the acknowledgement was not applied."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from alarms.model import AlarmKind
from monitor.central.board_client import BoardClient
from monitor.central.board_model import ACK_WAIT_S, BoardModel
from monitor.runtime import IoThread
from tests.central.board_link import board_config_for
from tests.central.room import Room, poll
from ui.board.bridge import BoardBridge
from ui.board.window import BoardWindow

pytestmark = [pytest.mark.slow,
              pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")]


@pytest.mark.parametrize("allow", [True, False], ids=["remote-ack-on", "remote-ack-off"])
def test_acknowledging_a_rooms_alarm_from_the_board(qtbot, mosquitto, tmp_path: Path, allow):
    bridge = BoardBridge()
    window = BoardWindow(BoardModel(), bridge, sound=())
    qtbot.addWidget(window)
    window.show()
    io = IoThread().start()
    client = BoardClient(board_config_for(mosquitto), bridge.sink)
    io.submit(client.run())
    window._acknowledge = lambda room, aid: client.acknowledge(room, aid, "board")
    room = Room(mosquitto, tmp_path, "room-2", "sim:desaturation?dose=0", speed=20,
                extra=("--allow-remote-ack",) if allow else ())
    try:
        def patient_alarm():
            if "room-2" not in window.model.names:
                return None
            view = window.model.view("room-2", time.time())
            return next((a for a in view.alarms if a.kind == AlarmKind.PHYSIOLOGICAL), None)

        qtbot.waitUntil(lambda: patient_alarm() is not None, timeout=30_000)
        alarm = patient_alarm()
        assert not alarm.acknowledged
        assert window.model.link is not None and window.model.link.connected
        window.acknowledge("room-2", alarm)
        if allow:
            qtbot.waitUntil(lambda: window.model.view("room-2", time.time()).ack_note
                            .startswith("acknowledged:"), timeout=10_000)
            assert next(a for a in window.model.view("room-2", time.time()).alarms
                        if a.id == alarm.id).acknowledged
            poll(lambda: room.query(
                "SELECT user FROM alarm_log WHERE event = 'acknowledge' AND key = ?",
                (alarm.id,)) == [("board (central station)",)], 10,
                "the acknowledgement in the room's alarm log with the board's user")
        else:
            # not applied; or the desaturation ended first: either way never "acknowledged"
            qtbot.waitUntil(lambda: window.model.view("room-2", time.time()).ack_note
                            .startswith(("acknowledgement not applied", "ended before")),
                            timeout=int((ACK_WAIT_S + 5) * 1000))
            current = [a for a in window.model.view("room-2", time.time()).alarms
                       if a.id == alarm.id]
            assert all(not a.acknowledged for a in current)
            assert room.query("SELECT user FROM alarm_log WHERE event = 'acknowledge'") == []
    finally:
        room.stop()
        io.stop()
