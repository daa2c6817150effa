"""The session browser's lock, on a real store: with staff accounts it opens only for
someone signed in, audits each session opened and each export with who did it, and locks
again (closing what was open) after a time without input; with none it works as before."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from ui_fakes import FakeMonotonic

from monitor import audit
from monitor.messages import Numerics
from monitor.session import DoseProtocol, Patient, SessionStatus
from monitor.staff import UNIDENTIFIED, Role, StaffDirectory
from monitor.store import SessionStore
from ui.browser import SessionBrowser

W0 = 1_800_000_000.0




def one_session(db: Path) -> int:
    with SessionStore(db) as store:
        sid = store.create_session(Patient("JD-4471", 70.0), DoseProtocol("ketamine"),
                                   "iv-ketamine", W0)
        w = store.writer(sid)
        for i in range(60):
            w.put(Numerics("sim", W0 + i, float(i), (("hr", 72.0), ("spo2", 97.0))))
        assert w.flush()
        w.close()
        store.end_session(sid, SessionStatus.COMPLETED, W0 + 60)
    return sid


def shown(qtbot, db: Path) -> SessionBrowser:
    b = SessionBrowser(db)
    qtbot.addWidget(b)
    b.resize(1600, 900)
    b.show()
    qtbot.waitExposed(b)
    return b


def test_the_browser_asks_for_sign_in_and_locks_again_when_idle(qtbot, tmp_path: Path,
                                                                 shots_dir: Path) -> None:
    db = tmp_path / "vigil.sqlite3"
    sid = one_session(db)
    StaffDirectory(db).add("Dr Kim", Role.CLINICIAN, "135791")
    b = shown(qtbot, db)
    lock = b.lock
    mono = FakeMonotonic()
    lock.signin.clock = mono
    lock.signin.idle_s = 300.0
    assert lock.locked and lock.stack.currentWidget() is lock.page
    assert b.open_session(sid) is None  # Enter while locked opens nothing
    b.grab().save(str(shots_dir / "browser-locked.png"))
    qtbot.keyClicks(lock.form.name_field, "Dr Kim")
    qtbot.keyClick(lock.form.name_field, Qt.Key.Key_Return)
    qtbot.keyClicks(lock.form.pin_field, "111111")
    qtbot.keyClick(lock.form.pin_field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Dr Kim: wrong PIN" in lock.form.message.text(), timeout=10000)
    assert lock.locked
    qtbot.keyClicks(lock.form.pin_field, "135791")
    qtbot.keyClick(lock.form.pin_field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not lock.locked, timeout=10000)
    assert not lock.locked and lock.stack.currentIndex() == 1
    assert lock.user_label.text() == "Signed in: Dr Kim (clinician)"
    assert b.export.clinician == "Dr Kim"  # the report's signature line
    view = b.open_session(sid)
    assert view is not None and view.isVisible()
    out = tmp_path / "r.csv"
    b.export.deidentify.setChecked(True)
    with qtbot.waitSignal(b.export.finished, timeout=20000) as done:
        b.export.export("csv", out)
    assert done.args[2] is True and out.exists()
    mono.t += 301
    qtbot.waitUntil(lambda: lock.locked, timeout=3000)  # the 1 s check
    assert lock.stack.currentWidget() is lock.page
    qtbot.waitUntil(lambda: b.views == [], timeout=3000)  # closed, deleted
    assert lock.form.name_field.text() == "" and b.export.clinician is None
    rows = [(r.actor, r.action, r.session_id, dict(r.detail)) for r in audit.rows(db)][1:]
    assert rows == [
        ("Dr Kim (clinician)", "pin-failed", None, {"where": "session browser",
                                                    "failures": 1}),
        ("Dr Kim (clinician)", "sign-in", None, {}),
        ("Dr Kim (clinician)", "session-open", sid, {}),
        ("Dr Kim (clinician)", "export", sid, {"format": "csv", "deidentified": True,
                                               "to": "file"}),
        ("Dr Kim (clinician)", "sign-out", None, {"why": "no input for 5 min"})]
    b.close()


def test_without_accounts_the_browser_is_open_and_records_unidentified_staff(
        qtbot, tmp_path: Path) -> None:
    db = tmp_path / "vigil.sqlite3"
    sid = one_session(db)
    b = shown(qtbot, db)
    assert not b.lock.locked and b.lock.stack.currentIndex() == 1
    view = b.open_session(sid)
    assert view is not None
    view.close()
    b.close()
    assert [(r.actor, r.action, r.session_id) for r in audit.rows(db)] == [
        (UNIDENTIFIED, "session-open", sid)]
