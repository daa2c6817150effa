"""A room's last 30 minutes, opened from its tile: HR, SpO2 and NIBP as the board received
them, the alarm transitions, and the room's active alarms with their acknowledge buttons.

A remote acknowledgement is only a request: the room applies it only when its site runs it
with `--allow-remote-ack`, and the board says "acknowledged" only once the room's own alarm
set shows it. Audio pause is never remote. The board's own "room offline" alarm is
acknowledged here, on the board (its sound stops; it stays shown until the room is back).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from monitor.central import board_text as bt
from monitor.central.board_model import HISTORY_S, BoardModel, RoomAlarm
from ui.theme import ALARM_COLOURS, BORDER, TEXT_DIM, text_font, vital_colour

AckRequest = Callable[[str, RoomAlarm], None]  # (room, alarm)

_ROWS = (("HR /min", ("hr",)), ("SpO2 %", ("spo2",)), ("NIBP mmHg", ("sbp", "dbp")))


class RoomDetail(QDialog):
    def __init__(self, model: BoardModel, room: str, now: Callable[[], float],
                 acknowledge: AckRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model, self.room, self._now, self._acknowledge = model, room, now, acknowledge
        self.setWindowTitle(f"{room}: the last 30 minutes")
        self.resize(1100, 760)
        layout = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setStyleSheet("font-size: 26px; font-weight: bold;")
        layout.addWidget(self.title)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground(None)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for row, (label, keys) in enumerate(_ROWS):
            plot = self.plots.ci.addPlot(row=row, col=0)
            plot.setXRange(-HISTORY_S / 60, 0, padding=0.01)  # the end points whole
            plot.setLabel("left", label)
            plot.showGrid(x=True, y=True, alpha=0.2)
            for ax in ("left", "bottom"):
                plot.getAxis(ax).setPen(pg.mkPen(BORDER))
                plot.getAxis(ax).setTextPen(pg.mkPen(TEXT_DIM))
                plot.getAxis(ax).setStyle(tickFont=text_font(15))
                plot.getAxis(ax).label.setFont(text_font(16, bold=True))
            plot.getAxis("left").setWidth(78)  # the three time axes line up
            if row < len(_ROWS) - 1:  # one time axis, under the last plot
                plot.getAxis("bottom").setStyle(showValues=False)
            for key in keys:
                symbol = "o" if key in ("sbp", "dbp") else None
                self.curves[key] = plot.plot(
                    pen=None if symbol else pg.mkPen(vital_colour(key), width=2),
                    symbol=symbol, symbolBrush=vital_colour(key), symbolSize=8,
                    connect="finite")
        self.plots.ci.getItem(len(_ROWS) - 1, 0).setLabel("bottom", "minutes before now")
        layout.addWidget(self.plots, 3)
        lower = QHBoxLayout()
        self.events = QListWidget()
        self.events.setStyleSheet("font-size: 20px;")
        lower.addWidget(self.events, 2)
        self.buttons_box = QVBoxLayout()
        holder = QWidget()
        holder.setLayout(self.buttons_box)
        lower.addWidget(holder, 1)
        layout.addLayout(lower, 2)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        layout.addWidget(close, alignment=Qt.AlignmentFlag.AlignRight)
        self._buttons: dict[str, QPushButton] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def refresh(self) -> None:
        now = self._now()
        view = self.model.view(self.room, now)
        self.title.setText(f"{self.room} · {bt.phase_text(view, now)}"
                           + ("" if view.online else " · ROOM OFFLINE"))
        history = self.model.history(self.room)
        ref = view.last_message or now
        if history:
            t = np.array([h[0] for h in history])
            x = (t - ref) / 60.0
            for key, curve in self.curves.items():
                y = np.array([dict(h[1]).get(key) for h in history], dtype=float)
                keep = ~np.isnan(y)
                if key in ("sbp", "dbp"):  # each reading once
                    first = keep & np.concatenate(([True], y[1:] != y[:-1]))
                    curve.setData(x[first], y[first])
                else:
                    curve.setData(x, y)  # NaN where not live: a gap, never a made-up line
        self.events.clear()
        for tr in reversed(self.model.transitions(self.room)):
            a = tr.alarm
            item = QListWidgetItem(f"{bt.clock(tr.t)}  {tr.what:<12} {a.priority.asterisks:<3} "
                                   f"{a.priority.name:<6} "
                                   f"{'room offline' if a.board else a.text}")
            item.setForeground(ALARM_COLOURS[a.priority] if tr.what == "start" else TEXT_DIM)
            self.events.addItem(item)
        self._update_buttons(view.alarms)

    def _update_buttons(self, alarms: tuple[RoomAlarm, ...]) -> None:
        wanted = {a.id: a for a in alarms if not a.acknowledged}
        for key in list(self._buttons):
            if key not in wanted:
                self._buttons.pop(key).deleteLater()
        for key, a in wanted.items():
            if key in self._buttons:
                continue
            text = ("Acknowledge: room offline (on this board)" if a.board
                    else f"Acknowledge in the room: {a.text}")
            b = QPushButton(text)
            b.setStyleSheet(f"border-color: {ALARM_COLOURS[a.priority].name()};")
            b.clicked.connect(lambda _=False, alarm=a: self._acknowledge(self.room, alarm))
            self.buttons_box.addWidget(b)
            self._buttons[key] = b
