"""Resuming a session a crash interrupted: same id, a continuous clock, a visible gap."""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from devices.base import SpecError
from devices.spec import parse_spec
from monitor.buffers import SessionTrends
from monitor.messages import Message, Numerics, TimelineMark
from monitor.recorder import RecordingPlan, SessionRecorder, resume_plan
from monitor.resume import history, resumable_session
from monitor.session import EntryKind, SessionStatus
from monitor.store import SessionStore, StoreError
from tests.helpers.waiting import until
from tests.killed import record_then_kill


def _record_then_kill(db_path: Path, live_lines: int = 3) -> float:
    return record_then_kill(
        db_path, "--device", "sim:normal?dose=1", "--duration", "3600", "--patient", "AB",
        "--weight", "70", "--drug", "ketamine", "--route", "iv", "--dose-mg", "35",
        live_lines=live_lines)


def test_kill_9_then_resume_continues_the_same_session_with_a_gap(db_path: Path) -> None:
    _record_then_kill(db_path)
    new_numerics = threading.Event()
    seen: list[Message] = []

    with SessionStore(db_path) as store:  # opening marks the orphan interrupted
        offered = resumable_session(store)
        assert offered is not None and offered.status is SessionStatus.INTERRUPTED
        assert offered.end_wall is not None
        old_t, old_hr = store.sample_arrays(offered.id, "hr")
        last_old_t = float(old_t[-1])
        old_events = store.alarm_events(offered.id)
        plan = resume_plan(store, offered.id, 3600.0)
        assert plan.patient.identifier == "AB" and plan.protocol.dose_mg == 35.0
        trends = SessionTrends(hours=1)
        for msg in history(store, offered.id):
            trends(msg)
        trends.break_lines(last_old_t)

        def sink(msg: Message) -> None:
            seen.append(msg)
            if isinstance(msg, Numerics) and any(k == "hr" for k, _ in msg.values):
                new_numerics.set()

        rec = SessionRecorder(store, plan, [trends, sink])
        assert rec.session_id == offered.id
        active = store.list_sessions()[0]
        assert active.status is SessionStatus.ACTIVE and active.end_wall is None
        rec.start()
        try:
            assert new_numerics.wait(10)
            # Another process opening the store now must not take it for an orphan.
            with SessionStore(db_path) as other:
                assert other.list_sessions()[0].status is SessionStatus.ACTIVE
        finally:
            rec.stop()
        sessions = store.list_sessions()
        session = store.load_session(offered.id)
        new_t, _ = store.sample_arrays(offered.id, "hr")
        rows = [r for r in store.iter_samples(offered.id) if r[0] > last_old_t]
        events = store.alarm_events(offered.id)

    assert len(sessions) == 1 and sessions[0].id == offered.id
    assert session.status is SessionStatus.COMPLETED and session.end_wall is not None
    gap_s, resumed_s = rec.resumed_gap or (math.nan, math.nan)
    # The clock continues: session time is wall time since the ORIGINAL start.
    assert gap_s == pytest.approx(offered.end_wall - offered.start_wall)
    assert rows and all(t >= resumed_s - 0.2 for t, *_ in rows)
    assert all(wall - session.start_wall == pytest.approx(t, abs=0.05) for t, wall, *_ in rows)
    assert resumed_s - last_old_t >= 0.0
    assert np.all(np.diff(new_t) > 0)  # one time line, no restart at zero
    # The gap is on the timeline, written by the system, with its length.
    [note] = session.entries_of(EntryKind.NOTE)
    assert note.author == "vigil" and note.data["event"] == "resumed"
    assert note.t_s == pytest.approx(resumed_s, abs=0.01)
    assert note.data["gap_s"] == pytest.approx(resumed_s - gap_s, abs=0.1)
    assert "recording resumed after" in note.data["text"]
    assert any(isinstance(m, TimelineMark) and m.kind == EntryKind.NOTE for m in seen)
    # The simulator had already marked the dose: it is not marked twice, and the alarm
    # engine knows it (relative rules, the 40-min check, the minimum monitoring time).
    assert [e.t_s for e in session.entries_of(EntryKind.DOSE_START)] == [1.0]
    assert rec.alarms.dose_start_s == 1.0
    # The engine re-learnt the earlier readings without logging their alarms again.
    assert events[:len(old_events)] == old_events
    assert all(e.t_s >= resumed_s - 0.2 for e in events[len(old_events):])
    # The trend holds the earlier data, then no line across the gap, then the new data.
    t, v = trends.series("hr")
    before = t <= last_old_t
    assert np.count_nonzero(before & ~np.isnan(v)) == len(old_hr)
    breaks = np.flatnonzero(np.isnan(v))
    assert breaks.size and t[breaks[0]] >= last_old_t and t[breaks[0]] < resumed_s
    assert np.any(t > resumed_s - 0.2)


def test_only_an_interrupted_session_resumes(db_path: Path) -> None:
    plan = RecordingPlan((parse_spec("sim"),), 60.0, None)
    with SessionStore(db_path) as store:
        rec = SessionRecorder(store, plan)
        rec.start()
        rec.wait()
        assert resumable_session(store) is None  # completed: nothing to offer
        with pytest.raises(StoreError, match="only an interrupted session"):
            SessionRecorder(store, resume_plan(store, rec.session_id, 60.0))
        with pytest.raises(StoreError, match="not interrupted"):
            store.resume_session(rec.session_id)
        assert store.list_sessions()[0].status is SessionStatus.COMPLETED
    with pytest.raises(SpecError, match="real time"):
        RecordingPlan((parse_spec("sim"),), 60.0, 10.0, resume_session_id=1).check()


