"""One room on the board, painted to scale with its tile (12 rooms readable at 3 m on 1080p,
32 still usable).

Top to bottom: the room; its phase ("PEAK +32 min") large, or, while the room has an alarm,
the worst one in its IEC colour, flashing as on the room screen while unacknowledged, steady
and marked "✓ ACK" once acknowledged, and the phase small beside the room's name (no number
moves when an alarm comes); HR and
SpO2 with their age (dashes in grey when not live); NIBP nearly as large, its label and age at
its left; what is due next. A room that went quiet shows ROOM OFFLINE with the time of its last
message, and no numbers: the board never shows a silent room's last values as current.
`cap_px` records the cap height of what was painted, for the legibility tests.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QFontMetricsF, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from alarms.model import Priority
from monitor.central import board_text as bt
from monitor.central.board_model import RoomView
from ui.theme import (
    ALARM_COLOURS,
    ALARM_TEXT,
    BORDER,
    PANEL,
    STALE,
    TEXT,
    TEXT_DIM,
    numeric_font,
    text_font,
    vital_colour,
)

_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CENTRE = Qt.AlignmentFlag.AlignCenter

# Shares of the tile's height, top to bottom: the room and phase, the alarm band, the
# numerics (of which the HR/SpO2 title line and their digits; NIBP takes the rest), and
# what is due next below them. At 12 rooms on 1080p (tiles ~470x340) this gives HR, SpO2
# and NIBP digits >= 51 px high: 16' of arc at 3 m (clinical.md §10).
_ROW1, _BAND, _NUMS = 0.13, 0.17, 0.57
_LABEL, _BIG = 0.11, 0.58


def pad_of(row: QRectF) -> float:
    """The gap between a label column and its digits."""
    return max(4.0, row.height() * 0.08)


def _fit_px(text: str, width: float, height: float, bold: bool = True,
            numeric: bool = False) -> int:
    """The largest pixel size at which `text` fits `width` on one line, at most `height`."""
    px = max(8, int(height))
    font = numeric_font(px) if numeric else text_font(px, bold)
    advance = QFontMetricsF(font).horizontalAdvance(text) or 1.0
    if advance > width:
        px = max(8, int(px * width / advance))
    return px


class RoomTile(QWidget):
    clicked = Signal(str)  # the room name

    def __init__(self, room: str, flash_on: Callable[[Priority], bool],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.room = room
        self._flash_on = flash_on
        self.view: RoomView | None = None
        self.now = 0.0
        self._key: tuple[object, ...] = ()
        self.painted_numerics_t: float | None = None  # the payload time last painted
        self.cap_px: dict[str, float] = {}  # digit height painted per column (hr, spo2, sbp)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(180, 130)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def flashing(self) -> Priority | None:
        """The priority this tile flashes at now (an unacknowledged alarm), else None."""
        worst = self.view.worst if self.view is not None else None
        if worst is None or worst.acknowledged:
            return None
        return worst.priority

    def set_view(self, view: RoomView, now: float) -> None:
        """Repaints only when what the tile shows changed (ages move once a second)."""
        flash = self.flashing()
        key = (view, int(now), self._flash_on(flash) if flash is not None else None)
        self.view, self.now = view, now
        if key != self._key:
            self._key = key
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.room)

    def paintEvent(self, _event: QPaintEvent) -> None:
        p = QPainter(self)
        w, h = float(self.width()), float(self.height())
        p.fillRect(self.rect(), PANEL)
        v = self.view
        if v is None:
            p.end()
            return
        now = self.now
        worst = v.worst
        pad = max(6.0, min(w, h) * 0.035)
        frame = ALARM_COLOURS[worst.priority] if worst and not worst.acknowledged else BORDER
        pen = QPen(frame, max(3.0, h * 0.018) if worst and not worst.acknowledged else 2.0)
        p.setPen(pen)
        inset = pen.widthF() / 2
        p.drawRect(QRectF(inset, inset, w - 2 * inset, h - 2 * inset))
        inner_w = w - 2 * pad

        # Row 1: the room (and initials, if the clinic sends them). Row 2: the phase, large,
        # or, while the room has an alarm, the alarm, and the phase goes small beside the
        # room's name. The phase is dimmed when the room is offline (the last one it sent).
        row1 = QRectF(pad, pad * 0.5, inner_w, h * _ROW1)
        band = QRectF(pad, row1.bottom() + pad * 0.3, inner_w, h * _BAND)
        name = v.room + (f"  {v.patient}" if v.patient else "")
        phase = bt.phase_text(v, now) if not v.closed else "closed"
        p.setPen(TEXT if v.online else STALE)
        # One size for every tile's phase (the longest phase), so the board reads evenly.
        if worst is None:
            px = _fit_px("RECOVERY +888 min", band.width(), band.height() * 0.8)
            p.setFont(text_font(px, bold=True))
            p.drawText(band, _LEFT, phase)
            phase_w = 0.0
        else:
            px = _fit_px("RECOVERY +888 min", inner_w * 0.64, row1.height() * 0.8)
            p.setFont(text_font(px, bold=True))
            p.drawText(row1, _RIGHT, phase)
            phase_w = QFontMetricsF(p.font()).horizontalAdvance(phase) + pad
        self.cap_px["phase"] = QFontMetricsF(p.font()).capHeight()
        px = _fit_px(name, inner_w - phase_w, row1.height() * 0.9)
        p.setFont(text_font(px, bold=True))
        p.setPen(TEXT)
        p.drawText(row1, _LEFT, name)

        # The worst alarm, in its colour (flashing while unacknowledged), as large as the
        # tile's width lets it be.
        self.cap_px.pop("alarm", None)
        if worst is not None:
            colour = ALARM_COLOURS[worst.priority]
            lit = worst.acknowledged or self._flash_on(worst.priority)
            text = bt.alarm_text(worst)
            more = len(v.alarms) - 1
            if more > 0:
                text += f"  +{more}"
            if lit and not worst.acknowledged:
                p.fillRect(band, colour)
                p.setPen(ALARM_TEXT[worst.priority])
            else:
                p.setPen(QPen(colour, 2.0))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(band.adjusted(1, 1, -1, -1))
                p.setPen(colour)
            px = _fit_px(text, band.width() - pad * 0.6, band.height() * 0.8)
            p.setFont(text_font(px, bold=True))
            self.cap_px["alarm"] = QFontMetricsF(p.font()).capHeight()
            p.drawText(band.adjusted(pad * 0.3, 0, -pad * 0.3, 0), _CENTRE, text)

        # Rows 3 and 4: HR and SpO2, then NIBP, with their ages; or ROOM OFFLINE.
        nums = QRectF(pad, band.bottom() + pad * 0.3, inner_w, h * _NUMS)
        if v.online:
            self._numerics(p, v, nums, now)
            self.painted_numerics_t = v.numerics_t
        else:
            self._offline(p, v, nums)

        # Row 5: what is due next, or the outcome of a remote acknowledgement.
        foot = QRectF(pad, nums.bottom(), inner_w, h - nums.bottom() - pad * 0.4)
        text = v.ack_note or bt.due_text(v, now)
        if text and v.online:
            overdue = "overdue" in text and not v.ack_note
            p.setPen(ALARM_COLOURS[Priority.MEDIUM] if overdue else TEXT_DIM)
            # one size on every tile (the longest due text), smaller only for a longer note
            px = min(_fit_px(text, foot.width(), foot.height() * 0.8, bold=True),
                     _fit_px("next: BP ~40 min overdue 59 min", foot.width(),
                             foot.height() * 0.8, bold=True))
            p.setFont(text_font(px, bold=overdue))
            p.drawText(foot, _LEFT, text)
        p.end()

    def _offline(self, p: QPainter, v: RoomView, box: QRectF) -> None:
        """The time of the room's last message and why it is offline (or ROOM CLOSED), large;
        never the room's last values."""
        # An offline room's band already says ROOM OFFLINE: the body says since when.
        last = TEXT if v.closed else ALARM_COLOURS[Priority.MEDIUM]
        lines = ((("ROOM CLOSED", STALE, 0.4),) if v.closed else ()) + (
            (bt.last_message_text(v), last, 0.35), (v.offline_reason, TEXT_DIM, 0.25))
        top = box.top()
        for text, colour, share in lines:
            line = QRectF(box.left(), top, box.width(), box.height() * share)
            p.setPen(colour)
            p.setFont(text_font(_fit_px(text, box.width(), line.height() * 0.8), bold=True))
            p.drawText(line, _CENTRE, text)
            top = line.bottom()

    def _numerics(self, p: QPainter, v: RoomView, box: QRectF, now: float) -> None:
        """HR and SpO2 side by side in the largest digits, each with its age above it; NIBP
        as large under them, its label and age stacked at its left (it changes every few
        minutes, so its age matters as much as its value)."""
        room_now = v.room_now(now)
        top_h = box.height() * _LABEL
        big = QRectF(box.left(), box.top(), box.width(), box.height() * _BIG)
        for i, (key, label) in enumerate((("hr", "HR"), ("spo2", "SpO2"))):
            col = QRectF(big.left() + i * big.width() / 2, big.top(), big.width() / 2,
                         big.height())
            value = bt.value_text(v, key)
            self._labelled(p, key, label, value, bt.age_text(v.reading(key), room_now),
                           QRectF(col.left(), col.top(), col.width() * 0.95, top_h))
            px = _fit_px("188", col.width() * 0.82, (col.height() - top_h) * 0.95,
                         numeric=True)
            self.cap_px[key] = QFontMetricsF(numeric_font(px)).capHeight()
            p.setFont(numeric_font(px))
            p.setPen(vital_colour(key) if value != "--" else STALE)
            p.drawText(QRectF(col.left(), col.top() + top_h, col.width(),
                              col.height() - top_h), _LEFT, value)
        row = QRectF(box.left(), big.bottom(), box.width(), box.bottom() - big.bottom())
        value = bt.nibp_text(v)
        live = value != "--/--"
        # Sized for the widest reading (a hypertensive 188/128), the same on every tile, and
        # a little smaller than HR and SpO2 so they stay the first thing the eye finds.
        digits_px = min(
            _fit_px("188/188", row.width() * 0.78, row.height(), numeric=True),
            int(self.cap_px["hr"] / QFontMetricsF(numeric_font(100)).capHeight() * 90))
        digits_w = QFontMetricsF(numeric_font(digits_px)).horizontalAdvance("188/188")
        side = QRectF(row.left(), row.top(), row.width() - digits_w - pad_of(row), row.height())
        p.setPen(vital_colour("sbp") if live else STALE)
        label_box = QRectF(side.left(), side.top(), side.width(), side.height() / 2)
        p.setFont(text_font(_fit_px("NIBP", side.width() * 0.9, top_h * 0.8), bold=True))
        p.drawText(label_box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, "NIBP")
        age = bt.age_text(v.reading("sbp"), room_now)
        px = _fit_px(age, side.width(), top_h * 0.75, bold=not live)
        if px < top_h * 0.6 and age.endswith(" ago"):  # a narrow tile: "12 min" is enough
            age = age.removesuffix(" ago")
            px = _fit_px(age, side.width(), top_h * 0.75, bold=not live)
        p.setPen(TEXT_DIM if live else STALE)
        p.setFont(text_font(px, bold=not live))
        p.drawText(QRectF(side.left(), label_box.bottom(), side.width(), side.height() / 2),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, age)
        p.setFont(numeric_font(digits_px))
        self.cap_px["sbp"] = QFontMetricsF(p.font()).capHeight()  # as painted
        p.setPen(vital_colour("sbp") if live else STALE)
        p.drawText(row.adjusted(side.width() + pad_of(row), 0, 0, 0), _LEFT, value)

    def _labelled(self, p: QPainter, key: str, label: str, value: str, age: str,
                  line: QRectF) -> None:
        """A numeric's title line: its label at the left, its age at the right."""
        live = value not in ("--", "--/--")
        p.setPen(vital_colour(key) if live else STALE)
        p.setFont(text_font(max(10, int(line.height() * 0.8)), bold=True))
        p.drawText(line, _LEFT, label)
        label_w = QFontMetricsF(p.font()).horizontalAdvance(label + "  ")
        p.setPen(TEXT_DIM if live else STALE)
        p.setFont(text_font(_fit_px(age, line.width() - label_w, line.height() * 0.75,
                                    bold=not live), bold=not live))
        p.drawText(line, _RIGHT, age)
