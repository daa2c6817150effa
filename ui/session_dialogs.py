"""The session lifecycle dialogs: a new session, the discharge checklist, resuming.

Each dialog checks what it is given and says what is wrong beside the button; none
invents a value (a discharge item the nurse did not score stays unscored). The results
are plain data the Qt-free core takes: a `RecordingPlan`, a DISCHARGE entry's data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from PySide6.QtCore import QDateTime
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from alarms.model import Priority
from alarms.presets import DEFAULT_PRESET, PRESET_NAMES, PRESETS
from devices.base import SpecError
from devices.spec import DeviceSpec, is_simulated, parse_spec
from monitor.discharge import (
    EARLY_DISCHARGE_KEY,
    SCALES,
    Scale,
    entry_data,
    meets_criterion,
    unmet_before_discharge,
)
from monitor.recorder import RecordingPlan
from monitor.session import (
    SIM_PATIENT,
    SIM_PROTOCOL,
    DoseProtocol,
    Patient,
    Phase,
    Route,
    Session,
)
from ui.placement import place_clear_of_numerics
from ui.theme import ALARM_COLOURS, BACKGROUND, STYLESHEET, TEXT, TEXT_DIM, named

CHOSEN = "#4aa3ff"  # a chosen answer: blue, a colour no alarm priority uses
CHOSEN_BG = "#1d3047"
DIALOG_STYLE = STYLESHEET + f"""
QDialog QLabel, QRadioButton, QCheckBox, QLineEdit, QComboBox, QDateTimeEdit {{ font-size: 18px; }}
QCheckBox {{ font-weight: bold; color: #ffd24a; }}
QCheckBox::indicator {{ width: 18px; height: 18px; border: 2px solid #ffd24a;
    background: {BACKGROUND.name()}; }}
QCheckBox::indicator:checked {{ background: {CHOSEN}; border-color: {TEXT.name()}; }}
QLineEdit, QComboBox, QDateTimeEdit {{ padding: 4px; border: 1px solid {TEXT_DIM.name()}; }}
QLabel#title {{ font-size: 26px; font-weight: bold; }}
QLabel#hint {{ font-size: 16px; color: {TEXT_DIM.name()}; }}
QLabel#error {{ font-size: 18px; font-weight: bold; color: #ff6b6b; }}
QLabel#warning {{ font-size: 18px; font-weight: bold; color: #ffd24a; }}
QLabel#total {{ font-size: 24px; font-weight: bold; }}
QLabel#calc {{ font-size: 20px; font-weight: bold; }}
QRadioButton {{ padding: 3px 6px; border-radius: 4px; }}
QRadioButton:checked {{ font-weight: bold; background: {CHOSEN_BG}; }}
QRadioButton::indicator {{ width: 16px; height: 16px; border-radius: 10px;
    border: 2px solid {TEXT_DIM.name()}; background: {BACKGROUND.name()}; }}
QRadioButton::indicator:checked {{ background: {CHOSEN}; border-color: {TEXT.name()}; }}
"""

DRUGS = ("ketamine", "esketamine")
ROUTE_LABELS = {Route.IV: "IV infusion", Route.IM: "IM injection",
                Route.SUBLINGUAL: "sublingual", Route.INTRANASAL: "intranasal spray"}
# The preset a route suggests (the nurse may still choose another).
PRESET_FOR_ROUTE = {Route.IV: "iv-ketamine", Route.INTRANASAL: "esketamine-rems",
                    Route.IM: "im-ketamine", Route.SUBLINGUAL: "sublingual"}
assert set(PRESET_FOR_ROUTE.values()) <= set(PRESET_NAMES)


@dataclass(frozen=True, slots=True)
class NewSessionForm:
    """What the new-session dialog starts from (text as typed; empty = not given)."""

    patient: str = ""
    weight_kg: str = ""
    drug: str = "ketamine"
    route: Route = Route.IV
    dose_mg: str = ""
    infusion_min: str = "40"
    lot: str = ""
    preset: str = DEFAULT_PRESET
    devices: str = "sim"

    @classmethod
    def for_specs(cls, specs: Sequence[DeviceSpec], preset: str | None = None,
                  patient: str | None = None) -> NewSessionForm:
        """Defaults for these devices: on the simulator alone, the simulated patient
        (70 kg, ketamine 0.5 mg/kg IV over 40 min) so that Enter starts at once; with a
        real device, no patient is assumed."""
        devices = " ".join(s.text for s in specs) or "sim"
        if specs and all(is_simulated(s) for s in specs):
            p, d = SIM_PATIENT, SIM_PROTOCOL
            return cls(patient or p.identifier or "", _text(p.weight_kg), d.drug or "",
                       d.route or Route.IV, _text(d.dose_mg), _text(d.infusion_min), "",
                       preset or DEFAULT_PRESET, devices)
        return cls(patient=patient or "", preset=preset or DEFAULT_PRESET, devices=devices)

    @classmethod
    def for_plan(cls, plan: RecordingPlan) -> NewSessionForm:
        """`for_specs`, with what the command line gave (--weight, --drug, ...) in place."""
        form = cls.for_specs(plan.specs, plan.preset, plan.patient.identifier)
        p, d = plan.patient, plan.protocol
        given = {"weight_kg": _text(p.weight_kg), "drug": d.drug or "",
                 "route": d.route, "dose_mg": _text(d.dose_mg),
                 "infusion_min": _text(d.infusion_min), "lot": d.lot or ""}
        # mypy checks replace()'s keywords against each field's type, which one dict of
        # several types cannot carry; replace() itself rejects an unknown field at run time.
        return replace(form, **{k: v for k, v in given.items() if v})  # type: ignore[arg-type]


def _text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


class FormError(ValueError):
    """A field that cannot be used; the message names it."""


def _number(text: str, what: str, required: bool = True) -> float | None:
    text = text.strip().replace(",", ".")
    if not text:
        if required:
            raise FormError(f"{what}: required")
        return None
    try:
        value = float(text)
    except ValueError:
        raise FormError(f"{what}: {text!r} is not a number") from None
    if not value > 0 or value != value or value == float("inf"):
        raise FormError(f"{what}: must be a positive number")
    return value


def _title(text: str) -> QLabel:
    return named(QLabel(text), "title")


class NewSessionDialog(QDialog):
    """Patient, dose, alarm preset and devices for a new session. Enter starts it."""

    def __init__(self, form: NewSessionForm, duration_s: float | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Vigil: new session")
        self.setStyleSheet(DIALOG_STYLE)
        self.duration_s = duration_s
        self.plan: RecordingPlan | None = None
        # A preset given that the route would not suggest was chosen on purpose: keep it.
        self._preset_touched = form.preset != PRESET_FOR_ROUTE[form.route]
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 14, 20, 14)
        outer.addWidget(_title("New session"))
        grid = QFormLayout()
        grid.setVerticalSpacing(10)
        self.patient = QLineEdit(form.patient, placeholderText="clinic id or initials")
        self.weight = QLineEdit(form.weight_kg, placeholderText="kg")
        self.drug = QComboBox()
        self.drug.setEditable(True)
        self.drug.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.drug.addItems(DRUGS)
        self.drug.setCurrentText(form.drug)
        self.route = QComboBox()
        for route, label in ROUTE_LABELS.items():
            self.route.addItem(label, route)
        self.route.setCurrentIndex(list(ROUTE_LABELS).index(form.route))
        self.dose = QLineEdit(form.dose_mg, placeholderText="mg")
        self.mg_per_kg = named(QLabel(""), "calc")
        dose_row = QHBoxLayout()
        dose_row.addWidget(self.dose, 1)
        dose_row.addWidget(QLabel("mg"))
        dose_row.addSpacing(12)
        dose_row.addWidget(self.mg_per_kg, 1)
        self.infusion = QLineEdit(form.infusion_min, placeholderText="minutes")
        self.lot = QLineEdit(form.lot, placeholderText="optional")
        self.preset = QComboBox()
        for name in PRESET_NAMES:
            self.preset.addItem(f"{name}: {PRESETS[name].description}", name)
        self.preset.setCurrentIndex(PRESET_NAMES.index(form.preset))
        self.devices = QLineEdit(form.devices, placeholderText="sim   masimo:/dev/ttyUSB0   "
                                 "ble:AA:BB:CC:DD:EE:FF")
        grid.addRow("Patient", self.patient)
        grid.addRow("Weight (kg)", self.weight)
        grid.addRow("Drug", self.drug)
        grid.addRow("Route", self.route)
        grid.addRow("Dose", dose_row)
        self.infusion_label = QLabel("Infusion (min)")
        grid.addRow(self.infusion_label, self.infusion)
        grid.addRow("Lot number", self.lot)
        grid.addRow("Alarm preset", self.preset)
        grid.addRow("Devices", self.devices)
        grid.addRow("", named(QLabel("device SPECs separated by spaces"), "hint"))
        outer.addLayout(grid)
        self.error = named(QLabel(""), "error")
        self.error.setWordWrap(True)
        outer.addWidget(self.error)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.start_button = QPushButton("Start session  [Enter]")
        self.start_button.setDefault(True)
        self.start_button.setAutoDefault(True)
        self.cancel_button.setAutoDefault(False)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.start_button)
        outer.addLayout(buttons)
        self.cancel_button.clicked.connect(self.reject)
        self.start_button.clicked.connect(self.accept)
        self.weight.textChanged.connect(self._update_mg_per_kg)
        self.dose.textChanged.connect(self._update_mg_per_kg)
        self.route.currentIndexChanged.connect(self._on_route)
        self.preset.activated.connect(self._on_preset_chosen)
        self._on_route()
        self._update_mg_per_kg()
        self.resize(720, self.sizeHint().height())
        self.patient.setFocus()

    def _on_preset_chosen(self) -> None:
        self._preset_touched = True

    def _on_route(self) -> None:
        route = Route(self.route.currentData())
        iv = route is Route.IV
        self.infusion.setEnabled(iv)
        self.infusion_label.setEnabled(iv)
        if not self._preset_touched:
            self.preset.setCurrentIndex(PRESET_NAMES.index(PRESET_FOR_ROUTE[route]))

    def _update_mg_per_kg(self) -> None:
        try:
            weight = _number(self.weight.text(), "weight")
            dose = _number(self.dose.text(), "dose")
        except FormError:
            self.mg_per_kg.setText("= -- mg/kg")
            return
        assert weight is not None and dose is not None
        self.mg_per_kg.setText(f"= {dose / weight:.2f} mg/kg")

    def build_plan(self) -> RecordingPlan:
        """The plan the fields describe; FormError (or SpecError) naming the first bad one."""
        patient = self.patient.text().strip()
        if not patient:
            raise FormError("Patient: required (clinic id or initials)")
        weight = _number(self.weight.text(), "Weight")
        drug = self.drug.currentText().strip()
        if not drug:
            raise FormError("Drug: required")
        route = Route(self.route.currentData())
        dose = _number(self.dose.text(), "Dose (mg)")
        infusion = _number(self.infusion.text(), "Infusion (min)") if route is Route.IV \
            else None
        texts = self.devices.text().split()
        if not texts:
            raise FormError("Devices: at least one device SPEC (e.g. sim)")
        specs = tuple(parse_spec(t) for t in texts)
        plan = RecordingPlan(specs, self.duration_s, 1.0, Patient(patient, weight),
                             DoseProtocol(drug, route, dose, infusion,
                                          self.lot.text().strip() or None),
                             self.preset.currentData())
        plan.check()
        return plan

    def accept(self) -> None:
        try:
            self.plan = self.build_plan()
        except (FormError, SpecError) as e:
            self.error.setText(str(e))
            return
        self.error.setText("")
        super().accept()


@dataclass(frozen=True, slots=True)
class DischargeContext:
    """What the checklist shows beside the items (all from the session, nothing assumed)."""

    wall0: float  # session start, epoch
    now_s: float
    dose_start_s: float | None
    preset: str | None
    hints: Mapping[str, str]  # item key -> measured context, e.g. "SpO2 now 97 %"
    phases: tuple[Phase, ...] = ()  # the session's phases now (dosing, peak, ...)
    dose_running: bool = False  # an infusion started and no Dose stop yet

    def unmet(self) -> list[str]:
        """What is not yet met for a discharge now (monitor/discharge.py)."""
        p = PRESETS.get(self.preset or DEFAULT_PRESET)
        rule = p.min_monitoring if p is not None else None
        return unmet_before_discharge(self.preset or DEFAULT_PRESET,
                                      rule.min_s if rule else None, self.dose_start_s,
                                      self.phases, self.dose_running, self.now_s)


class DischargeDialog(QDialog):
    """Modified Aldrete or PADSS, item by item, the total against >= 9, and when the patient
    was ready to leave. Warns (does not block) under the preset's minimum monitoring."""

    def __init__(self, ctx: DischargeContext, parent: QWidget | None = None,
                 scale: str = "aldrete") -> None:
        super().__init__(parent)
        self.setWindowTitle("Vigil: discharge")
        self.setStyleSheet(DIALOG_STYLE)
        self.ctx = ctx
        self.data: dict[str, object] | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 14, 20, 14)
        outer.addWidget(_title("Discharge checklist"))
        choose = QHBoxLayout()
        self.scale_group = QButtonGroup(self)
        self.scale_buttons: dict[str, QRadioButton] = {}
        for i, s in enumerate(SCALES.values()):
            b = QRadioButton(s.name)
            self.scale_group.addButton(b, i)
            self.scale_buttons[s.key] = b
            choose.addWidget(b)
        choose.addStretch(1)
        outer.addLayout(choose)
        self.pages = QStackedWidget()
        self.groups: dict[str, dict[str, QButtonGroup]] = {}
        for s in SCALES.values():
            self.pages.addWidget(self._page(s))
        outer.addWidget(self.pages)
        self.total = named(QLabel(""), "total")
        outer.addWidget(self.total)
        ready_row = QHBoxLayout()
        ready_row.addWidget(QLabel("Ready to leave at"))
        self.ready = QDateTimeEdit()
        self.ready.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.ready.setMinimumWidth(220)
        start = QDateTime.fromSecsSinceEpoch(int(ctx.wall0))
        now = QDateTime.fromSecsSinceEpoch(int(ctx.wall0 + ctx.now_s))
        self.ready.setDateTimeRange(start, now)
        self.ready.setDateTime(now)
        ready_row.addWidget(self.ready)
        ready_row.addWidget(named(QLabel("(clinically ready; default now)"), "hint"))
        ready_row.addStretch(1)
        outer.addLayout(ready_row)
        self.unmet = ctx.unmet()
        self.warning = named(QLabel(self._unmet_text()), "warning")
        self.warning.setWordWrap(True)
        self.warning.setVisible(bool(self.unmet))
        outer.addWidget(self.warning)
        # An early discharge needs the nurse's explicit confirmation, stored with it.
        self.confirm_early = QCheckBox("Discharge early: I confirm, although the above is "
                                       "not yet met")
        self.confirm_early.setVisible(bool(self.unmet))
        self.confirm_early.toggled.connect(lambda _on: self.error.setText(""))
        outer.addWidget(self.confirm_early)
        self.error: QLabel = named(QLabel(""), "error")
        self.error.setWordWrap(True)
        outer.addWidget(self.error)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Keep recording")
        self.save_button = QPushButton("Record discharge and end")
        self.save_button.setDefault(True)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        outer.addLayout(buttons)
        self.cancel_button.clicked.connect(self.reject)
        self.save_button.clicked.connect(self.accept)
        self.scale_group.idClicked.connect(self._on_scale)
        self.scale_buttons[scale].setChecked(True)
        self._on_scale(list(SCALES).index(scale))

    def _page(self, scale: Scale) -> QWidget:
        page = QWidget()
        grid = QGridLayout(page)
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(6)
        self.groups[scale.key] = {}
        for row, item in enumerate(scale.items):
            grid.addWidget(QLabel(f"<b>{item.label}</b>"), 2 * row, 0)
            group = QButtonGroup(page)
            for col, (score, text) in enumerate(item.options):
                b = QRadioButton(f"{score}  {text}")
                group.addButton(b, score)
                grid.addWidget(b, 2 * row, col + 1)
            group.idClicked.connect(lambda _id: self._update_total())
            self.groups[scale.key][item.key] = group
            hint = self.ctx.hints.get(item.key)
            if hint:
                grid.addWidget(named(QLabel(hint), "hint"), 2 * row + 1, 1, 1, 3)
        return page

    @property
    def scale(self) -> Scale:
        key = next(k for k, b in self.scale_buttons.items() if b.isChecked())
        return SCALES[key]

    def _on_scale(self, index: int) -> None:
        self.pages.setCurrentIndex(index)
        self._update_total()

    def answers(self) -> dict[str, int]:
        """The items scored so far on the chosen scale (unscored items are absent)."""
        return {key: g.checkedId() for key, g in self.groups[self.scale.key].items()
                if g.checkedId() >= 0}

    def set_answer(self, item: str, score: int) -> None:
        button = self.groups[self.scale.key][item].button(score)
        button.click()

    def _update_total(self) -> None:
        scale, answers = self.scale, self.answers()
        if len(answers) < len(scale.items):
            self.total.setText(f"{scale.name}: {len(answers)} of {len(scale.items)} items "
                               "scored")
            self.total.setStyleSheet("")
            return
        score = sum(answers.values())
        ok = meets_criterion(score)
        text = "meets the discharge criterion (9 or more)" if ok else \
            "below 9: does not meet the discharge criterion"
        self.total.setText(f"{scale.name} {score} / {scale.max_score}: {text}")
        colour = "#7bd88f" if ok else ALARM_COLOURS[Priority.HIGH].name()
        self.total.setStyleSheet(f"color: {colour};")

    def _unmet_text(self) -> str:
        if not self.unmet:
            return ""
        return ("Not yet met: " + "; ".join(self.unmet) + ". Discharging now needs your "
                "confirmation; it is recorded with the discharge and printed on the report.")

    def ready_t_s(self) -> float:
        return float(self.ready.dateTime().toSecsSinceEpoch()) - self.ctx.wall0

    def accept(self) -> None:
        scale, answers = self.scale, self.answers()
        missing = [it.label for it in scale.items if it.key not in answers]
        if missing:
            self.error.setText(f"Not scored: {', '.join(missing)}")
            return
        if self.unmet and not self.confirm_early.isChecked():
            self.error.setText("Early discharge: tick the confirmation above (not yet met: "
                               f"{'; '.join(self.unmet)})")
            return
        ready = min(max(0.0, self.ready_t_s()), self.ctx.now_s)
        self.data = entry_data(scale, answers, round(ready, 1))
        if self.unmet:
            self.data[EARLY_DISCHARGE_KEY] = "; ".join(self.unmet)
        self.error.setText("")
        super().accept()


def resume_text(session: Session, now_wall: float | None = None) -> str:
    now = time.time() if now_wall is None else now_wall
    end = session.end_wall if session.end_wall is not None else session.start_wall
    started = time.strftime("%H:%M", time.localtime(session.start_wall))
    stopped = time.strftime("%H:%M", time.localtime(end))
    who = session.patient.identifier or "no patient id"
    return (f"Session {session.id} ({who}, started {started}) stopped unexpectedly at "
            f"{stopped}, {max(0, round((now - end) / 60))} min ago.\n\n"
            "Resume it? Recording continues in the same session; the gap shows on the "
            "trend and the timeline.")


def ask_resume(session: Session, parent: QWidget | None = None,
               run: Callable[[QMessageBox], object] = QMessageBox.exec,
               last: bool = True) -> bool:
    """Asks whether to resume `session` (a crash interrupted it); True: resume it. Declined,
    it stays interrupted (offered again at the next start, for 4 h). `last`: no other
    interrupted session is offered after it (the other button starts a new session)."""
    box = QMessageBox(parent)
    box.setStyleSheet(DIALOG_STYLE)
    box.setWindowTitle("Vigil: resume session?")
    box.setIcon(QMessageBox.Icon.Question)
    box.setText(resume_text(session))
    resume = box.addButton("Resume session", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("New session" if last else "Not this one",
                  QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(resume)
    place_clear_of_numerics(box, parent)
    run(box)
    return box.clickedButton() is resume


def confirm_end(parent: QWidget | None = None,
                run: Callable[[QMessageBox], object] = QMessageBox.exec) -> bool:
    """Asks before ending the session (recording stops for good)."""
    box = QMessageBox(parent)
    box.setStyleSheet(DIALOG_STYLE)
    box.setWindowTitle("Vigil: end session?")
    box.setIcon(QMessageBox.Icon.Question)
    box.setText("End the session? The discharge checklist comes next; recording stops "
                "when the discharge is recorded.")
    end = box.addButton("End session", QMessageBox.ButtonRole.AcceptRole)
    keep = box.addButton("Keep recording", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    place_clear_of_numerics(box, parent)
    run(box)
    return box.clickedButton() is end


class QuitChoice:
    KEEP = "keep"  # keep recording, the window stays
    END = "end"  # end the session (confirm, discharge) first
    QUIT = "quit"  # quit now: the session stays interrupted, to be resumed


def confirm_quit(session_id: int, parent: QWidget | None = None,
                 run: Callable[[QMessageBox], object] = QMessageBox.exec) -> str:
    """Asks before quitting while the session records (a `QuitChoice`); keeping it
    recording is the default, so a stray Ctrl+Q or Enter ends nothing."""
    box = QMessageBox(parent)
    box.setStyleSheet(DIALOG_STYLE)
    box.setWindowTitle("Vigil: quit?")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setText(f"Session {session_id} is still recording.\n\nQuit without ending it? The "
                "session stays interrupted (not completed) and is offered for resuming at "
                "the next start. To end it, record the discharge (Ctrl+End).")
    keep = box.addButton("Keep recording", QMessageBox.ButtonRole.RejectRole)
    end = box.addButton("End session...", QMessageBox.ButtonRole.ActionRole)
    quit_ = box.addButton("Quit, leave it interrupted", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    place_clear_of_numerics(box, parent)
    run(box)
    clicked = box.clickedButton()
    return (QuitChoice.QUIT if clicked is quit_ else QuitChoice.END if clicked is end
            else QuitChoice.KEEP)
