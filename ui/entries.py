"""Quick entry on the session timeline: one key or one touch, a 5 s undo, and edits with
their history.

Keys (window shortcuts; none of A, P, F, +, -, F11, Ctrl+Q):
  0-4      dissociation level now          S then 5-0   MOAA/S now
  C        CADSS-6 form                     D            dose start / dose stop
  E        side-effect picker               I            intervention picker
  N        note                             Ctrl+E       edit the last entry (or pick one)
  Esc      undo the entry just made         Enter        save it now
  (Ctrl+Z also undoes; in the pickers and the CADSS-6 form, digits choose)

A quick entry is stamped when the key is pressed and shown dimmed on the timeline with an
"Undo" toast; it is saved 5 s later (or at once with Enter, or when the next entry is
made). An accidental key is undone with Esc and never reaches the record; after that, an
entry is corrected in the edit dialog, and the store keeps every earlier state with who
changed it and when. The dose key is held the same way, so the alarm engine never learns a
dose start that was a slip of the finger.

What is held, when it is saved and what the toast says is `monitor.quick_entry.QuickEntry`
(no Qt, tested on its own); the dialogs are in ui/entry_dialogs.py; this module is the
panel that puts them on the screen: the timeline, the entry bar, the keys and the toast.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from monitor.buffers import SessionTrends
from monitor.entry_catalog import MOAAS, rating
from monitor.quick_entry import (
    HIDE,
    SEDATION_KEY_S,
    UNDO_S,
    Pending,
    QuickEntry,
    RecorderEntries,
    Toast,
)
from monitor.session import EntryKind, TimelineEntry
from ui.bridge import Bridge
from ui.entry_dialogs import (
    CadssDialog,
    ChoiceDialog,
    EditDialog,
    NoteDialog,
    hms,
    parse_clock,
)
from ui.placement import place_clear_of_numerics
from ui.sources import EntrySink
from ui.theme import PANEL, TEXT, TEXT_DIM, named
from ui.timeline import TimelineView, checkpoints_for_preset
from ui.trend import TrendView

# Moved to monitor/quick_entry.py and ui/entry_dialogs.py; still importable from here.
__all__ = ["SEDATION_KEY_S", "UNDO_S", "CadssDialog", "ChoiceDialog", "EditDialog",
           "EntryPanel", "NoteDialog", "Pending", "RecorderEntries", "hms", "parse_clock"]

log = logging.getLogger(__name__)

REFRESH_MS = 1000
TOAST_STYLE = ("QFrame#toast {{ background: " + PANEL.name() + "; border: 2px solid {border};"
               " border-radius: 6px; }}")
BAR_STYLE = "QPushButton {{ font-size: {px}px; padding: 4px {pad}px; }}"
TOAST_LABEL = "font-size: {px}px; font-weight: bold; border: none; background: transparent;"
COMPACT_BELOW_PX = 1700  # narrower: the bar's buttons drop their key hints
TIMELINE_MIN_PX = 110  # six lanes of ~14 px and the since-dose axis (1366x768)

# -- the panel ------------------------------------------------------------------------------


class EntryPanel(QWidget):
    """The timeline under the trend, the entry bar for touch, and the quick-entry keys."""

    def __init__(self, sink: EntrySink | None, now_s: Callable[[], float],
                 trends: SessionTrends, bridge: Bridge, trend: TrendView,
                 user: Callable[[], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sink = sink
        self.now_s = now_s
        self.trends = trends
        self.user = user
        self.model = QuickEntry(sink, now_s, user, trends.marks)
        self._shown_revision = -1
        self._nibp_count = -1
        checkpoints = checkpoints_for_preset(sink.preset if sink is not None else None)
        self.timeline = TimelineView(checkpoints=checkpoints, now_s=now_s())
        trend.link_x(self.timeline.plot)
        self.timeline.entryClicked.connect(self.edit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.timeline.setMinimumHeight(TIMELINE_MIN_PX)
        layout.addWidget(self.timeline, 1)
        bar = QWidget()
        bar.setLayout(self._bar())
        # The bar never sets the window's minimum width: on a narrow screen its labels
        # shorten (resizeEvent), below that it is clipped at the right.
        bar.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        layout.addWidget(bar)
        # The toast sits over the empty middle of the trend's title row (the trend is
        # already in the window's layout), so it never hides a mark or a checkpoint.
        self._trend = trend
        self.toast = named(QFrame(trend.parentWidget() or self), "toast")
        self.toast.setStyleSheet(TOAST_STYLE.format(border=TEXT_DIM.name()))
        row = QHBoxLayout(self.toast)
        row.setContentsMargins(12, 2, 4, 2)
        self.toast_label = QLabel("")
        self.toast_label.setStyleSheet(TOAST_LABEL.format(px=22))
        row.addWidget(self.toast_label)
        self.undo_button = QPushButton("Undo [Esc]")
        self.save_button = QPushButton("Save now [Enter]")
        for btn, slot in ((self.undo_button, self.undo), (self.save_button, self.commit)):
            btn.setStyleSheet("font-size: 18px; padding: 2px 10px;")
            btn.setFixedHeight(36)
            btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            btn.clicked.connect(slot)
            row.addWidget(btn)
        self.toast.hide()
        self._toast_timer = QTimer(self, singleShot=True)
        self._toast_timer.timeout.connect(self._hide_toast)
        # One timer for the model's deadlines (the undo window, the S key's window).
        self._deadline = QTimer(self, singleShot=True)
        self._deadline.timeout.connect(self._expire)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.tick)
        bridge.timelineMarked.connect(self.on_mark)
        self.reload()

    def _bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(4)
        self._bar_buttons: list[tuple[QPushButton, str, str]] = []  # button, full, short
        self._digit_buttons: list[QPushButton] = []

        def button(text: str, slot: Callable[[], object], short: str | None = None
                   ) -> QPushButton:
            btn = QPushButton(text)
            btn.setStyleSheet(BAR_STYLE.format(px=18, pad=8))
            btn.setFixedHeight(44)
            btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            btn.clicked.connect(slot)
            bar.addWidget(btn)
            if short is None:
                btn.setFixedWidth(44)
                self._digit_buttons.append(btn)
            else:
                self._bar_buttons.append((btn, text, short))
            return btn

        self._bar_labels = [QLabel("Dissociation"), QLabel("MOAA/S [S]")]
        for label in self._bar_labels:
            label.setStyleSheet(f"font-size: 20px; color: {TEXT_DIM.name()};")
        bar.addWidget(self._bar_labels[0])
        # mypy cannot infer a lambda whose defaults bind the loop variable (the signal's
        # `checked` goes to `_`), hence the ignores.
        self.level_buttons = [button(str(n), lambda _=False, n=n: self.dissociation(n))  # type: ignore[misc]
                              for n in range(5)]
        bar.addSpacing(14)
        bar.addWidget(self._bar_labels[1])
        self.moaas_buttons = {n: button(str(n), lambda _=False, n=n: self.sedation(n))  # type: ignore[misc]
                              for n in range(5, -1, -1)}
        for n, btn in self.moaas_buttons.items():
            lv = MOAAS.level(n)
            btn.setToolTip(lv.description if lv else "")
        bar.addSpacing(14)
        self.cadss_button = button("CADSS-6 [C]", self.cadss, "CADSS")
        self.dose_button = button("Dose start [D]", self.dose_toggle, "Dose")
        self.side_button = button("Side effect [E]", lambda: self.pick(EntryKind.SIDE_EFFECT),
                                  "Side eff.")
        self.intervention_button = button("Intervention [I]",
                                          lambda: self.pick(EntryKind.INTERVENTION), "Interv.")
        self.note_button = button("Note [N]", self.note, "Note")
        self.edit_button = button("Edit [Ctrl+E]", lambda: self.edit(None), "Edit")
        bar.addStretch(1)
        return bar

    def install_shortcuts(self, window: QWidget) -> list[QAction]:
        """The quick-entry keys as window shortcuts (the dashboard's own are A, P, F, +, -,
        F11, Ctrl+Q)."""
        actions = []

        def add(text: str, keys: list[QKeySequence], slot: Callable[[], object]) -> None:
            action = QAction(text, window)
            action.setShortcuts(keys)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _checked=False: slot())
            window.addAction(action)
            actions.append(action)

        for n in range(6):
            add(f"Digit {n}", [QKeySequence(str(n)),
                               QKeySequence(Qt.KeyboardModifier.KeypadModifier
                                            | Qt.Key(ord(str(n))))],
                lambda n=n: self.digit(n))  # type: ignore[misc]  # (as the buttons' above)
        add("Sedation (MOAA/S)", [QKeySequence("S")], self.arm_sedation)
        add("CADSS-6", [QKeySequence("C")], self.cadss)
        add("Dose start / stop", [QKeySequence("D")], self.dose_toggle)
        add("Side effect", [QKeySequence("E")], lambda: self.pick(EntryKind.SIDE_EFFECT))
        add("Intervention", [QKeySequence("I")], lambda: self.pick(EntryKind.INTERVENTION))
        add("Note", [QKeySequence("N")], self.note)
        add("Edit entry", [QKeySequence("Ctrl+E")], lambda: self.edit(None))
        add("Undo entry", [QKeySequence("Esc"), QKeySequence("Ctrl+Z")], self.undo)
        add("Save entry now", [QKeySequence("Return"), QKeySequence("Enter")], self.commit)
        return actions

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        self.reload()
        self.tick()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        if self.pending is not None:
            self.commit()  # the window is closing: what was entered is kept

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        compact = self.width() < COMPACT_BELOW_PX
        if compact != getattr(self, "_compact", None):
            self._compact = compact
            style = BAR_STYLE.format(px=16, pad=5) if compact else BAR_STYLE.format(px=18,
                                                                                  pad=8)
            for btn, full, short in self._bar_buttons:
                btn.setStyleSheet(style)
                btn.setText(short if compact else full)
            for btn in self._digit_buttons:
                btn.setFixedWidth(40 if compact else 44)
            for label in self._bar_labels:
                label.setStyleSheet(f"font-size: {16 if compact else 20}px;"
                                    f" color: {TEXT_DIM.name()};")
            self.toast_label.setStyleSheet(TOAST_LABEL.format(px=18 if compact else 22))
            self._update_dose_button()
        self._place_toast()

    # -- the model's state, as the tests and the dashboard read it --------------------------

    @property
    def pending(self) -> Pending | None:
        return self.model.pending

    @property
    def last_entry_id(self) -> int | None:
        return self.model.last_entry_id

    @property
    def sedation_armed(self) -> bool:
        return self.model.sedation_armed

    @property
    def undo_s(self) -> float:
        return self.model.undo_s

    @undo_s.setter
    def undo_s(self, seconds: float) -> None:
        self.model.undo_s = seconds

    # -- feeding the timeline ------------------------------------------------------------

    def entries(self) -> tuple[TimelineEntry, ...]:
        """The entries as the model reads them now (stored, or the display's marks)."""
        return self.model.entries()

    def reload(self) -> None:
        self.model.reload()
        self._sync()

    def on_mark(self, msg: object) -> None:
        self.model.on_mark(msg)
        self._sync()

    def tick(self) -> None:
        """Once a second: the now line, the dosing band, the NIBP readings (checkpoints)."""
        now = self.now_s()
        times, _ = self.trends.series("sbp")
        if len(times) != self._nibp_count:
            self._nibp_count = len(times)
            self.timeline.set_nibp_times(times.tolist())
        dosing = tuple(p for p in self.model.phases(now) if p.name == "dosing")
        if dosing != self.timeline.phases:
            self.timeline.set_phases(dosing)
        self.timeline.set_now(now)
        bp_passed = self._bp_window_passed(now)
        if bp_passed != getattr(self, "_bp_passed", None):
            self._bp_passed = bp_passed
            self.timeline.redraw(force=True)

    def _bp_window_passed(self, now: float) -> bool:
        dose = next((e.t_s for e in self.timeline.entries if e.kind == EntryKind.DOSE_START),
                    None)
        c = self.timeline.checkpoints
        return dose is not None and now > dose + c.bp_after_dose_s + c.bp_window_s

    def _sync(self) -> None:
        """The timeline, the held entry, the dose button and the deadline timer as the
        model has them now."""
        m = self.model
        if m.revision != self._shown_revision:
            self._shown_revision = m.revision
            self.timeline.set_entries(m.shown)
        if m.pending != self.timeline.pending:
            self.timeline.set_pending(m.pending)
        self._update_dose_button()
        due = m.next_deadline()
        if due is None:
            self._deadline.stop()
        else:  # never early: a coarse timer may fire up to 5 % early, so it is re-armed
            self._deadline.start(max(0, math.ceil((due - m.clock()) * 1000)))

    def _act(self, toast: Toast | None) -> None:
        self._sync()
        if toast is HIDE:
            self._hide_toast()
        elif toast is not None:
            self._show_toast(toast.text, undo=toast.undo, seconds=toast.seconds)

    def _expire(self) -> None:
        self._act(self.model.expire())

    # -- quick entry ---------------------------------------------------------------------

    def digit(self, n: int) -> None:
        self._act(self.model.digit(n))

    def dissociation(self, level: int) -> None:
        self._act(self.model.dissociation(level))

    def sedation(self, score: int) -> None:
        self._act(self.model.sedation(score))

    def arm_sedation(self) -> None:
        self._act(self.model.arm_sedation())

    def dose_toggle(self) -> None:
        self._act(self.model.dose_toggle())

    def pick(self, kind: str) -> None:
        t = self.now_s()  # the time of the key press, not of the choice
        dialog = ChoiceDialog(kind, self)
        if self._run(dialog) and dialog.result_data is not None:
            self.propose(kind, dialog.result_data, t)

    def note(self) -> None:
        t = self.now_s()
        dialog = NoteDialog(self)
        if self._run(dialog) and dialog.note():
            self.propose(EntryKind.NOTE, {"text": dialog.note()}, t)

    def cadss(self) -> None:
        t = self.now_s()
        dialog = CadssDialog(self)
        if self._run(dialog):
            self.propose(*rating("cadss6", None, dialog.items()), t)

    def _run(self, dialog: QDialog) -> bool:
        """Runs a modal dialog (clear of the numerics); afterwards the window has the keys
        again."""
        place_clear_of_numerics(dialog, self.window())
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        dialog.deleteLater()
        self.window().activateWindow()
        return accepted

    def propose(self, kind: str, data: Any, t_s: float | None = None) -> None:
        """Holds an entry for the undo window (saving the one before it first)."""
        self._act(self.model.propose(kind, data, t_s))

    def commit(self) -> int | None:
        """Saves the held entry now; its id (None if nothing was held or saving failed)."""
        held = self.model.pending
        self._act(self.model.commit())
        return self.model.last_entry_id if held is not None and self.model.pending is None \
            else None

    def undo(self) -> None:
        self._act(self.model.undo())

    def edit(self, entry_id: int | None) -> None:
        """The edit dialog on `entry_id` (None: the last entry made here, else the latest)."""
        if self.sink is None:
            return
        if self.pending is not None:
            self.commit()
        selected = entry_id if entry_id is not None else self.last_entry_id
        dialog = EditDialog(self.entries(), selected, parent=self)
        if not self._run(dialog) or dialog.changes is None:
            return
        eid, t_s, data = dialog.changes
        self._act(self.model.edit(eid, t_s, data))

    # -- feedback ------------------------------------------------------------------------

    def _update_dose_button(self) -> None:
        text = "Dose stop [D]" if self.model.dose_running() else "Dose start [D]"
        if getattr(self, "_compact", False):
            text = text.split(" [")[0]
        if self.dose_button.text() != text:
            self.dose_button.setText(text)

    def _show_toast(self, text: str, undo: bool, seconds: float = 3.0) -> None:
        self.toast_label.setText(text)
        self.toast.setStyleSheet(TOAST_STYLE.format(border=TEXT.name() if undo
                                                    else TEXT_DIM.name()))
        self.undo_button.setVisible(undo)
        self.save_button.setVisible(undo)
        self.toast.adjustSize()
        self._place_toast()
        self.toast.show()
        self.toast.raise_()
        self._toast_timer.start(int(seconds * 1000))

    def _hide_toast(self) -> None:
        if self.pending is not None:
            return  # the held entry keeps its Undo until it is saved
        self.toast.hide()

    def _place_toast(self) -> None:
        """Centred over the trend's title row (just above the trend)."""
        parent = self.toast.parentWidget()
        if parent is self:
            g = self.timeline.geometry()
            self.toast.move(max(0, g.right() - self.toast.width() - 16), g.top() + 6)
            return
        top = self._trend.mapTo(parent, self._trend.rect().topLeft())
        x = top.x() + (self._trend.width() - self.toast.width()) // 2
        self.toast.move(max(0, x), max(0, top.y() - self.toast.height() - 4))

