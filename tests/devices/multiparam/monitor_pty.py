"""Test tooling: a sans-I/O fake monitor served on a pty master by a thread, so that a
driver (or `main.py record` in another process) opens the slave path as a serial port.

The thread keeps the slave open too, so the pty survives the host closing and reopening
the port (a reconnect), as a cable does. A pty has no parity: Linux drops PARENB, and then
refuses (EINVAL) a later tcsetattr whose only change is PARENB, which is what pyserial does
when it reopens the port at 8E1. So the thread puts the pty's nominal speed back to 38400
whenever the host has set another: the host's next open then changes the speed too.
Every chunk the monitor writes is logged with the wall time it was written, to judge the
host's timing against the monitor's truth.
"""

from __future__ import annotations

import contextlib
import os
import select
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterator
from typing import Protocol


class FakeMonitor(Protocol):
    def feed(self, data: bytes, now_s: float) -> None: ...
    def poll(self, now_s: float) -> bytes: ...


class MonitorPty:
    """Plays `monitor` on a pty; `path` is the port to give the host. Fake time is seconds
    since `start()`. Touch the monitor only inside `with pty.control() as now:`."""

    STEP_S = 0.02  # the fake's timer resolution

    def __init__(self, monitor: FakeMonitor) -> None:
        self.monitor = monitor
        self.master, self._slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self._slave)  # no echo before the host configures the port
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)
        self.writes: list[tuple[float, float, int]] = []  # (fake time, wall time, bytes)
        self.received = 0
        self.error: BaseException | None = None
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._t0 = 0.0
        self._thread = threading.Thread(target=self._run, name="fake-monitor", daemon=True)

    def start(self) -> MonitorPty:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def now(self) -> float:
        return time.monotonic() - self._t0

    @contextlib.contextmanager
    def control(self) -> Iterator[float]:
        """Holds the monitor still (the thread waits) and gives the fake time now."""
        with self._lock:
            yield self.now()

    def wait_for(self, done: Callable[[float], bool], timeout_s: float = 10.0) -> None:
        """Waits until `done(fake time)` holds, checked under the lock after each step of
        the monitor; AssertionError if it does not within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while not done(self.now()):
                left = deadline - time.monotonic()
                assert left > 0, f"not done within {timeout_s:g} s"
                assert self._thread.is_alive(), f"the fake monitor stopped: {self.error!r}"
                self._lock.wait(left)

    def last_write_wall(self) -> float | None:
        with self._lock:
            return self.writes[-1][1] if self.writes else None

    def _unpin_speed(self) -> None:
        attrs = termios.tcgetattr(self._slave)
        if attrs[4] != termios.B38400 or attrs[5] != termios.B38400:
            attrs[2] = (attrs[2] & ~termios.CBAUD) | termios.B38400
            attrs[4] = attrs[5] = termios.B38400
            termios.tcsetattr(self._slave, termios.TCSANOW, attrs)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._unpin_speed()
                ready, _, _ = select.select([self.master], [], [], self.STEP_S)
                data = os.read(self.master, 4096) if ready else b""
                with self._lock:
                    now = self.now()
                    self.received += len(data)
                    self.monitor.feed(data, now)
                    out = self.monitor.poll(now)
                    if out:
                        self.writes.append((now, time.time(), len(out)))
                    self._lock.notify_all()
                if out:
                    with contextlib.suppress(BlockingIOError):  # full: lost, as on a UART
                        os.write(self.master, out)
        except BaseException as e:  # handed to the test by close()
            self.error = e

    def close(self) -> None:
        """Stops the thread and closes both ends; raises what the thread met, if anything."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.error is not None:
            raise AssertionError(f"the fake monitor failed: {self.error!r}") from self.error

    def __enter__(self) -> MonitorPty:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
