"""Hearing the watchdog's failure signal in a recording (int16 mono): its two tones carry
most of the power of a window, at a level no room noise reaches."""

from __future__ import annotations

import numpy as np

from monitor.watchdog import TONE_HZ

WINDOW_S = 0.2
MIN_RMS = 300.0  # of 32767: the failure tone plays near 11,000
MIN_SHARE = 0.6  # of the window's power within ±15 Hz of one of the two tones


def failure_tone_in(window: np.ndarray, rate: int) -> bool:
    x = window.astype(np.float64)
    if len(x) < rate * WINDOW_S / 2 or np.sqrt(np.mean(x ** 2)) < MIN_RMS:
        return False
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / rate)
    near = np.zeros_like(power, dtype=bool)
    for hz in TONE_HZ:
        near |= np.abs(freqs - hz) <= 15
    return float(power[near].sum() / power.sum()) >= MIN_SHARE


def heard_windows(samples: np.ndarray, rate: int) -> np.ndarray:
    """For each WINDOW_S window of the recording, whether the failure tone is in it."""
    n = round(rate * WINDOW_S)
    return np.array([failure_tone_in(samples[i:i + n], rate)
                     for i in range(0, len(samples) - n + 1, n)], dtype=bool)
