"""Opening an 8-hour session in the session browser's read-only view (aim < 2 s, it runs
off the GUI thread) and listing a store of many sessions (aim < 0.2 s, on the GUI thread).

Baseline, same run: reading the same sample rows from SQLite with one bare query.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from monitor.history import list_session_rows, load_history
from monitor.messages import Numerics
from monitor.session import DoseProtocol, Patient, SessionStatus
from monitor.store import SessionStore
from tests.bench.conftest import best_of, report

SESSION_S = 8 * 3600
SESSIONS = 200


def test_open_eight_hour_session_and_list_many(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    wall0 = 1_790_000_000.0
    with SessionStore(db) as store:
        sid = store.create_session(Patient("AB"), DoseProtocol(), None, wall0)
        writer = store.writer(sid)
        try:
            for t in range(SESSION_S):
                writer.put(Numerics("sim", wall0 + t, float(t),
                                    (("hr", 72.0), ("pr", 72.0), ("spo2", 97.0), ("rr", 14.0))))
            assert writer.flush(120)
        finally:
            writer.close()
        store.end_session(sid, SessionStatus.COMPLETED, wall0 + SESSION_S)
        for i in range(SESSIONS - 1):
            other = store.create_session(Patient(f"P{i}"), DoseProtocol(), None, wall0 + i)
            store.end_session(other, SessionStatus.COMPLETED, wall0 + i + 60)

    with SessionStore(db, read_only=True) as ro:
        t_load = best_of(lambda: load_history(ro, sid))
        t_list = best_of(lambda: list_session_rows(ro))
    conn = sqlite3.connect(db)
    t_bare = best_of(lambda: conn.execute(
        "SELECT t_s, t_wall, vital, value, source FROM samples WHERE session_id = ?"
        " ORDER BY t_s, rowid", (sid,)).fetchall())
    conn.close()
    report("history_load_8h", t_load, "s")
    report("history_list_200_sessions", t_list * 1000, "ms")
    report("history_bare_query_8h", t_bare, "s")
    report("history_load_vs_bare_query", t_load / t_bare, "ratio")
    assert t_load < 2.0 and t_list < 0.2
