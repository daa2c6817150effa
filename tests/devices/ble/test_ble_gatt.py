"""GATT decoding: the reference's constructed examples, the bugs other implementations had,
and property tests (arbitrary bytes never escape as anything but GattDecodeError, and every
field that goes in comes back out unchanged, with nothing invented)."""

from __future__ import annotations

import math
import struct
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.ble import gatt
from devices.ble.gatt import (
    GattDecodeError,
    decode_float,
    decode_sfloat,
    parse_battery_level,
    parse_blood_pressure_measurement,
    parse_body_sensor_location,
    parse_heart_rate_measurement,
    parse_intermediate_cuff_pressure,
    parse_plx_continuous,
    parse_plx_features,
    parse_plx_spot_check,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def same(a: float | None, b: float | None) -> bool:
    """Equal, with NaN equal to NaN (a NaN is 'no value' and must stay one)."""
    if a is None or b is None:
        return a is b
    return (math.isnan(a) and math.isnan(b)) or a == b


# -- SFLOAT / FLOAT -----------------------------------------------------------------------

@pytest.mark.parametrize(("wire", "value"), [
    ("CFF3", 97.5),  # exponent -1, mantissa 975
    ("6100", 97.0),
    ("FF0F", -1.0),  # mantissa two's complement
    ("0088", -2048e-8),  # exponent -8 with mantissa -2048: an ordinary number
    ("6180", 97e-8),  # two's complement exponent; a biased decoder reads 97 (devices.md §4)
    ("FF17", 20470.0),  # mantissa 0x7FF at exponent 1 is a number, not NaN
    ("FE17", 20460.0),
    ("0218", -20460.0),  # 0x802 at exponent 1: a number, not -INF
    ("0118", -20470.0),
    ("0018", -20480.0),
    ("0070", 0.0),
])
def test_sfloat_numbers(wire: str, value: float) -> None:
    assert decode_sfloat(h(wire)) == pytest.approx(value, rel=1e-12, abs=0)


@pytest.mark.parametrize(("wire", "special"), [
    ("FF07", "nan"), ("0008", "nan"), ("0108", "nan"), ("FE07", "inf"), ("0208", "-inf"),
])
def test_sfloat_specials(wire: str, special: str) -> None:
    v = decode_sfloat(h(wire))
    if special == "nan":
        assert math.isnan(v)
    else:
        assert v == float(special)


def test_float_numbers_and_specials() -> None:
    assert decode_float(h("6E0100FF")) == pytest.approx(36.6, rel=1e-12)
    assert decode_float(h("FFFF7F01")) == 0x7FFFFF * 10.0  # 0x7FFFFF at exponent 1: a number
    assert decode_float(h("FFFFFFFF")) == -0.1  # mantissa -1, exponent -1
    assert math.isnan(decode_float(h("FFFF7F00")))
    assert math.isnan(decode_float(h("00008000")))
    assert math.isnan(decode_float(h("01008000")))
    assert decode_float(h("FEFF7F00")) == math.inf
    assert decode_float(h("02008000")) == -math.inf


@pytest.mark.parametrize("data", [b"", b"\x01", b"\x01\x02\x03"])
def test_sfloat_wrong_length(data: bytes) -> None:
    with pytest.raises(GattDecodeError, match="SFLOAT"):
        decode_sfloat(data)
    with pytest.raises(ValueError, match="FLOAT"):  # GattDecodeError is a ValueError
        decode_float(data)


def _expected_sfloat(raw: int) -> float:
    """An independent decoder: Decimal scaling, specials by table."""
    specials = {0x07FF: math.nan, 0x0800: math.nan, 0x0801: math.nan, 0x07FE: math.inf,
                0x0802: -math.inf}
    if raw in specials:
        return specials[raw]
    exponent = ((raw >> 12) ^ 0x8) - 0x8
    mantissa = ((raw & 0xFFF) ^ 0x800) - 0x800
    return float(Decimal(mantissa).scaleb(exponent))


def _expected_float(raw: int) -> float:
    specials = {0x7FFFFF: math.nan, 0x800000: math.nan, 0x800001: math.nan,
                0x7FFFFE: math.inf, 0x800002: -math.inf}
    if raw in specials:
        return specials[raw]
    exponent = ((raw >> 24) ^ 0x80) - 0x80
    mantissa = ((raw & 0xFFFFFF) ^ 0x800000) - 0x800000
    return float(Decimal(mantissa).scaleb(exponent))


@settings(max_examples=3000, deadline=None)
@given(st.integers(0, 0xFFFF))
def test_sfloat_matches_independent_decoder(raw: int) -> None:
    assert same(decode_sfloat(raw.to_bytes(2, "little")), _expected_sfloat(raw))


@settings(max_examples=1500, deadline=None)
@given(st.integers(0, 0xFFFFFFFF))
def test_float_matches_independent_decoder(raw: int) -> None:
    assert same(decode_float(raw.to_bytes(4, "little")), _expected_float(raw))


# -- Heart Rate ---------------------------------------------------------------------------

def test_heart_rate_examples() -> None:
    m = parse_heart_rate_measurement(h("0048"))
    assert (m.heart_rate, m.sensor_contact, m.energy_expended, m.rr_intervals) == (
        72, None, None, ())
    m = parse_heart_rate_measurement(h("16400004"))
    assert (m.heart_rate, m.sensor_contact, m.rr_intervals) == (64, True, (1.0,))


def test_heart_rate_contact_needs_the_supported_bit() -> None:
    # pycycling read bool(flags & 0x06): "supported, not detected" became contact.
    assert parse_heart_rate_measurement(h("0448")).sensor_contact is False
    assert parse_heart_rate_measurement(h("0248")).sensor_contact is None  # bit1 alone: nothing
    assert parse_heart_rate_measurement(h("0648")).sensor_contact is True


def test_heart_rate_uint16_at_and_above_128() -> None:
    # Combining the two bytes with & instead of | breaks every HR >= 128.
    assert parse_heart_rate_measurement(h("018000")).heart_rate == 128
    assert parse_heart_rate_measurement(h("012C01")).heart_rate == 300
    assert parse_heart_rate_measurement(h("00C8")).heart_rate == 200  # uint8 above 127


def test_heart_rate_energy_and_several_rr() -> None:
    m = parse_heart_rate_measurement(h("18" "48" "1027" "0004" "0002" "FF"))
    assert m.energy_expended == 10000
    assert m.rr_intervals == (1.0, 0.5)  # the odd trailing byte is no RR interval


@pytest.mark.parametrize(("data", "field"), [
    ("", "flags"), ("00", "heart rate"), ("0148", "heart rate"), ("0848", "energy expended"),
    ("084810", "energy expended"), ("1048", "RR interval"), ("104800", "RR interval"),
])
def test_heart_rate_short(data: str, field: str) -> None:
    with pytest.raises(GattDecodeError, match=field):
        parse_heart_rate_measurement(h(data))


def test_body_sensor_location() -> None:
    assert parse_body_sensor_location(h("01")) == "chest"
    assert parse_body_sensor_location(h("07")) is None


# -- Blood Pressure -----------------------------------------------------------------------

def test_blood_pressure_example() -> None:
    m = parse_blood_pressure_measurement(h("04 7800 5000 5D00 4000".replace(" ", "")))
    assert (m.systolic, m.diastolic, m.mean_arterial, m.unit, m.pulse_rate) == (
        120.0, 80.0, 93.0, "mmHg", 64.0)
    assert (m.timestamp, m.user_id, m.measurement_status) == (None, None, None)


def test_blood_pressure_failed_measurement_is_nan_never_2047() -> None:
    m = parse_blood_pressure_measurement(h("16FF07FF07FF07EA07030E091E00FF070200"))
    assert all(math.isnan(v) for v in (m.systolic, m.diastolic, m.mean_arterial))
    assert m.pulse_rate is not None and math.isnan(m.pulse_rate)
    assert m.timestamp == datetime(2026, 3, 14, 9, 30, 0)
    assert m.measurement_status == gatt.BP_STATUS_CUFF_TOO_LOOSE


def test_blood_pressure_kpa_and_user() -> None:
    # 16.0 kPa / 10.7 kPa / 12.4 kPa (exponent -1), user 3
    m = parse_blood_pressure_measurement(h("09" "A0F0" "6BF0" "7CF0" "03"))
    assert (m.unit, m.systolic, m.diastolic, m.mean_arterial, m.user_id) == (
        "kPa", 16.0, 10.7, 12.4, 3)
    # obniz read the exponent unsigned: 0xF0A0 became 160e15 instead of 16.0.


@pytest.mark.parametrize(("status", "bit"), [
    (0x0001, gatt.BP_STATUS_BODY_MOVEMENT), (0x0002, gatt.BP_STATUS_CUFF_TOO_LOOSE),
    (0x0004, gatt.BP_STATUS_IRREGULAR_PULSE), (0x0020, gatt.BP_STATUS_IMPROPER_POSITION),
])
def test_blood_pressure_each_status_bit(status: int, bit: int) -> None:
    m = parse_blood_pressure_measurement(h("10780050005D00") + struct.pack("<H", status))
    assert m.measurement_status == status
    assert m.measurement_status & bit and not m.measurement_status & ~bit


@pytest.mark.parametrize(("status", "pulse_range"), [
    (0x0000, 0), (0x0008, 1), (0x0010, 2), (0x0018, 3), (0x001F, 3), (0x0027, 0)])
def test_blood_pressure_pulse_range_both_values(status: int, pulse_range: int) -> None:
    # derdilla PR #730: bits read one too high and a precedence slip hid the pulse range.
    m = parse_blood_pressure_measurement(h("10780050005D00") + struct.pack("<H", status))
    assert gatt.bp_pulse_range(m.measurement_status or 0) == pulse_range


@pytest.mark.parametrize("stamp", [
    "0000030E091E00", "EA07000E091E00", "EA0703 00091E00".replace(" ", ""),
    "EA070D0E091E00", "EA07021E091E00", "EA07030E181E00", "EA07030E093C00"])
def test_unknown_or_impossible_timestamp_is_none(stamp: str) -> None:
    m = parse_blood_pressure_measurement(h("02780050005D00" + stamp))
    assert m.timestamp is None
    assert m.systolic == 120.0


@pytest.mark.parametrize(("data", "field"), [
    ("", "flags"), ("00", "systolic"), ("007800", "diastolic"), ("0078005000", "mean"),
    ("02780050005D00EA07030E091E", "time stamp"), ("04780050005D00", "pulse rate"),
    ("08780050005D00", "user id"), ("10780050005D0002", "measurement status"),
    ("1E780050005D00EA07030E091E004000", "user id"),
])
def test_blood_pressure_short(data: str, field: str) -> None:
    with pytest.raises(GattDecodeError, match=field):
        parse_blood_pressure_measurement(h(data))


def test_intermediate_cuff_pressure() -> None:
    m = parse_intermediate_cuff_pressure(h("009100FF07FF07"))
    assert (m.cuff_pressure, m.unit, m.pulse_rate, m.timestamp) == (145.0, "mmHg", None, None)
    m = parse_intermediate_cuff_pressure(h("0591000000000040F0"))  # Nordic's zero fillers
    assert (m.cuff_pressure, m.pulse_rate) == (145.0, 6.4)
    with pytest.raises(GattDecodeError, match="unused"):
        parse_intermediate_cuff_pressure(h("009100FF07"))


# -- Pulse Oximeter -----------------------------------------------------------------------

def test_plx_continuous_examples() -> None:
    m = parse_plx_continuous(h("0061004800"))
    assert (m.spo2, m.pulse_rate, m.spo2_fast, m.spo2_slow, m.measurement_status,
            m.device_sensor_status, m.pulse_amplitude_index) == (
        97.0, 72.0, None, None, None, None, None)
    m = parse_plx_continuous(h("0CFF07FF0700200880 00".replace(" ", "")))
    assert math.isnan(m.spo2) and math.isnan(m.pulse_rate)
    assert m.measurement_status == gatt.PLX_MS_UNAVAILABLE
    assert m.device_sensor_status == (gatt.PLX_DSS_INADEQUATE_SIGNAL
                                      | gatt.PLX_DSS_SENSOR_DISCONNECTED)


def test_plx_continuous_all_fields() -> None:
    data = h("1F" "6100" "4800" "6000" "4900" "6200" "4700" "8000" "000001" "2EF0")
    m = parse_plx_continuous(data)
    assert (m.spo2_fast, m.pulse_rate_fast, m.spo2_slow, m.pulse_rate_slow) == (
        96.0, 73.0, 98.0, 71.0)
    assert (m.measurement_status, m.device_sensor_status) == (0x0080, 0x010000)
    assert m.pulse_amplitude_index == pytest.approx(4.6)
    with pytest.raises(GattDecodeError, match="pulse amplitude index"):
        parse_plx_continuous(data[:-1])


def test_plx_spot_check_examples() -> None:
    m = parse_plx_spot_check(h("1062004B00"))
    assert (m.spo2, m.pulse_rate, m.timestamp, m.device_clock_not_set) == (
        98.0, 75.0, None, True)
    m = parse_plx_spot_check(h("01D2F34B00EA07030E091E00"))
    assert m.spo2 == pytest.approx(97.8)
    assert (m.pulse_rate, m.timestamp) == (75.0, datetime(2026, 3, 14, 9, 30))
    assert (m.measurement_status, m.device_sensor_status, m.pulse_amplitude_index) == (
        None, None, None)
    with pytest.raises(GattDecodeError, match="time stamp"):
        parse_plx_spot_check(h("01D2F34B00EA07030E09"))
    with pytest.raises(GattDecodeError, match="device and sensor status"):
        parse_plx_spot_check(h("04D2F34B000000"))


def test_plx_features_example() -> None:
    m = parse_plx_features(h("030000E0088800"))
    assert (m.supported_features, m.measurement_status_support,
            m.device_sensor_status_support) == (0x0003, 0xE000, 0x008808)
    assert parse_plx_features(h("0400")) == gatt.PlxFeatures(4, None, None)
    with pytest.raises(GattDecodeError, match="device and sensor status support"):
        parse_plx_features(h("0300" "00E0" "0888"))


def test_battery_level() -> None:
    assert parse_battery_level(h("5A")) == 90
    assert parse_battery_level(h("65")) is None  # 101: reserved, not a level
    with pytest.raises(GattDecodeError, match="battery level"):
        parse_battery_level(b"")


# -- arbitrary bytes ----------------------------------------------------------------------

def _flags(data: bytes) -> int:
    return data[0] if data else 0


def _need_hr(d: bytes) -> int:
    f = _flags(d)
    return 1 + (2 if f & 1 else 1) + (2 if f & 8 else 0) + (2 if f & 16 else 0)


def _need_bp(d: bytes) -> int:
    f = _flags(d)
    return 7 + (7 if f & 2 else 0) + (2 if f & 4 else 0) + (1 if f & 8 else 0) + (
        2 if f & 16 else 0)


def _need_spot(d: bytes) -> int:
    f = _flags(d)
    return 5 + (7 if f & 1 else 0) + (2 if f & 2 else 0) + (3 if f & 4 else 0) + (
        2 if f & 8 else 0)


def _need_cont(d: bytes) -> int:
    f = _flags(d)
    return 5 + (4 if f & 1 else 0) + (4 if f & 2 else 0) + (2 if f & 4 else 0) + (
        3 if f & 8 else 0) + (2 if f & 16 else 0)


def _need_features(d: bytes) -> int:
    if len(d) < 2:
        return 2
    s = d[0] | d[1] << 8
    return 2 + (2 if s & 1 else 0) + (3 if s & 2 else 0)


PARSERS = (
    (parse_heart_rate_measurement, _need_hr),
    (parse_blood_pressure_measurement, _need_bp),
    (parse_intermediate_cuff_pressure, _need_bp),
    (parse_plx_spot_check, _need_spot),
    (parse_plx_continuous, _need_cont),
    (parse_plx_features, _need_features),
    (parse_battery_level, lambda d: 1),
    (parse_body_sensor_location, lambda d: 1),
)


def _numbers_are_decoded(result: object) -> None:
    """Every float a parser returns is a decoded IEEE 11073 value: finite, NaN or ±inf, and
    every int field fits its wire width."""
    for name in getattr(result, "__slots__", ()):
        v = getattr(result, name)
        if isinstance(v, bool) or v is None or isinstance(v, str | datetime):
            continue
        if isinstance(v, int):
            assert 0 <= v < 1 << 24, name
        elif isinstance(v, float):
            assert math.isnan(v) or math.isinf(v) or abs(v) <= 2048 * 10**127, name


@settings(max_examples=6000, deadline=None)
@given(st.binary(max_size=40))
def test_arbitrary_bytes_never_escape(data: bytes) -> None:
    """Each of the 8 parsers on each input (48,000 inputs): a value, or GattDecodeError
    exactly when the input is shorter than its flags promise."""
    for parse, need in PARSERS:
        try:
            result = parse(data)
        except GattDecodeError:
            assert len(data) < need(data), parse.__name__
            continue
        assert len(data) >= need(data), parse.__name__
        _numbers_are_decoded(result)


# -- round trips: what goes in comes out --------------------------------------------------

sfloat_raw = st.one_of(st.integers(0, 0xFFFF),
                       st.sampled_from([0x07FF, 0x0800, 0x0801, 0x07FE, 0x0802]))
date_parts = st.tuples(st.integers(0, 0xFFFF), *(st.integers(0, 255) for _ in range(5)))
rfu = st.integers(0, 7).map(lambda x: x << 5)  # reserved flag bits: must be ignored


def _stamp(parts: tuple[int, ...]) -> tuple[bytes, datetime | None]:
    year, month, day = parts[:3]
    wire = struct.pack("<HBBBBB", *parts)
    try:
        expected = datetime(*parts) if year and month and day else None
    except ValueError:
        expected = None
    return wire, expected


@settings(max_examples=600, deadline=None)
@given(st.booleans(), st.integers(0, 0xFFFF), st.booleans(), st.booleans(),
       st.none() | st.integers(0, 0xFFFF), st.lists(st.integers(0, 0xFFFF), max_size=8),
       rfu)
def test_heart_rate_round_trip(wide: bool, hr: int, supported: bool, detected: bool,
                               energy: int | None, rr: list[int], reserved: int) -> None:
    hr = hr if wide else hr & 0xFF
    flags = (wide * 1 | detected * 2 | supported * 4 | (energy is not None) * 8
             | bool(rr) * 16 | reserved)
    data = bytes([flags]) + struct.pack("<H" if wide else "<B", hr)
    data += struct.pack("<H", energy) if energy is not None else b""
    data += b"".join(struct.pack("<H", r) for r in rr)
    m = parse_heart_rate_measurement(data)
    assert m.heart_rate == hr
    assert m.sensor_contact == (detected if supported else None)
    assert m.energy_expended == energy
    assert m.rr_intervals == tuple(r / 1024 for r in rr)


@settings(max_examples=600, deadline=None)
@given(st.booleans(), st.tuples(sfloat_raw, sfloat_raw, sfloat_raw), st.none() | date_parts,
       st.none() | sfloat_raw, st.none() | st.integers(0, 255),
       st.none() | st.integers(0, 0xFFFF), rfu, st.booleans())
def test_blood_pressure_round_trip(kpa: bool, bp: tuple[int, int, int],
                                   stamp: tuple[int, ...] | None, pulse: int | None,
                                   user: int | None, status: int | None, reserved: int,
                                   cuff: bool) -> None:
    flags = (kpa * 1 | (stamp is not None) * 2 | (pulse is not None) * 4
             | (user is not None) * 8 | (status is not None) * 16 | reserved)
    data = bytes([flags]) + struct.pack("<HHH", *bp)
    wire, when = _stamp(stamp) if stamp is not None else (b"", None)
    data += wire
    data += struct.pack("<H", pulse) if pulse is not None else b""
    data += bytes([user]) if user is not None else b""
    data += struct.pack("<H", status) if status is not None else b""
    m = (parse_intermediate_cuff_pressure if cuff else parse_blood_pressure_measurement)(data)
    if cuff:
        assert same(m.cuff_pressure, _expected_sfloat(bp[0]))
    else:
        assert same(m.systolic, _expected_sfloat(bp[0]))
        assert same(m.diastolic, _expected_sfloat(bp[1]))
        assert same(m.mean_arterial, _expected_sfloat(bp[2]))
    assert m.unit == ("kPa" if kpa else "mmHg")
    assert m.timestamp == when
    assert same(m.pulse_rate, None if pulse is None else _expected_sfloat(pulse))
    assert (m.user_id, m.measurement_status) == (user, status)


@settings(max_examples=600, deadline=None)
@given(st.tuples(sfloat_raw, sfloat_raw), st.none() | st.tuples(sfloat_raw, sfloat_raw),
       st.none() | st.tuples(sfloat_raw, sfloat_raw), st.none() | st.integers(0, 0xFFFF),
       st.none() | st.integers(0, 0xFFFFFF), st.none() | sfloat_raw, rfu)
def test_plx_continuous_round_trip(normal: tuple[int, int], fast: tuple[int, int] | None,
                                   slow: tuple[int, int] | None, ms: int | None,
                                   dss: int | None, pai: int | None, reserved: int) -> None:
    flags = ((fast is not None) * 1 | (slow is not None) * 2 | (ms is not None) * 4
             | (dss is not None) * 8 | (pai is not None) * 16 | reserved)
    data = bytes([flags]) + struct.pack("<HH", *normal)
    data += struct.pack("<HH", *fast) if fast else b""
    data += struct.pack("<HH", *slow) if slow else b""
    data += struct.pack("<H", ms) if ms is not None else b""
    data += dss.to_bytes(3, "little") if dss is not None else b""
    data += struct.pack("<H", pai) if pai is not None else b""
    m = parse_plx_continuous(data)

    def exp(raw: int | None) -> float | None:
        return None if raw is None else _expected_sfloat(raw)
    assert same(m.spo2, exp(normal[0])) and same(m.pulse_rate, exp(normal[1]))
    assert same(m.spo2_fast, exp(fast and fast[0])) and same(m.pulse_rate_fast,
                                                               exp(fast and fast[1]))
    assert same(m.spo2_slow, exp(slow and slow[0])) and same(m.pulse_rate_slow,
                                                               exp(slow and slow[1]))
    assert (m.measurement_status, m.device_sensor_status) == (ms, dss)
    assert same(m.pulse_amplitude_index, exp(pai))


@settings(max_examples=600, deadline=None)
@given(st.tuples(sfloat_raw, sfloat_raw), st.none() | date_parts,
       st.none() | st.integers(0, 0xFFFF), st.none() | st.integers(0, 0xFFFFFF),
       st.none() | sfloat_raw, st.booleans(), rfu)
def test_plx_spot_check_round_trip(normal: tuple[int, int], stamp: tuple[int, ...] | None,
                                   ms: int | None, dss: int | None, pai: int | None,
                                   clock_not_set: bool, reserved: int) -> None:
    flags = ((stamp is not None) * 1 | (ms is not None) * 2 | (dss is not None) * 4
             | (pai is not None) * 8 | clock_not_set * 16 | reserved)
    wire, when = _stamp(stamp) if stamp is not None else (b"", None)
    data = bytes([flags]) + struct.pack("<HH", *normal) + wire
    data += struct.pack("<H", ms) if ms is not None else b""
    data += dss.to_bytes(3, "little") if dss is not None else b""
    data += struct.pack("<H", pai) if pai is not None else b""
    m = parse_plx_spot_check(data)
    assert same(m.spo2, _expected_sfloat(normal[0]))
    assert same(m.pulse_rate, _expected_sfloat(normal[1]))
    assert m.timestamp == when
    assert (m.measurement_status, m.device_sensor_status) == (ms, dss)
    assert same(m.pulse_amplitude_index, None if pai is None else _expected_sfloat(pai))
    assert m.device_clock_not_set is clock_not_set


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFF))
def test_plx_features_round_trip(supported: int, ms: int, dss: int) -> None:
    data = struct.pack("<H", supported)
    data += struct.pack("<H", ms) if supported & 1 else b""
    data += dss.to_bytes(3, "little") if supported & 2 else b""
    m = parse_plx_features(data)
    assert m == gatt.PlxFeatures(supported, ms if supported & 1 else None,
                                 dss if supported & 2 else None)
