"""Watchdog benchmark: how long a frozen or killed dashboard stays silent.

Detection: from SIGSTOP (or SIGKILL) of the real dashboard process to the first 0.2 s
window of the failure tone recorded on a real PulseAudio null sink (aim: < 6 s for a
freeze: 5 s without a heartbeat, then the sound path). Baseline, measured in the same run
on the same sink: the sound path alone (the watchdog's player started directly, to the
tone on the sink), the best of three after a warm-up. The tone is found in 0.2 s windows,
so each figure may be up to 0.2 s late.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from monitor.watchdog import TIMEOUT_S, PacatPlayer
from tests.bench.conftest import report
from tests.helpers.dashboard import Dashboard
from tests.pulse import PulseServer, Recording
from tests.tone import heard_windows


def until_heard(rec: Recording, act: Callable[[], object], timeout: float = 20.0) -> float:
    """Seconds from `act()` to the failure tone in the recording (which runs throughout: a
    monitor recording just started delivers its first samples late)."""
    start = len(rec.samples())
    act()
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if heard_windows(rec.samples()[start:], rec.rate).any():
            return time.monotonic() - began
        time.sleep(0.01)  # polling the recording
    raise AssertionError("the failure tone was not heard")


def played(rec: Recording) -> float:
    """The sound path alone: the watchdog's player started directly, to the tone heard."""
    player = PacatPlayer()
    try:
        return until_heard(rec, player.start)
    finally:
        player.stop()


def test_watchdog_detection_time(tmp_path: Path, pulse_server: PulseServer,
                                 monkeypatch) -> None:
    for key, value in pulse_server.env.items():
        monkeypatch.setenv(key, value)  # the player below uses the private server
    rec = pulse_server.record()
    played(rec)  # warms up the recording and the server
    path_s = min(played(rec) for _ in range(3))

    def frozen_or_killed(sig: int, where: Path) -> float:
        where.mkdir()
        dash = Dashboard(where, "--watchdog-min-sound", "1", env=pulse_server.env)
        try:
            dash.wait_recording()
            began = time.monotonic()
            while dash.recorded_s() < 2 and time.monotonic() - began < 30:
                time.sleep(0.05)  # polling: the session runs and beats
            return until_heard(rec, lambda: dash.proc.send_signal(sig))
        finally:
            dash.proc.send_signal(signal.SIGCONT)
            dash.end()
            subprocess.run(["kill", "-TERM", str(dash.watchdog_pid())], check=False,
                           capture_output=True)

    freeze_s = frozen_or_killed(signal.SIGSTOP, tmp_path / "stop")
    kill_s = frozen_or_killed(signal.SIGKILL, tmp_path / "kill")
    report("watchdog_freeze_to_sound", freeze_s, "s")
    report("watchdog_kill_to_sound", kill_s, "s")
    report("watchdog_sound_path_baseline", path_s, "s")
    report("watchdog_freeze_to_sound_vs_timeout_plus_path", freeze_s / (TIMEOUT_S + path_s),
           "ratio")
    assert freeze_s < 6.0
