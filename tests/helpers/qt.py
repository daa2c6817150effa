"""Qt test helpers: answering a modal dialog, and reading the pixels of a grabbed widget.

Imported by Qt tests only (it imports PySide6); the core's tests never load Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from PySide6.QtCore import QPoint, QTimer
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QWidget

W = TypeVar("W", bound=QWidget)


def in_dialog(kind: type[W], act: Callable[[W], Any], every_ms: int = 10) -> None:
    """Runs `act` on the modal dialog of `kind` once it is open and shown. Call it before
    what opens the dialog: `exec` blocks the test, so the act waits on the event loop."""
    def attempt() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, kind) and dialog.isVisible():
            act(dialog)
        else:
            QTimer.singleShot(every_ms, attempt)
    QTimer.singleShot(0, attempt)


def to_array(img: QImage) -> np.ndarray:
    """The image's pixels as an (height, width, RGB) int array."""
    img = img.convertToFormat(QImage.Format.Format_RGB32)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(h, img.bytesPerLine() // 4, 4)
    return arr[:, :w, 2::-1].astype(int)  # BGRA -> RGB


def region(shot: np.ndarray, window: QWidget, widget: QWidget, frac: tuple[float, ...] = (
        0, 0, 1, 1)) -> np.ndarray:
    """The part of a grab of `window` where `widget` is (or a fraction of it: x0, y0, x1, y1)."""
    top_left = widget.mapTo(window, QPoint(0, 0))
    x0 = top_left.x() + int(widget.width() * frac[0])
    y0 = top_left.y() + int(widget.height() * frac[1])
    x1 = top_left.x() + int(widget.width() * frac[2])
    y1 = top_left.y() + int(widget.height() * frac[3])
    return shot[y0:y1, x0:x1]


def share_of(pixels: np.ndarray, colour: QColor, tol: int = 40) -> float:
    """The share of `pixels` within `tol` of `colour` on every channel."""
    target = np.array([colour.red(), colour.green(), colour.blue()])
    return float((np.abs(pixels - target).max(axis=-1) <= tol).mean())
