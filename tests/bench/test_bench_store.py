"""Store ingest and whole-session throughput, each against a same-run baseline."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from monitor.messages import Numerics
from monitor.session import DoseProtocol, Patient
from monitor.store import SessionStore
from tests.bench.conftest import report
from tests.helpers.paths import REPO

N_MESSAGES = 200_000  # 4 vitals each: 800,000 samples


def test_sustained_ingest(tmp_path: Path) -> None:
    msgs = [Numerics("sim", 1e9 + i, float(i), (("hr", 70.0), ("pr", 70.0), ("spo2", 97.0),
                                                ("rr", 14.0))) for i in range(N_MESSAGES)]
    n_samples = 4 * N_MESSAGES
    with SessionStore(tmp_path / "s.sqlite3") as store:
        sid = store.create_session(Patient(), DoseProtocol(), None, 1e9)
        writer = store.writer(sid)
        started = time.perf_counter()
        for m in msgs:
            writer.put(m)
        assert writer.flush(timeout=300)
        elapsed = time.perf_counter() - started
        writer.close()
    rate = n_samples / elapsed

    # Baseline: the same rows straight into a bare table with executemany, one transaction.
    rows = [(1, m.t_s, m.t_wall, k, v, m.source) for m in msgs for k, v in m.values]
    conn = sqlite3.connect(tmp_path / "bare.sqlite3")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE samples (a, b, c, d, e, f)")
    started = time.perf_counter()
    with conn:
        conn.executemany("INSERT INTO samples VALUES (?,?,?,?,?,?)", rows)
    bare = n_samples / (time.perf_counter() - started)
    conn.close()
    report("store_ingest", rate, "samples/s")
    report("store_ingest_bare_sqlite_baseline", bare, "samples/s")
    report("store_ingest_vs_bare_sqlite", rate / bare, "ratio")


def _run(script_args: list[str], tmp_path: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of `python main.py ARGS` in a child process.

    The peak is the child's own VmHWM, read in the child at exit: getrusage's ru_maxrss
    for a child also counts the parent's pages it was forked from.
    """
    status = tmp_path / "status.txt"
    code = ("import atexit, runpy, sys\n"
            "def dump():\n"
            f"    open({str(status)!r}, 'w').write(open('/proc/self/status').read())\n"
            "atexit.register(dump)\n"
            f"sys.argv = {['main.py', *script_args]!r}\n"
            "if len(sys.argv) > 1:\n"
            "    runpy.run_path('main.py', run_name='__main__')\n"
            "else:\n"
            "    import main\n")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    hwm = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM"))
    return wall, int(hwm.split()[1]) / 1024


def test_eight_hour_session_at_max_speed(tmp_path: Path) -> None:
    # Baseline: the interpreter importing the same modules (main) and doing nothing.
    base_wall, base_rss = _run([], tmp_path)
    wall, rss = _run(["record", "--device", "sim", "--duration", "28800", "--speed", "max",
                      "--db", str(tmp_path / "8h.sqlite3")], tmp_path)
    report("session_8h_max_speed_wall", wall, "s")
    report("session_8h_max_speed_peak_rss", rss, "MiB")
    report("session_8h_speedup_over_real_time", 28800 / wall, "ratio")
    report("startup_baseline_wall", base_wall, "s")
    report("session_8h_wall_vs_startup", wall / base_wall, "ratio")
    report("startup_baseline_peak_rss", base_rss, "MiB")
