"""An application-wide event filter that serves one window and the windows it opened.

Keys and taps go to whichever window is active: a dialog the dashboard opened is a window
of its own, so what must see them all (the idle sign-out, the alarm keys) filters the
application's events and keeps those of its window's family.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QWidget


def opened_from(widget: QWidget, window: QWidget) -> bool:
    """Whether `widget` is in `window`, or in a window `window` opened (at any depth)."""
    w: QWidget | None = widget.window()
    while w is not None:
        if w is window:
            return True
        parent = w.parentWidget()
        w = parent.window() if parent is not None else None
    return False


class WindowFilter(QObject):
    """Installed on the application for `window` (a child of it); removed with it."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        window.destroyed.connect(self._detach)

    def _detach(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
