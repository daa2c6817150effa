"""The lifecycle on a real dashboard session: baseline, end with discharge, resume."""

from __future__ import annotations

import math
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget
from ui_fakes import FakeAudioOutput

from devices.spec import parse_spec
from monitor.discharge import ALDRETE
from monitor.live import Freshness, LatestReading, Snapshot
from monitor.recorder import RecordingPlan, SessionRecorder
from monitor.session import EntryKind, SessionStatus
from monitor.store import SessionStore
from tests.helpers.qt import in_dialog
from ui.app import DashboardSession, choose_plan
from ui.dashboard import DashboardWindow
from ui.lifecycle import SessionLifecycle, baseline_data
from ui.session_dialogs import DischargeDialog, QuitChoice


class Opened:
    """A dashboard on a real session, as run_dashboard wires it."""

    def __init__(self, qtbot, tmp_path: Path, store: SessionStore, plan: RecordingPlan,
                 **lifecycle) -> None:
        self.session = DashboardSession(store, plan)
        settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
        self.window = DashboardWindow(self.session.sources(), FakeAudioOutput(), settings)
        qtbot.addWidget(self.window)
        self.window.closing.connect(self.session.stop)
        lifecycle.setdefault("ask_quit", lambda *_: QuitChoice.QUIT)
        self.lifecycle = SessionLifecycle(self.window, self.session, **lifecycle)
        self.session.start()
        self.window.resize(1920, 1080)
        self.window.show()
        self.window.start()


def _reading(key: str, value: float | None, fresh: Freshness, age: float = 1.0) -> LatestReading:
    return LatestReading(key, value, 0.0, age, fresh, "sim")


def test_baseline_takes_only_current_readings() -> None:
    readings = {k: _reading(k, None, Freshness.NONE) for k in
                ("hr", "pr", "spo2", "rr", "sbp", "dbp", "map")}
    readings |= {"hr": _reading("hr", 72.0, Freshness.CURRENT),
                 "spo2": _reading("spo2", 96.0, Freshness.STALE, 45.0),
                 "rr": _reading("rr", None, Freshness.ARTEFACT),
                 "sbp": _reading("sbp", 131.0, Freshness.CURRENT, 1000.0),
                 "dbp": _reading("dbp", 82.0, Freshness.CURRENT, 1000.0),
                 "map": _reading("map", 98.0, Freshness.CURRENT, 1000.0)}
    snap = Snapshot(100.0, MappingProxyType(readings), MappingProxyType({}), (),
                    MappingProxyType({}))
    assert baseline_data(snap) == {"hr": 72.0}  # NIBP 16 min old is not a baseline
    readings |= {k: _reading(k, v, Freshness.CURRENT, 120.0)
                 for k, v in (("sbp", 131.0), ("dbp", 82.0), ("map", 98.0))}
    snap = Snapshot(100.0, MappingProxyType(readings), MappingProxyType({}), (),
                    MappingProxyType({}))
    assert baseline_data(snap) == {"hr": 72.0, "sbp": 131.0, "dbp": 82.0, "map": 98.0,
                                   "nibp_age_s": 120.0}


