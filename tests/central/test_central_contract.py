"""The central-station contract: payloads round-trip and are refused clearly; broker options;
the broker set-up a clinic ships (TLS, password file, ACL) holds against real clients."""

from __future__ import annotations

import argparse
import json
import os
import stat
import subprocess
from pathlib import Path

import jsonschema
import pytest

from monitor.central import payloads as p
from monitor.central.config import (
    BrokerConfigError,
    add_room_arguments,
    broker_config,
    is_loopback,
    room_config,
)
from tests.central.broker import MAKE_CERTS, Mosquitto, missing, subscriber

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "central"

STATUS = p.Status("room-1", True, 1_764_720_000.5, None, p.SessionInfo(
    7, None, "esketamine-rems", "PEAK", 1_764_719_000.0,
    (p.Due("BP ~40 min", 1_764_721_400.0), p.Due("2-h minimum", 1_764_726_200.0)), False),
    (p.Device("sim", "streaming"),))
NUMERICS = p.Numerics("room-1", 1_764_720_001.0, (
    p.NumericValue("hr", "HR", "bpm", 72.0, 1_764_720_000.9, "live"),
    p.NumericValue("spo2", "SpO2", "%", None, 1_764_719_950.0, "stale"),
    p.NumericValue("rr", "RR", "/min", None, None, "invalid")))
ALARMS = p.AlarmSet("room-1", 1_764_720_002.0, 3, (
    p.Alarm("spo2-low", "spo2", "physiological", "SpO2 LOW 86 < 90", "MEDIUM",
            1_764_719_990.0, False, False),))
ACK = p.Ack("spo2-low", "nurse-a", 1_764_720_003.0)


def _schema_check(kind: str, data: bytes) -> None:
    """Validate against the shipped file itself, not the module's cached copy."""
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(json.loads(data))


@pytest.mark.parametrize(("payload", "kind"), [(STATUS, "status"), (NUMERICS, "numerics"),
                                               (ALARMS, "alarms"), (ACK, "ack")])
def test_payloads_round_trip_and_match_the_shipped_schemas(payload: p.Payload, kind: str
                                                           ) -> None:
    data = p.to_json(payload)
    _schema_check(kind, data)
    assert json.loads(data)["v"] == 1
    assert p.parse(f"vigil/room-1/{kind}", data) == payload


def test_last_will_is_an_offline_status() -> None:
    data = p.to_json(p.last_will("room-2", 1_764_720_000.0))
    assert json.loads(data) == {"v": 1, "room": "room-2", "online": False,
                                "t": 1_764_720_000.0, "reason": "connection lost",
                                "session": None, "devices": []}


@pytest.mark.parametrize(("topic", "data", "says"), [
    ("vigil/room-1/numerics", b"{not json", "not JSON"),
    ("vigil/room-1/numerics", b"[1, 2]", "not an object"),
    ("vigil/room-1/numerics", b'{"v": 2, "room": "room-1", "t": 1, "values": []}',
     "unknown version v=2"),
    ("vigil/room-1/numerics", b'{"v": 1, "room": "room-1", "t": 1}', "'values' is a required"),
    ("vigil/room-1/numerics", b'{"v": 1, "room": "room-2", "t": 1, "values": []}',
     "names room 'room-2'"),
    ("vigil/room-1/numerics", b'{"v": 1, "room": "room-1", "t": NaN, "values": []}',
     "NaN is not a number"),
    ("vigil/room-1/numerics",
     b'{"v":1,"room":"room-1","t":1,"values":[{"vital":"hr","label":"HR","unit":"bpm",'
     b'"value":80,"t":1,"state":"stale"}]}', "at values/0/value"),
    ("vigil/room-1/other", b"{}", "not a Vigil topic"),
    ("vigil/room 1/status", b"{}", "not a Vigil topic"),
    ("other/room-1/status", b"{}", "not a Vigil topic"),
    ("vigil/room-1/alarms", b" " * (64 * 1024 + 1), "over the 65536-byte limit"),
])
def test_bad_payloads_are_refused_naming_topic_and_fault(topic: str, data: bytes, says: str
                                                         ) -> None:
    with pytest.raises(p.PayloadError) as e:
        p.parse(topic, data)
    assert topic in str(e.value)
    assert says in str(e.value)


def test_a_stale_value_cannot_be_sent_as_a_number() -> None:
    bad = p.Numerics("room-1", 1.0, (p.NumericValue("hr", "HR", "bpm", 80.0, 1.0, "stale"),))
    with pytest.raises(ValueError, match="values/0/value"):
        p.to_json(bad)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_room_arguments(parser)
    return parser.parse_args(argv)


def test_broker_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIL_MQTT_PASSWORD", raising=False)
    ca = tmp_path / "ca.crt"
    ca.write_text("x")
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    cfg = room_config(_args("--room", "room-3", "--broker", "mqtts://broker.clinic:8883",
                            "--broker-ca", str(ca), "--broker-password-file", str(pw)))
    assert cfg is not None
    assert (cfg.room, cfg.broker.host, cfg.broker.port, cfg.broker.tls, cfg.broker.user,
            cfg.broker.password, cfg.broker.ca) == (
        "room-3", "broker.clinic", 8883, True, "room-3", "s3cret", ca)
    assert "s3cret" not in repr(cfg)
    assert not cfg.allow_remote_ack and cfg.patient == "none"
    monkeypatch.setenv("VIGIL_MQTT_PASSWORD", "fromenv")
    cfg = room_config(_args("--room", "r", "--broker", "mqtt://127.0.0.1:1884",
                            "--broker-user", "other", "--allow-remote-ack",
                            "--central-patient", "initials"))
    assert cfg is not None
    assert (cfg.broker.user, cfg.broker.password, cfg.broker.tls, cfg.allow_remote_ack,
            cfg.patient) == ("other", "fromenv", False, True, "initials")
    assert room_config(_args()) is None
    board = broker_config(_args("--broker", "mqtts://h:1"))
    assert board is not None and board.user == "board"


