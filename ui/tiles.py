"""A numeric tile: one vital's value in digits readable at 4 m, its limits and its state.

Painted directly (not QLabels) so the digits scale with the tile: at 1920x1080 they are
well above the ~70 px a 4 m reading needs (clinical reference §10), and still about that
at 1366x768. A value that is not current is drawn as dashes in grey, never as a number.

What the frame says about alarms on the tile's vital:
- an active physiological alarm: the tile flashes in its priority's colour, asterisks in
  the title (the only case the tile takes an alarm colour);
- an active technical condition (probe off, not current): a steady dashed cyan frame,
  equipment and not the patient;
- a latched alarm (ended, waiting for acknowledgement): the current value in its normal
  colours and a small red badge with the worst value and when, "⚑ LATCHED 81 16:57".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from alarms.model import Priority
from ui.theme import (
    ALARM_COLOURS,
    ALARM_TEXT,
    BORDER,
    PANEL,
    STALE,
    TECHNICAL_MARK,
    TEXT_DIM,
    numeric_font,
    text_font,
)

BADGE_MIN_PX = 12
_NUMBER_UNIT = re.compile(r"(\d) (s|min|h)\b")


def keep_units(text: str) -> str:
    """A number stays on the line of its unit when the note wraps ("46 s", never "46 / s")."""
    return _NUMBER_UNIT.sub("\\1\u00a0\\2", text)


@dataclass(frozen=True, slots=True)
class TileContent:
    value: str  # the big text: "72", "142/88", "--"
    live: bool  # False: greyed (stale, artefact, none, old NIBP)
    note: str = ""  # small line under the value: "no data for 45 s", "3 min ago"
    secondary: str = ""  # the second number, e.g. "PR 72" or "(104)"
    secondary_live: bool = True
    limits: str = ""  # the alarm limits in force, high over low


@dataclass(frozen=True, slots=True)
class LatchedMark:
    """A latched alarm on the tile's vital: its worst value and the time it was seen."""

    value: str  # "81", "SYS 205" ("" if unknown)
    at: str  # "16:57" ("" if unknown)

    def candidates(self) -> tuple[str, ...]:
        """The badge's texts, longest first: the tile draws the first that fits."""
        rest = " ".join(x for x in (self.value, self.at) if x)
        full = f"⚑ LATCHED {rest}".strip()
        return tuple(dict.fromkeys(
            (full, f"⚑ {rest}".strip(), f"⚑ {self.value}".strip(), "⚑")))


