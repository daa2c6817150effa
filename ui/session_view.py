"""One past session, read-only: a summary header, the dashboard's trend over the whole
session (zoom and pan), the timeline entries under it, and the exports.

The session is read on a worker thread with its own read-only connection (an 8-hour
session takes about a second); the window shows "Loading" until then. Nothing here can
change the store.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from alarms.model import AlarmKind
from monitor.entry_catalog import CADSS6_ITEMS, CADSS_ANCHORS
from monitor.history import SessionHistory, load_history
from monitor.session import EntryKind, Session, SessionStatus
from monitor.store import SessionStore
from ui.entry_list import EntryList, elapsed, entry_rows, since_dose
from ui.export_panel import CHECKBOX_STYLE, ExportPanel
from ui.jobs import Job
from ui.theme import STYLESHEET, TEXT_DIM, named
from ui.timeline import TimelineView
from ui.trend import WINDOWS_MIN, TrendView

# Session states, in colours kept clear of the alarm colours (this is not an alarm).
STATUS_COLOURS = {SessionStatus.INTERRUPTED: "#ff9800", SessionStatus.ACTIVE: "#66bb6a",
                  SessionStatus.COMPLETED: TEXT_DIM.name()}


def _read(store_path: Path, session_id: int) -> SessionHistory:
    with SessionStore(store_path, read_only=True) as store:
        return load_history(store, session_id)


def dose_text(session: Session) -> str:
    """Drug, route and dose from the session's protocol, else from its first dose entry."""
    p = session.protocol
    first = next(iter(session.entries_of(EntryKind.DOSE_START)), None)
    data = dict(first.data) if first is not None else {}
    drug = p.drug or data.get("drug")
    route = p.route or data.get("route")
    dose = p.dose_mg if p.dose_mg is not None else data.get("dose_mg")
    minutes = p.infusion_min if p.infusion_min is not None else data.get("infusion_min")
    if not (drug or dose):
        return "no dose recorded"
    parts = [str(drug or "dose"), str(route).upper() if route else ""]
    if isinstance(dose, int | float):
        parts.append(f"{dose:g} mg")
        if session.patient.weight_kg:
            parts.append(f"({dose / session.patient.weight_kg:.2f} mg/kg)")
    if isinstance(minutes, int | float):
        parts.append(f"over {minutes:g} min")
    return " ".join(x for x in parts if x)


def status_text(history: SessionHistory) -> str:
    """The banner for a session that did not end normally; empty for a completed one."""
    s = history.session
    if s.status is SessionStatus.INTERRUPTED:
        return (f"INTERRUPTED: the recording stopped at {elapsed(history.end_s)} without the "
                "session being ended (the program or computer stopped). Shown up to then.")
    if s.status is SessionStatus.ACTIVE:
        return (f"STILL RECORDING: shown up to {elapsed(history.end_s)}, when it was opened. "
                "Reload for more.")
    return ""


