"""The room without its broker: absent or hung, the room records every second as before and
raises the LOW technical condition "central station link down" through its alarm engine."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.central.broker import REPO, Mosquitto, free_port
from tests.central.room import Room

pytestmark = pytest.mark.slow


def test_broker_down_raises_link_down_and_the_room_records(mosquitto: Mosquitto,
                                                           tmp_path: Path) -> None:
    nobody = f"mqtts://127.0.0.1:{free_port()}"  # nothing listens there
    room = Room(mosquitto, tmp_path, "room-4", "sim", speed=10, duration=120, url=nobody)
    room.wait_output("central station link down", where="stdout")  # --live prints alarms
    assert room.proc.wait(60) == 0, room.stderr()
    out = subprocess.run([sys.executable, str(REPO / "main.py"), "export", "--db",
                          str(room.db), "--format", "alarms", "--out", "-"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    link = [line for line in out.splitlines() if "central station link down" in line]
    assert len(link) == 1 and "LOW" in link[0].upper(), out
    status, count = room.query("SELECT status, (SELECT COUNT(*) FROM samples WHERE "
                               "vital = 'hr') FROM sessions")[0]
    assert status == "completed" and count >= 115  # 120 s of HR at 1 Hz, as without a broker
    assert room.longest_gap() <= 2.0


def test_a_broker_that_never_answers_does_not_slow_the_room(mosquitto: Mosquitto,
                                                            tmp_path: Path) -> None:
    """A listener that takes the connection and then says nothing (a hung broker): the
    connect times out on the side, the room records every second as before."""
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)  # never accepted, never answered
        url = f"mqtts://127.0.0.1:{hung.getsockname()[1]}"
        room = Room(mosquitto, tmp_path, "room-2", "sim", speed=10, duration=100, url=url)
        assert room.proc.wait(60) == 0, room.stderr()
    assert "central station link down" in room.stdout()
    assert room.query("SELECT COUNT(*) FROM samples WHERE vital = 'hr'")[0][0] >= 95
    assert room.longest_gap() <= 2.0
