"""The display buffers, without Qt: ring wrap and sweep, trends, gaps, phases, episodes."""

from __future__ import annotations

import math
import threading
from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from alarms.model import (
    AlarmEvent,
    AlarmEventKind,
    AlarmKind,
    AlarmState,
    AlarmStatus,
    Priority,
)
from monitor.buffers import PlethRing, SessionTrends
from monitor.messages import Numerics, TimelineMark, Waveform


def test_ring_reads_the_newest_samples_oldest_first_across_the_wrap():
    ring = PlethRing(capacity=8)
    ring.write(np.arange(6, dtype=np.float32), 0.0, 100.0)
    ring.write(np.arange(6, 11, dtype=np.float32), 0.06, 100.0)
    values, written, rate, last = ring.read(8)
    assert written == 11 and rate == 100.0
    assert values.tolist() == [3, 4, 5, 6, 7, 8, 9, 10]
    assert math.isclose(last, 0.11)


def test_ring_marks_never_written_samples_as_nan():
    ring = PlethRing(capacity=8)
    ring.write(np.ones(3, dtype=np.float32), 0.0, 100.0)
    values, *_ = ring.read(5)
    assert np.isnan(values[:2]).all() and (values[2:] == 1).all()


@settings(max_examples=60, deadline=None)
@given(chunks=st.lists(st.integers(1, 40), min_size=1, max_size=30),
       width=st.integers(10, 50), gap=st.integers(0, 5))
def test_sweep_puts_sample_i_in_slot_i_mod_width_with_a_gap_ahead(chunks, width, gap):
    ring = PlethRing(capacity=64)
    i = 0
    for n in chunks:
        ring.write(np.arange(i, i + n, dtype=np.float32), i / 100, 100.0)
        i += n
    y, head = ring.sweep(width, gap)
    assert head == i % width
    gap_slots = {(head + k) % width for k in range(gap)}
    for slot in range(width):
        if slot in gap_slots:
            assert np.isnan(y[slot])
            continue
        # the newest sample index that lands in this slot
        sample = i - 1 - ((i - 1 - slot) % width)
        if sample < 0:
            assert np.isnan(y[slot])
        else:
            assert y[slot] == sample


def test_ring_sink_takes_only_its_waveform():
    ring = PlethRing(capacity=16)
    ring(Waveform("sim", 0.0, 0.0, "other", 100.0, np.ones(4)))
    ring(Numerics("sim", 0.0, 0.0, (("hr", 70.0),)))
    assert ring.read(1)[1] == 0
    ring(Waveform("sim", 0.0, 0.0, "pleth", 100.0, np.ones(4)))
    assert ring.read(1)[1] == 4


def test_trends_store_artefacts_as_nan_and_break_long_gaps():
    trends = SessionTrends(hours=0.01)
    trends(Numerics("sim", 0.0, 0.0, (("hr", 70.0), ("spo2", 97.0))))
    trends(Numerics("sim", 1.0, 1.0, (("hr", 0.0),)))  # implausible: a placeholder
    trends(Numerics("sim", 100.0, 100.0, (("hr", 72.0),)))  # 99 s later: the line breaks
    t, v = trends.series("hr")
    assert t.tolist() == [0.0, 1.0, 31.0, 100.0]
    assert v[0] == 70 and np.isnan(v[1]) and np.isnan(v[2]) and v[3] == 72
    assert not v.flags.writeable


def test_trends_keep_a_value_the_device_vouched_for():
    trends = SessionTrends(hours=0.01)
    trends(Numerics("mp", 0.0, 0.0, (("hr", 0.0),), ("hr",)))  # a monitor's valid HR 0 (VF)
    trends(Numerics("file", 1.0, 1.0, (("hr", 0.0),)))  # the same 0 unflagged: an artefact
    t, v = trends.series("hr")
    assert t.tolist() == [0.0, 1.0] and v[0] == 0 and np.isnan(v[1])