@pytest.mark.parametrize(("argv", "says"), [
    (("--room", "r", "--broker", "mqtt://10.0.0.5:1883"), "not this computer"),
    (("--room", "r", "--broker", "http://localhost:1883"), "mqtt:// or mqtts://"),
    (("--room", "r", "--broker", "mqtts://u:pw@h:1"), "no user or password in the URL"),
    (("--room", "r", "--broker", "mqtts://h:99999"), "port"),
    (("--room", "bad room", "--broker", "mqtts://h:1"), "--room 'bad room'"),
    (("--room", "r"), "--room needs --broker"),
    (("--broker", "mqtts://h:1"), "needs --room"),
    (("--room", "r", "--broker", "mqtts://h:1", "--broker-ca", "/nonexistent/ca"),
     "no such file"),
    (("--room", "r", "--broker", "mqtts://h:1", "--broker-password-file", "/nonexistent/pw"),
     "cannot read it"),
])
def test_bad_broker_options_say_what_is_wrong(argv: tuple[str, ...], says: str) -> None:
    with pytest.raises(BrokerConfigError, match=None) as e:
        room_config(_args(*argv))
    assert says in str(e.value)


def test_insecure_allows_plain_mqtt_to_another_host() -> None:
    cfg = room_config(_args("--room", "r", "--broker", "mqtt://10.0.0.5:1883", "--insecure"))
    assert cfg is not None and not cfg.broker.tls
    assert is_loopback("::1") and is_loopback("127.0.0.2") and not is_loopback("10.0.0.5")


@pytest.mark.skipif(bool(missing()), reason=missing() or "")
def test_make_certs_writes_secrets_0600_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    run = subprocess.run([str(MAKE_CERTS), str(out), "2", "broker.clinic", "10.1.2.3"],
                         capture_output=True, text=True, timeout=60, check=True)
    users = [line.split()[0] for line in (out / "passwords.txt").read_text().splitlines()]
    assert users == ["room-1", "room-2", "board"]
    for line in (out / "passwords.txt").read_text().splitlines():
        assert line in run.stdout  # printed once for the installer
    for name in ("passwd", "passwords.txt", "server.key", "ca.key"):
        assert stat.S_IMODE(os.stat(out / name).st_mode) == 0o600, name
    text = subprocess.run(["openssl", "x509", "-in", str(out / "server.crt"), "-noout",
                           "-text"], capture_output=True, text=True, check=True).stdout
    assert "DNS:broker.clinic" in text and "IP Address:10.1.2.3" in text
    again = subprocess.run([str(MAKE_CERTS), str(out), "2"], capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr


def test_the_broker_refuses_strangers_and_wrong_passwords(mosquitto: Mosquitto) -> None:
    assert mosquitto.can_connect("room-1")
    assert mosquitto.can_connect("board")
    assert not mosquitto.can_connect("room-1", "wrong password")
    assert not mosquitto.can_connect("nobody", "whatever")
    assert not mosquitto.can_connect(None)  # anonymous
    assert not mosquitto.can_connect("board", tls=False)  # plain MQTT on the TLS listener


def test_the_acl_keeps_each_room_in_its_own_topics(mosquitto: Mosquitto) -> None:
    with subscriber(mosquitto) as board:
        intruder = mosquitto.client("room-2")
        intruder.loop_start()
        own = mosquitto.client("room-1")
        own.loop_start()
        try:
            intruder.publish("vigil/room-1/alarms", b'{"forged": true}', qos=1
                             ).wait_for_publish(5)
            intruder.publish("vigil/room-1/status", b'{"forged": true}', qos=1
                             ).wait_for_publish(5)
            own.publish("vigil/room-1/ack", b'{"forged": true}', qos=1).wait_for_publish(5)
            # A marker after the forgeries: once it arrives, the forgeries would have too.
            own.publish("vigil/room-1/numerics", b"marker", qos=1).wait_for_publish(5)
            board.wait_for(lambda m: m.payload == b"marker")
        finally:
            for c in (intruder, own):
                c.disconnect()
                c.loop_stop()
        assert [m.topic for m in board.messages] == ["vigil/room-1/numerics"]


def test_the_board_can_only_acknowledge(mosquitto: Mosquitto) -> None:
    with subscriber(mosquitto, "vigil/room-1/#", user="room-1") as room:
        board = mosquitto.client("board")
        board.loop_start()
        try:
            board.publish("vigil/room-1/alarms", b"forged", qos=1).wait_for_publish(5)
            board.publish("vigil/room-1/ack", b"ack", qos=1).wait_for_publish(5)
            room.wait_for(lambda m: m.payload == b"ack")
        finally:
            board.disconnect()
            board.loop_stop()
        assert [m.payload for m in room.messages] == [b"ack"]


def test_retained_state_survives_a_broker_restart(mosquitto: Mosquitto) -> None:
    room = mosquitto.client("room-3")
    room.loop_start()
    room.publish("vigil/room-3/alarms", b"the set", qos=1, retain=True).wait_for_publish(5)
    room.disconnect()
    room.loop_stop()
    mosquitto.restart()
    with subscriber(mosquitto, "vigil/room-3/alarms") as board:
        got = board.wait_for(lambda m: True)
    assert (got.payload, got.retain) == (b"the set", True)


