"""Staff sign-in at the room screen, under pytest-qt on real dashboard sessions (a real
store, engine and simulator): an alarm acknowledged with nobody signed in, a badge reader's
typing, a limit loosened only by a clinician, the discharge signed by one, and the idle
sign-out that leaves the vitals on screen."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSettings, Qt, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication, QDialog, QWidget
from ui_fakes import (
    FakeAudioOutput,
    FakeMonotonic,
    physiological_alarm,
    session_messages,
    shown_rig,
)

from alarms.log import limit_changes
from alarms.model import Priority
from devices.spec import parse_spec
from monitor import audit
from monitor.discharge import ALDRETE
from monitor.messages import Numerics
from monitor.recorder import RecordingPlan
from monitor.signin import SignIn
from monitor.staff import UNIDENTIFIED_ROOM, Role, StaffDirectory
from monitor.store import SessionStore
from ui.app import DashboardSession, attach_signin
from ui.dashboard import DashboardWindow
from ui.lifecycle import SessionLifecycle
from ui.session_dialogs import DischargeDialog, QuitChoice
from ui.signin import SignInDialog, install_room_signin
from ui.theme import vital_colour


def clinic_store(tmp_path: Path) -> Path:
    db = tmp_path / "vigil.sqlite3"
    SessionStore(db).close()
    staff = StaffDirectory(db)
    staff.add("Ann Lee", Role.NURSE, "246810")
    staff.add("Dr Kim", Role.CLINICIAN, "135791")
    return db


@contextmanager
def live(qtbot, tmp_path: Path, mono: FakeMonotonic | None = None, idle_s: float = 600.0,
         plan: RecordingPlan | None = None, **lifecycle
         ) -> Iterator[tuple[DashboardSession, DashboardWindow, SignIn]]:
    """A real dashboard session on the simulator (20x), wired with sign-in as run_dashboard
    wires it."""
    db = clinic_store(tmp_path)
    plan = plan or RecordingPlan((parse_spec("sim:normal?seed=4"),), 3600.0, 20.0)
    with SessionStore(db) as store:
        session = DashboardSession(store, plan)
        signin = SignIn(StaffDirectory(db), "room screen", idle_s, clock=mono or FakeMonotonic())
        attach_signin(session, signin)
        settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
        window = DashboardWindow(replace(session.sources(), signin=signin),
                                 FakeAudioOutput(), settings)
        window.resize(1920, 1080)
        qtbot.addWidget(window)
        window.closing.connect(session.stop)
        if lifecycle:
            lifecycle.setdefault("ask_quit", lambda *_: QuitChoice.QUIT)
            window.lifecycle = SessionLifecycle(window, session, **lifecycle)
        session.start()
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(window.isActiveWindow, timeout=5000)
        window.start()
        try:
            yield session, window, signin
        finally:
            if window.limits_dialog is not None:
                window.limits_dialog.close()
            window.close()


def answer_modal(answers: list[tuple[str, str] | None]) -> list[str]:
    """Types each (name, PIN) into the modal sign-in dialog when it shows (None: Cancel);
    returns the messages the dialog showed between answers."""
    shown: list[str] = []

    def step() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, SignInDialog) or dialog.form.busy:  # shown, PIN checked
            QTimer.singleShot(20, step)
            return
        if dialog.message.text():
            shown.append(dialog.message.text())
        answer = answers.pop(0)
        if answer is None:
            dialog.reject()
            return
        dialog.name_field.setText(answer[0])
        dialog.pin_field.setText(answer[1])
        dialog.form.submit()
        if answers:
            QTimer.singleShot(20, step)

    QTimer.singleShot(0, step)
    return shown


def colour_share(widget: QWidget, colour, tol: int = 40) -> float:
    img = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB32)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(h, img.bytesPerLine() // 4, 4)
    rgb = arr[:, :w, 2::-1].astype(int)
    target = np.array([colour.red(), colour.green(), colour.blue()])
    return float((np.abs(rgb - target).max(axis=2) < tol).mean())


def test_an_alarm_is_acknowledged_with_nobody_signed_in(qtbot, tmp_path: Path,
                                                         shots_dir: Path) -> None:
    db = clinic_store(tmp_path)
    with shown_rig(qtbot, tmp_path) as rig:
        users: list[str] = []
        ack, pause = rig.alarms.acknowledge, rig.alarms.pause_audio
        rig.alarms.acknowledge = lambda key=None, user="": (users.append(user), ack(key, user))
        rig.alarms.pause_audio = lambda user="": (users.append(user), pause(user))
        signin = SignIn(StaffDirectory(db), "room screen")
        signin.session_id = 7
        rig.window.room = install_room_signin(rig.window, signin)
        room = rig.window.room
        assert room.button.isVisible() and room.button.full_text == "Sign in  [Ctrl+I]"
        # 25 min into a session, the SpO2 falls to 84: the screen shows what the alarm says.
        rig.clock.t = 1500.0
        rig.feed(*session_messages("normal", 1500.0),
                 Numerics("sim", 1500.0, 1500.0, (("spo2", 84.0), ("pr", 76.0))))
        rig.alarms.alarms = [physiological_alarm("spo2-low:sim", "spo2", Priority.HIGH,
                                                 "*** SpO2 LOW 84 < 90", onset=1490.0)]
        rig.poll_alarms()
        qtbot.waitUntil(lambda: rig.window.banner.alarms != (), timeout=3000)
        qtbot.keyClick(rig.window, Qt.Key.Key_A)  # no PIN asked: the alarm never waits
        qtbot.waitUntil(lambda: users == [UNIDENTIFIED_ROOM], timeout=3000)
        assert rig.alarms.alarms[0].acknowledged
        qtbot.keyClick(rig.window, Qt.Key.Key_P)
        qtbot.waitUntil(lambda: users == [UNIDENTIFIED_ROOM] * 2, timeout=3000)

        # A badge reader types the name, Enter, the PIN, Enter.
        qtbot.keyClick(rig.window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
        dialog = room.dialog
        assert dialog is not None and not dialog.isModal()
        qtbot.waitExposed(dialog)
        qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
        rig.window.refresh()
        rig.window.trend.refresh(force=True)  # its 1-s timer has not run yet
        QApplication.processEvents()  # the header laid out again for "AUDIO PAUSED"
        shot = rig.window.grab()  # the dialog where it opens: over the trend
        painter = QPainter(shot)
        painter.drawPixmap(dialog.geometry().topLeft() - rig.window.geometry().topLeft(),
                           dialog.grab())
        painter.end()
        shot.save(str(shots_dir / "sign-in.png"))
        qtbot.keyClicks(dialog.name_field, "Ann Lee")
        qtbot.keyClick(dialog.name_field, Qt.Key.Key_Return)
        assert dialog.focusWidget() is dialog.pin_field
        qtbot.keyClicks(dialog.pin_field, "000000")
        qtbot.keyClick(dialog.pin_field, Qt.Key.Key_Return)
        assert dialog.form.busy  # checked off the GUI thread: the alarms go on meanwhile
        qtbot.waitUntil(lambda: not dialog.form.busy, timeout=10000)
        assert "Ann Lee: wrong PIN (4 more" in dialog.message.text()
        assert dialog.pin_field.text() == ""  # cleared; the name kept
        qtbot.keyClicks(dialog.pin_field, "246810")
        qtbot.keyClick(dialog.pin_field, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
        assert room.button.full_text == "Ann Lee (nurse): sign out"
        qtbot.waitUntil(lambda: room.button.text() == room.button.full_text)  # whole at 1920
        qtbot.waitUntil(rig.window.isActiveWindow, timeout=3000)  # its keys work again
        rig.alarms.alarms = [physiological_alarm("rr-low:sim", "rr", Priority.HIGH,
                                                 "*** RR LOW 6 < 8")]
        rig.poll_alarms()
        qtbot.keyClick(rig.window, Qt.Key.Key_A)
        qtbot.waitUntil(lambda: len(users) == 3, timeout=3000)
        assert users[2] == "Ann Lee (nurse)"
        room.button.click()  # sign out
        assert room.button.full_text == "Sign in  [Ctrl+I]"
    assert [(r.actor, r.action, r.session_id) for r in audit.rows(db)][2:] == [
        (UNIDENTIFIED_ROOM, "acknowledge", 7), (UNIDENTIFIED_ROOM, "audio-pause", 7),
        ("Ann Lee (nurse)", "pin-failed", 7), ("Ann Lee (nurse)", "sign-in", 7),
        ("Ann Lee (nurse)", "acknowledge", 7), ("Ann Lee (nurse)", "sign-out", 7)]


def _counting_alarms(rig) -> list[str]:
    """Who the (fake) alarms were acknowledged and paused by, in order."""
    users: list[str] = []
    ack, pause = rig.alarms.acknowledge, rig.alarms.pause_audio
    rig.alarms.acknowledge = lambda key=None, user="": (users.append(f"A {user}"),
                                                        ack(key, user))
    rig.alarms.pause_audio = lambda user="": (users.append(f"P {user}"), pause(user))
    return users


def test_a_and_p_reach_the_alarms_from_the_sign_in_dialogs(qtbot, tmp_path: Path) -> None:
    db = clinic_store(tmp_path)
    with shown_rig(qtbot, tmp_path) as rig:
        users = _counting_alarms(rig)
        signin = SignIn(StaffDirectory(db), "room screen")
        room = rig.window.room = install_room_signin(rig.window, signin)
        rig.alarms.alarms = [physiological_alarm("spo2-low:sim", "spo2", Priority.HIGH,
                                                 "*** SpO2 LOW 84 < 90")]
        rig.poll_alarms()
        dialog = room.open_dialog()
        qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
        # In the name field A and P are letters of a name.
        qtbot.keyClicks(dialog.name_field, "pa")
        assert dialog.name_field.text() == "pa" and users == []
        # The PIN is digits: there, and on the dialog's buttons, they are the alarm keys.
        dialog.pin_field.setFocus()
        qtbot.keyClicks(dialog.pin_field, "24")
        qtbot.keyClick(dialog.pin_field, Qt.Key.Key_A)
        assert users == [f"A {UNIDENTIFIED_ROOM}"] and rig.alarms.alarms[0].acknowledged
        qtbot.keyClick(dialog.pin_field, Qt.Key.Key_P)
        assert users[-1] == f"P {UNIDENTIFIED_ROOM}"
        assert dialog.pin_field.text() == "24" and dialog.isVisible()  # nothing typed
        dialog.form.sign_in_button.setFocus()
        qtbot.keyClick(dialog.form.sign_in_button, Qt.Key.Key_A)
        assert len(users) == 3 and not dialog.form.busy  # acknowledged, not submitted
        dialog.close()

        # A clinician's sign-in for one step is modal: the alarm keys still work in it.
        def in_modal() -> None:
            modal = QApplication.activeModalWidget()
            if not isinstance(modal, SignInDialog) or not modal.isActiveWindow():
                QTimer.singleShot(20, in_modal)
                return
            modal.pin_field.setFocus()
            qtbot.keyClick(modal.pin_field, Qt.Key.Key_A)
            qtbot.keyClick(modal.pin_field, Qt.Key.Key_P)
            modal.reject()

        def run(d: QDialog) -> int:
            QTimer.singleShot(0, in_modal)
            return d.exec()

        signin.sign_in("Ann Lee", "246810")
        assert room.authorize_clinician("a test step", run) is None
        assert users[3:] == ["A Ann Lee (nurse)", "P Ann Lee (nurse)"]
    assert [r.action for r in audit.rows(db)][-2:] == ["acknowledge", "audio-pause"]


def test_an_audit_trail_that_cannot_be_written_never_holds_up_an_alarm(
        qtbot, tmp_path: Path, caplog) -> None:
    db = clinic_store(tmp_path)
    with shown_rig(qtbot, tmp_path) as rig:
        users = _counting_alarms(rig)
        signin = SignIn(StaffDirectory(db), "room screen")
        rig.window.room = install_room_signin(rig.window, signin)
        rig.alarms.alarms = [physiological_alarm("spo2-low:sim", "spo2", Priority.HIGH,
                                                 "*** SpO2 LOW 84 < 90")]
        rig.poll_alarms()
        qtbot.waitUntil(rig.window.isActiveWindow, timeout=3000)  # its keys
        holder = sqlite3.connect(db, isolation_level=None)  # another process's write lock
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        qtbot.keyClick(rig.window, Qt.Key.Key_A)
        held_up = time.monotonic() - started
        assert users == [f"A {UNIDENTIFIED_ROOM}"] and rig.alarms.alarms[0].acknowledged
        assert held_up < 2.0  # the store's own wait would be 10 s
        assert [r.action for r in signin.pending] == ["acknowledge"]
        done_at = time.time()
        assert "acknowledge" not in [r.action for r in audit.rows(db)]
        assert [r.getMessage() for r in caplog.records if r.name == "monitor.signin"] == [
            f"audit trail not written (kept to retry): {db}: cannot write the audit trail: "
            "database is locked"]
        holder.execute("ROLLBACK")
        holder.close()
        qtbot.waitUntil(lambda: not signin.pending, timeout=5000)  # the 1 s check
    (row,) = [r for r in audit.rows(db) if r.action == "acknowledge"]
    assert row.actor == UNIDENTIFIED_ROOM and row.t_wall <= done_at  # when it was done
    assert audit.verify(db) is None


def test_only_a_clinician_loosens_a_limit_beyond_the_preset(qtbot, tmp_path: Path) -> None:
    with live(qtbot, tmp_path) as (session, window, signin):
        signin.sign_in("Ann Lee", "246810")
        qtbot.waitUntil(lambda: window.tiles["spo2"].content.limits == "off\n90", timeout=5000)
        qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
        dialog = window.limits_dialog
        qtbot.waitExposed(dialog)
        dialog.set_value("spo2-low", 92)  # tighter: the nurse may
        assert dialog.apply() == ["spo2-low"]
        dialog.set_value("spo2-low", 88)  # looser than the preset's 90
        shown = answer_modal([None])
        assert dialog.apply() == []
        assert dialog.warning.text().startswith("Not applied: loosening a limit beyond the "
                                                "preset needs a clinician")
        shown = answer_modal([("Ann Lee", "246810"), ("Dr Kim", "135791")])
        assert dialog.apply() == ["spo2-low"]
        assert shown == ["Ann Lee is a nurse: loosening an alarm limit beyond the preset "
                         "needs a clinician"]
        qtbot.waitUntil(lambda: window.tiles["spo2"].content.limits == "off\n88", timeout=5000)
        assert signin.author() == "Ann Lee (nurse)"  # the clinician signed for that step only
        sid = session.recorder.session_id
    db = tmp_path / "vigil.sqlite3"
    with SessionStore(db, read_only=True) as store:
        changes = limit_changes(store.alarm_events(sid))
    assert [(c.rule_id, c.old, c.new, c.user) for c in changes] == [
        ("spo2-low", 90, 92, "Ann Lee (nurse)"), ("spo2-low", 92, 88, "Dr Kim (clinician)")]
    rows = [(r.actor, r.action, dict(r.detail).get("to")) for r in audit.rows(db, sid)]
    assert rows[1:] == [
        ("Ann Lee (nurse)", "limit-change", 92), ("Ann Lee (nurse)", "step-refused", None),
        ("Dr Kim (clinician)", "step-authorized", None),
        ("Dr Kim (clinician)", "limit-change", 88)]


def test_the_discharge_is_signed_by_a_clinician(qtbot, tmp_path: Path) -> None:
    def run(dialog: QDialog) -> int:
        if isinstance(dialog, SignInDialog):
            dialog.name_field.setText("Dr Kim")
            dialog.pin_field.setText("135791")
            dialog.form.submit()
            return dialog.exec()  # until the PIN is checked and the dialog accepted
        assert isinstance(dialog, DischargeDialog)
        for item in ALDRETE.items:
            dialog.set_answer(item.key, 2)
        if not dialog.confirm_early.isHidden():  # under the minimum time: confirmed
            dialog.confirm_early.click()
        dialog.accept()
        return dialog.result()

    plan = RecordingPlan((parse_spec("sim:normal?dose=0"),), 3600.0, 20.0)
    with live(qtbot, tmp_path, plan=plan, confirm=lambda _w: True,
              run_dialog=run) as (session, window, signin):
        signin.sign_in("Ann Lee", "246810")
        window.room.update_button()
        window.resize(1366, 768)  # with the lifecycle's buttons it still fits 1366 px
        qtbot.waitUntil(lambda: window.width() == 1366, timeout=3000)
        button = window.room.button
        assert button.isVisible() and button.width() >= button.MIN_WIDTH
        assert button.mapTo(window, button.rect().topRight()).x() < 1366
        assert button.toolTip() == "Ann Lee (nurse): sign out"  # whole, if shortened
        qtbot.waitUntil(lambda: window.tiles["hr"].content.live, timeout=5000)
        assert window.lifecycle.end_session()
        sid = session.recorder.session_id
    db = tmp_path / "vigil.sqlite3"
    with SessionStore(db, read_only=True) as store:
        discharge = [e for e in store.timeline(sid) if e.kind == "discharge"]
    assert [e.author for e in discharge] == ["Dr Kim (clinician)"]
    assert [(r.actor, r.action) for r in audit.rows(db, sid)][-2:] == [
        ("Dr Kim (clinician)", "step-authorized"), ("Dr Kim (clinician)", "discharge")]


def test_idle_sign_out_leaves_the_vitals_on_screen(qtbot, tmp_path: Path) -> None:
    mono = FakeMonotonic()
    with live(qtbot, tmp_path, mono=mono, idle_s=120.0) as (_session, window, signin):
        room = window.room
        qtbot.keyClick(window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(room.dialog.isActiveWindow, timeout=3000)
        qtbot.keyClicks(room.dialog.name_field, "Dr Kim")
        qtbot.keyClick(room.dialog.name_field, Qt.Key.Key_Return)
        qtbot.keyClicks(room.dialog.pin_field, "135791")
        qtbot.keyClick(room.dialog.pin_field, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: signin.current is not None, timeout=10000)
        assert signin.author() == "Dr Kim (clinician)"
        qtbot.waitUntil(lambda: window.tiles["hr"].content.live, timeout=5000)
        mono.t += 100
        qtbot.keyClick(window, Qt.Key.Key_F)  # input: the idle time starts again
        mono.t += 100
        assert room.watch.check() is None and signin.current is not None
        mono.t += 21
        qtbot.waitUntil(lambda: signin.current is None, timeout=3000)  # the 1 s timer
        assert room.button.full_text == "Sign in  [Ctrl+I]"
        # The vitals stay: live numbers in their colours, nothing over them.
        for key in ("hr", "spo2", "rr"):
            tile = window.tiles[key]
            assert tile.isVisible() and tile.content.live and tile.content.value != "--"
            assert window.childAt(tile.mapTo(window, tile.rect().center())) is tile
            area = QRect(tile.mapToGlobal(QPoint(0, 0)), tile.size())
            assert not [w for w in QApplication.topLevelWidgets() if w is not window
                        and w.isVisible() and w.frameGeometry().intersects(area)]
        assert colour_share(window.tiles["hr"], vital_colour("hr")) > 0.01
        assert window.banner.isVisible()
        # An entry with nobody signed in is taken, and names the room screen.
        qtbot.keyClick(window, Qt.Key.Key_2)
        qtbot.keyClick(window, Qt.Key.Key_Return)  # saved now (no 5 s hold)
        sid = signin.session_id
        db = tmp_path / "vigil.sqlite3"
        qtbot.waitUntil(lambda: audit.rows(db, sid)[-1].action == "entry", timeout=3000)
    with SessionStore(db, read_only=True) as store:
        (entry,) = [e for e in store.timeline(sid) if e.kind == "dissociation"]
    assert entry.author == UNIDENTIFIED_ROOM
    rows = [(r.actor, r.action, dict(r.detail)) for r in audit.rows(db, sid)]
    assert rows[-2:] == [
        ("Dr Kim (clinician)", "sign-out", {"why": "no input for 2 min"}),
        (UNIDENTIFIED_ROOM, "entry", {"entry": entry.id, "kind": "dissociation"})]


