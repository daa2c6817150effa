"""The session store: one SQLite file (mode 0600, WAL) holding every session.

Crash safety: samples reach the file through `SampleWriter`, a thread that commits a batch
at least every `COMMIT_INTERVAL_S`, so a killed process loses at most that much. A session
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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import platformdirs

from alarms.model import (
    AlarmEvent,
    AlarmEventKind,
    AlarmKind,
    AlarmState,
    AlarmStatus,
    Priority,
)
from monitor.messages import (
    Battery,
    DeviceCondition,
    DeviceStatus,
    Message,
    Numerics,
    TimelineMark,
    Waveform,
)
from monitor.schema import (
    APPLICATION_ID,
    FLAGS_SINCE,
    MIGRATIONS,
    SAMPLE_IN_ALARM,
    SAMPLE_VALIDATED,
    SCHEMA_VERSION,
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

log = logging.getLogger(__name__)

COMMIT_INTERVAL_S = 0.25
_INSERT_ALARM = f"INSERT INTO alarm_log VALUES ({','.join('?' * 18)})"
STORE_FILENAME = "sessions.sqlite3"


class StoreError(Exception):
    """The store cannot be used; the message says which file and why."""


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


def _process_token(pid: int) -> str | None:
    """The process start time from /proc, so a recycled pid is not taken for ours."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int, token: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return token is None or _process_token(pid) in (None, token)


def _create_private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


def _connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    # mode=rw: never let sqlite create a file behind our back (the 0600 file is made above).
    uri = f"file:{path.resolve().as_posix()}?mode={'ro' if read_only else 'rw'}"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def _alarm_row(session_id: int, ev: AlarmEvent) -> tuple[Any, ...]:
    a = ev.alarm
    return (session_id, ev.t_s, ev.t_wall, str(ev.event)) + (
        (None,) * 12 if a is None else
        (a.key, str(a.kind), int(a.priority), a.vital, a.condition, a.message, str(a.state),
         a.onset_t_s, a.signal_t_s, a.worst_value, a.limit, int(a.acknowledged))) + (
        ev.user, None if a is None else a.worst_t_s)


# -- another process beside the recording (the watchdog) --------------------------------

