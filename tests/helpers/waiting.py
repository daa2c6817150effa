"""Waiting on what a test can observe, with a deadline: never on the clock alone."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until(done: Callable[[], T], what: str | Callable[[], str], timeout: float = 10.0, *,
          proc: subprocess.Popen | None = None, every: float = 0.02) -> T:
    """Polls `done()` every `every` s until it returns something true, and returns that.

    Fails naming `what` (a text, or a function giving one: e.g. a process's log) when
    `timeout` passes, or as soon as `proc`, the process the wait is on, has ended. Between
    polls it waits on `proc` when there is one, so an ending process is seen at once.
    """
    deadline = time.monotonic() + timeout
    while not (value := done()):
        def say(why: str) -> str:
            return f"{why}: {what() if callable(what) else what}"
        if proc is not None:
            assert proc.poll() is None, say(f"the process ended ({proc.returncode})")
        assert time.monotonic() < deadline, say(f"not within {timeout:g} s")
        if proc is None:
            time.sleep(every)  # polling another thread's or process's work, not timing it
        else:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(every)
    return value
