"""The sample writer: the thread through which samples, waveforms, device events and alarm
events reach the store, committed in batches at most `COMMIT_INTERVAL_S` apart, so a killed
process loses at most that much and the device thread never waits on the disk.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from alarms.model import AlarmEvent
from monitor.messages import Message
from monitor.store_file import connect
from monitor.store_rows import (
    INSERT_ALARM,
    INSERT_DEVICE_EVENT,
    INSERT_ENTRY,
    INSERT_SAMPLES,
    INSERT_WAVEFORM,
    Rows,
)

log = logging.getLogger(__name__)

COMMIT_INTERVAL_S = 0.25


class SampleWriter:
    """A thread that commits messages (and alarm events) to the store in batches at most
    0.25 s apart.

    `put` is cheap and never blocks the device thread. If a write fails (a full disk, an
    I/O error) the batch is kept in memory, `on_error(exc)` is called once, and the write
    is retried; `on_error(None)` says storage works again. Nothing is dropped.
    """

    def __init__(self, path: Path, session_id: int,
                 on_error: Callable[[Exception | None], None] | None = None) -> None:
        self.path = path
        self.session_id = session_id
        self._on_error = on_error
        self._pending: list[Message | AlarmEvent] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self._failed: Exception | None = None
        self._written = 0
        self._flushed = threading.Condition(self._lock)
        self._submitted = 0
        #: Caps the file at this many pages, as a full disk would; None: no cap. It lets the
        #: full-disk path be exercised without filling a real disk.
        self.max_page_count: int | None = None
        self._applied_cap: int | None = None
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=False)
        self._thread.start()

    @property
    def failure(self) -> Exception | None:
        return self._failed

    def put(self, msg: Message | AlarmEvent) -> None:
        with self._lock:
            self._pending.append(msg)
            self._submitted += 1

    def flush(self, timeout: float = 30.0) -> bool:
        """Blocks until everything put so far is committed; False on timeout or failure."""
        deadline = time.monotonic() + timeout
        with self._lock:
            target = self._submitted
            self._wake.set()
            while self._written < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return False
                self._flushed.wait(min(remaining, 0.1))
                self._wake.set()
        return True

    def close(self, timeout: float = 30.0) -> None:
        self.flush(timeout)
        self._closing = True
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        conn = connect(self.path)
        conn.execute("PRAGMA synchronous = FULL")
        batch: list[Message | AlarmEvent] = []
        try:
            while True:
                self._wake.wait(COMMIT_INTERVAL_S)
                self._wake.clear()
                with self._lock:
                    batch.extend(self._pending)
                    self._pending = []
                    closing = self._closing
                if batch:
                    if self._commit(conn, batch):
                        with self._lock:
                            self._written += len(batch)
                            self._flushed.notify_all()
                        batch = []
                    elif closing:
                        log.error("store writer closing with %d unsaved messages", len(batch))
                        return
                    else:
                        time.sleep(COMMIT_INTERVAL_S)  # back off before retrying a failed write
                if closing and not batch:
                    with self._lock:
                        if not self._pending:
                            return
        finally:
            conn.close()

    def _commit(self, conn: sqlite3.Connection, batch: list[Message | AlarmEvent]) -> bool:
        rows = Rows(self.session_id)
        for m in batch:
            rows.add(m)
        try:
            if self.max_page_count != self._applied_cap:
                cap = self.max_page_count or 1_073_741_823  # SQLite's default maximum
                conn.execute(f"PRAGMA max_page_count = {int(cap)}")
                self._applied_cap = self.max_page_count
            with conn:
                for sql, table in ((INSERT_SAMPLES, rows.samples),
                                   (INSERT_WAVEFORM, rows.waves),
                                   (INSERT_DEVICE_EVENT, rows.events),
                                   (INSERT_ENTRY, rows.marks), (INSERT_ALARM, rows.alarms)):
                    if table:
                        conn.executemany(sql, table)
        except sqlite3.Error as e:
            if self._failed is None:
                self._failed = e
                log.error("cannot write to the session store %s: %s; keeping %d messages in "
                          "memory and retrying", self.path, e, len(batch))
                if self._on_error:
                    self._on_error(e)
            return False
        if self._failed is not None:
            self._failed = None
            log.warning("writing to the session store works again")
            if self._on_error:
                self._on_error(None)
        return True
