"""The BLE driver against an in-memory stand-in for bleak's client: subscriptions, the
battery, drop-outs, pairing failures, errors in words, and a reconnect under the runtime."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bleak.exc import BleakDBusError, BleakDeviceNotFoundError

from devices.base import DeviceDisconnected, DeviceError, SpecError
from devices.ble import driver as ble_driver
from devices.ble import gatt
from devices.ble.driver import BleDriver, is_pairing_error
from devices.ble.gatt import uuid16
from devices.spec import parse_spec
from monitor.clock import ScaledClock
from monitor.messages import (
    Battery,
    Condition,
    DeviceCondition,
    DeviceState,
    DeviceStatus,
    Message,
    Numerics,
)
from monitor.runtime import SessionRuntime
from tests.helpers.sinks import Collector

ADDRESS = "A4:C1:38:12:34:56"


class FakeChar:
    def __init__(self, short: int, *properties: str) -> None:
        self.uuid = uuid16(short)
        self.properties = list(properties)


class FakeService:
    def __init__(self, short: int, *chars: FakeChar) -> None:
        self.uuid = uuid16(short)
        self.characteristics = list(chars)


def hr_device() -> list[FakeService]:
    return [FakeService(gatt.HEART_RATE_SERVICE,
                        FakeChar(gatt.HEART_RATE_MEASUREMENT, "notify"),
                        FakeChar(gatt.BODY_SENSOR_LOCATION, "read")),
            FakeService(gatt.BATTERY_SERVICE, FakeChar(gatt.BATTERY_LEVEL, "read", "notify"))]


class FakeClient:
    """Plays bleak's BleakClient: what a device offers, and what it does when asked."""

    def __init__(self, device: Any, disconnected_callback: Any, *, services: list[FakeService],
                 battery: bytes = b"\x5a", fail: BaseException | None = None,
                 battery_error: BaseException | None = None, hang: bool = False) -> None:
        self.device = device
        self.disconnected_callback = disconnected_callback
        self.services = services
        self.battery = battery
        self.fail = fail
        self.battery_error = battery_error
        self.hang = hang
        self.callbacks: dict[str, Any] = {}
        self.connected = False
        self.disconnects = 0

    async def connect(self) -> None:
        if self.hang:
            await asyncio.Event().wait()
        self.connected = True

    async def start_notify(self, char: FakeChar, callback: Any) -> None:
        if self.fail is not None:
            raise self.fail
        self.callbacks[char.uuid] = callback

    async def read_gatt_char(self, char: FakeChar) -> bytearray:
        if self.battery_error is not None:
            raise self.battery_error
        return bytearray(self.battery)

    async def disconnect(self) -> None:
        self.disconnects += 1
        if self.connected:
            self.connected = False
            self.disconnected_callback(self)

    # test controls
    def notify(self, short: int, data: bytes) -> None:
        self.callbacks[uuid16(short)](None, bytearray(data))

    def drop(self) -> None:
        """The radio link is lost (bleak calls the disconnected callback)."""
        self.connected = False
        self.disconnected_callback(self)


class Harness:
    """Builds a BleDriver whose every connect gets a new FakeClient."""

    def __init__(self, clock: Any = None, **client_args: Any) -> None:
        self.client_args = client_args
        self.clients: list[FakeClient] = []
        self.present = True
        spec = parse_spec(f"ble:{ADDRESS}")
        self.driver = BleDriver(spec, "ble", clock or ScaledClock(), client_factory=self.make,
                                find_device=self.find)

    async def find(self, address: str, timeout: float) -> Any:
        return address if self.present else None

    def make(self, device: Any, disconnected_callback: Any) -> FakeClient:
        args = {"services": hr_device(), **self.client_args}
        client = FakeClient(device, disconnected_callback, **args)
        self.clients.append(client)
        return client


async def next_messages(stream: AsyncIterator[Message], n: int) -> list[Message]:
    return [await asyncio.wait_for(anext(stream), 2.0) for _ in range(n)]


def test_spec_checks() -> None:
    assert BleDriver.check_spec(parse_spec("ble:a4:c1:38:12:34:56?adapter=hci1")) is None
    for bad, words in (("ble:12345", "not a Bluetooth address"),
                       (f"ble:{ADDRESS}?adapter=usb0", "not like hci0"),
                       (f"ble:{ADDRESS}?pin=0000", "unknown option")):
        with pytest.raises(SpecError, match=words):
            parse_spec(bad)


def test_connect_reads_battery_and_streams_values() -> None:
    async def run() -> None:
        hx = Harness(battery=b"\x0f")
        await hx.driver.connect()
        stream = hx.driver.stream()
        (battery,) = await next_messages(stream, 1)
        assert isinstance(battery, Battery) and battery.percent == 15.0
        client = hx.clients[0]
        assert set(client.callbacks) == {uuid16(gatt.HEART_RATE_MEASUREMENT),
                                         uuid16(gatt.BATTERY_LEVEL)}
        client.notify(gatt.HEART_RATE_MEASUREMENT, bytes([0x16, 70, 0x00, 0x04]))
        client.notify(gatt.HEART_RATE_MEASUREMENT, b"\x01")  # malformed: skipped, logged
        client.notify(gatt.HEART_RATE_MEASUREMENT, bytes([0x00, 71]))
        first, second = await next_messages(stream, 2)
        assert isinstance(first, Numerics) and first.values == (("hr", 70.0),)
        assert isinstance(second, Numerics) and second.values == (("hr", 71.0),)
        await stream.aclose()
        await hx.driver.close()
        assert client.disconnects == 1
    asyncio.run(run())


