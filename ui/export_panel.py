"""Export buttons for one stored session: PDF, vitals CSV, alarm-log CSV, FHIR, with a
de-identify box. Each export runs on a worker thread with its own read-only connection;
the window stays responsive and the result or the error is shown in words.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QCheckBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from monitor.session_export import FORMATS, export_session, suggested_name
from ui.jobs import Job
from ui.theme import TEXT, TEXT_DIM, named

ERROR_COLOUR = "#ff8a65"
# A box that reads as a box on the dark theme: outlined when off, filled when on.
CHECKBOX_STYLE = (f"QCheckBox {{ font-size: 20px; spacing: 8px; }}"
                  f" QCheckBox::indicator {{ width: 18px; height: 18px;"
                  f" border: 2px solid {TEXT_DIM.name()}; border-radius: 3px; }}"
                  f" QCheckBox::indicator:checked {{ background: {TEXT.name()};"
                  f" border-color: {TEXT.name()}; }}")
BUTTON_TEXT = {"pdf": "PDF report", "csv": "CSV vitals", "alarms": "CSV alarms", "fhir": "FHIR"}


class ExportPanel(QWidget):
    """`session_id` None disables the buttons (nothing selected)."""

    finished = Signal(str, str, bool, str)  # format, path, ok, message shown

    def __init__(self, store_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store_path = Path(store_path)
        self.session_id: int | None = None
        # Staff sign-in (issue 14): the signed-in clinician, printed on the report's
        # signature line; what the last export was, for the audit trail.
        self.clinician: str | None = None
        self.last_session_id: int | None = None
        self.last_deidentified = False
        self._job: Job | None = None
        self._running: tuple[str, str] | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(named(QLabel("Export:"), "headerDim"))
        self.buttons: dict[str, QPushButton] = {}
        for fmt in FORMATS:
            btn = QPushButton(BUTTON_TEXT[fmt])
            btn.clicked.connect(lambda _=False, f=fmt: self.ask_and_export(f))
            row.addWidget(btn)
            self.buttons[fmt] = btn
        self.deidentify = QCheckBox("De-identify")
        self.deidentify.setToolTip("pseudonym instead of the patient, dates shifted, "
                                   "no session number, no free text")
        self.deidentify.setStyleSheet(CHECKBOX_STYLE)
        row.addWidget(self.deidentify)
        self.status = named(QLabel(""), "headerDim")
        self.status.setWordWrap(True)
        row.addWidget(self.status, 1)
        self.set_session(None)

    @property
    def busy(self) -> bool:
        return self._job is not None

    def set_session(self, session_id: int | None) -> None:
        self.session_id = session_id
        self._update_enabled()

    def set_clinician(self, name: str | None) -> None:
        self.clinician = name

    def _update_enabled(self) -> None:
        for btn in self.buttons.values():
            btn.setEnabled(self.session_id is not None and not self.busy)

    def ask_and_export(self, fmt: str) -> None:
        if self.session_id is None:
            return
        start = Path.home() / suggested_name(self.session_id, fmt,
                                             self.deidentify.isChecked())
        path, _ = QFileDialog.getSaveFileName(self, f"Export the {FORMATS[fmt]}", str(start))
        if path:
            self.export(fmt, path)

    def export(self, fmt: str, path: str | Path) -> None:
        """Starts writing `fmt` to `path` in the background; `finished` reports it."""
        if self.session_id is None or self.busy:
            return
        sid, deid, out = self.session_id, self.deidentify.isChecked(), str(path)
        who = self.clinician
        self.last_session_id, self.last_deidentified = sid, deid
        job = Job(lambda: export_session(self.store_path, sid, fmt, out, deidentify=deid,
                                         clinician=who))
        job.signals.done.connect(self._on_done)
        job.signals.failed.connect(self._on_failed)
        self._job, self._running = job, (fmt, out)
        self._update_enabled()
        self._show(f"Writing the {FORMATS[fmt]}…", error=False)
        job.start()

    @Slot(object)
    def _on_done(self, what: object) -> None:
        fmt, out = self._end()
        self._show(f"{FORMATS[fmt].capitalize()} written: {out} ({what})", error=False)
        self.finished.emit(fmt, out, True, self.status.text())

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        fmt, out = self._end()
        self._show(f"Could not write the {FORMATS[fmt]}. {message}", error=True)
        self.finished.emit(fmt, out, False, self.status.text())

    def _end(self) -> tuple[str, str]:
        assert self._running is not None
        running, self._running, self._job = self._running, None, None
        self._update_enabled()
        return running

    def _show(self, text: str, error: bool) -> None:
        self.status.setText(text)
        colour = ERROR_COLOUR if error else TEXT_DIM.name()
        self.status.setStyleSheet(f"color: {colour}; font-size: 18px;"
                                  + (" font-weight: bold;" if error else ""))
