"""Serial benchmarks (`make bench`): parser throughput against a bare same-run baseline, and
the latency from a byte written to a pty to the sample in the store.

Prints `name: value unit` lines.
"""

from __future__ import annotations

import re
import sqlite3
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

from devices.serial.contec_protocol import ContecParser
from devices.serial.masimo_protocol import MasimoParser
from devices.serial.nonin_protocol import NoninParser
from devices.spec import parse_spec
from monitor.messages import Message, Numerics
from monitor.recorder import RecordingPlan, SessionRecorder
from monitor.store import COMMIT_INTERVAL_S, SessionStore
from tests.devices.serial.serial_frames import PtyDevice, contec_v7, masimo_line, nonin2_packet

CHUNK = 4096  # bytes per feed, about what one read of a busy port returns
REPEATS = 3


def _best(fn: Callable[[], int]) -> tuple[float, int]:
    """Best wall time of a few runs (least disturbed by the machine), and its count."""
    best, count = float("inf"), 0
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - t0)
    return best, count


def _chunks(stream: bytes) -> list[bytes]:
    return [stream[i:i + CHUNK] for i in range(0, len(stream), CHUNK)]


def _feed(make: Callable[[], object], chunks: list[bytes]) -> Callable[[], int]:
    def run() -> int:
        parser = make()
        return sum(len(parser.feed(c)) for c in chunks)  # type: ignore[attr-defined]
    return run


def _masimo_baseline(stream: bytes) -> Callable[[], int]:
    pattern = re.compile(rb"SPO2=(\d+)%? BPM=(\d+)")

    def run() -> int:  # a bare regex over the lines: no tags, validation or state
        return sum(1 for line in stream.split(b"\r\n") if pattern.search(line))
    return run


def _nonin_baseline(stream: bytes) -> Callable[[], int]:
    def run() -> int:  # checksum-checked 5-byte frames, no packet assembly or resync
        n = 0
        for i in range(0, len(stream) - 4, 5):
            if (stream[i] + stream[i + 1] + stream[i + 2] + stream[i + 3]) & 0xFF == stream[i + 4]:
                n += 1
        return n
    return run


def _contec_baseline(stream: bytes) -> Callable[[], int]:
    def run() -> int:  # fixed 9-byte packets with bit7 restored, no framing checks
        n = 0
        for i in range(0, len(stream) - 8, 9):
            hi = stream[i + 1]
            _pr = (stream[i + 5] & 0x7F) | ((hi >> 3) & 1) << 7
            n += 1
        return n
    return run


def test_bench_parser_throughput() -> None:
    cases = {
        "masimo": (b"".join(masimo_line(90 + k % 10, 60 + k % 90) for k in range(8000)),
                   MasimoParser, _masimo_baseline, "lines"),
        "nonin2": (b"".join(nonin2_packet(60 + k % 90, 90 + k % 10) for k in range(1600)),
                   NoninParser, _nonin_baseline, "frames"),
        "contec_v7": (b"".join(contec_v7(pr=60 + k % 90, spo2=90 + k % 10, pleth=k % 128)
                               for k in range(40000)),
                      ContecParser, _contec_baseline, "packets"),
    }
    for name, (stream, make, baseline, unit) in cases.items():
        chunks = _chunks(stream)
        t, out = _best(_feed(make, chunks))
        parser = make()
        for c in chunks:
            parser.feed(c)
        frames = parser.frames  # wire frames (Nonin: 25 per packet it returns)
        assert frames > 0 and out > 0
        t_base, base_frames = _best(baseline(stream))
        assert base_frames == frames
        print(f"parser_{name}: {frames / t:.0f} {unit}/s")
        print(f"parser_{name}_bytes: {len(stream) / t / 1e6:.1f} MB/s")
        print(f"parser_{name}_baseline: {base_frames / t_base:.0f} {unit}/s")
        print(f"parser_{name}_vs_baseline: {t_base / t:.2f} ratio")


