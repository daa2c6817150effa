"""The board end to end on a real Mosquitto (TLS, passwords, the shipped ACL): payloads a
room publishes reach the painted board; a room killed with kill -9 is "room offline" within
5 s (by the last will alone, and by the board's own clock); garbage leaves the board running;
a remote acknowledgement goes to the room's ack topic."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pytest
from PySide6.QtCore import QPoint

from alarms.model import Priority
from monitor.central.board_client import BoardClient
from monitor.central.board_model import BoardModel
from monitor.runtime import IoThread
from tests.central.board_link import board_config_for, publish, room_client
from tests.central.board_payloads import alarm, alarms, numerics, status
from tests.helpers.paths import REPO
from tests.helpers.qt import share_of
from ui.board.bridge import BoardBridge
from ui.board.window import BoardWindow
from ui.theme import ALARM_COLOURS, vital_colour

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@dataclass
class Board:
    window: BoardWindow
    client: BoardClient
    io: IoThread

    def tile_pixels(self, room: str) -> np.ndarray:
        tile = self.window.tiles[room]
        img = self.window.grab().toImage().convertToFormat(self.window.grab().toImage()
                                                           .Format.Format_RGB32)
        arr = np.frombuffer(img.constBits(), np.uint8).reshape(
            img.height(), img.bytesPerLine() // 4, 4)[:, :img.width(), 2::-1].astype(int)
        tl = tile.mapTo(self.window, QPoint(0, 0))
        return arr[tl.y():tl.y() + tile.height(), tl.x():tl.x() + tile.width()]


def painted(qtbot, board: Board, room: str, colour, share: float) -> None:
    """Waits until `share` of the room's tile is `colour`: the board redraws on its 100-ms
    timer, and an alarm colour flashes, so one grab may fall between."""
    qtbot.waitUntil(lambda: share_of(board.tile_pixels(room), colour) > share, timeout=3_000)


@contextmanager
def open_board(qtbot, mosquitto, offline_after_s: float = 3.0) -> Iterator[Board]:
    bridge = BoardBridge()
    window = BoardWindow(BoardModel(offline_after_s), bridge, sound=())
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window)
    io = IoThread().start()
    client = BoardClient(board_config_for(mosquitto), bridge.sink)
    io.submit(client.run())
    try:
        qtbot.waitUntil(lambda: window.model.link is not None and window.model.link.connected,
                        timeout=10_000)
        yield Board(window, client, io)
    finally:
        io.stop()


@pytest.fixture
def board(qtbot, mosquitto) -> Iterator[Board]:
    with open_board(qtbot, mosquitto) as b:
        yield b


def test_a_rooms_payloads_reach_the_painted_board(qtbot, board, mosquitto):
    room = room_client(mosquitto, "room-1")
    try:
        now = time.time()
        publish(room, "vigil/room-1/status", status("room-1", now, dose_start=now - 1920),
                retain=True)
        publish(room, "vigil/room-1/alarms", alarms("room-1", now, 1), retain=True)
        for _ in range(3):
            publish(room, "vigil/room-1/numerics", numerics("room-1", time.time(), hr=88),
                    qos=0)
        qtbot.waitUntil(lambda: "room-1" in board.window.tiles
                        and board.window.tiles["room-1"].view is not None
                        and board.window.tiles["room-1"].view.reading("hr") is not None,
                        timeout=5_000)
        view = board.window.tiles["room-1"].view
        assert view.online and view.phase == "PEAK" and view.reading("hr").value == 88
        painted(qtbot, board, "room-1", vital_colour("hr"), 0.002)
        publish(room, "vigil/room-1/alarms", alarms("room-1", time.time(), 2, alarm(
            "spo2-critical", "SpO2 LOW 84", "HIGH")), retain=True)
        publish(room, "vigil/room-1/numerics", numerics("room-1", time.time()), qos=0)
        qtbot.waitUntil(lambda: board.window.tiles["room-1"].view.worst is not None,
                        timeout=5_000)
        assert board.window.tiles["room-1"].view.worst.priority is Priority.HIGH
        painted(qtbot, board, "room-1", ALARM_COLOURS[Priority.HIGH], 0.01)
    finally:
        room.loop_stop()
        room.disconnect()


def start_room_process(mosquitto, seconds: float = 60) -> subprocess.Popen[str]:
    env = dict(os.environ, VIGIL_MQTT_PASSWORDS=json.dumps(mosquitto.passwords))
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests/central/board_rooms.py"), "--port",
         str(mosquitto.port), "--rooms", "1", "--seconds", str(seconds), "--ca",
         str(mosquitto.ca)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


@pytest.mark.parametrize(("how", "offline_after_s"), [(signal.SIGKILL, 60.0),
                                                    (signal.SIGSTOP, 3.0)],
                         ids=["kill-9", "frozen"])
def test_a_dead_or_frozen_room_is_offline_within_5_s(qtbot, mosquitto, how,
                                                     offline_after_s):
    """kill -9 closes the room's socket: the broker sends its last will at once (the board's
    own clock is switched off here, 60 s, so that only the will can do it). A frozen room
    keeps its socket open and says nothing: the board's 3-s clock (or the will, when the
    2-s keep-alive expires) makes it offline."""
    with open_board(qtbot, mosquitto, offline_after_s) as board:
        proc = start_room_process(mosquitto)
        try:
            qtbot.waitUntil(lambda: "room-1" in board.window.tiles
                            and board.window.tiles["room-1"].view.online, timeout=5_000)
            os.kill(proc.pid, how)
            stopped = time.monotonic()
            qtbot.waitUntil(lambda: not board.window.tiles["room-1"].view.online,
                            timeout=5_000)
            assert time.monotonic() - stopped < 5.0
            view = board.window.tiles["room-1"].view
            if how == signal.SIGKILL:
                assert view.offline_reason == "connection lost"
            assert view.worst.board and view.worst.priority is Priority.MEDIUM
            painted(qtbot, board, "room-1", ALARM_COLOURS[Priority.MEDIUM], 0.01)
        finally:
            proc.kill()
            os.kill(proc.pid, signal.SIGCONT) if proc.poll() is None else None
            proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()


def test_garbage_payloads_leave_the_board_running(qtbot, board, mosquitto):
    room3 = room_client(mosquitto, "room-3")
    room4 = room_client(mosquitto, "room-4")
    try:
        good = numerics("room-3", time.time())
        # over 64 KiB: the broker's message_size_limit refuses it, or the board drops it
        publish(room3, "vigil/room-3/numerics", json.dumps(
            {**good, "pad": "x" * 70_000}).encode())
        publish(room3, "vigil/room-3/numerics", b"\x00not json{")
        publish(room3, "vigil/room-3/numerics", {**good, "v": 2})
        publish(room3, "vigil/room-3/alarms", {"v": 1, "room": "room-3"})  # malformed
        publish(room4, "vigil/room-4/numerics", good)  # room-3's payload on room-4's topic
        publish(room3, "vigil/room-3/numerics", numerics("room-3", time.time(), hr=77))
        qtbot.waitUntil(lambda: "room-3" in board.window.tiles
                        and board.window.tiles["room-3"].view.reading("hr") is not None,
                        timeout=5_000)
        assert board.window.tiles["room-3"].view.reading("hr").value == 77
        assert board.client.dropped in (4, 5)  # each garbage payload, none of the good
        assert "room-4" not in board.window.model.names
        assert board.io.running
    finally:
        for c in (room3, room4):
            c.loop_stop()
            c.disconnect()


def test_a_remote_acknowledgement_goes_to_the_rooms_ack_topic(qtbot, board, mosquitto):
    got: list[bytes] = []
    room = room_client(mosquitto, "room-1")
    room.on_message = lambda _c, _u, msg: got.append(msg.payload)
    room.subscribe("vigil/room-1/ack", qos=1)
    try:
        now = time.time()
        publish(room, "vigil/room-1/alarms", alarms("room-1", now, 1, alarm(
            "spo2-critical", "SpO2 LOW 84", "HIGH")), retain=True)
        qtbot.waitUntil(lambda: "room-1" in board.window.model.names, timeout=5_000)
        qtbot.waitUntil(lambda: board.client.acknowledge("room-1", "spo2-critical", "board"),
                        timeout=5_000)
        qtbot.waitUntil(lambda: len(got) == 1, timeout=5_000)
        body = json.loads(got[0])
        assert body["v"] == 1 and body["alarm_id"] == "spo2-critical"
        assert body["user"] == "board" and abs(body["t"] - time.time()) < 5
    finally:
        room.loop_stop()
        room.disconnect()


def test_a_broker_restart_is_shown_and_the_board_comes_back(qtbot, board, mosquitto):
    """The board's own link: broker gone -> BROKER LINK DOWN (MEDIUM) and every room offline;
    broker back -> the board reconnects by itself, gets the retained state, and the room is
    live again once it publishes."""
    room = room_client(mosquitto, "room-1")
    now = time.time()
    publish(room, "vigil/room-1/status", status("room-1", now), retain=True)
    publish(room, "vigil/room-1/numerics", numerics("room-1", now))
    qtbot.waitUntil(lambda: "room-1" in board.window.tiles
                    and board.window.tiles["room-1"].view.online, timeout=5_000)
    room.loop_stop()
    room.disconnect()
    mosquitto.stop()
    qtbot.waitUntil(lambda: not board.window.model.link.connected, timeout=5_000)
    qtbot.waitUntil(lambda: not board.window.tiles["room-1"].view.online, timeout=5_000)
    assert board.window.model.sounding(time.time(), (Priority.MEDIUM,)) is Priority.MEDIUM
    assert board.window.link_label.text().startswith("** BROKER LINK DOWN")
    mosquitto.start()
    qtbot.waitUntil(lambda: board.window.model.link.connected, timeout=15_000)
    qtbot.waitUntil(lambda: board.window.link_label.text() == "", timeout=1_000)
    room = room_client(mosquitto, "room-1")
    try:
        publish(room, "vigil/room-1/numerics", numerics("room-1", time.time(), hr=66))
        qtbot.waitUntil(lambda: board.window.tiles["room-1"].view.online
                        and board.window.tiles["room-1"].view.reading("hr").value == 66,
                        timeout=5_000)
    finally:
        room.loop_stop()
        room.disconnect()
