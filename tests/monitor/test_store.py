from __future__ import annotations

import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.messages import (
    Condition,
    DeviceCondition,
    DeviceState,
    DeviceStatus,
    Numerics,
    TimelineMark,
    Waveform,
)
from monitor.schema import APPLICATION_ID, SCHEMA_VERSION
from monitor.session import DoseProtocol, Patient, Route, SessionStatus
from monitor.store import SessionStore, StoreError
from tests.helpers.paths import REPO


def _session(store: SessionStore, **kw: object) -> int:
    return store.create_session(Patient("AB", 70.0),
                                DoseProtocol("ketamine", Route.IV, 35.0, 40.0),
                                "iv-ketamine", 1_700_000_000.0, {"sim": "sim:normal"})


def test_new_store_is_private_wal_and_versioned(db_path: Path) -> None:
    with SessionStore(db_path) as store:
        sid = _session(store)
        w = store.writer(sid)
        w.put(Numerics("sim", 1_700_000_001.0, 1.0, (("hr", 72.0),)))
        w.close()
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(db_path) + suffix)
            if p.exists():
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_foreign_sqlite_file_is_refused_and_untouched(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    before = db_path.read_bytes()
    with pytest.raises(StoreError, match="another application"):
        SessionStore(db_path)
    assert db_path.read_bytes() == before


@pytest.mark.parametrize("content", [b"hello, this is not a database" * 100,
                                     b"SQLite format 3\x00" + b"\xff" * 4000])
def test_corrupt_or_non_sqlite_file_is_refused_and_untouched(db_path: Path,
                                                             content: bytes) -> None:
    db_path.write_bytes(content)
    with pytest.raises(StoreError, match=re.escape(str(db_path))):
        SessionStore(db_path)
    assert db_path.read_bytes() == content


def test_store_from_a_newer_vigil_is_refused(db_path: Path) -> None:
    SessionStore(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer Vigil"):
        SessionStore(db_path)


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory"):
        SessionStore(tmp_path)


def test_messages_round_trip(db_path: Path) -> None:
    with SessionStore(db_path) as store:
        sid = _session(store)
        w = store.writer(sid)
        w.put(Numerics("sim", 1e9 + 30, 30.0, (("sbp", 120.0), ("dbp", 80.0), ("map", 93.0))))
        w.put(Waveform("sim", 1e9 + 1, 1.0, "pleth", 100.0, [0.1, 0.2, 0.3]))
        w.put(DeviceStatus("sim", 1e9 + 2, 2.0, DeviceState.STALE, "no data"))
        w.put(DeviceCondition("sim", 1e9 + 3, 3.0, Condition.SENSOR_OFF, True, "spo2"))
        w.put(TimelineMark("sim", 1e9 + 4, 4.0, "dose_start", (("dose_mg", 35.0),)))
        assert w.flush()
        w.close()
        assert [(r[0], r[2], r[3]) for r in store.iter_samples(sid)] == [
            (30.0, "sbp", 120.0), (30.0, "dbp", 80.0), (30.0, "map", 93.0)]
        [(t, rate, values)] = store.waveform_chunks(sid, "pleth")
        assert (t, rate) == (1.0, 100.0) and values.tolist() == pytest.approx([0.1, 0.2, 0.3])
        events = store.device_events(sid)
        assert [(e[3], e[4], e[5]) for e in events] == [("status", "stale", None),
                                                        ("condition", "sensor_off", 1)]
        session = store.load_session(sid)
        assert session.dose_start_s == 4.0
        assert session.entries[0].data["dose_mg"] == 35.0
        assert session.patient == Patient("AB", 70.0)
        assert session.protocol.dose_mg_per_kg(session.patient) == 0.5
        assert store.devices(sid) == {"sim": "sim:normal"}


def test_timeline_edit_keeps_who_when_and_what(db_path: Path) -> None:
    with SessionStore(db_path) as store:
        sid = _session(store)
        eid = store.add_entry(sid, "sedation", 600.0, 1e9 + 600, {"scale": "moaas", "score": 4},
                              "nurse A")
        store.edit_entry(eid, "nurse B", data={"scale": "moaas", "score": 3}, t_s=630.0)
        [entry] = store.timeline(sid)
        assert entry.data["score"] == 3 and entry.t_s == 630.0 and entry.t_wall == 1e9 + 630
        [rev] = entry.revisions
        assert rev.author == "nurse B" and rev.data["score"] == 4 and rev.t_s == 600.0
        with pytest.raises(StoreError, match="no timeline entry 999"):
            store.edit_entry(999, "x", t_s=1.0)


def test_full_disk_keeps_samples_in_memory_and_writes_them_later(db_path: Path) -> None:
    errors: list[Exception | None] = []
    with SessionStore(db_path) as store:
        sid = _session(store)
        page_count = sqlite3.connect(db_path).execute("PRAGMA page_count").fetchone()[0]
        w = store.writer(sid, errors.append)
        # A full disk, as SQLite sees it: the file may not grow beyond its current size.
        w.max_page_count = page_count
        blob = [0.5] * 5000
        for i in range(40):
            w.put(Waveform("sim", 1e9 + i, float(i), "pleth", 100.0, blob))
        assert not w.flush(timeout=1.5)
        assert errors and isinstance(errors[0], sqlite3.OperationalError)
        assert "full" in str(errors[0])
        w.max_page_count = None  # space freed
        assert w.flush(timeout=10)
        w.close()
        assert errors[-1] is None
        assert len(store.waveform_chunks(sid, "pleth")) == 40


def test_session_left_active_by_a_dead_process_becomes_interrupted(db_path: Path) -> None:
    code = (
        "import sys, os\n"
        "from monitor.store import SessionStore\n"
        "from monitor.session import Patient, DoseProtocol\n"
        "from monitor.messages import Numerics\n"
        "s = SessionStore(sys.argv[1])\n"
        "sid = s.create_session(Patient('ZZ'), DoseProtocol(), None, 1e9)\n"
        "w = s.writer(sid)\n"
        "w.put(Numerics('sim', 1e9 + 42, 42.0, (('hr', 70.0),)))\n"
        "w.flush()\n"
        "os._exit(0)\n"  # dies without ending the session
    )
    subprocess.run([sys.executable, "-c", code, str(db_path)], check=True,
                   cwd=REPO)
    with SessionStore(db_path) as store:
        [s] = store.list_sessions()
        assert s.status is SessionStatus.INTERRUPTED
        assert s.end_wall == 1e9 + 42
        assert s.sample_count == 1


def test_session_of_a_live_process_stays_active(db_path: Path) -> None:
    with SessionStore(db_path) as store:
        sid = _session(store)
        with SessionStore(db_path) as again:  # e.g. `sessions` while recording
            assert again.list_sessions()[0].status is SessionStatus.ACTIVE
        store.end_session(sid, SessionStatus.COMPLETED, 1_700_000_100.0)


def test_resolve_session(db_path: Path) -> None:
    with SessionStore(db_path) as store:
        with pytest.raises(StoreError, match="no sessions"):
            store.resolve_session("latest")
        a, b = _session(store), _session(store)
        assert store.resolve_session("latest") == b
        assert store.resolve_session(str(a)) == a
        with pytest.raises(StoreError, match="has no session 99"):
            store.resolve_session("99")
        with pytest.raises(StoreError, match="not a session id"):
            store.resolve_session("first")


def test_default_location_is_user_data_dir(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    from monitor import store as store_mod
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    path = store_mod.default_store_path()
    assert path == tmp_path / "vigil" / "sessions.sqlite3"
    SessionStore(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_read_only_store_changes_nothing_and_reports_orphans_interrupted(
        db_path: Path) -> None:
    code = (
        "import sys, os\n"
        "from monitor.store import SessionStore\n"
        "from monitor.session import Patient, DoseProtocol\n"
        "s = SessionStore(sys.argv[1])\n"
        "s.create_session(Patient('ZZ'), DoseProtocol(), None, 1e9)\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(db_path)], check=True,
                   cwd=REPO)
    # The -shm file is SQLite's shared-memory lock index, rewritten by any reader.
    def contents() -> dict[Path, bytes]:
        return {p: p.read_bytes() for p in db_path.parent.iterdir()
                if not p.name.endswith("-shm")}

    files = contents()
    with SessionStore(db_path, read_only=True) as store:
        [summary] = store.list_sessions()
        assert summary.status is SessionStatus.INTERRUPTED
        assert store.load_session(summary.id).status is SessionStatus.INTERRUPTED
        with pytest.raises(StoreError, match="readonly"):
            store.end_session(summary.id, SessionStatus.COMPLETED, 1e9 + 1)
    assert contents() == files and len(files) >= 1
    with pytest.raises(StoreError, match="no session store there"):
        SessionStore(db_path.parent / "absent.sqlite3", read_only=True)
