"""Test-time BLE peripherals served to BlueZoo (mock BlueZ) with bluez-peripheral.

    python ble_peripheral.py central=ADDR KIND=ADDR [KIND=ADDR ...]

Each device runs on the BlueZoo adapter with that address (adapters are picked by address:
BlueZoo lists them in no fixed order) and advertises its services. KIND is one of:
- hr:  Heart Rate 0x180D (2A37 notify, 72 bpm with contact and an RR interval, every
       0.25 s; 2A38 chest) and Battery 0x180F (2A19 read/notify, 15 %);
- plx: Pulse Oximeter 0x1822 (2A5F notify, SpO2 97 % PR 72, every 0.25 s; 2A60 features);
- bp:  Blood Pressure 0x1810 (2A35 indicate: 120/80 mmHg, MAP 93, pulse 64, every 0.5 s
       while subscribed; 2A36 notify);
- strap: a heart-rate strap as hr that can walk out of range and come back (`leave`);
- cuff: a blood pressure cuff that is silent until it measures (`measure`), then, per
       measurement, advertises, waits for the central to subscribe to 2A35, indicates every
       reading it holds (each stamped with the time it was taken, the newest last) and
       hangs up, as Omron and A&D cuffs do;
- bonded: a blood pressure cuff that must be paired first: subscribing to its 2A35 fails
       with org.bluez.Error.NotPermitted "Insufficient Authentication", as BlueZ reports
       for a device that demands a bond this computer does not have; it fails every
       attempt so, however often the central tries.
Prints READY once everything is registered. SIGUSR1 drops the central's link to each
connected hr device and silences it for 3 s (a strap walking out of range), then it
advertises again. Commands on stdin, one a line, each answered on stdout:
- `leave ADDR S`: the strap leaves for S seconds (prints LEFT ADDR, then BACK ADDR);
- `measure ADDR N`: the cuff takes N measurements, one connection each (prints SENT ADDR
  SYS DIA MAP PULSE for every reading indicated, DONE ADDR K after measurement K).
Runs until SIGTERM.

A device that comes back registers its GATT database anew, and the central forgets it when
it leaves (RemoveDevice, as BlueZ forgets an unbonded device that has gone): BlueZoo 1.0.2
keeps the GATT objects of an earlier connection exported and fails the next Connect with
EEXIST when they would be exported again under the same handles, and bleak would otherwise
keep the old objects beside the new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import struct
import sys
from datetime import datetime

from bluez_peripheral.advert import Advertisement
from bluez_peripheral.gatt.characteristic import CharacteristicFlags as Flags
from bluez_peripheral.gatt.characteristic import characteristic
from bluez_peripheral.gatt.service import Service, ServiceCollection
from bluez_peripheral.util import Adapter, get_message_bus
from dbus_next.errors import DBusError
from dbus_next.service import method

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


class bonded_characteristic(characteristic):
    """A characteristic whose subscription needs a bond (an encrypted, authenticated link)."""

    refused = False  # a central tried to subscribe (and was refused)

    @method()
    def StartNotify(self):  # type: ignore[no-untyped-def]
        self.refused = True
        raise DBusError("org.bluez.Error.NotPermitted", "Insufficient Authentication")


def bonded_cuff_services() -> list[Service]:
    class BloodPressure(Service):
        def __init__(self) -> None:
            super().__init__("1810", True)
            # bluez-peripheral collects only members of exactly its own characteristic type
            measurement = type(self).measurement
            measurement._set_service(self)
            self.add_characteristic(measurement)

        @bonded_characteristic("2A35", Flags.INDICATE)
        def measurement(self, _options: object) -> bytes:
            return BPM

    return [BloodPressure()]


def cuff_reading(sys_: int, dia: int, map_: int, pulse: int, taken: datetime) -> bytes:
    """A Blood Pressure Measurement in mmHg with its time stamp and pulse rate (flags 0x06);
    whole numbers are SFLOATs with exponent 0."""
    stamp = struct.pack("<HBBBBB", taken.year, taken.month, taken.day, taken.hour,
                        taken.minute, taken.second)
    return bytes([0x06]) + struct.pack("<HHH", sys_, dia, map_) + stamp + struct.pack(
        "<H", pulse)


KINDS = {
    # kind: (local name, advertised services, appearance category, services)
    "hr": ("Vigil Test HR", ["180D", "180F"], 0x0340, heart_rate_services),
    "plx": ("Vigil Test Oximeter", ["1822"], 0x0C40, pulse_oximeter_services),
    "bp": ("Vigil Test Cuff", ["1810"], 0x0380, blood_pressure_services),
    "strap": ("Vigil Test Strap", ["180D", "180F"], 0x0340, heart_rate_services),
    "cuff": ("Vigil Test Omron", ["1810"], 0x0380, blood_pressure_services),
    "bonded": ("Vigil Test Bonded Cuff", ["1810"], 0x0380, bonded_cuff_services),
}
SUBSCRIBE_TIMEOUT_S = 30.0


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


async def _central_device(bus, central: Adapter, address: str):
    """The central's Device1 for `address`, or None while the central has not seen it."""
    path = f"{central._proxy.path}/dev_{address.upper().replace(':', '_')}"
    try:
        node = await bus.introspect("org.bluez", path)
    except DBusError:
        return None
    if not any(i.name == "org.bluez.Device1" for i in node.interfaces):
        return None
    return bus.get_proxy_object("org.bluez", path, node).get_interface("org.bluez.Device1")


