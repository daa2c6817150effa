"""A runtime sink the test can wait on: each message with the monotonic time it arrived."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from monitor.messages import Message


class Collector:
    """Called on the device-io thread with every message; the test waits with a deadline."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.items: list[tuple[float, Message]] = []
        self._cond = threading.Condition()

    def __call__(self, msg: Message) -> None:
        with self._cond:
            self.items.append((time.monotonic(), msg))
            self._cond.notify_all()

    def wait_for(self, pred: Callable[[Message], bool], after: int = 0,
                 timeout: float | None = None) -> tuple[int, float, Message]:
        """The first message from index `after` on that satisfies `pred`: its index, when
        it arrived, and the message."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(after, len(self.items)):
                    t, msg = self.items[i]
                    if pred(msg):
                        return i, t, msg
                remaining = deadline - time.monotonic()
                assert remaining > 0, (f"no such message within {timeout:g} s: "
                                       f"{[m for _, m in self.items[after:]][-10:]}")
                self._cond.wait(remaining)

    def since(self, index: int) -> list[Message]:
        with self._cond:
            return [m for _, m in self.items[index:]]
