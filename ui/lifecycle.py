"""The session lifecycle on the dashboard: baseline capture, ending with a discharge, and
starting the next session.

`SessionLifecycle` adds its actions and two header buttons to a `DashboardWindow` and talks
to the session's recorder; the dialogs are in `ui.session_dialogs`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QSizePolicy, QWidget

from alarms.model import Priority
from monitor.live import Freshness, Snapshot
from monitor.session import EntryKind, Route, SessionStatus
from monitor.vitals import NIBP_KEYS, VITALS
from ui.dashboard import USER, DashboardWindow
from ui.placement import place_clear_of_numerics
from ui.session_dialogs import (
    DischargeContext,
    DischargeDialog,
    QuitChoice,
    confirm_end,
    confirm_quit,
)
from ui.theme import ALARM_COLOURS, named

if TYPE_CHECKING:
    from ui.app import DashboardSession

# Design choice: an NIBP reading older than the longest scheduled interval (15 min, §11.2)
# is not a baseline reading.
NIBP_BASELINE_MAX_AGE_S = 15 * 60.0
BASELINE_VITALS = ("hr", "spo2", "pr", "rr")


def baseline_data(snap: Snapshot) -> dict[str, float]:
    """The CURRENT readings only (never a stale, artefact or missing value); NIBP when its
    reading is recent enough, with its age."""
    data: dict[str, float] = {}
    for key in BASELINE_VITALS:
        r = snap.readings[key]
        if r.freshness is Freshness.CURRENT and r.value is not None:
            data[key] = r.value
    nibp = [snap.readings[k] for k in NIBP_KEYS]
    if all(r.freshness is Freshness.CURRENT and r.value is not None for r in nibp[:2]):
        age = nibp[0].age_s or 0.0
        if age <= NIBP_BASELINE_MAX_AGE_S:
            for r in nibp:
                if r.freshness is Freshness.CURRENT and r.value is not None:
                    data[r.vital] = r.value
            data["nibp_age_s"] = round(age, 1)
    return data


def baseline_text(data: dict[str, float]) -> str:
    parts = [f"{VITALS[k].label} {VITALS[k].format(data[k])}" for k in BASELINE_VITALS
             if k in data]
    if "sbp" in data:
        parts.append(f"NIBP {VITALS['sbp'].format(data['sbp'])}/"
                     f"{VITALS['dbp'].format(data['dbp'])} "
                     f"({int(data['nibp_age_s'] // 60)} min ago)")
    return ", ".join(parts)


def _pct(now: float, before: float) -> str:
    return f"{(now - before) / before * 100:+.0f} %"


class SessionLifecycle(QObject):
    """Baseline [B], End session [Ctrl+End], New session [Ctrl+N] (after the end)."""

    ended = Signal()
    newSessionRequested = Signal()

    def __init__(self, window: DashboardWindow, session: DashboardSession,
                 author: str = USER,
                 confirm: Callable[[QWidget], bool] = confirm_end,
                 run_dialog: Callable[[QDialog], int] = QDialog.exec,
                 ask_quit: Callable[[int, QWidget], str] = confirm_quit) -> None:
        super().__init__(window)
        self.window = window
        self.session = session
        self.author = author
        self._confirm = confirm
        self._run = run_dialog
        self._ask_quit = ask_quit
        window.confirm_close = self.may_close
        self.last_baseline: dict[str, float] | None = None
        self.status = named(QLabel(""), "headerDim")
        # The status never widens the window (1366 px screens): it takes the room left.
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.setMinimumWidth(0)
        self.status.setWordWrap(True)  # a long notice takes two lines, never cut mid-word
        self.baseline_button = QPushButton("Baseline  [B]")
        self.end_button = QPushButton("End session  [Ctrl+End]")
        self.new_button = QPushButton("New session  [Ctrl+N]")
        self.new_button.hide()  # shown once the session has ended
        for b in (self.baseline_button, self.end_button, self.new_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setFixedHeight(44)
        self.baseline_button.clicked.connect(self.capture_baseline)
        self.end_button.clicked.connect(self.end_session)
        self.new_button.clicked.connect(self.newSessionRequested.emit)
        bar = window.trend_bar
        at = 3  # after "Session trend" and the window length
        bar.insertWidget(at, self.status, 1)
        for w in (self.new_button, self.end_button, self.baseline_button):
            bar.insertSpacing(at, 16)
            bar.insertWidget(at, w)
        bar.insertSpacing(at, 16)
        self.act_baseline = self._action("Capture baseline", "B", self.capture_baseline)
        self.act_end = self._action("End session", "Ctrl+End", self.end_session)
        self.act_new = self._action("New session", "Ctrl+N", self.newSessionRequested.emit)
        self.act_new.setEnabled(False)

    def _action(self, text: str, key: str, slot: Callable[[], object]) -> QAction:
        action = QAction(text, self.window)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    @property
    def is_ended(self) -> bool:
        return self.session.recorder.finished

    def announce(self, text: str) -> None:
        """A notice for the nurse beside the lifecycle buttons (e.g. resumed unasked)."""
        self.status.setText(text)
        self.status.setToolTip(text)
        self.status.setStyleSheet(f"color: {ALARM_COLOURS[Priority.MEDIUM].name()};")

    def may_close(self) -> bool:
        """Asked before the window closes (Ctrl+Q, the window's close button): while the
        session records, the nurse confirms; quitting leaves it `interrupted`, never
        completed. False: the window stays open."""
        if self.is_ended:
            return True
        choice = self._ask_quit(self.session.recorder.session_id, self.window)
        if choice == QuitChoice.QUIT:
            self.session.stop(SessionStatus.INTERRUPTED)
            return True
        if choice == QuitChoice.END:
            self.end_session()
        return False  # kept recording, or ended: the window stays (New session next)

    # -- baseline ------------------------------------------------------------------------

    def capture_baseline(self) -> int | None:
        """A BASELINE entry with the current readings; None (and says why) if none is
        current or the session has ended."""
        if self.is_ended:
            return None
        rec = self.session.recorder
        data = baseline_data(rec.live.snapshot(rec.clock.now()))
        if not data:
            self.status.setText("No baseline: no current reading")
            return None
        entry_id = rec.add_entry(EntryKind.BASELINE, dict(data), self._who())
        self.last_baseline = data
        self.status.setText(f"Baseline recorded {time.strftime('%H:%M')}")
        self.status.setToolTip(baseline_text(data))
        return entry_id

    # -- the end ---------------------------------------------------------------------------

    def discharge_context(self) -> DischargeContext:
        rec = self.session.recorder
        now = rec.clock.now()
        snap = rec.live.snapshot(now)
        hints: dict[str, str] = {}
        spo2 = snap.readings["spo2"]
        if spo2.freshness is Freshness.CURRENT and spo2.value is not None:
            hints["spo2"] = f"SpO2 now {VITALS['spo2'].format(spo2.value)} %"
        before = self._pre_dose_bp()
        sbp, dbp = snap.readings["sbp"], snap.readings["dbp"]
        if sbp.value is not None and dbp.value is not None and sbp.freshness is \
                Freshness.CURRENT:
            text = (f"last NIBP {VITALS['sbp'].format(sbp.value)}/"
                    f"{VITALS['dbp'].format(dbp.value)} ({int((sbp.age_s or 0) // 60)} min ago)")
            if before is not None:
                text += (f"; pre-dose {before[0]:.0f}/{before[1]:.0f}: systolic "
                         f"{_pct(sbp.value, before[0])}, diastolic {_pct(dbp.value, before[1])}")
            hints["circulation"] = hints["vitals"] = text
        trends = self.session.trends
        # Only an infusion has a stop to wait for (IM, sublingual, a spray are given at once).
        infusion = (rec.plan.protocol.route or Route.IV) is Route.IV
        return DischargeContext(rec.clock.wall0, now, trends.dose_start_s(),
                                rec.plan.preset, hints, trends.phases(now),
                                infusion and trends.dose_running())

    def _pre_dose_bp(self) -> tuple[float, float] | None:
        dose = self.session.trends.dose_start_s()
        if dose is None:
            return None
        t_s, sys_v = self.session.trends.series("sbp")
        t_d, dia_v = self.session.trends.series("dbp")
        before = [i for i in range(min(len(t_s), len(t_d))) if t_s[i] < dose
                  and sys_v[i] == sys_v[i] and dia_v[i] == dia_v[i]]
        return (float(sys_v[before[-1]]), float(dia_v[before[-1]])) if before else None

    def end_session(self) -> bool:
        """Confirm, the discharge checklist, then the recording ends (completed). False if
        the nurse kept recording."""
        if self.is_ended or not self._confirm(self.window):
            return False
        signer = self._discharge_signer()
        if signer is None:
            self.status.setText("Discharge not signed: it needs a clinician to sign in; "
                                "still recording")
            return False
        dialog = DischargeDialog(self.discharge_context(), self.window)
        place_clear_of_numerics(dialog, self.window)
        if self._run(dialog) != QDialog.DialogCode.Accepted or dialog.data is None:
            return False
        self.record_discharge(dialog.data, signer)
        return True

    def _who(self) -> str:
        """Whoever is signed in at the room screen (the author given, without sign-in)."""
        return self.window.who() if self.window.room is not None else self.author

    def _discharge_signer(self) -> str | None:
        """Signing the discharge needs a clinician once the store has accounts."""
        room = self.window.room
        if room is None:
            return self.author
        return room.authorize_clinician("signing the discharge", self._run)

    def record_discharge(self, data: dict[str, Any], author: str | None = None) -> None:
        """Stores the DISCHARGE entry (the alarm engine checks the minimum monitoring time on
        it), then ends the recording and shows that it ended."""
        rec = self.session.recorder
        rec.add_entry(EntryKind.DISCHARGE, data, author or self._who())
        self.session.stop(SessionStatus.COMPLETED)
        ended = time.strftime("%H:%M", time.localtime(rec.clock.wall()))
        self.window.session_ended(f"SESSION ENDED {ended}: not recording")
        self.status.setText("")
        self.baseline_button.hide()
        self.end_button.hide()
        self.new_button.show()
        self.act_new.setEnabled(True)
        self.ended.emit()
