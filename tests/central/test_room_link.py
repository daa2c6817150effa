"""A broker restarted mid-session loses no alarm; a wrong password or options that cannot be
used are refused, and say so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.central.broker import REPO, Mosquitto, free_port, subscriber
from tests.central.room import Room, poll, validate

pytestmark = pytest.mark.slow


def _active_keys(room: Room) -> set[str]:
    """The alarm conditions the room's own alarm log says are present (none latched here)."""
    rows = room.query("SELECT key, event FROM alarm_log WHERE key IS NOT NULL "
                      "AND event NOT IN ('limit_change') ORDER BY rowid")
    last: dict[str, str] = {}
    for key, event in rows:
        last[str(key)] = str(event)
    return {k for k, e in last.items() if e not in ("end", "session_end")}


def test_a_room_with_a_wrong_password_is_refused_and_says_so(mosquitto: Mosquitto,
                                                             tmp_path: Path) -> None:
    with subscriber(mosquitto, "vigil/#") as board:
        room = Room(mosquitto, tmp_path, "room-3", "sim", speed=10, duration=40,
                    password="not-the-password")
        assert room.proc.wait(60) == 0, room.stderr()
        # A marker: once the board has it, anything the room got through would be there.
        marker = mosquitto.client("room-3")
        marker.loop_start()
        marker.publish("vigil/room-3/numerics", b"marker", qos=1).wait_for_publish(5)
        marker.disconnect()
        marker.loop_stop()
        board.wait_for(lambda m: m.payload == b"marker")
    assert [m.payload for m in board.messages] == [b"marker"]
    assert "central station link down" in room.stdout()
    assert "link down (" in room.stderr() and "authori" in room.stderr().lower()
    assert "not-the-password" not in room.stderr() + room.stdout()


def test_a_broker_restarted_mid_session_loses_no_alarm(mosquitto: Mosquitto,
                                                       tmp_path: Path) -> None:
    # RR falls from 30 s into the session (dose 90 s before it starts; 4x): the RR alarm starts
    # while the broker is down.
    room = Room(mosquitto, tmp_path, "room-1", "sim:desaturation?dose=-90", speed=4)
    try:
        with subscriber(mosquitto, "vigil/room-1/#") as board:
            board.wait_for(lambda m: m.topic == "vigil/room-1/status"
                           and json.loads(m.payload)["online"], 20)
            before = board.wait_for(lambda m: m.topic == "vigil/room-1/alarms", 10)
            assert not any(a["kind"] == "physiological"
                           for a in json.loads(before.payload)["alarms"])
        mosquitto.stop()
        room.wait_output("link down")
        poll(lambda: any(k.startswith("rr") for k in _active_keys(room)), 60,
             "the RR alarm starts while the broker is down")
        mosquitto.start()
        room.wait_output("connected", timeout=15)
        with subscriber(mosquitto, "vigil/room-1/alarms") as board:
            def settled() -> bool:
                latest = board.on("vigil/room-1/alarms")
                if not latest:
                    return False
                ids = {a["id"] for a in json.loads(latest[-1].payload)["alarms"]}
                return ids == _active_keys(room)
            poll(settled, 15, "the retained alarm set equals the room's alarm log")
            latest = board.on("vigil/room-1/alarms")[-1]
            alarms = validate(latest)["alarms"]
            assert isinstance(alarms, list)
            assert latest.retain or len(board.on("vigil/room-1/alarms")) > 1
            assert any(a["id"].startswith("rr") for a in alarms)
            assert not any("central station" in a["text"] for a in alarms)  # link is back
    finally:
        room.stop()
    # The room recorded through the outage with nothing lost, and logged the link's loss.
    assert room.longest_gap() <= 2.0
    assert room.query("SELECT COUNT(*) FROM alarm_log WHERE key = 'central-link:vigil' "
                      "AND event = 'start'")[0][0] == 1


@pytest.mark.parametrize(("broker", "extra", "says"), [
    ("mqtt://192.0.2.10:1883", (), "not this computer"),
    ("mqtts://127.0.0.1:8883", ("--broker-password-file", "/nonexistent/pw"), "cannot read"),
    ("ftp://127.0.0.1:1", (), "mqtt:// or mqtts://"),
])
def test_bad_broker_options_exit_2_before_recording(tmp_path: Path, broker: str,
                                                    extra: tuple[str, ...], says: str) -> None:
    db = tmp_path / "v.db"
    run = subprocess.run([sys.executable, str(REPO / "main.py"), "record", "--device", "sim",
                          "--duration", "5", "--db", str(db), "--room", "room-1", "--broker",
                          broker, *extra], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "VIGIL_MQTT_PASSWORD": "pw"})
    assert run.returncode == 2 and says in run.stderr, run.stderr
    assert not db.exists()  # nothing recorded with options that cannot be used


def test_insecure_allows_plain_mqtt_to_another_host(tmp_path: Path) -> None:
    """--insecure lets the room start (the unreachable broker is then a link down)."""
    db = tmp_path / "v.db"
    run = subprocess.run([sys.executable, str(REPO / "main.py"), "record", "--device", "sim",
                          "--duration", "20", "--speed", "10", "--db", str(db), "--room",
                          "room-1", "--broker", f"mqtt://127.0.0.2:{free_port()}",
                          "--insecure", "--live"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "central station link down" in run.stdout
