"""The room without its broker: absent or hung, the room records every second as before and
raises the LOW technical condition "central station link down" through its alarm engine."""

from __future__ import annotations

import os
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
    room = Room(mosquitto, tmp_path, "room-4", "sim", speed=20, duration=120, url=nobody)
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
        room = Room(mosquitto, tmp_path, "room-2", "sim", speed=20, duration=140, url=url)
        assert room.proc.wait(60) == 0, room.stderr()
    assert "central station link down" in room.stdout()
    assert room.query("SELECT COUNT(*) FROM samples WHERE vital = 'hr'")[0][0] >= 135
    assert room.longest_gap() <= 2.0


def test_without_its_broker_the_room_alarms_exactly_as_before(tmp_path: Path) -> None:
    """The same simulated desaturation at --speed max, without --room and with a broker that
    is not there: the same alarm episodes at the same session times, plus the link's."""
    def alarms(name: str, *room: str) -> list[list[str]]:
        db = tmp_path / f"{name}.db"
        subprocess.run([sys.executable, str(REPO / "main.py"), "record", "--device",
                        "sim:desaturation?dose=0", "--speed", "max", "--duration", "900",
                        "--db", str(db), *room], check=True, capture_output=True, timeout=120,
                       env={**os.environ, "VIGIL_MQTT_PASSWORD": "unused"})
        out = subprocess.run([sys.executable, str(REPO / "main.py"), "export", "--db", str(db),
                              "--format", "alarms", "--out", "-"], check=True,
                             capture_output=True, text=True, timeout=60).stdout
        return [row.split(",")[2:] for row in out.splitlines()[1:]]  # session times onward

    alone = alarms("alone")
    linked = alarms("linked", "--room", "room-1", "--broker", f"mqtt://127.0.0.1:{free_port()}")
    assert [r[4] for r in alone] == ["RR LOW", "SpO2 LOW"]
    link = [r for r in linked if r[4] == "central station link down"]
    assert len(link) == 1 and link[0][3:6] == ["technical", "central station link down", "low"]
    assert [r for r in linked if r not in link] == alone
