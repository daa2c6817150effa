"""A one-minute run of the real dashboard process on the simulator, as `make run` starts it.

It guards what only a long run shows: a crash after thousands of repaints (the PySide6
6.12.0 `none_dealloc` abort took about a second of pyqtgraph painting), a leak that stops the
recording, a window that does not end cleanly.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from monitor.session import SessionStatus
from monitor.store import SessionStore
from tests.helpers.paths import REPO

RUN_S = 60.0


def test_dashboard_runs_a_minute_on_the_simulator(tmp_path: Path) -> None:
    db = tmp_path / "vigil.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "dashboard", "--no-dialog", "--db", str(db)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin",
             "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")})
    try:
        assert proc.stderr is not None
        # The process announces the session once the window is up and recording.
        for line in proc.stderr:
            if "recording session" in line:
                break
        else:
            raise AssertionError("the dashboard ended before recording")
        try:  # a minute of the real window: it must still be running at the end
            proc.wait(timeout=RUN_S)
        except subprocess.TimeoutExpired:
            pass
        else:
            raise AssertionError(f"the dashboard died during the run: {proc.stderr.read()}")
        proc.send_signal(signal.SIGINT)  # Ctrl+C: quits, the session left interrupted
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Fatal Python error" not in err
    with SessionStore(db, read_only=True) as store:
        [summary] = store.list_sessions()
        assert summary.status is SessionStatus.INTERRUPTED
        t, _ = store.sample_arrays(summary.id, "hr")
    assert t[-1] - t[0] >= RUN_S - 2  # numerics kept coming the whole minute
    assert len(t) >= RUN_S - 2
