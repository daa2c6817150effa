"""Every way Vigil starts offers the session a crash interrupted: the real `main.py dashboard
--no-dialog` process (as `make run` starts it) and the resume prompt of `python main.py`,
even when another session was recorded since."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtWidgets import QDialog, QMessageBox

from devices.spec import parse_spec
from monitor.recorder import RecordingPlan, SessionRecorder
from monitor.session import EntryKind, Patient, SessionStatus
from monitor.store import SessionStore
from tests.helpers.dashboard import Dashboard
from tests.helpers.paths import REPO
from tests.helpers.qt import in_dialog
from tests.killed import record_then_kill
from ui.app import choose_plan
from ui.session_dialogs import NewSessionDialog


def _record(db: Path, *args: str) -> None:
    proc = subprocess.run([sys.executable, str(REPO / "main.py"), "record", "--db", str(db),
                           *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_make_run_resumes_the_crashed_session_unasked_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "vigil.sqlite3"
    record_then_kill(db, "--device", "sim", "--duration", "3600", "--patient", "AB")
    # Another session is recorded (and completed) after the crash: the offer stays.
    _record(db, "--device", "sim", "--duration", "60", "--speed", "max", "--patient", "CD")
    dash = Dashboard(tmp_path, db=db)
    try:
        dash.wait_recording()  # until the window is up and recording
    finally:
        told = dash.end(signal.SIGINT)  # Ctrl+C: quits, never "completed"
    assert "vigil: Resumed session 1 without asking (--no-dialog)" in told, told
    assert "resuming session 1 to" in told
    assert "AB" not in told  # the patient is never written to a log
    assert dash.proc.returncode == 0, told
    with SessionStore(db, read_only=True) as store:
        first, second = store.list_sessions()  # no third, unnamed session
        notes = [e.data.get("event") for e in store.timeline(first.id)
                 if e.kind == EntryKind.NOTE]
    assert first.status is SessionStatus.INTERRUPTED and first.patient == "AB"
    assert notes == ["resumed"]
    assert second.status is SessionStatus.COMPLETED and second.patient == "CD"


def _interrupted(store: SessionStore, patient_plan: RecordingPlan) -> int:
    rec = SessionRecorder(store, patient_plan)
    rec.start()
    rec.wait()
    store.end_session(rec.session_id, SessionStatus.INTERRUPTED,
                      time.time() - 60)  # as a crash a minute ago would leave it
    return rec.session_id


def test_the_prompt_offers_each_interrupted_session_and_declining_keeps_it(
        qtbot, tmp_path: Path) -> None:
    def plan(who: str) -> RecordingPlan:
        return RecordingPlan((parse_spec("sim"),), 30.0, None, Patient(who))

    with SessionStore(tmp_path / "v.sqlite3") as store:
        older = _interrupted(store, plan("AB"))
        newer = _interrupted(store, plan("CD"))
        done = SessionRecorder(store, plan("EF"))  # the latest session is completed
        done.start()
        done.wait()
        offered: list[str] = []

        def answer(box: QDialog) -> None:
            if isinstance(box, NewSessionDialog):
                box.reject()  # nothing new either
                return
            assert isinstance(box, QMessageBox)
            offered.append(box.text().split(" (")[0])
            declined = next(b for b in box.buttons()
                            if b.text() in ("Not this one", "New session"))
            offered.append(declined.text())
            in_dialog(QDialog, answer)  # the next question, once this one is answered
            declined.click()

        in_dialog(QDialog, answer)
        assert choose_plan(store, RecordingPlan((parse_spec("sim"),), 3600.0, 1.0)) is None
        statuses = {s.id: s.status for s in store.list_sessions()}
    assert offered == [f"Session {newer}", "Not this one", f"Session {older}", "New session"]
    assert statuses[older] is statuses[newer] is SessionStatus.INTERRUPTED
