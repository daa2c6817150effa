"""The host sessions over a real tty: the fake monitor on a pty master in a thread
(`MonitorPty`), the host reading the slave with plain pyserial (termios, raw mode, the
kernel's line discipline)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import serial

from devices.multiparam.datex.session import DatexSession
from devices.multiparam.events import Event, LinkUp, MonitorReading
from devices.multiparam.fakes.datex import FakeDatex
from devices.multiparam.fakes.intellivue import FakeIntelliVue
from devices.multiparam.intellivue.session import IntelliVueSession
from tests.devices.multiparam.monitor_pty import MonitorPty

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs POSIX ptys")
DEADLINE_S = 15.0


@contextmanager
def pty_monitor(monitor: FakeIntelliVue | FakeDatex, baud: int, **kw: object
                ) -> Iterator[tuple[serial.Serial, MonitorPty]]:
    with MonitorPty(monitor) as pty:
        port = serial.Serial(pty.path, baud, timeout=0.05, **kw)
        try:
            yield port, pty
        finally:
            port.close()


def drive(port: serial.Serial, host: IntelliVueSession | DatexSession, pty: MonitorPty,
          done: Callable[[list[Event]], bool]) -> list[Event]:
    events: list[Event] = []
    deadline = time.monotonic() + DEADLINE_S
    while not done(events):
        assert time.monotonic() < deadline, f"no result in {DEADLINE_S} s: {events}"
        out = host.poll(pty.now())
        if out:
            port.write(out)
        events.extend(host.feed(port.read(4096), pty.now()))
    return events


def readings(events: list[Event], key: str) -> list[MonitorReading]:
    return [e for e in events if isinstance(e, MonitorReading) and key in dict(e.values)]


def test_intellivue_over_a_pty() -> None:
    mon = FakeIntelliVue()
    with pty_monitor(mon, 115200) as (port, pty):
        host = IntelliVueSession()
        host.start(pty.now())
        events = drive(port, host, pty, lambda ev: len(readings(ev, "hr")) >= 3)
        assert isinstance(events[0], LinkUp)
        with pty.control():
            sent_hr = [s.value for s in mon.sent_numerics if s.vital == "hr"]
        got = [dict(r.values)["hr"] for r in readings(events, "hr")]
        assert got == sent_hr[:len(got)]
        port.write(host.close(pty.now()))
        drive(port, host, pty, lambda _: host.released)
        with pty.control():
            assert mon.stats.releases == 1 and not mon.associated


def test_datex_over_a_pty() -> None:
    mon = FakeDatex()
    with pty_monitor(mon, 19200, parity=serial.PARITY_EVEN, rtscts=True) as (port, pty):
        host = DatexSession()
        host.start(pty.now())
        events = drive(port, host, pty, lambda ev: len(readings(ev, "hr")) >= 1)
        assert isinstance(events[0], LinkUp)
        with pty.control():
            first = mon.sent[0]
        assert dict(readings(events, "hr")[0].values) == {
            "hr": first.hr, "pr": first.pr, "spo2": first.spo2 / 100}
        port.write(host.close(pty.now()))
        port.flush()
        pty.wait_for(lambda _: not mon.transmitting, 5.0)  # the stop request arrived
