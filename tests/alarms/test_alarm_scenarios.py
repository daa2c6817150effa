"""Each simulator scenario raises exactly its expected alarms, with their priorities and
delays, through the real recorder (sim at --speed max, store, engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alarms.episodes import Episode, episodes_from_events
from alarms.model import AlarmEvent, AlarmEventKind, AlarmKind, Priority
from alarms.presets import PRESETS
from devices.spec import parse_spec
from monitor.recorder import RecordingPlan, SessionRecorder
from monitor.store import SessionStore

H, M, L = Priority.HIGH, Priority.MEDIUM, Priority.LOW
PHYS, TECH, ADV = AlarmKind.PHYSIOLOGICAL, AlarmKind.TECHNICAL, AlarmKind.ADVISORY
DOSE_S = 600.0  # the simulator's default dose start


def record(db: Path, device: str, duration: float, preset: str = "iv-ketamine"
           ) -> tuple[list[Episode], SessionStore, int]:
    store = SessionStore(db)
    rec = SessionRecorder(store, RecordingPlan((parse_spec(device),), duration, None,
                                               preset=preset))
    seen: list[AlarmEvent] = []
    rec.alarms.add_listener(seen.append)
    rec.start()
    rec.wait(120)
    stored = store.alarm_events(rec.session_id)
    assert stored == seen, "the store keeps every alarm event as emitted"
    return episodes_from_events(stored), store, rec.session_id


def first_sample(store: SessionStore, sid: int, vital: str, pred, after: float = 0.0
                 ) -> float:
    t, v = store.sample_arrays(sid, vital)
    hits = [ti for ti, vi in zip(t, v, strict=True) if ti >= after and pred(vi)]
    assert hits, f"no {vital} sample meets the condition"
    return hits[0]


def summary(eps: list[Episode]) -> set[tuple[str, AlarmKind, Priority]]:
    return {(e.rule_id, e.kind, e.priority) for e in eps}


def test_normal_session_of_two_hours_raises_nothing(db_path: Path) -> None:
    # esketamine-rems has every advisory (40-min BP check, 2 h minimum): none may fire.
    eps, store, sid = record(db_path, "sim:normal", DOSE_S + 2 * 3600 + 60, "esketamine-rems")
    t, _ = store.sample_arrays(sid, "sbp")
    assert any(DOSE_S + 35 * 60 <= ti <= DOSE_S + 40 * 60 for ti in t), "the 40-min reading"
    assert eps == []
    store.close()


def test_normal_session_ended_early_gets_the_minimum_monitoring_advisory(db_path: Path
                                                                          ) -> None:
    eps, store, _ = record(db_path, "sim:normal", 2400, "esketamine-rems")
    assert summary(eps) == {("min-monitoring", ADV, L)}
    assert eps[0].signal_t_s == 2400 and eps[0].end_t_s is None
    store.close()
    eps, store, _ = record(db_path, "sim:normal", 2400, "iv-ketamine")
    assert eps == [], "the IV preset has no minimum monitoring time"
    store.close()


def test_hypertensive_surge(db_path: Path) -> None:
    eps, store, sid = record(db_path, "sim:hypertensive-surge", 3000)
    # The rise over the pre-dose reading is met only by readings that are already >= 180/110:
    # the advisory yields to the physiological alarm on the same vital.
    assert summary(eps) == {("sbp-high", PHYS, M), ("dbp-high", PHYS, M)}
    by = {e.rule_id: e for e in eps}
    assert by["sbp-high"].onset_t_s == first_sample(store, sid, "sbp", lambda v: v >= 180)
    for e in eps:
        assert e.delay_s == 0, "NIBP alarms on the reading"
    # Unacknowledged, the MEDIUM BP alarms escalate to HIGH after the preset's time.
    rule = next(r for r in PRESETS["iv-ketamine"].limits if r.id == "sbp-high")
    assert by["sbp-high"].escalated_t_s == by["sbp-high"].signal_t_s + rule.escalate_after_s
    store.close()


def test_desaturation(db_path: Path) -> None:
    eps, store, sid = record(db_path, "sim:desaturation", 2400)
    # One desaturation, one alarm: MEDIUM after 15 s, HIGH at once below 85 %, MEDIUM again.
    assert summary(eps) == {("spo2-low", PHYS, M), ("rr-low", PHYS, M)}
    by = {e.rule_id: e for e in eps}
    spo2 = by["spo2-low"]
    assert spo2.delay_s == 15 and spo2.highest is H
    assert by["rr-low"].delay_s == 15
    assert spo2.onset_t_s == first_sample(store, sid, "spo2", lambda v: v < 90)
    assert by["rr-low"].onset_t_s == first_sample(store, sid, "rr", lambda v: v < 8)
    critical = first_sample(store, sid, "spo2", lambda v: v < 85)
    back = first_sample(store, sid, "spo2", lambda v: v >= 86, critical)
    assert [(e.t_s, e.alarm.priority) for e in store.alarm_events(sid)
            if e.event is AlarmEventKind.PRIORITY and e.alarm is not None] == [
        (critical, H), (back, M)]
    assert spo2.end_t_s == first_sample(store, sid, "spo2", lambda v: v >= 91, back)
    store.close()


def test_probe_off_is_technical_only(db_path: Path) -> None:
    eps, store, sid = record(db_path, "sim:probe-off", 2100)
    assert summary(eps) == {("sensor_off", TECH, L), ("spo2-not-current", TECH, M)}
    by = {e.rule_id: e for e in eps}
    off = DOSE_S + 2 * 60
    assert by["sensor_off"].onset_t_s == off and by["sensor_off"].delay_s == 10
    assert by["sensor_off"].end_t_s == off + 90
    t, _ = store.sample_arrays(sid, "spo2")
    last = max(ti for ti in t if ti < off)
    assert by["spo2-not-current"].signal_t_s == last + 30
    assert by["spo2-not-current"].end_t_s == min(ti for ti in t if ti > off)
    store.close()


def test_device_dropout(db_path: Path) -> None:
    eps, store, _ = record(db_path, "sim:device-dropout", 1800)
    assert summary(eps) == {("link-lost", TECH, M)}
    assert eps[0].delay_s == 5
    assert eps[0].onset_t_s == pytest.approx(DOSE_S + 2 * 60, abs=0.11)
    store.close()


def test_bradycardia_raises_hr_low_only(db_path: Path) -> None:
    # PR alarms only for a device without an ECG heart rate: the sim gives both.
    eps, store, sid = record(db_path, "sim:bradycardia", 2700)
    assert summary(eps) == {("hr-low", PHYS, M)}
    assert eps[0].delay_s == 10
    assert eps[0].onset_t_s == first_sample(store, sid, "hr", lambda v: v < 50)
    assert eps[0].worst_value == min(store.sample_arrays(sid, "hr")[1])
    store.close()


def test_a_storage_failure_raises_a_technical_alarm_through_the_recorder(db_path: Path
                                                                         ) -> None:
    with SessionStore(db_path) as store:
        seen: list[Exception | None] = []
        rec = SessionRecorder(store, RecordingPlan((parse_spec("sim:normal"),), 60, None),
                              on_storage_error=seen.append)
        rec.start()
        rec.wait(60)
        # What the writer thread calls when a commit fails, then when it works again.
        rec._storage_error(OSError("disk full"))
        snap = rec.alarms.snapshot()
        assert [a.key for a in snap.alarms] == ["storage-failure:vigil"]
        assert snap.alarms[0].kind is TECH and snap.alarms[0].priority is M
        rec._storage_error(None)
        assert rec.alarms.snapshot().alarms == ()
        assert len(seen) == 2 and seen[1] is None
