"""Session clocks: real time, accelerated time, and as-fast-as-possible virtual time.

Everything in a session that waits (a simulator's next sample, a reconnect back-off, the
staleness watchdog, the end of a recording) waits on the session clock, so the same code
runs live, at `--speed N`, and at `--speed max`.

`t_s` is seconds since the session started; `wall(t_s)` is the matching UTC epoch time,
derived from the monotonic clock so that an NTP step cannot reorder samples.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager


class SessionClock(ABC):
    """Base: `now()` in session seconds, `wall()` for records, `sleep_until()` to wait."""

    virtual = False

    def __init__(self, wall0: float | None = None, offset_s: float = 0.0) -> None:
        self.wall0 = time.time() - offset_s if wall0 is None else wall0
        self.offset_s = offset_s

    @abstractmethod
    def now(self) -> float: ...

    def wall(self, t_s: float | None = None) -> float:
        return self.wall0 + (self.now() if t_s is None else t_s)

    @abstractmethod
    async def sleep_until(self, t_s: float) -> None: ...

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now() + seconds)

    def enter(self) -> None:  # noqa: B027 - only the virtual clock counts
        """Registers a task that waits on this clock (only the virtual clock counts them).

        Register before the task starts, so that time cannot run ahead of a task that has
        not yet had its first turn; call `leave()` when it ends.
        """

    def leave(self) -> None:  # noqa: B027
        """The task registered with `enter()` has ended."""

    @contextmanager
    def participant(self) -> Iterator[None]:
        self.enter()
        try:
            yield
        finally:
            self.leave()


class ScaledClock(SessionClock):
    """Real time, optionally sped up by `speed` (1.0 = live)."""

    def __init__(self, speed: float = 1.0, wall0: float | None = None,
                 offset_s: float = 0.0) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, not {speed}")
        super().__init__(wall0, offset_s)
        self.speed = speed
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self.offset_s + (time.monotonic() - self._mono0) * self.speed

    async def sleep_until(self, t_s: float) -> None:
        delay = (t_s - self.now()) / self.speed
        await asyncio.sleep(max(0.0, delay))


class VirtualClock(SessionClock):
    """Discrete-event time for `--speed max`.

    Each task that waits on the clock registers as a participant. When every participant
    is waiting, time jumps to the earliest wake-up and that task runs. Samples therefore
    arrive in time order across devices, as fast as the CPU allows.
    """

    virtual = True

    def __init__(self, wall0: float | None = None, offset_s: float = 0.0) -> None:
        super().__init__(wall0, offset_s)
        self._now = offset_s
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._participants = 0

    def now(self) -> float:
        return self._now

    def enter(self) -> None:
        self._participants += 1

    def leave(self) -> None:
        self._participants -= 1
        self._advance()

    async def sleep_until(self, t_s: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (max(t_s, self._now), next(self._seq), fut))
        self._advance()
        try:
            await fut
        except asyncio.CancelledError:
            self._waiting = [w for w in self._waiting if w[2] is not fut]
            heapq.heapify(self._waiting)
            self._advance()
            raise

    def _advance(self) -> None:
        # Cancelled waiters may still sit in the heap until their cancellation runs.
        while self._waiting and self._waiting[0][2].done():
            heapq.heappop(self._waiting)
        if self._waiting and len(self._waiting) >= self._participants:
            t, _, fut = heapq.heappop(self._waiting)
            self._now = max(self._now, t)
            fut.set_result(None)
