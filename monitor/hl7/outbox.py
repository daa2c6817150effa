"""The HL7 outbox: every message the feed builds, in the session store, in order.

A message is committed before it is first sent, and marked when its ACK arrives, so a
receiver down for an hour, a broken connection or a Vigil killed mid-feed all end with each
message delivered, in order, once a feed runs again on the same store (the oldest queued
message first, whatever session it belongs to). MSH-10 is `<session>-<n>`, fixed when the
message is built: a message resent after a crash has the same id and the receiver can drop
it. The outbox has its own connection (WAL lets it commit beside the sample writer); a
commit is a WAL append without fsync (synchronous NORMAL survives a killed process), so it
never holds up the device-io loop.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Channel(StrEnum):
    PCD01 = "pcd01"  # vitals, ORU^R01
    PCD04 = "pcd04"  # alarms, ORU^R40


class State(StrEnum):
    QUEUED = "queued"
    ACCEPTED = "accepted"  # AA
    ERROR = "error"  # AE or AR: kept for review


@dataclass(frozen=True, slots=True)
class Queued:
    row_id: int
    control_id: str
    message: str
    attempts: int


class OutboxError(Exception):
    """The outbox cannot be used; the message names the store and why."""


class Outbox:
    def __init__(self, path: Path, session_id: int, session_uuid: str) -> None:
        self.path = path
        self.session_id = session_id
        self.prefix = session_uuid.replace("-", "")[:12].upper()
        try:
            self._conn = sqlite3.connect(f"file:{path.resolve().as_posix()}?mode=rw",
                                         uri=True, check_same_thread=False, timeout=10.0)
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._n = self._conn.execute(
                "SELECT count(*) FROM hl7_outbox WHERE session_id = ?",
                (session_id,)).fetchone()[0]
        except sqlite3.Error as e:
            raise OutboxError(f"{path}: cannot open the HL7 outbox: {e}") from e

    def close(self) -> None:
        self._conn.close()

    def add(self, channel: Channel, t_wall: float, build: Callable[[str], str]) -> str:
        """Builds the message with its control id and queues it; returns the id."""
        control_id = f"{self.prefix}-{self._n + 1}"
        message = build(control_id)
        try:
            with self._conn:
                self._conn.execute(
                    "INSERT INTO hl7_outbox (session_id, channel, control_id, t_wall, message)"
                    " VALUES (?,?,?,?,?)",
                    (self.session_id, str(channel), control_id, t_wall, message))
        except sqlite3.Error as e:
            raise OutboxError(f"{self.path}: cannot queue HL7 message {control_id}: "
                              f"{e}") from e
        self._n += 1
        return control_id

    def next_queued(self, channel: Channel) -> Queued | None:
        """The oldest message not yet answered, of any session in the store."""
        row = self._conn.execute(
            "SELECT id, control_id, message, attempts FROM hl7_outbox"
            " WHERE channel = ? AND state = 'queued' ORDER BY id LIMIT 1",
            (str(channel),)).fetchone()
        return None if row is None else Queued(*row)

    def count_queued(self, channel: Channel) -> int:
        return int(self._conn.execute(
            "SELECT count(*) FROM hl7_outbox WHERE channel = ? AND state = 'queued'",
            (str(channel),)).fetchone()[0])

    def attempted(self, row_id: int) -> None:
        with self._conn:
            self._conn.execute("UPDATE hl7_outbox SET attempts = attempts + 1 WHERE id = ?",
                               (row_id,))

    def answered(self, row_id: int, state: State, code: str, text: str) -> None:
        with self._conn:
            self._conn.execute(
                "UPDATE hl7_outbox SET state = ?, ack_code = ?, ack_text = ?, done_wall = ?"
                " WHERE id = ?", (str(state), code, text, time.time(), row_id))


def session_messages(path: Path, session_id: int, channel: Channel = Channel.PCD01
                     ) -> list[str]:
    """A session's messages in order, read-only (the batch file); [] from a store made
    before the outbox existed."""
    try:
        conn = sqlite3.connect(f"file:{path.resolve().as_posix()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise OutboxError(f"{path}: cannot open the session store: {e}") from e
    try:
        if conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'hl7_outbox'"
                        ).fetchone()[0] == 0:
            return []
        return [m for (m,) in conn.execute(
            "SELECT message FROM hl7_outbox WHERE session_id = ? AND channel = ?"
            " ORDER BY id", (session_id, str(channel)))]
    except sqlite3.Error as e:
        raise OutboxError(f"{path}: cannot read the HL7 outbox: {e}") from e
    finally:
        conn.close()