class VitalTile(QWidget):
    def __init__(self, title: str, unit: str, colour: QColor,
                 secondary_colour: QColor | None = None, template: str = "888",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.template = template  # the widest value: the digit size does not jump with it
        self.title = title
        self.unit = unit
        self.colour = colour
        self.secondary_colour = secondary_colour or colour
        self.content = TileContent("--", False)
        self.alarm: Priority | None = None
        self.lit = False  # the alarm colour is showing (flash phase)
        self.technical: Priority | None = None  # an active technical condition on the vital
        self.latched: LatchedMark | None = None
        self.badge_text = ""  # the latched badge as last painted ("" none)
        self.badge_rect = QRectF()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def set_content(self, content: TileContent) -> None:
        if content != self.content:
            self.content = content
            self.update()

    def set_alarm(self, priority: Priority | None, lit: bool) -> None:
        if (priority, lit) != (self.alarm, self.lit):
            self.alarm, self.lit = priority, lit
            self.update()

    def set_technical(self, priority: Priority | None) -> None:
        if priority != self.technical:
            self.technical = priority
            self.update()

    def set_latched(self, mark: LatchedMark | None) -> None:
        if mark != self.latched:
            self.latched = mark
            self.update()

    def value_pixel_size(self) -> int:
        """The digit height the tile paints now (cap height of its numeric font)."""
        font = numeric_font(self._value_font_px())
        return round(QFontMetricsF(font).capHeight())

    def _value_font_px(self) -> int:
        w, h = self.width(), self.height()
        size = int(h * 0.52)
        sample = self.template
        fm = QFontMetricsF(numeric_font(size))
        width = fm.horizontalAdvance(sample)
        avail = w * 0.80
        if width > avail:
            size = int(size * avail / width)
        return size

    def paintEvent(self, _event: QPaintEvent) -> None:
        p = QPainter(self)
        w, h = self.width(), self.height()
        alarm_fill = self.alarm is not None and self.lit
        bg = ALARM_COLOURS[self.alarm] if alarm_fill and self.alarm else PANEL
        p.fillRect(self.rect(), bg)
        if self.alarm is not None:
            pen = QPen(ALARM_COLOURS[self.alarm], max(4, h // 40))
        elif self.technical is not None:
            pen = QPen(TECHNICAL_MARK, max(3, h // 60), Qt.PenStyle.DashLine)
        else:
            pen = QPen(BORDER, 2)
        p.setPen(pen)
        inset = pen.width() / 2
        p.drawRect(QRectF(inset, inset, w - 2 * inset, h - 2 * inset))
        on_alarm = ALARM_TEXT[self.alarm] if alarm_fill and self.alarm else None
        c = self.content
        main = on_alarm or (self.colour if c.live else STALE)
        pad = max(8, w // 40)

        # Title row: "*** HR  bpm", limits at the right.
        title_px = max(14, int(h * 0.10))
        p.setFont(text_font(title_px, bold=True))
        p.setPen(on_alarm or self.colour)
        prefix = f"{self.alarm.asterisks} " if self.alarm is not None else ""
        title_rect = QRectF(pad, pad * 0.6, w * 0.7, title_px * 1.4)
        p.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   f"{prefix}{self.title}")
        title_w = QFontMetricsF(p.font()).horizontalAdvance(f"{prefix}{self.title}")
        p.setFont(text_font(int(title_px * 0.75)))
        p.setPen(on_alarm or TEXT_DIM)
        p.drawText(QRectF(pad + title_w + pad, pad * 0.6, w * 0.4, title_px * 1.4),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.unit)
        badge_left = pad + title_w + pad + QFontMetricsF(p.font()).horizontalAdvance(
            self.unit) + pad
        limits_left: float = w - pad
        if c.limits:
            lim_px = max(12, int(h * 0.075))
            p.setFont(text_font(lim_px))
            box = QRectF(w * 0.5, pad * 0.6, w * 0.5 - pad, lim_px * 2.8)
            p.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, c.limits)
            fm = QFontMetricsF(p.font())
            limits_left -= max(fm.horizontalAdvance(x) for x in c.limits.split("\n")) + pad
        self._paint_badge(p, QRectF(badge_left, pad * 0.6, limits_left - badge_left,
                                    title_px * 1.4))

        # The value.
        value_px = self._value_font_px()
        p.setFont(numeric_font(value_px))
        p.setPen(main)
        value_rect = QRectF(pad, h * 0.14, w - 2 * pad, h * 0.62)
        p.drawText(value_rect, Qt.AlignmentFlag.AlignCenter, c.value)

        # Bottom row: note at the left, the secondary number at the right.
        note_px = max(12, int(h * 0.07))
        bottom = QRectF(pad, h * 0.76, w - 2 * pad, h * 0.24 - pad * 0.5)
        note_w = bottom.width()
        if c.secondary:
            sec_px = max(16, int(h * 0.16))
            p.setFont(numeric_font(sec_px))
            p.setPen(on_alarm or (self.secondary_colour if c.secondary_live else STALE))
            p.drawText(bottom, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       c.secondary)
            note_w -= QFontMetricsF(p.font()).horizontalAdvance(c.secondary) + pad
        if c.note:
            p.setFont(text_font(note_px, bold=not c.live))
            p.setPen(on_alarm or TEXT_DIM)
            p.drawText(QRectF(bottom.left(), bottom.top(), max(note_w, 0), bottom.height()),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
                       | Qt.TextFlag.TextWordWrap, keep_units(c.note))
        p.end()

    def _paint_badge(self, p: QPainter, room: QRectF) -> None:
        """The latched badge, in the title row between the unit and the limits: the longest
        of its texts that fits at a readable size (never a cut text)."""
        self.badge_text, self.badge_rect = "", QRectF()
        if self.latched is None or room.width() <= 0:
            return
        px = max(BADGE_MIN_PX, int(room.height() * 0.62))
        for text in self.latched.candidates():
            for size in range(px, BADGE_MIN_PX - 1, -1):
                font = text_font(size, bold=True)
                tw = QFontMetricsF(font).horizontalAdvance(text)
                if tw + size <= room.width():
                    break
            else:
                continue
            badge = QRectF(room.left(), room.center().y() - size * 0.75, tw + size, size * 1.5)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(ALARM_COLOURS[Priority.HIGH])
            p.drawRoundedRect(badge, 4, 4)
            p.setFont(font)
            p.setPen(ALARM_TEXT[Priority.HIGH])
            p.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
            self.badge_text, self.badge_rect = text, badge
            return
