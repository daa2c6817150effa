"""Screenshots of the lifecycle views, with pixel checks: the new-session dialog, the
discharge checklist, and a resumed session's trend with its gap.

`VIGIL_SCREENSHOTS=1` saves them into docs/screenshots/ (like test_screenshots.py).
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QPoint, QPointF
from PySide6.QtGui import QColor
from ui_fakes import open_rig, session_messages, settle

from devices.spec import parse_spec
from monitor.discharge import ALDRETE
from monitor.messages import Numerics, TimelineMark
from monitor.resume import gap_note
from tests.helpers.qt import region, share_of, to_array
from ui.session_dialogs import DischargeContext, DischargeDialog, NewSessionDialog, NewSessionForm
from ui.theme import BACKGROUND, TEXT, vital_colour

GREEN = QColor("#7bd88f")
YELLOW = QColor("#ffd24a")


def test_screenshot_new_session(qtbot, shots_dir) -> None:
    dialog = NewSessionDialog(NewSessionForm.for_specs((parse_spec("sim"),)), 8 * 3600.0)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    img = dialog.grab()
    img.save(str(shots_dir / "new-session.png"))
    shot = to_array(img.toImage())
    assert share_of(shot, BACKGROUND, 8) > 0.5  # the dashboard's dark theme, not a white box
    assert share_of(shot, TEXT, 60) > 0.005  # legible light text
    assert dialog.mg_per_kg.text() == "= 0.50 mg/kg"
    assert dialog.width() >= 700 and dialog.height() < 1000  # fits a 1366x768 screen


def test_screenshot_discharge(qtbot, shots_dir) -> None:
    wall0 = time.time() - 5400
    ctx = DischargeContext(wall0, 5400.0, 600.0, "esketamine-rems", {
        "circulation": "last NIBP 128/82 (4 min ago); pre-dose 124/80: systolic +3 %, "
                       "diastolic +2 %",
        "spo2": "SpO2 now 97 %"})
    dialog = DischargeDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    for item, score in zip(ALDRETE.items, (2, 2, 2, 1, 2), strict=True):
        dialog.set_answer(item.key, score)
    dialog.confirm_early.click()  # under 2 h: the nurse confirms the early discharge
    qtbot.wait(10)
    img = dialog.grab()
    img.save(str(shots_dir / "discharge.png"))
    shot = to_array(img.toImage())
    assert share_of(region(shot, dialog, dialog.total), GREEN, 30) > 0.02  # 9/10: meets
    assert share_of(region(shot, dialog, dialog.warning), YELLOW, 30) > 0.02  # under 2 h
    assert share_of(shot, BACKGROUND, 8) > 0.5
    assert dialog.height() < 1000


def test_screenshot_resumed_session_gap(qtbot, tmp_path, shots_dir) -> None:
    """A session resumed after a 10-minute gap: the trend has no line across it."""
    r = open_rig(qtbot, tmp_path)
    try:
        crash, back, now = 1500.0, 2100.0, 2700.0
        before = [m for m in session_messages("normal", crash) if m.t_s < crash]
        after = [m for m in session_messages("normal", now)
                 if m.t_s >= back or isinstance(m, TimelineMark)]
        r.clock.t = now
        r.feed(*before)
        r.io.call(lambda: r.trends.break_lines(crash - 1))
        note = gap_note(crash - 1, back)
        r.feed(TimelineMark("vigil", back, back, "note", tuple(note.items())),
               *[m for m in after if not isinstance(m, TimelineMark)])
        shot = settle(r, qtbot)
        r.window.grab().save(str(shots_dir / "resumed-gap.png"))
        w = r.window
        vb = w.trend.plots[0].getViewBox()
        origin = w.trend.mapTo(w, QPoint(0, 0))

        def to_window(t_s: float, value: float) -> tuple[int, int]:
            p = w.trend.mapFromScene(vb.mapViewToScene(QPointF(t_s, value)))
            return origin.x() + p.x(), origin.y() + p.y()

        hr = np.array(vital_colour("hr").getRgb()[:3])

        def hr_columns(t0: float, t1: float) -> np.ndarray:
            x0, y_top = to_window(t0, 100.0)
            x1, y_bottom = to_window(t1, 55.0)
            band = shot[y_top:y_bottom, x0:x1]
            return (np.abs(band - hr).max(axis=-1) <= 40).any(axis=0)

        assert hr_columns(crash + 60, back - 60).sum() == 0  # nothing drawn in the gap
        assert hr_columns(crash - 400, crash - 100).mean() > 0.9  # a line before it
        assert hr_columns(back + 100, now - 100).mean() > 0.9  # and after it
        hr_values = [v for m in before if isinstance(m, Numerics) for k, v in m.values
                     if k == "hr"]
        assert hr_values  # the trend was fed real values, not a blank chart
    finally:
        r.window.close()
        r.io.stop()


def test_screenshot_session_ended(qtbot, tmp_path, shots_dir) -> None:
    """The real dashboard with the lifecycle buttons, after a baseline and the discharge,
    at the smallest supported screen: every button fits, the header says it ended."""
    from PySide6.QtCore import QSettings
    from ui_fakes import FakeAudioOutput

    from monitor.discharge import entry_data
    from monitor.recorder import RecordingPlan
    from monitor.store import SessionStore
    from ui.app import DashboardSession
    from ui.dashboard import DashboardWindow
    from ui.lifecycle import SessionLifecycle

    # 120x real time: a few minutes of trend in a few seconds.
    plan = RecordingPlan((parse_spec("sim:normal?dose=60"),), 3600.0, 120.0)
    with SessionStore(tmp_path / "v.sqlite3") as store:
        session = DashboardSession(store, plan)
        settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
        window = DashboardWindow(session.sources(), FakeAudioOutput(), settings)
        qtbot.addWidget(window)
        window.closing.connect(session.stop)
        lifecycle = SessionLifecycle(window, session)
        window.resize(1366, 768)
        session.start()
        window.show()
        window.start()
        try:
            qtbot.waitUntil(lambda: window.tiles["hr"].content.live, timeout=5000)
            assert lifecycle.capture_baseline() is not None
            qtbot.waitUntil(lambda: session.recorder.clock.now() > 600, timeout=10000)
            lifecycle.record_discharge(entry_data(ALDRETE, {i.key: 2 for i in ALDRETE.items},
                                                  1.0))
            qtbot.wait(10)
            img = window.grab()
            img.save(str(shots_dir / "session-ended.png"))
            shot = to_array(img.toImage())
            assert window.width() == 1366  # nothing widened the window past the screen
            assert lifecycle.new_button.isVisible() and not lifecycle.end_button.isVisible()
            for button in (lifecycle.new_button,):
                top_left = button.mapTo(window, QPoint(0, 0))
                assert top_left.x() >= 0 and top_left.x() + button.width() <= window.width()
                assert button.width() >= button.sizeHint().width()  # the label is not cut
            ended = region(shot, window, window.dose_label)
            assert share_of(ended, YELLOW, 40) > 0.01 or share_of(ended, QColor("#ffb000"),
                                                                  60) > 0.01
            assert window.dose_label.text().startswith("SESSION ENDED")
        finally:
            window.close()
