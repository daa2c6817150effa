"""The streaming engine on hand-made message sequences: delays, hysteresis, artefacts,
technical conditions and the IEC 60601-1-8 states (acknowledge, latch, pause, escalate)."""

from __future__ import annotations

from alarms.engine import AlarmEngine
from alarms.episodes import episodes_from_events
from alarms.model import AlarmEvent, AlarmEventKind, AlarmKind, AlarmState, Priority
from alarms.presets import PRESETS, with_rules
from monitor.messages import (
    Battery,
    Condition,
    DeviceCondition,
    DeviceState,
    DeviceStatus,
    Numerics,
    TimelineMark,
)

IV = PRESETS["iv-ketamine"]


class Run:
    def __init__(self, preset=IV, **kw) -> None:
        self.engine = AlarmEngine(preset, wall0=1_000_000.0, **kw)
        self.events: list[AlarmEvent] = []
        self.engine.add_listener(self.events.append)

    def num(self, t: float, src: str = "dev", **values: float) -> None:
        self.engine(Numerics(src, 1_000_000.0 + t, t, tuple(values.items())))

    def series(self, vital: str, values: list[float], t0: float = 0.0, dt: float = 1.0,
               **extra: float) -> float:
        for i, v in enumerate(values):
            self.num(t0 + i * dt, **{vital: v}, **extra)
        return t0 + (len(values) - 1) * dt

    def started(self) -> list[str]:
        return [e.alarm.key for e in self.events
                if e.event is AlarmEventKind.START and e.alarm is not None]

    def episodes(self):
        return episodes_from_events(self.events)


def test_spo2_low_needs_more_than_its_delay() -> None:
    r = Run()
    end = r.series("spo2", [97] + [88] * 15 + [95])  # 88 % from t=1 to t=15: 14 s + 1
    assert r.started() == []
    r.series("spo2", [88] * 17 + [95], t0=end + 1)
    (ep,) = r.episodes()
    assert ep.rule_id == "spo2-low" and ep.priority is Priority.MEDIUM
    assert ep.delay_s == 15 and ep.signal_t_s == end + 1 + 15
    assert ep.worst_value == 88 and ep.end_t_s == end + 1 + 17


def test_hysteresis_keeps_the_condition_until_the_value_is_clear_of_the_limit() -> None:
    r = Run()
    r.series("spo2", [89] * 20 + [90.5] * 5 + [89] * 5 + [91, 95])
    (ep,) = r.episodes()
    assert ep.onset_t_s == 0 and ep.end_t_s == 30  # 90.5 is inside the 1 % hysteresis


def test_desaturation_below_critical_signals_at_once() -> None:
    r = Run()
    r.series("spo2", [97, 84, 84, 97])
    (ep,) = r.episodes()  # the critical tier of the SpO2-low condition: no 15 s delay
    assert (ep.key, ep.priority, ep.condition, ep.limit) == (
        "spo2-low:dev", Priority.HIGH, "SpO2 CRITICAL", 85)
    assert (ep.onset_t_s, ep.signal_t_s, ep.end_t_s, ep.worst_value) == (1, 1, 3, 84)


def test_placeholder_zero_is_a_technical_condition_never_a_desaturation() -> None:
    r = Run()
    r.series("spo2", [88] * 20)  # SpO2 low is signalled
    r.series("spo2", [0] * 30, t0=20, hr=0)  # the monitor stores 0: no value
    eps = {e.rule_id: e for e in r.episodes()}
    assert set(eps) == {"spo2-low", "spo2-invalid", "hr-invalid"}
    assert eps["spo2-low"].end_t_s == 20, "an artefact ends the physiological condition"
    assert eps["spo2-invalid"].kind is AlarmKind.TECHNICAL
    assert eps["spo2-invalid"].signal_t_s == 30  # its 10 s delay
    assert eps["hr-invalid"].worst_value is None


def test_inconsistent_nibp_reading_is_invalid_not_hypotension() -> None:
    r = Run()
    r.num(0, sbp=70, dbp=80, map=75)  # SYS <= DIA
    r.num(300, sbp=120, dbp=80, map=130)  # MAP outside [DIA, SYS]
    r.num(600, sbp=80, dbp=50)  # a valid, low reading without MAP
    eps = r.episodes()
    assert [(e.rule_id, e.kind, e.onset_t_s, e.end_t_s) for e in eps] == [
        ("nibp-invalid", AlarmKind.TECHNICAL, 0, 600),
        ("sbp-low", AlarmKind.PHYSIOLOGICAL, 600, None)]
    assert eps[1].delay_s == 0 and eps[1].worst_value == 80


