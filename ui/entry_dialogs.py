"""The quick-entry dialogs: the side-effect and intervention pickers, the note, the
CADSS-6 form, and the edit dialog with an entry's history. Each returns what was chosen;
the panel (ui/entries.py) holds and saves it."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from monitor.entry_catalog import (
    CADSS6_ITEMS,
    CADSS_ANCHORS,
    CHOICES,
    KIND_LABELS,
    SCALES,
    Choice,
    describe,
    rating,
)
from monitor.session import EntryKind, TimelineEntry
from ui.timeline import MISSING

DIALOG_STYLE = ("QLabel, QLineEdit, QComboBox, QListWidget, QTableWidget, QHeaderView"
                " { font-size: 18px; }"
                " QPushButton:checked { background: #f06292; color: #000000; }")

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


def save_cancel(dialog: QDialog, save_text: str, save: Callable[[], None]
                ) -> tuple[QHBoxLayout, QPushButton, QPushButton]:
    """A dialog's button row: Save (calling `save`) and Cancel [Esc]."""
    row = QHBoxLayout()
    save_button = QPushButton(save_text)
    save_button.clicked.connect(save)
    cancel = QPushButton("Cancel  [Esc]")
    cancel.clicked.connect(dialog.reject)
    row.addWidget(save_button)
    row.addWidget(cancel)
    return row, save_button, cancel


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
        buttons, self.save, cancel = save_cancel(self, "Save  [Enter]", self._save)
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
        buttons, self.save, _cancel = save_cancel(self, "Save", self._save)
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
