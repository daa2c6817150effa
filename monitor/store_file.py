"""The store's file on disk: created private (0600) and opened without letting SQLite make
one behind our back; and whether the process that owns a session is still the one running.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


class StoreError(Exception):
    """The store cannot be used; the message says which file and why."""


def create_private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


def connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    # mode=rw: never let sqlite create a file behind our back (the 0600 file is made above).
    uri = f"file:{path.resolve().as_posix()}?mode={'ro' if read_only else 'rw'}"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def process_token(pid: int) -> str | None:
    """The process start time from /proc, so a recycled pid is not taken for ours."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def pid_alive(pid: int, token: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return token is None or process_token(pid) in (None, token)
