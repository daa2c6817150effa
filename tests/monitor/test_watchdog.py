"""The watchdog's decisions, its device-io stall detection on a real asyncio thread, the
screen clock that stops with it, its alarm-log write beside a recording, and its tone."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from alarms.episodes import episodes_from_events
from alarms.model import AlarmEventKind, AlarmKind, Priority
from monitor.clock import ScaledClock
from monitor.export_alarms import alarm_rows
from monitor.heartbeat import SessionPulse, WatchdogLink, io_beats
from monitor.runtime import IoThread
from monitor.session import DoseProtocol, Patient, SessionStatus
from monitor.store import SessionStore, append_alarm_events
from monitor.watchdog import (
    MIN_SOUND_S,
    RATE,
    TIMEOUT_S,
    Action,
    Failure,
    Watch,
    build_parser,
    failure_event,
    failure_tone,
    vigil_back,
)
from tests.tone import failure_tone_in, heard_windows
from ui.alarm_tones import burst_pcm


def test_the_failure_signal_lasts_at_least_120_s_by_default() -> None:
    assert MIN_SOUND_S == 120.0 and TIMEOUT_S == 5.0
    args = build_parser().parse_args(["--db", "x", "--session", "1", "--pid", "2"])
    assert args.min_sound == 120.0 and args.timeout == 5.0
    assert Watch(0.0, 0.0).min_sound_s == 120.0


def kinds(actions) -> list[str]:
    return [a.kind for a in actions]


def test_a_silent_thread_fails_after_the_timeout_and_sounds_its_minimum() -> None:
    w = Watch(100.0, 50.0, timeout_s=5.0, min_sound_s=120.0)
    for t in np.arange(100.0, 110.0, 0.25):  # both beat for 10 s
        w.feed(f"gui {t - 50:.3f}", t)
        w.feed(f"io {t - 50:.3f}", t)
    assert w.poll(110.0) == []
    for t in np.arange(110.0, 116.0, 0.25):  # the GUI thread goes on, device-io is silent
        w.feed(f"gui {t - 50:.3f}", t)
    assert w.poll(114.75) == []  # 5.0 s since io's last beat (109.75): not more
    [start] = w.poll(114.8)
    assert start.kind == "start" and "device-io" in start.failure.reason
    assert start.failure.onset_t_s == pytest.approx(59.75)
    assert start.failure.signal_t_s == pytest.approx(64.8)
    w.feed("io 66.0", 116.0)  # back...
    w.feed("gui 66.0", 116.0)
    assert kinds(w.poll(116.0)) == ["end"]
    assert w.failure is not None and w.failure.end_t_s == pytest.approx(66.0)
    assert w.poll(234.7) == []  # ...but the signal sounds its 120 s
    for t in np.arange(116.0, 235.0, 1.0):
        w.feed(f"gui {t - 50:.3f}", t)
        w.feed(f"io {t - 50:.3f}", t)
    assert kinds(w.poll(234.9)) == ["silence"]
    assert not w.done  # the process runs on: still watched


def test_a_thread_that_never_beat_has_30_s_to_start() -> None:
    w = Watch(0.0, 0.0, timeout_s=5.0)
    w.feed("io 1.0", 1.0)  # the GUI thread is still building the window
    for t in np.arange(1.0, 30.1, 0.25):
        w.feed(f"io {t:.3f}", t)
    assert w.poll(30.0) == []
    [start] = w.poll(30.1)
    assert "GUI thread" in start.failure.reason and start.failure.onset_t_s == 0.0


def test_a_closed_pipe_fails_at_once_and_sounds_until_vigil_is_back() -> None:
    w = Watch(0.0, 0.0, min_sound_s=120.0)
    w.feed("gui 1.0", 1.0)
    w.closed(1.5)
    [start] = w.poll(1.6)
    assert start.kind == "start" and "without a clean exit" in start.failure.reason
    assert w.poll(500.0) == []  # long past the minimum: still sounding, Vigil is gone
    w.back = "the session was resumed"
    assert kinds(w.poll(501.0)) == ["end", "silence"] and w.done


def test_a_frozen_process_whose_session_another_vigil_took_over_is_watched_no_more() -> None:
    """Frozen (alive, silent): the failure sounds; the nurse starts Vigil again and the store
    shows it recording; after the minimum the signal stops and does not start again."""
    w = Watch(0.0, 0.0, timeout_s=5.0, min_sound_s=120.0)
    w.feed("gui 1.0", 1.0)
    w.feed("io 1.0", 1.0)
    [start] = w.poll(6.1)
    assert start.kind == "start"
    w.back = "another Vigil records the session"
    assert kinds(w.poll(10.0)) == ["end"]
    assert kinds(w.poll(126.2)) == ["silence"] and w.done
    assert w.poll(300.0) == []  # the old process is still silent: no new failure


def test_a_clean_exit_sounds_nothing() -> None:
    w = Watch(0.0, 0.0)
    w.feed("gui 1.0", 1.0)
    w.feed("end", 1.1)
    w.closed(1.2)
    assert w.poll(100.0) == [] and w.done


def test_a_device_io_stall_is_detected_and_freezes_the_screen_clock() -> None:
    """The real device thread's heartbeat task, frozen on its loop: only that thread stops
    (this test's thread keeps beating for the GUI)."""
    clock = ScaledClock()
    pulse = SessionPulse(clock)
    beats: queue.Queue[str] = queue.Queue()
    io = IoThread().start()
    io.submit(io_beats(clock, pulse, lambda ch, t: beats.put(f"{ch} {t:.3f}")))
    watch = Watch(time.monotonic(), 0.0, timeout_s=1.0, min_sound_s=0.5)
    gate = threading.Event()

    seen: list[tuple[Action, float]] = []

    def run_until(kind: str, timeout: float) -> tuple[Action, float]:
        """Runs the watchdog's loop until it has taken an action of `kind`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = time.monotonic()
            while not beats.empty():
                watch.feed(beats.get(), now)
            watch.feed(f"gui {clock.now():.3f}", now)
            seen.extend((a, now) for a in watch.poll(now))
            if found := [(a, t) for a, t in seen if a.kind == kind]:
                return found[0]
            time.sleep(0.02)  # polling, as the watchdog does
        raise AssertionError(f"no {kind!r} within {timeout} s")

    try:
        with pytest.raises(AssertionError):
            run_until("start", 1.5)  # all beating: nothing happens
        io.loop.call_soon_threadsafe(gate.wait)  # the device-io thread stops
        frozen_at = time.monotonic()
        start, detected = run_until("start", 3.0)
        assert "device-io" in start.failure.reason
        assert detected - frozen_at + 0.25 > 1.0 and detected - frozen_at < 2.0
        shown = pulse.now()  # the screen's clock stopped where it was:
        while clock.now() < shown + 1.0:
            time.sleep(0.02)  # polling the session clock
        assert pulse.now() == shown
        gate.set()
        run_until("end", 2.0)
        assert pulse.now() == pytest.approx(clock.now(), abs=0.1)  # and runs again
        run_until("silence", 2.0)
    finally:
        gate.set()
        io.stop()


def test_the_alarm_log_takes_the_failure_beside_a_recording(db_path: Path) -> None:
    with SessionStore(db_path) as store:
        sid = store.create_session(Patient("AB"), DoseProtocol(), None, 1_800_000_000.0)
        writer = store.writer(sid)  # the recording's own writer holds a connection open
        try:
            f = Failure("the device-io thread not responding for more than 5 s", 60.0, 65.2,
                        0.0, end_t_s=70.5)
            append_alarm_events(db_path, sid, [
                failure_event(f, AlarmEventKind.START, 1_800_000_000.0)])
            append_alarm_events(db_path, sid, [
                failure_event(f, AlarmEventKind.END, 1_800_000_000.0)])
        finally:
            writer.close()
        [ep] = episodes_from_events(store.alarm_events(sid))
        assert (ep.kind, ep.priority, ep.condition) == (
            AlarmKind.TECHNICAL, Priority.HIGH, "alarm system failure")
        assert (ep.onset_t_s, ep.signal_t_s, ep.end_t_s) == (60.0, 65.2, 70.5)
        [row] = alarm_rows(store, sid)
        assert row[:4] == ("2027-01-15T08:01:05.200Z", "2027-01-15T08:01:10.500Z",
                           "65.2", "70.5")
        # Active under the process watched (this one): not back. Under another live
        # process (this one, when the watchdog watched pid 1): resumed.
        assert vigil_back(db_path, sid, os.getpid(), 0.0) is None
        assert vigil_back(db_path, sid, 1, 0.0) == "the session was resumed"
        store.end_session(sid, SessionStatus.COMPLETED, 1_800_000_100.0)
        assert vigil_back(db_path, sid, os.getpid(), 0.0) == "the session was ended"


def test_the_failure_tone_is_heard_and_the_alarm_bursts_are_not_it() -> None:
    tone = failure_tone(RATE)
    assert len(tone) == RATE and heard_windows(np.tile(tone, 3), RATE).all()
    for priority in Priority:
        burst = burst_pcm(priority, RATE)
        assert not heard_windows(burst, RATE).any(), priority
    assert not failure_tone_in(np.zeros(RATE // 4, dtype=np.int16), RATE)


def test_a_clean_exit_reaches_a_watchdog_whose_pipe_is_full() -> None:
    """The watchdog is busy (not reading) and the beats have filled the pipe: beats are
    dropped, but `end` waits for room, so the exit is not taken for a crash."""
    reader = ("import sys, time; time.sleep(0.3); "
              "print(sys.stdin.buffer.read().endswith(b'end\\n'))")
    proc = subprocess.Popen([sys.executable, "-c", reader], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=False)
    link = WatchdogLink(proc)
    for i in range(20_000):  # ~300 KiB of beats: far more than a pipe holds
        link.beat("gui", float(i))
    link.end()  # closes stdin
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    assert proc.wait(timeout=30) == 0
    assert out.strip() == b"True"
