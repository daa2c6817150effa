"""End to end: `main.py record --device KIND:/dev/pts/N` against a fake device on a pty,
then the store is checked: the right SpO2 and PR, and a "no finger" state stored as a
device condition with no number while it lasts."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from devices.serial.contec_protocol import START
from monitor.store import SessionStore
from tests.conftest import REPO
from tests.devices.serial.serial_frames import (
    PtyDevice,
    contec_v7,
    masimo_line,
    nonin2_packet,
)

pytestmark = pytest.mark.slow

DURATION_S = 5  # enough for both phases; the phase switch waits on the store, not a timer


def _count(db: Path, sql: str) -> int:
    """Reads the live store without touching it (read-only, as another process would)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not created yet
        return 0


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
        deadline = time.monotonic() + 20
        while _count(db, f"SELECT COUNT(*) FROM samples WHERE vital = '{valid_vital}'") < 1:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no sample stored"
            time.sleep(0.05)  # polling another process's file; the wait is on its content
        phase[0] = "no_finger"
        while _count(db, "SELECT COUNT(*) FROM device_events WHERE kind = 'condition' AND "
                         f"code = '{condition}' AND active = 1") < 1:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no condition stored"
            time.sleep(0.05)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
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
    assert {(vital, value) for _, _, vital, value, _ in samples} == {("spo2", spo2), ("pr", pr)}
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
