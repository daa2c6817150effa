"""Watching the store another process (`main.py record`, the dashboard) is writing: counts
read through a read-only connection, and waits on them with a deadline."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from tests.helpers.waiting import until


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
    until(lambda: count(db, sql) >= need, what, timeout, proc=proc)
