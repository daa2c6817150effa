"""The real `main.py dashboard` process for end-to-end tests: started headless on its own
store, stopped (or killed) with a signal. Its stderr goes to a file, not a pipe: the
watchdog it starts inherits stderr and may outlive it."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from tests.helpers.paths import REPO


class Dashboard:
    def __init__(self, tmp_path: Path, *args: str, env: Mapping[str, str] | None = None,
                 db: Path | None = None) -> None:
        """`main.py dashboard --no-dialog --db DB ARGS` (DB: tmp_path/vigil.sqlite3),
        offscreen."""
        self.db = db or tmp_path / "vigil.sqlite3"
        self.err_path = tmp_path / f"dashboard-{len(list(tmp_path.glob('dashboard-*')))}.err"
        with self.err_path.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(REPO / "main.py"), "dashboard", "--no-dialog",
                 "--db", str(self.db), *args],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=err, text=True,
                env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin",
                     "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
                     **(env or {})})

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def wait_for(self, *texts: str, timeout: float = 60.0) -> None:
        """Until one of `texts` is on its stderr; AssertionError if it ends or the time runs
        out."""
        deadline = time.monotonic() + timeout
        while not any(text in self.stderr() for text in texts):
            assert self.proc.poll() is None, f"the dashboard ended: {self.stderr()}"
            assert time.monotonic() < deadline, f"no {texts} in: {self.stderr()}"
            time.sleep(0.05)  # polling a file

    def wait_recording(self) -> None:
        """Until it records (a new session, or one it resumed)."""
        self.wait_for("recording session", "resuming session")

    def recorded_s(self) -> float:
        """How far the session's samples reach (session seconds; 0 before the first)."""
        if not self.db.exists():
            return 0.0
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT coalesce(max(t_s), 0) FROM samples").fetchone()[0]
        except sqlite3.OperationalError:  # the schema is not there yet
            return 0.0
        finally:
            conn.close()

    def watchdog_pid(self) -> int:
        found = re.search(r"vigil: watchdog (\d+) watching", self.stderr())
        assert found, self.stderr()
        return int(found[1])

    def end(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> str:
        """Sends `sig` (Ctrl+C by default: the session ends completed), waits, and returns
        its stderr; a process still running after `timeout` is killed."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        return self.stderr()


def open_window(qtbot, tmp_path: Path, session, audio):
    """The real window on a `DashboardSession` in this process: recording and showing;
    closing it ends the session."""
    from PySide6.QtCore import QSettings

    from ui.dashboard import DashboardWindow

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = DashboardWindow(session.sources(), audio, settings)
    qtbot.addWidget(window)
    window.closing.connect(session.stop)
    session.start()
    window.show()
    window.start()
    return window
