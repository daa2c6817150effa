"""`main.py dashboard --hl7`: the real dashboard (offscreen) feeds a real MLLP listener,
and a bad address is refused before any window opens."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.helpers.dashboard import Dashboard
from tests.helpers.paths import REPO
from tests.helpers.waiting import until
from tests.hl7_listener import Listener, in_order_once, outbox, validated


def test_dashboard_feeds_the_listener(tmp_path: Path) -> None:
    listener = Listener().start()
    dash = Dashboard(tmp_path, "--no-watchdog", "--patient", "MRN-9", "--hl7",
                     f"mllp://127.0.0.1:{listener.port}", "--hl7-period", "0.5")
    try:
        dash.wait_recording()
        got = listener.wait_for(lambda m: len(m) >= 3, timeout=60)
    finally:
        err = dash.end(signal.SIGTERM)
        listener.close()
    assert "MRN-9" not in err
    for m in got:
        validated(m)
        assert "|MRN-9^^^VIGIL^PI|" in m and "147842^MDC_ECG_HEART_RATE^MDC" in m
    ids = [m.split("|")[9] for m in got]
    assert in_order_once(ids) == ids


def test_the_last_message_goes_out_when_the_session_stops(tmp_path: Path) -> None:
    """A slow receiver (its ACK 1 s late) holds a message when the session stops: the
    dashboard waits for it (bounded) instead of leaving it queued until the next session."""
    listener = Listener().start()
    listener.delay_s = 1.0
    dash = Dashboard(tmp_path, "--no-watchdog", "--patient", "MRN-2", "--hl7",
                     f"mllp://127.0.0.1:{listener.port}", "--hl7-period", "2")
    try:
        dash.wait_recording()
        listener.wait_for(lambda m: len(m) >= 2, timeout=60)  # its ACK is still due
        err = dash.end(signal.SIGTERM)
    finally:
        listener.close()
    assert outbox(dash.db, "queued") == [], err
    assert in_order_once(listener.ids()) == outbox(dash.db)


def test_a_bad_address_is_refused(tmp_path: Path) -> None:
    for command in ("dashboard", "record"):
        r = subprocess.run([sys.executable, str(REPO / "main.py"), command, "--device", "sim",
                            "--duration", "5", "--db", str(tmp_path / "v.sqlite3"), "--hl7",
                            "http://ie.clinic:2575"], cwd=REPO, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 2
        assert "--hl7: 'http://ie.clinic:2575' is not an MLLP address; expected " \
               "mllp://HOST:PORT" in r.stderr, r.stderr
        assert not (tmp_path / "v.sqlite3").exists()


def test_a_killed_dashboard_resumed_delivers_its_backlog_in_order(tmp_path: Path) -> None:
    """Receiver down, dashboard killed with SIGKILL: the next start resumes the same session
    (--no-dialog), delivers what was queued first, and numbers on (same session, next id)."""
    listener = Listener()  # not listening yet
    args = ("--no-watchdog", "--patient", "MRN-3", "--hl7",
            f"mllp://127.0.0.1:{listener.port}", "--hl7-period", "0.5")
    first = Dashboard(tmp_path, *args)
    try:
        first.wait_recording()
        until(lambda: len(outbox(first.db, "queued")) >= 4, "4 messages queued", timeout=30)
        first.end(signal.SIGKILL)
        backlog = outbox(first.db)
        listener.start()
        again = Dashboard(tmp_path, *args)
        try:
            again.wait_for("resuming session")
            got = listener.wait_for(lambda m: len({x.split("|")[9] for x in m})
                                    >= len(backlog) + 3, timeout=60)
        finally:
            again.end(signal.SIGTERM)
    finally:
        listener.close()
    ids = in_order_once([m.split("|")[9] for m in got])
    assert ids[:len(backlog)] == backlog
    prefix = backlog[0].rsplit("-", 1)[0]
    assert ids == [f"{prefix}-{n}" for n in range(1, len(ids) + 1)]  # one session, in order
