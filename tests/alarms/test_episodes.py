"""One fold of the engine's alarm events into episodes (alarms/episodes.py): the live
dashboard's trend folds them as the engine emits them, the session browser, the PDF and the
CSV fold them as the store logged them, and the two can no longer drift apart."""

from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alarms.engine import AlarmEngine
from alarms.episodes import EpisodeFold, episodes_from_events
from alarms.model import (
    AlarmEvent,
    AlarmEventKind,
    AlarmKind,
    AlarmState,
    AlarmStatus,
    Priority,
)
from alarms.presets import preset
from devices.spec import parse_spec
from monitor.buffers import SessionTrends
from monitor.export_alarms import alarm_rows, episode_row
from monitor.history import load_history
from monitor.messages import (
    Battery,
    Condition,
    DeviceCondition,
    DeviceState,
    DeviceStatus,
    Message,
    Numerics,
)
from monitor.recorder import RecordingPlan, SessionRecorder
from monitor.reports.data import load_alarm_log
from monitor.schema import ALARM_SOURCE_SINCE, APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from monitor.session import DoseProtocol, Patient, Route
from monitor.store import SessionStore

WALL0 = 1_700_000_000.0


def test_a_recorded_session_folds_to_the_same_episodes_live_and_from_the_store(
        db_path: Path) -> None:
    """The real recorder at --speed max, wired as the dashboard wires it: the trend as a
    sink and as the engine's listener. A desaturation (tiers, a latched HIGH), a probe off
    (a device condition) and a dropped link (a device alarm with no vital)."""
    specs = tuple(parse_spec(s) for s in ("sim:desaturation", "sim:probe-off",
                                          "sim:device-dropout"))
    store = SessionStore(db_path)
    live = SessionTrends(hours=1.0)
    rec = SessionRecorder(store, RecordingPlan(specs, 2400, None, preset="iv-ketamine"),
                          [live])
    rec.alarms.add_listener(live.alarm_event)
    rec.start()
    rec.wait(120)
    sid = rec.session_id
    episodes = live.episodes()
    assert {(e.rule_id, e.source) for e in episodes} >= {
        ("spo2-low", "sim"), ("rr-low", "sim"), ("sensor_off", "sim-2"),
        ("spo2-not-current", "sim-2"), ("link-lost", "sim-3")}

    h = load_history(store, sid)
    # Every field, the wall-clock times and the source included (Episode's own equality
    # leaves those out).
    assert [tuple(e) for e in h.trends.episodes()] == [tuple(e) for e in episodes]
    assert [tuple(e) for e in h.episodes] == [tuple(e) for e in episodes]
    assert ([h.trends.episode_vitals(e) for e in h.trends.episodes()]
            == [live.episode_vitals(e) for e in episodes])
    link = next(e for e in episodes if e.rule_id == "link-lost")
    assert link.vital is None and live.episode_vitals(link) >= {"spo2", "hr"}
    # The PDF's alarm log and the CSV read the same episodes.
    report = load_alarm_log(store, sid)
    assert report is not None
    assert [(r.start_s, r.end_s, r.vital, r.priority) for r in report] == [
        (e.signal_t_s, e.end_t_s, e.vital, e.highest) for e in episodes]
    wall0 = store.load_session(sid).start_wall
    assert list(alarm_rows(store, sid)) == [episode_row(e, wall0 + e.signal_t_s)
                                            for e in episodes]
    store.close()


def _status(priority: Priority = Priority.MEDIUM, worst: float = 88.0) -> AlarmStatus:
    return AlarmStatus("spo2-low:ox", AlarmKind.PHYSIOLOGICAL, priority, "spo2", "SpO2 LOW",
                       "", AlarmState.ACTIVE, 10.0, 25.0, worst, 90.0, False, source="ox")


