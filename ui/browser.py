"""The session browser: past sessions by patient, date and status, newest first; open one
read-only (`ui.session_view`), or export it.

The store is opened read-only, for each listing: browsing never changes it, and a session
still being recorded (by the dashboard beside it) is listed as active. `python main.py
browse` opens this window; the dashboard opens it with Ctrl+O.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from datetime import date
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QDate, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from monitor.history import SessionFilter, SessionRow, filter_rows, list_session_rows
from monitor.session import SessionStatus
from monitor.store import SessionStore, StoreError
from ui.entry_list import elapsed
from ui.export_panel import ERROR_COLOUR, ExportPanel
from ui.session_view import STATUS_COLOURS, SessionView
from ui.theme import BORDER, STYLESHEET, named

COLUMNS = ("Session", "Patient", "Start", "Duration", "Status", "Values", "Alarms",
           "Technical")
ANY_DATE = QDate(2000, 1, 1)  # the date fields' minimum, shown as "any"
STATUS_CHOICES = (("Any status", None), ("Completed", SessionStatus.COMPLETED),
                  ("Interrupted", SessionStatus.INTERRUPTED), ("Active", SessionStatus.ACTIVE))
FIELD_STYLE = f"font-size: 20px; padding: 4px; border: 1px solid {BORDER.name()};"


def _date_field() -> QDateEdit:
    field = QDateEdit()
    field.setCalendarPopup(True)
    field.setDisplayFormat("dd MMM yyyy")
    field.setMinimumDate(ANY_DATE)
    field.setSpecialValueText("any")
    field.setDate(ANY_DATE)
    field.setStyleSheet(FIELD_STYLE)
    field.setMinimumWidth(190)
    return field


def _date_of(field: QDateEdit) -> date | None:
    d = field.date()
    return None if d == ANY_DATE else date(d.year(), d.month(), d.day())


def row_cells(r: SessionRow) -> tuple[str, ...]:
    start = time.strftime("%a %d %b %Y  %H:%M", time.localtime(r.start_wall))
    duration = elapsed(r.duration_s) if r.duration_s is not None else "recording"
    return (str(r.id), r.patient or "—", start, duration, str(r.status), str(r.sample_count),
            str(r.alarm_count), str(r.technical_count))


class SessionBrowser(QMainWindow):
    opened = Signal(object)  # the SessionView just opened

    def __init__(self, store_path: Path | str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if parent is not None:
            self.setWindowFlag(Qt.WindowType.Window, True)  # its own window, not a child
        self.store_path = Path(store_path)
        self.rows: list[SessionRow] = []  # all sessions, newest first
        self.shown: list[SessionRow] = []  # those the filter lets through, as listed
        self.views: list[SessionView] = []
        self.setWindowTitle("Vigil: past sessions")
        self.setStyleSheet(STYLESHEET)
        self.resize(1920, 1080)
        self._build()
        self._actions()
        self.refresh()
        from ui.browser_lock import BrowserLock  # staff sign-in (issue 14)
        self.lock = BrowserLock(self)

    def _build(self) -> None:
        root = QWidget(self)
        outer = QVBoxLayout(root)
        outer.setContentsMargins(12, 8, 12, 8)
        outer.setSpacing(8)
        title = QHBoxLayout()
        heading = named(QLabel("Past sessions"), "header")
        heading.setStyleSheet("font-size: 28px; font-weight: bold;")
        title.addWidget(heading)
        title.addSpacing(20)
        title.addWidget(named(QLabel(f"{self.store_path}  ·  read-only"), "headerDim"))
        title.addStretch(1)
        self.count_label = named(QLabel(""), "headerDim")
        title.addWidget(self.count_label)
        outer.addLayout(title)

        filters = QHBoxLayout()
        self.patient_field = QLineEdit()
        self.patient_field.setPlaceholderText("patient id or initials")
        self.patient_field.setClearButtonEnabled(True)
        self.patient_field.setStyleSheet(FIELD_STYLE)
        self.date_from = _date_field()
        self.date_to = _date_field()
        self.status_field = QComboBox()
        for text, _ in STATUS_CHOICES:
            self.status_field.addItem(text)
        self.status_field.setStyleSheet(FIELD_STYLE)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        for text, widget in (("Patient", self.patient_field), ("From", self.date_from),
                             ("To", self.date_to), ("Status", self.status_field)):
            filters.addWidget(named(QLabel(text), "headerDim"))
            filters.addWidget(widget, 2 if widget is self.patient_field else 0)
            filters.addSpacing(12)
        filters.addStretch(1)
        filters.addWidget(self.refresh_button)
        outer.addLayout(filters)
        self.patient_field.textChanged.connect(self.apply_filter)
        self.date_from.dateChanged.connect(self.apply_filter)
        self.date_to.dateChanged.connect(self.apply_filter)
        self.status_field.currentIndexChanged.connect(self.apply_filter)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setStyleSheet("font-size: 20px;")
        header = self.table.horizontalHeader()
        for col in range(len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.cellDoubleClicked.connect(lambda r, _c: self.open_row(r))
        self.table.itemSelectionChanged.connect(self._on_selection)
        outer.addWidget(self.table, 1)

        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.hide()
        outer.addWidget(self.message)
        actions = QHBoxLayout()
        self.open_button = QPushButton("Open  [Enter]")
        self.open_button.clicked.connect(self.open_selected)
        actions.addWidget(self.open_button)
        actions.addSpacing(24)
        self.export = ExportPanel(self.store_path)
        actions.addWidget(self.export, 1)
        outer.addLayout(actions)
        self.setCentralWidget(root)

    def _actions(self) -> None:
        for text, keys, slot in (("Open", ["Return", "Enter"], self.open_selected),
                                 ("Refresh", ["F5"], self.refresh),
                                 ("Close", ["Escape", "Ctrl+W"], self.close)):
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

    # -- listing -----------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-reads the list from the store (read-only), keeping the filter."""
        try:
            with SessionStore(self.store_path, read_only=True) as store:
                self.rows = list_session_rows(store)
        except StoreError as e:
            self.rows = []
            self._say(f"The session store cannot be read. {e}")
        else:
            self.message.hide()
        self.apply_filter()

    def session_filter(self) -> SessionFilter:
        status = STATUS_CHOICES[self.status_field.currentIndex()][1]
        return SessionFilter(self.patient_field.text(), _date_of(self.date_from),
                             _date_of(self.date_to), status)

    def apply_filter(self) -> None:
        selected = self.selected_id()
        self.shown = filter_rows(self.rows, self.session_filter())
        self.table.setRowCount(len(self.shown))
        for i, r in enumerate(self.shown):
            for c, text in enumerate(row_cells(r)):
                item = QTableWidgetItem(text.upper() if c == 4 else text)
                if c in (0, 3, 5, 6, 7):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if c == 4 and r.status is not SessionStatus.COMPLETED:
                    item.setForeground(QColor(STATUS_COLOURS[r.status]))
                self.table.setItem(i, c, item)
        self.count_label.setText(f"{len(self.shown)} of {len(self.rows)} sessions")
        ids = [r.id for r in self.shown]
        if selected in ids:
            self.table.selectRow(ids.index(selected))
        elif ids:
            self.table.selectRow(0)
        self._on_selection()

    def selected_id(self) -> int | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        if len(rows) != 1:
            return None
        row = rows.pop()
        return self.shown[row].id if row < len(self.shown) else None

    def _on_selection(self) -> None:
        sid = self.selected_id()
        self.open_button.setEnabled(sid is not None)
        self.export.set_session(sid)

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {ERROR_COLOUR}; font-size: 20px; "
                                   "font-weight: bold;")
        self.message.show()

    # -- opening -----------------------------------------------------------------------

    def open_row(self, row: int) -> SessionView | None:
        if not 0 <= row < len(self.shown):
            return None
        return self.open_session(self.shown[row].id)

    def open_selected(self) -> SessionView | None:
        sid = self.selected_id()
        return None if sid is None else self.open_session(sid)

    def open_session(self, session_id: int) -> SessionView | None:
        """A read-only view of the session, in its own window (none while locked)."""
        if not self.lock.may_open(session_id):
            return None
        view = SessionView(self.store_path, session_id)
        view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.views.append(view)
        view.destroyed.connect(lambda _=None, v=view: self._forget(v))
        view.show()
        self.opened.emit(view)
        return view

    def _forget(self, view: SessionView) -> None:
        if view in self.views:
            self.views.remove(view)

    def closeEvent(self, event: QCloseEvent) -> None:
        for view in list(self.views):
            view.close()
        super().closeEvent(event)


def _quit_on_signals(app: QCoreApplication) -> None:
    """Ctrl+C and SIGTERM close the browser (nothing to save: it only reads). Python runs
    signal handlers only between bytecodes, so a timer keeps it looking."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _n, _f: app.quit())
    wake = QTimer(app)
    wake.timeout.connect(lambda: None)
    wake.start(250)


def run_browser(store_path: Path, idle_s: float | None = None) -> int:
    """`python main.py browse`: the browser on its own (`idle_s`: it locks after that long
    without input, once the store has staff accounts)."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Vigil")
    app.setOrganizationName("Vigil")
    window = SessionBrowser(store_path)
    if idle_s is not None:
        window.lock.signin.idle_s = idle_s
    _quit_on_signals(app)
    window.show()
    QTimer.singleShot(0, lambda: print(f"vigil: browsing {store_path} (read-only)",
                                       file=sys.stderr, flush=True))  # once the loop runs
    return app.exec()
