"""A simulated 2-hour session with NIBP every 5 minutes, then the staff's timeline entries.

Recorded once per test run through the real command line (`record --speed max`), then
entries are added through the store API as the session screen would: sedation and
dissociation at protocol times, a side effect, an intervention, a note, a discharge score,
the lot number added to the dose by an edit, and two monitor placeholders (HR 0, SpO2 0)
that the report must treat as artefacts. Tests read it and never change it.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.messages import Numerics
from monitor.session import EntryKind, SessionStatus
from monitor.store import SessionStore
from tests.helpers.processes import vigil

PATIENT = "MRN-4471-QX"
WEIGHT = 70.0
LOT = "KX2291A"
SEDATION = ((0, 5), (15, 4), (30, 3), (45, 4), (60, 5), (90, 5))  # (min after dose, MOAA/S)
DISSOCIATION = ((0, 0), (40, 2), (100, 0))  # (min after dose, level 0-4)
SIDE_EFFECT = (22.0, "nausea", "mild nausea, settled with reassurance")
INTERVENTION = (24.0, "ondansetron 4 mg IV", "given for nausea")
NOTE = (30.0, "patient resting quietly with eyes closed, music on")
DISCHARGE = (105.0, 10, 98.0)  # (min after dose, Aldrete, ready at min after dose)
PLACEHOLDERS = ((1234.0, "hr"), (2345.0, "spo2"))  # a monitor's 0 for "no value"
NURSE = "RN Kim"
CLINICIAN = "Dr Patel"


@dataclass(frozen=True)
class Recorded:
    db: Path
    session_id: int
    dose_s: float


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    db = tmp_path_factory.mktemp("reports") / "two-hours.sqlite3"
    # A surge: the session has real alarms (NIBP high, the rise advisory) for the report.
    vigil("record", "--device", "sim:hypertensive-surge", "--duration", "7200", "--speed",
          "max", "--db", str(db),
          "--patient", PATIENT, "--weight", str(WEIGHT))
    with SessionStore(db) as store:
        sid = store.resolve_session("latest")
        session = store.load_session(sid)
        dose_s = session.dose_start_s
        assert dose_s is not None
        w0 = session.start_wall

        def add(kind: str, minutes: float, data: dict[str, object], author: str = NURSE) -> None:
            t = dose_s + minutes * 60
            store.add_entry(sid, kind, t, w0 + t, data, author)

        for m, score in SEDATION:
            add(EntryKind.SEDATION, m, {"scale": "moaas", "score": score})
        for m, score in DISSOCIATION:
            add(EntryKind.DISSOCIATION, m, {"scale": "level", "score": score})
        add(EntryKind.SIDE_EFFECT, SIDE_EFFECT[0], {"name": SIDE_EFFECT[1],
                                                    "text": SIDE_EFFECT[2]})
        add(EntryKind.INTERVENTION, INTERVENTION[0], {"name": INTERVENTION[1],
                                                      "text": INTERVENTION[2]})
        add(EntryKind.NOTE, NOTE[0], {"text": NOTE[1]})
        add(EntryKind.DISCHARGE, DISCHARGE[0], {"scale": "aldrete", "score": DISCHARGE[1],
                                                "ready_t_s": dose_s + DISCHARGE[2] * 60},
            author=CLINICIAN)
        [dose] = [e for e in store.timeline(sid) if e.kind == EntryKind.DOSE_START]
        store.edit_entry(dose.id, NURSE, data={**dose.data, "lot": LOT})
        writer = store.writer(sid)
        for t, key in PLACEHOLDERS:
            writer.put(Numerics("sim", w0 + t + 0.5, t + 0.5, ((key, 0.0),)))
        writer.close()
        assert writer.failure is None
    return Recorded(db, sid, dose_s)


@pytest.fixture
def store_copy(recorded: Recorded, tmp_path: Path) -> Path:
    """A private copy, for tests that change the session (status, extra entries)."""
    path = tmp_path / "copy.sqlite3"
    shutil.copy(recorded.db, path)
    return path


def set_status(db: Path, session_id: int, status: SessionStatus, end_t_s: float) -> None:
    """Makes the copy's session interrupted at `end_t_s`, or still active (owned by this
    live process, so opening the store does not recover it) with data up to `end_t_s`."""
    conn = sqlite3.connect(db)
    with conn:
        start = conn.execute("SELECT start_wall FROM sessions WHERE id = ?",
                             (session_id,)).fetchone()[0]
        for table in ("samples", "timeline", "device_events", "waveforms"):
            conn.execute(f"DELETE FROM {table} WHERE session_id = ? AND t_s > ?",
                         (session_id, end_t_s))
        conn.execute("DELETE FROM timeline_revisions WHERE entry_id NOT IN"
                     " (SELECT id FROM timeline)")
        conn.execute("UPDATE sessions SET status = ?, end_wall = ?, owner_host = ?,"
                     " owner_pid = ?, owner_token = NULL WHERE id = ?",
                     (str(status), None if status is SessionStatus.ACTIVE else start + end_t_s,
                      socket.gethostname(), os.getpid(), session_id))
    conn.close()
