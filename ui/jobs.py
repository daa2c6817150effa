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

from monitor.atomic import ExportError
from monitor.store import StoreError

log = logging.getLogger(__name__)


def describe(e: Exception) -> str:
    """Vigil's own errors already say which file and why; anything else gets its type."""
    if isinstance(e, StoreError | ExportError | OSError):
        return str(e)
    return f"{type(e).__name__}: {e}"


class JobSignals(QObject):
    done = Signal(object)  # the function's result
    failed = Signal(str)  # what went wrong, for the user


class Job(QRunnable):
    """Create it on the GUI thread (its signals object lives there), then `start()`."""

    def __init__(self, fn: Callable[[], Any],
                 explain: Callable[[Exception], str] | None = None) -> None:
        super().__init__()  # auto-deleted by the pool once run() has returned
        self.signals = JobSignals()  # keep the Job (so this) until a signal has arrived
        self._fn = fn
        self._explain = explain or describe

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
