"""One clock for every flashing alarm indicator, so the banner and tiles flash in step.

HIGH flashes at 2 Hz and MEDIUM at 0.5 Hz, both 50 % duty; LOW is steady (IEC 60601-1-8
Table 2). The timer runs only while something flashes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from alarms.model import Priority
from ui.theme import FLASH_HZ


def flash_on(priority: Priority, t: float) -> bool:
    """Whether an indicator of `priority` is lit at monotonic time `t` (50 % duty)."""
    hz = FLASH_HZ[priority]
    return hz <= 0 or (t * hz) % 1.0 < 0.5


class FlashClock(QObject):
    changed = Signal()

    def __init__(self, now: Callable[[], float] = time.monotonic,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._now = now
        self._timer = QTimer(self)
        self._timer.setInterval(50)  # edges land within 50 ms of their time
        self._timer.timeout.connect(self.refresh)
        self._state = self._compute()

    def _compute(self) -> tuple[bool, ...]:
        t = self._now()
        return tuple(flash_on(p, t) for p in Priority)

    def is_on(self, priority: Priority) -> bool:
        return self._state[list(Priority).index(priority)]

    def set_running(self, running: bool) -> None:
        if running and not self._timer.isActive():
            self.refresh()
            self._timer.start()
        elif not running and self._timer.isActive():
            self._timer.stop()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def refresh(self) -> None:
        state = self._compute()
        if state != self._state:
            self._state = state
            self.changed.emit()