async def _drop_link(bus, central: Adapter, address: str) -> bool:
    """Ends the central's link to `address` as a radio loss would: BlueZoo cannot drop a
    link from the peripheral's side, so this disconnects the central's device object."""
    device = await _central_device(bus, central, address)
    if device is None or not await device.get_connected():
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


async def _forget(bus, central: Adapter, address: str) -> None:
    """The central forgets the device (its link drops first), as BlueZ does with an unbonded
    device that has gone away."""
    path = f"{central._proxy.path}/dev_{address.upper().replace(':', '_')}"
    with contextlib.suppress(DBusError):  # it never saw the device
        await central._proxy.get_interface("org.bluez.Adapter1").call_remove_device(path)


class Served:
    """One peripheral: its GATT database (registered anew each time it comes back) and its
    advertisement."""

    def __init__(self, bus, central: Adapter, adapter: Adapter, n: int, kind: str,
                 address: str) -> None:
        self.bus, self.central, self.adapter, self.n = bus, central, adapter, n
        self.kind, self.address = kind, address
        name, uuids, appearance, self.make = KINDS[kind]
        self.advertiser = _Advertiser(bus, adapter, f"d{n}", name, uuids, appearance)
        self.services: list[Service] = []
        self.collection: ServiceCollection | None = None
        self.generation = 0
        self.away = True  # neither advertising nor sending

    async def arrive(self) -> None:
        self.generation += 1
        self.services = self.make()
        self.collection = ServiceCollection(self.services)
        await self.collection.register(self.bus, f"/org/vigil/test/d{self.n}g{self.generation}",
                                       self.adapter)
        await self.advertiser.refresh()
        self.away = False

    async def leave(self) -> None:
        self.away = True
        await self.advertiser.stop()
        await _forget(self.bus, self.central, self.address)
        if self.collection is not None:
            await self.collection.unregister()
            self.collection = None

    async def rearm_when_hung_up(self) -> None:
        """A `bonded` cuff refused a subscription: once the central has hung up, it serves
        the next attempt afresh (see the module's last note)."""
        if not self.services[0].measurement.refused:
            return
        device = await _central_device(self.bus, self.central, self.address)
        if device is None or not await device.get_connected():
            await self.leave()
            await self.arrive()

    async def walk_away(self, seconds: float) -> None:
        await self.leave()
        print(f"LEFT {self.address}", flush=True)
        await asyncio.sleep(seconds)
        await self.arrive()
        print(f"BACK {self.address}", flush=True)

    async def measure(self, count: int) -> None:
        """`count` measurements: each one a connection that hands over every reading held."""
        held: list[tuple[tuple[int, int, int, int], bytes]] = []
        loop = asyncio.get_running_loop()
        for k in range(1, count + 1):
            values = (118 + 4 * k, 76 + 2 * k, 90 + 3 * k, 60 + k)
            held.append((values, cuff_reading(*values, datetime.now())))
            await self.arrive()
            char = self.services[0].measurement
            deadline = loop.time() + SUBSCRIBE_TIMEOUT_S
            while not char._notify:  # until the central subscribes
                if loop.time() > deadline:
                    raise SystemExit(f"{self.address}: nobody subscribed to 2A35")
                await asyncio.sleep(0.05)
            for values, data in held:
                char.changed(data)
                print(f"SENT {self.address} {' '.join(map(str, values))}", flush=True)
            await asyncio.sleep(0.5)  # the indications reach the central
            await self.leave()  # hangs up, and stops advertising until the next measurement
            print(f"DONE {self.address} {k}", flush=True)
            await asyncio.sleep(0.5)


