"""Test-time BLE peripherals served to BlueZoo (mock BlueZ) with bluez-peripheral.

    python ble_peripheral.py central=ADDR KIND=ADDR [KIND=ADDR ...]

Each device runs on the BlueZoo adapter with that address (adapters are picked by address:
BlueZoo lists them in no fixed order) and advertises its services. KIND is one of:
- hr:  Heart Rate 0x180D (2A37 notify, 72 bpm with contact and an RR interval, every
       0.25 s; 2A38 chest) and Battery 0x180F (2A19 read/notify, 15 %);
- plx: Pulse Oximeter 0x1822 (2A5F notify, SpO2 97 % PR 72, every 0.25 s; 2A60 features);
- bp:  Blood Pressure 0x1810 (2A35 indicate: 120/80 mmHg, MAP 93, pulse 64, every 0.5 s
       while subscribed; 2A36 notify).
Prints READY once everything is registered. SIGUSR1 drops the central's link to each
connected hr device and silences it for 3 s (a strap walking out of range), then it
advertises again. Runs until SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from bluez_peripheral.advert import Advertisement
from bluez_peripheral.gatt.characteristic import CharacteristicFlags as Flags
from bluez_peripheral.gatt.characteristic import characteristic
from bluez_peripheral.gatt.service import Service, ServiceCollection
from bluez_peripheral.util import Adapter, get_message_bus
from dbus_next.errors import DBusError

HRM = bytes([0x16, 72, 0x00, 0x04])  # contact detected, HR 72, RR 1.000 s
PLX = bytes([0x00, 0x61, 0x00, 0x48, 0x00])  # SpO2 97, PR 72
BPM = bytes([0x04, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00, 0x40, 0x00])  # 120/80 (93), pulse 64
ICP = bytes([0x00, 0x91, 0x00, 0xFF, 0x07, 0xFF, 0x07])  # cuff 145 mmHg
BATTERY = b"\x0f"  # 15 %: low
DROP_S = 3.0


# bluez-peripheral keeps characteristics as class attributes, so each device gets classes
# of its own: two instances of one class would share (and fight over) one characteristic.
def heart_rate_services() -> list[Service]:
    class HeartRate(Service):
        def __init__(self) -> None:
            super().__init__("180D", True)

        @characteristic("2A37", Flags.NOTIFY)
        def measurement(self, _options: object) -> bytes:
            return HRM

        @characteristic("2A38", Flags.READ)
        def location(self, _options: object) -> bytes:
            return b"\x01"

    class BatteryService(Service):
        def __init__(self) -> None:
            super().__init__("180F", True)

        @characteristic("2A19", Flags.READ | Flags.NOTIFY)
        def level(self, _options: object) -> bytes:
            return BATTERY

    return [HeartRate(), BatteryService()]


def pulse_oximeter_services() -> list[Service]:
    class PulseOximeter(Service):
        def __init__(self) -> None:
            super().__init__("1822", True)

        @characteristic("2A5F", Flags.NOTIFY)
        def continuous(self, _options: object) -> bytes:
            return PLX

        @characteristic("2A60", Flags.READ)
        def features(self, _options: object) -> bytes:
            return b"\x00\x00"

    return [PulseOximeter()]


def blood_pressure_services() -> list[Service]:
    class BloodPressure(Service):
        def __init__(self) -> None:
            super().__init__("1810", True)

        @characteristic("2A35", Flags.INDICATE)
        def measurement(self, _options: object) -> bytes:
            return BPM

        @characteristic("2A36", Flags.NOTIFY)
        def cuff(self, _options: object) -> bytes:
            return ICP

        @characteristic("2A49", Flags.READ)
        def feature(self, _options: object) -> bytes:
            return b"\x05\x00"

    return [BloodPressure()]


KINDS = {
    # kind: (local name, advertised services, appearance category, services)
    "hr": ("Vigil Test HR", ["180D", "180F"], 0x0340, heart_rate_services),
    "plx": ("Vigil Test Oximeter", ["1822"], 0x0C40, pulse_oximeter_services),
    "bp": ("Vigil Test Cuff", ["1810"], 0x0380, blood_pressure_services),
}


async def _adapter_by_address(bus, address: str) -> Adapter:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while loop.time() < deadline:  # BlueZoo adds its adapters just after it starts
        with contextlib.suppress(DBusError):
            for adapter in await Adapter.get_all(bus):
                if (await adapter.get_address()).upper() == address.upper():
                    return adapter
        await asyncio.sleep(0.05)
    raise SystemExit(f"no adapter with address {address}")


async def _drop_link(bus, central: Adapter, address: str) -> bool:
    """Ends the central's link to `address` as a radio loss would: BlueZoo cannot drop a
    link from the peripheral's side, so this disconnects the central's device object."""
    path = f"{central._proxy.path}/dev_{address.upper().replace(':', '_')}"
    proxy = bus.get_proxy_object("org.bluez", path, await bus.introspect("org.bluez", path))
    device = proxy.get_interface("org.bluez.Device1")
    if not await device.get_connected():
        return False
    await device.call_disconnect()
    return True


class _Advertiser:
    """Re-registers the advertisement every cycle with its appearance toggled between two
    codes of the device's category, so that BlueZoo reports the device to every scan as a
    radio would (it reports only devices whose properties changed)."""

    def __init__(self, bus, adapter: Adapter, role: str, name: str, uuids: list[str],
                 appearance: int) -> None:
        self.bus, self.adapter, self.role, self.name, self.uuids = bus, adapter, role, name, uuids
        self.appearance = appearance
        self.count = 0
        self.path: str | None = None

    async def refresh(self) -> None:
        self.count += 1
        path = f"/org/vigil/test/{self.role}/advert{self.count % 2}"
        await Advertisement(self.name, self.uuids, self.appearance + self.count % 2, 0
                            ).register(self.bus, self.adapter, path)
        await self.stop()
        self.path = path

    async def stop(self) -> None:
        if self.path is not None:
            manager = self.adapter._proxy.get_interface("org.bluez.LEAdvertisingManager1")
            await manager.call_unregister_advertisement(self.path)
            self.path = None


async def main(central_address: str, devices: list[tuple[str, str]]) -> None:
    bus = await get_message_bus()
    served: list[tuple[str, _Advertiser, list[Service], str]] = []
    for n, (kind, address) in enumerate(devices):
        name, uuids, appearance, make = KINDS[kind]
        adapter = await _adapter_by_address(bus, address)
        services = make()
        await ServiceCollection(services).register(bus, f"/org/vigil/test/d{n}", adapter)
        advertiser = _Advertiser(bus, adapter, f"d{n}", name, uuids, appearance)
        await advertiser.refresh()
        served.append((kind, advertiser, services, address))
    central = await _adapter_by_address(bus, central_address)
    stop = asyncio.Event()
    drop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, drop.set)
    print("READY", flush=True)
    tick = 0
    muted_until: dict[str, float] = {}
    while not stop.is_set():
        now = loop.time()
        if drop.is_set():
            drop.clear()
            for kind, advertiser, _services, address in served:
                if kind == "hr" and await _drop_link(bus, central, address):
                    muted_until[address] = now + DROP_S
                    await advertiser.stop()
        for kind, advertiser, services, address in served:
            if now < muted_until.get(address, 0.0):
                continue
            if tick % 4 == 0:
                await advertiser.refresh()
            if kind == "hr":
                services[0].measurement.changed(HRM)
                if tick % 8 == 0:
                    services[1].level.changed(BATTERY)
            elif kind == "plx":
                services[0].continuous.changed(PLX)
            elif kind == "bp" and tick % 2 == 0:
                services[0].cuff.changed(ICP)
                services[0].measurement.changed(BPM)
        tick += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)
    bus.disconnect()


if __name__ == "__main__":
    pairs = [arg.split("=", 1) for arg in sys.argv[1:]]
    central_address = dict(pairs).get("central", "")
    wanted = [(k, a) for k, a in pairs if k != "central"]
    if not central_address or not wanted or any(k not in KINDS for k, _ in wanted):
        raise SystemExit(f"usage: {sys.argv[0]} central=ADDR KIND=ADDR ... (KIND: hr, plx, bp)")
    asyncio.run(main(central_address, wanted))
