"""What a device said about each sample is kept (schema 3): a value it vouched for stays a
measurement when the session is read back (browser, resume, report); a store made before
is migrated, its samples unflagged, and read as before."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from monitor.history import load_history
from monitor.messages import Numerics
from monitor.reports.data import load_report
from monitor.resume import history
from monitor.schema import (
    APPLICATION_ID,
    MIGRATIONS,
    SAMPLE_IN_ALARM,
    SAMPLE_VALIDATED,
    SCHEMA_VERSION,
)
from monitor.session import DoseProtocol, Patient, Route
from monitor.store import SessionStore

W0 = 1_700_000_000.0
VF = Numerics("mp", W0 + 1, 1.0, (("hr", 0.0), ("spo2", 97.0)), ("hr", "spo2"), ("hr",))
FILE_ZERO = Numerics("file", W0 + 2, 2.0, (("hr", 0.0),))  # unflagged: an artefact
PLAIN = Numerics("file", W0 + 3, 3.0, (("hr", 71.0),))


def _record(store: SessionStore, *msgs: Numerics) -> int:
    sid = store.create_session(Patient("AB", 70.0), DoseProtocol("ketamine", Route.IV, 35.0),
                               "iv-ketamine", W0, {"mp": "intellivue:x"})
    w = store.writer(sid)
    for m in msgs:
        w.put(m)
    assert w.flush()
    w.close()
    return sid


def test_flags_are_stored_and_read_back(db_path: Path) -> None:
    with SessionStore(db_path) as store:
        sid = _record(store, VF, FILE_ZERO, PLAIN)
        assert [(r[2], r[5]) for r in store.iter_samples(sid)] == [
            ("hr", SAMPLE_VALIDATED | SAMPLE_IN_ALARM), ("spo2", SAMPLE_VALIDATED),
            ("hr", 0), ("hr", 0)]
        assert store.sample_series(sid, "hr")[2].tolist() == [True, False, False]
        assert list(history(store, sid)) == [VF, FILE_ZERO, PLAIN]  # as the sinks saw them
        hr = load_report(store, sid).series["hr"]
        _, trend = load_history(store, sid).trends.series("hr")  # the session browser
    assert trend[0] == 0 and np.isnan(trend[1]) and trend[2] == 71
    # The monitor's HR 0 (VF) is in the report; the file's 0 is left out as an artefact.
    assert hr.t_s.tolist() == [1.0, 3.0] and hr.values.tolist() == [0.0, 71.0]
    assert hr.excluded == 1


def _schema_2_store(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + MIGRATIONS[1])
    conn.execute("INSERT INTO sessions (uuid, start_wall, status) VALUES ('u', ?, 'completed')",
                 (W0,))
    conn.execute("INSERT INTO samples VALUES (1, 5.0, ?, 'hr', 0.0, 'mp')", (W0 + 5,))
    conn.execute("PRAGMA user_version = 2")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.commit()
    conn.close()


def test_a_schema_2_store_is_read_as_before_and_migrated(db_path: Path) -> None:
    _schema_2_store(db_path)
    with SessionStore(db_path, read_only=True) as store:  # an export: no migration
        assert store.schema_version == 2
        assert list(store.iter_samples(1)) == [(5.0, W0 + 5, "hr", 0.0, "mp", 0)]
        assert store.sample_series(1, "hr")[2].tolist() == [False]
    with SessionStore(db_path) as store:
        assert store.schema_version == SCHEMA_VERSION >= 3
        assert list(store.iter_samples(1)) == [(5.0, W0 + 5, "hr", 0.0, "mp", 0)]
        sid = _record(store, VF)
        assert store.sample_series(sid, "hr")[2].tolist() == [True]
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert np.array(conn.execute("SELECT flags FROM samples ORDER BY rowid").fetchall()
                    ).ravel().tolist() == [0, SAMPLE_VALIDATED | SAMPLE_IN_ALARM,
                                           SAMPLE_VALIDATED]
    conn.close()
