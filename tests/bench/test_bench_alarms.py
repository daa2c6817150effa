"""Alarm engine benchmarks: batch (numpy) against a plain-Python loop, and the streaming
cost per sample, on an 8-hour session of all numerics (1 Hz HR/PR/SpO2/RR, NIBP every
5 min) with desaturations, bradycardia, probe-off zeros and invalid NIBP readings."""

from __future__ import annotations

import math
import time

import numpy as np

from alarms.batch import Recording, evaluate
from alarms.engine import AlarmEngine
from alarms.presets import PRESETS
from alarms.rules import tier_groups
from monitor.buffers import SessionTrends
from monitor.live import LiveState
from monitor.messages import Numerics, TimelineMark
from monitor.validity import is_measurement
from monitor.vitals import NIBP_KEYS, VITALS

PRESET = PRESETS["iv-ketamine"]
# The reference loop knows single rules; tiered conditions (SpO2 low/critical, BP high/very
# high) are one alarm each, checked against the streaming engine by the equivalence test.
SINGLE = {g[0].id for g in tier_groups(PRESET.limits) if len(g) == 1}
HOURS = 8
DOSE_S = 600.0


def session(seed: int = 1) -> Recording:
    rng = np.random.default_rng(seed)
    n = HOURS * 3600
    t = np.arange(n, dtype=float)
    walk = lambda step: np.cumsum(rng.normal(0, step, n)) * 0.02  # noqa: E731
    hr = 72 + walk(1.0) + rng.normal(0, 1.5, n)
    spo2 = 97 + rng.normal(0, 0.8, n)
    rr = 14 + rng.normal(0, 1.0, n)
    for start in rng.integers(0, n - 600, 12):  # desaturations and bradycardias
        spo2[start:start + int(rng.integers(5, 240))] -= rng.uniform(5, 15)
        hr[start + 3000:start + 3000 + int(rng.integers(5, 200))] = 45
    for start in rng.integers(0, n - 300, 20):  # probe off: the monitor stores 0
        spo2[start:start + int(rng.integers(3, 120))] = 0
    cols = {"hr": np.round(hr), "pr": np.round(hr + rng.normal(0, 1, n)),
            "spo2": np.minimum(100, np.round(spo2)), "rr": np.round(rr)}
    for k in ("sbp", "dbp", "map"):
        cols[k] = np.full(n, np.nan)
    cuff = np.arange(30, n, 300)
    sbp = 125 + 40 * np.exp(-((cuff - 3000) / 1500) ** 2) + rng.normal(0, 8, len(cuff))
    dbp = 80 + 25 * np.exp(-((cuff - 3000) / 1500) ** 2) + rng.normal(0, 5, len(cuff))
    cols["sbp"][cuff], cols["dbp"][cuff] = np.round(sbp), np.round(dbp)
    cols["map"][cuff] = np.round(dbp + (sbp - dbp) / 3)
    cols["map"][cuff[::17]] = 0  # a few invalid readings
    return Recording(t, cols, "bench")


Ep = tuple[str, float, float, float | None, float | None, float | None]


def _close(out: list[Ep], key: str, delay: float, esc: float | None, onset: float,
           end: float | None, until: float, worst: float | None) -> None:
    stop = until if end is None else end
    if delay and not onset + delay < stop:
        return
    signal = onset + delay
    escalated = signal + esc if esc is not None and signal + esc < stop else None
    out.append((key, onset, signal, end, worst, escalated))


def _close_all(out: list[Ep], rules: list, open_: dict[int, list[float]], src: str,
               end: float, until: float) -> None:
    for i, (onset, worst) in open_.items():
        r = rules[i]
        _close(out, f"{r.id}:{src}", r.delay_s, r.escalate_after_s, onset, end, until, worst)
    open_.clear()


