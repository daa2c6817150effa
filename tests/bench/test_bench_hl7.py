"""The HL7 feed: messages built per second (and built and queued in the store), against
hl7apy parsing the same message; and the feed's added CPU in a 1x recording, against the
same recording without it."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from monitor.hl7.messages import Observation, Party, oru_r01
from monitor.hl7.outbox import Channel, Outbox
from monitor.session import DoseProtocol, Patient
from monitor.store import SessionStore
from tests.bench.conftest import best_of, report
from tests.hl7_listener import Listener

REPO = Path(__file__).resolve().parents[2]
N = 5000
WALL0 = 1_795_000_000.0


def _obs(i: int) -> list[Observation]:
    t = WALL0 + i
    return [Observation("hr", 72, t, "sim"), Observation("spo2", 97, t, "sim"),
            Observation("pr", 71, t, "sim"), Observation("rr", 14, t, "sim")]


def test_messages_built_per_second(tmp_path: Path) -> None:
    party = Party("MRN-1", "0123456789ABCDEF")
    obs = [_obs(i) for i in range(N)]
    built = N / best_of(lambda: [oru_r01(party, f"X-{i}", WALL0 + i, obs[i])
                                 for i in range(N)])
    db = tmp_path / "s.sqlite3"
    with SessionStore(db) as store:
        sid = store.create_session(Patient(), DoseProtocol(), None, WALL0)
        uuid = store.load_session(sid).uuid
    box = Outbox(db, sid, uuid)
    started = time.perf_counter()
    for i in range(N):
        box.add(Channel.PCD01, WALL0 + i, lambda cid, i=i: oru_r01(party, cid, WALL0 + i,
                                                                    obs[i]))
    queued = N / (time.perf_counter() - started)
    box.close()
    text = oru_r01(party, "X-1", WALL0, obs[0])
    n_parse = 200
    parsed = n_parse / best_of(lambda: [parse_message(
        text, validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=True)
        for _ in range(n_parse)])
    report("hl7_messages_built", built, "messages/s")
    report("hl7_messages_built_and_queued", queued, "messages/s")
    report("hl7apy_parse_same_message_baseline", parsed, "messages/s")
    report("hl7_built_vs_hl7apy_parse", built / parsed, "ratio")


def _cpu_of_record(db: Path, *extra: str) -> float:
    """CPU seconds (user + system) of one `main.py record` child at 1x."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, str(REPO / "main.py"), "record", "--device", "sim",
                    "--duration", "15", "--db", str(db), *extra], cwd=REPO, check=True,
                   capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def test_feed_added_cpu_at_1x(tmp_path: Path) -> None:
    listener = Listener().start()
    try:
        url = f"mllp://127.0.0.1:{listener.port}"
        plain = min(_cpu_of_record(tmp_path / f"a{i}.sqlite3") for i in range(2))
        # A message a second: 60 times the default period, so the cost shows at all.
        fed = min(_cpu_of_record(tmp_path / f"b{i}.sqlite3", "--hl7", url, "--hl7-period",
                                 "1", "--hl7-alerts", url) for i in range(2))
        assert len(listener.messages()) >= 20
    finally:
        listener.close()
    report("record_1x_cpu_without_feed_baseline", plain, "s")
    report("record_1x_cpu_with_feed_period_1s", fed, "s")
    report("hl7_feed_added_cpu", (fed - plain) / 15 * 100, "% of one core")
    report("record_cpu_with_vs_without_feed", fed / plain, "ratio")