def cadss_table(session: Session, dose_s: float | None
                ) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The CADSS-6 ratings as a table a clinician reads: one column per rating (its time
    and time since the dose), one row per item with its score and anchor word, then the
    total. An item not stored shows a dash; ([], []) when no CADSS-6 was rated."""
    entries = [e for e in session.entries_of(EntryKind.DISSOCIATION)
               if e.data.get("scale") == "cadss6"]
    if not entries:
        return [], []
    columns = [f"{elapsed(e.t_s)}\n{since_dose(e.t_s, dose_s)}".strip() for e in entries]
    rows: list[tuple[str, list[str]]] = []
    for item in CADSS6_ITEMS:
        cells = []
        for e in entries:
            items = e.data.get("items")
            v = items.get(str(item.number)) if isinstance(items, Mapping) else None
            if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < len(CADSS_ANCHORS):
                cells.append(f"{v}  {CADSS_ANCHORS[v]}")
            else:
                cells.append("—")
        rows.append((f"{item.number}. {item.label}", cells))
    totals = []
    for e in entries:
        score = e.data.get("score")
        totals.append(f"{score:g} / {4 * len(CADSS6_ITEMS)}"
                      if isinstance(score, int | float) else "—")
    rows.append(("Total", totals))
    return columns, rows


TIMELINE_MIN_HEIGHT = 210


class SessionView(QMainWindow):
    """`loaded` fires each time the session has been read and drawn; `failed` with why."""

    loaded = Signal()
    failed = Signal(str)

    def __init__(self, store_path: Path | str, session_id: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store_path = Path(store_path)
        self.session_id = session_id
        self.history: SessionHistory | None = None
        self.trend: TrendView | None = None
        self.timeline_widget: QWidget | None = None
        self._timeline_plot: pg.PlotItem | None = None
        self._job: Job | None = None
        self.setWindowTitle(f"Vigil: session {session_id} (read-only)")
        self.setStyleSheet(STYLESHEET)
        self.resize(1920, 1080)
        self._build()
        self._actions()
        self.reload()

    # -- layout ------------------------------------------------------------------------

    def _build(self) -> None:
        root = QWidget(self)
        outer = QVBoxLayout(root)
        outer.setContentsMargins(12, 8, 12, 8)
        outer.setSpacing(6)
        top = QHBoxLayout()
        self.title_label = named(QLabel("Loading the session…"), "header")
        self.title_label.setStyleSheet("font-size: 28px; font-weight: bold;")
        self.status_badge = named(QLabel(""), "header")
        self.readonly_label = named(QLabel("READ-ONLY"), "headerDim")
        top.addWidget(self.title_label)
        top.addStretch(1)
        top.addWidget(self.status_badge)
        top.addSpacing(24)
        top.addWidget(self.readonly_label)
        outer.addLayout(top)
        self.detail_label = named(QLabel(""), "headerDim")
        outer.addWidget(self.detail_label)
        self.banner = QLabel("")
        self.banner.setWordWrap(True)
        self.banner.hide()
        outer.addWidget(self.banner)

        bar = QHBoxLayout()
        bar.addWidget(named(QLabel("Session trend"), "headerDim"))
        bar.addSpacing(20)
        bar.addWidget(named(QLabel("zoom  [+] [-]   pan: drag   whole session  [Home]"),
                            "headerDim"))
        bar.addStretch(1)
        self.reload_button = QPushButton("Reload")
        self.reload_button.clicked.connect(self.reload)
        self.whole_button = QPushButton("Whole session  [Home]")
        self.whole_button.clicked.connect(self.show_whole_session)
        for b in (self.reload_button, self.whole_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            bar.addWidget(b)
        outer.addLayout(bar)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.trend_box = QWidget()
        self._trend_layout = QVBoxLayout(self.trend_box)
        self._trend_layout.setContentsMargins(0, 0, 0, 0)
        self.splitter.addWidget(self.trend_box)
        self.timeline_box = QWidget()
        self._timeline_layout = QVBoxLayout(self.timeline_box)
        self._timeline_layout.setContentsMargins(0, 0, 0, 0)
        self.timeline_box.hide()
        self.splitter.addWidget(self.timeline_box)
        entries_box = QWidget()
        eb = QVBoxLayout(entries_box)
        eb.setContentsMargins(0, 4, 0, 0)
        head = QHBoxLayout()
        head.addWidget(named(QLabel("Timeline  (double-click: show on the trend)"), "headerDim"))
        head.addStretch(1)
        self.show_alarms = QCheckBox("Alarms")
        self.show_devices = QCheckBox("Device events")
        for box in (self.show_alarms, self.show_devices):
            box.setStyleSheet(CHECKBOX_STYLE)
            box.toggled.connect(self._fill_entries)
            head.addWidget(box)
        eb.addLayout(head)
        self.entries = EntryList()
        self.entries.setStyleSheet("font-size: 18px;")
        self.entries.entryActivated.connect(self.centre_on)
        lists = QHBoxLayout()
        lists.addWidget(self.entries, 3)
        # CADSS-6 ratings beside the entries: item by item, one column per rating.
        self.cadss_box = QWidget()
        cb = QVBoxLayout(self.cadss_box)
        cb.setContentsMargins(8, 0, 0, 0)
        cb.addWidget(named(QLabel("CADSS-6  (0 not at all … 4 extremely)"), "headerDim"))
        self.cadss = QTableWidget(0, 0)
        self.cadss.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.cadss.setStyleSheet("font-size: 17px;")
        self.cadss.setWordWrap(False)
        for header in (self.cadss.horizontalHeader(), self.cadss.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        cb.addWidget(self.cadss)
        self.cadss_box.hide()
        lists.addWidget(self.cadss_box, 2)
        eb.addLayout(lists)
        self.splitter.addWidget(entries_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([620, 0, 330])
        outer.addWidget(self.splitter, 1)

        self.export = ExportPanel(self.store_path)
        outer.addWidget(self.export)
        self.setCentralWidget(root)

    def _actions(self) -> None:
        def add(text: str, keys: list[str], slot: object) -> QAction:
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
            return action

        self.act_zoom_in = add("Trend: less time", ["+", "="], lambda: self.zoom(-1))
        self.act_zoom_out = add("Trend: more time", ["-"], lambda: self.zoom(+1))
        self.act_whole = add("Whole session", ["Home"], self.show_whole_session)
        self.act_close = add("Close", ["Ctrl+W", "Esc"], self.close)

    def set_timeline_widget(self, widget: QWidget, plot: pg.PlotItem | None = None) -> None:
        """Puts a timeline widget between the trend and the entry table; `plot` (if given)
        shares the trend's time axis, so zoom and pan move both."""
        if self.timeline_widget is not None:
            self._timeline_layout.removeWidget(self.timeline_widget)
            self.timeline_widget.setParent(None)
        self.timeline_widget = widget
        widget.setMinimumHeight(TIMELINE_MIN_HEIGHT)  # every lane readable
        self._timeline_layout.addWidget(widget)
        self.timeline_box.show()
        self._timeline_plot = plot
        if plot is not None and self.trend is not None:
            self.trend.link_x(plot)

    # -- loading -----------------------------------------------------------------------

    def reload(self) -> None:
        """Reads the session again (off the GUI thread)."""
        if self._job is not None:
            return
        sid, path = self.session_id, self.store_path
        job = Job(lambda: _read(path, sid))
        job.signals.done.connect(self._on_loaded)
        job.signals.failed.connect(self._on_failed)
        self._job = job
        self.reload_button.setEnabled(False)
        job.start()

    @Slot(object)
    def _on_loaded(self, history: object) -> None:
        self._job = None
        self.reload_button.setEnabled(True)
        assert isinstance(history, SessionHistory)
        self.set_history(history)
        self.loaded.emit()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._job = None
        self.reload_button.setEnabled(True)
        self.title_label.setText(f"Session {self.session_id} cannot be shown")
        self._show_banner(message, "#ff8a65")
        self.failed.emit(message)

    def set_history(self, history: SessionHistory) -> None:
        self.history = history
        self._fill_header(history)
        if self.trend is not None:  # a reload: a fresh trend for the fresh data
            self._trend_layout.removeWidget(self.trend)
            self.trend.deleteLater()
        end = history.end_s
        self.trend = TrendView(history.trends, lambda: end)
        self.trend.set_follow(False)
        self._trend_layout.addWidget(self.trend)
        if self.timeline_widget is not None and self._timeline_plot is not None:
            self.trend.link_x(self._timeline_plot)
        self.trend.refresh(force=True)
        # The same timeline as on the dashboard, read-only, on the trend's time axis.
        timeline = TimelineView.from_session(history.session,
                                             nibp_times=history.trends.series("sbp")[0])
        self.set_timeline_widget(timeline, timeline.plot)
        self.show_whole_session()
        self._fill_entries()
        self._fill_cadss(history)
        self.export.set_session(history.session.id)

    # -- content -----------------------------------------------------------------------

    def _fill_header(self, h: SessionHistory) -> None:
        s = h.session
        start = time.localtime(s.start_wall)
        end = time.localtime(s.start_wall + h.end_s)
        day = time.strftime("%a %d %b %Y", start)
        span = f"{time.strftime('%H:%M', start)}–{time.strftime('%H:%M', end)}"
        patient = s.patient.identifier or "no patient id"
        self.title_label.setText(f"{patient}   ·   {day}, {span}   ·   {elapsed(h.end_s)}")
        self.status_badge.setText(str(s.status).upper())
        self.status_badge.setStyleSheet(
            f"color: {STATUS_COLOURS[s.status]}; font-size: 26px; font-weight: bold;")
        physio = sum(1 for e in h.episodes if e.kind is AlarmKind.PHYSIOLOGICAL)
        technical = sum(1 for e in h.episodes if e.kind is AlarmKind.TECHNICAL)
        alarms = (f"{physio} alarm{'s' if physio != 1 else ''}, {technical} technical"
                  if h.alarm_log_available else "no alarm log in this store")
        dose = h.dose_start_s
        parts = [f"Session {s.id}", dose_text(s),
                 "no dose start" if dose is None else f"dose at {elapsed(dose)}",
                 f"preset {s.preset}" if s.preset else "", alarms,
                 "times: local"]
        self.detail_label.setText("   ·   ".join(p for p in parts if p))
        text = status_text(h)
        if text:
            self._show_banner(text, STATUS_COLOURS[s.status])
        else:
            self.banner.hide()
        self.reload_button.setVisible(s.status is SessionStatus.ACTIVE)

    def _show_banner(self, text: str, colour: str) -> None:
        self.banner.setText(text)
        self.banner.setStyleSheet(f"color: {colour}; font-size: 22px; font-weight: bold;"
                                  f" border: 2px solid {colour}; border-radius: 6px;"
                                  " padding: 6px;")
        self.banner.show()

    def _fill_entries(self) -> None:
        h = self.history
        if h is None:
            return
        rows = entry_rows(h.session.entries, h.dose_start_s,
                          h.device_events if self.show_devices.isChecked() else (),
                          h.episodes if self.show_alarms.isChecked() else ())
        self.entries.set_rows(rows)

    def _fill_cadss(self, h: SessionHistory) -> None:
        columns, rows = cadss_table(h.session, h.dose_start_s)
        self.cadss.clear()
        self.cadss.setColumnCount(len(columns))
        self.cadss.setRowCount(len(rows))
        self.cadss.setHorizontalHeaderLabels(columns)
        self.cadss.setVerticalHeaderLabels([label for label, _ in rows])
        for r, (_label, cells) in enumerate(rows):
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if r == len(rows) - 1:  # the total
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.cadss.setItem(r, c, item)
        self.cadss_box.setVisible(bool(columns))
        if columns:  # every item row readable without scrolling
            self.cadss.resizeRowsToContents()
            self.cadss.setMinimumHeight(self.cadss.verticalHeader().length()
                                        + self.cadss.horizontalHeader().height() + 6)

    # -- trend control -----------------------------------------------------------------

    def show_whole_session(self) -> None:
        if self.trend is None or self.history is None:
            return
        span = max(self.history.end_s, 120.0)
        pad = span * 0.02
        self.trend.set_follow(False)
        self.trend.window_min = next((m for m in WINDOWS_MIN if m * 60 >= span),
                                     WINDOWS_MIN[-1])
        self.trend.plots[0].setXRange(-pad, span + pad, padding=0)

    def zoom(self, steps: int) -> None:
        if self.trend is not None:
            self.trend.zoom(steps)

    def centre_on(self, t_s: float) -> None:
        """Pans the trend so `t_s` is in the middle, keeping the zoom."""
        if self.trend is None:
            return
        lo, hi = self.trend.x_range()
        half = (hi - lo) / 2
        self.trend.plots[0].setXRange(t_s - half, t_s + half, padding=0)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.trend is not None:
            self.trend.stop()
        super().closeEvent(event)
