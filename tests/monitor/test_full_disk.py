"""A real "no space left on device" while `main.py record` records: a small tmpfs the test
mounts (root only), filled to the last byte so that SQLite's next write fails with ENOSPC.
The storage-failure alarm must show while the disk is full, and once space returns every
value the replay sent must be in the store, once."""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from monitor.session import SessionStatus
from monitor.store import SessionStore
from tests.helpers.dashboard import Dashboard
from tests.helpers.paths import REPO
from tests.helpers.processes import OutputLines, end_process
from tests.store_probe import wait_count

pytestmark = pytest.mark.slow

ROWS = 400  # a replay of 400 s: 8 s at --speed 50, time enough to fill and free the disk
SPEED = "50"
WAIT_S = 20.0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs of the test's own, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root (CI runs the suite as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700",
                              "vigil-full-disk", str(mount)], capture_output=True, text=True)
    if mounted.returncode != 0:  # root without CAP_SYS_ADMIN, e.g. an unprivileged container
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


def fill(path: Path) -> int:
    """Writes `path` until the file system has not one byte left; returns the bytes written."""
    written = 0
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    try:
        for chunk in (1 << 16, 1 << 12, 1 << 8, 1):
            block = b"\xff" * chunk
            while True:
                try:
                    written += os.write(fd, block)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return written


def _replay_file(path: Path) -> Counter[tuple[float, str, float]]:
    """A vitals CSV, one row a second; returns what it holds as (t_s, vital, value)."""
    expected: Counter[tuple[float, str, float]] = Counter()
    lines = ["time_s,hr,spo2"]
    for i in range(ROWS):
        hr, spo2 = 60 + i % 40, 92 + i % 8
        lines.append(f"{i},{hr},{spo2}")
        expected.update([(float(i), "hr", float(hr)), (float(i), "spo2", float(spo2))])
    path.write_text("\n".join(lines) + "\n")
    return expected


def test_full_disk_during_record_raises_the_alarm_and_loses_nothing(
        small_disk: Path, tmp_path: Path) -> None:
    db = small_disk / "vigil.sqlite3"
    csv = tmp_path / "vitals.csv"  # the recording is read from elsewhere
    expected = _replay_file(csv)
    filler = small_disk / "filler"
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "record", "--device", f"replay:{csv}",
         "--duration", str(ROWS), "--speed", SPEED, "--db", str(db), "--live"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out = OutputLines(proc.stdout, WAIT_S)
        out.wait_for("0:00:05")  # recording: five seconds of session time are in
        assert fill(filler) > 0
        started = out.wait_for("storage failure: data kept in memory")
        assert started.startswith("alarm: start") and "(technical)" in started, started
        with pytest.raises(OSError) as full:  # the disk really is full
            (small_disk / "probe").write_bytes(b"x" * 4096)
        assert full.value.errno == errno.ENOSPC
        out.wait_for("0:01:40")  # a while longer on a full disk: values pile up in memory
        filler.unlink()  # space returns
        assert out.wait_for("storage failure: data kept in memory").startswith("alarm: end")
    finally:
        _, err = end_process(proc, None, WAIT_S)  # the replay ends by itself
    assert proc.returncode == 0, err
    # The process said why, on stderr, while it happened, and that it recovered.
    assert "cannot write to the session store" in err and "disk is full" in err, err
    assert "writing to the session store works again" in err
    with SessionStore(db, read_only=True) as store:
        [session] = store.list_sessions()
        stored = Counter((t, vital, value)
                         for t, _w, vital, value, _src, _f in store.iter_samples(session.id))
        alarms = [str(e.event) for e in store.alarm_events(session.id)
                  if e.alarm is not None and e.alarm.key.startswith("storage-failure")]
    assert session.status is SessionStatus.COMPLETED
    assert stored == expected  # every value the replay sent, each once
    # The storage-failure episode itself reached the alarm log once there was room.
    assert alarms[0] == "start" and alarms[-1] == "end" and alarms.count("start") == 1, alarms


def test_full_disk_under_the_dashboard_raises_the_alarm_and_loses_no_heart_rate(
        small_disk: Path, tmp_path: Path) -> None:
    """The same under `make run`'s dashboard on the simulator (one heart rate a second)."""
    db = small_disk / "vigil.sqlite3"
    filler = small_disk / "filler"
    dash = Dashboard(tmp_path, db=db)
    try:
        dash.wait_for("recording session 1")
        wait_count(db, "SELECT COUNT(*) FROM samples WHERE vital = 'hr'", dash.proc,
                   "heart rates", need=3, timeout=WAIT_S)
        assert fill(filler) > 0
        said = dash.said(re.compile(r"(.*cannot write to the session store.*)"), WAIT_S)
        assert "disk is full" in said
        with pytest.raises(subprocess.TimeoutExpired):  # it keeps running on a full disk
            dash.proc.wait(timeout=3)
        freed = time.time()
        filler.unlink()
        dash.wait_for("writing to the session store works again", timeout=WAIT_S)
        wait_count(db, f"SELECT COUNT(*) FROM samples WHERE vital = 'hr' AND t_wall > {freed}",
                   dash.proc, "heart rates after space returned", need=2, timeout=WAIT_S)
    finally:
        dash.end(signal.SIGINT, WAIT_S)
    proc = dash.proc
    assert proc.returncode == 0
    with SessionStore(db, read_only=True) as store:
        [session] = store.list_sessions()
        t, _ = store.sample_arrays(session.id, "hr")
        alarms = [str(e.event) for e in store.alarm_events(session.id)
                  if e.alarm is not None and e.alarm.key.startswith("storage-failure")]
    assert session.status is SessionStatus.INTERRUPTED  # Ctrl+C: only a discharge completes
    # One heart rate a second from start to end, through the full disk: none lost, none twice.
    assert len(t) >= 8 and np.all(np.diff(t) > 0.5) and np.all(np.diff(t) < 1.5), np.diff(t)
    assert alarms[0] == "start" and alarms[-1] == "end" and alarms.count("start") == 1, alarms
