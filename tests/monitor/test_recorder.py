from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from devices.spec import parse_spec
from monitor.messages import Message, Numerics, TimelineMark
from monitor.recorder import RecordingPlan, SessionRecorder
from monitor.session import EntryKind
from monitor.store import SessionStore


def test_entries_reach_store_sinks_and_alarm_engine_once(db_path: Path) -> None:
    marks: list[TimelineMark] = []
    first_sample = threading.Event()

    def sink(msg: Message) -> None:
        if isinstance(msg, TimelineMark):
            marks.append(msg)
        elif isinstance(msg, Numerics):
            first_sample.set()

    plan = RecordingPlan((parse_spec("sim:normal?dose=100000"),), 3600.0, 1.0)
    with SessionStore(db_path) as store:
        rec = SessionRecorder(store, plan, [sink])
        rec.start()
        try:
            assert first_sample.wait(10)
            eid = rec.add_entry(EntryKind.DOSE_START, {"drug": "ketamine", "dose_mg": 35.0},
                                "nurse A")
            rec.add_entry(EntryKind.SEDATION, {"scale": "moaas", "score": 4}, "nurse A")
            rec.edit_entry(eid, "nurse B", t_s=0.5)
            done = threading.Event()
            rec.runtime.call_soon(done.set)  # after the marks on the device thread
            assert done.wait(5)
        finally:
            rec.stop()
        timeline = store.timeline(rec.session_id)
    assert [e.kind for e in timeline] == ["dose_start", "sedation"]  # stored once each
    assert timeline[0].t_s == 0.5 and timeline[0].revisions[0].author == "nurse B"
    assert [(m.kind, m.entry_id, m.source) for m in marks] == [
        ("dose_start", eid, "nurse A"), ("sedation", eid + 1, "nurse A")]
    assert dict(marks[0].data) == {"drug": "ketamine", "dose_mg": 35.0}
    assert rec.alarms.dose_start_s == 0.5, "the alarm engine follows the corrected time"


def test_a_dose_the_nurse_marks_is_not_marked_again_by_the_simulator(db_path: Path) -> None:
    """The simulator's script doses at 3 s and stops at 3 s + 1 min; the nurse marked the
    dose start at once: the simulator adds neither of its own."""
    plan = RecordingPlan((parse_spec("sim:normal?dose=3"),), 200.0, None)
    with SessionStore(db_path) as store:
        rec = SessionRecorder(store, plan)
        rec.add_entry(EntryKind.DOSE_START, {"drug": "ketamine"}, "nurse", t_s=0.0)
        rec.start()
        rec.wait()
        timeline = store.timeline(rec.session_id)
    assert [(e.kind, e.t_s, e.author) for e in timeline
            if e.kind in (EntryKind.DOSE_START, EntryKind.DOSE_STOP)] == [
        ("dose_start", 0.0, "nurse")]


def _marks_of(source: str, sink_marks: list[TimelineMark]) -> list[TimelineMark]:
    return [m for m in sink_marks if m.source == source]


def test_a_device_mark_is_stored_before_any_sink_sees_it(db_path: Path) -> None:
    """The simulator's dose start reaches every sink already stored, with its entry id, as
    a person's entries do: nothing has to re-read the store to edit it."""
    marks: list[TimelineMark] = []
    stored_when_seen: list[bool] = []
    with SessionStore(db_path) as store:

        def sink(msg: Message) -> None:
            if isinstance(msg, TimelineMark):
                marks.append(msg)
                ids = {e.id for e in store.timeline(rec.session_id)}
                stored_when_seen.append(msg.entry_id in ids)

        rec = SessionRecorder(store, RecordingPlan((parse_spec("sim:normal?dose=3"),), 100.0,
                                                   None), [sink])
        rec.start()
        rec.wait()
        timeline = store.timeline(rec.session_id)
    sim = _marks_of("sim", marks)
    assert [m.kind for m in sim] == [EntryKind.DOSE_START]
    assert stored_when_seen == [True]
    assert [(e.id, e.kind, e.t_s, e.author) for e in timeline] == [
        (m.entry_id, m.kind, m.t_s, "sim") for m in sim]  # stored once each, as the sinks saw


def test_a_device_mark_the_store_refuses_is_kept_and_stored_later(db_path: Path) -> None:
    """While the store refuses the simulator's mark, the sinks still get it (the alarm
    engine learns the dose start), without an id; the sample writer keeps it and stores it
    once the store accepts writes again."""
    plan = RecordingPlan((parse_spec("sim:normal?dose=2"),), 3600.0, 1.0)
    seen: list[TimelineMark] = []
    got_mark = threading.Event()

    def sink(msg: Message) -> None:
        if isinstance(msg, TimelineMark):
            seen.append(msg)
            got_mark.set()

    with SessionStore(db_path) as store:
        rec = SessionRecorder(store, plan, [sink])
        with sqlite3.connect(db_path) as conn:  # a refusal the store cannot tell from a fault
            conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON timeline"
                         " BEGIN SELECT RAISE(ABORT, 'refused for the test'); END")
        rec.start()
        try:
            assert got_mark.wait(15)
            assert rec.alarms.dose_start_s == seen[0].t_s
            with sqlite3.connect(db_path) as conn:
                conn.execute("DROP TRIGGER refuse")
            assert rec.writer.flush(10)
        finally:
            rec.stop()
        timeline = store.timeline(rec.session_id)
    assert [(m.kind, m.entry_id) for m in seen] == [(EntryKind.DOSE_START, None)]
    assert [(e.kind, e.t_s, e.author) for e in timeline] == [
        (EntryKind.DOSE_START, seen[0].t_s, "sim")]
