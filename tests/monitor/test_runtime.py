from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from devices.base import DeviceDisconnected, Driver
from monitor.clock import SessionClock, VirtualClock
from monitor.messages import DeviceState, DeviceStatus, Message, Numerics
from monitor.runtime import IoThread, SessionRuntime


class FlakyDriver(Driver):
    """Sends HR every second; the link drops at 5 s and is back from 12 s."""

    def __init__(self, clock: SessionClock, silent_from: float | None = None) -> None:
        super().__init__("flaky", "test:flaky", clock)
        self.connects = 0
        self.closes = 0
        self.silent_from = silent_from

    async def connect(self) -> None:
        self.connects += 1
        if 5.0 <= self.clock.now() < 12.0:
            raise DeviceDisconnected("flaky: not answering")

    async def stream(self) -> AsyncIterator[Message]:
        t = float(int(self.clock.now()) + 1)
        while True:
            await self.clock.sleep_until(t)
            if 5.0 <= t < 12.0:
                raise DeviceDisconnected("flaky: link lost")
            if self.silent_from is None or t < self.silent_from:
                yield Numerics(self.source, self.clock.wall(t), t, (("hr", 60.0 + t),))
            t += 1.0

    async def close(self) -> None:
        self.closes += 1


def _run(runtime: SessionRuntime) -> None:
    runtime.start()
    result = runtime.wait(timeout=30)
    assert not result.errors


def test_disconnect_and_reconnect_with_backoff() -> None:
    clock = VirtualClock()
    driver = FlakyDriver(clock)
    seen: list[Message] = []
    _run(SessionRuntime([driver], clock, [seen.append], duration_s=20.0))
    states = [(m.t_s, m.state) for m in seen if isinstance(m, DeviceStatus)]
    assert states[:3] == [(0.0, DeviceState.CONNECTING), (0.0, DeviceState.STREAMING),
                          (5.0, DeviceState.DISCONNECTED)]
    # Back-off 1, 2, 4, 8 s: attempts at 6, 8, 12 -> streaming again at 12 s.
    assert (12.0, DeviceState.STREAMING) in states
    assert states[-1] == (20.0, DeviceState.DISCONNECTED)
    hr_times = [m.t_s for m in seen if isinstance(m, Numerics)]
    assert hr_times == [1.0, 2.0, 3.0, 4.0] + [float(t) for t in range(13, 20)]
    assert driver.closes == driver.connects  # every connection attempt was closed


def test_silent_device_becomes_stale_then_streaming_again() -> None:
    clock = VirtualClock()
    driver = FlakyDriver(clock, silent_from=2.5)
    driver.stale_after_s = 1.5
    seen: list[Message] = []
    _run(SessionRuntime([driver], clock, [seen.append], duration_s=4.9))
    states = [(m.t_s, m.state) for m in seen if isinstance(m, DeviceStatus)]
    assert (4.0, DeviceState.STALE) in states  # last data at 2 s; > 1.5 s at the 4.0 s check


def test_a_failing_sink_does_not_stop_the_others() -> None:
    clock = VirtualClock()
    seen: list[Message] = []

    def broken(_m: Message) -> None:
        raise RuntimeError("sink bug")

    _run(SessionRuntime([FlakyDriver(clock)], clock, [broken, seen.append], duration_s=3.0))
    assert sum(isinstance(m, Numerics) for m in seen) == 2


def test_tickers_run_on_session_time() -> None:
    clock = VirtualClock()
    ticks: list[float] = []
    runtime = SessionRuntime([FlakyDriver(clock)], clock, duration_s=3.0)
    runtime.add_ticker(0.5, ticks.append)
    _run(runtime)
    assert ticks == [0.5, 1.0, 1.5, 2.0, 2.5]


def test_stop_ends_a_live_session_and_leaves_no_thread() -> None:
    from monitor.clock import ScaledClock
    clock = ScaledClock(1.0)
    got_one = threading.Event()
    runtime = SessionRuntime([FlakyDriver(clock)], clock,
                             [lambda m: got_one.set() if isinstance(m, Numerics) else None],
                             duration_s=3600.0)
    runtime.start()
    assert got_one.wait(5.0)
    result = runtime.stop()
    assert result is not None and result.cancelled
    assert 1.0 <= result.end_t_s < 60.0
    assert not any(t.name == "device-io" for t in threading.enumerate())


def test_io_thread_submit_and_stop() -> None:
    io = IoThread().start()

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert io.submit(answer()).result(5) == 42
    assert io.call(lambda: threading.current_thread().name) == "device-io"
    io.stop()
    assert not io.running


def test_session_without_duration_needs_finite_sources() -> None:
    clock = VirtualClock()
    with pytest.raises(ValueError, match="finite"):
        SessionRuntime([FlakyDriver(clock)], clock, duration_s=None)


def test_live_conditions_are_kept_per_vital() -> None:
    from monitor.live import LiveState
    from monitor.messages import Condition, DeviceCondition

    live = LiveState()
    for vital, active in (("spo2", True), ("sbp", True), ("spo2", False)):
        live(DeviceCondition("mon", 0.0, 0.0, Condition.MEASUREMENT_INVALID, active, vital))
    assert live.snapshot(1.0).conditions == (("mon", "measurement_invalid", "sbp"),)
