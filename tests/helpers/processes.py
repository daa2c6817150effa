"""Child processes of a test: ending them, and reading what they print."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import threading
import time
from typing import IO

from tests.helpers.paths import MAIN, REPO


def end_process(proc: subprocess.Popen, sig: int | None = signal.SIGTERM,
                timeout: float = 10.0) -> tuple[str, str]:
    """Sends `sig` (None: none, it is ending by itself) if `proc` still runs, waits for it and
    returns what it printed on its pipes ("" where it has none); kills it if it has not
    ended within `timeout` (its returncode then says so). Its pipes are closed, even when a
    child of it (the dashboard's watchdog) still holds them."""
    out: str | bytes | None = None
    err: str | bytes | None = None
    try:
        if sig is not None and proc.poll() is None:
            proc.send_signal(sig)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                out, err = proc.communicate(timeout=5)
        return _text(out), _text(err)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def vigil(*args: str, check: bool = True, **kw: object) -> subprocess.CompletedProcess[str]:
    """`main.py ARGS` run to its end (120 s at most), its output captured; with `check`, an
    exit other than 0 fails the test with its stderr."""
    proc = subprocess.run([sys.executable, str(MAIN), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, **kw)  # type: ignore[call-overload]
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def _text(data: str | bytes | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


class OutputLines:
    """A process's output (one pipe), line by line, read by a thread; waits have deadlines.

    `wait_for` goes forward: each returns the first line after the one the previous wait
    returned, so a test follows the process's story in order. `lines` holds all read so far.
    """

    def __init__(self, stream: IO[str] | None, timeout: float = 30.0) -> None:
        assert stream is not None, "the process's output is not a pipe"
        self.timeout = timeout
        self.lines: list[str] = []
        self._next = 0
        self._ended = False
        self._changed = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        with contextlib.suppress(ValueError, OSError):  # the pipe was closed: done
            for line in stream:
                with self._changed:
                    self.lines.append(line.rstrip("\n"))
                    self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def wait_for(self, what: str | re.Pattern[str], timeout: float | None = None) -> str:
        """The next line holding `what` (a text, or a pattern it matches at its start)."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for i in range(self._next, len(self.lines)):
                    line = self.lines[i]
                    if what.match(line) if isinstance(what, re.Pattern) else what in line:
                        self._next = i + 1
                        return line
                self._next = len(self.lines)
                shown = what.pattern if isinstance(what, re.Pattern) else what
                tail = "\n".join(self.lines[-10:])
                assert not self._ended, f"the output ended before {shown!r}:\n{tail}"
                left = deadline - time.monotonic()
                assert left > 0, f"no {shown!r} within {timeout:g} s:\n{tail}"
                self._changed.wait(left)

    def group(self, pattern: re.Pattern[str], timeout: float | None = None) -> str:
        """The first group of the next line `pattern` matches."""
        found = pattern.match(self.wait_for(pattern, timeout))
        assert found is not None
        return found.group(1)
