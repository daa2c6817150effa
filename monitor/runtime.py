"""The session runtime: one asyncio thread that owns all device I/O.

`IoThread` runs the event loop on a named, non-daemon thread; every driver (bleak, serial,
simulator) lives on it. `SessionRuntime` connects the devices, keeps each one's status
(connecting, streaming, stale, disconnected), reconnects with back-off, and hands every
message, in order, to its sinks: the store writer, the live state, the alarm engine, the
GUI bridge. Sinks run on the I/O thread and must be quick; they never block it. A `stamp`
sees each message first (the recorder stores a device's timeline mark there, so every sink
gets it with its entry id).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from devices.base import DeviceError, Driver
from monitor.clock import SessionClock
from monitor.messages import DeviceState, DeviceStatus, Message

log = logging.getLogger(__name__)

T = TypeVar("T")
Sink = Callable[[Message], None]

BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0
WATCHDOG_PERIOD_S = 0.5


class IoThread:
    """An asyncio loop on its own thread ("device-io"), with a bounded, clean stop."""

    def __init__(self, name: str = "device-io") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=False)
        self._started = False

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> IoThread:
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, fn: Callable[[], T], timeout: float = 5.0) -> T:
        """Runs `fn` on the loop thread and returns its result."""
        async def run() -> T:
            return fn()
        return self.submit(run()).result(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancels every task, stops the loop, joins the thread and closes the loop."""
        if not self._started or self.loop.is_closed():
            return

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.wait(tasks, timeout=timeout) if tasks else None

        if self._thread.is_alive():
            try:
                self.submit(cancel_all()).result(timeout + 1)
            except (concurrent.futures.TimeoutError, RuntimeError):
                log.error("device tasks did not stop within %.1f s", timeout)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()


@dataclass
class _DeviceTrack:
    driver: Driver
    state: DeviceState | None = None
    last_t: float = 0.0
    done: bool = False
    detail: str = ""


@dataclass
class _Ticker:
    period_s: float
    callback: Callable[[float], None]


@dataclass
class RuntimeResult:
    end_t_s: float
    cancelled: bool
    errors: list[str] = field(default_factory=list)


