"""IEC 60601-1-8 auditory alarm signals as pure functions: burst timing and the PCM samples.

Pulse counts per burst follow Table 3 (high 10, medium 3, low 1); the repeat periods are
the clinical reference's design choice (§11.3: high 5 + 5 pulses every 5 s, medium 3 pulses
every 15 s, low 1 pulse every 30 s), which keeps the inter-burst interval (end of one burst
to the start of the next) inside Table 3's ranges. Each pulse is a fundamental between 150
and 1000 Hz with four harmonics and short rise and fall ramps (Table 4's shape).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alarms.model import Priority

SAMPLE_RATE = 48_000


@dataclass(frozen=True, slots=True)
class BurstPattern:
    priority: Priority
    pulses: tuple[tuple[float, float], ...]  # (onset s from burst start, duration s)
    period_s: float  # burst start to the next burst's start
    fundamental_hz: float

    @property
    def burst_s(self) -> float:
        onset, duration = self.pulses[-1]
        return onset + duration

    @property
    def inter_burst_s(self) -> float:
        """Table 3's interval: end of the last pulse to the start of the next burst."""
        return self.period_s - self.burst_s


def _group(start: float, count: int, on: float, off: float) -> list[tuple[float, float]]:
    return [(round(start + i * (on + off), 6), on) for i in range(count)]


def _high() -> tuple[tuple[float, float], ...]:
    first = _group(0.0, 5, 0.10, 0.08)  # 5 pulses: 100 ms on, 80 ms off
    second_start = first[-1][0] + first[-1][1] + 0.35
    return tuple(first + _group(second_start, 5, 0.10, 0.08))


PATTERNS: dict[Priority, BurstPattern] = {
    Priority.HIGH: BurstPattern(Priority.HIGH, _high(), 5.0, 660.0),
    Priority.MEDIUM: BurstPattern(Priority.MEDIUM, tuple(_group(0.0, 3, 0.18, 0.10)), 15.0,
                                  523.0),
    Priority.LOW: BurstPattern(Priority.LOW, ((0.0, 0.25),), 30.0, 440.0),
}


def burst_pcm(priority: Priority, rate: int = SAMPLE_RATE, volume: float = 0.5) -> np.ndarray:
    """One burst as mono int16 samples: silence between pulses, ramps to avoid clicks."""
    pattern = PATTERNS[priority]
    out = np.zeros(round(pattern.burst_s * rate), dtype=np.float64)
    f0 = pattern.fundamental_hz
    for onset, duration in pattern.pulses:
        n = round(duration * rate)
        t = np.arange(n) / rate
        tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))  # f0 + 4 harmonics
        ramp = max(1, round(0.2 * n))  # rise and fall ~20 % of the pulse
        env = np.ones(n)
        env[:ramp] = np.linspace(0.0, 1.0, ramp)
        env[-ramp:] = np.linspace(1.0, 0.0, ramp)
        start = round(onset * rate)
        out[start:start + n] += tone * env
    peak = float(np.max(np.abs(out))) or 1.0
    return (out / peak * volume * 32767).astype(np.int16)


class BurstScheduler:
    """Decides when a burst starts, from the priority that should sound and the time.

    A higher priority starts at once; the same priority repeats every pattern period; when
    nothing should sound no new burst starts (the one playing completes, as 6.10 asks).
    """

    def __init__(self) -> None:
        self._priority: Priority | None = None
        self._next_s = 0.0

    @property
    def priority(self) -> Priority | None:
        return self._priority

    def update(self, sounding: Priority | None, now_s: float) -> Priority | None:
        """The priority of a burst to start now, or None."""
        if sounding is None:
            self._priority = None
            return None
        if self._priority is None or sounding > self._priority or now_s >= self._next_s:
            period = PATTERNS[sounding].period_s
            on_time = sounding == self._priority and now_s < self._next_s + period
            # a repeat keeps its rhythm from when it was due, not from the (later) tick
            self._next_s = (self._next_s if on_time else now_s) + period
            self._priority = sounding
            return sounding
        if sounding < self._priority:  # the higher one ended: the lower one keeps its own rhythm
            self._priority = sounding
        return None