def test_b_records_a_baseline_and_ending_records_the_discharge(qtbot, tmp_path: Path) -> None:
    confirms: list[bool] = []

    def confirm(_parent) -> bool:
        confirms.append(True)
        return len(confirms) > 1  # the first time the nurse keeps recording

    def fill_discharge(dialog: QDialog) -> int:
        assert isinstance(dialog, DischargeDialog)
        assert not dialog.warning.isHidden()  # esketamine-rems: under 2 h since the dose
        assert "SpO2 now" in dialog.ctx.hints["spo2"]
        for item in ALDRETE.items:
            dialog.set_answer(item.key, 2)
        dialog.confirm_early.click()  # early: the nurse confirms
        dialog.accept()
        return dialog.result()

    plan = RecordingPlan((parse_spec("sim:normal?dose=0"),), 3600.0, 1.0,
                         preset="esketamine-rems")
    with SessionStore(tmp_path / "v.sqlite3") as store:
        o = Opened(qtbot, tmp_path, store, plan, confirm=confirm, run_dialog=fill_discharge)
        try:
            qtbot.waitUntil(lambda: o.window.tiles["hr"].content.live, timeout=5000)
            qtbot.keyClick(o.window, Qt.Key.Key_B)
            qtbot.waitUntil(lambda: o.lifecycle.last_baseline is not None, timeout=2000)
            assert o.lifecycle.status.text().startswith("Baseline ")
            o.window.close()  # quit without ending: the session stays interrupted
            o = Opened(qtbot, tmp_path, store, plan, confirm=confirm,
                       run_dialog=fill_discharge)
            qtbot.waitUntil(lambda: o.window.tiles["hr"].content.live, timeout=5000)
            qtbot.keyClick(o.window, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
            assert not o.lifecycle.is_ended  # "Keep recording"
            assert o.lifecycle.end_session() is True
            assert o.lifecycle.is_ended and o.window.ended
            assert o.window.dose_label.text().startswith("SESSION ENDED")
            assert o.window.audio.sounding is None and not o.window.banner.alarms
            assert o.lifecycle.act_new.isEnabled()
            assert o.lifecycle.capture_baseline() is None  # nothing more is recorded
            assert o.lifecycle.end_session() is False
            with qtbot.waitSignal(o.lifecycle.newSessionRequested, timeout=1000):
                qtbot.keyClick(o.window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
        finally:
            o.window.close()
        first, second = store.list_sessions()
        baseline = store.timeline(first.id)[-1]
        [discharge] = store.load_session(second.id).entries_of(EntryKind.DISCHARGE)
        events = store.alarm_events(second.id)
    assert baseline.kind == EntryKind.BASELINE and baseline.author == "unidentified staff"
    assert set(baseline.data) <= {"hr", "pr", "spo2", "rr"} and "hr" in baseline.data
    assert 30 <= baseline.data["hr"] <= 200 and not any(math.isnan(v) for v in
                                                        baseline.data.values())
    assert first.status is SessionStatus.INTERRUPTED  # quit without a discharge
    assert second.status is SessionStatus.COMPLETED
    assert discharge.data["scale"] == "aldrete" and discharge.data["score"] == 10
    assert discharge.data["ready_t_s"] <= discharge.t_s + 1
    # The alarm engine judged the discharge against the REMS two hours.
    assert any(e.alarm is not None and e.alarm.key.startswith("min-monitoring")
               for e in events)


def test_resuming_from_the_prompt_shows_the_earlier_trend_and_the_gap(qtbot,
                                                                      tmp_path: Path) -> None:
    with SessionStore(tmp_path / "v.sqlite3") as store:
        rec = SessionRecorder(store, RecordingPlan((parse_spec("sim:normal?dose=30"),), 120.0,
                                                   None))
        rec.start()
        rec.wait()
        end = store.list_sessions()[0].end_wall
        store.end_session(rec.session_id, SessionStatus.INTERRUPTED, end)  # as a crash would

        in_dialog(QMessageBox, lambda box: box.defaultButton().click())
        plan = choose_plan(store, RecordingPlan((parse_spec("sim"),), 3600.0, 1.0))
        assert plan is not None and plan.resume_session_id == rec.session_id
        o = Opened(qtbot, tmp_path, store, plan)
        try:
            gap = o.session.recorder.resumed_gap
            assert gap is not None
            qtbot.waitUntil(lambda: o.window.tiles["hr"].content.live, timeout=5000)
            t, v = o.session.trends.series("hr")
            old = t <= gap[0]
            assert np.count_nonzero(old & ~np.isnan(v)) >= 100  # the earlier 2 minutes
            i = np.count_nonzero(old)  # then a break, then the new data
            assert np.isnan(v[i - 1]) and not np.isnan(v[i - 2]) and t[i] >= gap[1] - 0.2
            assert o.session.trends.dose_start_s() == 30.0
            assert o.window.dose_label.text().startswith("Dose +")
            assert any(m.kind == EntryKind.NOTE for m in o.session.trends.marks())
        finally:
            o.window.close()
        [summary] = store.list_sessions()
    assert summary.status is SessionStatus.INTERRUPTED  # closed without a discharge


def _run_app(monkeypatch, tmp_path: Path, steps, **kwargs) -> int:
    """run_dashboard as `python main.py` runs it; `steps(app)` drives it from a timer."""
    import signal

    from ui_fakes import FakeAudioOutput as Audio

    import ui.app as app_module

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    monkeypatch.setattr(app_module, "DashboardWindow",
                        lambda *a, **k: DashboardWindow(*a, settings=settings, **k))
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    QTimer.singleShot(0, steps)
    try:
        return app_module.run_dashboard(tmp_path / "v.sqlite3", RecordingPlan(
            (parse_spec("sim"),), 3600.0, 1.0), audio=Audio, **kwargs)
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)


def _dashboards() -> list[DashboardWindow]:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, DashboardWindow) and w.isVisible()]


