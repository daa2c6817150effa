"""Vigil's watchdog: a small separate process that sounds when Vigil's alarm system fails.

    python -m monitor.watchdog --db PATH --session ID --pid PID [--speed N]
                               [--timeout S] [--min-sound S]

IEC 60601-1-8 asks for a signal of at least 120 s when the alarm system fails (clinical
reference §1.4). The dashboard starts one watchdog per recording session and beats down its
stdin (`monitor/heartbeat.py`): the GUI thread and the device-io thread, each every 0.25 s.
If either thread is silent for more than `--timeout` (5 s; 30 s for its first beat, while
Vigil starts), or the pipe closes without the clean-exit line (the process died: a crash,
SIGKILL), the watchdog

- sounds the failure signal on the default audio output: a continuous two-tone warble
  (740 / 988 Hz, alternating every 0.5 s), unlike the alarm bursts, through `pacat`
  (PulseAudio; an injectable `Player`);
- writes a HIGH technical alarm "alarm system failure" into the session's alarm log, with
  its start and, once Vigil is back, its end (so `export --format alarms` shows it).

The signal lasts at least `--min-sound` (120 s) and until Vigil is back: both threads beat
again (a stopped process continued), the session is recording again under a live process
(resumed) or a new session records in the store, or the session was ended. SIGTERM or
SIGINT stops the watchdog (the alarm's end is logged). No Qt here.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Protocol

import numpy as np

from alarms.model import AlarmEvent, AlarmEventKind, AlarmKind, AlarmState, AlarmStatus, Priority
from monitor.session import SessionStatus
from monitor.store import StoreError, append_alarm_events, session_owners

log = logging.getLogger("vigil.watchdog")

TIMEOUT_S = 5.0  # a thread silent for longer than this has failed
MIN_SOUND_S = 120.0  # IEC 60601-1-8: a failure signal lasts at least this long
STARTUP_S = 30.0  # a thread that has never beaten has this long to start
POLL_S = 0.05
STORE_POLL_S = 1.0  # how often a failing watchdog asks the store whether Vigil is back
RETRY_S = 1.0  # a failed alarm-log write is retried this often
FAILURE_KEY = "alarm-system-failure:vigil"
CONDITION = "alarm system failure"
CHANNELS = {"gui": "the screen (GUI thread)", "io": "the device-io thread"}
TONE_HZ = (740.0, 988.0)  # not a fundamental or harmonic of the alarm bursts (440/523/660)
TONE_STEP_S = 0.5
RATE = 48_000


# -- the decision: beats and time in, actions out (no I/O) -----------------------------

@dataclass
class Failure:
    reason: str
    onset_t_s: float  # session time the failure began (the last beat of the silent thread)
    signal_t_s: float  # session time the failure signal began
    signal_mono: float
    end_t_s: float | None = None  # session time Vigil was back (or the session ended)


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # "start" (sound, log the start), "end" (log the end), "silence" (stop sound)
    failure: Failure


class Watch:
    """What the watchdog decides from heartbeats and the time alone."""

    def __init__(self, now: float, t_s: float, timeout_s: float = TIMEOUT_S,
                 min_sound_s: float = MIN_SOUND_S, speed: float = 1.0) -> None:
        self.timeout_s = timeout_s
        self.min_sound_s = min_sound_s
        self.speed = speed
        self.last = dict.fromkeys(CHANNELS, now)  # monotonic time of each thread's last beat
        self.beaten = dict.fromkeys(CHANNELS, False)
        self.startup_s = max(STARTUP_S, timeout_s)
        self._beat = (t_s, now)  # (session time, monotonic time) of the latest beat
        self.clean_exit = False
        self.gone = False  # the pipe closed without a clean exit: the process is gone
        self.back: str | None = None  # the store says Vigil records again, or it ended
        self.failure: Failure | None = None
        self.done = False  # nothing is left to watch or to sound

    def session_t(self, mono: float) -> float:
        t_s, at = self._beat
        return t_s + (mono - at) * self.speed

    def feed(self, line: str, now: float) -> None:
        parts = line.split()
        if parts == ["end"]:
            self.clean_exit = True
        elif len(parts) == 2 and parts[0] in CHANNELS:
            try:
                t_s = float(parts[1])
            except ValueError:
                return
            self.last[parts[0]] = now
            self.beaten[parts[0]] = True
            self._beat = (t_s, now)

    def closed(self, now: float) -> None:
        """The pipe closed: after `end` a clean exit, else the process is gone."""
        if not self.clean_exit:
            self.gone = True

    def poll(self, now: float) -> list[Action]:
        out: list[Action] = []
        if self.done:
            return out
        if self.failure is None:
            if self.clean_exit:
                self.done = True
                return out
            silent = [ch for ch in CHANNELS if now - self.last[ch] >
                      (self.timeout_s if self.beaten[ch] else self.startup_s)]
            if self.gone:
                reason, onset = "Vigil stopped without a clean exit", max(self.last.values())
            elif silent:
                reason = (f"{CHANNELS[silent[0]]} not responding for more than "
                          f"{now - self.last[silent[0]]:.0f} s")
                onset = min(self.last[ch] for ch in silent)
            else:
                return out
            self.back = None
            self.failure = Failure(reason, self.session_t(onset), self.session_t(now), now)
            out.append(Action("start", self.failure))
        f = self.failure
        if f.end_t_s is None and self._recovered(f):
            f.end_t_s = self.session_t(now)
            out.append(Action("end", f))
        if f.end_t_s is not None and now - f.signal_mono >= self.min_sound_s:
            out.append(Action("silence", f))
            self.failure = None
            # Another Vigil records the session now (`back`): this process no longer owns
            # it, so a frozen one is not watched on (it would fail again and again).
            self.done = self.clean_exit or self.gone or self.back is not None
        return out

    def _recovered(self, f: Failure) -> bool:
        if self.back is not None or self.clean_exit:
            return True
        return not self.gone and all(t > f.signal_mono for t in self.last.values())


# -- the failure signal ---------------------------------------------------------------

def failure_tone(rate: int = RATE, volume: float = 0.5) -> np.ndarray:
    """One period of the failure signal (int16 mono): TONE_STEP_S of each tone in turn, with
    no gap, each step starting and ending at a zero crossing so the warble does not click."""
    parts = []
    for hz in TONE_HZ:
        cycles = round(hz * TONE_STEP_S)
        n = round(rate * cycles / hz)
        parts.append(np.sin(2 * math.pi * cycles * np.arange(n) / n))
    return (np.concatenate(parts) * volume * 32767).astype("<i2")


class Player(Protocol):
    """Sounds the failure signal from `start()` until `stop()`."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class PacatPlayer:
    """The failure tone piped to PulseAudio's `pacat` on the default sink, in a loop. If the
    sound server is not there (or goes away), it says so and tries again every second."""

    def __init__(self, rate: int = RATE, command: Sequence[str] | None = None) -> None:
        self.rate = rate
        self.command = list(command) if command is not None else [
            "pacat", "--playback", "--raw", "--format=s16le", f"--rate={rate}",
            "--channels=1", "--latency-msec=50", "--client-name=Vigil watchdog",
            "--stream-name=Vigil alarm system failure"]
        self._pcm = failure_tone(rate).tobytes()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="failure-tone", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        warned = False
        while not self._stop.is_set():
            try:
                proc = subprocess.Popen(self.command, stdin=subprocess.PIPE,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            except OSError as e:
                if not warned:
                    log.error("cannot sound the failure signal: %s (needs pacat, from "
                              "pulseaudio-utils)", e)
                    warned = True
                self._stop.wait(1.0)
                continue
            with self._lock:
                self._proc = proc
            assert proc.stdin is not None
            try:
                while not self._stop.is_set():
                    proc.stdin.write(self._pcm)  # blocks at the pace pacat plays it
                    proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass
            finally:
                if proc.poll() is None:
                    proc.terminate()
                with contextlib.suppress(OSError):
                    proc.stdin.close()
                assert proc.stderr is not None
                with proc.stderr:
                    err = proc.stderr.read()
                proc.wait(5)
            if not self._stop.is_set():
                if not warned:
                    log.error("cannot sound the failure signal: pacat: %s",
                              err.decode(errors="replace").strip() or f"exit {proc.returncode}")
                    warned = True
                self._stop.wait(1.0)


# -- the alarm log: written from this process, retried until it is in -----------------------

def failure_event(f: Failure, kind: AlarmEventKind, start_wall: float) -> AlarmEvent:
    ended = kind is AlarmEventKind.END
    t_s = f.end_t_s if ended and f.end_t_s is not None else f.signal_t_s
    status = AlarmStatus(FAILURE_KEY, AlarmKind.TECHNICAL, Priority.HIGH, None, CONDITION,
                         f"*** Alarm system failure: {f.reason}",
                         AlarmState.ENDED if ended else AlarmState.ACTIVE,
                         f.onset_t_s, f.signal_t_s, None, None, False)
    return AlarmEvent(t_s, start_wall + t_s, kind, status, "watchdog")


class AlarmLogWriter:
    """Appends events to the session's alarm log on a thread of its own: a write that waits
    for the recording's lock (or fails) never delays the sound; it is retried until it is
    in, in order."""

    def __init__(self, path: Path, session_id: int) -> None:
        self.path = path
        self.session_id = session_id
        self._queue: queue.Queue[AlarmEvent | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="alarm-log", daemon=True)
        self._thread.start()

    def put(self, event: AlarmEvent) -> None:
        self._queue.put(event)

    def close(self, timeout: float = 15.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            while True:
                try:
                    append_alarm_events(self.path, self.session_id, [event])
                    break
                except StoreError as e:
                    log.warning("%s; retrying", e)
                    time.sleep(RETRY_S)  # back off before retrying a failed write


# -- the process ----------------------------------------------------------------------

def vigil_back(path: Path, session_id: int, watched_pid: int, since_wall: float
               ) -> str | None:
    """Why Vigil no longer needs the failure signal, from the store: the session ended, or
    it records again under a live process (resumed), or a newer session records. None:
    not back."""
    for s in session_owners(path):
        if s.id == session_id and s.status is SessionStatus.COMPLETED:
            return "the session was ended"
        live = s.status is SessionStatus.ACTIVE and s.owner_alive and s.owner_pid != watched_pid
        if live and s.id == session_id:
            return "the session was resumed"
        if live and s.start_wall >= since_wall:
            return f"session {s.id} is recording"
    return None


def run(path: Path, session_id: int, watched_pid: int, player: Player,
        speed: float = 1.0, timeout_s: float = TIMEOUT_S, min_sound_s: float = MIN_SOUND_S,
        fd: int = 0) -> int:
    """Watches the heartbeats on `fd` until a clean exit (or the end of a failure signal
    after the process died). 0 when nothing failed, 3 when it sounded."""
    owner = next((s for s in session_owners(path) if s.id == session_id), None)
    if owner is None:
        raise StoreError(f"{path}: has no session {session_id}")
    start_wall = owner.start_wall
    now = time.monotonic()
    watch = Watch(now, max(0.0, (time.time() - start_wall) * speed), timeout_s, min_sound_s,
                  speed)
    writer = AlarmLogWriter(path, session_id)
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sounded = False
    pending = b""
    open_fd: int | None = fd
    next_store = 0.0
    since_wall = time.time()
    try:
        while not watch.done and not stopping.is_set():
            ready = select.select([open_fd] if open_fd is not None else [], [], [], POLL_S)[0]
            now = time.monotonic()
            if ready and open_fd is not None:
                data = os.read(open_fd, 65536)
                if not data:
                    os.close(open_fd)
                    open_fd = None
                    watch.closed(now)
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    watch.feed(line.decode("ascii", errors="replace"), now)
            if watch.failure is not None and watch.failure.end_t_s is None \
                    and now >= next_store:
                next_store = now + STORE_POLL_S
                try:
                    watch.back = vigil_back(path, session_id, watched_pid, since_wall)
                except StoreError as e:
                    log.warning("%s", e)
            for action in watch.poll(now):
                f = action.failure
                if action.kind == "start":
                    player.start()
                    sounded = True
                    since_wall = time.time()
                    print(f"vigil-watchdog: ALARM SYSTEM FAILURE (session {session_id}): "
                          f"{f.reason}; sounding for at least {min_sound_s:g} s",
                          file=sys.stderr, flush=True)
                    writer.put(failure_event(f, AlarmEventKind.START, start_wall))
                elif action.kind == "end":
                    print(f"vigil-watchdog: Vigil is back (session {session_id}"
                          f"{': ' + watch.back if watch.back else ''})", file=sys.stderr,
                          flush=True)
                    writer.put(failure_event(f, AlarmEventKind.END, start_wall))
                else:
                    player.stop()
                    print("vigil-watchdog: failure signal stopped", file=sys.stderr,
                          flush=True)
        if watch.failure is not None:  # told to stop while sounding
            f = watch.failure
            if f.end_t_s is None:
                f.end_t_s = watch.session_t(time.monotonic())
                writer.put(failure_event(f, AlarmEventKind.END, start_wall))
            player.stop()
    finally:
        writer.close()
    return 3 if sounded else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m monitor.watchdog",
                                description="Sounds when Vigil's alarm system fails.")
    p.add_argument("--db", type=Path, required=True, help="the session store")
    p.add_argument("--session", type=int, required=True, help="the session recorded")
    p.add_argument("--pid", type=int, required=True, help="the dashboard process")
    p.add_argument("--speed", type=float, default=1.0, help="the session clock's speed")
    p.add_argument("--timeout", type=float, default=TIMEOUT_S, metavar="S",
                   help=f"a thread silent this long has failed (default {TIMEOUT_S:g})")
    p.add_argument("--min-sound", type=float, default=MIN_SOUND_S, metavar="S",
                   help=f"the failure signal lasts at least this long (default "
                   f"{MIN_SOUND_S:g}, IEC 60601-1-8)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING,
                        format="vigil-watchdog: %(levelname)s: %(message)s")
    if shutil.which("pacat") is None:
        log.error("pacat (pulseaudio-utils) is not installed: the failure signal cannot sound")
    try:
        return run(args.db, args.session, args.pid, PacatPlayer(), args.speed, args.timeout,
                   args.min_sound)
    except StoreError as e:
        print(f"vigil-watchdog: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
