"""Central station, room side: what publishing costs the room, and how fast it arrives.

A real `main.py record` on the simulator at 1x for 20 s, publishing to a real Mosquitto (TLS,
password file, ACL) with a subscriber on `vigil/room-1/#`, against the same recording without
`--room` in the same run (the baseline). Prints the room process's CPU (user + system, % of one
core) with and without publishing, their ratio, and the numerics' latency from the time the
room stamps on a payload to its arrival at the subscriber (p50, p99).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.bench.conftest import report
from tests.central.broker import REPO, Mosquitto, Subscriber, missing

SECONDS = 20


def _cpu_percent(tmp: Path, name: str, extra: list[str], env: dict[str, str]) -> float:
    """% of one core the room process used over its whole run (rusage of the child)."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(REPO / "main.py"), "record", "--device", "sim",
                             "--duration", str(SECONDS), "--db", str(tmp / f"{name}.db"),
                             *extra], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, name
    wall = time.monotonic() - started
    return 100 * (usage.ru_utime + usage.ru_stime) / wall


@pytest.mark.skipif(bool(missing()), reason=missing() or "")
def test_bench_room_publishing(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    try:
        env = {**os.environ, "VIGIL_MQTT_PASSWORD": broker.passwords["room-1"]}
        without = _cpu_percent(tmp_path, "alone", [], env)
        board = Subscriber(broker, "vigil/room-1/#")
        try:
            with_pub = _cpu_percent(tmp_path, "published", [
                "--room", "room-1", "--broker", broker.url, "--broker-ca", str(broker.ca)], env)
        finally:
            board.close()
    finally:
        broker.stop()
    latencies = sorted(1000 * (m.t - json.loads(m.payload)["t"])
                       for m in board.messages if m.topic == "vigil/room-1/numerics")
    assert len(latencies) >= SECONDS - 3
    report("central_room_cpu_without_broker", without, "% of one core")
    report("central_room_cpu_publishing", with_pub, "% of one core")
    report("central_room_cpu_ratio", with_pub / without, "x baseline")
    report("central_numerics_latency_p50", statistics.median(latencies), "ms")
    report("central_numerics_latency_p99", latencies[int(0.99 * (len(latencies) - 1))], "ms")