def test_an_old_interruption_is_not_offered(db_path: Path) -> None:
    plan = RecordingPlan((parse_spec("sim"),), 3600.0, 1.0)
    with SessionStore(db_path) as store:
        rec = SessionRecorder(store, plan)
        rec.start()
        # A session with no value is never offered.
        until(lambda: store.list_sessions()[0].sample_count, "no value stored", 20)
        rec.stop(SessionStatus.INTERRUPTED)
        end = store.list_sessions()[0].end_wall
        assert end is not None
        assert resumable_session(store, now_wall=end + 60)
        assert resumable_session(store, now_wall=end + 5 * 3600) is None


def test_history_replays_every_stored_value_in_time_order(db_path: Path) -> None:
    plan = RecordingPlan((parse_spec("sim:normal?dose=100&nibp=120"),), 400.0, None)
    with SessionStore(db_path) as store:
        rec = SessionRecorder(store, plan)
        rec.start()
        rec.wait()
        msgs = list(history(store, rec.session_id))
        stored = store.list_sessions()[0].sample_count
        nibp = list(history(store, rec.session_id, ("sbp", "dbp", "map"), ("dose_start",)))
    times = [m.t_s for m in msgs]
    assert times == sorted(times)
    assert sum(len(m.values) for m in msgs if isinstance(m, Numerics)) == stored
    kinds = [m.kind for m in msgs if isinstance(m, TimelineMark)]
    assert kinds == ["dose_start"]  # the infusion (40 min) outlasts the recording
    readings = [m for m in nibp if isinstance(m, Numerics)]
    assert readings and all({k for k, _ in m.values} == {"sbp", "dbp", "map"}
                            for m in readings)
    assert [m.kind for m in nibp if isinstance(m, TimelineMark)] == ["dose_start"]


def test_resume_takes_ownership_so_the_store_does_not_orphan_it(db_path: Path) -> None:
    with SessionStore(db_path) as store:
        rec = SessionRecorder(store, RecordingPlan((parse_spec("sim"),), 10.0, None))
        rec.start()
        rec.stop(SessionStatus.INTERRUPTED)
        store.resume_session(rec.session_id, {"sim-2": "sim:desaturation"})
        assert store.devices(rec.session_id) == {"sim": "sim", "sim-2": "sim:desaturation"}
        row = store._one("SELECT owner_pid FROM sessions WHERE id = ?", (rec.session_id,))
        assert row[0] == os.getpid()
        assert store.recover_orphans() == []


def _recorded_then_interrupted(store: SessionStore, plan: RecordingPlan) -> SessionRecorder:
    """A session recorded to its end, then marked as a crash would leave it."""
    rec = SessionRecorder(store, plan)
    rec.start()
    rec.wait()
    end = store.list_sessions()[0].end_wall
    store.end_session(rec.session_id, SessionStatus.INTERRUPTED, end)
    return rec


def test_alarms_active_at_the_crash_are_still_judged_after_resuming(db_path: Path) -> None:
    """The NIBP readings already recorded (the pre-dose baseline, the last reading) reach the
    resumed engine: the BP alarms standing at the crash stand again, relative to the same
    pre-dose reading, and nothing is logged twice."""
    plan = RecordingPlan((parse_spec("sim:hypertensive-surge?dose=60&nibp=120"),), 2400.0,
                         None)
    with SessionStore(db_path) as store:
        rec = _recorded_then_interrupted(store, plan)
        logged = store.alarm_events(rec.session_id)
        resumed = SessionRecorder(store, resume_plan(store, rec.session_id, 3600.0))
        try:
            standing = {a.key for a in resumed.alarms.snapshot().alarms}
        finally:
            resumed.stop()
        after = store.alarm_events(rec.session_id)
    assert {"sbp-high:sim", "dbp-high:sim"} <= standing
    # The rises over the pre-dose reading are met too, but yield to the BP alarms.
    assert not {"sbp-rise:sim", "dbp-rise:sim"} & standing
    assert resumed.alarms.dose_start_s == 60.0
    assert after[:len(logged)] == logged
    assert all(e.t_s >= 2400.0 for e in after[len(logged):])


def test_a_resumed_session_shows_its_last_nibp_reading(db_path: Path) -> None:
    """After a resume the NIBP tile is fed the last stored reading (with its own time, so
    its age shows), not 'no reading yet' until the next cuff cycle."""
    plan = RecordingPlan((parse_spec("sim:normal?dose=60&nibp=300"),), 1000.0, None)
    with SessionStore(db_path) as store:
        rec = _recorded_then_interrupted(store, plan)
        last = {key: store.sample_arrays(rec.session_id, key) for key in ("sbp", "dbp", "map")}
        resumed = SessionRecorder(store, resume_plan(store, rec.session_id, 3600.0))
        try:
            snap = resumed.live.snapshot(resumed.clock.now())
        finally:
            resumed.stop()
    # Readings come ~30 s after each 300-s cuff start: the last one before 1000 s is at 930 s.
    for key, (t, v) in last.items():
        r = snap.readings[key]
        assert float(t[-1]) == pytest.approx(930.0, abs=1.0)
        assert (r.t_s, r.value, str(r.freshness)) == (float(t[-1]), float(v[-1]), "current")
        assert r.age_s is not None and r.age_s >= 1000.0 - 930.0
    assert snap.readings["hr"].freshness != "current"  # a continuous vital is not revived
