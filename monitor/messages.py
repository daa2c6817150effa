"""Immutable messages that drivers produce and the runtime hands on.

These are the only things that cross threads (device I/O thread -> store writer, GUI).
Every message carries its source device and two timestamps: `t_wall` (epoch seconds, UTC)
for records, `t_s` (seconds since session start, from a monotonic clock) for intervals,
delays and staleness.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from monitor.validity import Flag, is_measurement
from monitor.vitals import VITALS


class DeviceState(StrEnum):
    CONNECTING = "connecting"
    STREAMING = "streaming"
    STALE = "stale"
    DISCONNECTED = "disconnected"


class Condition(StrEnum):
    """Device-reported states that make a value untrustworthy or absent.

    The alarm engine raises these as technical conditions, never as physiology.
    """

    SENSOR_OFF = "sensor_off"  # probe off the patient, or disconnected from the device
    NO_FINGER = "no_finger"
    SEARCHING = "searching"  # pulse search: no valid value yet
    LOW_PERFUSION = "low_perfusion"
    POOR_SIGNAL = "poor_signal"  # interference, artefact, questionable pulse
    SENSOR_FAULT = "sensor_fault"  # defective or unknown sensor, equipment malfunction
    MEASUREMENT_FAILED = "measurement_failed"  # e.g. an NIBP cycle that returned no reading
    MEASUREMENT_INVALID = "measurement_invalid"  # a value the device marked invalid
    DEMO_DATA = "demo_data"  # the device is in demo or test mode: never clinical
    LOW_BATTERY = "low_battery"
    PAIRING_REQUIRED = "pairing_required"


@dataclass(frozen=True, slots=True)
class Numerics:
    """Values one device measured together at one instant (e.g. an NIBP reading)."""

    source: str
    t_wall: float
    t_s: float
    values: tuple[tuple[str, float], ...]  # (vital key, value); absent vitals are absent
    # Keys whose value the device's own validity state vouched for (`Flag.VALID`); the
    # others are unflagged. A value the device flagged is never here: it is a condition.
    validated: tuple[str, ...] = ()
    in_alarm: tuple[str, ...] = ()  # keys the device itself flags as in alarm
    # The keys of VITALS whose value is a measurement by the one validity rule, judged once
    # here, where the sample enters Vigil: the alarm engine, the live state, the trend
    # buffers and the device panel read this verdict instead of each judging again.
    measured: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "measured", frozenset(
            k for k, v in self.values if k in VITALS and is_measurement(k, v, self.flag(k))))

    def flag(self, key: str) -> Flag:
        """What the device said about `key`'s value (see `monitor.validity`)."""
        return Flag.VALID if key in self.validated else Flag.UNFLAGGED

    def get(self, key: str) -> float | None:
        for k, v in self.values:
            if k == key:
                return v
        return None

    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.values)


@dataclass(frozen=True, slots=True, eq=False)
class Waveform:
    """A chunk of a sampled waveform; `values` is a read-only float32 array."""

    source: str
    t_wall: float  # time of the first sample
    t_s: float
    vital: str
    rate_hz: float
    values: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        arr = np.array(self.values, dtype=np.float32, copy=True)
        arr.flags.writeable = False
        object.__setattr__(self, "values", arr)


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    source: str
    t_wall: float
    t_s: float
    state: DeviceState
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DeviceCondition:
    """A device condition started (`active`) or ended."""

    source: str
    t_wall: float
    t_s: float
    condition: Condition
    active: bool
    vital: str | None = None  # the vital it affects, if one
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Battery:
    source: str
    t_wall: float
    t_s: float
    percent: float


class EntryKind(StrEnum):
    """What a timeline entry (and a `TimelineMark`) is: its `kind`."""

    DOSE_START = "dose_start"
    DOSE_STOP = "dose_stop"
    DISSOCIATION = "dissociation"  # data: scale ("level" 0-4 or "cadss6"), score
    SEDATION = "sedation"  # data: scale ("moaas" 0-5 or "rass"), score
    SIDE_EFFECT = "side_effect"  # data: name, text
    INTERVENTION = "intervention"  # data: name, text
    EVENT = "event"
    NOTE = "note"
    BASELINE = "baseline"
    DISCHARGE = "discharge"  # data: scale (aldrete / padss), score, ready_t_s


@dataclass(frozen=True, slots=True)
class TimelineMark:
    """A timeline entry as the runtime's sinks see it: a scripted one (the simulator's dose
    start and stop, `source` the device), or one a person entered (`source` the author).
    The recorder stores both before any sink sees them, as entry `entry_id`; None only
    while the store refuses it (the sample writer then keeps it until it is stored)."""

    source: str
    t_wall: float
    t_s: float
    kind: str  # an EntryKind value
    data: tuple[tuple[str, str | float], ...] = ()
    entry_id: int | None = None  # set when the store already holds it


Message = Numerics | Waveform | DeviceStatus | DeviceCondition | Battery | TimelineMark
