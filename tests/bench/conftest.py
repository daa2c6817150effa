"""Benchmarks: run by `make bench` only. Each prints `name: value unit` lines."""

from __future__ import annotations


def report(name: str, value: float, unit: str) -> None:
    print(f"{name}: {value:.6g} {unit}", flush=True)
