"""The board under 32 rooms at 1 Hz, against the same board with 1 room in the same run.

A real Mosquitto (TLS, passwords, ACL: tests/central/broker.py) on loopback; the rooms are a
separate process (tests/central/board_rooms.py) publishing each room's numerics every second
with `t` = the wall time of the publish. The board is the real one in this process: its MQTT
client on the device-io thread validating every payload, the bridge, the model and the
window at 1920x1080 redrawing on its timer. Measured over a window after a warm-up:
- board CPU: this process's CPU time (all threads) / wall time, in % of one core;
- publish-to-painted latency: from `t` to the end of the tile's paint that shows it;
- broker CPU: the mosquitto process's CPU time from /proc, in % of one core.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from monitor.central.board_client import BoardClient
from monitor.central.board_model import BoardModel
from monitor.runtime import IoThread
from tests.bench.conftest import report
from tests.central.board_link import board_config_for
from tests.central.broker import Mosquitto, make_credentials, missing
from tests.helpers.paths import REPO
from ui.board.bridge import BoardBridge
from ui.board.window import BoardWindow

WARMUP_S = 3.0
WINDOW_S = 15.0


class Mosquitto32(Mosquitto):
    """The test broker with credentials for room-1..room-32 (the shipped script again)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        certs = directory / "certs32"
        self.passwords = make_credentials(certs, 32)
        self.conf.write_text(self.conf.read_text().replace(str(self.certs), str(certs)))
        self.certs, self.ca = certs, certs / "ca.crt"


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory):
    if reason := missing():
        pytest.skip(reason)
    broker = Mosquitto32(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of another process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(qtbot, mosquitto, rooms: int) -> tuple[float, np.ndarray, float]:
    bridge = BoardBridge()
    window = BoardWindow(BoardModel(), bridge, sound=())
    qtbot.addWidget(window)
    window.resize(1920, 1080)
    window.show()
    qtbot.waitExposed(window)
    latencies: list[float] = []
    measuring = [False]

    def painted(_room: str, t: float) -> None:
        if measuring[0]:
            latencies.append(time.time() - t)

    window.on_painted = painted
    io = IoThread().start()
    client = BoardClient(board_config_for(mosquitto), bridge.sink)
    io.submit(client.run())
    env = dict(os.environ, VIGIL_MQTT_PASSWORDS=json.dumps(mosquitto.passwords))
    pub = subprocess.Popen(
        [sys.executable, str(REPO / "tests/central/board_rooms.py"), "--port",
         str(mosquitto.port), "--rooms", str(rooms), "--seconds",
         str(WARMUP_S + WINDOW_S + 2), "--ca", str(mosquitto.ca)],
        stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert pub.stdout is not None and pub.stdout.readline().strip() == "ready"
        qtbot.waitUntil(lambda: len(window.tiles) == rooms, timeout=10_000)
        qtbot.wait(int(WARMUP_S * 1000))
        measuring[0] = True
        cpu0, broker0, wall0 = time.process_time(), cpu_of(mosquitto.proc.pid), time.monotonic()
        qtbot.wait(int(WINDOW_S * 1000))
        wall = time.monotonic() - wall0
        cpu = (time.process_time() - cpu0) / wall
        broker = (cpu_of(mosquitto.proc.pid) - broker0) / wall
        measuring[0] = False
    finally:
        pub.wait(timeout=30)
        assert pub.stdout is not None
        pub.stdout.close()
        io.stop()
        window.close()
    assert client.dropped == 0
    assert len(latencies) >= rooms * (WINDOW_S - 2)  # every room painted about every second
    return cpu, np.array(latencies), broker


@pytest.mark.timeout(180)
def test_board_32_rooms(qtbot, mosquitto):
    base_cpu, base_lat, base_broker = measure(qtbot, mosquitto, 1)
    cpu, lat, broker = measure(qtbot, mosquitto, 32)
    report("board_cpu_1_room", base_cpu * 100, "% of one core")
    report("board_cpu_32_rooms", cpu * 100, "% of one core")
    report("board_cpu_32_vs_1", cpu / base_cpu, "x")
    for name, values in (("1_room", base_lat), ("32_rooms", lat)):
        report(f"board_latency_{name}_p50", float(np.percentile(values, 50)) * 1000, "ms")
        report(f"board_latency_{name}_p99", float(np.percentile(values, 99)) * 1000, "ms")
    report("board_latency_p99_32_vs_1",
           float(np.percentile(lat, 99) / np.percentile(base_lat, 99)), "x")
    report("broker_cpu_1_room", base_broker * 100, "% of one core")
    report("broker_cpu_32_rooms", broker * 100, "% of one core")
    report("broker_cpu_32_vs_1", broker / max(base_broker, 1e-6), "x")