def _click_when_asked(button: str) -> None:
    """Clicks `button` (its text's start) on the next modal box, once it is up."""
    in_dialog(QMessageBox, lambda box: next(
        b for b in box.buttons() if b.text().startswith(button)).click(), every_ms=20)


def _quit(window: DashboardWindow) -> None:
    """Ctrl+Q's path, answered "Quit, leave it interrupted"."""
    _click_when_asked("Quit")
    window.close()


def test_python_main_opens_the_dialog_and_enter_starts_on_the_simulator(
        qtbot, monkeypatch, tmp_path: Path) -> None:
    seen: list[str] = []

    def enter_then_close() -> None:
        dialog = QApplication.activeModalWidget()
        seen.append(type(dialog).__name__)
        qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Return)
        QTimer.singleShot(50, close_when_open)

    def close_when_open() -> None:
        windows = _dashboards()
        if not windows:
            QTimer.singleShot(50, close_when_open)
            return
        seen.append(windows[0].dose_label.text())
        _quit(windows[0])

    assert _run_app(monkeypatch, tmp_path, enter_then_close) == 0
    assert seen[0] == "NewSessionDialog" and seen[1].startswith("Baseline")
    with SessionStore(tmp_path / "v.sqlite3", read_only=True) as store:
        [summary] = store.list_sessions()
        session = store.load_session(summary.id)
    assert session.patient.identifier == "SIM-DEMO" and session.protocol.dose_mg == 35.0
    assert summary.status is SessionStatus.INTERRUPTED  # quit without a discharge


def test_cancelling_the_dialog_records_nothing_and_no_dialog_records_at_once(
        qtbot, monkeypatch, tmp_path: Path) -> None:
    def cancel() -> None:
        QApplication.activeModalWidget().reject()

    assert _run_app(monkeypatch, tmp_path, cancel) == 0
    with SessionStore(tmp_path / "v.sqlite3", read_only=True) as store:
        assert store.list_sessions() == []

    def close_when_open() -> None:
        assert QApplication.activeModalWidget() is None  # no dialog at all
        windows = _dashboards()
        if not windows:
            QTimer.singleShot(50, close_when_open)
            return
        _quit(windows[0])

    assert _run_app(monkeypatch, tmp_path, close_when_open, dialog=False) == 0
    with SessionStore(tmp_path / "v.sqlite3", read_only=True) as store:
        [summary] = store.list_sessions()
    assert summary.patient is None and summary.status is SessionStatus.INTERRUPTED


