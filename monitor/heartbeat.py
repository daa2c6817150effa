"""The dashboard's side of the watchdog (`monitor/watchdog.py`): heartbeats, and a screen
clock that stops when the device thread does.

The GUI thread (a QTimer in `ui/app.py`) and the device-io thread (`io_beats`, an asyncio
task) each write a line to the watchdog's stdin every `BEAT_S`: `gui T` or `io T`, T the
session time. A clean exit writes `end`. A write never blocks the thread that beats: the
pipe is non-blocking, and a beat that does not fit is dropped (a watchdog that does not read
then hears silence, as it should).

`SessionPulse.now` is the session clock as the screen shows it: it runs with the session
clock while the device-io thread beats, and stops `STALL_S` after its last beat, so a
stalled device thread freezes the header clock and the pleth sweep where they are instead
of animating as if all were well.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from monitor.clock import SessionClock

log = logging.getLogger(__name__)

BEAT_S = 0.25  # each thread beats this often (real seconds)
STALL_S = 0.5  # the screen's clock stops this long after the device thread's last beat
END_WAIT_S = 1.0  # how long a clean exit waits for room in a full pipe to say `end`

Beat = Callable[[str, float], None]  # (channel, session seconds)


class WatchdogLink:
    """The watchdog process, started for one session, and the pipe its beats go down."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        assert proc.stdin is not None
        self._fd: int | None = proc.stdin.fileno()
        os.set_blocking(self._fd, False)
        self._broken = False
        self._lock = threading.Lock()

    @classmethod
    def spawn(cls, store_path: Path, session_id: int, speed: float = 1.0,
              options: Sequence[str] = ()) -> WatchdogLink:
        """Starts `python -m monitor.watchdog` for `session_id` of the store, watching this
        process. Its own session (process group): a Ctrl+C at the terminal that ends the
        dashboard does not end the watchdog before it is told the exit was clean."""
        root = Path(__file__).resolve().parents[1]
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.watchdog", "--db", str(Path(store_path).resolve()),
             "--session", str(session_id), "--pid", str(os.getpid()), "--speed", f"{speed:g}",
             *options],
            cwd=root, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            start_new_session=True)
        return cls(proc)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def beat(self, channel: str, t_s: float) -> None:
        """One heartbeat (any thread; never blocks)."""
        self._send(f"{channel} {t_s:.3f}\n")

    def end(self) -> None:
        """A clean exit: the watchdog stops watching (safe to call twice)."""
        with self._lock:
            if self._fd is None:
                return
            self._write("end\n", wait_s=END_WAIT_S)
            self._fd = None
            assert self.proc.stdin is not None
            self.proc.stdin.close()

    def _send(self, line: str) -> None:
        with self._lock:  # never across a close: the fd number could be reused meanwhile
            if self._fd is not None:
                self._write(line)

    def _write(self, line: str, wait_s: float = 0.0) -> None:
        """One short write (atomic on a pipe). A full pipe (the watchdog is not reading) drops
        a beat at once, so the GUI never blocks on it; `end` waits up to `wait_s` for room,
        since a lost `end` would be taken for a crash."""
        assert self._fd is not None
        deadline = time.monotonic() + wait_s
        while True:
            try:
                os.write(self._fd, line.encode("ascii"))
                return
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    if wait_s:
                        log.error("the watchdog (pid %d) did not take the clean exit",
                                  self.proc.pid)
                    return
                select.select([], [self._fd], [], left)
            except OSError as e:  # the watchdog is gone
                if not self._broken:
                    self._broken = True
                    log.error("the watchdog (pid %d) stopped listening: %s", self.proc.pid, e)
                return


class SessionPulse:
    """The session clock as the screen shows it: it stops when the device thread stops."""

    def __init__(self, clock: SessionClock) -> None:
        self._clock = clock
        self._speed = float(getattr(clock, "speed", 1.0))
        self._last: float | None = None  # session time of the device thread's last beat

    def io_beat(self, t_s: float) -> None:
        self._last = t_s

    def now(self) -> float:
        t = self._clock.now()
        last = self._last
        if last is None:  # before the device thread's first beat
            return t
        return min(t, last + (BEAT_S + STALL_S) * self._speed)


async def io_beats(clock: SessionClock, pulse: SessionPulse, beat: Beat | None) -> None:
    """The device-io thread's heartbeat: runs on its loop until cancelled. Real seconds, not
    session seconds: an accelerated session beats at the same pace."""
    while True:
        t = clock.now()
        pulse.io_beat(t)
        if beat is not None:
            beat("io", t)
        await asyncio.sleep(BEAT_S)
