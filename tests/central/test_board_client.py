"""The board's client on what arrives: each bad payload dropped with one log line that names
the topic and what was wrong (never the payload's content); good ones handed on; an empty
retained message (a cleared topic) is no error."""

from __future__ import annotations

import json
import logging

import pytest

from monitor.central.board_client import BoardClient
from monitor.central.board_model import Received
from monitor.central.config import BrokerConfig
from tests.central.board_payloads import T0, numerics, status

SECRET = "Jane-Q-Patient"  # must never reach a log line


@pytest.fixture
def client() -> tuple[BoardClient, list[object]]:
    got: list[object] = []
    cfg = BrokerConfig("127.0.0.1", 1, True, None, "board", None)
    return BoardClient(cfg, got.append, now=lambda: T0), got


GOOD = json.dumps(numerics("room-1", T0)).encode()
BAD = {
    "not JSON": ("vigil/room-1/numerics", b"\x00{" + SECRET.encode()),
    "too large": ("vigil/room-1/numerics", json.dumps(
        {**numerics("room-1", T0), "pad": SECRET * 5000}).encode()),
    "version 2": ("vigil/room-1/numerics", json.dumps({**numerics("room-1", T0), "v": 2,
                                                        "who": SECRET}).encode()),
    "wrong room": ("vigil/room-2/numerics", GOOD),
    "unknown topic": ("vigil/room-1/secret", SECRET.encode()),
    "outside vigil": ("clinic/room-1/status", SECRET.encode()),
    "malformed": ("vigil/room-1/status", json.dumps(
        {**status("room-1", T0, patient=SECRET), "online": "yes"}).encode()),
    "initials too long": ("vigil/room-1/status", json.dumps(
        status("room-1", T0, patient=SECRET + " Smith")).encode()),
}


@pytest.mark.parametrize("what", list(BAD))
def test_a_bad_payload_is_dropped_with_one_log_line(client, caplog, what):
    c, got = client
    topic, data = BAD[what]
    with caplog.at_level(logging.WARNING, logger="monitor.central.board_client"):
        c.handle(topic, data)
    assert got == [] and c.dropped == 1
    assert len(caplog.records) == 1
    line = caplog.records[0].getMessage()
    assert topic.split("/")[0] in line and SECRET not in line


def test_good_payloads_are_handed_on_and_cleared_topics_ignored(client, caplog):
    c, got = client
    with caplog.at_level(logging.WARNING):
        c.handle("vigil/room-1/numerics", GOOD)
        c.handle("vigil/room-1/status", b"", retained=True)  # a cleared retained message
        c.handle("vigil/room-1/ack", b'{"v":1}')  # acknowledgements are not the board's news
        c.handle("vigil/room-1/status", json.dumps(status("room-1", T0)).encode(), True)
    assert c.dropped == 0 and caplog.records == []
    assert [type(x) for x in got] == [Received, Received]
    assert got[0].room == "room-1" and got[0].payload.values[0].value == 72
    assert got[1].retained and not got[0].retained


def test_an_ack_is_not_sent_without_a_link(client):
    c, _ = client
    assert c.acknowledge("room-1", "spo2-low", "board") is False
