"""What the patient shows now: the latest value of each vital, with its age and validity.

Fed on the device thread; `snapshot()` hands out an immutable view for any thread. A value
is shown only if it is a measurement (`monitor.validity`: plausible, or vouched for by the
device) and current: a stale value is marked stale, an artefact is not a value, and nothing
missing is ever shown as a number.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from monitor.messages import (
    Battery,
    DeviceCondition,
    DeviceState,
    DeviceStatus,
    Message,
    Numerics,
)
from monitor.vitals import NUMERIC_KEYS, VITALS, VitalKind


class Freshness(StrEnum):
    CURRENT = "current"
    STALE = "stale"  # older than the vital's stale_after_s: shown as not current
    ARTEFACT = "artefact"  # the latest value was not a measurement (an unflagged artefact)
    NONE = "none"  # never measured this session


@dataclass(frozen=True, slots=True)
class LatestReading:
    vital: str
    value: float | None  # None unless CURRENT or STALE (a stale value is shown greyed)
    t_s: float | None
    age_s: float | None
    freshness: Freshness
    source: str | None
    in_alarm: bool = False  # the device itself flagged the latest value as in alarm

    def text(self) -> str:
        v = VITALS[self.vital]
        if self.freshness is Freshness.CURRENT:
            return v.format(self.value)
        return "--"


@dataclass(frozen=True, slots=True)
class Snapshot:
    t_s: float
    readings: MappingProxyType[str, LatestReading]
    devices: MappingProxyType[str, DeviceState]
    conditions: tuple[tuple[str, str, str], ...]  # (source, condition, vital or "") now
    battery: MappingProxyType[str, float]


class LiveState:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # vital -> (t_s, value, source, measurement?, the device's own in-alarm flag)
        self._latest: dict[str, tuple[float, float, str, bool, bool]] = {}
        self._devices: dict[str, DeviceState] = {}
        # Keyed by vital too: "SpO2 invalid" ending must not clear "NIBP invalid".
        self._conditions: set[tuple[str, str, str]] = set()
        self._battery: dict[str, float] = {}

    def __call__(self, msg: Message) -> None:
        with self._lock:
            if isinstance(msg, Numerics):
                for key, value in msg.values:
                    if key in VITALS:
                        self._latest[key] = (msg.t_s, value, msg.source,
                                             key in msg.measured, key in msg.in_alarm)
            elif isinstance(msg, DeviceStatus):
                self._devices[msg.source] = msg.state
            elif isinstance(msg, DeviceCondition):
                item = (msg.source, str(msg.condition), msg.vital or "")
                if msg.active:
                    self._conditions.add(item)
                else:
                    self._conditions.discard(item)
            elif isinstance(msg, Battery):
                self._battery[msg.source] = msg.percent

    def battery(self) -> dict[str, float]:
        """Battery percent by source, for those that report it."""
        with self._lock:
            return dict(self._battery)

    def snapshot(self, now_s: float) -> Snapshot:
        with self._lock:
            latest = dict(self._latest)
            devices = dict(self._devices)
            conditions = tuple(sorted(self._conditions))
            battery = dict(self._battery)
        readings = {}
        for key in NUMERIC_KEYS:
            v = VITALS[key]
            if key not in latest:
                readings[key] = LatestReading(key, None, None, None, Freshness.NONE, None)
                continue
            t, value, source, measured, in_alarm = latest[key]
            age = max(0.0, now_s - t)
            if not measured:
                fresh, shown = Freshness.ARTEFACT, None
            elif v.kind is VitalKind.CONTINUOUS and (
                    (v.stale_after_s is not None and age > v.stale_after_s)
                    or devices.get(source) in (DeviceState.DISCONNECTED, DeviceState.STALE)):
                fresh, shown = Freshness.STALE, value
            else:
                fresh, shown = Freshness.CURRENT, value
            readings[key] = LatestReading(key, shown, t, age, fresh, source, in_alarm)
        return Snapshot(now_s, MappingProxyType(readings), MappingProxyType(devices),
                        conditions, MappingProxyType(battery))
