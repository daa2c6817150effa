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
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from monitor.buffers import SessionTrends
from monitor.entry_catalog import (
    CADSS6_ITEMS,
    CADSS_ANCHORS,
    CHOICES,
    DISSOCIATION_LEVEL,
    KIND_LABELS,
    MOAAS,
    SCALES,
    Choice,
    describe,
    rating,
)
from monitor.messages import TimelineMark
from monitor.recorder import SessionRecorder
from monitor.session import (
    DoseProtocol,
    EntryKind,
    Patient,
    Phase,
    Route,
    Session,
    SessionStatus,
    TimelineEntry,
)
from monitor.store import StoreError
from ui.bridge import Bridge
from ui.placement import place_clear_of_numerics
from ui.readouts import clock_text
from ui.sources import EntrySink
from ui.theme import PANEL, TEXT, TEXT_DIM, named
from ui.timeline import MISSING, Pending, TimelineView, checkpoints_for_preset
from ui.trend import TrendView

log = logging.getLogger(__name__)

UNDO_S = 5.0  # how long a quick entry can be undone before it is saved
SEDATION_KEY_S = 4.0  # after S, how long the next digit counts as MOAA/S
REFRESH_MS = 1000
MARK_RETRY_MS = 600  # a device's mark reaches the store with the next sample batch
MARK_RETRIES = 10  # then it stays shown as it came (read-only) until the next change
TOAST_STYLE = ("QFrame#toast {{ background: " + PANEL.name() + "; border: 2px solid {border};"
               " border-radius: 6px; }}")
BAR_STYLE = "QPushButton {{ font-size: {px}px; padding: 4px {pad}px; }}"
TOAST_LABEL = "font-size: {px}px; font-weight: bold; border: none; background: transparent;"
COMPACT_BELOW_PX = 1700  # narrower: the bar's buttons drop their key hints
DIALOG_STYLE = ("QLabel, QLineEdit, QComboBox, QListWidget, QTableWidget, QHeaderView"
                " { font-size: 18px; }"
                " QPushButton:checked { background: #f06292; color: #000000; }")
TIMELINE_MIN_PX = 110  # six lanes of ~14 px and the since-dose axis (1366x768)

class RecorderEntries:
    """The `EntrySink` of a running recorder: entries go through its add/edit API (store,
    alarm engine, displays); the timeline is read back from its store."""

    def __init__(self, recorder: SessionRecorder) -> None:
        self.recorder = recorder
        self.preset = recorder.plan.preset

    def add_entry(self, kind: str, data: Mapping[str, Any], author: str,
                  t_s: float | None = None) -> int:
        return self.recorder.add_entry(kind, data, author, t_s)

    def edit_entry(self, entry_id: int, author: str, *, t_s: float | None = None,
                   data: Mapping[str, Any] | None = None) -> None:
        self.recorder.edit_entry(entry_id, author, t_s=t_s, data=data)

    def entries(self) -> tuple[TimelineEntry, ...]:
        return self.recorder.store.timeline(self.recorder.session_id)

    def dose_data(self) -> Mapping[str, Any]:
        p = self.recorder.plan.protocol
        data = {"drug": p.drug, "route": str(p.route) if p.route else None,
                "dose_mg": p.dose_mg, "infusion_min": p.infusion_min, "lot": p.lot}
        return {k: v for k, v in data.items() if v is not None}


def _mark_entry(i: int, m: TimelineMark) -> TimelineEntry:
    """A mark not (yet) in the store, as a read-only entry (negative id: not editable)."""
    return TimelineEntry(-1 - i, m.kind, m.t_s, m.t_wall, MappingProxyType(dict(m.data)),
                         m.source, m.t_wall)


def parse_clock(text: str) -> float:
    """`h:mm:ss`, `m:ss` or `mm` minutes as session seconds; ValueError otherwise."""
    parts = text.strip().split(":")
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"time {text!r}: use h:mm:ss or m:ss") from None
    if not 1 <= len(nums) <= 3 or any(n < 0 for n in nums) or any(n > 59 for n in nums[1:]):
        raise ValueError(f"time {text!r}: use h:mm:ss or m:ss")
    if len(nums) == 1:
        return nums[0] * 60.0
    seconds = 0
    for n in nums:
        seconds = seconds * 60 + n
    return float(seconds)


