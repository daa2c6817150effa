"""Watching the store another process (`main.py record`, the dashboard) is writing: counts
read through a read-only connection, and waits on them with a deadline."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path


def count(db: Path, sql: str) -> int:
    """The number `sql` counts in the live store, read without touching it (0 before the
    store or its schema exists)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not created yet
        return 0


def wait_count(db: Path, sql: str, proc: subprocess.Popen[str], what: str, need: int = 1,
               timeout: float = 20.0) -> None:
    """Polls until `count(db, sql)` reaches `need`; fails if `proc` ends first."""
    deadline = time.monotonic() + timeout
    while count(db, sql) < need:
        assert proc.poll() is None, f"the process ended while waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout:g} s"
        time.sleep(0.02)  # polling another process's file; the wait is on its content


def finish(proc: subprocess.Popen[str], sig: int | None = None, timeout: float = 30.0
           ) -> tuple[str, str]:
    """Sends `sig` (e.g. SIGINT, Ctrl+C) if `proc` still runs, waits for it to end and
    returns its (stdout, stderr); kills it if it does not end in time. Pipes are closed."""
    try:
        if sig is not None and proc.poll() is None:
            proc.send_signal(sig)
        out, err = proc.communicate(timeout=timeout)
        return out or "", err or ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()  # even when the wait timed out (a child still holds the pipe)
