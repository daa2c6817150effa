"""What a room sends the central station, from the room's own live state, alarm engine and
session marks: never a stale or invalid value as a number; phase and what is due next."""

from __future__ import annotations

from alarms.engine import AlarmEngine
from alarms.presets import preset
from monitor.central import payloads as p
from monitor.central.room_state import SessionMarks, alarm_items, initials, numerics
from monitor.live import LiveState
from monitor.messages import (
    Condition,
    DeviceCondition,
    DeviceState,
    DeviceStatus,
    EntryKind,
    Numerics,
)
from monitor.session import SIM_PATIENT, SIM_PROTOCOL, DoseProtocol, Patient, Route

WALL0 = 1_764_720_000.0


def wall(t: float) -> float:
    return WALL0 + t


def _by_vital(n: p.Numerics) -> dict[str, p.NumericValue]:
    return {v.vital: v for v in n.values}


def test_live_stale_artefact_and_probe_off_values() -> None:
    live = LiveState()
    live(DeviceStatus("sim", WALL0, 0.0, DeviceState.STREAMING))
    live(Numerics("sim", WALL0 + 10, 10.0, (("hr", 72.0), ("spo2", 97.0), ("rr", 14.0))))
    live(Numerics("sim", WALL0 + 50, 50.0, (("hr", 75.0), ("rr", 0.0))))  # RR 0: artefact
    live(DeviceCondition("sim", WALL0 + 50, 50.0, Condition.SENSOR_OFF, True, "hr"))
    got = _by_vital(numerics("room-1", live.snapshot(55.0), wall, wall(55.0)))
    # SpO2's last value is 45 s old (stale after 30 s): null, with the time it was measured.
    assert got["spo2"] == p.NumericValue("spo2", "SpO2", "%", None, WALL0 + 10, "stale")
    assert got["rr"] == p.NumericValue("rr", "RR", "/min", None, None, "invalid")
    assert got["hr"].state == "invalid" and got["hr"].value is None  # probe off on HR
    assert "sbp" not in got  # never measured: not sent
    p.to_json(numerics("room-1", live.snapshot(55.0), wall, wall(55.0)))  # schema-valid
    live(DeviceCondition("sim", WALL0 + 56, 56.0, Condition.SENSOR_OFF, False, "hr"))
    assert _by_vital(numerics("room-1", live.snapshot(56.0), wall, wall(56.0)))["hr"] == \
        p.NumericValue("hr", "HR", "bpm", 75.0, WALL0 + 50, "live")


def test_a_disconnected_device_makes_its_values_stale() -> None:
    live = LiveState()
    live(DeviceStatus("sim", WALL0, 0.0, DeviceState.STREAMING))
    live(Numerics("sim", WALL0 + 1, 1.0, (("hr", 72.0),)))
    live(DeviceStatus("sim", WALL0 + 2, 2.0, DeviceState.DISCONNECTED))
    hr = _by_vital(numerics("room-1", live.snapshot(3.0), wall, wall(3.0)))["hr"]
    assert (hr.value, hr.state, hr.t) == (None, "stale", WALL0 + 1)


def test_the_alarm_set_is_the_engines_without_advisories() -> None:
    engine = AlarmEngine(preset("iv-ketamine"), wall0=WALL0)
    engine(DeviceStatus("sim", WALL0, 0.0, DeviceState.STREAMING))
    for t in range(0, 40):
        engine(Numerics("sim", WALL0 + t, float(t), (("spo2", 80.0), ("hr", 72.0))))
    engine.set_central_link(False)
    items = alarm_items(engine.snapshot(), wall)
    spo2 = [a for a in items if a.vital == "spo2"]
    assert spo2 and spo2[0].kind == "physiological" and spo2[0].priority == "HIGH"
    link = [a for a in items if a.id == "central-link:vigil"]
    assert link == [p.Alarm("central-link:vigil", None, "technical",
                            "central station link down", "LOW", link[0].onset, False, False)]
    assert all(a.kind != "advisory" for a in items)
    engine.acknowledge(spo2[0].id, user="nurse-a (central station)")
    assert next(a for a in alarm_items(engine.snapshot(), wall)
                if a.id == spo2[0].id).acknowledged
    engine.set_central_link(True)
    assert not any(a.id == "central-link:vigil" for a in alarm_items(engine.snapshot(), wall))


def test_phase_and_what_is_due_next() -> None:
    marks = SessionMarks(7, SIM_PATIENT, SIM_PROTOCOL, preset("esketamine-rems"), WALL0)
    info = marks.info(60.0, patient_shown=False)
    assert (info.phase, info.dose_start, info.next_due, info.patient) == (
        "BASELINE", None, (), None)
    assert marks.mark(EntryKind.DOSE_START, 600.0, WALL0 + 600)
    assert not marks.mark(EntryKind.NOTE, 610.0, WALL0 + 610)
    info = marks.info(700.0, patient_shown=True)
    assert info.phase == "DOSING" and info.dose_start == WALL0 + 600
    assert info.patient == "SD"  # initials of SIM-DEMO, only when the clinic sets it
    assert info.next_due == (p.Due("BP ~40 min", WALL0 + 600 + 2400),
                             p.Due("2-h minimum", WALL0 + 600 + 7200))
    assert marks.info(600 + 30 * 60, False).phase == "PEAK"
    late = marks.info(600 + 50 * 60, False)  # the BP window has passed: only the minimum
    assert late.phase == "RECOVERY" and [d.what for d in late.next_due] == ["2-h minimum"]
    assert marks.mark(EntryKind.DISCHARGE, 8000.0, WALL0 + 8000)
    done = marks.info(8000.0, False)
    assert (done.phase, done.discharged, done.next_due) == ("DISCHARGE-READY", True, ())


def test_a_bolus_without_infusion_and_a_preset_without_minimum() -> None:
    marks = SessionMarks(1, Patient(), DoseProtocol("ketamine", Route.IM, 35.0),
                         preset("im-ketamine"), WALL0)
    marks.mark(EntryKind.DOSE_START, 0.0, WALL0)
    info = marks.info(60.0, True)
    assert info.patient is None  # nothing entered: nothing to show
    assert [d.what for d in info.next_due] == ["BP ~20 min"]


def test_initials() -> None:
    assert initials("Jane Doe") == "JD"
    assert initials("j.d.") == "JD"
    assert initials("Anne-Marie van Dijk") == "AMV"
    assert initials("12345") is None
    assert initials(None) is None
