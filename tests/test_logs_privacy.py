"""Nothing about the patient in any log: one patient's session taken through every command
(`record`, `dashboard`, `sessions`, `export` in every format, `replay`) with `-v`, then
every log line, stderr and log-like stdout, and every file the commands left beside the
store and the exports, searched for the patient id. The exports and `sessions` (which list
patients on purpose) may name the patient; nothing else may."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.dashboard import Dashboard, home_env
from tests.helpers.paths import REPO
from tests.store_probe import wait_count

pytestmark = pytest.mark.slow

PATIENT = "ZZPATIENT7731"
TIMEOUT_S = 60.0


def _vigil(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, str(REPO / "main.py"), "-v", *args], cwd=REPO,
                          env=home_env(home), capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    return done


def _dashboard_briefly(home: Path, db: Path) -> str:
    """The dashboard on the simulator for a few seconds of recording; returns its output."""
    dash = Dashboard(home, "--patient", PATIENT, db=db, verbose=True)
    try:
        wait_count(db, "SELECT COUNT(*) FROM samples s JOIN sessions p ON p.id = s.session_id"
                       " WHERE p.status = 'active' AND s.vital = 'hr'", dash.proc,
                   "three heart rates from the dashboard", need=3, timeout=TIMEOUT_S)
    finally:
        said = dash.end(signal.SIGINT, TIMEOUT_S)
    assert dash.proc.returncode == 0, said
    return said


def test_no_log_names_the_patient(tmp_path: Path) -> None:
    home = tmp_path / "home"
    db = home / "data" / "vigil.sqlite3"
    exports = tmp_path / "exports"
    exports.mkdir()
    replay = tmp_path / "vitals.csv"
    replay.write_text("time_s,hr,spo2,sbp,dbp\n0,72,98,,\n1,74,97,128,84\n2,150,84,,\n")
    logs: dict[str, str] = {}

    run = _vigil(home, "record", "--device", "sim:hypertensive-surge?dose=5&nibp=60",
                 "--duration", "1800", "--speed", "max", "--db", str(db), "--live",
                 "--patient", PATIENT, "--weight", "70", "--drug", "ketamine",
                 "--route", "iv", "--dose-mg", "35")
    logs["record"] = run.stdout + run.stderr  # --live lines and alarm lines included
    assert "alarm: start" in run.stdout  # the session had alarms to log
    logs["dashboard"] = _dashboard_briefly(home, db)
    listed = _vigil(home, "sessions", "--db", str(db))
    assert listed.stdout.count(PATIENT) == 2  # the sessions are there, under the patient
    logs["sessions"] = listed.stderr
    for fmt, suffix in (("csv", "csv"), ("alarms", "csv"), ("pdf", "pdf"), ("fhir", "json")):
        out = exports / f"{fmt}.{suffix}"
        done = _vigil(home, "export", "--db", str(db), "--session", "1", "--format", fmt,
                      "--out", str(out))
        assert out.stat().st_size > 0
        logs[f"export {fmt}"] = done.stdout + done.stderr
    fhir = (exports / "fhir.json").read_text()
    assert PATIENT in fhir  # the search would find the id where it is
    done = _vigil(home, "replay", str(replay), "--db", str(db), "--live")
    logs["replay"] = done.stdout + done.stderr

    assert "vigil: INFO:" in logs["record"]  # -v really logged
    named = {cmd: [line for line in text.splitlines() if PATIENT.lower() in line.lower()]
             for cmd, text in logs.items()}
    assert not any(named.values()), {cmd: lines for cmd, lines in named.items() if lines}
    # Nor any file the commands left (settings, caches), but for the store itself.
    left = [p for p in home.rglob("*") if p.is_file() and not p.name.startswith(db.name)]
    assert [p for p in left if PATIENT.encode() in p.read_bytes()] == []
