"""Work off the GUI thread: a function runs on Qt's thread pool and its result (or the
error, in words) comes back as a queued signal on the GUI thread.

Connect `done` and `failed` to methods of a QObject that lives on the GUI thread (a
widget): Qt then delivers them there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class JobSignals(QObject):
    done = Signal(object)  # the function's result
    failed = Signal(str)  # what went wrong, for the user


class Job(QRunnable):
    """Create it on the GUI thread (its signals object lives there), then `start()`."""

    def __init__(self, fn: Callable[[], Any], explain: Callable[[Exception], str] = str
                 ) -> None:
        super().__init__()
        self.signals = JobSignals()
        self._fn = fn
        self._explain = explain
        self.setAutoDelete(False)  # the caller keeps it until it reports

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception as e:  # any failure becomes words on the screen, never a crash
            log.warning("background job failed: %s", type(e).__name__)
            self.signals.failed.emit(self._explain(e))
            return
        self.signals.done.emit(result)

    def start(self, pool: QThreadPool | None = None) -> None:
        (pool or QThreadPool.globalInstance()).start(self)
