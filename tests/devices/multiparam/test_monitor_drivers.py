"""The IntelliVue and S/5 drivers in-process, on a pty served by the fake monitors: SPECs,
connect / stream / close, one session across reconnects (an NIBP is not recorded twice),
release on close, and a clear error when nothing answers."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Callable

import pytest

from alarms.engine import AlarmEngine
from alarms.model import AlarmKind, Priority
from alarms.presets import PRESETS
from devices.base import DeviceDisconnected, SpecError
from devices.multiparam.fakes.datex import FakeDatex, FakeDatexConfig
from devices.multiparam.fakes.intellivue import FakeIntelliVue, FakeIntelliVueConfig
from devices.multiparam.intellivue import pdu
from devices.serial.datex import DatexDriver
from devices.serial.intellivue import IntelliVueDriver
from devices.spec import create_driver, known_schemes, parse_spec
from monitor.clock import ScaledClock
from monitor.messages import Message, Numerics
from monitor.validity import Flag
from tests.devices.multiparam.monitor_pty import MonitorPty

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs POSIX ptys")
DEADLINE_S = 15.0


@pytest.mark.parametrize(("text", "cls", "baud"), [
    ("intellivue:/dev/ttyUSB0", IntelliVueDriver, 115200),
    ("intellivue:/dev/ttyUSB0@19200", IntelliVueDriver, 19200),
    ("datex:/dev/ttyS0", DatexDriver, 19200),
    ("datex:COM3@115200", DatexDriver, 115200),
])
def test_specs(text: str, cls: type, baud: int) -> None:
    driver = create_driver(parse_spec(text), "mon", ScaledClock())
    assert isinstance(driver, cls)
    assert driver.baud == baud


@pytest.mark.parametrize(("text", "words"), [
    ("intellivue:/dev/ttyUSB0@9600", "use 115200 or 19200"),
    ("datex:/dev/ttyS0@38400", "use 19200 or 115200"),
    ("datex:@19200", "needs a port"),
])
def test_bad_specs(text: str, words: str) -> None:
    with pytest.raises(SpecError, match=words):
        parse_spec(text)


async def _collect(stream: AsyncIterator[Message], done: Callable[[list[Message]], bool]
                   ) -> list[Message]:
    got: list[Message] = []
    async with asyncio.timeout(DEADLINE_S):
        async for msg in stream:
            got.append(msg)
            if done(got):
                break
    return got


def _with(key: str) -> Callable[[list[Message]], bool]:
    return lambda got: any(isinstance(m, Numerics) and key in dict(m.values) for m in got)


def _nibp(msgs: list[Message]) -> list[dict[str, float]]:
    return [dict(m.values) for m in msgs if isinstance(m, Numerics) and "sbp" in dict(m.values)]


def test_intellivue_one_session_across_reconnects() -> None:
    mon = FakeIntelliVue(FakeIntelliVueConfig(nibp_first_s=0.5))
    with MonitorPty(mon) as pty:
        driver = create_driver(parse_spec(f"intellivue:{pty.path}"), "mp", ScaledClock())

        async def run() -> tuple[list[Message], list[Message]]:
            await driver.connect()
            first = await _collect(driver.stream(), _with("sbp"))
            await driver.close()
            await driver.connect()  # a new association on a new port: the same NIBP again
            second = await _collect(driver.stream(), lambda got: len(
                [m for m in got if isinstance(m, Numerics) and "hr" in dict(m.values)]) >= 3)
            await driver.close()
            return first, second

        first, second = asyncio.run(run())
        with pty.control():
            truth = mon.last_nibp(pty.now())
            releases, associations = mon.stats.releases, mon.stats.associations
    assert truth is not None
    assert _nibp(first) == [{"sbp": truth.sbp, "dbp": truth.dbp, "map": truth.map}]
    assert _nibp(second) == [], "the same NIBP reading was passed on twice"
    assert (releases, associations) == (2, 2)


def test_intellivue_valid_hr_zero_in_alarm_is_a_high_alarm_on_the_tile() -> None:
    # As on a real MP90 in VF: HR 0, MeasurementState valid + MSMT_STATE_IN_ALARM (0x0002).
    mon = FakeIntelliVue(FakeIntelliVueConfig(values=((0.0, 1e9, "hr", 0.0),),
                                              states=((0.0, 1e9, "hr", pdu.MS_IN_ALARM),)))
    with MonitorPty(mon) as pty:
        driver = create_driver(parse_spec(f"intellivue:{pty.path}"), "mp", ScaledClock())

        async def run() -> list[Message]:
            await driver.connect()
            got = await _collect(driver.stream(), lambda got: len(
                [m for m in got if isinstance(m, Numerics) and m.get("hr") is not None]) >= 2)
            await driver.close()
            return got

        got = asyncio.run(run())
    hr = [m for m in got if isinstance(m, Numerics) and m.get("hr") is not None]
    assert all((m.get("hr"), m.flag("hr"), m.in_alarm) == (0.0, Flag.VALID, ("hr",))
               for m in hr)
    assert all(m.flag("spo2") is Flag.VALID and "spo2" not in m.in_alarm for m in hr)
    engine = AlarmEngine(PRESETS["iv-ketamine"])
    for m in got:
        engine(m)
    engine.tick(hr[0].t_s + 11.0)  # past every delay: "leads off?" would show by now
    shown = engine.snapshot().alarms
    assert [(a.key, a.kind) for a in shown if a.priority is Priority.HIGH] == [
        ("hr-low:mp", AlarmKind.PHYSIOLOGICAL)]  # HR low at its extreme tier
    assert [a.condition for a in shown if a.vital == "hr"] == ["HR EXTREME LOW"]
    assert not [a for a in shown if a.kind is AlarmKind.TECHNICAL and a.vital == "hr"]


def test_datex_stops_transmission_on_close() -> None:
    mon = FakeDatex(FakeDatexConfig(nibp_first_s=0.0))
    with MonitorPty(mon) as pty:
        driver = create_driver(parse_spec(f"datex:{pty.path}"), "s5", ScaledClock())

        async def run() -> list[Message]:
            await driver.connect()
            got = await _collect(driver.stream(), _with("hr"))
            await driver.close()
            return got

        got = asyncio.run(run())
        pty.wait_for(lambda _: not mon.transmitting)  # the stop request arrived
        with pty.control():
            first, requests = mon.sent[0], list(mon.requests)
    hr = [dict(m.values) for m in got if isinstance(m, Numerics) and "hr" in dict(m.values)]
    assert hr[0] == {"hr": first.hr, "spo2": first.spo2 / 100, "pr": first.pr}
    assert requests[0][1] == 5 and requests[-1][1] == 0


def test_silent_port_names_the_monitor_setup() -> None:
    mon = FakeIntelliVue()
    mon.powered = False
    with MonitorPty(mon) as pty:
        driver = IntelliVueDriver(parse_spec(f"intellivue:{pty.path}"), "mp", ScaledClock())
        driver.answer_s = 0.5

        async def run() -> None:
            try:
                await driver.connect()
            finally:
                await driver.close()

        with pytest.raises(DeviceDisconnected, match="Data Export"):
            asyncio.run(run())


def test_device_help_names_every_scheme() -> None:
    from main import DEVICE_HELP

    named = set(re.findall(r"\b([a-z]+)(?:\[?:)", DEVICE_HELP))
    assert named == set(known_schemes())
