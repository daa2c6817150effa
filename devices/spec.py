"""Device SPECs (`sim:normal`, `replay:FILE`, `masimo:/dev/ttyUSB0@9600`, `ble:AA:BB:...`).

Each scheme maps to a driver factory. Parsing checks everything it can before a session
is created, so a bad SPEC exits with a message and nothing is written.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType

from devices.base import Driver, SpecError
from monitor.clock import SessionClock

DriverFactory = Callable[["DeviceSpec", str, SessionClock], Driver]


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    scheme: str
    target: str  # scenario, file, port or address
    options: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    text: str = ""

    @property
    def baud(self) -> int | None:
        b = self.options.get("baud")
        return int(b) if b else None


# scheme -> "module:factory", imported lazily so that e.g. bleak loads only for ble:.
_SCHEMES: dict[str, str] = {
    "sim": "devices.sim.driver:SimulatorDriver",
    "replay": "devices.replay:ReplayDriver",
    "masimo": "devices.serial.masimo:MasimoDriver",
    "nonin": "devices.serial.nonin:NoninDriver",
    "contec": "devices.serial.contec:ContecDriver",
    "ble": "devices.ble.driver:BleDriver",
    "intellivue": "devices.serial.intellivue:IntelliVueDriver",
    "datex": "devices.serial.datex:DatexDriver",
}
_SERIAL_SCHEMES = {"masimo", "nonin", "contec", "intellivue", "datex"}


def register_scheme(scheme: str, target: str) -> None:
    """Adds a driver: `target` is "module:callable" taking (spec, source, clock)."""
    _SCHEMES[scheme] = target


def known_schemes() -> tuple[str, ...]:
    return tuple(sorted(_SCHEMES))


def serial_schemes() -> tuple[str, ...]:
    """The registered kinds that take a serial port (`KIND:PORT[@BAUD]`)."""
    return tuple(s for s in known_schemes() if s in _SERIAL_SCHEMES)


def parse_spec(text: str) -> DeviceSpec:
    """Parses and checks a SPEC; SpecError says what is wrong with it."""
    scheme, sep, rest = text.partition(":")
    scheme = scheme.strip().lower()
    if scheme not in _SCHEMES:
        raise SpecError(f"device {text!r}: unknown kind {scheme!r}; "
                        f"expected one of {', '.join(known_schemes())}")
    options: dict[str, str] = {}
    target = rest
    if scheme == "sim":
        target, _, query = rest.partition("?")
        for part in filter(None, query.split("&")):
            key, eq, value = part.partition("=")
            if not eq:
                raise SpecError(f"device {text!r}: option {part!r} is not KEY=VALUE")
            options[key] = value
    elif scheme in _SERIAL_SCHEMES:
        port, at, baud = rest.rpartition("@") if "@" in rest else (rest, "", "")
        if at:
            if not baud.isdigit() or int(baud) <= 0:
                raise SpecError(f"device {text!r}: baud rate {baud!r} is not a positive number")
            options["baud"] = baud
            target = port
        if not target:
            raise SpecError(f"device {text!r}: needs a port, e.g. {scheme}:/dev/ttyUSB0")
    elif not sep or not rest:
        raise SpecError(f"device {text!r}: needs a target after '{scheme}:'")
    spec = DeviceSpec(scheme, target, MappingProxyType(options), text)
    check = getattr(_factory(scheme), "check_spec", None)
    if check is not None:
        check(spec)
    return spec


def _factory(scheme: str) -> Callable[..., Driver]:
    module, _, name = _SCHEMES[scheme].partition(":")
    factory: Callable[..., Driver] = getattr(importlib.import_module(module), name)
    return factory


def create_driver(spec: DeviceSpec, source: str, clock: SessionClock) -> Driver:
    return _factory(spec.scheme)(spec, source, clock)


def is_simulated(spec: DeviceSpec) -> bool:
    return bool(getattr(_factory(spec.scheme), "simulated", False))
