"""A real `main.py record` process killed with SIGKILL mid-session: the crash the store,
resume and the browser must survive."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers.paths import REPO
from tests.helpers.processes import end_process


def record_then_kill(db_path: Path, *record_args: str, live_lines: int = 3) -> float:
    """Records (`--live`, one line a second) into `db_path` with `record_args`, and kills the
    process with SIGKILL after `live_lines` lines. Returns when it was killed (epoch)."""
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "record", "--db", str(db_path), "--live",
         *record_args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        for _ in range(live_lines):
            assert proc.stdout.readline(), "record ended early"
        killed = time.time()
    finally:
        end_process(proc, signal.SIGKILL)
    return killed
