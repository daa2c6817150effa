"""The audit trail and staff PINs: what an audited action and a sign-in cost, each against
a same-run baseline."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from argon2 import PasswordHasher

from monitor import audit
from monitor.staff import Role, StaffDirectory
from monitor.store import SessionStore
from tests.bench.conftest import best_of, report

N_APPEND = 300
N_VERIFY = 20_000


def test_audit_append_and_verify(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    SessionStore(db).close()
    started = time.perf_counter()
    for i in range(N_APPEND):
        audit.record(db, "Ann Lee (nurse)", "acknowledge", 1, {"n": i})
    append_ms = (time.perf_counter() - started) / N_APPEND * 1000

    # Baseline: the same row, unchained, on its own connection and transaction each time.
    conn_path = f"file:{db.resolve().as_posix()}?mode=rw"
    started = time.perf_counter()
    for i in range(N_APPEND):
        conn = sqlite3.connect(conn_path, uri=True, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO timeline (session_id, kind, t_s, t_wall, data, author,"
                     " created_wall) VALUES (1, 'note', ?, 0, '{}', 'x', 0)", (float(i),))
        conn.execute("COMMIT")
        conn.close()
    bare_ms = (time.perf_counter() - started) / N_APPEND * 1000
    report("audit_append", append_ms, "ms/row")
    report("audit_append_bare_insert_baseline", bare_ms, "ms/row")
    report("audit_append_vs_bare_insert", append_ms / bare_ms, "ratio")

    with audit.transaction(db) as conn:
        for i in range(N_VERIFY):
            audit.append(conn, "Ann Lee (nurse)", "entry", 1, {"entry": i})
    n = N_APPEND + N_VERIFY
    verify_s = best_of(lambda: audit.verify(db))
    read_s = best_of(lambda: audit.rows(db))
    assert audit.verify(db) is None
    report("audit_verify", n / verify_s, "rows/s")
    report("audit_read_baseline", n / read_s, "rows/s")
    report("audit_verify_vs_read", verify_s / read_s, "ratio")


def test_sign_in_cost(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    SessionStore(db).close()
    staff = StaffDirectory(db)
    staff.add("Ann Lee", Role.NURSE, "246810")
    sign_in = best_of(lambda: staff.authenticate("Ann Lee", "246810", "bench"), runs=5)
    hasher = PasswordHasher()
    pin_hash = hasher.hash("246810")
    argon = best_of(lambda: hasher.verify(pin_hash, "246810"), runs=5)
    report("staff_sign_in", sign_in * 1000, "ms")
    report("staff_argon2id_verify_baseline", argon * 1000, "ms")
    report("staff_sign_in_vs_argon2id", sign_in / argon, "ratio")
