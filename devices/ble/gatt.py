"""Decoding the Bluetooth SIG GATT characteristics Vigil reads: pure functions, no I/O.

Heart Rate (0x2A37), Blood Pressure Measurement (0x2A35), Intermediate Cuff Pressure
(0x2A36), PLX Spot-Check (0x2A5E), PLX Continuous (0x2A5F), PLX Features (0x2A60),
Battery Level (0x2A19) and Body Sensor Location (0x2A38). Multi-byte fields are
little-endian; medical values are IEEE 11073-20601 SFLOAT/FLOAT.

Every parser checks the length its flags promise and raises `GattDecodeError` naming the
missing field; it never fills a gap with a number. Special SFLOAT/FLOAT codes decode to
NaN or infinity, so a device's "no value" can never pass as 2047. Fields a device may send
but Vigil has no use for are still decoded, so a reading is never half-understood.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "BloodPressureMeasurement",
    "GattDecodeError",
    "HeartRateMeasurement",
    "IntermediateCuffPressure",
    "PlxContinuous",
    "PlxFeatures",
    "PlxSpotCheck",
    "decode_float",
    "decode_sfloat",
    "parse_battery_level",
    "parse_blood_pressure_measurement",
    "parse_body_sensor_location",
    "parse_heart_rate_measurement",
    "parse_intermediate_cuff_pressure",
    "parse_plx_continuous",
    "parse_plx_features",
    "parse_plx_spot_check",
    "uuid16",
]

KPA_TO_MMHG = 7.50062  # 1 kPa in mmHg

# 16-bit SIG UUIDs Vigil uses.
HEART_RATE_SERVICE = 0x180D
HEART_RATE_MEASUREMENT = 0x2A37
BODY_SENSOR_LOCATION = 0x2A38
BLOOD_PRESSURE_SERVICE = 0x1810
BLOOD_PRESSURE_MEASUREMENT = 0x2A35
INTERMEDIATE_CUFF_PRESSURE = 0x2A36
PULSE_OXIMETER_SERVICE = 0x1822
PLX_SPOT_CHECK = 0x2A5E
PLX_CONTINUOUS = 0x2A5F
PLX_FEATURES = 0x2A60
BATTERY_SERVICE = 0x180F
BATTERY_LEVEL = 0x2A19


def uuid16(short: int) -> str:
    """The 128-bit form of a 16-bit SIG UUID, as bleak reports it."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


class GattDecodeError(ValueError):
    """A characteristic value shorter than its flags promise, or not decodable at all."""


# -- IEEE 11073-20601 numbers -------------------------------------------------------------

# Special values exist only at exponent 0: NaN, NRes, +INF, reserved, -INF.
_SFLOAT_SPECIAL = {0x07FF: math.nan, 0x0800: math.nan, 0x07FE: math.inf, 0x0801: math.nan,
                   0x0802: -math.inf}
_FLOAT_SPECIAL = {0x7FFFFF: math.nan, 0x800000: math.nan, 0x7FFFFE: math.inf,
                  0x800001: math.nan, 0x800002: -math.inf}


def _scale(mantissa: int, exponent: int) -> float:
    # Dividing by an exact power of ten rounds once, so 975e-1 is exactly 97.5.
    if exponent >= 0:
        return float(mantissa * 10**exponent)
    divisor: int = 10**-exponent
    return mantissa / divisor


def _ieee11073(raw: int, exponent_bits: int, mantissa_bits: int,
               specials: dict[int, float]) -> float:
    """SFLOAT (12-bit mantissa) or FLOAT (24-bit): both fields two's complement; the
    special values exist only at exponent 0."""
    exponent, mantissa = raw >> mantissa_bits, raw & ((1 << mantissa_bits) - 1)
    if exponent == 0 and mantissa in specials:
        return specials[mantissa]
    if exponent >= 1 << (exponent_bits - 1):
        exponent -= 1 << exponent_bits
    if mantissa >= 1 << (mantissa_bits - 1):
        mantissa -= 1 << mantissa_bits
    return _scale(mantissa, exponent)


