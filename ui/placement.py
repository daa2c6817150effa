"""Where a dialog opens over the dashboard: never over the numerics.

Every dialog and panel the dashboard opens (alarm limits, CADSS, the entry editor, the
pickers, devices, past sessions, the discharge) goes through `place_clear_of_numerics`:
it opens over the trend and timeline, under the header, the alarm banner and the tiles,
shrunk to that area when it can be; a dialog too tall for it also takes the pleth's room,
and only then runs past the window's bottom. The tiles stay readable whatever is open.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QWidget


class HasClearArea(Protocol):
    def clear_area(self, include_pleth: bool = False) -> QRect: ...


def place_clear_of_numerics(dialog: QWidget, window: QWidget | None) -> None:
    """Sizes and moves `dialog` (before it is shown) into the window's clear area. A window
    without one (not a dashboard) leaves the dialog where Qt puts it."""
    area = getattr(window, "clear_area", None)
    if area is None:
        return
    dialog.ensurePolished()
    # The size it asked for (resize() before, or shown already), else the one it needs.
    asked = dialog.isVisible() or dialog.testAttribute(Qt.WidgetAttribute.WA_Resized)
    want = dialog.size() if asked else dialog.sizeHint()
    least = dialog.minimumSize().expandedTo(dialog.minimumSizeHint())
    free: QRect = area(False)
    if least.height() > free.height():  # cannot fit over the trend: the pleth's room too
        free = area(True)
    width = max(least.width(), min(want.width(), free.width()))
    height = max(least.height(), min(want.height(), free.height()))
    dialog.resize(width, height)
    x = free.left() + max(0, (free.width() - width) // 2)
    dialog.move(x, free.top())