def test_a_crash_ends_the_open_episodes_where_the_recording_stopped() -> None:
    """Onset 10 s, signal 25 s, never ended (the process was killed): with a gap from 40 s
    to 100 s it ends at 40 s; the resumed engine's alarm (onset 110 s) stays open; an
    alarm signalled after the last stored datum (60 s, still before the resume) ends at
    its signal, never before it; an episode ended before the crash keeps its end."""
    ev = AlarmEventKind
    ended = replace(_status(), key="rr-low:ox")
    late = replace(_status(), key="hr-low:ox", onset_t_s=45.0, signal_t_s=60.0)
    fresh = replace(_status(), onset_t_s=110.0, signal_t_s=125.0)
    log = [AlarmEvent(t, WALL0 + t, kind, a) for t, kind, a in [
        (25.0, ev.START, _status()), (25.0, ev.START, ended), (30.0, ev.END, ended),
        (60.0, ev.START, late), (125.0, ev.START, fresh)]]
    got = {(e.key, e.onset_t_s): e.end_t_s
           for e in episodes_from_events(log, [(40.0, 100.0)])}
    assert got == {("spo2-low:ox", 10.0): 40.0, ("rr-low:ox", 10.0): 30.0,
                   ("hr-low:ox", 45.0): 60.0, ("spo2-low:ox", 110.0): None}
    assert [e.end_t_s for e in episodes_from_events(log)].count(None) == 3  # no gap: open
    fold = EpisodeFold()
    assert fold.add_log(log[:1], [(40.0, 100.0)])
    assert not fold.interrupt(200.0, 300.0)  # nothing left open: nothing changed


def test_the_fold_says_when_an_episode_changed() -> None:
    """Start, a higher tier, a reminder (nothing to redraw), the end, then a late
    acknowledgement of the ended alarm, and an event about an alarm it never saw."""
    fold = EpisodeFold()
    ev = AlarmEventKind
    steps = [(25.0, ev.START, _status()), (30.0, ev.PRIORITY, _status(Priority.HIGH, 84.0)),
             (31.0, ev.AUDIO_PAUSE, None), (40.0, ev.REMINDER, _status(Priority.HIGH, 84.0)),
             (50.0, ev.END, _status(Priority.HIGH, 84.0)),
             (55.0, ev.ACKNOWLEDGE, _status(Priority.HIGH, 84.0)),
             (56.0, ev.ACKNOWLEDGE, replace(_status(), key="rr-low:ox"))]
    changed = [fold.add(AlarmEvent(t, WALL0 + t, kind, a)) for t, kind, a in steps]
    assert changed == [True, True, False, False, True, True, False]
    (ep,) = fold.episodes()
    assert (ep.onset_t_s, ep.signal_t_s, ep.end_t_s, ep.highest, ep.worst_value) == (
        10.0, 25.0, 50.0, Priority.HIGH, 84.0)
    assert (ep.acknowledged_t_s, ep.start_wall, ep.end_wall, ep.source) == (
        55.0, WALL0 + 25.0, WALL0 + 50.0, "ox")


# -- any engine run --------------------------------------------------------------------

SOURCES = ("ox", "mon")
_numerics = st.builds(
    lambda src, spo2, hr, rr: ("numerics", src, (("spo2", spo2), ("hr", hr), ("rr", rr))),
    st.sampled_from(SOURCES), st.sampled_from([97.0, 89.0, 84.0, 70.0, 150.0]),
    st.sampled_from([72.0, 45.0, 130.0, 30.0]), st.sampled_from([14.0, 6.0, 35.0]))
_op = st.one_of(
    _numerics,
    st.tuples(st.just("link"), st.sampled_from(SOURCES), st.booleans()),
    st.tuples(st.just("probe"), st.sampled_from(SOURCES), st.booleans(),
              st.sampled_from(["spo2", None])),
    st.tuples(st.just("battery"), st.sampled_from(SOURCES), st.sampled_from([5.0, 80.0])),
    st.tuples(st.just("ack")), st.tuples(st.just("audio"), st.booleans()))
_run = st.lists(st.tuples(st.floats(0.5, 40.0), _op), min_size=1, max_size=40)


def _message(t: float, op: tuple) -> Message | None:
    kind, *args = op
    if kind == "numerics":
        return Numerics(args[0], WALL0 + t, t, args[1])
    if kind == "link":
        state = DeviceState.STREAMING if args[1] else DeviceState.DISCONNECTED
        return DeviceStatus(args[0], WALL0 + t, t, state)
    if kind == "probe":
        return DeviceCondition(args[0], WALL0 + t, t, Condition.SENSOR_OFF, args[1], args[2])
    if kind == "battery":
        return Battery(args[0], WALL0 + t, t, args[1])
    return None