async def _commands(served: dict[str, Served], tasks: set[asyncio.Task[None]]) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command, address, arg = line.decode().split()
        device = served[address.upper()]
        job = (device.walk_away(float(arg)) if command == "leave"
               else device.measure(int(arg)))
        task = asyncio.create_task(job)
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def main(central_address: str, devices: list[tuple[str, str]]) -> None:
    bus = await get_message_bus()
    central = await _adapter_by_address(bus, central_address)
    served: dict[str, Served] = {}
    for n, (kind, address) in enumerate(devices):
        device = Served(bus, central, await _adapter_by_address(bus, address), n, kind,
                        address)
        served[address.upper()] = device
        if kind != "cuff":  # a cuff is silent until it measures
            await device.arrive()
    stop = asyncio.Event()
    drop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, drop.set)
    jobs: set[asyncio.Task[None]] = set()
    commands = asyncio.create_task(_commands(served, jobs))
    print("READY", flush=True)
    tick = 0
    muted_until: dict[str, float] = {}
    while not stop.is_set():
        now = loop.time()
        if drop.is_set():
            drop.clear()
            for d in served.values():
                if d.kind == "hr" and await _drop_link(bus, central, d.address):
                    muted_until[d.address] = now + DROP_S
                    await d.advertiser.stop()
        for d in served.values():
            if d.away or now < muted_until.get(d.address, 0.0):
                continue
            if d.kind == "bonded":
                await d.rearm_when_hung_up()
            if tick % 4 == 0:
                await d.advertiser.refresh()
            services = d.services
            if d.kind in ("hr", "strap"):
                services[0].measurement.changed(HRM)
                if tick % 8 == 0:
                    services[1].level.changed(BATTERY)
            elif d.kind == "plx":
                services[0].continuous.changed(PLX)
            elif d.kind == "bp" and tick % 2 == 0:
                services[0].cuff.changed(ICP)
                services[0].measurement.changed(BPM)
        tick += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)
    commands.cancel()
    for job in list(jobs):
        job.cancel()
    bus.disconnect()


if __name__ == "__main__":
    pairs = [arg.split("=", 1) for arg in sys.argv[1:]]
    central_address = dict(pairs).get("central", "")
    wanted = [(k, a) for k, a in pairs if k != "central"]
    if not central_address or not wanted or any(k not in KINDS for k, _ in wanted):
        raise SystemExit(f"usage: {sys.argv[0]} central=ADDR KIND=ADDR ... (KIND: "
                         f"{', '.join(KINDS)})")
    asyncio.run(main(central_address, wanted))
