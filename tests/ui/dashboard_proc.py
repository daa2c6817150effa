"""The real `main.py dashboard` process for end-to-end tests: started headless on its own
store, stopped (or killed) with a signal, its stderr kept."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def start_dashboard(tmp_path: Path, *args: str, env: Mapping[str, str] | None = None
                    ) -> subprocess.Popen[str]:
    """`main.py dashboard --no-dialog --db tmp_path/vigil.sqlite3 ARGS`, offscreen."""
    return subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "dashboard", "--no-dialog",
         "--db", str(tmp_path / "vigil.sqlite3"), *args],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
             "XDG_CONFIG_HOME": str(tmp_path / "config"), **(env or {})})


def end_dashboard(proc: subprocess.Popen[str], sig: int = signal.SIGINT,
                  timeout: float = 30.0) -> str:
    """Sends `sig` (Ctrl+C by default: the session ends completed), waits, and returns its
    stderr; a process still running after `timeout` is killed."""
    try:
        if proc.poll() is None:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return err
