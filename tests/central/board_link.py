"""Connecting to the test broker (tests/central/broker.py) as the board or as a room."""

from __future__ import annotations

import json
import ssl
import time
from typing import Any

import paho.mqtt.client as mqtt

from monitor.central.config import BrokerConfig


def board_config_for(broker: Any, user: str = "board") -> BrokerConfig:
    """The board's BrokerConfig for the fixture's broker (TLS, its CA, the user's password)."""
    return BrokerConfig(broker.host, broker.port, True, broker.ca, user, broker.passwords[user])


def room_client(broker: Any, user: str, will: dict[str, Any] | None = None,
                keepalive: int = 30) -> mqtt.Client:
    """A connected paho client as `user` (a room), with an optional retained last will."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{user}-{time.time()}")
    c.username_pw_set(user, broker.passwords[user])
    c.tls_set_context(ssl.create_default_context(cafile=str(broker.ca)))
    if will is not None:
        c.will_set(f"vigil/{will['room']}/status", json.dumps(will), qos=1, retain=True)
    c.connect(broker.host, broker.port, keepalive=keepalive)
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