def test_drop_ends_the_stream_at_once_and_close_leaves_no_task() -> None:
    async def run() -> None:
        hx = Harness()
        await hx.driver.connect()
        stream = hx.driver.stream()
        await next_messages(stream, 1)  # the battery
        hx.clients[0].drop()
        t0 = time.monotonic()
        with pytest.raises(DeviceDisconnected, match="link lost"):
            await asyncio.wait_for(anext(stream), 2.0)
        assert time.monotonic() - t0 < 2.0
        await hx.driver.close()
        assert asyncio.all_tasks() == {asyncio.current_task()}
    asyncio.run(run())


def test_pairing_failure_in_words_and_condition() -> None:
    async def run() -> None:
        denied = BleakDBusError("org.bluez.Error.NotPermitted", ["Insufficient authentication"])
        hx = Harness(fail=denied)
        with pytest.raises(DeviceError, match="must be paired") as err:
            await hx.driver.connect()  # not connected: the runtime backs off
        assert "'P'" in str(err.value) and "'Pr'" in str(err.value)
        (cond,) = err.value.messages  # recorded by the runtime before "disconnected"
        assert isinstance(cond, DeviceCondition)
        assert (cond.condition, cond.active) == (Condition.PAIRING_REQUIRED, True)
        assert hx.clients[0].disconnects == 1  # the half-open link is closed
        # Once paired, the next connection clears the condition.
        hx.client_args.pop("fail")
        await hx.driver.connect()
        stream = hx.driver.stream()
        msgs = await next_messages(stream, 2)
        cleared = [m for m in msgs if isinstance(m, DeviceCondition)]
        assert [(c.condition, c.active) for c in cleared] == [
            (Condition.PAIRING_REQUIRED, False)]
        await hx.driver.close()
    asyncio.run(run())


@pytest.mark.parametrize(("error", "pairing"), [
    (BleakDBusError("org.bluez.Error.AuthenticationFailed", []), True),
    (BleakDBusError("org.bluez.Error.Failed", ["Insufficient Encryption (0x0f)"]), True),
    (BleakDBusError("org.bluez.Error.Failed", ["le-connection-abort-by-local"]), False),
    (BleakDBusError("org.bluez.Error.InProgress", []), False),
    (TimeoutError(), False),
])
def test_is_pairing_error(error: BaseException, pairing: bool) -> None:
    assert is_pairing_error(error) is pairing


def test_not_found_and_wrong_device_in_words() -> None:
    async def run() -> None:
        hx = Harness()
        hx.present = False
        with pytest.raises(DeviceDisconnected, match="not found: check that it is switched on"):
            await hx.driver.connect()
        hx.present = True
        hx.client_args["services"] = [FakeService(0x1800, FakeChar(0x2A00, "read"))]
        with pytest.raises(DeviceError, match="not a device Vigil can read"):
            await hx.driver.connect()
        assert hx.clients[-1].disconnects == 1
    asyncio.run(run())


def test_silent_device_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ble_driver, "CONNECT_TIMEOUT_S", 0.05)

    async def run() -> None:
        hx = Harness(hang=True)
        with pytest.raises(DeviceDisconnected, match="did not answer in time"):
            await hx.driver.connect()
        assert asyncio.all_tasks() == {asyncio.current_task()}
    asyncio.run(run())


def test_bleak_errors_become_device_errors() -> None:
    async def run() -> None:
        hx = Harness()

        def broken(device: Any, disconnected_callback: Any) -> FakeClient:
            raise BleakDeviceNotFoundError(ADDRESS)
        hx.driver._client_factory = broken
        with pytest.raises(DeviceDisconnected, match="not found"):
            await hx.driver.connect()
        hx.driver._client_factory = lambda *a, **k: (_ for _ in ()).throw(
            FileNotFoundError("no bus"))
        with pytest.raises(DeviceError, match="Bluetooth is not available"):
            await hx.driver.connect()
    asyncio.run(run())


def test_runtime_marks_a_drop_disconnected_within_2_s_and_reconnects() -> None:
    clock = ScaledClock(speed=10.0)  # the runtime's 1 s back-off passes in 0.1 s
    hx = Harness(clock=clock)
    sink = Collector(timeout=5.0)
    wait_for = sink.wait_for

    def streaming(m: Message) -> bool:
        return isinstance(m, DeviceStatus) and m.state is DeviceState.STREAMING

    runtime = SessionRuntime([hx.driver], clock, [sink], duration_s=600.0)
    runtime.start()
    try:
        wait_for(streaming)
        io = runtime._io
        assert io is not None
        io.loop.call_soon_threadsafe(hx.clients[0].notify, gatt.HEART_RATE_MEASUREMENT,
                                     bytes([0x00, 66]))
        wait_for(lambda m: isinstance(m, Numerics))
        mark = len(sink.items)
        dropped = time.monotonic()
        io.loop.call_soon_threadsafe(hx.clients[0].drop)
        _, seen, _ = wait_for(lambda m: isinstance(m, DeviceStatus)
                              and m.state is DeviceState.DISCONNECTED, after=mark)
        assert seen - dropped < 2.0
        wait_for(streaming, after=mark)  # the device came back: connected again
        assert len(hx.clients) == 2
    finally:
        runtime.stop()
    assert hx.clients[1].disconnects >= 1


def test_unreadable_battery_costs_only_the_battery() -> None:
    async def run() -> None:
        hx = Harness(battery_error=BleakDBusError("org.bluez.Error.Failed", ["Read failed"]))
        await hx.driver.connect()
        stream = hx.driver.stream()
        hx.clients[0].notify(gatt.HEART_RATE_MEASUREMENT, bytes([0x00, 60]))
        (msg,) = await next_messages(stream, 1)  # no Battery message, the HR all the same
        assert isinstance(msg, Numerics) and msg.values == (("hr", 60.0),)
        await hx.driver.close()
    asyncio.run(run())