class SessionRuntime:
    """Runs one session's devices on an IoThread until a duration, the end of every
    finite source, or `stop()`."""

    def __init__(self, drivers: Iterable[Driver], clock: SessionClock,
                 sinks: Iterable[Sink] = (), duration_s: float | None = None,
                 stamp: Callable[[Message], Message] | None = None) -> None:
        """`stamp`, if given, sees every message before the sinks and hands them the one it
        returns (the recorder stores a device's timeline mark and returns it with its id)."""
        self.clock = clock
        self._stamp = stamp
        self.duration_s = duration_s
        self._tracks = {d.source: _DeviceTrack(d) for d in drivers}
        if duration_s is None and not all(t.driver.finite for t in self._tracks.values()):
            raise ValueError("a session without a duration needs only finite sources")
        self._sinks: list[Sink] = list(sinks)
        self._tickers: list[_Ticker] = []
        self._io: IoThread | None = None
        self._owns_io = False
        self._future: concurrent.futures.Future[RuntimeResult] | None = None
        self._main_task: asyncio.Task[RuntimeResult] | None = None
        self._pending: list[Callable[[], object]] = []  # call_soon before start
        self._device_tasks: dict[str, list[asyncio.Task[Any]]] = {}
        self._aux_tasks: set[asyncio.Task[Any]] = set()  # strong references while they run

    # -- wiring --------------------------------------------------------------------------

    def add_sink(self, sink: Sink) -> None:
        """Called with every message, on the I/O thread, in order. Add before `start()`."""
        self._sinks.append(sink)

    def add_ticker(self, period_s: float, callback: Callable[[float], None]) -> None:
        """`callback(t_s)` every `period_s` of session time, on the I/O thread."""
        self._tickers.append(_Ticker(period_s, callback))

    def inject(self, msg: Message) -> None:
        """Hands `msg` to the sinks on the I/O thread, in order with device messages (e.g. a
        timeline entry a person made). Any thread; before start, delivered at start."""
        self.call_soon(lambda: self._dispatch(msg))

    def call_soon(self, fn: Callable[[], object]) -> None:
        """Runs `fn` on the I/O thread (never blocks the caller)."""
        if self._io is None:
            self._pending.append(fn)
        else:
            self._io.loop.call_soon_threadsafe(fn)

    def device_states(self) -> dict[str, DeviceState | None]:
        return {s: t.state for s, t in list(self._tracks.items())}

    # -- devices added and removed during the session (I/O thread) ------------------------

    def add_device(self, driver: Driver) -> None:
        """Runs another device from now on: its task and watchdog start at once. On the I/O
        thread (through `call_soon`) while running; any thread before `start()`."""
        if driver.source in self._tracks:
            raise ValueError(f"device {driver.source!r} is already in the session")
        if self.duration_s is None and not driver.finite:
            raise ValueError("a session without a duration needs only finite sources")
        track = self._tracks[driver.source] = _DeviceTrack(driver)
        if self._main_task is not None and not self._main_task.done():
            self._start_device(driver.source, track)

    async def remove_device(self, source: str, detail: str = "disconnected by the user"
                            ) -> None:
        """Stops one device: its tasks are cancelled, the driver closed, and a final
        DISCONNECTED status (with `detail`) dispatched. On the I/O thread."""
        track = self._tracks.pop(source, None)
        if track is None:
            raise KeyError(f"no device {source!r} in the session")
        tasks = self._device_tasks.pop(source, [])
        for task in tasks:
            task.cancel()
        for r in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError):
                log.error("device %s ended with %s: %s", source, type(r).__name__, r)
        track.done = True
        if track.state not in (None, DeviceState.DISCONNECTED) or track.detail != detail:
            self._set_state(track, DeviceState.DISCONNECTED, detail)

    def spawn_task(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """A short task on the I/O thread's loop (e.g. removing a device); call it there."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._aux_tasks.add(task)
        task.add_done_callback(self._aux_tasks.discard)
        return task

    def _start_device(self, source: str, track: _DeviceTrack) -> list[asyncio.Task[Any]]:
        tasks = [self._spawn(self._run_device(track), f"device {source}")]
        if track.driver.stale_after_s is not None:
            tasks.append(self._spawn(self._watchdog(track), f"watchdog {source}"))
        self._device_tasks[source] = tasks
        return tasks

    # -- running -------------------------------------------------------------------------

    def start(self, io: IoThread | None = None) -> concurrent.futures.Future[RuntimeResult]:
        if self._future is not None:
            raise RuntimeError("runtime already started")
        self._owns_io = io is None
        self._io = (io or IoThread()).start()
        self._future = self._io.submit(self._main())
        return self._future

    def wait(self, timeout: float | None = None) -> RuntimeResult:
        assert self._future is not None, "start() first"
        try:
            return self._future.result(timeout)
        finally:
            if self._future.done() and self._owns_io and self._io is not None:
                self._io.stop()

    def stop(self, timeout: float = 10.0) -> RuntimeResult | None:
        """Ends the session now: devices are closed and the result returned."""
        if self._io is None or self._future is None:
            return None
        if not self._future.done():
            self._io.loop.call_soon_threadsafe(self._cancel_main)
        try:
            return self._future.result(timeout)
        except concurrent.futures.CancelledError:
            return None
        finally:
            if self._owns_io:
                self._io.stop()

    @property
    def ran_its_course(self) -> bool:
        """The session ended by itself (its duration, or every finite source), not stopped."""
        f = self._future
        return (f is not None and f.done() and not f.cancelled() and f.exception() is None
                and not f.result().cancelled)

    def _cancel_main(self) -> None:
        if self._main_task is not None:
            self._main_task.cancel()

    def _dispatch(self, msg: Message) -> None:
        if self._stamp is not None:
            try:
                msg = self._stamp(msg)
            except Exception:  # the sinks still get the message as it came
                log.exception("stamping %s failed", type(msg).__name__)
        for sink in self._sinks:
            try:
                sink(msg)
            except Exception:  # a faulty sink must not stop the devices or other sinks
                log.exception("sink %r failed on %s", sink, type(msg).__name__)

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """A task that waits on the session clock, registered before it first runs."""
        self.clock.enter()
        task = asyncio.get_running_loop().create_task(coro, name=name)
        task.add_done_callback(lambda _t: self.clock.leave())
        return task

    async def _main(self) -> RuntimeResult:
        self._main_task = asyncio.current_task()
        for fn in self._pending:
            fn()
        self._pending.clear()
        for s, t in list(self._tracks.items()):
            if s not in self._device_tasks:  # not already started by a pending add_device
                self._start_device(s, t)
        devices = [ts[0] for ts in self._device_tasks.values()]
        helpers = [self._spawn(self._tick(k), "ticker") for k in self._tickers]
        cancelled = False
        try:
            if self.duration_s is not None:
                self.clock.enter()
                try:
                    await self.clock.sleep_until(self.duration_s)
                finally:
                    self.clock.leave()
            else:
                await asyncio.gather(*devices)
        except asyncio.CancelledError:
            cancelled = True
        if cancelled:
            end = self.clock.now()
        elif self.duration_s is not None:
            end = self.duration_s
        else:  # every source was finite: the session ends with the last of their data
            end = max((t.last_t for t in self._tracks.values()), default=self.clock.now())
        # Devices added during the session are in `_device_tasks` too.
        running = [t for ts in self._device_tasks.values() for t in ts] + helpers
        self._device_tasks.clear()
        for task in running:
            task.cancel()
        results = await asyncio.gather(*running, return_exceptions=True)
        errors = [f"{type(r).__name__}: {r}" for r in results
                  if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)]
        for e in errors:
            log.error("device task ended with %s", e)
        for track in self._tracks.values():
            if track.state not in (None, DeviceState.DISCONNECTED):
                self._set_state(track, DeviceState.DISCONNECTED, "session ended", at=end)
        return RuntimeResult(end, cancelled, errors)

    def _set_state(self, track: _DeviceTrack, state: DeviceState, detail: str = "",
                   at: float | None = None) -> None:
        if track.state == state and track.detail == detail:
            return
        track.state, track.detail = state, detail
        t = self.clock.now() if at is None else at
        self._dispatch(DeviceStatus(track.driver.source, self.clock.wall(t), t, state, detail))

    async def _run_device(self, track: _DeviceTrack) -> None:
        driver, clock = track.driver, self.clock
        backoff = BACKOFF_START_S
        while True:
            self._set_state(track, DeviceState.CONNECTING)
            try:
                await driver.connect()
                track.last_t = clock.now()
                self._set_state(track, DeviceState.STREAMING)
                backoff = BACKOFF_START_S
                async for msg in driver.stream():
                    track.last_t = clock.now()
                    if track.state is not DeviceState.STREAMING:
                        self._set_state(track, DeviceState.STREAMING)
                    self._dispatch(msg)
                if driver.finite:
                    track.done = True
                    self._set_state(track, DeviceState.DISCONNECTED, "end of recording")
                    return
                raise DeviceError(f"{driver.source}: the device stopped sending")
            except DeviceError as e:
                for msg in e.messages:  # what the failure means, e.g. "must be paired"
                    self._dispatch(msg)
                self._set_state(track, DeviceState.DISCONNECTED, str(e))
                log.warning("%s", e)
            finally:
                await driver.close()
            await clock.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _watchdog(self, track: _DeviceTrack) -> None:
        limit = track.driver.stale_after_s
        assert limit is not None
        while not track.done:
            await self.clock.sleep(WATCHDOG_PERIOD_S)
            if track.state is DeviceState.STREAMING and self.clock.now() - track.last_t > limit:
                self._set_state(track, DeviceState.STALE,
                                f"no data for more than {limit:g} s")

    async def _tick(self, ticker: _Ticker) -> None:
        k = 1
        start = self.clock.now()
        # A session without a duration ends with its sources. Stop with them: on the virtual
        # clock a lone ticker's wake-ups are already due, so it would never yield the loop.
        while self.duration_s is not None or not all(t.done for t in self._tracks.values()):
            await self.clock.sleep_until(start + k * ticker.period_s)
            try:
                ticker.callback(self.clock.now())
            except Exception:
                log.exception("ticker %r failed", ticker.callback)
            k += 1
