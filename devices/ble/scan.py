"""Finding nearby BLE devices that offer the vital-sign profiles Vigil reads."""

from __future__ import annotations

from dataclasses import dataclass

from bleak import BleakScanner
from bleak.args.bluez import BlueZScannerArgs

from devices.ble import gatt
from devices.ble.gatt import uuid16

PROFILES = (  # (service, short name), in the order they are listed
    (gatt.HEART_RATE_SERVICE, "HR"),
    (gatt.BLOOD_PRESSURE_SERVICE, "BP"),
    (gatt.PULSE_OXIMETER_SERVICE, "PLX"),
    (gatt.BATTERY_SERVICE, "Battery"),
)
VITAL_PROFILES = ("HR", "BP", "PLX")


@dataclass(frozen=True, slots=True)
class FoundDevice:
    address: str
    name: str | None
    rssi: int | None
    profiles: tuple[str, ...]  # of PROFILES' short names, from the advertisement

    @property
    def readable(self) -> bool:
        """Advertises a profile with vitals (a bonded cuff may not: try it anyway)."""
        return any(p in VITAL_PROFILES for p in self.profiles)


def profiles_of(service_uuids: list[str]) -> tuple[str, ...]:
    offered = {u.lower() for u in service_uuids}
    return tuple(name for service, name in PROFILES if uuid16(service) in offered)


async def scan(timeout: float, adapter: str | None = None) -> list[FoundDevice]:
    """Devices heard within `timeout` seconds, strongest first. Raises bleak's errors (no
    adapter, no D-Bus) for the caller to explain."""
    bluez: BlueZScannerArgs = {"adapter": adapter} if adapter else {}
    seen = await BleakScanner.discover(timeout=timeout, return_adv=True, bluez=bluez)
    found = [FoundDevice(device.address, adv.local_name or device.name, adv.rssi,
                         profiles_of(adv.service_uuids))
             for device, adv in seen.values()]
    return sorted(found, key=lambda d: (not d.readable, -(d.rssi or -999), d.address))


def explain_unavailable(e: BaseException) -> str:
    """Why Bluetooth cannot be used here, in words for whoever sets the computer up."""
    if isinstance(e, FileNotFoundError | ConnectionRefusedError | PermissionError):
        return ("the system D-Bus cannot be reached, so the Linux Bluetooth service (BlueZ) "
                f"cannot be asked ({type(e).__name__})")
    name = getattr(e, "dbus_error", "") or ""
    if name.endswith("ServiceUnknown"):
        return "the Bluetooth service (BlueZ) is not running: start it (bluetooth.service)"
    if name.endswith("NotReady") or "not powered" in str(e).lower():
        return "the Bluetooth adapter is switched off: switch Bluetooth on"
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