def test_after_the_end_ctrl_n_starts_the_next_session_in_a_new_window(
        qtbot, monkeypatch, tmp_path: Path) -> None:
    from monitor.discharge import entry_data

    opened: list[DashboardWindow] = []

    def accept_dialog() -> None:
        def enter(dialog: QWidget) -> None:
            qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Return)
            QTimer.singleShot(50, on_window)
        in_dialog(QWidget, enter, every_ms=20)

    def on_window() -> None:
        windows = [w for w in _dashboards() if w not in opened]
        if not windows:
            QTimer.singleShot(50, on_window)
            return
        window = windows[0]
        opened.append(window)
        if len(opened) == 2:
            _quit(window)
            return
        lifecycle = window.findChild(SessionLifecycle)
        lifecycle.record_discharge(entry_data(ALDRETE, {i.key: 2 for i in ALDRETE.items},
                                              0.0))
        QTimer.singleShot(0, accept_dialog)  # the next new-session dialog
        lifecycle.act_new.trigger()  # Ctrl+N (the key itself: the test above)

    assert _run_app(monkeypatch, tmp_path, accept_dialog) == 0
    assert len(opened) == 2 and not opened[0].isVisible()
    with SessionStore(tmp_path / "v.sqlite3", read_only=True) as store:
        first, second = store.list_sessions()
        assert store.load_session(first.id).entries_of(EntryKind.DISCHARGE)
    assert first.status is SessionStatus.COMPLETED
    assert second.status is SessionStatus.INTERRUPTED  # quit without a discharge


def test_main_dashboard_options_reach_run_dashboard(monkeypatch, tmp_path: Path) -> None:
    import main
    import ui.app as app_module

    calls: list[tuple[RecordingPlan, bool]] = []

    signouts: list[float] = []

    def fake_run(_path, plan, kiosk=False, dialog=True, watchdog=(), hl7=None,
                 signout_after_s=0.0, central=None):
        assert central is None  # no --room: the dashboard publishes nothing
        assert hl7 is None  # no --hl7: no feed
        calls.append((plan, dialog))
        signouts.append(signout_after_s)
        return 0

    import signal

    monkeypatch.setattr(app_module, "run_dashboard", fake_run)
    db = str(tmp_path / "v.sqlite3")
    sigterm = signal.getsignal(signal.SIGTERM)  # main() installs its own handler
    try:
        assert main.main(["dashboard", "--db", db]) == 0
        assert main.main(["dashboard", "--db", db, "--no-dialog", "--preset",
                          "esketamine-rems", "--patient", "AB"]) == 0
        assert main.main(["dashboard", "--db", db, "--no-dialog", "--signout-after",
                          "2.5"]) == 0  # as `make run`, with a site's sign-out time
    finally:
        signal.signal(signal.SIGTERM, sigterm)
    (plain, asked), (unattended, not_asked), (make_run, _) = calls
    assert signouts == [600.0, 600.0, 150.0]  # 10 min by default (staff sign-in)
    # `make run` names the simulated patient (the header shows it), not an unnamed session.
    assert (make_run.patient.identifier, make_run.patient.weight_kg) == ("SIM-DEMO", 70.0)
    assert (make_run.protocol.dose_mg, make_run.protocol.infusion_min) == (35.0, 40.0)
    assert plain.patient.identifier is None  # the dialog asks for it
    assert asked is True and not_asked is False
    assert [s.text for s in plain.specs] == ["sim"] and plain.preset == "iv-ketamine"
    assert unattended.preset == "esketamine-rems" and unattended.patient.identifier == "AB"


