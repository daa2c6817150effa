"""The feed's outbox on a real full disk (a small tmpfs filled to the last byte, root only):
the messages built while the store refuses them wait in memory and go into the outbox, in
order and with the ids they would have had, as soon as it takes them again; none is lost,
and what was queued before stays queued."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from monitor.hl7.feed import FeedConfig, Hl7Feed
from monitor.hl7.messages import Party
from monitor.hl7.mllp import MllpAddress
from monitor.hl7.outbox import Outbox
from monitor.messages import Numerics
from monitor.session import DoseProtocol, Patient
from monitor.store import SessionStore
from tests.hl7_listener import validated
from tests.monitor.test_full_disk import fill, small_disk

__all__ = ["small_disk"]  # the fixture, shared with the store's own full-disk tests

WALL0 = 1_795_000_000.0


def nibp(i: int) -> Numerics:
    t = 10.0 * i
    return Numerics("cuff", WALL0 + t, t, (("sbp", 100.0 + i), ("dbp", 70.0), ("map", 80.0)))


def rows(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        return c.execute("SELECT control_id, message FROM hl7_outbox ORDER BY id").fetchall()


def test_messages_built_on_a_full_disk_are_queued_in_order_once_space_returns(
        small_disk: Path) -> None:
    db = small_disk / "v.sqlite3"
    with SessionStore(db) as store:
        sid = store.create_session(Patient("MRN-4"), DoseProtocol(), None, WALL0)
        uuid = store.load_session(sid).uuid
    outbox = Outbox(db, sid, uuid)
    feed = Hl7Feed(FeedConfig(MllpAddress("127.0.0.1", 9)), outbox,
                   Party("MRN-4", "0123456789ABCDEF"), lambda t: WALL0 + t, WALL0)
    filler = small_disk / "filler"
    try:
        feed(nibp(0))
        assert len(rows(db)) == 1
        assert fill(filler) > 0
        sent = 1
        # The WAL may still hold room for a frame or two: send until the store refuses one.
        while len(rows(db)) == sent and sent < 50:
            feed(nibp(sent))
            sent += 1
        refused = len(rows(db))
        assert refused < sent, "the full disk never refused a message"
        for _ in range(3):  # more messages while the disk is full: none stored yet
            feed(nibp(sent))
            sent += 1
        assert len(rows(db)) == refused
        filler.unlink()  # space returns: the next message takes the waiting ones in first
        feed(nibp(sent))
        sent += 1
        got = rows(db)
        prefix = uuid.replace("-", "")[:12].upper()
        assert [cid for cid, _ in got] == [f"{prefix}-{n}" for n in range(1, sent + 1)]
        for i, (_, message) in enumerate(got):
            validated(message)
            assert f"|{100 + i}|266016^MDC_DIM_MMHG^MDC|" in message  # in the order built
    finally:
        outbox.close()
        filler.unlink(missing_ok=True)