def test_relative_rise_uses_the_last_pre_dose_reading_and_pre_dose_advisory() -> None:
    r = Run()
    r.num(0, sbp=150, dbp=85, map=107)  # above 140/90 before dosing
    r.num(300, sbp=130, dbp=80, map=97)  # the baseline
    r.engine(TimelineMark("dev", 1_000_400.0, 400, "dose_start"))
    r.num(900, sbp=169, dbp=104, map=125)
    r.num(1200, sbp=171, dbp=106, map=128)
    r.num(1500, sbp=150, dbp=90, map=110)
    eps = {e.rule_id: e for e in r.episodes()}
    assert set(eps) == {"sbp-predose", "sbp-rise", "dbp-rise"}
    assert (eps["sbp-predose"].onset_t_s, eps["sbp-predose"].end_t_s) == (0, 300)
    assert eps["sbp-rise"].limit == 170 and eps["sbp-rise"].onset_t_s == 1200
    assert eps["dbp-rise"].limit == 105 and eps["dbp-rise"].onset_t_s == 1200
    assert eps["sbp-rise"].end_t_s == 1500 and eps["sbp-rise"].kind is AlarmKind.ADVISORY


def test_spo2_not_current_after_30_s_without_data_fires_on_the_tick() -> None:
    r = Run()
    r.series("spo2", [97] * 10)
    r.engine.tick(39.0)
    assert r.started() == []
    r.engine.tick(40.5)
    (ep,) = r.episodes()
    assert ep.rule_id == "spo2-not-current" and ep.signal_t_s == 39.0
    assert ep.priority is Priority.MEDIUM and ep.kind is AlarmKind.TECHNICAL
    r.num(50, spo2=97)
    assert r.episodes()[0].end_t_s == 50


def test_recorded_sources_raise_no_currency_or_link_alarms() -> None:
    r = Run(recorded_sources={"dev"})
    r.series("spo2", [97, 97], dt=600)
    r.engine(DeviceStatus("dev", 0, 700, DeviceState.DISCONNECTED, "end of recording"))
    r.engine.tick(2000)
    assert r.started() == []


def test_link_loss_covers_not_current_until_the_device_is_back() -> None:
    r = Run()
    r.series("spo2", [97] * 5)
    r.engine(DeviceStatus("dev", 0, 5, DeviceState.DISCONNECTED, "link lost"))
    r.engine.tick(100)  # SpO2 is stale, but the link alarm already says why
    r.engine(DeviceStatus("dev", 0, 100, DeviceState.STREAMING))
    r.engine.tick(129)
    assert r.started() == ["link-lost:dev"]
    r.engine.tick(131)  # back, but no SpO2 for 30 s: now it is "not current"
    assert r.started() == ["link-lost:dev", "spo2-not-current:dev"]
    assert r.episodes()[-1].signal_t_s == 130


def test_nibp_overdue_after_cycle_and_grace() -> None:
    r = Run()
    r.num(0, sbp=120, dbp=80, map=93)
    r.engine.tick(721)  # before the dose: every 10 min, overdue 2 min later
    (ep,) = r.episodes()
    assert ep.rule_id == "nibp-overdue" and ep.signal_t_s == 720 and ep.end_t_s is None
    assert ep.kind is AlarmKind.TECHNICAL and ep.priority is Priority.LOW
    r.num(725, sbp=120, dbp=80, map=93)
    assert r.episodes()[0].end_t_s == 725


def test_link_lost_is_confirmed_after_its_delay_and_not_at_the_session_end() -> None:
    r = Run()
    r.engine(DeviceStatus("dev", 0, 10, DeviceState.DISCONNECTED, "link lost"))
    r.engine.tick(15.5)
    r.engine(DeviceStatus("dev", 0, 20, DeviceState.STREAMING))
    r.engine(DeviceStatus("dev", 0, 30, DeviceState.DISCONNECTED, "session ended"))
    r.engine.end_session(30)
    (ep,) = r.episodes()
    assert (ep.rule_id, ep.signal_t_s, ep.end_t_s) == ("link-lost", 15, 20)


def test_device_conditions_battery_audio_and_storage_are_technical() -> None:
    r = Run()
    r.engine(DeviceCondition("dev", 0, 0, Condition.SENSOR_OFF, True, "spo2"))
    r.engine(Battery("dev", 0, 1, 15))
    r.engine.set_audio_available(False, t_s=2)
    r.engine.storage_failed(OSError("disk full"), t_s=3)
    r.engine.tick(20)
    r.engine.storage_failed(None, t_s=21)
    r.engine(Battery("dev", 0, 22, 22))  # within the hysteresis: still low
    r.engine(Battery("dev", 0, 23, 30))
    r.engine(DeviceCondition("dev", 0, 24, Condition.SENSOR_OFF, False, "spo2"))
    eps = {e.rule_id: e for e in r.episodes()}
    assert set(eps) == {"sensor_off", "battery-low", "audio-unavailable", "storage-failure"}
    assert all(e.kind is AlarmKind.TECHNICAL for e in eps.values())
    assert eps["sensor_off"].condition == "SpO2 probe off" and eps["sensor_off"].delay_s == 10
    assert eps["battery-low"].end_t_s == 23 and eps["storage-failure"].end_t_s == 21
    assert eps["audio-unavailable"].end_t_s is None
    assert r.engine.snapshot().audio_available is False