def append_alarm_events(path: Path, session_id: int, events: list[AlarmEvent]) -> None:
    """Adds events to a session's alarm log from another process (the watchdog), beside the
    recording's own writer: one short transaction on a connection of its own (WAL lets it
    commit between the writer's batches; it waits up to the busy timeout if the recording
    holds the write lock). It does not open the store as `SessionStore` does: no migration
    and no orphan recovery, which would end a session whose process is only stopped.
    StoreError if it cannot write now (the caller retries)."""
    try:
        conn = _connect(Path(path))
    except sqlite3.Error as e:
        raise StoreError(f"{path}: cannot open the session store: {e}") from e
    try:
        conn.execute("PRAGMA synchronous = FULL")
        with conn:
            conn.executemany(_INSERT_ALARM, [_alarm_row(session_id, ev) for ev in events])
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
        conn = _connect(Path(path), read_only=True)
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
                      pid is not None and owner_host == host and _pid_alive(pid, token))
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
                _create_private_file(self.path)
            except OSError as e:
                raise StoreError(f"{self.path}: cannot create the session store: "
                                 f"{e.strerror}") from e
            created = True
        elif self.path.is_dir():
            raise StoreError(f"{self.path}: is a directory, not a session store")
        try:
            self._conn = _connect(self.path, read_only)
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
                         _process_token(pid)))
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
                        (socket.gethostname(), pid, _process_token(pid), session_id))
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
            if owner_host != host or (pid is not None and _pid_alive(pid, token)):
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
        cur = self._write(
            "INSERT INTO timeline (session_id, kind, t_s, t_wall, data, author, created_wall)"
            " VALUES (?,?,?,?,?,?,?)",
            (session_id, kind, t_s, t_wall, json.dumps(dict(data), sort_keys=True), author,
             time.time()))
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
            revs.setdefault(entry_id, []).append(
                Revision(wall, author, t_s, MappingProxyType(json.loads(data))))
        return tuple(
            TimelineEntry(r[0], r[1], r[2], r[3], MappingProxyType(json.loads(r[4])), r[5], r[6],
                          tuple(revs.get(r[0], ())))
            for r in self._query(
                "SELECT id, kind, t_s, t_wall, data, author, created_wall FROM timeline"
                " WHERE session_id = ? ORDER BY t_s, id", (session_id,)))

    # -- reading samples -----------------------------------------------------------------

    def iter_samples(self, session_id: int) -> Iterator[tuple[float, float, str, float, str]]:
        """(t_s, t_wall, vital, value, source), in time order, as stored."""
        with self._lock:
            cur = self._conn.execute(
                "SELECT t_s, t_wall, vital, value, source FROM samples WHERE session_id = ?"
                " ORDER BY t_s, rowid", (session_id,))
            rows = cur.fetchall()
        yield from rows

    def iter_flagged_samples(self, session_id: int
                             ) -> Iterator[tuple[float, float, str, float, str, int]]:
        """As `iter_samples`, with each sample's flags (`SAMPLE_VALIDATED`, `SAMPLE_IN_ALARM`;
        0 in a store made before they were kept)."""
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
        out = []
        # A read-only store of an older schema has no worst_t_s column.
        worst_t_s = "worst_t_s" if self.schema_version >= WORST_T_SINCE else "NULL"
        for (t_s, t_wall, event, key, kind, priority, vital, condition, message, state,
             onset, signal, worst, limit, acked, user, worst_t) in self._query(
                "SELECT t_s, t_wall, event, key, kind, priority, vital, condition, message,"
                " state, onset_t_s, signal_t_s, worst_value, limit_value, acknowledged, user,"
                f" {worst_t_s} FROM alarm_log WHERE session_id = ? ORDER BY rowid",
                (session_id,)):
            status = None if key is None else AlarmStatus(
                key, AlarmKind(kind), Priority(priority), vital, condition, message,
                AlarmState(state), onset, signal, worst, limit, bool(acked), worst_t)
            out.append(AlarmEvent(t_s, t_wall, AlarmEventKind(event), status, user))
        return out

    def writer(self, session_id: int, on_error: Callable[[Exception | None], None] | None = None
               ) -> SampleWriter:
        return SampleWriter(self.path, session_id, on_error)


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
        conn = _connect(self.path)
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
        sid = self.session_id
        samples: list[tuple[Any, ...]] = []
        waves: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        marks: list[tuple[Any, ...]] = []
        alarms: list[tuple[Any, ...]] = []
        for m in batch:
            if isinstance(m, Numerics):
                samples.extend((sid, m.t_s, m.t_wall, k, v, m.source, _flags(m, k))
                               for k, v in m.values)
            elif isinstance(m, Waveform):
                waves.append((sid, m.t_s, m.t_wall, m.vital, m.rate_hz,
                              m.values.astype("<f4").tobytes(), m.source))
            elif isinstance(m, DeviceStatus):
                events.append((sid, m.t_s, m.t_wall, m.source, "status", str(m.state), None,
                               None, None, m.detail))
            elif isinstance(m, DeviceCondition):
                events.append((sid, m.t_s, m.t_wall, m.source, "condition", str(m.condition),
                               int(m.active), m.vital, None, m.detail))
            elif isinstance(m, Battery):
                events.append((sid, m.t_s, m.t_wall, m.source, "battery", "battery", None, None,
                               m.percent, ""))
            elif isinstance(m, TimelineMark) and m.entry_id is None:
                marks.append((sid, m.kind, m.t_s, m.t_wall, json.dumps(dict(m.data)), m.source,
                              time.time()))
            elif isinstance(m, AlarmEvent):
                alarms.append(_alarm_row(sid, m))
        try:
            if self.max_page_count != self._applied_cap:
                cap = self.max_page_count or 1_073_741_823  # SQLite's default maximum
                conn.execute(f"PRAGMA max_page_count = {int(cap)}")
                self._applied_cap = self.max_page_count
            with conn:
                if samples:
                    conn.executemany("INSERT INTO samples (session_id, t_s, t_wall, vital,"
                                     " value, source, flags) VALUES (?,?,?,?,?,?,?)", samples)
                if waves:
                    conn.executemany("INSERT INTO waveforms VALUES (?,?,?,?,?,?,?)", waves)
                if events:
                    conn.executemany("INSERT INTO device_events VALUES (?,?,?,?,?,?,?,?,?,?)",
                                     events)
                if marks:
                    conn.executemany(
                        "INSERT INTO timeline (session_id, kind, t_s, t_wall, data, author,"
                        " created_wall) VALUES (?,?,?,?,?,?,?)", marks)
                if alarms:
                    conn.executemany(_INSERT_ALARM, alarms)
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


def _flags(m: Numerics, key: str) -> int:
    return ((SAMPLE_VALIDATED if key in m.validated else 0)
            | (SAMPLE_IN_ALARM if key in m.in_alarm else 0))


def sample_flags(rows: Iterable[tuple[float, float, str, float, str, int]]
                 ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(validated, in_alarm) of a `Numerics` rebuilt from `iter_flagged_samples` rows."""
    rows = list(rows)
    return (tuple(r[2] for r in rows if r[5] & SAMPLE_VALIDATED),
            tuple(r[2] for r in rows if r[5] & SAMPLE_IN_ALARM))
