"""The alarm banner: active conditions by priority, in IEC 60601-1-8 colours and flashing.

The highest-priority alarm fills the left part (colour, asterisks and text, so colour is
never the only cue); the next ones are listed beside it, each with its priority's colour.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from alarms.model import AlarmSnapshot, AlarmState, AlarmStatus
from ui.flash import FlashClock
from ui.theme import ALARM_COLOURS, ALARM_TEXT, BORDER, PANEL, TEXT, TEXT_DIM, text_font

MAX_LISTED = 3  # besides the first; more are counted


def alarm_text(a: AlarmStatus) -> str:
    text = a.message or f"{a.priority.asterisks} {a.condition}"
    tags = []
    if a.state is AlarmState.LATCHED:
        tags.append("ENDED - acknowledge to clear")
    elif a.acknowledged:
        tags.append("ACK")
    return f"{text}  [{', '.join(tags)}]" if tags else text


class AlarmBanner(QWidget):
    painted = Signal(float)  # time.perf_counter() at the end of each paint (latency bench)

    def __init__(self, flash: FlashClock, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.flash = flash
        self.alarms: tuple[AlarmStatus, ...] = ()
        self.shown_keys: tuple[str, ...] = ()  # what the last paint showed
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(72)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        flash.changed.connect(self._on_flash)

    def set_snapshot(self, snap: AlarmSnapshot) -> None:
        if snap.alarms != self.alarms:
            self.alarms = snap.alarms
            self.update()

    def _on_flash(self) -> None:
        if self.alarms:
            self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        p = QPainter(self)
        w, h = self.width(), self.height()
        p.fillRect(self.rect(), PANEL)
        pad = 14
        if not self.alarms:
            p.setPen(QPen(BORDER, 2))
            p.drawRect(QRectF(1, 1, w - 2, h - 2))
            p.setFont(text_font(int(h * 0.34)))
            p.setPen(TEXT_DIM)
            p.drawText(QRectF(pad, 0, w - 2 * pad, h),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                       "No active alarms")
        else:
            first, rest = self.alarms[0], self.alarms[1:]
            main_w = w * (0.58 if rest else 1.0)
            lit = self.flash.is_on(first.priority)
            colour = ALARM_COLOURS[first.priority]
            main = QRectF(0, 0, main_w, h)
            if lit:
                p.fillRect(main, colour)
            p.setPen(QPen(colour, 6))
            p.drawRect(main.adjusted(3, 3, -3, -3))
            p.setPen(ALARM_TEXT[first.priority] if lit else TEXT)
            p.setFont(text_font(int(h * 0.42), bold=True))
            p.drawText(main.adjusted(pad + 6, 0, -pad, 0),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                       alarm_text(first))
            if rest:
                shown = rest[:MAX_LISTED]
                more = len(rest) - len(shown)
                rows = len(shown) + (1 if more else 0)
                row_h = h / max(rows, 1)
                x = main_w + pad
                font_px = int(min(row_h * 0.62, h * 0.26))
                p.setFont(text_font(font_px, bold=True))
                for i, a in enumerate(shown):
                    chip = QRectF(x, i * row_h + row_h * 0.2, row_h * 0.6, row_h * 0.6)
                    p.fillRect(chip, ALARM_COLOURS[a.priority])
                    p.setPen(TEXT)
                    p.drawText(QRectF(chip.right() + 10, i * row_h, w - chip.right() - 20, row_h),
                               Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                               alarm_text(a))
                if more:
                    p.setPen(TEXT_DIM)
                    p.drawText(QRectF(x, len(shown) * row_h, w - x - pad, row_h),
                               Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                               f"+ {more} more")
        p.end()
        self.shown_keys = tuple(a.key for a in self.alarms)
        self.painted.emit(time.perf_counter())
