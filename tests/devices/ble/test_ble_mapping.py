"""From GATT bytes to Vigil messages: values, conditions, units and reading times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alarms.engine import AlarmEngine
from alarms.model import AlarmEvent
from alarms.presets import PRESETS
from devices.ble import gatt
from devices.ble.gatt import GattDecodeError
from devices.ble.mapping import CLOCK_TOLERANCE_S, GattMapper, plx_status
from monitor.clock import VirtualClock
from monitor.messages import Condition, DeviceCondition, Numerics
from monitor.validity import Verdict, judge

WALL0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC).timestamp()


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


@pytest.fixture
def mapper() -> GattMapper:
    # Device Date Time is local time; the test reads it as UTC so it runs in any time zone.
    return GattMapper("ble", VirtualClock(wall0=WALL0),
                      local_timestamp=lambda dt: dt.replace(tzinfo=UTC).timestamp())


def numerics(msgs: list) -> list[Numerics]:
    return [m for m in msgs if isinstance(m, Numerics)]


def conditions(msgs: list) -> list[tuple[Condition, bool, str | None]]:
    return [(m.condition, m.active, m.vital) for m in msgs if isinstance(m, DeviceCondition)]


def test_heart_rate_value_and_contact(mapper: GattMapper) -> None:
    msgs = mapper.map(gatt.HEART_RATE_MEASUREMENT, h("16 40 0004"), 5.0)
    assert msgs == [Numerics("ble", WALL0 + 5.0, 5.0, (("hr", 64.0),))]
    lost = mapper.map(gatt.HEART_RATE_MEASUREMENT, h("04 00"), 6.0)  # supported, no contact
    assert numerics(lost) == []
    assert conditions(lost) == [(Condition.SENSOR_OFF, True, "hr")]
    back = mapper.map(gatt.HEART_RATE_MEASUREMENT, h("06 41"), 7.0)
    assert conditions(back) == [(Condition.SENSOR_OFF, False, "hr")]
    assert numerics(back)[0].get("hr") == 65.0


def test_heart_rate_zero_is_no_value(mapper: GattMapper) -> None:
    msgs = mapper.map(gatt.HEART_RATE_MEASUREMENT, h("00 00"), 1.0)
    assert numerics(msgs) == []
    assert conditions(msgs) == [(Condition.SEARCHING, True, "hr")]


def test_rr_intervals_never_become_respiratory_rate(mapper: GattMapper) -> None:
    msgs = mapper.map(gatt.HEART_RATE_MEASUREMENT, h("10 48 0004 0004"), 1.0)
    assert [m.keys() for m in numerics(msgs)] == [("hr",)]


def test_plx_continuous_values(mapper: GattMapper) -> None:
    msgs = mapper.map(gatt.PLX_CONTINUOUS, h("00 6100 4800"), 2.0)
    assert msgs == [Numerics("ble", WALL0 + 2.0, 2.0, (("spo2", 97.0), ("pr", 72.0)))]


def test_plx_validated_status_vouches_for_the_values(mapper: GattMapper) -> None:
    # SpO2 25 %, PR 72: outside SpO2's plausible range. With "validated data" (bit 7) the
    # oximeter vouches for it: a measurement. Without, it is unflagged: the alarm engine
    # raises it as an artefact. Neither is a device condition.
    vouched = mapper.map(gatt.PLX_CONTINUOUS, h("04 1900 4800 8000"), 2.0)
    assert vouched == [Numerics("ble", WALL0 + 2.0, 2.0, (("spo2", 25.0), ("pr", 72.0)),
                                validated=("spo2", "pr"))]
    plain = mapper.map(gatt.PLX_CONTINUOUS, h("04 1900 4800 0000"), 3.0)
    assert plain == [Numerics("ble", WALL0 + 3.0, 3.0, (("spo2", 25.0), ("pr", 72.0)))]
    assert (judge("spo2", 25.0, vouched[0].flag("spo2")),
            judge("spo2", 25.0, plain[0].flag("spo2"))) == (Verdict.MEASUREMENT,
                                                             Verdict.ARTEFACT)


def test_plx_invalid_status_gives_conditions_not_numbers(mapper: GattMapper) -> None:
    msgs = mapper.map(gatt.PLX_CONTINUOUS, h("0C FF07 FF07 0020 088000"), 3.0)
    assert numerics(msgs) == []
    assert set(conditions(msgs)) == {(Condition.MEASUREMENT_INVALID, True, "spo2"),
                                     (Condition.POOR_SIGNAL, True, "spo2"),
                                     (Condition.SENSOR_OFF, True, "spo2")}
    again = mapper.map(gatt.PLX_CONTINUOUS, h("0C FF07 FF07 0020 088000"), 4.0)
    assert again == []  # conditions are reported when they start, not with every packet
    good = mapper.map(gatt.PLX_CONTINUOUS, h("00 6100 4800"), 5.0)
    assert {c for c, active, _ in conditions(good) if not active} == {
        Condition.MEASUREMENT_INVALID, Condition.POOR_SIGNAL, Condition.SENSOR_OFF}
    assert numerics(good)[0].get("spo2") == 97.0


def test_plx_status_that_keeps_the_value(mapper: GattMapper) -> None:
    msgs = mapper.map(gatt.PLX_CONTINUOUS, h("08 6100 4800 200000"), 1.0)  # low perfusion
    assert conditions(msgs) == [(Condition.LOW_PERFUSION, True, "spo2")]
    assert numerics(msgs)[0].get("spo2") == 97.0


@pytest.mark.parametrize("ms", [gatt.PLX_MS_DEMO, gatt.PLX_MS_TESTING])
def test_plx_demo_or_test_data_is_never_a_value(mapper: GattMapper, ms: int) -> None:
    msgs = mapper.map(gatt.PLX_CONTINUOUS, h("04 6100 4800") + ms.to_bytes(2, "little"), 1.0)
    assert numerics(msgs) == []
    assert conditions(msgs) == [(Condition.DEMO_DATA, True, "spo2")]


@pytest.mark.parametrize("dss", [
    gatt.PLX_DSS_EQUIPMENT_MALFUNCTION, gatt.PLX_DSS_INADEQUATE_SIGNAL,
    gatt.PLX_DSS_SENSOR_UNCONNECTED, gatt.PLX_DSS_SENSOR_MALFUNCTION,
    gatt.PLX_DSS_SENSOR_DISCONNECTED])
def test_plx_invalidating_sensor_bits(dss: int) -> None:
    usable, conds = plx_status(None, dss)
    assert not usable and conds


@pytest.mark.parametrize("ms", [gatt.PLX_MS_UNAVAILABLE, gatt.PLX_MS_INVALID])
def test_plx_invalidating_measurement_bits(ms: int) -> None:
    usable, conds = plx_status(ms, None)
    assert not usable and set(conds) == {(Condition.MEASUREMENT_INVALID, "spo2")}
    assert plx_status(gatt.PLX_MS_VALIDATED | gatt.PLX_MS_ONGOING, 0) == (True, {})


def test_plx_nan_without_status_is_searching(mapper: GattMapper) -> None:
    msgs = mapper.map(gatt.PLX_CONTINUOUS, h("00 FF07 FF07"), 1.0)
    assert numerics(msgs) == []
    assert conditions(msgs) == [(Condition.SEARCHING, True, "spo2")]


def test_blood_pressure_is_one_reading(mapper: GattMapper) -> None:
    msgs = mapper.map(gatt.BLOOD_PRESSURE_MEASUREMENT, h("04 7800 5000 5D00 4000"), 9.0)
    assert msgs == [Numerics("ble", WALL0 + 9.0, 9.0, (("sbp", 120.0), ("dbp", 80.0),
                                                        ("map", 93.0), ("pr", 64.0)))]


def test_blood_pressure_kpa_is_stored_in_mmhg(mapper: GattMapper) -> None:
    (reading,) = mapper.map(gatt.BLOOD_PRESSURE_MEASUREMENT, h("05 A0F0 6BF0 7CF0 4000"), 1.0)
    assert reading.get("sbp") == pytest.approx(16.0 * 7.50062)
    assert reading.get("dbp") == pytest.approx(10.7 * 7.50062)
    assert reading.get("map") == pytest.approx(12.4 * 7.50062)
    assert reading.get("pr") == 64.0  # a pulse is not a pressure


def test_blood_pressure_nan_is_a_failed_measurement(mapper: GattMapper) -> None:
    msgs = mapper.map(gatt.BLOOD_PRESSURE_MEASUREMENT,
                      h("16 FF07 FF07 FF07 EA07030E091E00 FF07 0200"), 1900.0)
    assert numerics(msgs) == []
    (cond,) = [m for m in msgs if isinstance(m, DeviceCondition)]
    assert (cond.condition, cond.active, cond.vital) == (
        Condition.MEASUREMENT_FAILED, True, "sbp")
    assert "cuff is too loose" in cond.detail
    assert cond.t_s == 30 * 60  # stamped 09:30, the session began 09:00
    ok = mapper.map(gatt.BLOOD_PRESSURE_MEASUREMENT, h("00 7800 5000 5D00"), 2000.0)
    assert conditions(ok) == [(Condition.MEASUREMENT_FAILED, False, "sbp")]


def test_blood_pressure_without_map(mapper: GattMapper) -> None:
    (reading,) = mapper.map(gatt.BLOOD_PRESSURE_MEASUREMENT, h("00 7800 5000 FF07"), 1.0)
    assert reading.keys() == ("sbp", "dbp")


def test_blood_pressure_quality_flag_keeps_the_reading(mapper: GattMapper) -> None:
    msgs = mapper.map(gatt.BLOOD_PRESSURE_MEASUREMENT, h("10 7800 5000 5D00 0100"), 1.0)
    assert conditions(msgs) == [(Condition.POOR_SIGNAL, True, "sbp")]
    assert numerics(msgs)[0].get("sbp") == 120.0


def _bp_at(hour: int, minute: int, systolic: int = 0x78) -> bytes:
    return bytes([0x02, systolic, 0, 0x50, 0, 0x5D, 0]) + bytes(
        [0xEA, 0x07, 3, 14, hour, minute, 0])


def test_stored_reading_keeps_its_time_and_is_recorded_once(mapper: GattMapper) -> None:
    (reading,) = mapper.map(gatt.BLOOD_PRESSURE_MEASUREMENT, _bp_at(9, 40), 2500.0)
    assert reading.t_s == 40 * 60
    assert reading.t_wall == WALL0 + 40 * 60
    # The cuff sends its memory again after a reconnect: it is not a second reading.
    assert mapper.map(gatt.BLOOD_PRESSURE_MEASUREMENT, _bp_at(9, 40), 2600.0) == []


def test_reading_from_before_the_session_is_left_out(mapper: GattMapper) -> None:
    assert mapper.map(gatt.BLOOD_PRESSURE_MEASUREMENT, _bp_at(7, 0), 10.0) == []
    assert mapper.skipped_before_session == 1
    # Within the clock tolerance it counts, at the session start.
    (reading,) = mapper.map(gatt.BLOOD_PRESSURE_MEASUREMENT, _bp_at(8, 58, 0x79), 10.0)
    assert CLOCK_TOLERANCE_S >= 120 and reading.t_s == 0.0


def test_device_clock_ahead_uses_arrival_time(mapper: GattMapper) -> None:
    (reading,) = mapper.map(gatt.BLOOD_PRESSURE_MEASUREMENT, _bp_at(12, 0), 10.0)
    assert reading.t_s == 10.0


def test_spot_check_with_clock_not_set_uses_arrival(mapper: GattMapper) -> None:
    (reading,) = mapper.map(gatt.PLX_SPOT_CHECK, h("11 6200 4B00 D0070101000000"), 12.0)
    assert (reading.t_s, reading.get("spo2"), reading.get("pr")) == (12.0, 98.0, 75.0)


def test_battery_low_is_one_alarm_with_hysteresis(mapper: GattMapper) -> None:
    """The level goes to the engine, whose battery-low rule (below 20 %, clear at 25 %) is
    the only judge: a LOW_BATTERY device condition beside it was a second alarm."""
    engine = AlarmEngine(PRESETS["iv-ketamine"], wall0=WALL0)
    events: list[AlarmEvent] = []
    engine.add_listener(events.append)
    levels = {1.0: "0F", 2.0: "16", 3.0: "1E", 4.0: "FF"}  # 15 %, 22 %, 30 %, reserved
    for t, data in levels.items():
        msgs = mapper.map(gatt.BATTERY_LEVEL, h(data), t)
        assert conditions(msgs) == []
        for m in msgs:
            engine(m)
    assert mapper.map(gatt.BATTERY_LEVEL, h("FF"), 4.0) == []  # reserved: no level
    assert [(e.event.value, e.alarm.key, e.t_s) for e in events if e.alarm] == [
        ("start", "battery-low:ble", 1.0), ("end", "battery-low:ble", 3.0)]


def test_cuff_pressure_is_checked_not_recorded(mapper: GattMapper) -> None:
    assert mapper.map(gatt.INTERMEDIATE_CUFF_PRESSURE, h("00 9100 FF07 FF07"), 1.0) == []
    with pytest.raises(GattDecodeError, match="unused"):
        mapper.map(gatt.INTERMEDIATE_CUFF_PRESSURE, h("00 9100"), 1.0)


def test_malformed_value_raises_and_records_nothing(mapper: GattMapper) -> None:
    with pytest.raises(GattDecodeError, match="pulse rate"):
        mapper.map(gatt.BLOOD_PRESSURE_MEASUREMENT, h("04 7800 5000 5D00"), 1.0)
    with pytest.raises(GattDecodeError, match="0x2A00"):
        mapper.map(0x2A00, b"\x00", 1.0)
