"""The command line as a user and the external checks call it (`main.py` is a contract)."""

from __future__ import annotations

import csv
import io
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devices.sim.driver import TICKS_PER_S
from monitor.store import COMMIT_INTERVAL_S, SessionStore
from monitor.vitals import VITALS
from tests.helpers.paths import REPO
from tests.helpers.processes import vigil
from tests.killed import record_then_kill

EXPORT_HEADER = ["time_utc", "t_s", "vital", "value", "unit", "source"]


def export_rows(db: Path, session: str = "latest") -> list[dict[str, str]]:
    out = vigil("export", "--db", str(db), "--session", session, "--format", "csv", "--out", "-")
    reader = csv.DictReader(io.StringIO(out.stdout))
    assert reader.fieldnames == EXPORT_HEADER
    return list(reader)


def test_two_hour_session_at_max_speed(db_path: Path) -> None:
    started = time.monotonic()
    vigil("record", "--device", "sim", "--duration", "7200", "--speed", "max",
          "--db", str(db_path), "--patient", "JD")
    assert time.monotonic() - started < 60
    rows = export_rows(db_path)
    by_vital: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_vital.setdefault(r["vital"], []).append(r)
    # Numerics once a second; one NIBP reading per 300 s cycle, ready 30 s after it starts.
    for key in ("hr", "pr", "spo2", "rr"):
        assert len(by_vital[key]) == 7200, key
    readings = len(range(30, 7200, 300))
    assert {k: len(by_vital[k]) for k in ("sbp", "dbp", "map")} == dict.fromkeys(
        ("sbp", "dbp", "map"), readings)
    assert "pleth" not in by_vital  # waveforms are not numerics
    for r in rows:
        assert r["unit"] == VITALS[r["vital"]].unit and r["source"] == "sim"
        assert r["value"] != "" and r["time_utc"].endswith("Z")
    t = [float(r["t_s"]) for r in rows]
    assert t == sorted(t) and t[0] == 0.0 and t[-1] < 7200
    out = vigil("sessions", "--db", str(db_path)).stdout.splitlines()
    assert len(out) == 1
    sid, patient, start, end, status, count = out[0].split("\t")
    assert (sid, patient, status, int(count)) == ("1", "JD", "completed", len(rows))
    from datetime import datetime
    assert (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() == 7200


def test_replaying_mimic_exports_exactly_its_values(db_path: Path, mimic_csv: Path) -> None:
    vigil("replay", str(mimic_csv), "--speed", "max", "--db", str(db_path))
    got = {(float(r["t_s"]), r["vital"]): float(r["value"]) for r in export_rows(db_path)}
    expected = {}
    with open(mimic_csv, newline="") as f:
        for row in csv.DictReader(f):
            for key, text in row.items():
                if key != "time_s" and text != "":
                    expected[(float(row["time_s"]), key)] = float(text)
    assert got == expected
    [line] = vigil("sessions", "--db", str(db_path)).stdout.splitlines()
    assert line.split("\t")[4] == "completed"


@pytest.mark.parametrize(("args", "message"), [
    (["record", "--device", "sim:nope", "--duration", "10"], "unknown scenario"),
    (["record", "--device", "warp:1", "--duration", "10"], "unknown kind 'warp'"),
    (["record", "--device", "sim", "--duration", "-5"], "must be positive"),
    (["record", "--device", "sim", "--duration", "10", "--speed", "fast"], "not a number"),
    (["record", "--device", "sim", "--duration", "10", "--preset", "x"], "invalid choice"),
    (["record", "--duration", "10"], "--device"),
    (["export", "--format", "xml", "--out", "-"], "invalid choice"),
])
def test_bad_arguments_exit_2_and_write_nothing(db_path: Path, args: list[str],
                                                message: str) -> None:
    proc = vigil(*args, "--db", str(db_path), check=False)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not db_path.exists()


def test_malformed_replay_file_names_the_line_and_writes_nothing(tmp_path: Path,
                                                                 db_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,hr\n0,60\n60,6O\n")
    proc = vigil("replay", str(bad), "--db", str(db_path), check=False)
    assert proc.returncode == 2
    assert "bad.csv:3: column hr: '6O' is not a number" in proc.stderr
    assert not db_path.exists()


def test_foreign_store_is_a_clear_error(tmp_path: Path) -> None:
    other = tmp_path / "notes.db"
    other.write_text("shopping list\n" * 200)
    proc = vigil("sessions", "--db", str(other), check=False)
    assert proc.returncode == 1
    assert "notes.db: not a Vigil session store" in proc.stderr
    assert other.read_text() == "shopping list\n" * 200


def test_export_failures_leave_no_partial_file(db_path: Path, tmp_path: Path) -> None:
    vigil("record", "--device", "sim", "--duration", "600", "--speed", "max", "--db", str(db_path))
    missing = tmp_path / "no-such-folder" / "out.csv"
    proc = vigil("export", "--db", str(db_path), "--format", "csv", "--out", str(missing),
                 check=False)
    assert proc.returncode == 1 and "no-such-folder/out.csv: cannot write there" in proc.stderr

    def small_disk() -> None:  # the export may not grow a file past 40 KB: a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, resource.RLIM_INFINITY))

    out = tmp_path / "out.csv"
    before = db_path.read_bytes()
    proc = vigil("export", "--db", str(db_path), "--format", "csv", "--out", str(out),
                 check=False, preexec_fn=small_disk)
    assert proc.returncode == 1 and "out.csv: cannot write" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in tmp_path.iterdir() if not p.name.startswith(".out.csv"))
    assert not out.exists()
    assert db_path.read_bytes() == before  # export never changes the store
    ok = vigil("export", "--db", str(db_path), "--format", "csv", "--out", str(out))
    assert "rows written" in ok.stderr and out.stat().st_size > 40_000


def test_kill_9_loses_at_most_the_last_second(db_path: Path) -> None:
    killed_at = record_then_kill(db_path, "--device", "sim", "--duration", "3600")
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    newest = conn.execute("SELECT max(t_wall) FROM waveforms").fetchone()[0]
    conn.close()
    # Data arrives every 1/TICKS_PER_S s and is committed every COMMIT_INTERVAL_S.
    assert newest >= killed_at - 1.0, (killed_at - newest)
    assert 1.0 / TICKS_PER_S + COMMIT_INTERVAL_S < 1.0
    [line] = vigil("sessions", "--db", str(db_path)).stdout.splitlines()
    assert line.split("\t")[4] == "interrupted"
    with SessionStore(db_path) as store:
        assert store.list_sessions()[0].end_wall == pytest.approx(newest, abs=0.2)
    assert os.stat(db_path).st_mode & 0o777 == 0o600


def _signal_recording(db_path: Path, signum: signal.Signals) -> tuple[int, str]:
    """A real `record` sent `signum` once it records: (exit status, stderr)."""
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "record", "--device", "sim", "--duration",
         "3600", "--db", str(db_path), "--live"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline(), "record ended early"
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err


def test_sigterm_ends_the_session_as_interrupted_with_its_data(db_path: Path) -> None:
    code, err = _signal_recording(db_path, signal.SIGTERM)
    assert code == 1 and "interrupted" in err
    [line] = vigil("sessions", "--db", str(db_path)).stdout.splitlines()
    _, _, _, end, status, count = line.split("\t")
    assert status == "interrupted" and end != "-" and int(count) >= 4


@pytest.mark.parametrize("command", [["sessions"], ["export", "--format", "csv", "--out", "-"],
                                     ["browse"]])
def test_read_only_commands_never_create_a_store_at_a_mistyped_path(tmp_path: Path,
                                                                    command: list[str]) -> None:
    typo = tmp_path / "sesions.sqlite3"
    proc = vigil(*command, "--db", str(typo), check=False)
    assert proc.returncode == 2
    assert f"--db {typo}: no session store there" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_record_from_a_device_that_never_connects_fails_and_says_why(db_path: Path) -> None:
    proc = vigil("record", "--device", "masimo:/dev/ttyUSB9", "--duration", "2", "--db",
                 str(db_path), check=False)
    assert proc.returncode == 1
    assert ("vigil: error: no values recorded in 2 s: masimo: no device at /dev/ttyUSB9"
            in proc.stderr)
    assert "completed" not in proc.stderr
    [line] = vigil("sessions", "--db", str(db_path)).stdout.splitlines()
    assert line.split("\t")[4:] == ["interrupted", "0"]


def test_ctrl_c_leaves_a_recording_interrupted_never_completed(db_path: Path) -> None:
    code, err = _signal_recording(db_path, signal.SIGINT)
    assert code == 0 and "session 1 left interrupted" in err
    [line] = vigil("sessions", "--db", str(db_path)).stdout.splitlines()
    assert line.split("\t")[4] == "interrupted"
