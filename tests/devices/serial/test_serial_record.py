"""End to end: `main.py record --device KIND:/dev/pts/N` against a fake device on a pty,
then the store is checked: the right SpO2 and PR, and a "no finger" state stored as a
device condition with no number while it lasts."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from devices.serial.contec_protocol import START
from monitor.store import SessionStore
from tests.devices.serial.serial_frames import (
    PtyDevice,
    contec_v7,
    masimo_line,
    nonin2_packet,
)
from tests.helpers.paths import REPO
from tests.helpers.processes import end_process
from tests.store_probe import wait_count

pytestmark = pytest.mark.slow

DURATION_S = 5  # enough for both phases; the phase switch waits on the store, not a timer


def _record(tmp_path: Path, kind: str, period_s: float, produce: Callable[[PtyDevice, str],
            bytes], valid_vital: str, condition: str) -> tuple[SessionStore, int]:
    dev = PtyDevice()
    phase = ["normal"]
    dev.play(period_s, lambda k: produce(dev, phase[0]))
    db = tmp_path / "vigil.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "main.py", "record", "--device", f"{kind}:{dev.path}",
         "--duration", str(DURATION_S), "--db", str(db)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_count(db, f"SELECT COUNT(*) FROM samples WHERE vital = '{valid_vital}'", proc,
                   "sample stored")
        phase[0] = "no_finger"
        wait_count(db, "SELECT COUNT(*) FROM device_events WHERE kind = 'condition' AND "
                       f"code = '{condition}' AND active = 1", proc, "condition stored")
    finally:
        _, err = end_process(proc, None, 30.0)  # the session ends with its duration
        dev.unplug()
    assert proc.returncode == 0, err
    store = SessionStore(db)
    sid = store.latest_session_id()
    assert sid is not None
    return store, sid


def _check(store: SessionStore, sid: int, condition: str, spo2: float, pr: float) -> None:
    samples = list(store.iter_samples(sid))
    events = store.device_events(sid)
    assert samples, "nothing stored"
    assert {(vital, value) for _, _, vital, value, _, _ in samples} == {("spo2", spo2), ("pr", pr)}
    started = [e for e in events if e[3] == "condition" and e[4] == condition and e[5] == 1]
    assert len(started) == 1
    t_start = started[0][0]
    assert not [s for s in samples if s[0] >= t_start], "a number while the finger was out"
    assert [e[4] for e in events if e[3] == "status"][:2] == ["connecting", "streaming"]


def test_record_masimo(tmp_path: Path) -> None:
    lines = {"normal": masimo_line(98, 72), "no_finger": masimo_line(None, None, exc=0x000001)}
    store, sid = _record(tmp_path, "masimo", 0.1, lambda dev, phase: lines[phase], "spo2",
                         "sensor_off")
    with store:
        _check(store, sid, "sensor_off", 98.0, 72.0)


def test_record_nonin(tmp_path: Path) -> None:
    packets = {"normal": nonin2_packet(131, 96),
               "no_finger": nonin2_packet(511, 127, status=0x88 | 0x10)}
    store, sid = _record(tmp_path, "nonin", 1 / 3, lambda dev, phase: packets[phase], "spo2",
                         "sensor_off")
    with store:
        _check(store, sid, "sensor_off", 96.0, 131.0)
        chunks = store.waveform_chunks(sid, "pleth")
    assert chunks and all(rate == 75.0 and len(v) == 25 for _, rate, v in chunks)


def test_record_contec(tmp_path: Path) -> None:
    def produce(dev: PtyDevice, phase: str) -> bytes:
        if START not in dev.read_commands():
            return b""
        if phase == "normal":
            return contec_v7(pr=142, spo2=95, pleth=60) * 6
        return contec_v7(pr=0, spo2=0, pleth=0x40, flags2=0x80) * 6
    store, sid = _record(tmp_path, "contec", 0.1, produce, "spo2", "no_finger")
    with store:
        _check(store, sid, "no_finger", 95.0, 142.0)


# -- the device vanishes mid-session and returns at the same path ---------------------------


class CountingOximeter:
    """A Masimo on a pty whose pulse rate counts up by one per line, so every stored value
    names the line it came from. `sent` holds each value written, in order."""

    def __init__(self, first_pr: int) -> None:
        self.dev = PtyDevice()
        self.next_pr = first_pr
        self.sent: list[int] = []

    def play(self, period_s: float = 0.1) -> None:
        def line(_k: int) -> bytes:
            pr = self.next_pr
            self.next_pr += 1
            self.sent.append(pr)
            return masimo_line(97, pr)
        self.dev.play(period_s, line)


def _run(sent: list[int], stored: list[int]) -> list[int]:
    """The values of `sent` from the first one stored on: what must have been stored."""
    return sent[sent.index(stored[0]):] if stored else []


def test_record_survives_the_port_vanishing_and_returning_at_the_same_path(
        tmp_path: Path) -> None:
    """A USB oximeter pulled mid-session and plugged back in: `record` shows it
    disconnected within 2 s, reconnects at the same (udev-style) path, and stores every
    line each connection read exactly once, in order: none lost, none twice."""
    db = tmp_path / "vigil.sqlite3"
    port = tmp_path / "ttyUSB-oximeter"  # a stable name: re-pointed when the device returns
    first = CountingOximeter(30)
    port.symlink_to(first.dev.path)
    first.play()
    proc = subprocess.Popen(
        [sys.executable, "main.py", "record", "--device", f"masimo:{port}", "--duration",
         "120", "--db", str(db)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second: CountingOximeter | None = None
    try:
        wait_count(db, "SELECT COUNT(*) FROM samples WHERE vital = 'pr' AND value >= 40",
                   proc, "ten lines stored")
        first.dev.stop()  # the last line it sends, then it vanishes
        last = first.sent[-1]
        wait_count(db, f"SELECT COUNT(*) FROM samples WHERE vital = 'pr' AND value = {last}",
                   proc, "the last line before the unplug")
        unplugged = time.time()
        first.dev.unplug()
        wait_count(db, "SELECT COUNT(*) FROM device_events WHERE kind = 'status' AND "
                       "code = 'disconnected'", proc, "a disconnection")
        second = CountingOximeter(last + 1)  # the same oximeter, re-enumerated
        second.play()
        relink = tmp_path / "relink"
        relink.symlink_to(second.dev.path)
        relink.replace(port)  # atomically, as udev re-points /dev/serial/by-id
        wait_count(db, "SELECT COUNT(*) FROM samples WHERE vital = 'pr' AND t_wall > (SELECT "
                       "MAX(t_wall) FROM device_events WHERE code = 'disconnected')", proc,
                   "ten lines after the reconnection", need=10)
        second.dev.stop()
        last2 = second.sent[-1]
        wait_count(db, f"SELECT COUNT(*) FROM samples WHERE vital = 'pr' AND value = {last2}",
                   proc, "the last line sent")
    finally:
        _, err = end_process(proc, signal.SIGINT, 30.0)  # Ctrl+C: the session ends as completed
        first.dev.unplug()
        if second is not None:
            second.dev.unplug()
    assert proc.returncode == 0, err
    with SessionStore(db, read_only=True) as store:
        sid = store.latest_session_id()
        assert sid is not None
        rows = list(store.iter_samples(sid))
        events = [e for e in store.device_events(sid) if e[3] == "status"]
    pr = [(wall, value) for _, wall, vital, value, _, _ in rows if vital == "pr"]
    assert {value for _, _, vital, value, _, _ in rows if vital == "spo2"} == {97.0}
    codes = [e[4] for e in events]
    assert codes[:5] == ["connecting", "streaming", "disconnected", "connecting",
                         "streaming"], codes
    gone_wall, back_wall = events[2][1], events[4][1]
    assert 0 <= gone_wall - unplugged < 2.0, gone_wall - unplugged
    before = [int(v) for wall, v in pr if wall < back_wall]
    after = [int(v) for wall, v in pr if wall >= back_wall]
    # Each connection stored every line from the first it read to the last one sent, once.
    assert before == _run(first.sent, before) and before[-1] == last
    assert after == _run(second.sent, after) and after[-1] == last2
    assert len(after) >= 10
