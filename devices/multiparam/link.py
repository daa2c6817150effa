"""Runs a sans-I/O monitor session over any byte transport: the body of a serial Driver.

A transport needs only `await read(timeout_s) -> bytes` (b"" when nothing came in time)
and `await write(data)`. `establish` waits for the monitor to answer; `pump` yields Vigil
messages until the session reports the link lost, then raises DeviceDisconnected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from devices.base import DeviceDisconnected
from devices.multiparam.events import Event, LinkDown, LinkUp, to_messages
from monitor.messages import Message

MAX_READ_S = 0.25  # longest read wait: keeps every timer within a quarter second


class ByteTransport(Protocol):
    async def read(self, timeout_s: float) -> bytes: ...
    async def write(self, data: bytes) -> None: ...


class MonitorSession(Protocol):
    @property
    def up(self) -> bool: ...
    def start(self, now_s: float) -> None: ...
    def feed(self, data: bytes, now_s: float) -> list[Event]: ...
    def poll(self, now_s: float) -> bytes: ...
    def next_due(self, now_s: float) -> float: ...
    def close(self, now_s: float) -> bytes: ...


class Clock(Protocol):
    def now(self) -> float: ...
    def wall(self, t_s: float | None = None) -> float: ...


async def _step(session: MonitorSession, transport: ByteTransport, clock: Clock) -> list[Event]:
    now = clock.now()
    out = session.poll(now)
    if out:
        await transport.write(out)
    wait = min(MAX_READ_S, max(0.0, session.next_due(now) - now))
    data = await transport.read(wait)
    return session.feed(data, clock.now())


async def establish(session: MonitorSession, transport: ByteTransport, clock: Clock,
                    source: str, timeout_s: float) -> list[Event]:
    """Starts the session and returns once the monitor answers; DeviceDisconnected if not.

    The events received meanwhile (the first numerics may come with the answer) are
    returned for the caller to map.
    """
    session.start(clock.now())
    deadline = clock.now() + timeout_s
    events: list[Event] = []
    while not any(isinstance(e, LinkUp) for e in events):
        if clock.now() >= deadline:
            raise DeviceDisconnected(f"{source}: the monitor did not answer within "
                                     f"{timeout_s:g} s (check the cable and its export setting)")
        events.extend(await _step(session, transport, clock))
    return events


async def pump(session: MonitorSession, transport: ByteTransport, clock: Clock, source: str,
               pending: list[Event] | None = None) -> AsyncIterator[Message]:
    """Vigil messages from the monitor until the link is lost (then DeviceDisconnected)."""
    events = list(pending or ())
    while True:
        now = clock.now()
        wall = clock.wall(now)
        for ev in events:
            if isinstance(ev, LinkDown):
                raise DeviceDisconnected(f"{source}: {ev.reason}")
            for msg in to_messages(ev, source, now, wall):
                yield msg
        events = await _step(session, transport, clock)


async def release(session: MonitorSession, transport: ByteTransport, clock: Clock,
                  wait_s: float = 1.0) -> None:
    """Sends the session's goodbye (IntelliVue release, S/5 stop) and waits briefly for it."""
    out = session.close(clock.now())
    if out:
        await transport.write(out)
    deadline = clock.now() + wait_s
    while clock.now() < deadline and not getattr(session, "released", True):
        session.feed(await transport.read(min(MAX_READ_S, wait_s)), clock.now())
