"""The room's link to the central station: one more sink on the device-io loop.

The sink and the alarm listener only note what changed (never any I/O); one task on the same
loop publishes with aiomqtt. Nothing here can block or slow the room: numerics wait in a
bounded queue and the oldest are dropped when the broker is slow, while the latest status and
alarm set are always kept and sent. The task reconnects with back-off and, on every
(re)connect, republishes the retained status and alarm set, so a restarted broker or a late
board loses no alarm. While the link is down the room raises the LOW technical condition
"central station link down" through its alarm engine, and records exactly as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import ssl
import time
from collections import deque
from collections.abc import Callable
from typing import Final

import aiomqtt

from alarms.engine import AlarmEngine
from alarms.model import AlarmEvent
from monitor.central import payloads as p
from monitor.central import room_state
from monitor.central.config import KEEPALIVE_S, RoomConfig
from monitor.live import LiveState
from monitor.messages import DeviceStatus, Message, TimelineMark
from monitor.recorder import SessionRecorder

log = logging.getLogger(__name__)

NUMERICS_PERIOD_S: Final = 1.0
STATUS_REFRESH_S: Final = 5.0  # the retained status is refreshed this often (a stale one heals)
NUMERICS_QUEUE: Final = 5  # numerics waiting for a slow broker; older ones are dropped
BACKOFF_START_S: Final = 0.5
BACKOFF_MAX_S: Final = 5.0
CONNECT_TIMEOUT_S: Final = 5.0
CLOSE_TIMEOUT_S: Final = 2.0
# The alarm set's seq rises through the whole process (the dashboard's next session publishes
# with a new publisher), from the process's start in milliseconds, so a restarted room's seq is
# higher too: a board may ignore a seq lower than one it has seen.
_SEQ: Final = itertools.count(int(time.time() * 1000))
# The room's newest publisher in this process: an earlier one (the dashboard's previous
# session, stopped after the next one started) must not announce the room closed.
_NEWEST: dict[str, CentralPublisher] = {}


class CentralPublisher:
    """Publishes one room (`config`) from its live state, alarm engine and session marks.

    `sink` is a runtime sink; `on_alarm_event` an alarm-engine listener (any thread);
    `start()` runs on the device-io loop. `now_s` is the session clock."""

    def __init__(self, config: RoomConfig, live: LiveState, alarms: AlarmEngine,
                 session: room_state.SessionMarks, now_s: Callable[[], float],
                 wall: Callable[[float], float]) -> None:
        self.config = config
        self.live = live
        self.alarms = alarms
        self.session = session
        self.now_s = now_s
        self.wall = wall
        self.topics = {k: p.topic(config.room, k) for k in p.KINDS}
        self.connected = False
        self.dropped = 0  # numerics dropped while the broker was slow
        self.published = 0
        self._devices: dict[str, str] = {}
        self._numerics: deque[bytes] = deque(maxlen=NUMERICS_QUEUE)
        self._status: bytes | None = None  # the latest status, always the one sent next
        self._alarms: bytes | None = None
        self._alarm_items: tuple[p.Alarm, ...] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._link_known: bool | None = None

    # -- inputs (cheap, never I/O) ------------------------------------------------------

    def sink(self, msg: Message) -> None:
        """The runtime sink (device-io thread): device states and session marks."""
        if isinstance(msg, DeviceStatus):
            if self._devices.get(msg.source) != msg.state:
                self._devices[msg.source] = str(msg.state)
                self._refresh_status()
        elif isinstance(msg, TimelineMark) and self.session.mark(msg.kind, msg.t_s, msg.t_wall):
            self._refresh_status()

    def on_alarm_event(self, _event: AlarmEvent) -> None:
        """An alarm-engine listener: any thread (an acknowledgement comes from the GUI)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is closing: nothing to send
                loop.call_soon_threadsafe(self._refresh_alarms)

    # -- state to send (device-io thread) ------------------------------------------------

    def _status_payload(self, online: bool, reason: str | None) -> p.Status:
        info = self.session.info(self.now_s(), self.config.patient == "initials")
        return p.Status(self.config.room, online, self._t(), reason, info,
                        room_state.devices(self._devices))

    def _refresh_status(self) -> None:
        if self._loop is None:
            return
        self._status = p.to_json(self._status_payload(True, None))
        self._poke()

    def _refresh_alarms(self, force: bool = False) -> None:
        items = room_state.alarm_items(self.alarms.snapshot(), self.wall)
        if items == self._alarm_items and not force:
            return
        self._alarm_items = items
        self._alarms = p.to_json(p.AlarmSet(self.config.room, self._t(), next(_SEQ),
                                            items))
        self._poke()

    def _queue_numerics(self) -> None:
        now = self.now_s()
        payload = room_state.numerics(self.config.room, self.live.snapshot(now), self.wall,
                                      self.wall(now))
        if len(self._numerics) == self._numerics.maxlen:
            self.dropped += 1
        self._numerics.append(p.to_json(payload))
        self._poke()

    def _t(self) -> float:
        """Now on the session's wall clock: real time, or N times faster at --speed N, so
        that a payload's time and its measurements' times agree."""
        return self.wall(self.now_s())

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _set_link(self, up: bool, why: object = None) -> None:
        if self._link_known is up:
            return
        self._link_known = up
        self.connected = up
        self.alarms.set_central_link(up)
        log.warning("central station %s: %s", self.config.broker.url,
                    "connected" if up else f"link down ({why})")

    # -- the task ------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Starts publishing; call on the device-io loop (runtime.call_soon)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        _NEWEST[self.config.room] = self
        try:
            self._refresh_status()
            self._refresh_alarms(force=True)
        except Exception:  # called from the runtime's start: never stop the session for it
            log.exception("central station: building the first payloads failed")
        self._task = self._loop.create_task(self._run(), name=f"central {self.config.room}")
        return self._task

    def _client(self) -> aiomqtt.Client:
        b = self.config.broker
        tls = None
        if b.tls:
            tls = ssl.create_default_context(cafile=str(b.ca) if b.ca else None)
        will = aiomqtt.Will(self.topics["status"],
                            p.to_json(p.last_will(self.config.room, time.time())),
                            qos=1, retain=True)
        return aiomqtt.Client(
            b.host, b.port, username=b.user, password=b.password,
            identifier=f"vigil-{self.config.room}-{os.getpid()}-{self.session.session_id}",
            will=will, clean_session=True, keepalive=KEEPALIVE_S, tls_context=tls,
            timeout=CONNECT_TIMEOUT_S, logger=log)

    async def _run(self) -> None:
        backoff = BACKOFF_START_S
        ticker = asyncio.get_running_loop().create_task(self._tick(), name="central tick")
        try:
            while True:
                try:
                    async with self._client() as client:
                        self._set_link(True)
                        backoff = BACKOFF_START_S
                        try:
                            await self._session(client)
                        except asyncio.CancelledError:
                            await self._say_closed(client)
                            raise
                except aiomqtt.MqttError as e:
                    self._set_link(False, e)
                    log.info("central station %s: %s; retrying in %.1f s",
                             self.config.broker.url, e, backoff)
                except Exception as e:  # never let the link die for good: the room is primary
                    self._set_link(False, e)
                    log.exception("central station %s: unexpected failure; retrying",
                                  self.config.broker.url)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
        finally:
            ticker.cancel()

    async def _tick(self) -> None:
        """Numerics every second; the status refreshed every few seconds."""
        k = 0
        while True:
            await asyncio.sleep(NUMERICS_PERIOD_S)
            k += 1
            try:
                self._queue_numerics()
                self._refresh_alarms()  # a missed transition can never stay missed
                if k % round(STATUS_REFRESH_S / NUMERICS_PERIOD_S) == 0:
                    self._refresh_status()
            except Exception:  # a bug here must not stop the room's other work
                log.exception("central station: building a payload failed")

    async def _session(self, client: aiomqtt.Client) -> None:
        """One connection: the retained state first, then whatever changes; acks in."""
        await client.subscribe(self.topics["ack"], qos=1)
        self._numerics.clear()  # numerics are "now": none from before the link came back
        self._refresh_status()
        self._refresh_alarms(force=True)  # every (re)connect republishes the alarm set
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(self._receive(client)), loop.create_task(self._send(client))]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            task.result()  # the MqttError that ended the connection

    async def _send(self, client: aiomqtt.Client) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._status is not None or self._alarms is not None or self._numerics:
                if self._alarms is not None:
                    data, self._alarms = self._alarms, None
                    await self._publish(client, "alarms", data, 1, True, keep="alarms")
                elif self._status is not None:
                    data, self._status = self._status, None
                    await self._publish(client, "status", data, 1, True, keep="status")
                else:
                    await self._publish(client, "numerics", self._numerics.popleft(), 0,
                                        False)

    async def _publish(self, client: aiomqtt.Client, kind: str, data: bytes, qos: int,
                       retain: bool, keep: str | None = None) -> None:
        try:
            await client.publish(self.topics[kind], data, qos=qos, retain=retain)
        except aiomqtt.MqttError:
            # Not sent: keep it unless something newer is already waiting.
            if keep == "alarms" and self._alarms is None:
                self._alarms = data
            elif keep == "status" and self._status is None:
                self._status = data
            raise
        self.published += 1

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            data = payload if isinstance(payload, bytes) else str(payload).encode()
            try:
                ack = p.parse_ack(str(message.topic), data)
            except p.PayloadError as e:
                log.warning("central station: dropped: %s", e)
                continue
            self._apply_ack(ack)

    def _apply_ack(self, ack: p.Ack) -> None:
        if not self.config.allow_remote_ack:
            log.warning("central station: acknowledgement of %s by %s dropped: this room "
                        "does not take them (--allow-remote-ack)", ack.alarm_id, ack.user)
            return
        n = self.alarms.acknowledge(ack.alarm_id, user=remote_user(ack.user))
        if n:
            log.warning("alarm %s acknowledged from the central station by %s",
                        ack.alarm_id, ack.user)
        else:
            log.warning("central station: acknowledgement by %s: no unacknowledged alarm %s",
                        ack.user, ack.alarm_id)

    async def _say_closed(self, client: aiomqtt.Client) -> None:
        """A clean stop: the retained status says offline, "closed" (not the last will),
        unless a newer session of this room already publishes."""
        if _NEWEST.get(self.config.room) is not self:
            return
        data = p.to_json(self._status_payload(False, p.REASON_CLOSED))
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await client.publish(self.topics["status"], data, qos=1, retain=True)
        except (aiomqtt.MqttError, TimeoutError) as e:
            log.info("central station: could not say the room closed: %s", e)


def remote_user(user: str) -> str:
    """The alarm log's user for an acknowledgement from the board."""
    return f"{user} (central station)"


def attach(recorder: SessionRecorder, config: RoomConfig) -> CentralPublisher:
    """Publishes `recorder`'s room from when it starts: a sink, an alarm listener and a task
    on its device-io loop. Before `recorder.start()`."""
    plan = recorder.plan
    marks = room_state.SessionMarks(recorder.session_id, plan.patient, plan.protocol,
                                    recorder.alarms.preset, recorder.clock.wall0)
    for entry in recorder.store.load_session(recorder.session_id).entries:  # a resumed one
        marks.mark(entry.kind, entry.t_s, entry.t_wall)
    publisher = CentralPublisher(config, recorder.live, recorder.alarms, marks,
                                 recorder.clock.now, recorder.clock.wall)
    recorder.runtime.add_sink(publisher.sink)
    recorder.alarms.add_listener(publisher.on_alarm_event)
    recorder.runtime.call_soon(publisher.start)
    return publisher
