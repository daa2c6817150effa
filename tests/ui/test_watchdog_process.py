"""The watchdog beside the real dashboard process, heard on a real PulseAudio null sink:
SIGSTOP and SIGKILL sound the failure signal and log the technical alarm; a clean quit
sounds nothing; `--no-watchdog` starts none."""

from __future__ import annotations

import csv
import io
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from ui_fakes import FakeAudioOutput, open_window

from devices.spec import parse_spec
from monitor.recorder import RecordingPlan, SessionRecorder, resume_plan
from monitor.store import SessionStore
from tests.helpers.dashboard import Dashboard
from tests.helpers.paths import REPO
from tests.helpers.waiting import until
from tests.pulse import PulseServer, Recording
from tests.tone import WINDOW_S, heard_windows
from ui.app import DashboardSession

MIN_SOUND_S = 6.0  # the test's shortened minimum (the default, 120 s, is a unit test's)


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaped has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def cmdline(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().decode().split("\0")


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def alarm_csv(db: Path) -> list[dict[str, str]]:
    out = subprocess.run([sys.executable, str(REPO / "main.py"), "export", "--db", str(db),
                          "--session", "1", "--format", "alarms", "--out", "-"],
                         cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    return [r for r in csv.DictReader(io.StringIO(out.stdout))
            if r["condition"] == "alarm system failure"]


class Ear:
    """Listens to the sink from now on: when the failure tone starts and stops."""

    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        self.start = len(rec.samples())

    def windows(self) -> list[bool]:
        return list(heard_windows(self.rec.samples()[self.start:], self.rec.rate))

    def heard(self) -> bool:
        return any(self.windows())

    def heard_s(self) -> float:
        """How long the tone sounded (from its first window to its last), in recording
        time."""
        w = self.windows()
        first = w.index(True)
        last = len(w) - 1 - w[::-1].index(True)
        return (last - first + 1) * WINDOW_S

    def silent_since_heard(self, quiet_s: float = 1.0) -> bool:
        w = self.windows()
        tail = round(quiet_s / WINDOW_S)
        return True in w and len(w) - (len(w) - 1 - w[::-1].index(True)) > tail


@pytest.fixture
def sink(pulse_server: PulseServer) -> Iterator[tuple[PulseServer, Recording]]:
    yield pulse_server, pulse_server.record()


@pytest.fixture
def watchdogs() -> Iterator[list[int]]:
    """Watchdog pids to stop after the test (they outlive a killed dashboard)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if alive(pid):
            subprocess.run(["kill", "-TERM", str(pid)], check=False)


def start(tmp_path: Path, server: PulseServer, watchdogs: list[int], *args: str) -> Dashboard:
    dash = Dashboard(tmp_path, "--watchdog-min-sound", f"{MIN_SOUND_S:g}", *args,
                     env=server.env)
    dash.wait_recording()
    watchdogs.append(dash.watchdog_pid())
    # Recording, and its event loop running (a signal before app.exec() would be lost).
    until(lambda: dash.recorded_s() >= 1, "the session did not record", 30)
    return dash


def test_sigstop_sounds_within_6_s_logs_the_failure_and_sounds_the_minimum(
        tmp_path: Path, sink, watchdogs) -> None:
    server, rec = sink
    dash = start(tmp_path, server, watchdogs)
    try:
        # The beats are flowing: the session has recorded a couple of seconds.
        until(lambda: dash.recorded_s() >= 2, "the session did not record", 30)
        ear = Ear(rec)
        dash.proc.send_signal(signal.SIGSTOP)
        stopped = time.monotonic()
        until(ear.heard, "no failure signal on the sink within 6 s of SIGSTOP", 6.0)
        assert time.monotonic() - stopped >= 4.5  # not before the 5 s without a beat
        dash.proc.send_signal(signal.SIGCONT)  # Vigil is back at once...
        # ...but the signal lasts its minimum, then stops.
        until(ear.silent_since_heard, "the failure signal went on", MIN_SOUND_S + 5)
        assert MIN_SOUND_S - 0.5 <= ear.heard_s() <= MIN_SOUND_S + 1.5, ear.heard_s()
        assert dash.proc.poll() is None
        [row] = until(lambda: alarm_csv(dash.db), "no alarm-system-failure row", 15)
        assert (row["kind"], row["priority"]) == ("technical", "high")
        assert row["end_utc"] and float(row["t_end_s"]) > float(row["t_start_s"]) > 0
    finally:
        dash.proc.send_signal(signal.SIGCONT)
        err = dash.end()
    assert dash.proc.returncode == 0, err
    assert "ALARM SYSTEM FAILURE" in err and "Vigil is back" in err


@contextmanager
def vigil_again(how: str, tmp_path: Path, db: Path, server: PulseServer) -> Iterator[None]:
    """Vigil back after a crash: the dashboard started again (`--no-dialog`: it records a
    new session, or resumes the crashed one unasked), or the crashed session resumed by a
    recorder in this process (as the resume dialog does)."""
    if how == "dashboard again":
        again = Dashboard(tmp_path, "--no-watchdog", env=server.env)
        try:
            again.wait_recording()
            yield
        finally:
            again.end()
        return
    with SessionStore(db) as store:  # opening it marks the crashed session interrupted
        recorder = SessionRecorder(store, resume_plan(store, 1, 3600.0))
        recorder.start()
        try:
            yield
        finally:
            recorder.stop()


@pytest.mark.parametrize("how", ["dashboard again", "resumed"])
def test_sigkill_sounds_until_vigil_records_again(tmp_path: Path, sink, watchdogs,
                                                  how: str) -> None:
    server, rec = sink
    dash = start(tmp_path, server, watchdogs)
    ear = Ear(rec)
    dash.end(signal.SIGKILL)
    until(ear.heard, "no failure signal on the sink within 6 s of SIGKILL", 6.0)
    [row] = until(lambda: alarm_csv(dash.db), "no alarm-system-failure row", 15)
    assert row["kind"] == "technical" and row["end_utc"] == ""  # not back yet
    # Past its minimum it still sounds: Vigil is not back.
    until(lambda: ear.heard_s() >= MIN_SOUND_S + 1,
          "the failure signal stopped while Vigil was still gone", MIN_SOUND_S + 6)
    assert alive(watchdogs[0])
    with vigil_again(how, tmp_path, dash.db, server):  # the watchdog falls silent
        until(ear.silent_since_heard, "the signal went on after Vigil came back", 10)
        until(lambda: not alive(watchdogs[0]), "the watchdog did not end", 10)
    [row] = alarm_csv(dash.db)
    assert row["end_utc"] != ""


def test_a_clean_quit_sounds_nothing_and_ends_the_watchdog(tmp_path: Path, sink,
                                                           watchdogs) -> None:
    server, rec = sink
    dash = start(tmp_path, server, watchdogs)
    [watchdog] = watchdogs
    assert "monitor.watchdog" in cmdline(watchdog) and watchdog in children(dash.pid)
    ear = Ear(rec)
    err = dash.end()
    assert dash.proc.returncode == 0, err
    until(lambda: not alive(watchdog), "the watchdog outlived a clean quit", 5)
    more = len(rec.samples()) + rec.rate  # a second more on the sink, which stays silent
    until(lambda: len(rec.samples()) >= more, "the recording stopped", 10)
    assert not ear.heard() and "FAILURE" not in dash.output()


def test_no_watchdog_starts_none(tmp_path: Path, sink) -> None:
    server, _ = sink
    dash = Dashboard(tmp_path, "--no-watchdog", env=server.env)
    try:
        dash.wait_recording()
        until(lambda: dash.recorded_s() >= 1, "the session did not record", 30)
        assert not [c for c in children(dash.pid) if "monitor.watchdog" in cmdline(c)]
    finally:
        err = dash.end()
    assert "vigil: watchdog" not in err and "vigil-watchdog" not in err


def test_the_command_line_starts_the_watchdog_unless_told_not_to(monkeypatch, tmp_path: Path
                                                                  ) -> None:
    import main
    import ui.app as app_module

    seen: list[list[str] | None] = []
    monkeypatch.setattr(app_module, "run_dashboard",
                        lambda *_a, watchdog=(), **_k: seen.append(watchdog) or 0)
    monkeypatch.setattr(signal, "signal", lambda *_a: None)  # main() would install its own
    db = str(tmp_path / "v.sqlite3")
    for extra in ([], ["--no-watchdog"], ["--watchdog-min-sound", "3"]):
        assert main.main(["dashboard", "--db", db, "--no-dialog", *extra]) == 0
    assert seen == [[], None, ["--min-sound", "3"]]


def test_a_stalled_device_thread_freezes_the_screen_where_it_is(qtbot, tmp_path: Path) -> None:
    """The window on the real simulator: while the device-io thread is stuck, the header's
    session clock and the pleth sweep stand still (no animation over no data); they run
    again when it returns."""
    plan = RecordingPlan((parse_spec("sim:normal"),), 3600.0, 1.0)
    gate = threading.Event()
    with SessionStore(tmp_path / "vigil.sqlite3") as store:
        session = DashboardSession(store, plan)
        clock = session.recorder.clock
        window = open_window(qtbot, tmp_path, session, FakeAudioOutput(available=True))
        try:
            qtbot.waitUntil(lambda: window.pleth.frames >= 10 and clock.now() > 2, timeout=10000)
            session.io.loop.call_soon_threadsafe(gate.wait)  # only the device thread stops
            stuck = clock.now()
            qtbot.waitUntil(lambda: clock.now() > stuck + 1.5, timeout=5000)
            label, frames = window.session_label.text(), window.pleth.frames
            sweep = window.pleth.sweep_data()
            qtbot.waitUntil(lambda: clock.now() > stuck + 3.5, timeout=5000)  # 2 s more
            assert window.session_label.text() == label
            assert window.pleth.frames == frames and window.pleth.showing_signal
            np.testing.assert_array_equal(window.pleth.sweep_data(), sweep)
            gate.set()
            qtbot.waitUntil(lambda: window.session_label.text() != label, timeout=5000)
            qtbot.waitUntil(lambda: window.pleth.frames > frames, timeout=5000)
        finally:
            gate.set()
            window.close()