def test_values_during_a_device_sensor_condition_are_not_measurements() -> None:
    r = Run()
    r.engine(DeviceCondition("dev", 0, 0, Condition.SENSOR_OFF, True, "spo2"))
    r.series("spo2", [70] * 30, t0=1)
    assert [k for k in r.started() if k.startswith("spo2")] == []


def test_pulse_rate_alarms_only_without_an_ecg_heart_rate() -> None:
    r = Run()
    for t in range(20):
        r.num(t, "oxi", pr=40)
        r.num(t, "mon", pr=40, hr=72)
    assert r.started() == ["pr-low:oxi"]


def test_acknowledge_silences_until_the_condition_ends() -> None:
    r = Run()
    r.series("hr", [130] * 15)
    snap = r.engine.snapshot()
    assert snap.sounding is Priority.MEDIUM
    assert r.engine.acknowledge(user="nurse") == 1
    snap = r.engine.snapshot()
    assert snap.sounding is None and snap.alarms[0].acknowledged
    assert snap.alarms[0].state is AlarmState.ACTIVE, "still shown while present"
    r.series("hr", [130] * 200, t0=15)
    assert not any(e.event is AlarmEventKind.ESCALATE for e in r.events), \
        "an acknowledged alarm does not escalate"
    r.num(215, hr=80)
    assert r.engine.snapshot().alarms == ()
    ack = [e for e in r.events if e.event is AlarmEventKind.ACKNOWLEDGE]
    assert ack[0].user == "nurse" and r.episodes()[0].acknowledged_t_s == 14


def test_unacknowledged_medium_alarm_escalates_to_high() -> None:
    r = Run()
    r.series("hr", [130] * 200)
    (ep,) = r.episodes()
    assert ep.signal_t_s == 10 and ep.escalated_t_s == 10 + 180
    assert ep.highest is Priority.HIGH
    assert r.engine.snapshot().sounding is Priority.HIGH


def test_high_priority_latches_until_acknowledged() -> None:
    r = Run()
    r.series("spo2", [97, 80, 80, 97])
    snap = r.engine.snapshot()
    (crit,) = [a for a in snap.alarms if a.key == "spo2-low:dev"]
    assert crit.state is AlarmState.LATCHED and snap.sounding is None
    r.engine.acknowledge("spo2-low:dev")
    assert r.engine.snapshot().alarms == ()
    r2 = Run(with_rules(IV, latch_high=False))
    r2.series("spo2", [97, 80, 80, 97])
    assert r2.engine.snapshot().alarms == ()


def test_audio_pause_silences_present_alarms_but_not_new_ones() -> None:
    r = Run()
    r.series("hr", [130] * 12)  # HR high sounds from t=10
    until = r.engine.pause_audio(user="nurse")
    assert until == 11 + IV.audio_pause_s
    assert r.engine.snapshot().sounding is None
    assert r.engine.snapshot().audio_paused_until_s == until
    r.series("spo2", [97, 80], t0=12)  # a new condition during the pause sounds
    assert r.engine.snapshot().sounding is Priority.HIGH
    r.engine.acknowledge("spo2-low:dev")
    r.series("spo2", [80] * 5, t0=14)
    assert r.engine.snapshot().sounding is None
    r.series("hr", [130] * 5, t0=until + 1)  # the pause is over: HR high sounds again
    snap = r.engine.snapshot()
    assert snap.sounding is Priority.MEDIUM and snap.audio_paused_until_s is None
    assert any(e.event is AlarmEventKind.AUDIO_PAUSE and e.user == "nurse"
               for e in r.events)


def test_bp_check_due_and_minimum_monitoring_on_discharge() -> None:
    r = Run(PRESETS["esketamine-rems"])
    r.num(0, sbp=120, dbp=80, map=93)
    r.engine.set_dose_start(100)
    r.num(700, sbp=125, dbp=82, map=96)  # readings within the 10-min schedule + 2 min
    r.num(1400, sbp=125, dbp=82, map=96)
    r.num(2100, sbp=125, dbp=82, map=96)  # too early for the 40-min check
    due = 100 + 40 * 60
    r.engine.tick(due + 1)
    r.num(due + 120, sbp=128, dbp=84, map=99)
    r.engine(TimelineMark("ui", 0, due + 200, "discharge"))
    eps = {e.rule_id: e for e in r.episodes()}
    assert set(eps) == {"bp-check-due", "min-monitoring"}
    assert (eps["bp-check-due"].signal_t_s, eps["bp-check-due"].end_t_s) == (due, due + 120)
    assert eps["min-monitoring"].signal_t_s == due + 200
