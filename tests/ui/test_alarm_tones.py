"""IEC 60601-1-8 burst timing and synthesis: pure functions, no Qt application."""

from __future__ import annotations

import numpy as np
import pytest

from alarms.model import Priority
from ui.alarm_tones import PATTERNS, SAMPLE_RATE, BurstScheduler, burst_pcm
from ui.flash import flash_on

# Table 3: pulses per burst and the inter-burst interval range (s).
TABLE_3 = {Priority.HIGH: (10, 2.5, 15.0), Priority.MEDIUM: (3, 2.5, 30.0),
           Priority.LOW: (1, 15.0, float("inf"))}


@pytest.mark.parametrize("priority", list(Priority))
def test_bursts_follow_table_3(priority):
    pattern = PATTERNS[priority]
    pulses, lo, hi = TABLE_3[priority]
    assert len(pattern.pulses) == pulses
    assert lo <= pattern.inter_burst_s <= hi
    assert 150 <= pattern.fundamental_hz <= 1000
    onsets = [o for o, _ in pattern.pulses]
    assert onsets == sorted(onsets)
    for (o1, d1), (o2, _) in zip(pattern.pulses, pattern.pulses[1:], strict=False):
        assert o2 >= o1 + d1  # pulses never overlap


@pytest.mark.parametrize("priority", list(Priority))
def test_pcm_has_sound_in_pulses_and_silence_between(priority):
    pattern = PATTERNS[priority]
    pcm = burst_pcm(priority)
    assert pcm.dtype == np.int16
    assert len(pcm) == round(pattern.burst_s * SAMPLE_RATE)
    for onset, duration in pattern.pulses:
        mid = round((onset + duration / 2) * SAMPLE_RATE)
        window = pcm[mid - 100: mid + 100].astype(np.int32)
        assert np.abs(window).max() > 8000
    for (o1, d1), (o2, _) in zip(pattern.pulses, pattern.pulses[1:], strict=False):
        gap = pcm[round((o1 + d1) * SAMPLE_RATE) + 1: round(o2 * SAMPLE_RATE) - 1]
        assert np.abs(gap.astype(np.int32)).max() == 0
    assert abs(int(pcm[0])) < 200 and abs(int(pcm[-1])) < 200  # ramps: no click


def test_high_burst_is_five_plus_five():
    onsets = [o for o, _ in PATTERNS[Priority.HIGH].pulses]
    gaps = np.diff(onsets)
    assert gaps[4] > 1.5 * gaps[0]  # the pause between the two groups of five
    assert np.allclose(np.delete(gaps, 4), gaps[0])


def test_scheduler_repeats_escalates_and_stops():
    s = BurstScheduler()
    assert s.update(Priority.MEDIUM, 0.0) is Priority.MEDIUM
    assert s.update(Priority.MEDIUM, 14.9) is None
    assert s.update(Priority.HIGH, 15.0) is Priority.HIGH  # a higher priority starts at once
    assert s.update(Priority.HIGH, 19.9) is None
    assert s.update(Priority.HIGH, 20.0) is Priority.HIGH
    assert s.update(None, 21.0) is None
    assert s.update(None, 60.0) is None
    assert s.update(Priority.LOW, 61.0) is Priority.LOW
    assert s.update(Priority.LOW, 90.9) is None
    assert s.update(Priority.LOW, 91.0) is Priority.LOW


def test_scheduler_keeps_its_rhythm_when_ticks_come_late():
    """The dashboard asks every 50 ms, so a burst starts up to a tick late; the next one is
    still due a period after the previous was due (5.0, 10.0, 15.0), not after the late tick."""
    s = BurstScheduler()
    assert s.update(Priority.HIGH, 0.0) is Priority.HIGH
    assert s.update(Priority.HIGH, 5.04) is Priority.HIGH
    assert s.update(Priority.HIGH, 9.99) is None
    assert s.update(Priority.HIGH, 10.0) is Priority.HIGH
    assert s.update(Priority.HIGH, 15.3) is Priority.HIGH
    assert s.update(Priority.HIGH, 19.99) is None
    assert s.update(Priority.HIGH, 20.0) is Priority.HIGH
    assert s.update(Priority.HIGH, 31.0) is Priority.HIGH  # far behind: from now, no burst run
    assert s.update(Priority.HIGH, 35.99) is None
    assert s.update(Priority.HIGH, 36.0) is Priority.HIGH


@pytest.mark.parametrize(("priority", "hz"), [(Priority.HIGH, 2.0), (Priority.MEDIUM, 0.5)])
def test_flash_frequency_and_duty(priority, hz):
    t = np.arange(0, 10, 0.001)
    lit = np.array([flash_on(priority, x) for x in t])
    rises = np.count_nonzero(lit[1:] & ~lit[:-1])
    assert rises == pytest.approx(10 * hz, abs=1)
    assert lit.mean() == pytest.approx(0.5, abs=0.01)
    assert all(flash_on(Priority.LOW, x) for x in t[::97])
