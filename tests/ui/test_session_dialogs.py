"""The lifecycle dialogs, driven as a nurse would: keys, fields, buttons (offscreen)."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import QMessageBox

from devices.spec import parse_spec
from monitor.discharge import ALDRETE, PADSS
from monitor.session import DoseProtocol, Patient, Phase, Route, Session, SessionStatus
from tests.helpers.qt import in_dialog
from ui.session_dialogs import (
    DischargeContext,
    DischargeDialog,
    NewSessionDialog,
    NewSessionForm,
    ask_resume,
    confirm_end,
)

SIM = (parse_spec("sim"),)


def new_dialog(qtbot, form: NewSessionForm | None = None) -> NewSessionDialog:
    dialog = NewSessionDialog(form or NewSessionForm.for_specs(SIM), 8 * 3600.0)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def test_enter_accepts_the_simulator_defaults(qtbot) -> None:
    dialog = new_dialog(qtbot)
    assert dialog.mg_per_kg.text() == "= 0.50 mg/kg"
    assert dialog.focusWidget() is dialog.patient  # typing starts in the patient field
    qtbot.keyClick(dialog.patient, Qt.Key.Key_Return)
    assert dialog.result() == NewSessionDialog.DialogCode.Accepted
    plan = dialog.plan
    assert plan is not None
    assert plan.patient == Patient("SIM-DEMO", 70.0)
    assert plan.protocol == DoseProtocol("ketamine", Route.IV, 35.0, 40.0, None)
    assert plan.preset == "iv-ketamine" and [s.text for s in plan.specs] == ["sim"]
    assert plan.duration_s == 8 * 3600.0 and plan.speed == 1.0


@pytest.mark.parametrize(("weight", "message"), [
    ("abc", "Weight: 'abc' is not a number"), ("-3", "Weight: must be a positive number"),
    ("0", "Weight: must be a positive number"), ("", "Weight: required")])
def test_weight_must_be_a_positive_number(qtbot, weight: str, message: str) -> None:
    dialog = new_dialog(qtbot)
    dialog.weight.setText(weight)
    assert dialog.mg_per_kg.text() == "= -- mg/kg"
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.plan is None
    assert dialog.error.text() == message
    dialog.weight.setText("80")  # typing a good value: mg/kg follows, Start works
    assert dialog.mg_per_kg.text() == "= 0.44 mg/kg"
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.plan is not None and dialog.plan.patient.weight_kg == 80.0
    assert dialog.error.text() == ""


def test_a_real_device_assumes_no_patient_and_bad_specs_are_named(qtbot) -> None:
    form = NewSessionForm.for_specs((parse_spec("masimo:/dev/ttyUSB0"),))
    dialog = new_dialog(qtbot, form)
    assert dialog.patient.text() == "" and dialog.weight.text() == ""
    assert dialog.devices.text() == "masimo:/dev/ttyUSB0"
    qtbot.keyClick(dialog.patient, Qt.Key.Key_Return)
    assert dialog.plan is None and dialog.error.text().startswith("Patient: required")
    qtbot.keyClicks(dialog.patient, "JD")
    qtbot.keyClicks(dialog.weight, "62,5")  # a decimal comma is a decimal point
    qtbot.keyClicks(dialog.dose, "31")
    assert dialog.mg_per_kg.text() == "= 0.50 mg/kg"
    dialog.devices.setText("sim:nonsense")
    qtbot.keyClick(dialog.dose, Qt.Key.Key_Return)
    assert dialog.plan is None and "unknown scenario 'nonsense'" in dialog.error.text()
    dialog.devices.setText("")
    qtbot.keyClick(dialog.dose, Qt.Key.Key_Return)
    assert dialog.error.text().startswith("Devices: at least one")
    dialog.devices.setText("sim sim:desaturation?seed=2")
    dialog.lot.setText("LOT-42")
    qtbot.keyClick(dialog.dose, Qt.Key.Key_Return)
    assert dialog.plan is not None
    assert dialog.plan.patient == Patient("JD", 62.5)
    assert dialog.plan.protocol.lot == "LOT-42"
    assert [s.text for s in dialog.plan.specs] == ["sim", "sim:desaturation?seed=2"]


def test_route_sets_infusion_and_suggests_the_preset_unless_one_was_chosen(qtbot) -> None:
    dialog = new_dialog(qtbot)
    dialog.route.setCurrentIndex(dialog.route.findData(Route.INTRANASAL))
    assert not dialog.infusion.isEnabled()
    assert dialog.preset.currentData() == "esketamine-rems"
    assert "Spravato" in dialog.preset.currentText()  # the preset's description is shown
    dialog.drug.setCurrentText("esketamine")
    dialog.dose.setText("84")
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    plan = dialog.plan
    assert plan is not None and plan.protocol.route is Route.INTRANASAL
    assert plan.protocol.infusion_min is None and plan.preset == "esketamine-rems"
    assert plan.protocol.drug == "esketamine"
    # A preset the nurse chose stays when the route changes.
    other = new_dialog(qtbot)
    other.preset.setCurrentIndex(other.preset.findData("sublingual"))
    other.preset.activated.emit(other.preset.currentIndex())
    other.route.setCurrentIndex(other.route.findData(Route.IM))
    assert other.preset.currentData() == "sublingual"
    other.route.setCurrentIndex(other.route.findData(Route.IV))
    other.infusion.setText("0")
    qtbot.mouseClick(other.start_button, Qt.MouseButton.LeftButton)
    assert other.plan is None and other.error.text() == "Infusion (min): must be a positive number"


def discharge_dialog(qtbot, preset: str = "iv-ketamine", dose: float | None = 600.0,
                     now: float = 4200.0, hints: dict[str, str] | None = None,
                     ) -> DischargeDialog:
    wall0 = float(int(time.time()) - 5000)
    ctx = DischargeContext(wall0, now, dose, preset, hints or {})
    dialog = DischargeDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def test_discharge_needs_every_item_and_totals_against_9(qtbot) -> None:
    dialog = discharge_dialog(qtbot, hints={"spo2": "SpO2 now 97 %"})
    assert dialog.scale is ALDRETE and not dialog.warning.isVisible()
    assert "0 of 5 items scored" in dialog.total.text()
    assert dialog.findChildren(type(dialog.total), "hint")[0].text() == "SpO2 now 97 %"
    for key in ("activity", "respiration"):
        dialog.set_answer(key, 2)
    assert "2 of 5 items scored" in dialog.total.text()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.data is None
    assert dialog.error.text() == "Not scored: Circulation (BP vs pre-dose), Consciousness, SpO2"
    for key, score in (("circulation", 2), ("consciousness", 1), ("spo2", 1)):
        dialog.set_answer(key, score)
    assert dialog.total.text() == ("Modified Aldrete 8 / 10: below 9: does not meet the "
                                   "discharge criterion")
    dialog.set_answer("consciousness", 2)
    assert dialog.total.text() == "Modified Aldrete 9 / 10: meets the discharge criterion " \
        "(9 or more)"
    qtbot.keyClick(dialog.save_button, Qt.Key.Key_Return)
    assert dialog.result() == DischargeDialog.DialogCode.Accepted
    data = dialog.data
    assert data is not None and data["scale"] == "aldrete" and data["score"] == 9
    assert data["meets_criterion"] == 1 and data["item_spo2"] == 1
    assert data["ready_t_s"] == pytest.approx(4200.0, abs=1.0)


def test_padss_and_an_earlier_ready_time(qtbot) -> None:
    dialog = discharge_dialog(qtbot)
    qtbot.mouseClick(dialog.scale_buttons["padss"], Qt.MouseButton.LeftButton)
    assert dialog.scale is PADSS and "0 of 5" in dialog.total.text()
    for item in PADSS.items:
        dialog.set_answer(item.key, 2)
    ready = QDateTime.fromSecsSinceEpoch(int(dialog.ctx.wall0 + 3000))
    dialog.ready.setDateTime(ready)
    dialog.accept()
    assert dialog.data is not None and dialog.data["scale"] == "padss"
    assert dialog.data["score"] == 10
    assert dialog.data["ready_t_s"] == pytest.approx(3000.0, abs=60.0)  # minute display
    # The ready time cannot be set before the session or after now.
    assert dialog.ready.minimumDateTime().toSecsSinceEpoch() == int(dialog.ctx.wall0)


def test_discharge_under_the_rems_two_hours_needs_a_confirmation_stored_with_it(qtbot) -> None:
    dialog = discharge_dialog(qtbot, preset="esketamine-rems", dose=600.0, now=600.0 + 4500)
    assert dialog.warning.isVisible() and dialog.confirm_early.isVisible()
    assert dialog.warning.text().startswith(
        "Not yet met: the 2 h minimum monitoring of esketamine-rems (1 h 15 min since the "
        "dose start, 45 min to go).")
    for item in ALDRETE.items:
        dialog.set_answer(item.key, 2)
    dialog.accept()  # not confirmed: nothing recorded, and it says why
    assert dialog.data is None and dialog.isVisible()
    assert dialog.error.text().startswith("Early discharge: tick the confirmation")
    dialog.confirm_early.click()
    dialog.accept()
    assert dialog.data is not None
    assert dialog.data["early_discharge"] == ("the 2 h minimum monitoring of esketamine-rems "
                                              "(1 h 15 min since the dose start, 45 min to go)")
    done = discharge_dialog(qtbot, preset="esketamine-rems", dose=600.0, now=600.0 + 7200)
    assert not done.warning.isVisible() and not done.confirm_early.isVisible()


def test_discharge_during_the_dose_and_the_peak_names_both(qtbot) -> None:
    """Eight minutes after an IV dose started (no Dose stop yet): not a REMS preset, yet
    the dose is running and the peak (25-50 min) is ahead."""
    phases = (Phase("baseline", 0.0, 600.0), Phase("dosing", 600.0, 3000.0),
              Phase("peak", 600.0 + 1500, 600.0 + 3000), Phase("recovery", 3600.0, 1080.0))
    wall0 = float(int(time.time()) - 5000)
    dialog = DischargeDialog(DischargeContext(wall0, 1080.0, 600.0, "iv-ketamine", {},
                                              phases, True))
    qtbot.addWidget(dialog)
    for item in ALDRETE.items:
        dialog.set_answer(item.key, 2)
    dialog.confirm_early.click()
    dialog.accept()
    assert dialog.data is not None
    assert dialog.data["early_discharge"] == (
        "the dose has not stopped (no Dose stop entered); the patient has not left the "
        "expected peak (until 50 min after the dose start)")
    after = DischargeDialog(DischargeContext(wall0, 600.0 + 3001, 600.0, "iv-ketamine", {},
                                             phases, False))
    qtbot.addWidget(after)
    assert after.unmet == [] and after.confirm_early.isHidden()


def _press_on_modal(key: Qt.Key) -> None:
    in_dialog(QMessageBox, lambda box: box.defaultButton().click() if key == Qt.Key.Key_Return
              else box.reject())


def test_resume_prompt_defaults_to_resuming(qtbot) -> None:
    end = time.time() - 7 * 60
    session = Session(4, "u", Patient("AB", 70.0), DoseProtocol(), None, end - 1800, end,
                      SessionStatus.INTERRUPTED)
    _press_on_modal(Qt.Key.Key_Return)
    assert ask_resume(session) is True
    seen: list[str] = []

    def choose_new(box: QMessageBox) -> None:
        seen.append(box.text())
        next(b for b in box.buttons() if b.text() == "New session").click()

    assert ask_resume(session, run=choose_new) is False
    assert seen[0].startswith("Session 4 (AB, started ") and "7 min ago" in seen[0]


def test_ending_needs_a_confirmation_that_defaults_to_keep_recording(qtbot) -> None:
    _press_on_modal(Qt.Key.Key_Return)
    assert confirm_end() is False

    def end(box: QMessageBox) -> None:
        next(b for b in box.buttons() if b.text() == "End session").click()

    assert confirm_end(run=end) is True