def reference_loop(rec: Recording) -> list[Ep]:
    """Plain Python, one sample at a time, the same semantics as the engines for the
    continuous vitals (limit rules with delay, hysteresis and escalation; artefacts;
    "not current") and the fixed NIBP limits. (key, onset, signal, end, worst, escalated)."""
    out: list[Ep] = []
    src, until = rec.source, float(rec.t[-1])
    times = rec.t.tolist()
    for vital in ("hr", "pr", "spo2", "rr"):
        lo, hi = VITALS[vital].plausible
        rules = [r for r in PRESET.limits
                 if r.vital == vital and r.fallback_for is None and r.id in SINGLE]
        art = next((r for r in PRESET.artefacts if r.vital == vital), None)
        cur = next((r for r in PRESET.currency if r.vital == vital), None)
        stale_after = cur.timeout_s if cur else VITALS[vital].stale_after_s
        open_: dict[int, list[float]] = {}  # rule index -> [onset, worst]
        art_onset = cur_onset = last_valid = None

        for t, x in zip(times, rec.values[vital].tolist(), strict=True):
            if x != x:  # NaN: no value in this row
                continue
            if last_valid is not None and cur_onset is None and t - last_valid > stale_after:
                cur_onset = last_valid + stale_after
                _close_all(out, rules, open_, src, cur_onset, until)
            if not lo <= x <= hi:
                _close_all(out, rules, open_, src, t, until)
                if art_onset is None:
                    art_onset = t
                continue
            if art_onset is not None and art is not None:
                _close(out, f"{art.id}:{src}", art.delay_s, art.escalate_after_s, art_onset,
                       t, until, None)
            art_onset = None
            if cur_onset is not None and cur is not None:
                _close(out, f"{cur.id}:{src}", 0, None, cur_onset, t, until, None)
            cur_onset, last_valid = None, t
            for i, r in enumerate(rules):
                if i in open_:
                    if r.op.fn(x, r.clear_limit):
                        o = open_[i]
                        o[1] = min(o[1], x) if r.op.low else max(o[1], x)
                    else:
                        onset, worst = open_.pop(i)
                        _close(out, f"{r.id}:{src}", r.delay_s, r.escalate_after_s, onset, t,
                               until, worst)
                elif r.op.fn(x, r.limit):
                    open_[i] = [t, x]
        if last_valid is not None and cur_onset is None and until - last_valid > stale_after:
            cur_onset = last_valid + stale_after
            _close_all(out, rules, open_, src, cur_onset, until)
        for i, (onset, worst) in open_.items():
            r = rules[i]
            _close(out, f"{r.id}:{src}", r.delay_s, r.escalate_after_s, onset, None, until,
                   worst)
        if art_onset is not None and art is not None:
            _close(out, f"{art.id}:{src}", art.delay_s, art.escalate_after_s, art_onset,
                   None, until, None)
        if cur_onset is not None and cur is not None:
            _close(out, f"{cur.id}:{src}", 0, None, cur_onset, None, until, None)
    nibp_rules = [r for r in PRESET.limits
                  if r.vital in NIBP_KEYS and r.when.value == "any" and r.id in SINGLE]
    nopen: dict[int, list[float]] = {}
    cols = [rec.values[k].tolist() for k in NIBP_KEYS]
    for t, s, d, m in zip(times, *cols, strict=True):
        if s != s and d != d and m != m:
            continue
        ok = (s == s and d == d and 40 <= s <= 300 and 15 <= d <= 250 and s > d
              and (m != m or (20 <= m <= 260 and d <= m <= s)))
        reading = {"sbp": s, "dbp": d, "map": m}
        for i, r in enumerate(nibp_rules):
            x = reading[r.vital]
            if ok and x == x and r.op.fn(x, r.limit):
                if i in nopen:
                    o = nopen[i]
                    o[1] = min(o[1], x) if r.op.low else max(o[1], x)
                else:
                    nopen[i] = [t, x]
            elif i in nopen:
                onset, worst = nopen.pop(i)
                _close(out, f"{r.id}:{src}", 0, r.escalate_after_s, onset, t, until, worst)
    for i, (onset, worst) in nopen.items():
        r = nibp_rules[i]
        _close(out, f"{r.id}:{src}", 0, r.escalate_after_s, onset, None, until, worst)
    return sorted(out, key=lambda e: (e[2], e[0]))


