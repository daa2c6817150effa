"""Connecting to the test broker (tests/central/broker.py) as the board or as a room."""

from __future__ import annotations

import json
import time
from typing import Any

import paho.mqtt.client as mqtt

from monitor.central.config import BrokerConfig
from tests.central.broker import Mosquitto


def board_config_for(broker: Mosquitto, user: str = "board") -> BrokerConfig:
    """The board's BrokerConfig for the fixture's broker (TLS, its CA, the user's password)."""
    return BrokerConfig(broker.host, broker.port, True, broker.ca, user, broker.passwords[user])


def room_client(broker: Mosquitto, user: str) -> mqtt.Client:
    """A connected paho client as `user` (a room), its network loop running."""
    c = broker.client(user, connect=False)
    c.connect(broker.host, broker.port, keepalive=30)
    c.loop_start()
    deadline = time.monotonic() + 10
    while not c.is_connected():
        assert time.monotonic() < deadline, f"{user} could not connect"
        time.sleep(0.01)
    return c


def publish(c: mqtt.Client, topic: str, body: dict[str, Any] | bytes, qos: int = 1,
            retain: bool = False) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    c.publish(topic, data, qos=qos, retain=retain).wait_for_publish(5)