def _raw_pty_latency(n: int) -> list[float]:
    """Baseline: a thread blocked in os.read on the pty slave, woken by a write."""
    import os
    import tty
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    seen: list[float] = []
    ready = threading.Semaphore(0)

    def reader() -> None:
        for _ in range(n):
            os.read(slave, 4096)
            seen.append(time.perf_counter())
            ready.release()
    thread = threading.Thread(target=reader)
    thread.start()
    out = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            os.write(master, masimo_line(97, 70))
            assert ready.acquire(timeout=5)
            out.append(seen[-1] - t0)
    finally:
        thread.join(5)
        os.close(master)
        os.close(slave)
    return out


def test_bench_pty_to_store_latency(tmp_path: Path) -> None:
    n = 60
    dev = PtyDevice()
    db = tmp_path / "bench.sqlite3"
    dispatched: dict[int, float] = {}
    got = threading.Condition()

    def sink(msg: Message) -> None:
        if isinstance(msg, Numerics) and msg.get("pr") is not None:
            with got:
                dispatched[int(msg.get("pr") or 0)] = time.perf_counter()
                got.notify_all()

    store = SessionStore(db)
    plan = RecordingPlan((parse_spec(f"masimo:{dev.path}"),), duration_s=600)
    recorder = SessionRecorder(store, plan, sinks=[sink])
    reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    to_dispatch: list[float] = []
    to_store: list[float] = []
    try:
        recorder.start()
        # the driver connects once it has read a first line
        dev.write(masimo_line(97, 20))
        with got:
            deadline = time.monotonic() + 10
            while 20 not in dispatched:
                while not got.wait(0.05) and 20 not in dispatched:
                    dev.write(masimo_line(97, 20))
                    assert time.monotonic() < deadline, "driver never connected"
        pause = threading.Event()
        for k in range(n):
            # The device's own timing, spread evenly over the store's 0.25 s commit cycle so
            # that writes do not fall into lock-step with it.
            pause.wait((k * 0.6180339887) % 1.0 * 0.25)
            pr = 100 + k
            t0 = time.perf_counter()
            dev.write(masimo_line(97, pr))
            with got:
                assert got.wait_for(lambda pr=pr: pr in dispatched, timeout=5)
            to_dispatch.append(dispatched[pr] - t0)
            deadline = time.monotonic() + 5
            while not reader.execute("SELECT 1 FROM samples WHERE vital = 'pr' AND value = ?",
                                     (float(pr),)).fetchone():
                assert time.monotonic() < deadline, "sample never stored"
                time.sleep(0.0005)  # polling the file as an outside reader would
            to_store.append(time.perf_counter() - t0)
    finally:
        reader.close()
        recorder.stop()
        store.close()
        dev.unplug()

    def pct(xs: list[float], q: float) -> float:
        xs = sorted(xs)
        return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))] * 1e3

    raw = _raw_pty_latency(200)
    print(f"latency_pty_to_driver_median: {statistics.median(to_dispatch) * 1e3:.2f} ms")
    print(f"latency_pty_to_driver_p99: {pct(to_dispatch, 0.99):.2f} ms")
    print(f"latency_pty_raw_read_baseline_median: {statistics.median(raw) * 1e3:.2f} ms")
    print(f"latency_driver_vs_raw_read: "
          f"{statistics.median(to_dispatch) / statistics.median(raw):.1f} ratio")
    print(f"latency_pty_to_store_median: {statistics.median(to_store) * 1e3:.1f} ms")
    print(f"latency_pty_to_store_p99: {pct(to_store, 0.99):.1f} ms")
    print(f"latency_store_baseline_commit_interval: {COMMIT_INTERVAL_S * 1e3:.0f} ms")
    print(f"latency_store_vs_commit_interval: "
          f"{statistics.median(to_store) * 1e3 / (COMMIT_INTERVAL_S * 1e3):.2f} ratio")
