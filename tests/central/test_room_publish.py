"""A room publishes to a real Mosquitto (TLS, password file, ACL): status, numerics, alarm
transitions, stale values as null, acknowledgements from the board, and a clean close."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.central.broker import Mosquitto, subscriber
from tests.central.room import Room, poll, validate

pytestmark = pytest.mark.slow


def test_a_room_publishes_what_it_shows_and_takes_a_remote_ack(mosquitto: Mosquitto,
                                                               tmp_path: Path) -> None:
    with subscriber(mosquitto, "vigil/room-1/#") as board:
        room = Room(mosquitto, tmp_path, "room-1", "sim:desaturation?dose=0", speed=20,
                    extra=("--allow-remote-ack",))
        try:
            online = board.wait_for(lambda m: m.topic == "vigil/room-1/status"
                                    and json.loads(m.payload)["online"], 20)
            status = validate(online)
            session = status["session"]
            assert isinstance(session, dict)
            assert session["patient"] is None  # the default: no patient identifier leaves
            assert session["preset"] == "iv-ketamine" and not session["discharged"]
            assert status["devices"] == [{"name": "sim", "status": "streaming"}] or \
                status["devices"] == [{"name": "sim", "status": "connecting"}]
            live = board.wait_for(lambda m: m.topic == "vigil/room-1/numerics" and any(
                v["vital"] == "hr" and v["state"] == "live" and v["value"] is not None
                for v in json.loads(m.payload)["values"]), 10)
            hr = next(v for v in validate(live)["values"]  # type: ignore[attr-defined]
                      if v["vital"] == "hr")
            assert 40 < hr["value"] < 140 and abs(hr["t"] - time.time()) < 60
            # The desaturation: a physiological alarm reaches the board, then its ack.
            alarm_msg = board.wait_for(lambda m: m.topic == "vigil/room-1/alarms" and any(
                a["kind"] == "physiological" for a in json.loads(m.payload)["alarms"]), 30)
            alarm = next(a for a in validate(alarm_msg)["alarms"]  # type: ignore[attr-defined]
                         if a["kind"] == "physiological")
            assert alarm["priority"] in ("HIGH", "MEDIUM", "LOW") and not alarm["acknowledged"]
            ack_client = mosquitto.client("board")
            ack_client.loop_start()
            try:
                ack_client.publish("vigil/room-1/ack", json.dumps(
                    {"v": 1, "alarm_id": alarm["id"], "user": "nurse-a",
                     "t": time.time()}).encode(), qos=1).wait_for_publish(5)
            finally:
                ack_client.disconnect()
                ack_client.loop_stop()
            board.wait_for(lambda m: m.topic == "vigil/room-1/alarms" and any(
                a["id"] == alarm["id"] and a["acknowledged"]
                for a in json.loads(m.payload)["alarms"]), 10)
            poll(lambda: room.query(
                "SELECT user FROM alarm_log WHERE event = 'acknowledge' AND key = ?",
                (alarm["id"],)) == [("nurse-a (central station)",)], 10,
                 "the acknowledgement in the room's alarm log with the board's user")
            assert "acknowledged from the central station by nurse-a" in room.stderr()
        finally:
            code = room.stop()
        closed = board.wait_for(lambda m: m.topic == "vigil/room-1/status"
                                and not json.loads(m.payload)["online"], 10)
        assert validate(closed)["reason"] == "closed", code
    # Every payload on the wire matched its schema, and the alarm set's seq only rose.
    seqs = []
    for m in board.messages:
        d = validate(m)
        if m.topic.endswith("/alarms"):
            seqs.append(d["seq"])
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and len(seqs) >= 2
    assert room.password not in room.stderr() + room.stdout()


def test_stale_values_are_published_as_stale_with_no_number(mosquitto: Mosquitto,
                                                            tmp_path: Path) -> None:
    with subscriber(mosquitto, "vigil/room-2/numerics") as board:
        room = Room(mosquitto, tmp_path, "room-2", "sim:device-dropout?dose=0", speed=10)
        try:
            board.wait_for(lambda m: any(v["vital"] == "spo2" and v["state"] == "live"
                                         for v in json.loads(m.payload)["values"]), 20)
            stale = board.wait_for(lambda m: any(
                v["vital"] == "spo2" and v["state"] == "stale"
                for v in json.loads(m.payload)["values"]), 30)
        finally:
            room.stop()
    spo2 = next(v for v in validate(stale)["values"]  # type: ignore[attr-defined]
                if v["vital"] == "spo2")
    assert spo2["value"] is None and spo2["t"] is not None  # the time of the last good value
    assert spo2["t"] < json.loads(stale.payload)["t"]


def test_a_room_killed_goes_offline_by_its_last_will(mosquitto: Mosquitto,
                                                     tmp_path: Path) -> None:
    with subscriber(mosquitto, "vigil/room-3/status") as board:
        room = Room(mosquitto, tmp_path, "room-3", "sim", password_file=True)
        try:
            board.wait_for(lambda m: json.loads(m.payload)["online"], 20)
            cmdline = Path(f"/proc/{room.proc.pid}/cmdline").read_bytes()
            assert room.password.encode() not in cmdline
            # Without --allow-remote-ack an acknowledgement is dropped with one line; garbage
            # on the ack topic is dropped too, and the room goes on.
            board_client = mosquitto.client("board")
            board_client.loop_start()
            try:
                for payload in (b"\xff garbage", json.dumps(
                        {"v": 1, "alarm_id": "rr-low", "user": "nurse-b",
                         "t": time.time()}).encode()):
                    board_client.publish("vigil/room-3/ack", payload, qos=1
                                         ).wait_for_publish(5)
            finally:
                board_client.disconnect()
                board_client.loop_stop()
            room.wait_output("acknowledgement of rr-low by nurse-b dropped", 10)
            assert room.stderr().count("dropped") == 2, room.stderr()
            assert "vigil/room-3/ack: not JSON" in room.stderr()
            assert room.query("SELECT COUNT(*) FROM alarm_log WHERE event = 'acknowledge'"
                              ) == [(0,)]
            assert room.proc.poll() is None
            room.kill()  # SIGKILL: no clean disconnect, the broker sends the will
            killed = time.time()
            will = board.wait_for(lambda m: not json.loads(m.payload)["online"], 5)
        finally:
            room.kill()
    assert will.t - killed < 5
    assert validate(will)["reason"] == "connection lost"
    with subscriber(mosquitto, "vigil/room-3/status") as late:  # a board that starts later
        kept = late.wait_for(lambda m: True, 5)
    assert kept.retain and kept.payload == will.payload
    assert room.password not in room.stderr() + room.stdout()
