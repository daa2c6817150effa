"""The PCD-01 feed (and PCD-04 alerts) on the device-io loop.

What is sent is the builder's (`monitor/hl7/builder.py`: every `period_s` of session time,
at every NIBP reading and every score, alarm events on the alerts channel), queued in the
store's outbox before it is first sent. Building and queueing take microseconds on the loop;
delivery runs in its own task per channel (one message at a time, each waiting for its ACK,
retried with back-off), so a slow or dead receiver never holds up the room. A receiver that
has not answered for `down_after_s` raises the LOW technical condition "EHR feed down".
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from monitor.hl7 import DEFAULT_PERIOD_S, DOWN_AFTER_S
from monitor.hl7.builder import Builder
from monitor.hl7.messages import Party, host_eui64
from monitor.hl7.mllp import DeliveryError, MllpAddress, MllpClient
from monitor.hl7.outbox import Channel, Outbox, State
from monitor.recorder import SessionRecorder
from monitor.reports.deidentify import pseudonym

log = logging.getLogger(__name__)

BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0


@dataclass(frozen=True, slots=True)
class FeedConfig:
    vitals: MllpAddress | None  # --hl7
    alerts: MllpAddress | None = None  # --hl7-alerts
    period_s: float = DEFAULT_PERIOD_S  # --hl7-period
    deidentify: bool = False  # --hl7-deidentify
    down_after_s: float = DOWN_AFTER_S
    ack_timeout_s: float = 10.0
    backoff_max_s: float = BACKOFF_MAX_S


class Hl7Feed(Builder):
    """The builder, queueing into the store's outbox, and its delivery."""

    def __init__(self, config: FeedConfig, outbox: Outbox, party: Party,
                 wall: Callable[[float], float], wall0: float,
                 on_down: Callable[[bool], None] = lambda down: None) -> None:
        super().__init__(outbox, party, self._channels(config), wall, wall0)
        self.config = config
        self.outbox = outbox
        self._on_down = on_down
        self._wake: dict[Channel, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._down_since: dict[Channel, float] = {}
        self._down = False
        self.delivered = 0

    @staticmethod
    def _channels(c: FeedConfig) -> dict[Channel, MllpAddress]:
        return {ch: a for ch, a in ((Channel.PCD01, c.vitals), (Channel.PCD04, c.alerts))
                if a is not None}

    def _after_queue(self, channel: Channel) -> None:
        wake, loop = self._wake.get(channel), self._loop
        if wake is not None and loop is not None:
            loop.call_soon_threadsafe(wake.set)

    # -- delivery (tasks on the device-io loop) ------------------------------------------

    async def run(self) -> None:
        """Delivers every channel until cancelled."""
        self._loop = asyncio.get_running_loop()
        tasks = []
        for channel, address in self._channels(self.config).items():
            self._wake[channel] = asyncio.Event()
            client = MllpClient(address, self.config.ack_timeout_s)
            tasks.append(asyncio.create_task(self._deliver(channel, client),
                                             name=f"hl7 {channel}"))
        tasks.append(asyncio.create_task(self._watch_down(), name="hl7 down"))
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with self._lock:  # the loop stops: later messages stay unbuilt, nothing lost
                self.outbox.close()

    async def _deliver(self, channel: Channel, client: MllpClient) -> None:
        wake = self._wake[channel]
        backoff = BACKOFF_START_S
        try:
            while True:
                try:
                    if not await self._deliver_next(channel, client):
                        wake.clear()
                        await wake.wait()
                        continue
                    backoff = BACKOFF_START_S
                except Exception as e:  # the feed never dies: it retries, and says why
                    # Whatever the failure, nothing is delivered: it counts toward "down".
                    self._down_since.setdefault(channel, time.monotonic())
                    if isinstance(e, DeliveryError):
                        log.warning("HL7 %s: %s; retry in %.0f s", channel, e, backoff)
                    elif isinstance(e, sqlite3.Error):
                        log.error("HL7 %s: the outbox: %s; retry in %.0f s", channel, e,
                                  backoff)
                    else:
                        log.exception("HL7 %s: delivery failed; retry in %.0f s", channel,
                                      backoff)
                        await client.close()  # the next try starts on a new connection
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.config.backoff_max_s)
        finally:
            await client.close()

    async def _deliver_next(self, channel: Channel, client: MllpClient) -> bool:
        """Sends the oldest queued message and records its answer; False if none."""
        with self._lock:
            item = self.outbox.next_queued(channel)
            if item is None:
                return False
            self.outbox.attempted(item.row_id)
        try:
            ack = await client.send(item.message)
        except DeliveryError as e:
            raise DeliveryError(f"{item.control_id} not delivered ({e})") from e
        self._down_since.pop(channel, None)
        state = State.ACCEPTED if ack.accepted else State.ERROR
        with self._lock:
            self.outbox.answered(item.row_id, state, ack.code, ack.text)
        self.delivered += 1
        if state is State.ERROR:  # the receiver's text stays in the store only
            log.warning("HL7 %s %s answered %s: kept for review in the outbox", channel,
                        item.control_id, ack.code)
        return True

    async def _watch_down(self) -> None:
        while True:
            now = time.monotonic()
            down = any(now - t > self.config.down_after_s for t in self._down_since.values())
            if down != self._down:
                self._down = down
                log.warning("HL7 feed %s", "down" if down else "delivering again")
                self._on_down(down)
            await asyncio.sleep(min(1.0, self.config.down_after_s / 4))

    def queued(self) -> int:
        with self._lock:
            return sum(self.outbox.count_queued(ch) for ch in self.channels)

    async def drain(self, timeout_s: float) -> int:
        """Waits (at the end of a session) until nothing is queued or `timeout_s` passed;
        returns how many are left (delivered by the next feed on this store). A feed
        already down does not wait."""
        deadline = time.monotonic() + timeout_s
        while (left := self.queued()) and not self._down and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return left


def attach_feed(recorder: SessionRecorder, config: FeedConfig) -> Hl7Feed:
    """Wires a feed into a recorder before it starts: the runtime's sink and ticker, the
    alarm engine's listener, and the delivery task on the device-io loop. The PID is the
    session's patient id, or its pseudonym (as in de-identified exports) when the site
    asks for a de-identified feed or no patient was entered."""
    session = recorder.store.load_session(recorder.session_id)
    patient = session.patient.identifier
    party = Party(pseudonym(session.uuid) if config.deidentify or not patient else patient,
                  host_eui64())
    outbox = Outbox(recorder.store.path, recorder.session_id, session.uuid)
    alarms = recorder.alarms
    feed = Hl7Feed(config, outbox, party, recorder.clock.wall, recorder.clock.wall0,
                   on_down=lambda down: alarms.system_condition("ehr-feed-down", down))
    recorder.runtime.add_sink(feed)
    recorder.add_ticker(config.period_s, feed.tick)
    alarms.add_listener(feed.alert)
    runtime = recorder.runtime
    runtime.call_soon(lambda: runtime.spawn_task(feed.run(), "hl7 feed"))
    return feed
