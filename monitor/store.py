"""The session store: one SQLite file (mode 0600, WAL) holding every session.

Crash safety: samples reach the file through `SampleWriter` (`store_writer.py`), a thread
that commits a batch at least every `COMMIT_INTERVAL_S`, so a killed process loses at most
that much. Rows map to messages and back in `store_rows.py`. A session
still `active` whose recording process is gone becomes `interrupted` the next time the
store is opened. A file that is not a Vigil store is refused and never written to.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import platformdirs

from alarms.model import AlarmEvent, AlarmEventKind
from monitor.schema import (
    ALARM_SOURCE_SINCE,
    APPLICATION_ID,
    BEFORE_SIGN_IN,
    FLAGS_SINCE,
    LEGACY_ALARM_SOURCE,
    MIGRATIONS,
    SAMPLE_VALIDATED,
    SCHEMA_VERSION,
    STAFF_SINCE,
    WORST_T_SINCE,
)
from monitor.session import (
    DoseProtocol,
    Patient,
    Revision,
    Route,
    Session,
    SessionStatus,
    TimelineEntry,
)
from monitor.store_file import (
    StoreError,
    connect,
    create_private_file,
    pid_alive,
    process_token,
)
from monitor.store_rows import (
    ALARM_COLUMNS,
    INSERT_ALARM,
    INSERT_ENTRY,
    alarm_event,
    alarm_row,
    entry_row,
    sample_flags,
)
from monitor.store_writer import COMMIT_INTERVAL_S, SampleWriter

# What other modules import from here (some of it now lives in store_*.py).
__all__ = ["COMMIT_INTERVAL_S", "STORE_FILENAME", "SampleWriter", "SessionOwner",
           "SessionStore", "SessionSummary", "StoreError", "append_alarm_events",
           "default_store_path", "sample_flags", "session_owners"]

log = logging.getLogger(__name__)

STORE_FILENAME = "sessions.sqlite3"


def default_store_path() -> Path:
    return Path(platformdirs.user_data_dir("vigil", appauthor=False)) / STORE_FILENAME


@dataclass(frozen=True, slots=True)
class SessionSummary:
    id: int
    patient: str | None
    start_wall: float
    end_wall: float | None
    status: SessionStatus
    sample_count: int


# -- another process beside the recording (the watchdog) --------------------------------

def append_alarm_events(path: Path, session_id: int, events: list[AlarmEvent]) -> None:
    """Adds events to a session's alarm log from another process (the watchdog), beside the
    recording's own writer: one short transaction on a connection of its own (WAL lets it
    commit between the writer's batches; it waits up to the busy timeout if the recording
    holds the write lock). It does not open the store as `SessionStore` does: no migration
    and no orphan recovery, which would end a session whose process is only stopped.
    StoreError if it cannot write now (the caller retries)."""
    try:
        conn = connect(Path(path))
    except sqlite3.Error as e:
        raise StoreError(f"{path}: cannot open the session store: {e}") from e
    try:
        conn.execute("PRAGMA synchronous = FULL")
        with conn:
            conn.executemany(INSERT_ALARM, [alarm_row(session_id, ev) for ev in events])
    except sqlite3.Error as e:
        raise StoreError(f"{path}: cannot write the alarm log: {e}") from e
    finally:
        conn.close()


@dataclass(frozen=True, slots=True)
class SessionOwner:
    """A session as another process sees it: whether a live process records it."""

    id: int
    start_wall: float
    status: SessionStatus
    owner_pid: int | None
    owner_alive: bool  # the owner process runs on this computer now


def session_owners(path: Path) -> list[SessionOwner]:
    """Every session with its status and whether its owner process is alive, read-only (a
    watchdog polls this to learn that Vigil records again, or that a session ended)."""
    try:
        conn = connect(Path(path), read_only=True)
    except sqlite3.Error as e:
        raise StoreError(f"{path}: cannot open the session store: {e}") from e
    host = socket.gethostname()
    try:
        rows = conn.execute("SELECT id, start_wall, status, owner_host, owner_pid, owner_token"
                            " FROM sessions ORDER BY id").fetchall()
    except sqlite3.Error as e:
        raise StoreError(f"{path}: cannot read the sessions: {e}") from e
    finally:
        conn.close()
    return [SessionOwner(sid, start, SessionStatus(status), pid,
                      pid is not None and owner_host == host and pid_alive(pid, token))
            for sid, start, status, owner_host, pid, token in rows]


class SessionStore:
    """The open store. Metadata calls are serialised by a lock; samples go via a writer.

    `read_only=True` (exports) never writes: no migration, no recovery, no chmod; a session
    whose recording process is gone is reported `interrupted` without being changed.
    """

    def __init__(self, path: Path | str, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.RLock()
        self._orphans: dict[int, float] = {}  # read-only: session id -> end, seen interrupted
        created = False
        if read_only and not self.path.is_file():
            raise StoreError(f"{self.path}: no session store there")
        if not self.path.exists():
            try:
                create_private_file(self.path)
            except OSError as e:
                raise StoreError(f"{self.path}: cannot create the session store: "
                                 f"{e.strerror}") from e
            created = True
        elif self.path.is_dir():
            raise StoreError(f"{self.path}: is a directory, not a session store")
        try:
            self._conn = connect(self.path, read_only)
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot open the session store: {e}") from e
        try:
            self._check_and_migrate(created)
        except BaseException:
            self._conn.close()
            raise
        if not read_only:
            os.chmod(self.path, 0o600)
        self.recover_orphans()

    # -- opening -------------------------------------------------------------------------

    def _check_and_migrate(self, created: bool) -> None:
        try:
            app_id = self._conn.execute("PRAGMA application_id").fetchone()[0]
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            tables = self._conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: not a Vigil session store (not an SQLite "
                             f"database, or corrupt: {e}); it was left untouched") from e
        if app_id != APPLICATION_ID and (app_id != 0 or tables):
            raise StoreError(f"{self.path}: an SQLite database of another application "
                             "(not a Vigil session store); it was left untouched")
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: made by a newer Vigil (schema {version}, this "
                             f"version reads up to {SCHEMA_VERSION}); it was left untouched")
        self.schema_version = version
        if self.read_only:
            return
        try:
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{self.path}: cannot use write-ahead logging ({mode})")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            for number in range(version, SCHEMA_VERSION):
                with self._conn:
                    self._conn.executescript("BEGIN;" + MIGRATIONS[number] +
                                             f"; PRAGMA user_version = {number + 1};"
                                             f" PRAGMA application_id = {APPLICATION_ID};"
                                             " COMMIT;")
                log.info("session store migrated to schema %d", number + 1)
            self.schema_version = SCHEMA_VERSION
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: cannot prepare the session store: {e}") from e
        if created:
            log.info("created session store %s", self.path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _query(self, sql: str, params: tuple[Any, ...] | Mapping[str, Any] = ()
               ) -> list[Any]:
        """All rows of a read, fetched under the lock (the connection is shared)."""
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as e:
                raise StoreError(f"{self.path}: {e}") from e

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        rows = self._query(sql, params)
        return rows[0] if rows else None

    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                with self._conn:
                    return self._conn.execute(sql, params)
            except sqlite3.DatabaseError as e:
                raise StoreError(f"{self.path}: cannot write: {e}") from e

    # -- sessions ------------------------------------------------------------------------

    def create_session(self, patient: Patient, protocol: DoseProtocol, preset: str | None,
                       start_wall: float, devices: Mapping[str, str] = MappingProxyType({})
                       ) -> int:
        pid = os.getpid()
        with self._lock:
            try:
                with self._conn:
                    cur = self._conn.execute(
                        "INSERT INTO sessions (uuid, patient, weight_kg, drug, route, dose_mg,"
                        " infusion_min, lot, preset, start_wall, status, owner_host, owner_pid,"
                        " owner_token) VALUES (?,?,?,?,?,?,?,?,?,?,'active',?,?,?)",
                        (str(uuidlib.uuid4()), patient.identifier, patient.weight_kg,
                         protocol.drug, protocol.route, protocol.dose_mg, protocol.infusion_min,
                         protocol.lot, preset, start_wall, socket.gethostname(), pid,
                         process_token(pid)))
                    session_id = int(cur.lastrowid or 0)
                    self._conn.executemany(
                        "INSERT INTO devices (session_id, source, spec) VALUES (?,?,?)",
                        [(session_id, s, spec) for s, spec in devices.items()])
            except sqlite3.DatabaseError as e:
                raise StoreError(f"{self.path}: cannot create a session: {e}") from e
        return session_id

    def end_session(self, session_id: int, status: SessionStatus, end_wall: float) -> None:
        self._write("UPDATE sessions SET status = ?, end_wall = ? WHERE id = ?",
                    (str(status), end_wall, session_id))

    # -- resuming (session lifecycle) ------------------------------------------------------
    def resume_session(self, session_id: int,
                       devices: Mapping[str, str] = MappingProxyType({})) -> None:
        """Makes an interrupted session active again, owned by this process (the recording
        continues in the same session), adding any device it did not have. StoreError
        unless it is interrupted; nothing changes then."""
        pid = os.getpid()
        with self._lock:
            try:
                with self._conn:
                    cur = self._conn.execute(
                        "UPDATE sessions SET status = 'active', end_wall = NULL,"
                        " owner_host = ?, owner_pid = ?, owner_token = ?"
                        " WHERE id = ? AND status = 'interrupted'",
                        (socket.gethostname(), pid, process_token(pid), session_id))
                    if cur.rowcount != 1:
                        raise StoreError(f"{self.path}: session {session_id} is not "
                                         "interrupted; only an interrupted session can be "
                                         "resumed")
                    self._conn.executemany(
                        "INSERT OR IGNORE INTO devices (session_id, source, spec)"
                        " VALUES (?,?,?)", [(session_id, s, spec) for s, spec in devices.items()])
            except sqlite3.DatabaseError as e:
                raise StoreError(f"{self.path}: cannot resume session {session_id}: {e}"
                                 ) from e

    def has_table(self, name: str) -> bool:
        """Whether the store has `name` (a read-only store may predate a migration)."""
        return self._one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                         (name,)) is not None

    def recover_orphans(self) -> list[int]:
        """Marks `interrupted` every active session whose recording process is gone.

        A read-only store only remembers them, and reports them interrupted."""
        host = socket.gethostname()
        rows = self._query(
            "SELECT id, owner_host, owner_pid, owner_token, start_wall FROM sessions"
            " WHERE status = 'active'")
        recovered = []
        for sid, owner_host, pid, token, start_wall in rows:
            if owner_host != host or (pid is not None and pid_alive(pid, token)):
                continue
            last = self._last_data_wall(sid)
            end = max(start_wall, last or start_wall)
            if self.read_only:
                self._orphans[sid] = end
                continue
            self.end_session(sid, SessionStatus.INTERRUPTED, end)
            log.warning("session %d was left active by a process that ended; "
                        "marked interrupted", sid)
            recovered.append(sid)
        return recovered

    def _last_data_wall(self, session_id: int) -> float | None:
        values = [self._one(f"SELECT max(t_wall) FROM {table} WHERE session_id = ?",
                            (session_id,))[0]
                  for table in ("samples", "waveforms", "device_events")]
        present = [v for v in values if v is not None]
        return max(present) if present else None

    def list_sessions(self) -> list[SessionSummary]:
        rows = self._query(
            "SELECT s.id, s.patient, s.start_wall, s.end_wall, s.status,"
            " (SELECT count(*) FROM samples WHERE session_id = s.id)"
            " FROM sessions s ORDER BY s.id")
        return [SessionSummary(r[0], r[1], r[2], *self._status(r[0], r[3], r[4]), r[5])
                for r in rows]

    # -- session browser -------------------------------------------------------------------
    def alarm_counts(self) -> dict[int, dict[str, int]]:
        """Alarm episodes per session and kind ({id: {"physiological": n, ...}}), counted
        from their START events; empty when the store has no alarm log."""
        if not self.has_table("alarm_log"):
            return {}
        out: dict[int, dict[str, int]] = {}
        for sid, kind, n in self._query(
                "SELECT session_id, kind, count(*) FROM alarm_log WHERE event = ?"
                " GROUP BY session_id, kind", (str(AlarmEventKind.START),)):
            out.setdefault(sid, {})[kind] = n
        return out

    def _status(self, sid: int, end_wall: float | None, status: str
                ) -> tuple[float | None, SessionStatus]:
        if sid in self._orphans:
            return self._orphans[sid], SessionStatus.INTERRUPTED
        return end_wall, SessionStatus(status)

    def latest_session_id(self) -> int | None:
        row = self._one("SELECT max(id) FROM sessions")
        latest: int | None = row[0]
        return latest

    def resolve_session(self, ref: str | int | None) -> int:
        """`latest`, None or an id, checked to exist; StoreError otherwise."""
        if ref is None or ref == "latest":
            sid = self.latest_session_id()
            if sid is None:
                raise StoreError(f"{self.path}: holds no sessions yet")
            return sid
        try:
            sid = int(ref)
        except ValueError:
            raise StoreError(f"session {ref!r}: not a session id (a number, or 'latest')"
                             ) from None
        if self._one("SELECT 1 FROM sessions WHERE id = ?", (sid,)) is None:
            raise StoreError(f"{self.path}: has no session {sid}")
        return sid

    def load_session(self, session_id: int) -> Session:
        row = self._one(
            "SELECT id, uuid, patient, weight_kg, drug, route, dose_mg, infusion_min, lot,"
            " preset, start_wall, end_wall, status FROM sessions WHERE id = ?",
            (session_id,))
        if row is None:
            raise StoreError(f"{self.path}: has no session {session_id}")
        end_wall, status = self._status(row[0], row[11], row[12])
        return Session(
            id=row[0], uuid=row[1], patient=Patient(row[2], row[3]),
            protocol=DoseProtocol(row[4], Route(row[5]) if row[5] else None, row[6], row[7],
                                  row[8]),
            preset=row[9], start_wall=row[10], end_wall=end_wall, status=status,
            entries=self.timeline(session_id))

    def add_device(self, session_id: int, source: str, spec: str) -> None:
        """A device connected during the session (its source id is new to the session)."""
        self._write("INSERT INTO devices (session_id, source, spec) VALUES (?,?,?)",
                    (session_id, source, spec))

    def devices(self, session_id: int) -> dict[str, str]:
        return dict(self._query("SELECT source, spec FROM devices WHERE session_id = ?",
                                  (session_id,)))

    # -- timeline ------------------------------------------------------------------------

    def add_entry(self, session_id: int, kind: str, t_s: float, t_wall: float,
                  data: Mapping[str, Any], author: str) -> int:
        cur = self._write(INSERT_ENTRY, entry_row(session_id, kind, t_s, t_wall, data, author))
        return int(cur.lastrowid or 0)

    def edit_entry(self, entry_id: int, author: str, *, t_s: float | None = None,
                   data: Mapping[str, Any] | None = None) -> None:
        """Changes an entry; its previous state is kept as a revision with who and when."""
        with self._lock:
            row = self._conn.execute(
                "SELECT t_s, t_wall, data FROM timeline WHERE id = ?", (entry_id,)).fetchone()
            if row is None:
                raise StoreError(f"{self.path}: has no timeline entry {entry_id}")
            old_t, old_wall, old_data = row
            new_t = old_t if t_s is None else t_s
            new_data = old_data if data is None else json.dumps(dict(data), sort_keys=True)
            try:
                with self._conn:
                    self._conn.execute(
                        "INSERT INTO timeline_revisions (entry_id, revised_wall, author, t_s,"
                        " data) VALUES (?,?,?,?,?)",
                        (entry_id, time.time(), author, old_t, old_data))
                    self._conn.execute(
                        "UPDATE timeline SET t_s = ?, t_wall = ?, data = ? WHERE id = ?",
                        (new_t, old_wall + (new_t - old_t), new_data, entry_id))
            except sqlite3.DatabaseError as e:
                raise StoreError(f"{self.path}: cannot edit entry {entry_id}: {e}") from e

    def timeline(self, session_id: int) -> tuple[TimelineEntry, ...]:
        revs: dict[int, list[Revision]] = {}
        for entry_id, wall, author, t_s, data in self._query(
                "SELECT r.entry_id, r.revised_wall, r.author, r.t_s, r.data"
                " FROM timeline_revisions r JOIN timeline t ON t.id = r.entry_id"
                " WHERE t.session_id = ? ORDER BY r.id", (session_id,)):
            revs.setdefault(entry_id, []).append(Revision(
                wall, self._author(author), t_s, MappingProxyType(json.loads(data))))
        return tuple(
            TimelineEntry(r[0], r[1], r[2], r[3], MappingProxyType(json.loads(r[4])),
                          self._author(r[5]), r[6], tuple(revs.get(r[0], ())))
            for r in self._query(
                "SELECT id, kind, t_s, t_wall, data, author, created_wall FROM timeline"
                " WHERE session_id = ? ORDER BY t_s, id", (session_id,)))

    # -- reading samples -----------------------------------------------------------------

    def iter_samples(self, session_id: int
                     ) -> Iterator[tuple[float, float, str, float, str, int]]:
        """(t_s, t_wall, vital, value, source, flags), in time order, as stored. The flags:
        `SAMPLE_VALIDATED`, `SAMPLE_IN_ALARM`; 0 in a store made before they were kept."""
        with self._lock:
            cur = self._conn.execute(
                f"SELECT t_s, t_wall, vital, value, source, {self._flags_column()} FROM samples"
                " WHERE session_id = ? ORDER BY t_s, rowid", (session_id,))
            rows = cur.fetchall()
        yield from rows

    def _flags_column(self) -> str:
        return "flags" if self.schema_version >= FLAGS_SINCE else "0"

    def sample_series(self, session_id: int, vital: str
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Times, values and whether the device vouched for each value, from one query: a
        session still recording cannot give arrays of different lengths."""
        rows = self._query(
            f"SELECT t_s, value, {self._flags_column()} FROM samples WHERE session_id = ? AND"
            " vital = ? ORDER BY t_s, rowid", (session_id, vital))
        arr = np.array(rows, dtype=np.float64).reshape(-1, 3)
        validated: np.ndarray = (arr[:, 2].astype(np.int64) & SAMPLE_VALIDATED) != 0
        return arr[:, 0].copy(), arr[:, 1].copy(), validated

    def sample_arrays(self, session_id: int, vital: str) -> tuple[np.ndarray, np.ndarray]:
        """Times (t_s) and values of one vital as float64 arrays, in time order."""
        rows = self._query(
            "SELECT t_s, value FROM samples WHERE session_id = ? AND vital = ?"
            " ORDER BY t_s, rowid", (session_id, vital))
        arr = np.array(rows, dtype=np.float64).reshape(-1, 2)
        return arr[:, 0].copy(), arr[:, 1].copy()

    def waveform_chunks(self, session_id: int, vital: str
                        ) -> list[tuple[float, float, np.ndarray]]:
        """(t_s, rate_hz, float32 values) per stored chunk, in time order."""
        return [(t, rate, np.frombuffer(blob, dtype="<f4"))
                for t, rate, blob in self._query(
                    "SELECT t_s, rate_hz, data FROM waveforms WHERE session_id = ? AND"
                    " vital = ? ORDER BY t_s", (session_id, vital))]

    def device_events(self, session_id: int) -> list[tuple[Any, ...]]:
        """(t_s, t_wall, source, kind, code, active, vital, value, detail) in time order."""
        return self._query(
            "SELECT t_s, t_wall, source, kind, code, active, vital, value, detail"
            " FROM device_events WHERE session_id = ? ORDER BY t_s, rowid",
            (session_id,))

    def alarm_events(self, session_id: int) -> list[AlarmEvent]:
        """The session's alarm log, event by event, in the order the engine emitted it."""
        # A read-only store of an older schema has no worst_t_s column.
        worst_t_s = "worst_t_s" if self.schema_version >= WORST_T_SINCE else "NULL"
        source = ("source" if self.schema_version >= ALARM_SOURCE_SINCE
                  else LEGACY_ALARM_SOURCE)
        events = [alarm_event(row) for row in self._query(
            f"SELECT {ALARM_COLUMNS}, {worst_t_s}, {source} FROM alarm_log WHERE session_id = ?"
            " ORDER BY rowid", (session_id,))]
        if self.schema_version >= STAFF_SINCE:
            return events
        return [replace(e, user=self._author(e.user)) for e in events]

    def _author(self, who: str) -> str:
        """A read-only store from before sign-in (never migrated) names what was authored
        "nurse" as its migration would: "nurse (before sign-in)", in reports too."""
        return BEFORE_SIGN_IN if who == "nurse" and self.schema_version < STAFF_SINCE else who

    def writer(self, session_id: int, on_error: Callable[[Exception | None], None] | None = None
               ) -> SampleWriter:
        return SampleWriter(self.path, session_id, on_error)


