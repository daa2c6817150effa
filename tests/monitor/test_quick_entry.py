"""The quick-entry model without Qt: what is held, when it is saved, what Esc undoes, what
the S key arms, and what the toast says. Entries go through a real recorder (never
started: its add/edit API) into a real store; the model's clock is one the test sets."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devices.spec import parse_spec
from monitor.messages import TimelineMark
from monitor.quick_entry import HIDE, QuickEntry, RecorderEntries, Toast
from monitor.recorder import RecordingPlan, SessionRecorder
from monitor.session import DoseProtocol, EntryKind, Route, SessionStatus, TimelineEntry
from monitor.store import SessionStore

USER = "nurse A"


@dataclass
class Rig:
    model: QuickEntry
    recorder: SessionRecorder
    store: SessionStore
    mono: list[float]  # the model's monotonic clock
    session: list[float]  # session time now

    def stored(self) -> tuple[TimelineEntry, ...]:
        return self.store.timeline(self.recorder.session_id)

    def after(self, seconds: float) -> Toast | None:
        self.mono[0] += seconds
        return self.model.expire()


@pytest.fixture
def rig(db_path: Path) -> Iterator[Rig]:
    store = SessionStore(db_path)
    plan = RecordingPlan((parse_spec("sim"),), 3600.0,
                         protocol=DoseProtocol("ketamine", Route.IV, 35.0, 40.0, "L1"))
    recorder = SessionRecorder(store, plan)
    mono, session = [100.0], [600.0]
    model = QuickEntry(RecorderEntries(recorder), lambda: session[0], lambda: USER,
                       clock=lambda: mono[0])
    try:
        yield Rig(model, recorder, store, mono, session)
    finally:
        recorder.finish(session[0], SessionStatus.COMPLETED)
        store.close()


def test_a_key_is_held_for_the_undo_window_then_saved_at_its_own_time(rig: Rig) -> None:
    toast = rig.model.digit(3)
    assert toast == Toast("Dissociation level 3 (strong)  at 10:00", undo=True, seconds=5.0)
    assert rig.model.next_deadline() == 105.0
    rig.session[0] = 604.0  # saved later, stamped with the key press
    assert rig.after(4.9) is None and rig.stored() == ()
    saved = rig.after(0.1)
    assert saved is not None and saved.text.startswith("Saved: Dissociation level 3")
    [entry] = rig.stored()
    assert (entry.kind, dict(entry.data), entry.t_s, entry.author) == (
        EntryKind.DISSOCIATION, {"scale": "level", "score": 3}, 600.0, USER)
    assert rig.model.pending is None and rig.model.last_entry_id == entry.id
    assert rig.model.shown == (entry,) and rig.model.next_deadline() is None


def test_esc_undoes_the_held_entry_and_only_that(rig: Rig) -> None:
    rig.model.digit(2)
    undone = rig.model.undo()
    assert undone is not None and undone.text.startswith("Undone: Dissociation level 2")
    assert rig.after(60) is None and rig.stored() == ()
    rig.model.digit(1)
    rig.model.commit()  # Enter
    assert rig.model.undo() == Toast("Already saved: Ctrl+E to correct it")
    assert [e.data["score"] for e in rig.stored()] == [1]


def test_the_next_entry_saves_the_one_held_before_it(rig: Rig) -> None:
    rig.model.digit(1)
    rig.session[0] = 610.0
    rig.model.propose(EntryKind.NOTE, {"text": "calm"})
    assert [(e.kind, e.t_s) for e in rig.stored()] == [(EntryKind.DISSOCIATION, 600.0)]
    assert rig.model.pending is not None and rig.model.pending.kind == EntryKind.NOTE


def test_s_arms_moaas_for_its_window_only(rig: Rig) -> None:
    armed = rig.model.arm_sedation()
    assert armed.seconds == 4.0 and rig.model.sedation_armed
    rig.model.digit(5)
    assert rig.model.pending is not None and dict(rig.model.pending.data) == {
        "scale": "moaas", "score": 5}
    assert not rig.model.sedation_armed
    rig.model.undo()
    rig.model.arm_sedation()
    assert rig.model.undo() is HIDE and not rig.model.sedation_armed  # Esc disarms first
    rig.model.arm_sedation()
    rig.after(4.0)
    assert not rig.model.sedation_armed
    assert rig.model.digit(5) == Toast("5: for MOAA/S press S first")
    assert rig.model.pending is None


def test_the_dose_key_starts_with_the_protocol_then_stops(rig: Rig) -> None:
    rig.model.dose_toggle()
    held = rig.model.pending
    assert held is not None and held.kind == EntryKind.DOSE_START
    assert dict(held.data) == {"drug": "ketamine", "route": "iv", "dose_mg": 35.0,
                               "infusion_min": 40.0, "lot": "L1"}
    assert rig.model.dose_running()  # a held start counts: D again means stop
    rig.model.commit()
    assert [p.name for p in rig.model.phases(700.0)] == ["baseline", "dosing", "peak",
                                                        "recovery"]
    rig.session[0] = 900.0
    rig.model.dose_toggle()
    rig.model.commit()
    assert not rig.model.dose_running()
    dosing = next(p for p in rig.model.phases(1000.0) if p.name == "dosing")
    assert (dosing.start_s, dosing.end_s) == (600.0, 900.0)


def test_an_edited_dose_time_moves_the_phases(rig: Rig) -> None:
    rig.model.dose_toggle()
    rig.model.commit()
    assert rig.model.last_entry_id is not None
    toast = rig.model.edit(rig.model.last_entry_id, 720.0, None)
    assert toast.text == "Edit saved (the earlier version is kept)"
    dosing = next(p for p in rig.model.phases(1000.0) if p.name == "dosing")
    assert (dosing.start_s, dosing.end_s) == (720.0, 720.0 + 40 * 60)


def test_a_refused_save_keeps_the_entry_held_until_enter_retries(rig: Rig,
                                                                  db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON timeline"
                     " BEGIN SELECT RAISE(ABORT, 'refused for the test'); END")
    rig.model.digit(4)
    failed = rig.after(5.0)
    assert failed == Toast("NOT SAVED: the store failed. Enter retries.", undo=True,
                           seconds=30)
    assert rig.model.pending is not None and rig.model.next_deadline() is None
    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP TRIGGER refuse")
    saved = rig.model.commit()
    assert saved is not None and saved.text.startswith("Saved: Dissociation level 4")
    assert [(e.kind, e.t_s) for e in rig.stored()] == [(EntryKind.DISSOCIATION, 600.0)]


def test_a_mark_the_store_has_not_taken_is_shown_read_only_until_it_has(rig: Rig) -> None:
    mark = TimelineMark("sim", 1e9 + 300, 300.0, EntryKind.DOSE_START, (("route", "iv"),))
    rig.model.on_mark(mark)
    [shown] = rig.model.shown
    assert (shown.kind, shown.t_s, shown.author) == (EntryKind.DOSE_START, 300.0, "sim")
    assert shown.id < 0  # nothing can edit it yet
    stamped = rig.recorder.store_mark(mark)  # the store takes it now
    assert isinstance(stamped, TimelineMark) and stamped.entry_id is not None
    rig.model.on_mark(stamped)
    assert [(e.id, e.kind) for e in rig.model.shown] == [(stamped.entry_id,
                                                          EntryKind.DOSE_START)]


def test_without_a_store_nothing_is_recorded_and_marks_are_read_only() -> None:
    marks = (TimelineMark("replay", 1e9, 60.0, EntryKind.DOSE_START),)
    model = QuickEntry(None, lambda: 100.0, lambda: USER, lambda: marks)
    assert model.digit(2) == Toast("Entries are not recorded here")
    assert model.pending is None
    model.reload()
    assert [(e.id, e.kind, e.t_s) for e in model.shown] == [(-1, EntryKind.DOSE_START, 60.0)]
