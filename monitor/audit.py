"""The audit trail: an append-only table in the session store, each row chained to the one
before it by a SHA-256 hash, so that a row changed or deleted afterwards is found.

Who did what is written here by whoever did it (the room screen, the browser, the command
line), each on a short connection of its own: `BEGIN IMMEDIATE` takes the store's write lock
before the chain's head is read, so two processes never fork the chain. SQLite triggers
refuse UPDATE and DELETE; `verify` also reports a store whose triggers were removed.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

GENESIS = "0" * 64  # the `prev_hash` of the first row
TRIGGERS = ("audit_no_update", "audit_no_delete")
BUSY_S = 10.0  # how long a write waits for another connection's lock (the command line)


class AuditError(Exception):
    """The audit trail cannot be written or read; the message says which store and why."""


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    t_wall: float
    actor: str  # "Ann Lee (nurse)", "unidentified staff", "unidentified at the room screen"
    action: str  # sign-in, pin-failed, entry, acknowledge, export, staff-add...
    session_id: int | None
    detail: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first row that does not follow from the one before it, and how."""

    row_id: int | None  # None: the table as a whole (its triggers were removed)
    reason: str

    def __str__(self) -> str:
        where = "the audit table" if self.row_id is None else f"audit row {self.row_id}"
        return f"{where}: {self.reason}"


def digest(prev_hash: str, row_id: int, t_wall: float, actor: str, action: str,
           session_id: int | None, detail_json: str) -> str:
    """The row's hash: the previous row's hash and every field, in a canonical JSON form."""
    payload = json.dumps([prev_hash, row_id, t_wall, actor, action, session_id, detail_json],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(conn: sqlite3.Connection, actor: str, action: str, session_id: int | None = None,
           detail: Mapping[str, Any] | None = None, t_wall: float | None = None) -> AuditRow:
    """Adds one row on `conn`, which must hold the write lock (inside `BEGIN IMMEDIATE`)."""
    head = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    row_id, prev = (1, GENESIS) if head is None else (int(head[0]) + 1, str(head[1]))
    wall = time.time() if t_wall is None else t_wall
    text = json.dumps(dict(detail or {}), sort_keys=True, ensure_ascii=False)
    h = digest(prev, row_id, wall, actor, action, session_id, text)
    conn.execute("INSERT INTO audit (id, t_wall, actor, action, session_id, detail, prev_hash,"
                 " hash) VALUES (?,?,?,?,?,?,?,?)",
                 (row_id, wall, actor, action, session_id, text, prev, h))
    return AuditRow(row_id, wall, actor, action, session_id,
                    MappingProxyType(json.loads(text)), prev, h)


def connect(path: Path | str, busy_s: float = BUSY_S) -> sqlite3.Connection:
    """A short read-write connection to an existing store (never creates one), waiting at
    most `busy_s` for another connection's write lock."""
    uri = f"file:{Path(path).resolve().as_posix()}?mode=rw"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=busy_s, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_s * 1000)}")
    except sqlite3.Error as e:
        raise AuditError(f"{path}: cannot open the session store: {e}") from e
    return conn


@contextmanager
def transaction(path: Path | str, busy_s: float = BUSY_S) -> Iterator[sqlite3.Connection]:
    """A write transaction on its own connection: committed if the block ends normally."""
    conn = connect(path, busy_s)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    except sqlite3.Error as e:
        raise AuditError(f"{path}: cannot write the audit trail: {e}") from e
    finally:
        conn.close()


def has_audit(path: Path | str) -> bool:
    """Whether the store has the audit table (a store from before it, opened read-only,
    has not)."""
    uri = f"file:{Path(path).resolve().as_posix()}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=10.0)
    except sqlite3.Error:
        return False
    try:
        return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND"
                            " name = 'audit'").fetchone() is not None
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def record(path: Path | str, actor: str, action: str, session_id: int | None = None,
           detail: Mapping[str, Any] | None = None, t_wall: float | None = None,
           busy_s: float = BUSY_S) -> AuditRow:
    """Appends one row to the store at `path` (AuditError if it cannot)."""
    with transaction(path, busy_s) as conn:
        return append(conn, actor, action, session_id, detail, t_wall)


def rows(path: Path | str, session_id: int | None = None) -> list[AuditRow]:
    """The trail in order; with `session_id`, only that session's rows."""
    uri = f"file:{Path(path).resolve().as_posix()}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=10.0)
        try:
            sql = ("SELECT id, t_wall, actor, action, session_id, detail, prev_hash, hash"
                   " FROM audit")
            found = conn.execute(sql + (" WHERE session_id = ?" if session_id is not None
                                        else "") + " ORDER BY id",
                                 () if session_id is None else (session_id,)).fetchall()
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise AuditError(f"{path}: cannot read the audit trail: {e}") from e
    out = []
    for r in found:
        try:
            detail = json.loads(r[5])
        except (TypeError, json.JSONDecodeError):
            detail = {"unreadable": str(r[5])}
        out.append(AuditRow(r[0], r[1], r[2], r[3], r[4],
                            MappingProxyType(detail if isinstance(detail, dict) else
                                             {"unreadable": str(r[5])}), r[6], r[7]))
    return out


def verify(path: Path | str) -> ChainBreak | None:
    """The first place where the trail was altered, or None if every row follows."""
    uri = f"file:{Path(path).resolve().as_posix()}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=10.0)
        try:
            found = conn.execute("SELECT id, t_wall, actor, action, session_id, detail,"
                                 " prev_hash, hash FROM audit ORDER BY id").fetchall()
            triggers = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise AuditError(f"{path}: cannot read the audit trail: {e}") from e
    prev, expected_id = GENESIS, 1
    for row_id, t_wall, actor, action, sid, detail, prev_hash, h in found:
        if row_id != expected_id:
            return ChainBreak(expected_id, f"missing (deleted); the next row is {row_id}")
        if prev_hash != prev:
            return ChainBreak(row_id, "does not follow the row before it (that row was "
                              "changed, or rows were deleted or inserted)")
        if not isinstance(t_wall, float) or h != digest(prev, row_id, t_wall, actor, action,
                                                        sid, detail):
            return ChainBreak(row_id, "its contents were changed after it was written")
        prev, expected_id = h, expected_id + 1
    missing = [t for t in TRIGGERS if t not in triggers]
    if missing:
        return ChainBreak(None, f"its append-only trigger(s) {', '.join(missing)} were "
                          "removed; the rows may have been edited")
    return None
