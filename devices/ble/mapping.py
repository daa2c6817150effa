"""From decoded GATT values to Vigil messages: which numbers count, and which are conditions.

`GattMapper` is the clinical half of the BLE driver, kept free of Bluetooth I/O so that it
can be tested on bytes alone. Its rules:
- each value is judged by the one validity rule (`monitor.validity`): a value the device
  marks invalid, demo or test data, or a special SFLOAT (NaN, NRes, ±INF) is never a
  number: it becomes a `DeviceCondition`; a pulse oximeter's "validated data" status bit
  vouches for its values (`Numerics.validated`); every other value is unflagged, so one
  outside the plausible range is an artefact the alarm engine raises;
- an NIBP reading is one `Numerics` (sbp, dbp, map, and pr if sent), in mmHg: kPa readings
  are converted (the store keeps the registry's unit, mmHg);
- stored readings keep the time the device stamped on them; a reading stamped before the
  session began is an earlier reading, not part of this session, and is left out;
- conditions are reported when they start and when they end, not with every packet.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime
from typing import TypeGuard

from devices.ble import gatt
from devices.ble.gatt import (
    BATTERY_LEVEL,
    BLOOD_PRESSURE_MEASUREMENT,
    HEART_RATE_MEASUREMENT,
    INTERMEDIATE_CUFF_PRESSURE,
    KPA_TO_MMHG,
    PLX_CONTINUOUS,
    PLX_SPOT_CHECK,
    GattDecodeError,
)
from devices.conditions import ConditionKey, ConditionTracker
from monitor.clock import SessionClock
from monitor.messages import Battery, Condition, Message, Numerics

log = logging.getLogger(__name__)

CLOCK_TOLERANCE_S = 300.0  # device clocks drift: how far off a device time may be

# PLX Measurement Status bits that make the value not a value, with what the nurse sees.
_PLX_MS_INVALID = {
    gatt.PLX_MS_UNAVAILABLE: (Condition.MEASUREMENT_INVALID, "the oximeter has no value"),
    gatt.PLX_MS_INVALID: (Condition.MEASUREMENT_INVALID,
                          "the oximeter marked its value invalid"),
}
_PLX_MS_WARN = {
    gatt.PLX_MS_QUESTIONABLE: (Condition.POOR_SIGNAL, "the oximeter questions its value"),
    gatt.PLX_MS_CALIBRATING: (Condition.SEARCHING, "the oximeter is calibrating"),
}
# Device and Sensor Status bits (devices.md "Mapping to Vigil": 1, 3, 11, 14, 15 invalidate).
_PLX_DSS_INVALID = {
    gatt.PLX_DSS_EQUIPMENT_MALFUNCTION: (Condition.SENSOR_FAULT,
                                         "the oximeter reports a malfunction"),
    gatt.PLX_DSS_INADEQUATE_SIGNAL: (Condition.POOR_SIGNAL, "inadequate signal"),
    gatt.PLX_DSS_SENSOR_UNCONNECTED: (Condition.SENSOR_OFF, "the sensor is not on the patient"),
    gatt.PLX_DSS_SENSOR_MALFUNCTION: (Condition.SENSOR_FAULT, "the sensor is faulty: replace it"),
    gatt.PLX_DSS_SENSOR_DISCONNECTED: (Condition.SENSOR_OFF,
                                       "the sensor is unplugged from the oximeter"),
}
_PLX_DSS_WARN = {
    gatt.PLX_DSS_SIGNAL_PROCESSING_IRREGULAR: (Condition.POOR_SIGNAL,
                                               "signal processing irregularity"),
    gatt.PLX_DSS_POOR_SIGNAL: (Condition.POOR_SIGNAL, "poor signal"),
    gatt.PLX_DSS_LOW_PERFUSION: (Condition.LOW_PERFUSION, "low perfusion"),
    gatt.PLX_DSS_ERRATIC_SIGNAL: (Condition.POOR_SIGNAL, "erratic signal"),
    gatt.PLX_DSS_NON_PULSATILE: (Condition.POOR_SIGNAL, "non-pulsatile signal"),
    gatt.PLX_DSS_QUESTIONABLE_PULSE: (Condition.POOR_SIGNAL, "questionable pulse"),
    gatt.PLX_DSS_SIGNAL_ANALYSIS_ONGOING: (Condition.SEARCHING, "signal analysis ongoing"),
    gatt.PLX_DSS_INTERFERENCE: (Condition.POOR_SIGNAL, "sensor interference"),
    gatt.PLX_DSS_UNKNOWN_SENSOR: (Condition.SENSOR_FAULT, "unknown sensor connected"),
    gatt.PLX_DSS_SENSOR_DISPLACED: (Condition.POOR_SIGNAL, "the sensor is displaced: refit it"),
}
_PLX_DEMO = gatt.PLX_MS_DEMO | gatt.PLX_MS_TESTING
_BP_QUALITY = {
    gatt.BP_STATUS_BODY_MOVEMENT: "the patient moved during the measurement",
    gatt.BP_STATUS_CUFF_TOO_LOOSE: "the cuff is too loose: refit it",
    gatt.BP_STATUS_IMPROPER_POSITION: "improper measurement position",
}


def plx_status(ms: int | None, dss: int | None
               ) -> tuple[bool, dict[ConditionKey, str]]:
    """(values usable, active conditions with details) for PLX status bits."""
    usable = True
    found: dict[Condition, list[str]] = {}

    def add(table: dict[int, tuple[Condition, str]], bits: int, invalidates: bool) -> None:
        nonlocal usable
        for bit, (cond, text) in table.items():
            if bits & bit:
                found.setdefault(cond, []).append(text)
                usable = usable and not invalidates

    if ms is not None:
        add(_PLX_MS_INVALID, ms, True)
        add(_PLX_MS_WARN, ms, False)
        if ms & _PLX_DEMO:
            usable = False
            found.setdefault(Condition.DEMO_DATA, []).append(
                "the oximeter sends demonstration or test data, not the patient's")
    if dss is not None:
        add(_PLX_DSS_INVALID, dss, True)
        add(_PLX_DSS_WARN, dss, False)
    return usable, {(c, "spo2"): "; ".join(texts) for c, texts in found.items()}


def _finite(x: float | None) -> TypeGuard[float]:
    return x is not None and math.isfinite(x)


class GattMapper:
    """Turns characteristic values of one device into messages; keeps condition state and
    the readings already recorded, across reconnects."""

    def __init__(self, source: str, clock: SessionClock,
                 local_timestamp: Callable[[datetime], float] = datetime.timestamp) -> None:
        self.source = source
        self.clock = clock
        self._local_timestamp = local_timestamp  # device Date Time (local) -> epoch s
        self._conditions = ConditionTracker(restate=True)
        self._seen: set[tuple[int, bytes]] = set()
        self.skipped_before_session = 0

    # -- entry point ---------------------------------------------------------------------

    def map(self, char: int, data: bytes, t: float) -> list[Message]:
        """Messages for one value of characteristic `char` (16-bit UUID) received at `t`.

        Raises GattDecodeError for a malformed value; nothing is half-recorded then."""
        if char == HEART_RATE_MEASUREMENT:
            return self._heart_rate(gatt.parse_heart_rate_measurement(data), t)
        if char == PLX_CONTINUOUS:
            m = gatt.parse_plx_continuous(data)
            return self._plx(m.spo2, m.pulse_rate, m.measurement_status,
                             m.device_sensor_status, t)
        if char == PLX_SPOT_CHECK:
            s = gatt.parse_plx_spot_check(data)
            at = self._reading_time(char, data, None if s.device_clock_not_set
                                    else s.timestamp, t)
            if at is None:
                return []
            return self._plx(s.spo2, s.pulse_rate, s.measurement_status,
                             s.device_sensor_status, at)
        if char == BLOOD_PRESSURE_MEASUREMENT:
            bp = gatt.parse_blood_pressure_measurement(data)
            at = self._reading_time(char, data, bp.timestamp, t)
            return [] if at is None else self._blood_pressure(bp, at)
        if char == INTERMEDIATE_CUFF_PRESSURE:
            # Cuff pressure while inflating is no vital: it is checked, not recorded.
            gatt.parse_intermediate_cuff_pressure(data)
            return []
        if char == BATTERY_LEVEL:
            return self.battery(gatt.parse_battery_level(data), t)
        raise GattDecodeError(f"characteristic 0x{char:04X} is not one Vigil reads")

    # -- profiles ------------------------------------------------------------------------

    def _heart_rate(self, m: gatt.HeartRateMeasurement, t: float) -> list[Message]:
        conds: dict[ConditionKey, str] = {}
        values: tuple[tuple[str, float], ...] = ()
        if m.sensor_contact is False:
            conds[(Condition.SENSOR_OFF, "hr")] = "the heart-rate sensor has no skin contact"
        elif m.heart_rate == 0:
            conds[(Condition.SEARCHING, "hr")] = "the heart-rate sensor finds no heart rate"
        else:
            values = (("hr", float(m.heart_rate)),)
        return self._emit("hr", conds, t, values)

    def _plx(self, spo2: float, pr: float, ms: int | None, dss: int | None,
             t: float) -> list[Message]:
        usable, conds = plx_status(ms, dss)
        values: tuple[tuple[str, float], ...] = ()
        if usable:
            values = tuple((k, v) for k, v in (("spo2", spo2), ("pr", pr)) if _finite(v))
            if not values and not conds:
                conds[(Condition.SEARCHING, "spo2")] = "the oximeter sends no value yet"
        vouched = ms is not None and bool(ms & gatt.PLX_MS_VALIDATED)
        return self._emit("plx", conds, t, values,
                          tuple(k for k, _ in values) if vouched else ())

    def _blood_pressure(self, bp: gatt.BloodPressureMeasurement, t: float) -> list[Message]:
        conds: dict[ConditionKey, str] = {}
        status = bp.measurement_status or 0
        quality = [text for bit, text in _BP_QUALITY.items() if status & bit]
        values: tuple[tuple[str, float], ...] = ()
        if not (_finite(bp.systolic) and _finite(bp.diastolic)):
            conds[(Condition.MEASUREMENT_FAILED, "sbp")] = "; ".join(
                ["the cuff reported a failed measurement: check the cuff and measure again",
                 *quality])
        else:
            scale = KPA_TO_MMHG if bp.unit == "kPa" else 1.0
            pairs = [("sbp", bp.systolic * scale), ("dbp", bp.diastolic * scale)]
            if _finite(bp.mean_arterial):
                pairs.append(("map", bp.mean_arterial * scale))
            if _finite(bp.pulse_rate):
                pairs.append(("pr", bp.pulse_rate))
            values = tuple(pairs)
            if quality:
                conds[(Condition.POOR_SIGNAL, "sbp")] = "; ".join(quality)
        return self._emit("bp", conds, t, values)

    def battery(self, percent: int | None, t: float) -> list[Message]:
        """A Battery message. The alarm engine judges the level (its battery-low rule, with
        hysteresis); a LOW_BATTERY condition as well would be a second alarm for one problem.
        """
        if percent is None:  # a reserved value: no level is better than a made-up one
            return []
        return [Battery(self.source, self.clock.wall(t), t, float(percent))]

    def condition(self, group: str, conds: dict[ConditionKey, str], t: float
                  ) -> list[Message]:
        """Sets the active conditions of `group` (e.g. the link's pairing state)."""
        return self._condition_messages(group, conds, t)

    # -- helpers -------------------------------------------------------------------------

    def _emit(self, group: str, conds: dict[ConditionKey, str], t: float,
              values: tuple[tuple[str, float], ...], validated: tuple[str, ...] = ()
              ) -> list[Message]:
        out = self._condition_messages(group, conds, t)
        if values:
            out.append(Numerics(self.source, self.clock.wall(t), t, values, validated))
        return out

    def _condition_messages(self, group: str, conds: dict[ConditionKey, str], t: float
                            ) -> list[Message]:
        wall = self.clock.wall(t)
        return [c.message(self.source, wall, t)
                for c in self._conditions.update(conds, t, group)]

    def _reading_time(self, char: int, data: bytes, stamp: datetime | None,
                      arrival: float) -> float | None:
        """Session time of a reading: the device's stamp if it is believable, else the
        arrival time; None for a reading recorded before (or a copy already recorded)."""
        if stamp is None:
            return arrival
        key = (char, bytes(data))
        if key in self._seen:  # the device sends its stored readings again on reconnect
            return None
        self._seen.add(key)
        try:
            t = self._local_timestamp(stamp) - self.clock.wall0
        except (OverflowError, OSError, ValueError):
            return arrival
        if t > arrival + CLOCK_TOLERANCE_S:
            log.warning("%s: the device clock is ahead of this computer's; using arrival "
                        "times (set the device's clock)", self.source)
            return arrival
        if t < -CLOCK_TOLERANCE_S:
            self.skipped_before_session += 1
            log.info("%s: left out a stored reading taken before this session (%d so far)",
                     self.source, self.skipped_before_session)
            return None
        return min(max(t, 0.0), arrival)
