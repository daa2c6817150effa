"""The host sessions over a real tty: the fake monitor on a pty master in a thread, the host
reading the slave with plain pyserial (termios, raw mode, the kernel's line discipline)."""

from __future__ import annotations

import os
import select
import threading
import time
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import serial

from devices.multiparam.datex.session import DatexSession
from devices.multiparam.events import Event, LinkUp, Reading
from devices.multiparam.fakes.datex import FakeDatex
from devices.multiparam.fakes.intellivue import FakeIntelliVue
from devices.multiparam.intellivue.session import IntelliVueSession

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs POSIX ptys")
DEADLINE_S = 15.0


class MonitorThread(threading.Thread):
    """Plays `monitor` on the pty master until stopped; times are seconds since `t0`."""

    def __init__(self, master: int, monitor: FakeIntelliVue | FakeDatex, t0: float) -> None:
        super().__init__(name="fake-monitor", daemon=True)
        self.master, self.monitor, self.t0 = master, monitor, t0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                ready, _, _ = select.select([self.master], [], [], 0.02)
                data = os.read(self.master, 4096) if ready else b""
                now = time.monotonic() - self.t0
                with self.lock:
                    self.monitor.feed(data, now)
                    out = self.monitor.poll(now)
                if out:
                    os.write(self.master, out)
        except BaseException as e:  # handed to the test thread
            self.error = e


@contextmanager
def pty_monitor(monitor: FakeIntelliVue | FakeDatex, baud: int, **kw: object
                ) -> Iterator[tuple[serial.Serial, MonitorThread, float]]:
    master, slave = os.openpty()
    tty.setraw(master)
    port = serial.Serial(os.ttyname(slave), baud, timeout=0.05, **kw)
    t0 = time.monotonic()
    thread = MonitorThread(master, monitor, t0)
    thread.start()
    try:
        yield port, thread, t0
    finally:
        thread.stop.set()
        thread.join(5)
        port.close()
        os.close(slave)
        os.close(master)
    assert thread.error is None


def drive(port: serial.Serial, host: IntelliVueSession | DatexSession, t0: float,
          done: Callable[[list[Event]], bool]) -> list[Event]:
    events: list[Event] = []
    deadline = time.monotonic() + DEADLINE_S
    while not done(events):
        assert time.monotonic() < deadline, f"no result in {DEADLINE_S} s: {events}"
        now = time.monotonic() - t0
        out = host.poll(now)
        if out:
            port.write(out)
        events.extend(host.feed(port.read(4096), time.monotonic() - t0))
    return events


def readings(events: list[Event], key: str) -> list[Reading]:
    return [e for e in events if isinstance(e, Reading) and key in dict(e.values)]


def test_intellivue_over_a_pty() -> None:
    mon = FakeIntelliVue()
    with pty_monitor(mon, 115200) as (port, thread, t0):
        host = IntelliVueSession()
        host.start(time.monotonic() - t0)
        events = drive(port, host, t0, lambda ev: len(readings(ev, "hr")) >= 3)
        assert isinstance(events[0], LinkUp)
        with thread.lock:
            sent_hr = [s.value for s in mon.sent_numerics if s.vital == "hr"]
        got = [dict(r.values)["hr"] for r in readings(events, "hr")]
        assert got == sent_hr[:len(got)]
        port.write(host.close(time.monotonic() - t0))
        drive(port, host, t0, lambda _: host.released)
        with thread.lock:
            assert mon.stats.releases == 1 and not mon.associated


def test_datex_over_a_pty() -> None:
    mon = FakeDatex()
    with pty_monitor(mon, 19200, parity=serial.PARITY_EVEN, rtscts=True) as (port, thread, t0):
        host = DatexSession()
        host.start(time.monotonic() - t0)
        events = drive(port, host, t0, lambda ev: len(readings(ev, "hr")) >= 1)
        assert isinstance(events[0], LinkUp)
        with thread.lock:
            first = mon.sent[0]
        assert dict(readings(events, "hr")[0].values) == {
            "hr": first.hr, "pr": first.pr, "spo2": first.spo2 / 100}
        port.write(host.close(time.monotonic() - t0))
        port.flush()
        deadline = time.monotonic() + 5
        while True:
            with thread.lock:
                if not mon.transmitting:
                    break
            assert time.monotonic() < deadline, "the stop request did not arrive"
            port.read(1)  # waits on the port (timeout 0.05 s), no sleep
