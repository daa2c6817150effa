"""The real `main.py dashboard` process for end-to-end tests.

Started headless (offscreen) with its home, settings and store under the test's directory;
what it prints (stdout and stderr) goes to a file, not a pipe: the watchdog it starts
inherits it and may outlive the dashboard, and a full pipe would block either.
"""

from __future__ import annotations

import contextlib
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from monitor.store import STORE_FILENAME
from tests.helpers.paths import MAIN, REPO
from tests.helpers.processes import end_process
from tests.helpers.waiting import until


def home_env(home: Path) -> dict[str, str]:
    """An environment whose user directories are all under `home` (nothing of the user's
    running these tests is read or written), offscreen."""
    return {"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data"),
            "XDG_CACHE_HOME": str(home / "cache"), "XDG_STATE_HOME": str(home / "state")}


class Dashboard:
    """`main.py [-v] dashboard --no-dialog --db DB ARGS`, DB by default `home`/vigil.sqlite3;
    with `default_store`, no --db: the store `make run` uses (under `home`'s data directory).

    As a context manager it ends with Ctrl+C and checks that it was running until then and
    ended cleanly."""

    def __init__(self, home: Path, *args: str, env: Mapping[str, str] | None = None,
                 db: Path | None = None, default_store: bool = False,
                 verbose: bool = False) -> None:
        if default_store:
            self.db = home / "data" / "vigil" / STORE_FILENAME
            store_args: list[str] = []
        else:
            self.db = db or home / "vigil.sqlite3"
            store_args = ["--db", str(self.db)]
        self.log_path = home / f"dashboard-{len(list(home.glob('dashboard-*.log')))}.log"
        home.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(MAIN), *(["-v"] if verbose else []), "dashboard",
                 "--no-dialog", *store_args, *args],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=log, text=True,
                env={**home_env(home), **(env or {})})

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        """All it (and its watchdog) printed so far."""
        return self.log_path.read_text(errors="replace")

    def assert_running(self) -> None:
        assert self.proc.poll() is None, f"the dashboard ended: {self.output()[-3000:]}"

    def pause(self, seconds: float = 0.2) -> None:
        """Waits a little for the process (returns early if it ends)."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(seconds)

    def wait_for(self, *texts: str, timeout: float = 60.0, after: int = 0) -> float:
        """Until one of `texts` is in its output (from character `after` on); returns when it
        was seen (epoch s). Fails if the process ends first or the time runs out."""
        until(lambda: any(t in self.output()[after:] for t in texts),
              lambda: f"no {texts} in: {self.output()[-3000:]}", timeout,
              proc=self.proc, every=0.05)
        return time.time()

    def said(self, pattern: re.Pattern[str], timeout: float = 60.0) -> str:
        """The first group of the first line of its output `pattern` matches, once there is
        one (it may come from its watchdog, after the dashboard itself has gone)."""
        def found() -> str | None:
            return next((m.group(1) for m in map(pattern.match, self.output().splitlines())
                         if m), None)
        return until(found, lambda: f"no {pattern.pattern!r} in: {self.output()[-3000:]}",
                     timeout, every=0.05)

    def wait_recording(self, timeout: float = 60.0) -> None:
        """Until it records (a new session, or one it resumed)."""
        self.wait_for("recording session", "resuming session", timeout=timeout)

    def recorded_s(self) -> float:
        """How far the session's samples reach (session seconds; 0 before the first)."""
        if not self.db.exists():
            return 0.0
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        try:
            return float(conn.execute("SELECT coalesce(max(t_s), 0) FROM samples").fetchone()[0])
        except sqlite3.OperationalError:  # the schema is not there yet
            return 0.0
        finally:
            conn.close()

    def watchdog_pid(self) -> int:
        found = re.search(r"vigil: watchdog (\d+) watching", self.output())
        assert found, self.output()
        return int(found[1])

    def end(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> str:
        """Sends `sig` (Ctrl+C by default: the session ends completed), waits, and returns
        its output; a process still running after `timeout` is killed."""
        end_process(self.proc, sig, timeout)
        return self.output()

    def __enter__(self) -> Dashboard:
        return self

    def __exit__(self, *exc: object) -> None:
        running = self.proc.poll() is None
        self.end()
        if exc[0] is None:
            assert running, f"the dashboard ended early: {self.output()[-3000:]}"
            assert self.proc.returncode == 0, self.output()[-3000:]