def _best(fn, repeat: int) -> tuple[float, object]:
    best, result = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def test_bench_batch_against_python_loop() -> None:
    rec = session()
    # Interleaved, best of each: both see the same machine load.
    t_batch = t_loop = math.inf
    for _ in range(5):
        tb, episodes = _best(lambda: evaluate(rec, PRESET, dose_start_t_s=DOSE_S,
                                              ended=True), 10)
        tl, ref = _best(lambda: reference_loop(rec), 1)
        t_batch, t_loop = min(t_batch, tb), min(t_loop, tl)
    keys = {k for k, *_ in ref}
    mine = [(e.key, e.onset_t_s, e.signal_t_s, e.end_t_s, e.worst_value, e.escalated_t_s)
            for e in episodes if e.key in keys]
    assert mine == ref and len(ref) > 10, "the reference loop checks the batch result"
    samples = sum(int(np.count_nonzero(~np.isnan(c))) for c in rec.values.values())
    print(f"\nalarms_batch_8h_samples: {samples} samples")
    print(f"alarms_batch_8h_episodes: {len(episodes)} episodes")
    print(f"alarms_batch_8h: {t_batch * 1e3:.2f} ms")
    print(f"alarms_python_reference_loop_8h: {t_loop * 1e3:.1f} ms")
    print(f"alarms_python_reference_loop_episodes: {len(ref)} episodes")
    print(f"alarms_batch_vs_python_loop: {t_loop / t_batch:.1f} ratio")


def test_bench_streaming_cost_per_sample() -> None:
    rec = session()
    names = list(rec.values)
    cols = [rec.values[k] for k in names]
    messages = []
    for i, t in enumerate(rec.t.tolist()):
        values = tuple((k, float(c[i])) for k, c in zip(names, cols, strict=True)
                       if not math.isnan(c[i]))
        messages.append(Numerics("bench", t, t, values))
    samples = sum(len(m.values) for m in messages)

    def run() -> AlarmEngine:
        engine = AlarmEngine(PRESET, wall0=0.0)
        engine.add_listener(lambda _e: None)
        dosed = False
        for m in messages:
            if not dosed and m.t_s >= DOSE_S:
                engine(TimelineMark("bench", DOSE_S, DOSE_S, "dose_start"))
                dosed = True
            engine(m)
        engine.end_session(float(rec.t[-1]))
        return engine

    elapsed, _ = _best(run, 3)
    print(f"\nalarms_streaming_per_sample: {elapsed / samples * 1e6:.2f} us")
    print(f"alarms_streaming_per_message: {elapsed / len(messages) * 1e6:.2f} us")
    print(f"alarms_streaming_8h: {elapsed * 1e3:.0f} ms")
    print(f"alarms_streaming_vs_real_time: {HOURS * 3600 / elapsed:.0f} ratio")


def test_bench_sample_path_judged_once() -> None:
    """A message's whole way through the device thread's consumers (made, then the engine,
    the live state and the trend buffers), with the validity verdict judged once as the
    message is made (`Numerics.measured`), against the same path that also judges each value
    again in each of the three consumers, as they did before."""
    rec = session()
    names = list(rec.values)
    cols = [rec.values[k].tolist() for k in names]
    rows = [(t, tuple((k, c[i]) for k, c in zip(names, cols, strict=True)
                      if not math.isnan(c[i])))
            for i, t in enumerate(rec.t.tolist())]
    samples = sum(len(v) for _, v in rows)

    def run(rejudge: bool) -> None:
        engine = AlarmEngine(PRESET, wall0=0.0)
        engine.add_listener(lambda _e: None)
        live, trends = LiveState(), SessionTrends(hours=HOURS + 1)
        dosed = False
        for t, values in rows:
            if not dosed and t >= DOSE_S:
                engine(TimelineMark("bench", DOSE_S, DOSE_S, "dose_start"))
                dosed = True
            m = Numerics("bench", t, t, values)
            if rejudge:  # the baseline: engine, live state and buffers each judged again
                for _ in range(3):
                    for k, v in m.values:
                        if k in VITALS:
                            is_measurement(k, v, m.flag(k))
            engine(m)
            live(m)
            trends.add_numerics(m)
        engine.end_session(float(rec.t[-1]))

    once, _ = _best(lambda: run(False), 3)
    thrice, _ = _best(lambda: run(True), 3)
    print(f"\nalarms_sample_path_per_sample: {once / samples * 1e6:.2f} us")
    print(f"alarms_sample_path_judged_per_consumer_per_sample: {thrice / samples * 1e6:.2f} us")
    print(f"alarms_sample_path_judged_once_vs_per_consumer: {thrice / once:.2f} ratio")
