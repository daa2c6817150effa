"""Colours, fonts and the dark style for a dim session room.

Alarm colours follow IEC 60601-1-8 Table 2 (high red, medium yellow, low cyan); vital
colours come from the vital registry, which keeps them clear of the alarm colours.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont

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