def hms(t_s: float) -> str:
    """Session time as h:mm:ss (the edit dialog's one format, read back by parse_clock)."""
    s = max(0, round(t_s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _wall_text(t_wall: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t_wall))


# -- dialogs --------------------------------------------------------------------------------


class ChoiceDialog(QDialog):
    """Side effects or interventions: one tap (or its digit) picks and closes; "Other"
    asks for a description. Text typed first goes with the pick."""

    def __init__(self, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(DIALOG_STYLE)
        self.kind = kind
        self.result_data: dict[str, Any] | None = None
        self.setWindowTitle(KIND_LABELS[kind])
        self.setMinimumWidth(720)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{KIND_LABELS[kind]}: tap one, or press its number"))
        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        for i, c in enumerate(CHOICES[kind]):
            btn = QPushButton(f"{c.hotkey}   {c.label}")
            btn.setMinimumHeight(56)
            btn.setStyleSheet("text-align: left; padding-left: 16px;")
            btn.clicked.connect(lambda _=False, c=c: self.pick(c))
            grid.addWidget(btn, i // 2, i % 2)
            btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.buttons[c.key] = btn
        layout.addLayout(grid)
        self.text = QLineEdit(placeholderText="details (optional; needed for Other)")
        self.text.returnPressed.connect(self._accept_other)
        layout.addWidget(self.text)
        self.hint = QLabel("")
        self.hint.setStyleSheet(f"color: {MISSING.name()};")
        layout.addWidget(self.hint)
        cancel = QPushButton("Cancel  [Esc]")
        cancel.clicked.connect(self.reject)
        layout.addWidget(cancel)
        self._other: Choice | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFocus()  # digits pick; a tap in the text box types there instead

    def keyPressEvent(self, event: QKeyEvent) -> None:
        c = next((c for c in CHOICES[self.kind] if c.hotkey == event.text()), None)
        if c is not None:
            self.pick(c)
        else:
            super().keyPressEvent(event)

    def pick(self, c: Choice) -> None:
        text = self.text.text().strip()
        if c.key == "other" and not text:
            self._other = c
            self.hint.setText("Describe it, then press Enter")
            self.text.setFocus()
            return
        self.result_data = {"name": c.key} | ({"text": text} if text else {})
        self.accept()

    def _accept_other(self) -> None:
        if self._other is not None and self.text.text().strip():
            self.pick(self._other)


class NoteDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(DIALOG_STYLE)
        self.setWindowTitle("Note")
        self.setMinimumWidth(720)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Note (Enter saves, Esc cancels)"))
        self.text = QLineEdit()
        self.text.returnPressed.connect(self._done)
        layout.addWidget(self.text)

    def _done(self) -> None:
        if self.text.text().strip():
            self.accept()

    def note(self) -> str:
        return self.text.text().strip()


class CadssDialog(QDialog):
    """CADSS-6: each item 0-4 by tap or digit (the digit rates the next unrated item);
    Enter saves once all six are rated."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(DIALOG_STYLE)
        self.setWindowTitle("CADSS-6")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("CADSS-6: rate each item 0 (not at all) to 4 (extremely)"))
        grid = QGridLayout()
        self.groups: dict[int, QButtonGroup] = {}
        for row, item in enumerate(CADSS6_ITEMS):
            grid.addWidget(QLabel(f"{item.number}. {item.label}"), row, 0)
            group = QButtonGroup(self)
            for v in range(5):
                btn = QPushButton(str(v))
                btn.setCheckable(True)
                btn.setFixedSize(56, 48)
                btn.setToolTip(CADSS_ANCHORS[v])
                btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
                group.addButton(btn, v)
                grid.addWidget(btn, row, 1 + v)
            group.idClicked.connect(self._update)
            self.groups[item.number] = group
        layout.addLayout(grid)
        self.total = QLabel("")
        layout.addWidget(self.total)
        buttons = QHBoxLayout()
        self.save = QPushButton("Save  [Enter]")
        self.save.clicked.connect(self._save)
        cancel = QPushButton("Cancel  [Esc]")
        cancel.clicked.connect(self.reject)
        buttons.addWidget(self.save)
        buttons.addWidget(cancel)
        layout.addLayout(buttons)
        self.save.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        cancel.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFocus()
        self._update()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        text = event.text()
        if text in ("0", "1", "2", "3", "4"):
            self.rate_next(int(text))
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._save()
        else:
            super().keyPressEvent(event)

    def items(self) -> dict[int, int]:
        return {n: g.checkedId() for n, g in self.groups.items() if g.checkedId() >= 0}

    def rate_next(self, value: int) -> None:
        for g in self.groups.values():
            if g.checkedId() < 0:
                g.button(value).setChecked(True)
                break
        self._update()

    def _update(self, *_args: object) -> None:
        items = self.items()
        done = len(items) == len(CADSS6_ITEMS)
        self.total.setText(f"Total {sum(items.values())} / {4 * len(CADSS6_ITEMS)}"
                           + ("" if done else f"  ({len(CADSS6_ITEMS) - len(items)} to rate)"))
        self.save.setEnabled(done)

    def _save(self) -> None:
        if len(self.items()) == len(CADSS6_ITEMS):
            self.accept()


class EditDialog(QDialog):
    """Edits one entry (time, value, text) and shows its history: who entered it and when,
    and every earlier state with who changed it and when. The list picks another entry."""

    def __init__(self, entries: Sequence[TimelineEntry], selected: int | None,
                 wall_of: Callable[[float], float] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(DIALOG_STYLE)
        self.setWindowTitle("Edit entry")
        self.resize(1300, 680)
        self.entries = [e for e in sorted(entries, key=lambda e: (-e.t_s, -e.id)) if e.id >= 0]
        self.changes: tuple[int, float | None, dict[str, Any] | None] | None = None
        layout = QHBoxLayout(self)
        self.list = QListWidget()
        self.list.setMinimumWidth(420)
        for e in self.entries:
            item = QListWidgetItem(f"{hms(e.t_s)}   {describe(e.kind, e.data)}"
                                   + ("  \u270e" if e.revisions else ""))
            item.setData(Qt.ItemDataRole.UserRole, e.id)
            self.list.addItem(item)
        layout.addWidget(self.list)
        right = QVBoxLayout()
        self.title = QLabel("")
        self.title.setStyleSheet("font-size: 22px; font-weight: bold;")
        right.addWidget(self.title)
        form = QGridLayout()
        form.addWidget(QLabel("Time (session h:mm:ss)"), 0, 0)
        self.time = QLineEdit()
        form.addWidget(self.time, 0, 1)
        form.addWidget(QLabel("Value"), 1, 0)
        self.value = QComboBox()
        form.addWidget(self.value, 1, 1)
        form.addWidget(QLabel("Text"), 2, 0)
        self.text = QLineEdit()
        form.addWidget(self.text, 2, 1)
        right.addLayout(form)
        self.error = QLabel("")
        self.error.setStyleSheet(f"color: {MISSING.name()};")
        right.addWidget(self.error)
        right.addWidget(QLabel("History"))
        self.history = QTableWidget(0, 3)
        self.history.setHorizontalHeaderLabels(["When", "Who", "What"])
        self.history.horizontalHeader().setStretchLastSection(True)
        self.history.verticalHeader().setVisible(False)
        self.history.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        right.addWidget(self.history, 1)
        buttons = QHBoxLayout()
        self.save = QPushButton("Save")
        self.save.clicked.connect(self._save)
        cancel = QPushButton("Cancel  [Esc]")
        cancel.clicked.connect(self.reject)
        buttons.addWidget(self.save)
        buttons.addWidget(cancel)
        right.addLayout(buttons)
        layout.addLayout(right, 1)
        self.list.currentRowChanged.connect(self._load)
        row = next((i for i, e in enumerate(self.entries) if e.id == selected), 0)
        if self.entries:
            self.list.setCurrentRow(row)
        else:
            self.title.setText("No entries yet")
            self.save.setEnabled(False)

    @property
    def entry(self) -> TimelineEntry | None:
        row = self.list.currentRow()
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def _load(self, _row: int) -> None:
        e = self.entry
        if e is None:
            return
        self.error.setText("")
        self.title.setText(describe(e.kind, e.data))
        self.time.setText(hms(e.t_s))
        self.value.clear()
        scale = SCALES.get(str(e.data.get("scale")))
        if e.kind in CHOICES:
            for c in CHOICES[e.kind]:
                self.value.addItem(c.label, c.key)
            self.value.setCurrentIndex(max(0, self.value.findData(e.data.get("name"))))
            self.value.setEnabled(True)
        elif scale is not None and scale.levels:
            for lv in sorted(scale.levels, key=lambda lv: -lv.score):
                self.value.addItem(f"{lv.score}  {lv.description}", lv.score)
            self.value.setCurrentIndex(max(0, self.value.findData(e.data.get("score"))))
            self.value.setEnabled(True)
        else:  # dose marks, notes, CADSS-6 totals (re-rate with a new form instead)
            self.value.addItem(describe(e.kind, e.data), None)
            self.value.setEnabled(False)
        self.text.setText(str(e.data.get("text", "")))
        states = [(r.t_s, r.data) for r in e.revisions] + [(e.t_s, e.data)]
        rows = [(_wall_text(e.created_wall), e.author,
                 f"entered: {hms(states[0][0])}  {describe(e.kind, states[0][1])}")]
        for i, r in enumerate(e.revisions):
            t_new, d_new = states[i + 1]
            changes = []
            if round(t_new) != round(r.t_s):
                changes.append(f"time {hms(r.t_s)} \u2192 {hms(t_new)}")
            if dict(d_new) != dict(r.data):
                changes.append(f"{describe(e.kind, r.data)} \u2192 {describe(e.kind, d_new)}")
            rows.append((_wall_text(r.revised_wall), r.author,
                         "changed: " + ("; ".join(changes) or "no change")))
        self.history.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                self.history.setItem(i, j, QTableWidgetItem(text))
        self.history.resizeColumnsToContents()

    def _save(self) -> None:
        e = self.entry
        if e is None:
            return
        try:
            t = parse_clock(self.time.text())
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        data = dict(e.data)
        value = self.value.currentData()
        if e.kind in CHOICES and value is not None:
            data["name"] = value
        elif value is not None and "scale" in data:
            data = dict(rating(str(data["scale"]), value)[1]) | {
                k: v for k, v in data.items() if k not in ("scale", "score")}
        text = self.text.text().strip()
        if text:
            data["text"] = text
        else:
            data.pop("text", None)
        if e.kind == EntryKind.NOTE and not text:
            self.error.setText("A note needs its text")
            return
        new_t = None if abs(t - round(e.t_s)) < 0.5 else t
        new_data = None if data == dict(e.data) else data
        self.changes = None if new_t is None and new_data is None else (e.id, new_t, new_data)
        self.accept()


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
        self.undo_s = UNDO_S
        self.pending: Pending | None = None
        self.last_entry_id: int | None = None
        self.sedation_armed = False
        self._marks_unstored: list[TimelineMark] = []
        self._retries = 0
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
        self._commit_timer = QTimer(self, singleShot=True)
        self._commit_timer.timeout.connect(self.commit)
        self._sedation_timer = QTimer(self, singleShot=True)
        self._sedation_timer.timeout.connect(self._disarm_sedation)
        self._retry = QTimer(self, singleShot=True)
        self._retry.setInterval(MARK_RETRY_MS)
        self._retry.timeout.connect(self.reload)
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

    # -- feeding the timeline ------------------------------------------------------------

    def entries(self) -> tuple[TimelineEntry, ...]:
        """The stored entries, plus device marks not yet committed by the sample writer
        (or, with no store, the marks the display buffers hold)."""
        if self.sink is None:
            return tuple(_mark_entry(i, m) for i, m in enumerate(self.trends.marks()))
        try:
            stored = self.sink.entries()
        except StoreError as exc:
            log.error("cannot read the timeline: %s", exc)
            return self.timeline.entries
        seen = {(e.kind, round(e.t_s, 3)) for e in stored}
        self._marks_unstored = [m for m in self._marks_unstored
                                if (m.kind, round(m.t_s, 3)) not in seen]
        extra = tuple(_mark_entry(i, m) for i, m in enumerate(self._marks_unstored))
        return tuple(sorted(stored + extra, key=lambda e: (e.t_s, e.id)))

    def reload(self) -> None:
        self.timeline.set_entries(self.entries())
        if self._marks_unstored and self._retries < MARK_RETRIES:
            self._retries += 1
            self._retry.start()
        self._update_dose_button()

    def on_mark(self, msg: object) -> None:
        if not isinstance(msg, TimelineMark):
            return
        if msg.entry_id is None and self.sink is not None:
            self._marks_unstored.append(msg)
            self._retries = 0
        self.reload()

    def tick(self) -> None:
        """Once a second: the now line, the dosing band, the NIBP readings (checkpoints)."""
        now = self.now_s()
        times, _ = self.trends.series("sbp")
        if len(times) != self._nibp_count:
            self._nibp_count = len(times)
            self.timeline.set_nibp_times(times.tolist())
        dosing = tuple(p for p in self._phases(now) if p.name == "dosing")
        if dosing != self.timeline.phases:
            self.timeline.set_phases(dosing)
        self.timeline.set_now(now)
        bp_passed = self._bp_window_passed(now)
        if bp_passed != getattr(self, "_bp_passed", None):
            self._bp_passed = bp_passed
            self.timeline.redraw(force=True)

    def _phases(self, now: float) -> tuple[Phase, ...]:
        """The session model's phases from the entries as shown (an edited dose time moves
        the dosing band with it); the route and infusion length from the dose entry, else
        from the session's protocol."""
        entries = self.timeline.entries
        start = next((e for e in entries if e.kind == EntryKind.DOSE_START), None)
        info = dict(self.sink.dose_data()) if self.sink is not None else {}
        if start is not None:
            info |= dict(start.data)
        minutes = info.get("infusion_min")
        route = info.get("route")
        if not isinstance(route, str) or route not in Route.__members__.values():
            route = None
        protocol = DoseProtocol(
            route=Route(route) if route is not None else None,
            infusion_min=float(minutes) if isinstance(minutes, int | float) else None)
        return Session(0, "", Patient(), protocol, None, 0.0, now, SessionStatus.ACTIVE,
                       entries).phases()

    def _bp_window_passed(self, now: float) -> bool:
        dose = next((e.t_s for e in self.timeline.entries if e.kind == EntryKind.DOSE_START),
                    None)
        c = self.timeline.checkpoints
        return dose is not None and now > dose + c.bp_after_dose_s + c.bp_window_s

    # -- quick entry ---------------------------------------------------------------------

    def digit(self, n: int) -> None:
        if self.sedation_armed:
            self.sedation(n)
        elif n <= DISSOCIATION_LEVEL.high:
            self.dissociation(n)
        else:
            self._show_toast(f"{n}: for MOAA/S press S first", undo=False)

    def dissociation(self, level: int) -> None:
        self.propose(*rating(DISSOCIATION_LEVEL.key, level))

    def sedation(self, score: int) -> None:
        self._disarm_sedation()
        self.propose(*rating(MOAAS.key, score))

    def arm_sedation(self) -> None:
        self.sedation_armed = True
        self._sedation_timer.start(int(SEDATION_KEY_S * 1000))
        self._show_toast("MOAA/S: press 5 alert · 4 lethargic · 3 loud · 2 prod · 1 pain · "
                         "0 none", undo=False, seconds=SEDATION_KEY_S)

    def _disarm_sedation(self) -> None:
        self.sedation_armed = False
        self._sedation_timer.stop()

    def _dose_running(self) -> bool:
        marks = [(e.t_s, e.kind) for e in self.timeline.entries
                 if e.kind in (EntryKind.DOSE_START, EntryKind.DOSE_STOP)]
        if self.pending is not None and self.pending.kind in (EntryKind.DOSE_START,
                                                              EntryKind.DOSE_STOP):
            marks.append((self.pending.t_s, self.pending.kind))
        return bool(marks) and max(marks)[1] == EntryKind.DOSE_START

    def dose_toggle(self) -> None:
        if self._dose_running():
            self.propose(EntryKind.DOSE_STOP, {})
        else:
            self.propose(EntryKind.DOSE_START,
                         dict(self.sink.dose_data()) if self.sink is not None else {})

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

    def propose(self, kind: str, data: Mapping[str, Any], t_s: float | None = None) -> None:
        """Holds an entry for the undo window (saving the one before it first)."""
        if self.sink is None:
            self._show_toast("Entries are not recorded here", undo=False)
            return
        if self.pending is not None:
            self.commit()
        self.pending = Pending(kind, dict(data), self.now_s() if t_s is None else t_s)
        self.timeline.set_pending(self.pending)
        self._update_dose_button()
        self._commit_timer.start(int(self.undo_s * 1000))
        self._show_toast(f"{describe(kind, data)}  at {clock_text(self.pending.t_s)}",
                         undo=True, seconds=self.undo_s)

    def commit(self) -> int | None:
        """Saves the held entry now; its id (None if nothing was held or saving failed)."""
        p = self.pending
        if p is None or self.sink is None:
            return None
        self._commit_timer.stop()
        try:
            entry_id = self.sink.add_entry(p.kind, p.data, self.user(), p.t_s)
        except (StoreError, OSError) as exc:
            log.error("timeline entry not saved: %s", exc)
            self._show_toast("NOT SAVED: the store failed. Enter retries.", undo=True,
                             seconds=30)
            return None
        self.pending = None
        self.last_entry_id = entry_id
        self.timeline.set_pending(None)
        self.reload()
        self._show_toast(f"Saved: {describe(p.kind, p.data)}", undo=False, seconds=2)
        return entry_id

    def undo(self) -> None:
        if self.sedation_armed:
            self._disarm_sedation()
            self._hide_toast()
            return
        p = self.pending
        if p is None:
            if self.last_entry_id is not None:
                self._show_toast("Already saved: Ctrl+E to correct it", undo=False)
            return
        self._commit_timer.stop()
        self.pending = None
        self.timeline.set_pending(None)
        self._update_dose_button()
        self._show_toast(f"Undone: {describe(p.kind, p.data)}", undo=False, seconds=2)

    def edit(self, entry_id: int | None) -> None:
        """The edit dialog on `entry_id` (None: the last entry made here, else the latest)."""
        if self.sink is None:
            return
        if self.pending is not None:
            self.commit()
        entries = self.entries()
        selected = entry_id if entry_id is not None else self.last_entry_id
        dialog = EditDialog(entries, selected, parent=self)
        if not self._run(dialog) or dialog.changes is None:
            return
        eid, t_s, data = dialog.changes
        try:
            self.sink.edit_entry(eid, self.user(), t_s=t_s, data=data)
        except StoreError as exc:
            log.error("timeline edit not saved: %s", exc)
            self._show_toast("EDIT NOT SAVED: the store failed", undo=False, seconds=10)
            return
        self.reload()
        self._show_toast("Edit saved (the earlier version is kept)", undo=False, seconds=3)

    # -- feedback ------------------------------------------------------------------------

    def _update_dose_button(self) -> None:
        text = "Dose stop [D]" if self._dose_running() else "Dose start [D]"
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

