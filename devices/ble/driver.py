"""`ble:ADDRESS[?adapter=hciN]`: a Bluetooth LE device with the standard SIG profiles.

Heart Rate (0x180D), Blood Pressure (0x1810, with Intermediate Cuff Pressure), Pulse
Oximeter (0x1822, spot-check and continuous) and Battery (0x180F), through bleak.

Every bleak object is created and used on the runtime's asyncio loop (the device-io
thread). Notification callbacks only stamp and enqueue; `stream()` decodes and maps (see
`devices.ble.mapping`). A dropped link wakes `stream()` at once through bleak's
disconnected callback, so the device is `disconnected` as soon as BlueZ reports the loss;
the runtime then reconnects with back-off. Every await on the radio has a time limit, so
a silent device never blocks the runtime (`asyncio.timeout`, not `wait_for`, which on
Python 3.11 can swallow a cancellation that arrives as the awaited call finishes).

A blood pressure cuff connects only to send its readings and then hangs up: between
readings it is simply `disconnected`, and the driver looks for it again. There is no
device-level staleness (`stale_after_s = None`) for the same reason; the vitals' own
staleness greys out a continuous value that stops coming.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.args.bluez import BlueZClientArgs, BlueZScannerArgs
from bleak.exc import BleakBluetoothNotAvailableError, BleakDeviceNotFoundError, BleakError

from devices.base import DeviceDisconnected, DeviceError, Driver, SpecError
from devices.ble import gatt
from devices.ble.gatt import GattDecodeError, uuid16
from devices.ble.mapping import GattMapper
from devices.ble.scan import explain_unavailable
from devices.conditions import ConditionKey
from devices.spec import DeviceSpec
from monitor.clock import SessionClock
from monitor.messages import Condition, Message

log = logging.getLogger(__name__)

SCAN_TIMEOUT_S = 20.0  # how long one attempt looks for the device before backing off
CONNECT_TIMEOUT_S = 20.0
GATT_TIMEOUT_S = 10.0  # one read or subscription
DISCONNECT_TIMEOUT_S = 3.0

_ADDRESS = re.compile(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$"  # BlueZ, Windows
                      r"|^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$")  # macOS
_ADAPTER = re.compile(r"^hci\d+$")
_OPTIONS = ("adapter",)

# Characteristics subscribed to, in order: (16-bit UUID, what it is).
_MEASUREMENTS = (
    (gatt.HEART_RATE_MEASUREMENT, "heart rate"),
    (gatt.PLX_CONTINUOUS, "SpO2 (continuous)"),
    (gatt.PLX_SPOT_CHECK, "SpO2 (spot check)"),
    (gatt.BLOOD_PRESSURE_MEASUREMENT, "blood pressure"),
    (gatt.INTERMEDIATE_CUFF_PRESSURE, "cuff pressure"),
)
_KINDS = (  # service -> what a nurse calls the device
    (gatt.BLOOD_PRESSURE_SERVICE, "blood pressure cuff"),
    (gatt.PULSE_OXIMETER_SERVICE, "pulse oximeter"),
    (gatt.HEART_RATE_SERVICE, "heart-rate sensor"),
)
_DISCONNECTED = object()  # queue sentinel: bleak reported the link lost

PAIRING_HELP = (
    "Pair it with this computer first: put it in pairing mode (Omron: hold the Bluetooth "
    "button until a blinking 'P' shows; A&D: hold the start button until 'Pr' shows), then "
    "pair it in the computer's Bluetooth settings. Vigil keeps trying by itself.")

# Errors that mean "this device wants a bond first", as BlueZ and ATT put them.
_PAIRING_DBUS_ERRORS = {
    "org.bluez.Error.AuthenticationFailed", "org.bluez.Error.AuthenticationCanceled",
    "org.bluez.Error.AuthenticationRejected", "org.bluez.Error.AuthenticationTimeout",
    "org.bluez.Error.NotAuthorized", "org.bluez.Error.NotPermitted",
}
_PAIRING_ATT_CODES = {0x05, 0x08, 0x0C, 0x0F}  # insufficient authentication, authorization,
#                                                encryption key size, encryption
_PAIRING_WORDS = ("insufficient authentication", "insufficient encryption",
                  "authentication failed", "not paired", "bonding", "pairing")


def parse_target(spec: DeviceSpec) -> tuple[str, str | None]:
    """(address, adapter) from `ADDRESS[?adapter=hciN]`; SpecError says what is wrong."""
    address, _, query = spec.target.partition("?")
    address = address.strip()
    if not _ADDRESS.match(address):
        raise SpecError(f"device {spec.text!r}: {address!r} is not a Bluetooth address; "
                        "expected e.g. ble:A4:C1:38:12:34:56 (run `main.py devices` to list "
                        "nearby devices)")
    adapter = None
    for part in filter(None, query.split("&")):
        key, eq, value = part.partition("=")
        if not eq or key not in _OPTIONS:
            raise SpecError(f"device {spec.text!r}: unknown option {part!r}; "
                            f"expected {', '.join(_OPTIONS)}=...")
        if not _ADAPTER.match(value):
            raise SpecError(f"device {spec.text!r}: adapter {value!r} is not like hci0")
        adapter = value
    return address.upper() if ":" in address else address, adapter


def is_pairing_error(exc: BaseException) -> bool:
    """True when an error from bleak/BlueZ means the device must be paired (bonded) first."""
    name = getattr(exc, "dbus_error", None)
    if name in _PAIRING_DBUS_ERRORS:
        return True
    code = getattr(exc, "code", None)
    if isinstance(code, int) and code in _PAIRING_ATT_CODES:
        return True
    text = str(exc).lower()
    return any(w in text for w in _PAIRING_WORDS)


class BleDriver(Driver):
    """One BLE device; reads every standard profile it offers."""

    stale_after_s = None

    def __init__(self, spec: DeviceSpec, source: str, clock: SessionClock,
                 client_factory: Callable[..., Any] | None = None,
                 find_device: Callable[..., Any] | None = None) -> None:
        super().__init__(source, spec.text, clock)
        self.address, self.adapter = parse_target(spec)
        self.mapper = GattMapper(source, clock)
        # Seams for tests without a radio; the defaults are bleak's.
        self._client_factory = client_factory
        self._find_device = find_device
        self._client: Any = None
        self._queue: asyncio.Queue[Any] | None = None
        self._pending: list[Message] = []
        self._kind = "Bluetooth device"

    @staticmethod
    def check_spec(spec: DeviceSpec) -> None:
        parse_target(spec)

    @property
    def _where(self) -> str:
        return f"{self.source}: {self._kind} {self.address}"

    # -- connect -------------------------------------------------------------------------

    async def connect(self) -> None:
        await self.close()
        self._queue = asyncio.Queue()
        self._pending = []
        bluez: BlueZScannerArgs = {"adapter": self.adapter} if self.adapter else {}
        try:
            device = await self._find(bluez)
            if device is None:
                raise DeviceDisconnected(
                    f"{self._where} not found: check that it is switched on and nearby, and "
                    "that no phone or app is connected to it (a cuff shows up only after a "
                    "measurement)")
            client = self._make_client(device, bluez)
            self._client = client
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await client.connect()
            self._kind = self._describe(client.services)
            await self._subscribe(client)
        except DeviceError:
            await self.close()
            raise
        except TimeoutError:
            await self.close()
            raise DeviceDisconnected(f"{self._where} did not answer in time: move it closer "
                                     "and check that it is switched on") from None
        except Exception as e:  # bleak and BlueZ raise many kinds; each means no link
            await self.close()
            if is_pairing_error(e):
                text = f"{self._where} must be paired. {PAIRING_HELP}"
                log.warning("%s (%s)", text, e)
                # Not connected (never "streaming"): the runtime records the condition, then
                # tries again with back-off.
                must_pair: dict[ConditionKey, str] = {(Condition.PAIRING_REQUIRED, None): text}
                raise DeviceError(text, messages=self.mapper.condition(
                    "link", must_pair, self.clock.now())) from e
            raise self._explain(e) from e

    async def _find(self, bluez: BlueZScannerArgs) -> Any:
        if self._find_device is not None:
            return await self._find_device(self.address, SCAN_TIMEOUT_S)
        return await BleakScanner.find_device_by_address(self.address, timeout=SCAN_TIMEOUT_S,
                                                         bluez=bluez)

    def _make_client(self, device: Any, bluez: BlueZClientArgs) -> Any:
        if self._client_factory is not None:
            return self._client_factory(device, disconnected_callback=self._on_disconnect)
        return BleakClient(device, disconnected_callback=self._on_disconnect,
                           timeout=CONNECT_TIMEOUT_S, bluez=bluez)

    @staticmethod
    def _describe(services: Any) -> str:
        offered = {s.uuid.lower() for s in services}
        for service, kind in _KINDS:
            if uuid16(service) in offered:
                return kind
        return "Bluetooth device"

    async def _subscribe(self, client: Any) -> None:
        chars = {c.uuid.lower(): c for s in client.services for c in s.characteristics}
        subscribed = []
        for short, what in _MEASUREMENTS:
            char = chars.get(uuid16(short))
            if char is None or not {"notify", "indicate"} & set(char.properties):
                continue
            async with asyncio.timeout(GATT_TIMEOUT_S):
                await client.start_notify(char, self._callback(short))
            subscribed.append(what)
        if not subscribed:
            raise DeviceError(
                f"{self._where} offers no heart rate, SpO2 or blood pressure service: it is "
                "not a device Vigil can read")
        battery = chars.get(uuid16(gatt.BATTERY_LEVEL))
        if battery is not None:
            t = self.clock.now()
            try:
                if "read" in battery.properties:
                    async with asyncio.timeout(GATT_TIMEOUT_S):
                        data = await client.read_gatt_char(battery)
                    self._pending += self.mapper.battery(gatt.parse_battery_level(data), t)
                if "notify" in battery.properties:
                    async with asyncio.timeout(GATT_TIMEOUT_S):
                        await client.start_notify(battery,
                                                  self._callback(gatt.BATTERY_LEVEL))
            except (GattDecodeError, BleakError, TimeoutError) as e:
                # The battery is extra: an unreadable level costs only the battery reading.
                log.warning("%s: battery level unreadable: %s", self._where, e)
        self._pending += self.mapper.condition("link", {}, self.clock.now())
        log.info("%s: connected; reading %s", self._where, ", ".join(subscribed))

    def _callback(self, short: int) -> Callable[[Any, bytearray], None]:
        queue, clock = self._queue, self.clock
        assert queue is not None

        def on_value(_char: Any, data: bytearray) -> None:  # runs on the loop: stamp, enqueue
            queue.put_nowait((short, bytes(data), clock.now()))
        return on_value

    def _on_disconnect(self, _client: Any) -> None:
        if self._queue is not None:
            self._queue.put_nowait(_DISCONNECTED)

    def _explain(self, e: Exception) -> DeviceError:
        dbus_error = getattr(e, "dbus_error", None) or ""
        if isinstance(e, BleakBluetoothNotAvailableError | OSError) or dbus_error.endswith(
                ("ServiceUnknown", "NotReady")):
            return DeviceError(f"{self.source}: Bluetooth is not available on this computer: "
                               f"{explain_unavailable(e)}")
        if isinstance(e, BleakDeviceNotFoundError):
            return DeviceDisconnected(f"{self._where} not found: check that it is switched "
                                      "on and nearby")
        return DeviceDisconnected(f"{self._where}: Bluetooth error ({type(e).__name__}: {e})")

    # -- stream --------------------------------------------------------------------------

    async def stream(self) -> AsyncIterator[Message]:
        queue = self._queue
        assert queue is not None, "connect() first"
        for msg in self._pending:
            yield msg
        self._pending = []
        while True:
            item = await queue.get()
            if item is _DISCONNECTED:
                raise DeviceDisconnected(f"{self._where}: link lost (out of range, switched "
                                         "off, or it finished sending)")
            short, data, t = item
            try:
                messages = self.mapper.map(short, data, t)
            except GattDecodeError as e:
                log.warning("%s: ignored a malformed value: %s", self._where, e)
                continue
            for msg in messages:
                yield msg

    # -- close ---------------------------------------------------------------------------

    async def close(self) -> None:
        client, self._client = self._client, None
        self._queue = None
        if client is None:
            return
        try:
            async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
                await client.disconnect()
        except Exception as e:  # closing must not raise; the link is gone either way
            log.debug("%s: disconnect: %r", self._where, e)
