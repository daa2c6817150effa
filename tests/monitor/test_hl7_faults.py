"""Delivery through faults, with real `main.py record` processes and a real MLLP listener:
a receiver down for the first half of a session, and Vigil killed with SIGKILL mid-feed
while the receiver is down. Each ends with every message delivered, in order, once the
receiver is back (a resend of the message just tried is the only repeat, and MSH-10 makes
it harmless)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.helpers.waiting import until
from tests.hl7_listener import Listener, in_order_once, outbox, validated

REPO = Path(__file__).resolve().parents[2]


def record(db: Path, port: int, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "record", "--device", "sim", "--db", str(db),
         "--hl7", f"mllp://127.0.0.1:{port}", "--hl7-period", "0.5", *args],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_receiver_down_for_the_first_half(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite3"
    listener = Listener()  # its port is not listening yet
    proc = record(db, listener.port, "--duration", "8", "--patient", "MRN-5",
                  "--hl7-deidentify")
    try:
        # ~3 s of messages queued, none delivered
        until(lambda: len(outbox(db)) >= 6, "6 messages queued", timeout=30)
        assert listener.messages() == []
        listener.start()
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        ids = outbox(db)
        assert in_order_once(listener.ids()) == ids and len(ids) >= 14
        assert outbox(db, "queued") == []
        for m in listener.messages():
            validated(m)
            assert "MRN-5" not in m and "|P-" in m  # de-identified: the pseudonym only
        # The room did not wait for the receiver: a value every second, all along.
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        times = [t for (t,) in conn.execute("SELECT t_s FROM samples WHERE vital = 'hr'"
                                            " ORDER BY t_s")]
        conn.close()
        assert times[:7] == [float(t) for t in range(1, 8)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        listener.close()


def test_vigil_killed_mid_feed_then_restarted(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite3"
    listener = Listener().start()
    proc = record(db, listener.port, "--duration", "120")
    try:
        listener.wait_for(lambda m: len(m) >= 3)
        listener.stop()  # the receiver goes down: messages queue in the store
        delivered = len(outbox(db, "accepted"))
        until(lambda: len(outbox(db, "queued")) >= 4, "4 messages queued", timeout=30)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        killed_ids = outbox(db)
        assert len(killed_ids) - delivered >= 4
        listener.start()
        again = record(db, listener.port, "--duration", "2")
        _, err = again.communicate(timeout=60)
        assert again.returncode == 0, err
        ids = outbox(db)
        assert ids[:len(killed_ids)] == killed_ids and len(ids) > len(killed_ids)
        assert in_order_once(listener.ids()) == ids  # the first session's backlog first
        assert outbox(db, "queued") == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
        listener.close()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    statuses = [s for (s,) in conn.execute("SELECT status FROM sessions ORDER BY id")]
    conn.close()
    assert statuses == ["interrupted", "completed"]