def _sfloat(raw: int) -> float:
    return _ieee11073(raw, 4, 12, _SFLOAT_SPECIAL)


def _float(raw: int) -> float:
    return _ieee11073(raw, 8, 24, _FLOAT_SPECIAL)


def decode_sfloat(data: bytes) -> float:
    """A 16-bit SFLOAT (2 bytes, little-endian); NaN/NRes/reserved give NaN, ±INF give ±inf."""
    if len(data) != 2:
        raise GattDecodeError(f"SFLOAT: needs 2 bytes, got {len(data)}")
    return _sfloat(data[0] | data[1] << 8)


def decode_float(data: bytes) -> float:
    """A 32-bit FLOAT (4 bytes, little-endian); NaN/NRes/reserved give NaN, ±INF give ±inf."""
    if len(data) != 4:
        raise GattDecodeError(f"FLOAT: needs 4 bytes, got {len(data)}")
    return _float(int.from_bytes(data, "little"))


# -- a cursor that names what is missing --------------------------------------------------

class _Reader:
    """Reads fields in order; a field past the end raises GattDecodeError naming it."""

    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes, what: str) -> None:
        self.data = bytes(data)
        self.pos = 0
        self.what = what

    def take(self, n: int, field: str) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise GattDecodeError(
                f"{self.what}: {field} missing: needs bytes {self.pos}-{end - 1}, "
                f"but the value has only {len(self.data)} byte(s)")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def u8(self, field: str) -> int:
        return self.take(1, field)[0]

    def u16(self, field: str) -> int:
        b = self.take(2, field)
        return b[0] | b[1] << 8

    def u24(self, field: str) -> int:
        b = self.take(3, field)
        return b[0] | b[1] << 8 | b[2] << 16

    def sfloat(self, field: str) -> float:
        return _sfloat(self.u16(field))

    def date_time(self, field: str) -> datetime | None:
        b = self.take(7, field)
        return _date_time(b[0] | b[1] << 8, b[2], b[3], b[4], b[5], b[6])

    def remaining(self) -> int:
        return len(self.data) - self.pos


def _date_time(year: int, month: int, day: int, hour: int, minute: int,
               second: int) -> datetime | None:
    """The SIG Date Time (device local time); None if a date part is 0 ("unknown") or the
    fields are no real time (month 13, 25 h): a made-up time is worse than none."""
    if year == 0 or month == 0 or day == 0:
        return None
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


# -- Heart Rate ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    heart_rate: int  # bpm
    sensor_contact: bool | None  # None: the sensor cannot tell contact
    energy_expended: int | None  # kJ
    rr_intervals: tuple[float, ...]  # seconds (beat-to-beat, not respiratory rate)


def parse_heart_rate_measurement(data: bytes) -> HeartRateMeasurement:
    """Heart Rate Measurement 0x2A37."""
    r = _Reader(data, "Heart Rate Measurement")
    flags = r.u8("flags")
    hr = r.u16("heart rate (uint16)") if flags & 0x01 else r.u8("heart rate (uint8)")
    # Contact only counts when the sensor says it supports contact detection (bit 2).
    contact = bool(flags & 0x02) if flags & 0x04 else None
    energy = r.u16("energy expended") if flags & 0x08 else None
    rr: tuple[float, ...] = ()
    if flags & 0x10:
        values = [r.u16("RR interval")]
        while r.remaining() >= 2:
            values.append(r.u16("RR interval"))
        rr = tuple(v / 1024 for v in values)
    return HeartRateMeasurement(hr, contact, energy, rr)


BODY_SENSOR_LOCATIONS = ("other", "chest", "wrist", "finger", "hand", "ear lobe", "foot")


def parse_body_sensor_location(data: bytes) -> str | None:
    """Body Sensor Location 0x2A38; None for a reserved code."""
    code = _Reader(data, "Body Sensor Location").u8("location")
    return BODY_SENSOR_LOCATIONS[code] if code < len(BODY_SENSOR_LOCATIONS) else None


