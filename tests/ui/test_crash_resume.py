"""The dashboard process killed with SIGKILL mid-session, then started again as `make run`
starts it (`main.py dashboard --no-dialog`, the same default store): the session resumes,
at most the last second before the kill is lost, and the gap is recorded as such."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from monitor.session import EntryKind, SessionStatus
from monitor.store import STORE_FILENAME, SessionStore
from monitor.watchdog import FAILURE_KEY
from tests.helpers.dashboard import Dashboard
from tests.store_probe import wait_count

pytestmark = pytest.mark.slow

WAIT_S = 30.0
ANNOUNCED = re.compile(r"^vigil: ((?:recording|resuming) session \d+) to ")
WATCHDOG = re.compile(r"^vigil: watchdog (\d+) watching session")
BACK = re.compile(r"^vigil-watchdog: (Vigil is back) ")


def test_kill_9_then_make_run_resumes_the_session_and_shows_the_gap(tmp_path: Path) -> None:
    db = tmp_path / "data" / "vigil" / STORE_FILENAME  # where `make run` keeps the store
    first = Dashboard(tmp_path, default_store=True)  # `make run`'s command and store
    assert first.db == db
    try:
        assert first.said(ANNOUNCED, WAIT_S) == "recording session 1"
        watchdog = int(first.said(WATCHDOG, WAIT_S))
        wait_count(db, "SELECT COUNT(*) FROM samples WHERE vital = 'hr'", first.proc,
                   "five heart rates stored", need=5, timeout=WAIT_S)
        killed = time.time()
    finally:
        first.proc.kill()  # the process only: its watchdog lives on, sounding, and writes on
        first.proc.wait(timeout=WAIT_S)
    with SessionStore(db, read_only=True) as store:
        [before] = store.list_sessions()  # its process is gone: interrupted, ended with
        assert before.status is SessionStatus.INTERRUPTED  # its last stored data
        assert before.end_wall is not None
        last_wall = before.end_wall
        last_t = last_wall - before.start_wall
    assert last_wall >= killed - 1.0, f"{killed - last_wall:.2f} s lost before the kill"

    restarted = time.time()
    second = Dashboard(tmp_path, default_store=True)
    try:
        assert second.said(ANNOUNCED, WAIT_S) == "resuming session 1"  # not a new session
        wait_count(db, f"SELECT COUNT(*) FROM samples WHERE vital = 'hr' AND "
                       f"t_wall > {restarted}", second.proc, "heart rates after the restart",
                   need=3, timeout=WAIT_S)
    finally:
        second.end(signal.SIGINT, WAIT_S)  # Ctrl+C: the session stays resumable
        # The first run's watchdog sounded and saw Vigil back; it sounds its minimum 120 s,
        # which this test does not wait for.
        assert first.said(BACK, WAIT_S) == "Vigil is back"
        os.kill(watchdog, signal.SIGKILL)
    assert second.proc.returncode == 0, second.output()
    assert "ALARM SYSTEM FAILURE (session 1)" in first.output()

    with SessionStore(db, read_only=True) as store:
        [summary] = store.list_sessions()
        session = store.load_session(summary.id)
        rows = list(store.iter_samples(summary.id))
        alarms = store.alarm_events(summary.id)
    assert summary.id == before.id and summary.status is SessionStatus.INTERRUPTED
    failure = [(str(e.event), e.t_s) for e in alarms if e.alarm is not None
               and e.alarm.key == FAILURE_KEY]
    assert [kind for kind, _ in failure] == ["start", "end"]  # the watchdog logged both
    assert last_t <= failure[0][1] <= last_t + 6.0  # detected within the watchdog's time
    old = [r for r in rows if r[1] <= last_wall]
    new = [r for r in rows if r[1] > last_wall]
    assert len(old) == before.sample_count  # nothing recorded before the crash went missing
    # The session clock runs on from the original start: no restart at zero.
    assert all(abs(t - (wall - session.start_wall)) < 0.05 for t, wall, *_ in new)
    first_new = min(t for t, *_ in new)
    assert first_new >= restarted - session.start_wall - 0.2
    # The gap is on the timeline, from the last stored data to the resumption.
    [note] = session.entries_of(EntryKind.NOTE)
    assert note.author == "vigil" and note.data["event"] == "resumed"
    assert note.data["gap_start_s"] == pytest.approx(last_t, abs=0.01)
    assert note.data["gap_s"] == pytest.approx(note.t_s - note.data["gap_start_s"], abs=0.2)
    assert note.data["gap_s"] >= restarted - killed - 1.0
    assert not [t for t, *_ in rows if last_t < t < note.t_s - 0.2]  # nothing in the gap