def _drive(run: list, engine: AlarmEngine, sinks: list) -> float:
    t = 0.0
    for dt, op in run:
        t += dt
        msg = _message(t, op)
        if msg is not None:
            for sink in sinks:
                sink(msg)
        elif op[0] == "ack":
            engine.acknowledge(t_s=t)
        else:
            engine.set_audio_available(op[1], t_s=t)
        engine.tick(t + 0.25)
    return t


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(run=_run)
def test_any_engine_run_folds_the_same_live_and_stored(run: list) -> None:
    """The incremental fold agrees with the fold of the whole log after every event and
    says when it changed; the store gives back the episodes (and the vitals each concerns)
    the live trend had."""
    engine = AlarmEngine(preset("iv-ketamine"), wall0=WALL0)
    live = SessionTrends(hours=1.0)
    events: list[AlarmEvent] = []
    fold = EpisodeFold()

    def listen(ev: AlarmEvent) -> None:
        events.append(ev)
        before = [tuple(e) for e in fold.episodes()]
        changed = fold.add(ev)  # the trend redraws exactly when an episode changed
        assert changed == (before != [tuple(e) for e in fold.episodes()])
        assert fold.episodes() == episodes_from_events(events)

    engine.add_listener(listen)
    engine.add_listener(live.alarm_event)
    with tempfile.TemporaryDirectory() as tmp:
        store = SessionStore(Path(tmp) / "vigil.sqlite3")
        sid = store.create_session(Patient("AB", 70.0),
                                   DoseProtocol("ketamine", Route.IV, 35.0, 40.0),
                                   "iv-ketamine", WALL0)
        writer = store.writer(sid)
        engine.add_listener(writer.put)
        end = _drive(run, engine, [engine, live, writer.put])
        engine.end_session(end + 1.0)
        writer.close()
        assert store.alarm_events(sid) == events  # the source survives the store
        h = load_history(store, sid)
        assert [tuple(e) for e in h.trends.episodes()] == [tuple(e) for e in live.episodes()]
        assert ([h.trends.episode_vitals(e) for e in h.trends.episodes()]
                == [live.episode_vitals(e) for e in live.episodes()])
        store.close()


def test_a_store_from_before_the_source_column_gets_it_from_the_keys(db_path: Path) -> None:
    """The migration that adds alarm_log.source fills it for the rows already there; a
    read-only store of an older schema (an export) reads it the same way without migrating."""
    db_path.touch(mode=0o600)
    conn = sqlite3.connect(db_path)
    before = ALARM_SOURCE_SINCE - 1
    conn.executescript(";".join(MIGRATIONS[:before]) + f"; PRAGMA user_version = {before};"
                       f" PRAGMA application_id = {APPLICATION_ID};")
    rows = [("spo2-low:ox", "spo2"), ("sensor_off:ox:spo2", "spo2"),
            ("sensor_off:mon:-", None), ("link-lost:mon", None),
            ("audio-unavailable:vigil", None), ("min-monitoring:session", None),
            ("alarm-system-failure", None)]
    for i, (key, vital) in enumerate(rows):
        conn.execute("INSERT INTO alarm_log VALUES (1, ?, ?, 'start', ?, 'technical', 2, ?,"
                     " 'c', 'm', 'active', ?, ?, NULL, NULL, 0, '', NULL)",
                     (float(i), WALL0 + i, key, vital, float(i), float(i)))
    conn.commit()
    conn.close()
    expected = ["ox", "ox", "mon", "mon", None, None, None]
    with SessionStore(db_path, read_only=True) as store:
        assert store.schema_version == before
        assert [ev.alarm.source for ev in store.alarm_events(1)] == expected
    with SessionStore(db_path) as store:
        assert store.schema_version == SCHEMA_VERSION >= ALARM_SOURCE_SINCE
        assert [ev.alarm.source for ev in store.alarm_events(1)] == expected


def test_priority_carries_its_rank_and_its_step_up() -> None:
    """One definition of the order and of escalation, which the engine, the batch engine,
    the fold and the reports use: HIGH stays HIGH."""
    low, medium, high = Priority.LOW, Priority.MEDIUM, Priority.HIGH
    assert sorted([high, low, medium]) == [low, medium, high]
    assert [low.step_up(), medium.step_up(), high.step_up()] == [medium, high, high]
    assert [p.label for p in (high, medium, low)] == ["high", "medium", "low"]
