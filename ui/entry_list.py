"""The session's timeline entries as a read-only table: time since start, time since the
dose, what, the value, who, and whether it was edited.

The session view puts it under the trend. `entry_rows` is plain Python (the text of each
row), so the wording is tested without a window; the live timeline widget can replace or
join this table in the view (`SessionView.set_timeline_widget`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from alarms.episodes import Episode
from monitor.session import EntryKind, TimelineEntry
from monitor.store_rows import DeviceEventRow
from ui.theme import TEXT_DIM

COLUMNS = ("Time", "Since dose", "Entry", "Value", "By", "Edited")
SCALE_NAMES = {"moaas": "MOAA/S", "rass": "RASS", "level": "level", "cadss6": "CADSS-6",
               "cadss": "CADSS", "aldrete": "modified Aldrete", "padss": "PADSS"}
KIND_NAMES: dict[str, str] = {
    EntryKind.DOSE_START: "Dose start", EntryKind.DOSE_STOP: "Dose stop",
    EntryKind.DISSOCIATION: "Dissociation", EntryKind.SEDATION: "Sedation",
    EntryKind.SIDE_EFFECT: "Side effect", EntryKind.INTERVENTION: "Intervention",
    EntryKind.EVENT: "Event", EntryKind.NOTE: "Note", EntryKind.BASELINE: "Baseline",
    EntryKind.DISCHARGE: "Discharge"}


def elapsed(t_s: float) -> str:
    """h:mm:ss from the session start (negative before it)."""
    sign = "−" if t_s < 0 else ""
    s = round(abs(t_s))
    return f"{sign}{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def since_dose(t_s: float, dose_s: float | None) -> str:
    if dose_s is None:
        return ""
    d = t_s - dose_s
    return ("+" if d >= 0 else "") + elapsed(d)


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def entry_value(kind: str, data: Mapping[str, Any]) -> str:
    """What the entry says, in words a clinician reads; unknown fields are listed as is."""
    d = dict(data)
    text = d.pop("text", None)
    if kind == EntryKind.DOSE_START:
        parts = [str(d.pop("drug", "") or ""), str(d.pop("route", "") or "").upper()]
        if d.get("dose_mg") is not None:
            parts.append(f"{_num(d.pop('dose_mg'))} mg")
        if d.get("infusion_min") is not None:
            parts.append(f"over {_num(d.pop('infusion_min'))} min")
        lot = d.pop("lot", None)
        main = " ".join(p for p in parts if p) + (f", lot {lot}" if lot else "")
    elif kind in (EntryKind.DISSOCIATION, EntryKind.SEDATION, EntryKind.DISCHARGE):
        scale = str(d.pop("scale", "") or "")
        score = d.pop("score", None)
        main = f"{SCALE_NAMES.get(scale, scale)} {_num(score) if score is not None else '—'}"
        ready = d.pop("ready_t_s", None)
        if isinstance(ready, int | float):
            main += f", ready to leave at {elapsed(ready)}"
        items = d.pop("items", None)  # CADSS-6: item number -> 0-4
        if isinstance(items, Mapping):
            main += " (items " + ", ".join(
                f"{n}: {_num(v)}" for n, v in sorted(items.items(), key=lambda x: int(x[0])
                                                     if str(x[0]).isdigit() else 0)) + ")"
    elif kind in (EntryKind.SIDE_EFFECT, EntryKind.INTERVENTION, EntryKind.EVENT):
        main = str(d.pop("name", "") or "").replace("_", " ")
    else:
        main = ""
    if kind == EntryKind.DOSE_STOP:
        d.pop("drug", None)
    extra = ", ".join(f"{k} {_num(v)}" for k, v in sorted(d.items()) if v not in (None, ""))
    return " · ".join(p for p in (main.strip(), extra, str(text) if text else "") if p)


def edited_text(entry: TimelineEntry) -> str:
    if not entry.revisions:
        return ""
    last = entry.revisions[-1]
    when = time.strftime("%H:%M", time.localtime(last.revised_wall))
    times = f"{len(entry.revisions)}×, " if len(entry.revisions) > 1 else ""
    return f"edited {times}last by {last.author} at {when}"


def device_value(ev: DeviceEventRow) -> str:
    what = ev.code.replace("_", " ")
    if ev.kind == "battery":
        return f"{ev.source}: battery {_num(ev.value)} %"
    if ev.kind == "condition":
        vital = f" ({ev.vital})" if ev.vital else ""
        return f"{ev.source}: {what}{vital} {'began' if ev.active else 'ended'}"
    return f"{ev.source}: {what}"


def alarm_value(ep: Episode) -> str:
    parts = [ep.condition.replace("_", " "), ep.highest.name]
    if ep.worst_value is not None:
        limit = f" (limit {_num(ep.limit)})" if ep.limit is not None else ""
        parts.append(f"worst {_num(ep.worst_value)}{limit}")
    parts.append("until the end" if ep.end_t_s is None else f"until {elapsed(ep.end_t_s)}")
    if ep.acknowledged_t_s is not None:
        parts.append(f"acknowledged at {elapsed(ep.acknowledged_t_s)}")
    return " · ".join(parts)


@dataclass(frozen=True, slots=True)
class EntryRow:
    t_s: float
    cells: tuple[str, str, str, str, str, str]  # as COLUMNS
    device: bool = False  # a device event or alarm: shown dimmer than what people entered


def entry_rows(entries: Iterable[TimelineEntry], dose_s: float | None,
               device_events: Iterable[DeviceEventRow] = (),
               alarms: Iterable[Episode] = ()) -> list[EntryRow]:
    """The table's rows in time order; device events and alarms (if given) interleaved."""
    rows = [EntryRow(e.t_s, (elapsed(e.t_s), since_dose(e.t_s, dose_s),
                             KIND_NAMES.get(e.kind, e.kind.replace("_", " ").capitalize()),
                             entry_value(e.kind, e.data), e.author, edited_text(e)))
            for e in entries]
    rows += [EntryRow(ev.t_s, (elapsed(ev.t_s), since_dose(ev.t_s, dose_s), "Device",
                               device_value(ev), ev.source, ""), device=True)
             for ev in device_events]
    rows += [EntryRow(ep.signal_t_s, (elapsed(ep.signal_t_s), since_dose(ep.signal_t_s, dose_s),
                                      f"{str(ep.kind).capitalize()} alarm", alarm_value(ep),
                                      "", ""), device=True)
             for ep in alarms]
    rows.sort(key=lambda r: r.t_s)
    return rows


class EntryList(QTableWidget):
    """Read-only. Double-click (or Enter on) a row: `entryActivated(t_s)`."""

    entryActivated = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setVisible(False)
        self.setAlternatingRowColors(False)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        for col in range(len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.rows: list[EntryRow] = []
        self.cellDoubleClicked.connect(lambda r, _c: self._activate(r))
        self.activated.connect(lambda index: self._activate(index.row()))

    def set_rows(self, rows: Sequence[EntryRow]) -> None:
        self.rows = list(rows)
        self.setRowCount(len(rows))
        dim = QColor(TEXT_DIM)
        for r, row in enumerate(rows):
            for c, text in enumerate(row.cells):
                item = QTableWidgetItem(text)
                if c in (0, 1):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                if row.device:
                    item.setForeground(dim)
                self.setItem(r, c, item)

    def _activate(self, row: int) -> None:
        if 0 <= row < len(self.rows):
            self.entryActivated.emit(self.rows[row].t_s)
