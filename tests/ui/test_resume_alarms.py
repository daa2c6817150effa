"""A real `main.py record` killed with SIGKILL while an alarm is active, then resumed in the
dashboard: the live trend shows the alarms from before the crash, the one the crash left
open ending where the recording stopped, exactly as the browser and the report read them."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from alarms.episodes import episodes_from_events
from alarms.model import AlarmEventKind, AlarmKind
from monitor.history import load_history
from monitor.recorder import resume_plan
from monitor.reports.data import load_alarm_log
from monitor.resume import resumable_session
from monitor.session import EntryKind
from monitor.store import SessionStore
from tests.helpers.paths import REPO
from tests.helpers.processes import end_process
from tests.helpers.waiting import until
from ui.app import DashboardSession

pytestmark = pytest.mark.slow


def _open_alarm(db: Path) -> bool:
    """A physiological alarm started and not yet ended in the store."""
    if not db.exists():
        return False
    with SessionStore(db, read_only=True) as store:
        sid = store.latest_session_id()
        if sid is None:
            return False
        started: set[tuple[str, float]] = set()
        for ev in store.alarm_events(sid):
            a = ev.alarm
            if a is None or a.kind is not AlarmKind.PHYSIOLOGICAL:
                continue
            if ev.event is AlarmEventKind.START:
                started.add((a.key, a.onset_t_s))
            elif ev.event is AlarmEventKind.END:
                started.discard((a.key, a.onset_t_s))
        return bool(started)


def test_resumed_live_trend_keeps_the_alarms_from_before_the_crash(qtbot, tmp_path):
    db = tmp_path / "vigil.sqlite3"
    # 30x real time: the RR and SpO2 alarms of the desaturation start within ~10 s.
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "record", "--db", str(db), "--speed", "30",
         "--device", "sim:desaturation?dose=0", "--duration", "3600", "--patient", "AB"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        until(lambda: _open_alarm(db), "an alarm active in the store", timeout=30.0)
    finally:
        end_process(proc, signal.SIGKILL)

    with SessionStore(db) as store:  # opening marks the killed session interrupted
        offered = resumable_session(store)
        assert offered is not None
        logged = store.alarm_events(offered.id)
        open_at_crash = [e for e in episodes_from_events(logged)
                         if e.end_t_s is None and e.kind is AlarmKind.PHYSIOLOGICAL]
        assert open_at_crash, "the kill came after every alarm had ended"
        session = DashboardSession(store, resume_plan(store, offered.id, 3600.0))
        assert session.recorder.resumed_gap is not None
        resumed_s = session.recorder.resumed_gap[1]
        session.start()
        try:  # the fresh engine's own alarm (the desaturation goes on) joins the old ones
            until(lambda: any(e.onset_t_s >= resumed_s for e in session.trends.episodes()),
                  "an alarm from the resumed engine on the live trend", timeout=30.0)
        finally:
            session.stop()
        live = session.trends.episodes()
        [note] = [e for e in store.timeline(offered.id) if e.kind == EntryKind.NOTE]
        history = load_history(store, offered.id)
        report = load_alarm_log(store, offered.id)
    stopped = note.data["gap_start_s"]
    assert abs(stopped - session.recorder.resumed_gap[0]) < 1e-3
    # Every alarm from before the crash is on the live trend, as the browser reads it...
    assert [tuple(e) for e in live] == [tuple(e) for e in history.episodes]
    assert {(e.key, e.onset_t_s) for e in episodes_from_events(logged)} < {
        (e.key, e.onset_t_s) for e in live}
    # ...and the ones the crash left open end where the recording stopped, not "now".
    ended = {(e.key, e.onset_t_s): e.end_t_s for e in live}
    for ep in open_at_crash:
        assert ended[(ep.key, ep.onset_t_s)] == max(stopped, ep.signal_t_s) < resumed_s
    assert report is not None
    assert [(r.start_s, r.end_s) for r in report] == [
        (e.signal_t_s, e.end_t_s) for e in history.episodes]