def test_ctrl_q_while_recording_asks_and_quitting_leaves_it_interrupted(qtbot,
                                                                         tmp_path: Path) -> None:
    answers = [QuitChoice.KEEP, QuitChoice.QUIT]
    asked: list[int] = []

    def ask_quit(session_id: int, _parent) -> str:
        asked.append(session_id)
        return answers[len(asked) - 1]

    plan = RecordingPlan((parse_spec("sim"),), 3600.0, 1.0)
    with SessionStore(tmp_path / "v.sqlite3") as store:
        o = Opened(qtbot, tmp_path, store, plan, ask_quit=ask_quit)
        try:
            qtbot.waitUntil(lambda: o.window.tiles["hr"].content.live, timeout=5000)
            qtbot.keyClick(o.window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
            assert asked == [o.session.recorder.session_id]
            assert o.window.isVisible() and not o.lifecycle.is_ended  # kept recording
            assert store.list_sessions()[0].status is SessionStatus.ACTIVE
            qtbot.keyClick(o.window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
            assert len(asked) == 2 and not o.window.isVisible()
        finally:
            o.window.close()
        [summary] = store.list_sessions()
    assert summary.status is SessionStatus.INTERRUPTED and summary.end_wall is not None


def test_header_shows_the_patient_the_session_and_dosing_at_the_dose_start(
        qtbot, tmp_path: Path, shots_dir: Path) -> None:
    """No protocol given (as `make run`), a simulator that never doses: the nurse's D."""
    from monitor.session import Patient

    plan = RecordingPlan((parse_spec("sim:normal?dose=100000"),), 3600.0, 1.0,
                         Patient("J.D. 4711"))
    with SessionStore(tmp_path / "v.sqlite3") as store:
        store.create_session(Patient("other"), plan.protocol, None, 0.0)  # session 1
        o = Opened(qtbot, tmp_path, store, plan)
        try:
            qtbot.waitUntil(lambda: o.window.tiles["hr"].content.live, timeout=5000)
            assert o.window.patient_label.text() == "J.D. 4711"
            assert o.window.session_label.text().startswith("Session 2  ")
            assert o.window.dose_label.text() == "Baseline  ·  no dose yet"
            qtbot.keyClick(o.window, Qt.Key.Key_D)
            qtbot.keyClick(o.window, Qt.Key.Key_Return)  # saved now, not in 5 s
            qtbot.waitUntil(lambda: o.session.trends.dose_start_s() is not None, timeout=3000)
            o.window.refresh()
            assert o.window.dose_label.text().endswith("·  DOSING")
            # It can be seen: the patient's name is drawn, bright, at the header's left.
            shot = o.window.grab().toImage()
            label = o.window.patient_label
            r = QRect(label.mapTo(o.window, QPoint(0, 0)), label.size())
            bright = sum(1 for x in range(r.left(), r.right(), 2)
                         for y in range(r.top(), r.bottom(), 2)
                         if shot.pixelColor(x, y).lightness() > 180)
            assert r.left() < 40 and bright > 30
            # For the README: the header and the tiles under it.
            o.window.grab(QRect(0, 0, o.window.width(), 460)).save(
                str(shots_dir / "header-patient.png"))
        finally:
            o.window.close()


def test_an_early_discharge_names_what_is_not_met_and_is_stored(qtbot, tmp_path: Path) -> None:
    from monitor.session import DoseProtocol, Route

    shown: list[list[str]] = []

    def discharge_now(dialog: QDialog) -> int:
        assert isinstance(dialog, DischargeDialog)
        shown.append(list(dialog.unmet))
        for item in ALDRETE.items:
            dialog.set_answer(item.key, 2)
        dialog.accept()
        assert dialog.data is None  # not without the confirmation
        dialog.confirm_early.click()
        dialog.accept()
        return dialog.result()

    plan = RecordingPlan((parse_spec("sim:normal?dose=100000"),), 3600.0, 1.0,
                         protocol=DoseProtocol("ketamine", Route.IV, 35.0, 40.0))
    with SessionStore(tmp_path / "v.sqlite3") as store:
        o = Opened(qtbot, tmp_path, store, plan, confirm=lambda _p: True,
                   run_dialog=discharge_now)
        try:
            qtbot.waitUntil(lambda: o.window.tiles["hr"].content.live, timeout=5000)
            qtbot.keyClick(o.window, Qt.Key.Key_D)
            qtbot.keyClick(o.window, Qt.Key.Key_Return)
            qtbot.waitUntil(lambda: o.session.trends.dose_start_s() is not None, timeout=3000)
            assert o.lifecycle.end_session() is True
        finally:
            o.window.close()
        [discharge] = store.load_session(1).entries_of(EntryKind.DISCHARGE)
    assert shown == [["the dose has not stopped (no Dose stop entered)",
                      "the patient has not left the expected peak (until 50 min after the "
                      "dose start)"]]
    assert discharge.data["early_discharge"] == "; ".join(shown[0])


def test_record_and_dashboard_take_the_same_session_fields(monkeypatch, tmp_path: Path) -> None:
    import main
    import ui.app as app_module

    fields = ["--patient", "AB", "--weight", "80", "--drug", "esketamine", "--route",
              "intranasal", "--dose-mg", "56", "--lot", "L7"]
    plans = []
    monkeypatch.setattr(app_module, "run_dashboard",
                        lambda _path, plan, **_kw: plans.append(plan) or 0)
    import signal

    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        assert main.main(["dashboard", "--db", str(tmp_path / "v"), *fields]) == 0
    finally:
        signal.signal(signal.SIGTERM, sigterm)
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "main.py", "record", "--device", "sim", "--duration",
                           "5", "--speed", "max", "--db", str(tmp_path / "r.sqlite3"), *fields],
                          cwd=Path(main.__file__).parent, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    with SessionStore(tmp_path / "r.sqlite3", read_only=True) as store:
        recorded = store.load_session(1)
    [dash] = plans
    assert (dash.patient, dash.protocol) == (recorded.patient, recorded.protocol)
    assert recorded.patient.weight_kg == 80.0 and recorded.protocol.lot == "L7"
    assert str(recorded.protocol.route) == "intranasal" and recorded.protocol.dose_mg == 56.0


def test_a_device_that_cannot_be_opened_says_which_path_and_why(qtbot, tmp_path: Path) -> None:
    plan = RecordingPlan((parse_spec("sim"), parse_spec("masimo:/dev/ttyUSB9")), 3600.0, 1.0)
    with SessionStore(tmp_path / "v.sqlite3") as store:
        o = Opened(qtbot, tmp_path, store, plan)
        try:
            label = o.window.device_label
            qtbot.waitUntil(lambda: "masimo: no device at /dev/ttyUSB9" in label.text(),
                            timeout=5000)
            assert "sim: streaming" in label.text()
            # Seen: drawn in the header, in the caution colour.
            from alarms.model import Priority
            from ui.theme import ALARM_COLOURS

            shot = o.window.grab().toImage()
            r = QRect(label.mapTo(o.window, QPoint(0, 0)), label.size())
            yellow = ALARM_COLOURS[Priority.MEDIUM]
            hits = sum(1 for x in range(r.left(), r.right(), 2)
                       for y in range(r.top(), r.bottom(), 2)
                       if abs(shot.pixelColor(x, y).red() - yellow.red()) < 40
                       and abs(shot.pixelColor(x, y).green() - yellow.green()) < 40
                       and abs(shot.pixelColor(x, y).blue() - yellow.blue()) < 60)
            assert r.right() <= o.window.width() and hits > 20
            o.window.resize(1366, 768)  # the long reason never widens a small screen's window
            qtbot.waitUntil(lambda: o.window.width() == 1366, timeout=2000)
            assert o.window.minimumSizeHint().width() <= 1366
        finally:
            o.window.close()


def _numerics(window: DashboardWindow) -> QRect:
    """The header, the alarm banner and the tiles, in global coordinates."""
    area = QRect()
    for w in (window.session_label, window.banner, *window.tiles.values()):
        area = area.united(QRect(w.mapToGlobal(QPoint(0, 0)), w.size()))
    return area


@pytest.mark.qt_log_ignore("This plugin does not support raise",
                           "This plugin does not support propagateSizeHints")
def test_dialogs_open_clear_of_the_numerics_and_the_browser_closes_with_esc(
        qtbot, tmp_path: Path, shots_dir: Path) -> None:
    from PySide6.QtGui import QPainter

    plan = RecordingPlan((parse_spec("sim:normal?dose=100000"),), 3600.0, 1.0)
    placed: dict[str, QRect] = {}

    def note_modal(name: str, then=None) -> None:
        def look(box: QWidget) -> None:
            placed[name] = box.frameGeometry()
            box.reject()
        in_dialog(QWidget, look)

    with SessionStore(tmp_path / "v.sqlite3") as store:
        o = Opened(qtbot, tmp_path, store, plan)
        w = o.window
        try:
            qtbot.waitUntil(lambda: w.tiles["hr"].content.live, timeout=5000)
            numerics = _numerics(w)
            qtbot.keyClick(w, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
            placed["limits"] = w.limits_dialog.frameGeometry()
            # The screenshot for the README: the limits dialog where it opens.
            shot = w.grab()
            painter = QPainter(shot)
            painter.drawPixmap(w.limits_dialog.geometry().topLeft() - w.geometry().topLeft(),
                               w.limits_dialog.grab())
            painter.end()
            shot.save(str(shots_dir / "dialog-placement.png"))
            w.limits_dialog.close()
            qtbot.keyClick(w, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
            placed["devices"] = w.devices_panel.frameGeometry()
            w.devices_panel.close()

            def key(k: Qt.Key, mod=Qt.KeyboardModifier.NoModifier) -> None:
                w.activateWindow()  # back from a modal dialog
                qtbot.waitUntil(w.isActiveWindow, timeout=2000)
                qtbot.keyClick(w, k, mod)

            note_modal("cadss")
            key(Qt.Key.Key_C)
            key(Qt.Key.Key_D)  # an entry to edit
            key(Qt.Key.Key_Return)
            note_modal("entry editor")
            key(Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
            note_modal("end session?")
            key(Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
            w.act_browse.trigger()  # Ctrl+O
            browser = w.browser
            assert browser is not None and browser.isVisible()
            placed["past sessions"] = browser.frameGeometry()
            qtbot.waitUntil(browser.isActiveWindow, timeout=2000)
            qtbot.keyClick(browser.focusWidget() or browser, Qt.Key.Key_Escape)
            assert not browser.isVisible()
        finally:
            w.close()
    assert set(placed) == {"limits", "devices", "cadss", "entry editor", "end session?",
                           "past sessions"}
    covering = {name: r for name, r in placed.items() if r.intersects(numerics)}
    assert covering == {}, (numerics, covering)


def test_no_dialog_resumes_without_asking_and_says_so_on_the_dashboard(
        qtbot, monkeypatch, tmp_path: Path) -> None:
    with SessionStore(tmp_path / "v.sqlite3") as store:
        rec = SessionRecorder(store, RecordingPlan((parse_spec("sim"),), 30.0, None))
        rec.start()
        rec.wait()
        end = store.list_sessions()[0].end_wall
        store.end_session(rec.session_id, SessionStatus.INTERRUPTED, end)  # as a crash would
    seen: list[tuple[str, str]] = []
    fits: list[bool] = []

    def look_then_quit() -> None:
        assert QApplication.activeModalWidget() is None  # nothing asked
        windows = _dashboards()
        if not windows:
            QTimer.singleShot(50, look_then_quit)
            return
        status = windows[0].findChild(SessionLifecycle).status
        seen.append((status.text(), status.styleSheet()))
        box = status.contentsRect()  # the whole notice fits its label: nothing cut
        need = status.fontMetrics().boundingRect(box, Qt.TextFlag.TextWordWrap, status.text())
        fits.append(need.width() <= box.width() and need.height() <= box.height())
        _quit(windows[0])

    assert _run_app(monkeypatch, tmp_path, look_then_quit, dialog=False) == 0
    with SessionStore(tmp_path / "v.sqlite3", read_only=True) as store:
        [summary] = store.list_sessions()  # the same session, resumed: no new one
    [(text, style)] = seen
    assert text.startswith("Resumed session 1 without asking (--no-dialog): it stopped "
                           "unexpectedly at ")
    from alarms.model import Priority
    from ui.theme import ALARM_COLOURS

    assert style == f"color: {ALARM_COLOURS[Priority.MEDIUM].name()};"  # stands out
    assert fits == [True]
    assert summary.status is SessionStatus.INTERRUPTED
