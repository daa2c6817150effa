"""The alarm banner (the patient's conditions) and the technical strip (the system's).

The banner shows the patient first. Its order, highest first:
1. priority (HIGH, MEDIUM, LOW);
2. at equal priority, an active condition before a latched one (which has ended);
3. then physiological, then technical on a vital (probe off, not current), then advisory;
4. then the newest signal first.
The first fills the left part (colour, asterisks and text, so colour is never the only
cue) and flashes as IEC 60601-1-8 Table 2 asks; the next ones are listed beside it.

Technical conditions with no vital (a device disconnected, audio output unavailable,
storage failure, a battery) never take the patient's place: they go to the smaller
"System" strip under the banner, as pills in their priority's colour with asterisks.

A latched alarm says its worst value and when it was seen ("*** SpO2 LOW 81 at 16:57,
ended"), not the value at its end. Text is never cut: it is set in the largest size that
fits its box whole (`ui.theme.fit_text`), and elided with "…" only past a minimum size.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from alarms.model import AlarmKind, AlarmSnapshot, AlarmState, AlarmStatus
from ui.flash import FlashClock
from ui.readouts import value_text, wall_clock_text
from ui.theme import (
    ALARM_COLOURS,
    ALARM_TEXT,
    BORDER,
    PANEL,
    TEXT,
    TEXT_DIM,
    Fitted,
    fit_text,
    text_font,
)

MAX_ROWS = 3  # rows beside the first alarm; past that the last row counts the rest
WallOf = Callable[[float], float]

_KIND_RANK = {AlarmKind.PHYSIOLOGICAL: 0, AlarmKind.TECHNICAL: 1, AlarmKind.ADVISORY: 2}


def is_system(a: AlarmStatus) -> bool:
    """A technical condition with no vital: the technical strip's, never the banner's."""
    return a.kind is AlarmKind.TECHNICAL and a.vital is None


def display_order(a: AlarmStatus) -> tuple[int, bool, int, float, str]:
    return (-int(a.priority), a.state is not AlarmState.ACTIVE, _KIND_RANK[a.kind],
            -a.signal_t_s, a.key)


def split_alarms(alarms: Iterable[AlarmStatus]
                 ) -> tuple[tuple[AlarmStatus, ...], tuple[AlarmStatus, ...]]:
    """(the patient's alarms for the banner, the system's for the strip), each in
    display order."""
    alarms = sorted(alarms, key=display_order)
    return (tuple(a for a in alarms if not is_system(a)),
            tuple(a for a in alarms if is_system(a)))


def condition_text(a: AlarmStatus, wall_of: WallOf | None = None) -> str:
    """The alarm's line: the engine's message; for a latched alarm, its worst value and
    the time it was seen, "*** SpO2 LOW 81 at 16:57, ended"."""
    if a.state is AlarmState.LATCHED:
        text = f"{a.priority.asterisks} {a.condition}"
        if a.worst_value is not None:
            text += f" {value_text(a.vital, a.worst_value)}"
            if a.worst_t_s is not None and wall_of is not None:
                text += f" at {wall_clock_text(wall_of(a.worst_t_s))}"
        return f"{text}, ended"
    return a.message or f"{a.priority.asterisks} {a.condition}"


def status_text(a: AlarmStatus) -> str:
    """What the nurse may do about it (under the banner's first alarm)."""
    if a.state is AlarmState.LATCHED:
        return "Ended: acknowledge [A] to clear"
    if a.acknowledged:
        return "Acknowledged: silent until it ends"
    return ""


def alarm_text(a: AlarmStatus, wall_of: WallOf | None = None) -> str:
    """The alarm in one line (the banner's list, the strip)."""
    text = condition_text(a, wall_of)
    if a.acknowledged and a.state is AlarmState.ACTIVE:
        text += " · ACK"
    return text


@dataclass(frozen=True, slots=True)
class Drawn:
    """One piece of text as the last paint laid it out (for tests and the benchmark)."""

    text: str  # the whole text it stands for
    fitted: Fitted
    rect: QRectF  # the box it had to fit


class _AlarmWidget(QWidget):
    painted = Signal(float)  # time.perf_counter() at the end of each paint (latency bench)

    def __init__(self, flash: FlashClock, wall_of: WallOf | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.flash = flash
        self.wall_of = wall_of
        self.alarms: tuple[AlarmStatus, ...] = ()  # what this widget shows, in order
        self.shown_keys: tuple[str, ...] = ()  # what the last paint showed
        self.drawn: list[Drawn] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        flash.changed.connect(self._on_flash)

    def _show(self, alarms: tuple[AlarmStatus, ...]) -> None:
        """Repaints only when what this widget shows has changed."""
        if alarms != self.alarms:
            self.alarms = alarms
            self.update()

    def _on_flash(self) -> None:
        if self.alarms:
            self.update()

    def _text(self, p: QPainter, text: str, box: QRectF, max_px: int, min_px: int,
              colour: QColor, bold: bool = True, max_lines: int = 1,
              align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> Fitted:
        fitted = fit_text(text, box.width(), box.height(), max_px, min_px, bold, max_lines)
        p.setFont(fitted.font)
        p.setPen(colour)
        line_h = box.height() / len(fitted.lines)
        if len(fitted.lines) > 1:
            line_h = min(line_h, QFontMetricsF(fitted.font).height() * 1.05)
        top = box.center().y() - line_h * len(fitted.lines) / 2
        for i, line in enumerate(fitted.lines):
            p.drawText(QRectF(box.left(), top + i * line_h, box.width(), line_h),
                       align | Qt.AlignmentFlag.AlignVCenter, line)
        self.drawn.append(Drawn(text, fitted, QRectF(box)))
        return fitted

    def _begin(self) -> QPainter:
        p = QPainter(self)
        self.drawn = []
        p.fillRect(self.rect(), PANEL)
        return p

    def _finish(self, p: QPainter) -> None:
        p.end()
        self.shown_keys = tuple(a.key for a in self.alarms)
        self.painted.emit(time.perf_counter())


class AlarmBanner(_AlarmWidget):
    """The patient's alarms: the first large and flashing, the next ones listed beside it."""

    def __init__(self, flash: FlashClock, wall_of: WallOf | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(flash, wall_of, parent)
        self.system_only = False  # no patient alarm, but the strip has some
        self.setMinimumHeight(72)

    def set_snapshot(self, snap: AlarmSnapshot) -> None:
        patient, system = split_alarms(snap.alarms)
        if self.system_only != (not patient and bool(system)):
            self.system_only = not self.system_only
            self.update()
        self._show(patient)

    def paintEvent(self, _event: QPaintEvent) -> None:
        p = self._begin()
        w, h, pad = self.width(), self.height(), 14
        if not self.alarms:
            p.setPen(QPen(BORDER, 2))
            p.drawRect(QRectF(1, 1, w - 2, h - 2))
            self._text(p, "No patient alarms" if self.system_only else "No active alarms",
                       QRectF(pad, 0, w - 2 * pad, h), int(h * 0.34), 16, TEXT_DIM, False)
            self._finish(p)
            return
        first, rest = self.alarms[0], self.alarms[1:]
        main_w = w * (0.6 if rest else 1.0)
        lit = self.flash.is_on(first.priority)
        colour = ALARM_COLOURS[first.priority]
        main = QRectF(0, 0, main_w, h)
        if lit:
            p.fillRect(main, colour)
        p.setPen(QPen(colour, 6))
        p.drawRect(main.adjusted(3, 3, -3, -3))
        ink = ALARM_TEXT[first.priority] if lit else TEXT
        inner = main.adjusted(pad + 6, 8, -pad, -8)
        status = status_text(first)
        if status:
            top = QRectF(inner.left(), inner.top(), inner.width(), inner.height() * 0.64)
            self._text(p, condition_text(first, self.wall_of), top, int(h * 0.42), 18, ink)
            bottom = QRectF(inner.left(), top.bottom(), inner.width(), inner.height() * 0.36)
            self._text(p, status, bottom, int(h * 0.24), 13, ink, bold=False)
        else:
            self._text(p, condition_text(first, self.wall_of), inner, int(h * 0.42), 18, ink,
                       max_lines=2)
        if rest:
            shown = rest if len(rest) <= MAX_ROWS else rest[:MAX_ROWS - 1]
            more = len(rest) - len(shown)
            rows = len(shown) + (1 if more else 0)
            row_h = h / max(rows, 1)
            x = main_w + pad
            font_px = int(min(row_h * 0.62, h * 0.26))
            for i, a in enumerate(shown):
                side = min(row_h * 0.6, font_px * 1.1)
                chip = QRectF(x, i * row_h + (row_h - side) / 2, side, side)
                p.fillRect(chip, ALARM_COLOURS[a.priority])
                box = QRectF(chip.right() + 10, i * row_h, w - chip.right() - 10 - pad, row_h)
                self._text(p, alarm_text(a, self.wall_of), box, font_px, 15, TEXT,
                           max_lines=2)
            if more:
                self._text(p, f"+ {more} more", QRectF(x, len(shown) * row_h, w - x - pad,
                                                        row_h), font_px, 13, TEXT_DIM)
        self._finish(p)


class TechnicalStrip(_AlarmWidget):
    """The "System" strip: technical conditions with no vital (devices, links, audio,
    storage) as pills in their priority's colour (flashing as the banner does), highest
    first; "+ N more" when they do not all fit."""

    LABEL = "System"

    def __init__(self, flash: FlashClock, wall_of: WallOf | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(flash, wall_of, parent)
        self.setMinimumHeight(30)

    def set_snapshot(self, snap: AlarmSnapshot) -> None:
        self._show(split_alarms(snap.alarms)[1])

    def paintEvent(self, _event: QPaintEvent) -> None:
        p = self._begin()
        w, h, pad = self.width(), self.height(), 10
        label_px = int(h * 0.52)
        label_w = QFontMetricsF(text_font(label_px)).horizontalAdvance(self.LABEL)
        self._text(p, self.LABEL, QRectF(pad, 0, label_w + 2, h), label_px, label_px,
                   TEXT_DIM, bold=False)
        x = pad + label_w + 2 * pad
        if not self.alarms:
            self._text(p, "no system alarms", QRectF(x, 0, w - x - pad, h), label_px,
                       12, TEXT_DIM, bold=False)
            self._finish(p)
            return
        px = int(h * 0.56)
        texts = [alarm_text(a, self.wall_of) for a in self.alarms]
        # One size for every pill: the largest at which as many as possible fit whole.
        room = w - x - pad
        more_w = QFontMetricsF(text_font(px, True)).horizontalAdvance("+ 99 more")
        for size in range(px, 13, -1):
            fm = QFontMetricsF(text_font(size, True))
            widths = [fm.horizontalAdvance(t) + 2 * size for t in texts]
            if sum(widths) + pad * (len(widths) - 1) <= room:
                break
        count = 0
        used = 0.0
        for i, pw in enumerate(widths):
            last = i == len(widths) - 1
            need = used + pw + (0 if last else pad + more_w)
            if need > room and count:
                break
            used += pw + pad
            count += 1
        for a, text, pw in zip(self.alarms[:count], texts[:count], widths[:count],
                               strict=True):
            pw = min(pw, w - x - pad)
            pill = QRectF(x, 3, pw, h - 6)
            colour = ALARM_COLOURS[a.priority]
            lit = self.flash.is_on(a.priority)
            if lit:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(colour)
            else:
                p.setPen(QPen(colour, 3))
                p.setBrush(PANEL)
            p.drawRoundedRect(pill.adjusted(1.5, 1.5, -1.5, -1.5), 6, 6)
            self._text(p, text, pill.adjusted(size, 0, -size + 2, 0), size, 12,
                       ALARM_TEXT[a.priority] if lit else TEXT)
            x += pw + pad
        if count < len(self.alarms):
            self._text(p, f"+ {len(self.alarms) - count} more", QRectF(x, 0, w - x - pad, h),
                       size, 12, TEXT_DIM)
        self._finish(p)
