"""`main.py board --demo N`: a private broker (TLS, the shipped script's credentials and ACL)
and N real `record --room` processes whose payloads reach the board; everything stopped on
exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.central.board_client import BoardClient
from monitor.central.board_model import BoardModel
from monitor.central.demo import Demo
from monitor.runtime import IoThread
from tests.central.broker import missing
from tests.helpers.paths import REPO
from ui.board.bridge import BoardBridge
from ui.board.window import BoardWindow

pytestmark = [pytest.mark.slow,
              pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")]


@pytest.fixture(autouse=True)
def needs_mosquitto() -> None:
    if reason := missing():
        pytest.skip(reason)


def children_of(pid: int) -> set[int]:
    """Every live descendant of `pid`, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def test_the_demo_rooms_reach_the_board(qtbot):
    with Demo(3) as demo:
        assert demo.url.startswith("mqtts://127.0.0.1:")
        bridge = BoardBridge()
        window = BoardWindow(BoardModel(), bridge, sound=())
        qtbot.addWidget(window)
        window.show()
        io = IoThread().start()
        client = BoardClient(demo.board_config, bridge.sink)
        io.submit(client.run())
        try:
            def all_live() -> bool:
                views = window.model.views(time.time())
                return len(views) == 3 and all(
                    v.online and v.reading("hr") is not None and v.reading("hr").live
                    for v in views)
            qtbot.waitUntil(all_live, timeout=30_000)
            assert window.model.names == ("room-1", "room-2", "room-3")
            assert client.dropped == 0
        finally:
            io.stop()
        procs = [demo.broker, *demo.room_procs]
    assert all(p is not None and p.poll() is not None for p in procs)


def test_board_demo_command_stops_everything_on_sigterm(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, str(REPO / "main.py"), "board", "--demo", "2",
                             "--board-sound", "none"], cwd=tmp_path, env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline() for _ in range(1)]
        while "demo broker" not in lines[-1] and lines[-1] and len(lines) < 20:
            lines.append(proc.stderr.readline())  # Qt may say something first
        assert "demo broker mqtts://127.0.0.1:" in lines[-1], lines
        assert "2 simulated rooms" in lines[-1]
        deadline = time.monotonic() + 20
        while len(kids := children_of(proc.pid)) < 3:  # mosquitto and two rooms
            assert time.monotonic() < deadline, f"only {kids} started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        deadline = time.monotonic() + 10
        while alive := [k for k in kids if Path(f"/proc/{k}").exists()
                        and "Z" not in Path(f"/proc/{k}/stat").read_text().rsplit(")", 1)[1][:3]]:
            assert time.monotonic() < deadline, f"left running: {alive}"
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
