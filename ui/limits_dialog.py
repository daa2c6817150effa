"""The alarm-limits dialog: this session's physiological limits, starting from the preset.

Each limit rule is shown with its vital, condition, priority, delay and the source its
value follows. The nurse can change a limit within the vital's plausible range (the vital
registry's), sees a warning when a limit is looser than the preset (an alarm would come
later, or not at all), and can reset to the preset. Apply sends each change to the alarm
engine on the device-io thread (`AlarmControl.set_limit`), which logs it; the tiles show
the new limits from the engine's `limits_for`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from alarms.model import AlarmKind, Priority
from alarms.rules import LimitRule
from monitor.vitals import VITALS
from ui.sources import LimitEngine
from ui.theme import ALARM_COLOURS, TEXT_DIM, named

COLUMNS = ("Vital", "Condition", "", "Limit", "Preset", "Priority", "Delay", "Source")
LIMIT_COL = 3
WARN = ALARM_COLOURS[Priority.MEDIUM]


# Where each limit comes from, in a clinician's words (the preset's own `source` is the
# developer's reference and stays in alarms/presets.py).
CLINIC_DEFAULT = "Clinic default set by Vigil; no published threshold. Adjust to your protocol."
LIMIT_SOURCES = {
    "spo2-low": "Usual monitor alarm (90 %). The 15 s delay avoids most false alarms from "
                "brief dips.",
    "spo2-critical": "Immediate alarm for a deep desaturation (room-air outpatients); "
                     "clinic default.",
    "hr-high": "Common ketamine-clinic trigger for a fast heart rate.",
    "pr-high": "Common ketamine-clinic trigger for a fast pulse (when there is no ECG).",
    "hr-low": "Clinic default for a slow heart rate; not a published threshold.",
    "hr-extreme-low": "Immediate alarm for asystole, VF or extreme bradycardia (a monitor's "
                      "valid HR of 0 included); clinic default.",
    "pr-low": "Clinic default for a slow pulse (when there is no ECG); not published.",
    "rr-low": "Clinic default for slowed breathing; no published threshold.",
    "rr-high": CLINIC_DEFAULT,
    "sbp-high": "Common ketamine-clinic trigger: 180/110 mmHg. Judged on each reading.",
    "dbp-high": "Common ketamine-clinic trigger: 180/110 mmHg. Judged on each reading.",
    "sbp-very-high": "One reading of 200/120 mmHg or more: act at once (clinic practice).",
    "dbp-very-high": "One reading of 200/120 mmHg or more: act at once (clinic practice).",
    "sbp-low": "Clinic default for low blood pressure; no published threshold.",
}


def clinical_source(rule: LimitRule) -> str:
    """Where `rule`'s value comes from, as the dialog shows it to a nurse or doctor."""
    if rule.id in LIMIT_SOURCES:
        return LIMIT_SOURCES[rule.id]
    if rule.source.startswith("published"):
        return "Published guidance (see the clinic's protocol)."
    return CLINIC_DEFAULT


class LimitEditor:
    """The dialog's handle: the rules in force and the preset's (read), changes posted to
    the engine on the device-io thread through `set_limit(rule_id, value, user)`."""

    def __init__(self, engine: LimitEngine, preset_rules: tuple[LimitRule, ...],
                 set_limit: Callable[[str, float, str], None]) -> None:
        self.engine = engine
        self.preset_rules = {r.id: r for r in preset_rules}
        self.set_limit = set_limit

    def rules(self) -> list[LimitRule]:
        """The physiological limit rules in force, in the preset's order."""
        return [r for r in self.engine.limit_rules() if r.kind is AlarmKind.PHYSIOLOGICAL]

    def preset_limit(self, rule_id: str) -> float | None:
        r = self.preset_rules.get(rule_id)
        return None if r is None else r.limit


def looser(rule: LimitRule, value: float, preset: float | None) -> bool:
    """True when `value` alarms later than the preset: lower for a low limit, higher for a
    high one."""
    if preset is None:
        return False
    return value < preset if rule.op.low else value > preset