def test_trend_views_survive_growth_and_concurrent_appends():
    trends = SessionTrends(hours=0.0)  # tiny: it must grow many times
    stop = threading.Event()

    def writer() -> None:
        k = 0
        while not stop.is_set() and k < 20_000:
            trends.add_numerics(Numerics("sim", k, float(k), (("hr", 60.0 + k % 50),)))
            k += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(200):
            t, v = trends.series("hr")
            assert len(t) == len(v)
            if len(t) > 1:
                assert (np.diff(t) == 1).all()
                assert (v == 60 + (t % 50)).all()
    finally:
        stop.set()
        thread.join()


def test_phases_follow_the_dose_marks():
    trends = SessionTrends()
    assert [p.name for p in trends.phases(300.0)] == ["baseline"]
    trends(TimelineMark("sim", 0.0, 600.0, "dose_start",
                        (("route", "iv"), ("infusion_min", 40.0))))
    trends(TimelineMark("sim", 0.0, 3000.0, "dose_stop", ()))
    phases = {p.name: (p.start_s, p.end_s) for p in trends.phases(9000.0)}
    assert phases["baseline"] == (0.0, 600.0)
    assert phases["dosing"] == (600.0, 3000.0)
    assert phases["peak"] == (600.0 + 25 * 60, 600.0 + 50 * 60)
    assert phases["recovery"][1] == 9000.0
    assert trends.dose_start_s() == 600.0


def _alarm(key: str, priority: Priority, state: AlarmState = AlarmState.ACTIVE,
           onset: float = 10.0) -> AlarmStatus:
    return AlarmStatus(key, AlarmKind.PHYSIOLOGICAL, priority, "spo2", "SpO2 LOW", "", state,
                       onset, onset + 2.0, None, None, False, source="ox")


def _event(t: float, kind: AlarmEventKind, alarm: AlarmStatus | None) -> AlarmEvent:
    return AlarmEvent(t, 1000.0 + t, kind, alarm)


def test_alarm_episodes_open_escalate_close_and_recur():
    """The trend's episodes are the engine's events folded: start, a higher tier, the
    end (the alarm latches: its condition is over), and the next one."""
    trends = SessionTrends()
    before = trends.revision
    trends.alarm_event(_event(12.0, AlarmEventKind.START, _alarm("spo2-low", Priority.MEDIUM)))
    assert trends.revision != before
    trends.alarm_event(_event(20.0, AlarmEventKind.PRIORITY, _alarm("spo2-low", Priority.HIGH)))
    trends.alarm_event(_event(25.0, AlarmEventKind.AUDIO_PAUSE, None))  # not an episode
    trends.alarm_event(_event(30.0, AlarmEventKind.END,
                              _alarm("spo2-low", Priority.HIGH, AlarmState.LATCHED)))
    trends.alarm_event(_event(50.0, AlarmEventKind.START,
                              _alarm("spo2-low", Priority.MEDIUM, onset=48.0)))
    eps = trends.episodes()
    assert [(e.highest, e.onset_t_s, e.end_t_s) for e in eps] == [
        (Priority.HIGH, 10.0, 30.0), (Priority.MEDIUM, 48.0, None)]
    assert trends.episode_vitals(eps[0]) == frozenset({"spo2"})


def test_a_device_episode_concerns_the_vitals_that_device_sent():
    trends = SessionTrends()
    trends(Numerics("ox", 0.0, 0.0, (("spo2", 97.0), ("pr", 72.0))))
    trends(Numerics("cap", 0.0, 0.0, (("rr", 14.0),)))
    link = AlarmStatus("link-lost:ox", AlarmKind.TECHNICAL, Priority.MEDIUM, None,
                       "ox: device disconnected", "", AlarmState.ACTIVE, 5.0, 5.0, None, None,
                       False, source="ox")
    audio = replace(link, key="audio-unavailable:vigil", source=None)
    for a in (link, audio):
        trends.alarm_event(_event(5.0, AlarmEventKind.START, a))
    by_key = {e.key: trends.episode_vitals(e) for e in trends.episodes()}
    assert by_key == {"link-lost:ox": frozenset({"spo2", "pr"}),
                      "audio-unavailable:vigil": frozenset()}
