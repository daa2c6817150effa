"""The board's MQTT client: one task on the device-io loop, Qt-free.

It subscribes to every room's status, numerics and alarms, validates each payload with
monitor.central.payloads, and hands `Received` messages (or `LinkState` changes) to a sink
that must be quick (the GUI bridge emits a signal). A payload that is malformed, too large,
of an unknown version or on an unexpected topic is dropped with one log line that names the
topic and what was wrong, never its content (patient data stays out of logs). The link is
retried with back-off for as long as the board runs; acknowledgements go out on
`vigil/<room>/ack` (QoS 1, not retained).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable

import aiomqtt

from monitor.central.board_model import LinkState, Received
from monitor.central.config import KEEPALIVE_S, BrokerConfig
from monitor.central.payloads import Ack, PayloadError, parse, split_topic, to_json, topic

log = logging.getLogger(__name__)

# Everything under vigil/, so that a stray publisher is logged rather than silently unheard;
# acknowledgements (the board's own, or another board's) are not news.
ALL_TOPICS = "vigil/#"
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 5.0

BoardSink = Callable[[Received | LinkState], None]


def tls_context(config: BrokerConfig) -> ssl.SSLContext | None:
    if not config.tls:
        return None
    return ssl.create_default_context(cafile=str(config.ca) if config.ca else None)


class BoardClient:
    """Run `run()` on the device-io loop; call `acknowledge()` from any thread."""

    def __init__(self, config: BrokerConfig, sink: BoardSink,
                 now: Callable[[], float] = time.time) -> None:
        self.config = config
        self._sink = sink
        self._now = now
        self._client: aiomqtt.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.dropped = 0  # payloads refused (for tests and the bench)

    def handle(self, name: str, data: bytes, retained: bool = False) -> None:
        """One incoming message: parsed and handed on, or dropped with one log line."""
        if not data:  # a retained message being cleared: nothing to show, nothing wrong
            return
        try:
            room, kind = split_topic(name)
            if kind == "ack":
                return
            payload = parse(name, data)
        except PayloadError as e:
            self.dropped += 1
            log.warning("dropped a payload: %s", e)
            return
        assert not isinstance(payload, Ack)
        self._sink(Received(name, room, payload, self._now(), retained))

    async def run(self) -> None:
        """Connects, subscribes and delivers until cancelled, reconnecting with back-off."""
        self._loop = asyncio.get_running_loop()
        backoff = BACKOFF_START_S
        cfg = self.config
        while True:
            try:
                async with aiomqtt.Client(
                        cfg.host, cfg.port, username=cfg.user, password=cfg.password,
                        keepalive=KEEPALIVE_S, tls_context=tls_context(cfg),
                        timeout=5.0) as client:
                    self._client = client
                    await client.subscribe(ALL_TOPICS, qos=1)
                    self._sink(LinkState(True, f"connected to {cfg.host}:{cfg.port}",
                                         self._now()))
                    backoff = BACKOFF_START_S
                    async for message in client.messages:
                        data = message.payload
                        if not isinstance(data, bytes | bytearray):
                            data = str(data).encode()
                        self.handle(str(message.topic), bytes(data), bool(message.retain))
            except aiomqtt.MqttError as e:
                self._client = None
                log.warning("broker link down: %s; retrying in %.1f s", e, backoff)
                self._sink(LinkState(False, f"broker link down: {e}", self._now()))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
            finally:
                self._client = None

    def acknowledge(self, room: str, alarm_id: str, user: str) -> bool:
        """Posts an acknowledgement to the room (thread-safe). False when the link is down."""
        loop, client = self._loop, self._client
        if loop is None or client is None or loop.is_closed():
            return False
        body = to_json(Ack(alarm_id, user, self._now()))

        async def send() -> None:
            try:
                await client.publish(topic(room, "ack"), body, qos=1, retain=False)
            except aiomqtt.MqttError as e:
                log.warning("acknowledgement to %s not sent: %s", room, e)

        asyncio.run_coroutine_threadsafe(send(), loop)
        return True