class LimitsDialog(QDialog):
    # Staff sign-in (issue 14): who may loosen a limit beyond the preset; returns their
    # name for the log, or None (nothing is applied). None here: anyone may.
    authorize: Callable[[], str | None] | None = None

    def __init__(self, editor: LimitEditor, user: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Vigil: alarm limits")
        self.editor = editor
        self.user = user
        self.rules = editor.rules()
        self.spins: dict[str, QDoubleSpinBox] = {}
        self._build()

    def _build(self) -> None:
        # Fits over the dashboard's trend and timeline (ui/placement.py): the table scrolls.
        self.setMinimumSize(1100, 420)
        self.resize(1700, 760)
        outer = QVBoxLayout(self)
        outer.setSpacing(10)
        outer.addWidget(named(QLabel("Alarm limits for this session"), "header"))
        note = named(QLabel("Changes apply to new readings from now on and are kept in the "
                            "alarm log. A limit looser than the preset is shown in yellow."),
                     "headerDim")
        note.setWordWrap(True)
        outer.addWidget(note)
        self.table = QTableWidget(len(self.rules), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setWordWrap(True)
        self.table.setStyleSheet(
            "QTableWidget { font-size: 19px; }"
            "QHeaderView::section { font-size: 18px; padding: 4px; }"
            "QDoubleSpinBox { font-size: 22px; font-weight: bold; padding: 2px 6px; }"
            "QDoubleSpinBox::up-button, QDoubleSpinBox::down-button { width: 30px; }")
        self.table.verticalHeader().setDefaultSectionSize(56)
        for row, rule in enumerate(self.rules):
            self._fill(row, rule)
        head = self.table.horizontalHeader()
        for i in range(len(COLUMNS) - 1):
            head.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        outer.addWidget(self.table, 1)
        self.warning = QLabel("")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(f"color: {WARN.name()}; font-size: 20px;")
        outer.addWidget(self.warning)
        buttons = QHBoxLayout()
        self.reset_button = QPushButton("Reset to preset")
        self.apply_button = QPushButton("Apply")
        close = QPushButton("Close")
        self.reset_button.clicked.connect(self.reset_to_preset)
        self.apply_button.clicked.connect(self.apply)
        close.clicked.connect(self.close)
        buttons.addWidget(self.reset_button)
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        buttons.addWidget(close)
        outer.addLayout(buttons)
        self._update_warning()

    def _fill(self, row: int, rule: LimitRule) -> None:
        v = VITALS[rule.vital]
        preset = self.editor.preset_limit(rule.id)
        delay = "at once" if rule.delay_s == 0 else f"{rule.delay_s:g} s"
        texts = (v.label, rule.condition, str(rule.op),
                 None, "" if preset is None else f"{v.format(preset)} {v.unit}",
                 f"{rule.priority.asterisks} {rule.priority.label}", delay,
                 clinical_source(rule))
        for col, text in enumerate(texts):
            if text is None:
                continue
            item = QTableWidgetItem(text)
            if col == len(COLUMNS) - 1:
                item.setForeground(TEXT_DIM)
                item.setToolTip(text)
            self.table.setItem(row, col, item)
        spin = QDoubleSpinBox()
        lo, hi = v.plausible
        spin.setRange(lo, hi)
        spin.setDecimals(v.precision)
        spin.setSingleStep(10 ** -v.precision)
        spin.setSuffix(f" {v.unit}")
        spin.setValue(rule.limit)
        spin.setKeyboardTracking(False)
        spin.valueChanged.connect(lambda _v: self._update_warning())
        self.spins[rule.id] = spin
        self.table.setCellWidget(row, LIMIT_COL, spin)

    # -- state ---------------------------------------------------------------------------

    def value(self, rule_id: str) -> float:
        return self.spins[rule_id].value()

    def set_value(self, rule_id: str, value: float) -> None:
        self.spins[rule_id].setValue(value)

    def loosened(self) -> list[LimitRule]:
        """The rules whose value in the dialog is looser than the preset's."""
        return [r for r in self.rules
                if looser(r, self.value(r.id), self.editor.preset_limit(r.id))]

    def problems(self) -> list[str]:
        """Limits that contradict each other: a vital's low limit at or above its high one."""
        out = []
        for key in dict.fromkeys(r.vital for r in self.rules):
            lows = [self.value(r.id) for r in self.rules if r.vital == key and r.op.low]
            highs = [self.value(r.id) for r in self.rules if r.vital == key and not r.op.low]
            if lows and highs and max(lows) >= min(highs):
                out.append(f"{VITALS[key].label}: the low limit {VITALS[key].format(max(lows))} "
                           f"is not below the high limit {VITALS[key].format(min(highs))}")
        return out

    def _update_warning(self) -> None:
        loose = self.loosened()
        for r in self.rules:
            spin = self.spins[r.id]
            style = f"color: {WARN.name()}; border: 2px solid {WARN.name()};" \
                if r in loose else ""
            if spin.styleSheet() != style:
                spin.setStyleSheet(style)
        lines = []
        for r in loose:
            v = VITALS[r.vital]
            preset = self.editor.preset_limit(r.id)
            assert preset is not None
            lines.append(f"{r.condition}: {v.format(self.value(r.id))} {v.unit} is looser than "
                         f"the preset {v.format(preset)} {v.unit}: this alarm comes later.")
        lines += self.problems()
        self.warning.setText("\n".join(lines))

    # -- commands ------------------------------------------------------------------------

    def reset_to_preset(self) -> None:
        for r in self.rules:
            preset = self.editor.preset_limit(r.id)
            if preset is not None:
                self.set_value(r.id, preset)

    def apply(self) -> list[str]:
        """Sends each changed limit to the engine; returns the rule ids changed."""
        problems = self.problems()
        if problems:
            self.warning.setText("Not applied: " + "; ".join(problems))
            return []
        user = self.user
        if self.authorize is not None and any(
                self.value(r.id) != r.limit and looser(r, self.value(r.id),
                                                       self.editor.preset_limit(r.id))
                for r in self.rules):
            who = self.authorize()
            if who is None:
                self.warning.setText("Not applied: loosening a limit beyond the preset needs "
                                     "a clinician to sign in.")
                return []
            user = who
        changed = []
        for i, r in enumerate(self.rules):
            value = self.value(r.id)
            if value != r.limit:
                self.editor.set_limit(r.id, value, user)
                self.rules[i] = replace(r, limit=value)
                changed.append(r.id)
        self._update_warning()
        if changed:
            self.warning.setText((self.warning.text() + "\n" if self.warning.text() else "")
                                 + f"Applied: {len(changed)} limit(s) changed.")
        return changed

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Enter in a spin box must not close the dialog (QDialog's default button).
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return
        super().keyPressEvent(event)

