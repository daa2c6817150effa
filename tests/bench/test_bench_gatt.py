"""GATT decoding speed, against a bare struct.unpack of the same bytes in the same run.

A BLE device sends a few values a second, so any rate in the tens of thousands per second
is ample; the ratio shows what the length checks and special-value handling cost."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

from devices.ble import gatt

N = 100_000

CASES: tuple[tuple[str, Callable[[bytes], object], bytes, str], ...] = (
    ("heart_rate", gatt.parse_heart_rate_measurement, bytes.fromhex("16400004"), "<BBH"),
    ("blood_pressure", gatt.parse_blood_pressure_measurement,
     bytes.fromhex("1E780050005D00EA07030E091E004000010000"), "<BHHHHBBBBBHBH"),
    ("plx_continuous", gatt.parse_plx_continuous, bytes.fromhex("0C6100480000200880 00"
                                                                .replace(" ", "")), "<BHHH3s"),
    ("plx_spot_check", gatt.parse_plx_spot_check, bytes.fromhex("01D2F34B00EA07030E091E00"),
     "<BHHHBBBBB"),
)


def _rate(fn: Callable[[bytes], object], data: bytes) -> float:
    start = time.perf_counter()
    for _ in range(N):
        fn(data)
    return N / (time.perf_counter() - start)


def test_bench_gatt_parsers() -> None:
    for name, parse, data, fmt in CASES:
        unpack = struct.Struct(fmt).unpack_from
        baseline = _rate(unpack, data)
        rate = _rate(parse, data)
        print(f"gatt_{name}_baseline_struct: {baseline:.0f} values/s")
        print(f"gatt_{name}: {rate:.0f} values/s")
        print(f"gatt_{name}_vs_struct: {rate / baseline:.3f} ratio")
        assert rate > 10_000  # far above any device's rate; fails only if something is wrong
