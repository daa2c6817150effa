"""The session pump (the body of a future serial Driver) over an in-memory transport."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

from devices.base import DeviceDisconnected
from devices.multiparam import link
from devices.multiparam.datex.session import DatexSession
from devices.multiparam.events import Event
from devices.multiparam.fakes.datex import FakeDatex
from devices.multiparam.fakes.intellivue import FakeIntelliVue, FakeIntelliVueConfig
from devices.multiparam.intellivue.session import IntelliVueSession
from monitor.messages import Message, Numerics

STEP = 0.05
WALL0 = 1.8e9
T = TypeVar("T")


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def wall(self, t_s: float | None = None) -> float:
        return WALL0 + (self.t if t_s is None else t_s)


class MemoryTransport:
    """The monitor at the other end of a cable; reading advances the fake clock."""

    def __init__(self, monitor: FakeIntelliVue | FakeDatex, clock: FakeClock) -> None:
        self.monitor, self.clock = monitor, clock
        self.writes: list[tuple[float, bytes]] = []

    async def write(self, data: bytes) -> None:
        self.writes.append((self.clock.t, data))
        self.monitor.feed(data, self.clock.t)

    async def read(self, timeout_s: float) -> bytes:
        waited = 0.0
        while True:
            data = self.monitor.poll(self.clock.t)
            if data or waited >= timeout_s:
                return data
            self.clock.t = round(self.clock.t + STEP, 6)
            waited += STEP
            await asyncio.sleep(0)


async def collect(session: link.MonitorSession, transport: MemoryTransport, clock: FakeClock,
                  until_s: float, actions: dict[float, Callable[[float], None]] | None = None,
                  pending: list[Event] | None = None
                  ) -> tuple[list[Message], DeviceDisconnected | None]:
    msgs: list[Message] = []
    todo = sorted((actions or {}).items())
    try:
        async for m in link.pump(session, transport, clock, "mon", pending):
            msgs.append(m)
            while todo and clock.t >= todo[0][0]:
                todo.pop(0)[1](clock.t)
            if clock.t >= until_s:
                return msgs, None
    except DeviceDisconnected as e:
        return msgs, e
    raise AssertionError("the pump ended")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_intellivue_numerics_are_stamped_with_the_session_clock() -> None:
    clock, mon = FakeClock(), FakeIntelliVue()
    tr, s = MemoryTransport(mon, clock), IntelliVueSession()

    async def go() -> tuple[list[Message], DeviceDisconnected | None]:
        await link.establish(s, tr, clock, "mon", timeout_s=10)
        return await collect(s, tr, clock, 20.0)

    msgs, err = run(go())
    assert err is None
    nums = [m for m in msgs if isinstance(m, Numerics) and m.get("hr") is not None]
    assert len(nums) >= 18
    truth = {x.t_s: x.value for x in mon.sent_numerics if x.vital == "hr"}
    for m in nums:
        assert m.t_wall == WALL0 + m.t_s and m.source == "mon"
        sent_at = max(t for t in truth if t <= m.t_s + 1e-9)
        assert m.get("hr") == truth[sent_at] and m.t_s - sent_at <= link.MAX_READ_S


def test_silent_monitor_raises_disconnected_within_2_s_of_certainty() -> None:
    clock, mon = FakeClock(), FakeIntelliVue()
    tr, s = MemoryTransport(mon, clock), IntelliVueSession()

    def mute(_: float) -> None:
        mon.muted = True

    async def go() -> tuple[list[Message], DeviceDisconnected | None]:
        await link.establish(s, tr, clock, "mon", timeout_s=10)
        return await collect(s, tr, clock, 60.0, {10.0: mute})

    msgs, err = run(go())
    assert err is not None and "no data from the monitor" in str(err)
    last = max(m.t_s for m in msgs if isinstance(m, Numerics))
    certain = last + s.timing.silence_s
    assert certain <= clock.t <= certain + 2.0


def test_abort_then_reconnect_does_not_repeat_the_nibp() -> None:
    clock, mon = FakeClock(), FakeIntelliVue(FakeIntelliVueConfig(nibp_first_s=5.0))
    tr, s = MemoryTransport(mon, clock), IntelliVueSession()

    async def go() -> list[Message]:
        await link.establish(s, tr, clock, "mon", timeout_s=10)
        first, err = await collect(s, tr, clock, 60.0, {30.0: mon.abort})
        assert err is not None and "aborted" in str(err)
        pending = await link.establish(s, tr, clock, "mon", timeout_s=10)
        second, err = await collect(s, tr, clock, clock.t + 10.0, pending=pending)
        assert err is None
        return first + second

    msgs = run(go())
    nibp = [m for m in msgs if isinstance(m, Numerics) and m.get("sbp") is not None]
    assert len(nibp) == 1 and mon.stats.associations == 2
    assert nibp[0].t_s == pytest.approx(5.0, abs=0.05)


def test_no_answer_is_a_clear_disconnect() -> None:
    clock, mon = FakeClock(), FakeIntelliVue()
    mon.muted = True
    tr, s = MemoryTransport(mon, clock), IntelliVueSession()
    with pytest.raises(DeviceDisconnected, match="did not answer within 8 s"):
        run(link.establish(s, tr, clock, "mon", timeout_s=8))
    assert 8.0 <= clock.t <= 8.0 + link.MAX_READ_S + STEP


def test_release_on_close() -> None:
    clock, mon = FakeClock(), FakeIntelliVue()
    tr, s = MemoryTransport(mon, clock), IntelliVueSession()

    async def go() -> None:
        await link.establish(s, tr, clock, "mon", timeout_s=10)
        await link.release(s, tr, clock)

    run(go())
    assert s.released and mon.stats.releases == 1


def test_datex_through_the_same_pump() -> None:
    clock, mon = FakeClock(), FakeDatex()
    tr, s = MemoryTransport(mon, clock), DatexSession()

    async def go() -> tuple[list[Message], DeviceDisconnected | None]:
        pending = await link.establish(s, tr, clock, "gs5", timeout_s=10)
        msgs, err = await collect(s, tr, clock, 30.0, pending=pending)
        await link.release(s, tr, clock)
        return msgs, err

    msgs, err = run(go())
    hr = [m.get("hr") for m in msgs if isinstance(m, Numerics) and m.get("hr") is not None]
    assert err is None and hr == [r.hr for r in mon.sent]
    assert not mon.transmitting  # the stop request arrived