# -- Blood Pressure -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class BloodPressureMeasurement:
    systolic: float  # in `unit`; NaN: not measured
    diastolic: float
    mean_arterial: float
    unit: str  # "mmHg" or "kPa"
    timestamp: datetime | None  # device local time
    pulse_rate: float | None  # bpm
    user_id: int | None  # 0xFF: unknown user
    measurement_status: int | None  # raw bits (see BP_STATUS_*)


@dataclass(frozen=True, slots=True)
class IntermediateCuffPressure:
    cuff_pressure: float  # in `unit`
    unit: str
    timestamp: datetime | None
    pulse_rate: float | None
    user_id: int | None
    measurement_status: int | None


# Blood Pressure Measurement Status bits.
BP_STATUS_BODY_MOVEMENT = 0x0001
BP_STATUS_CUFF_TOO_LOOSE = 0x0002
BP_STATUS_IRREGULAR_PULSE = 0x0004
BP_STATUS_PULSE_RANGE_MASK = 0x0018  # 0 in range, 1 above, 2 below, 3 reserved
BP_STATUS_IMPROPER_POSITION = 0x0020


def bp_pulse_range(status: int) -> int:
    """Bits 3-4 of a BP Measurement Status: 0 in range, 1 above, 2 below, 3 reserved."""
    return (status & BP_STATUS_PULSE_RANGE_MASK) >> 3


def _bp_common(r: _Reader, flags: int
               ) -> tuple[datetime | None, float | None, int | None, int | None]:
    timestamp = r.date_time("time stamp") if flags & 0x02 else None
    pulse = r.sfloat("pulse rate") if flags & 0x04 else None
    user = r.u8("user id") if flags & 0x08 else None
    status = r.u16("measurement status") if flags & 0x10 else None
    return timestamp, pulse, user, status


def parse_blood_pressure_measurement(data: bytes) -> BloodPressureMeasurement:
    """Blood Pressure Measurement 0x2A35 (values in the unit the cuff sent)."""
    r = _Reader(data, "Blood Pressure Measurement")
    flags = r.u8("flags")
    unit = "kPa" if flags & 0x01 else "mmHg"
    sys_, dia, mean = r.sfloat("systolic"), r.sfloat("diastolic"), r.sfloat("mean arterial")
    return BloodPressureMeasurement(sys_, dia, mean, unit, *_bp_common(r, flags))


def parse_intermediate_cuff_pressure(data: bytes) -> IntermediateCuffPressure:
    """Intermediate Cuff Pressure 0x2A36: the cuff pressure while a measurement runs."""
    r = _Reader(data, "Intermediate Cuff Pressure")
    flags = r.u8("flags")
    unit = "kPa" if flags & 0x01 else "mmHg"
    cuff = r.sfloat("cuff pressure")
    r.take(4, "unused diastolic and mean fields")  # NaN or 0 by convention: ignored
    return IntermediateCuffPressure(cuff, unit, *_bp_common(r, flags))


# -- Pulse Oximeter -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PlxSpotCheck:
    spo2: float  # %
    pulse_rate: float  # bpm
    timestamp: datetime | None
    measurement_status: int | None  # raw bits (PLX_MS_*)
    device_sensor_status: int | None  # raw 24 bits (PLX_DSS_*)
    pulse_amplitude_index: float | None  # %
    device_clock_not_set: bool = False  # the timestamp, if any, is not a real time


@dataclass(frozen=True, slots=True)
class PlxContinuous:
    spo2: float
    pulse_rate: float
    spo2_fast: float | None
    pulse_rate_fast: float | None
    spo2_slow: float | None
    pulse_rate_slow: float | None
    measurement_status: int | None
    device_sensor_status: int | None
    pulse_amplitude_index: float | None


@dataclass(frozen=True, slots=True)
class PlxFeatures:
    supported_features: int
    measurement_status_support: int | None
    device_sensor_status_support: int | None


