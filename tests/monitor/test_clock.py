from __future__ import annotations

import asyncio

import pytest

from monitor.clock import ScaledClock, VirtualClock


def test_virtual_clock_runs_participants_in_time_order() -> None:
    clock = VirtualClock(wall0=1000.0)
    order: list[tuple[str, float]] = []

    async def ticker(name: str, period: float, n: int) -> None:
        try:
            for k in range(1, n + 1):
                await clock.sleep_until(k * period)
                order.append((name, clock.now()))
        finally:
            clock.leave()

    async def main() -> None:
        clock.enter()
        clock.enter()
        await asyncio.gather(ticker("a", 0.3, 10), ticker("b", 0.7, 4))

    asyncio.run(main())
    times = [t for _, t in order]
    assert times == sorted(times)
    assert ("b", 2.8) in order and ("a", 3.0) in [(n, round(t, 9)) for n, t in order]
    assert clock.wall(2.0) == 1002.0


def test_virtual_clock_waits_for_every_participant_before_advancing() -> None:
    clock = VirtualClock()
    seen: list[float] = []

    async def slow_starter(gate: asyncio.Event) -> None:
        try:
            await gate.wait()  # not waiting on the clock: time must not move past it
            await clock.sleep_until(1.0)
            seen.append(clock.now())
        finally:
            clock.leave()

    async def fast() -> None:
        try:
            await clock.sleep_until(5.0)
            seen.append(clock.now())
        finally:
            clock.leave()

    async def main() -> None:
        gate = asyncio.Event()
        clock.enter()
        clock.enter()
        a = asyncio.create_task(slow_starter(gate))
        b = asyncio.create_task(fast())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert clock.now() == 0.0
        gate.set()
        await asyncio.gather(a, b)

    asyncio.run(main())
    assert seen == [1.0, 5.0]


def test_cancelled_sleeper_does_not_block_time() -> None:
    clock = VirtualClock()

    async def main() -> float:
        clock.enter()
        clock.enter()
        sleeper = asyncio.create_task(clock.sleep_until(100.0))
        await asyncio.sleep(0)
        sleeper.cancel()
        clock.leave()
        try:
            await clock.sleep_until(3.0)
        finally:
            clock.leave()
        return clock.now()

    assert asyncio.run(main()) == 3.0


def test_scaled_clock_speed() -> None:
    clock = ScaledClock(speed=1000.0)

    async def main() -> float:
        await clock.sleep_until(50.0)  # 50 ms of real time
        return clock.now()

    assert asyncio.run(main()) >= 50.0
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(speed=0)
