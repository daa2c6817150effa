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
    """Installed on the application for `window` (a child of it); removed with it.

    Every event of the application then passes through Python, which costs the dashboard
    about a point of CPU: `attach=False` leaves the installing to the subclass, for a filter
    needed only at times."""

    def __init__(self, window: QWidget, attach: bool = True) -> None:
        super().__init__(window)
        self.window = window
        self.attached = False
        if attach:
            self._attach()
        window.destroyed.connect(self._detach)

    def _attach(self) -> None:
        app = QApplication.instance()
        if app is not None and not self.attached:
            app.installEventFilter(self)
            self.attached = True

    def _detach(self) -> None:
        app = QApplication.instance()
        if app is not None and self.attached:
            app.removeEventFilter(self)
            self.attached = False
