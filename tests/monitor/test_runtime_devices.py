"""Devices connected and disconnected while a session runs: tasks start and stop cleanly,
the driver is closed, the store knows the device, and a deliberate disconnection raises
no alarm."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from alarms.model import AlarmEventKind
from devices.base import Driver, SpecError
from devices.spec import parse_spec
from monitor.clock import SessionClock, VirtualClock
from monitor.messages import DeviceState, DeviceStatus, Message, Numerics
from monitor.recorder import RecordingPlan, SessionRecorder
from monitor.runtime import SessionRuntime
from monitor.session import SessionStatus
from monitor.store import SessionStore


class Beat(Driver):
    """HR every second from its first connection."""

    def __init__(self, source: str, clock: SessionClock) -> None:
        super().__init__(source, f"test:{source}", clock)
        self.closes = 0

    async def connect(self) -> None:
        return None

    async def stream(self) -> AsyncIterator[Message]:
        t = float(int(self.clock.now()) + 1)
        while True:
            await self.clock.sleep_until(t)
            yield Numerics(self.source, self.clock.wall(t), t, (("hr", 70.0),))
            t += 1.0

    async def close(self) -> None:
        self.closes += 1


def test_a_device_added_and_removed_at_runtime_on_the_virtual_clock() -> None:
    clock = VirtualClock()
    first, extra = Beat("a", clock), Beat("b", clock)
    seen: list[Message] = []
    runtime = SessionRuntime([first], clock, [seen.append], duration_s=40.0)
    removal: list[asyncio.Task[None]] = []

    def at(t_s: float) -> None:  # a ticker runs on the I/O thread, at exact session times
        if t_s == 10.0:
            runtime.add_device(extra)
        elif t_s == 30.0:
            removal.append(runtime.spawn_task(runtime.remove_device("b"), "remove b"))

    runtime.add_ticker(10.0, at)
    runtime.start()
    result = runtime.wait(timeout=30)
    assert not result.errors and result.end_t_s == 40.0
    b_times = [m.t_s for m in seen if isinstance(m, Numerics) and m.source == "b"]
    assert b_times == [float(t) for t in range(11, 30)]
    b_states = [(m.t_s, m.state, m.detail) for m in seen
                if isinstance(m, DeviceStatus) and m.source == "b"]
    assert b_states == [(10.0, DeviceState.CONNECTING, ""), (10.0, DeviceState.STREAMING, ""),
                        (30.0, DeviceState.DISCONNECTED, "disconnected by the user")]
    assert extra.closes == 1 and removal[0].done()
    assert set(runtime.device_states()) == {"a"}
    a_times = [m.t_s for m in seen if isinstance(m, Numerics) and m.source == "a"]
    assert len(a_times) >= 39 and a_times == [float(t) for t in range(1, len(a_times) + 1)]
    assert not any(t.name == "device-io" and t.is_alive() for t in threading.enumerate())


def test_adding_a_source_twice_or_removing_an_unknown_one_fails_clearly() -> None:
    clock = VirtualClock()
    runtime = SessionRuntime([Beat("a", clock)], clock, duration_s=5.0)
    with pytest.raises(ValueError, match="already in the session"):
        runtime.add_device(Beat("a", clock))
    with pytest.raises(KeyError, match="no device 'zz'"):
        asyncio.run(runtime.remove_device("zz"))


def test_recorder_connects_and_disconnects_a_sim_without_an_alarm(tmp_path: Path) -> None:
    """A second simulator joins at 20x real time, streams, and is disconnected on purpose:
    it is in the store's devices, its last status says why, and no link-lost alarm for it
    is logged or shown."""
    plan = RecordingPlan((parse_spec("sim:normal?seed=1"),), 600.0, 20.0)
    streaming = threading.Event()
    states: list[DeviceStatus] = []

    def sink(msg: Message) -> None:
        if isinstance(msg, DeviceStatus) and msg.source == "sim-2":
            states.append(msg)
            if msg.state is DeviceState.STREAMING:
                streaming.set()

    with SessionStore(tmp_path / "v.sqlite3") as store:
        rec = SessionRecorder(store, plan, [sink])
        rec.start()
        try:
            with pytest.raises(SpecError, match="real-time session"):
                rec.connect_device("masimo:/dev/ttyUSB9")
            with pytest.raises(SpecError, match="unknown kind"):
                rec.connect_device("bogus:1")
            assert rec.connect_device("sim:desaturation?seed=2") == "sim-2"
            assert streaming.wait(10)
            assert rec.devices() == {"sim": "sim:normal?seed=1",
                                     "sim-2": "sim:desaturation?seed=2"}
            rec.disconnect_device("sim-2", "nurse").result(10)
            assert set(rec.devices()) == {"sim"}
            with pytest.raises(KeyError):
                rec.disconnect_device("sim-2")
            # The next one gets a new id: the log never mixes two devices under one name.
            assert rec.connect_device("sim:normal") == "sim-3"
            snap = rec.alarms.snapshot()
        finally:
            rec.stop(SessionStatus.COMPLETED)
        with pytest.raises(RuntimeError, match="session has ended"):
            rec.connect_device("sim")
        with pytest.raises(RuntimeError, match="session has ended"):
            rec.disconnect_device("sim")
        assert states[-1].state is DeviceState.DISCONNECTED
        assert states[-1].detail == "disconnected by the user"
        assert not any(a.key == "link-lost:sim-2" for a in snap.alarms)
        assert set(store.devices(rec.session_id)) == {"sim", "sim-2", "sim-3"}
        events = store.alarm_events(rec.session_id)
        assert not any(e.alarm is not None and e.alarm.key == "link-lost:sim-2"
                       and e.event is AlarmEventKind.START for e in events)
        codes = [(src, code, detail) for _t, _w, src, kind, code, _a, _v, _x, detail
                 in store.device_events(rec.session_id) if src == "sim-2"]
        assert codes[-1] == ("sim-2", "disconnected", "disconnected by the user")
    assert not any(t.name in ("device-io", "store-writer") and t.is_alive()
                   for t in threading.enumerate())