# PLX Measurement Status bits.
PLX_MS_ONGOING = 1 << 5
PLX_MS_EARLY_ESTIMATE = 1 << 6
PLX_MS_VALIDATED = 1 << 7
PLX_MS_FULLY_QUALIFIED = 1 << 8
PLX_MS_FROM_STORAGE = 1 << 9
PLX_MS_DEMO = 1 << 10
PLX_MS_TESTING = 1 << 11
PLX_MS_CALIBRATING = 1 << 12
PLX_MS_UNAVAILABLE = 1 << 13
PLX_MS_QUESTIONABLE = 1 << 14
PLX_MS_INVALID = 1 << 15

# PLX Device and Sensor Status bits.
PLX_DSS_EXTENDED_DISPLAY_UPDATE = 1 << 0
PLX_DSS_EQUIPMENT_MALFUNCTION = 1 << 1
PLX_DSS_SIGNAL_PROCESSING_IRREGULAR = 1 << 2
PLX_DSS_INADEQUATE_SIGNAL = 1 << 3
PLX_DSS_POOR_SIGNAL = 1 << 4
PLX_DSS_LOW_PERFUSION = 1 << 5
PLX_DSS_ERRATIC_SIGNAL = 1 << 6
PLX_DSS_NON_PULSATILE = 1 << 7
PLX_DSS_QUESTIONABLE_PULSE = 1 << 8
PLX_DSS_SIGNAL_ANALYSIS_ONGOING = 1 << 9
PLX_DSS_INTERFERENCE = 1 << 10
PLX_DSS_SENSOR_UNCONNECTED = 1 << 11
PLX_DSS_UNKNOWN_SENSOR = 1 << 12
PLX_DSS_SENSOR_DISPLACED = 1 << 13
PLX_DSS_SENSOR_MALFUNCTION = 1 << 14
PLX_DSS_SENSOR_DISCONNECTED = 1 << 15


def parse_plx_spot_check(data: bytes) -> PlxSpotCheck:
    """PLX Spot-Check Measurement 0x2A5E."""
    r = _Reader(data, "PLX Spot-Check Measurement")
    flags = r.u8("flags")
    spo2, pr = r.sfloat("SpO2"), r.sfloat("pulse rate")
    timestamp = r.date_time("time stamp") if flags & 0x01 else None
    ms = r.u16("measurement status") if flags & 0x02 else None
    dss = r.u24("device and sensor status") if flags & 0x04 else None
    pai = r.sfloat("pulse amplitude index") if flags & 0x08 else None
    return PlxSpotCheck(spo2, pr, timestamp, ms, dss, pai, bool(flags & 0x10))


def parse_plx_continuous(data: bytes) -> PlxContinuous:
    """PLX Continuous Measurement 0x2A5F."""
    r = _Reader(data, "PLX Continuous Measurement")
    flags = r.u8("flags")
    spo2, pr = r.sfloat("SpO2"), r.sfloat("pulse rate")
    fast = (r.sfloat("SpO2 fast"), r.sfloat("pulse rate fast")) if flags & 0x01 else (None,
                                                                                       None)
    slow = (r.sfloat("SpO2 slow"), r.sfloat("pulse rate slow")) if flags & 0x02 else (None,
                                                                                       None)
    ms = r.u16("measurement status") if flags & 0x04 else None
    dss = r.u24("device and sensor status") if flags & 0x08 else None
    pai = r.sfloat("pulse amplitude index") if flags & 0x10 else None
    return PlxContinuous(spo2, pr, fast[0], fast[1], slow[0], slow[1], ms, dss, pai)


def parse_plx_features(data: bytes) -> PlxFeatures:
    """PLX Features 0x2A60."""
    r = _Reader(data, "PLX Features")
    supported = r.u16("supported features")
    ms = r.u16("measurement status support") if supported & 0x01 else None
    dss = r.u24("device and sensor status support") if supported & 0x02 else None
    return PlxFeatures(supported, ms, dss)


# -- Battery ------------------------------------------------------------------------------

def parse_battery_level(data: bytes) -> int | None:
    """Battery Level 0x2A19 in percent; None for the reserved values above 100."""
    level = _Reader(data, "Battery Level").u8("battery level")
    return level if level <= 100 else None
