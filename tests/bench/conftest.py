"""Benchmarks: run by `make bench` only. Each prints `name: value unit` lines."""

from __future__ import annotations

import time
from collections.abc import Callable


def report(name: str, value: float, unit: str) -> None:
    print(f"{name}: {value:.6g} {unit}", flush=True)


def best_of(fn: Callable[[], object], runs: int = 3) -> float:
    """The fastest of `runs` timings of `fn` (seconds): the least disturbed by a shared
    machine."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best
