"""Colours, fonts and the dark style for a dim session room.

Alarm colours follow IEC 60601-1-8 Table 2 (high red, medium yellow, low cyan); vital
colours come from the vital registry, which keeps them clear of the alarm colours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF

from alarms.model import Priority
from monitor.vitals import VITALS

BACKGROUND = QColor("#0b0d10")
PANEL = QColor("#14181d")
BORDER = QColor("#2a3038")
TEXT = QColor("#e8eaed")
TEXT_DIM = QColor("#8a939e")
STALE = QColor("#5f6670")  # greyed: a value that is not current

ALARM_COLOURS: dict[Priority, QColor] = {
    Priority.HIGH: QColor("#e0201b"),
    Priority.MEDIUM: QColor("#ffd21f"),
    Priority.LOW: QColor("#1fd3e0"),
}
# Text drawn on an alarm-coloured background.
ALARM_TEXT: dict[Priority, QColor] = {
    Priority.HIGH: QColor("#ffffff"),
    Priority.MEDIUM: QColor("#000000"),
    Priority.LOW: QColor("#000000"),
}
# A technical condition on a vital (probe off, not current) marks its tile in this colour,
# steady and dashed: equipment, never the patient's alarm colours (Philips INOPs are cyan).
TECHNICAL_MARK = QColor("#1fd3e0")
# Flash frequency in Hz (0: steady), duty 50 %: within Table 2 (HIGH 1.4-2.8, MEDIUM 0.4-0.8).
FLASH_HZ: dict[Priority, float] = {Priority.HIGH: 2.0, Priority.MEDIUM: 0.5, Priority.LOW: 0.0}


def vital_colour(key: str) -> QColor:
    return QColor(VITALS[key].colour)


def numeric_font(pixel_size: int, bold: bool = True) -> QFont:
    """Tabular digits so a changing value does not jitter sideways."""
    font = QFont("DejaVu Sans")
    font.setStyleHint(QFont.StyleHint.SansSerif)
    font.setPixelSize(max(1, pixel_size))
    font.setBold(bold)
    return font


def text_font(pixel_size: int, bold: bool = False) -> QFont:
    font = QFont("DejaVu Sans")
    font.setStyleHint(QFont.StyleHint.SansSerif)
    font.setPixelSize(max(1, pixel_size))
    font.setBold(bold)
    return font


@dataclass(frozen=True, slots=True)
class Fitted:
    """Text laid out to fit a box: the font chosen, the lines drawn, and whether the text
    had to be cut (elided with "…") because even `min_px` was too large."""

    font: QFont
    lines: tuple[str, ...]
    elided: bool

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def _wrap(text: str, fm: QFontMetricsF, width: float) -> list[str]:
    lines: list[str] = []
    for word in text.split(" "):
        if lines and fm.horizontalAdvance(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def fit_text(text: str, width: float, height: float, max_px: int, min_px: int,
             bold: bool = False, max_lines: int = 1, line_spacing: float = 1.15) -> Fitted:
    """The largest font size from `max_px` down to `min_px` at which `text` fits `width` x
    `height` whole, in at most `max_lines` lines (fewer lines preferred at a size). Text is
    never cut silently: only when even `min_px` cannot hold it is the last line elided."""
    for px in range(max(max_px, min_px), min_px - 1, -1):
        font = text_font(px, bold)
        fm = QFontMetricsF(font)
        for n in range(1, max_lines + 1):
            if n * px * line_spacing > height and n > 1:
                break
            lines = [text] if n == 1 else _wrap(text, fm, width)
            if len(lines) <= n and all(fm.horizontalAdvance(ln) <= width for ln in lines):
                return Fitted(font, tuple(lines), False)
    font = text_font(min_px, bold)
    fm = QFontMetricsF(font)
    n = max(1, min(max_lines, int(height // (min_px * line_spacing))))
    lines = _wrap(text, fm, width) if n > 1 else [text]
    kept = lines[:n]
    kept[-1] = fm.elidedText(" ".join(lines[n - 1:]), Qt.TextElideMode.ElideRight, width)
    return Fitted(font, tuple(kept), True)


STYLESHEET = f"""
QWidget {{ background: {BACKGROUND.name()}; color: {TEXT.name()}; }}
QPushButton {{
    background: {PANEL.name()}; border: 2px solid {BORDER.name()}; border-radius: 6px;
    padding: 6px 14px; font-size: 20px; font-weight: bold;
}}
QPushButton:hover {{ border-color: {TEXT_DIM.name()}; }}
QPushButton:pressed {{ background: {BORDER.name()}; }}
QPushButton:checked {{ border-color: {TEXT.name()}; }}
QLabel#header {{ font-size: 24px; color: {TEXT.name()}; }}
QLabel#patient {{ font-size: 30px; font-weight: bold; color: {TEXT.name()}; }}
QLabel#headerDim {{ font-size: 20px; color: {TEXT_DIM.name()}; }}
QLabel#dose {{ font-size: 34px; font-weight: bold; color: {TEXT.name()}; }}
QLabel#audio {{ font-size: 22px; font-weight: bold; }}
"""


_Named = TypeVar("_Named", bound=QObject)


def named(obj: _Named, name: str) -> _Named:
    """`obj` with its objectName (which the style sheet selects on) set: what the
    `objectName=` keyword does, which PySide6's stubs do not list for most widgets."""
    obj.setObjectName(name)
    return obj
