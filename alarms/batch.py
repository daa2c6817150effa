"""Batch alarm evaluation: a whole recording's numeric arrays to alarm episodes, in numpy.

The same semantics as the streaming engine (`alarms.engine`) for everything a recording's
numerics determine: limit rules with delay, hysteresis and escalation, NIBP reading rules
(fixed, pre-dose and relative to the pre-dose baseline), artefacts, "not current", NIBP
overdue and the dose advisories. Device-reported conditions, link states and operator
actions are not in the arrays and stay with the streaming engine. A property test holds the
two to identical episodes.

Each condition is a two-state machine over its events (samples, resets): an event sets it,
clears it or (inside the hysteresis band) holds it; the runs of the set state are found
from the few events that do not clear. Delays and escalations are then comparisons on the
run bounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from alarms.log import Episode
from alarms.model import AlarmKind, Priority
from alarms.presets import Preset
from alarms.rules import When
from monitor.vitals import NIBP_KEYS, VITALS, VitalKind

__all__ = ["Recording", "evaluate"]


@dataclass(frozen=True, slots=True)
class Recording:
    """One source's numerics: row i is one message at `t[i]`; NaN is "no value".

    `t` is non-decreasing. An NIBP reading is a row with any of sbp, dbp, map.
    """

    t: np.ndarray
    values: Mapping[str, np.ndarray]
    source: str = "rec"

    def __post_init__(self) -> None:
        n = len(self.t)
        for key, col in self.values.items():
            if len(col) != n:
                raise ValueError(f"column {key!r}: {len(col)} values for {n} times")
        if n > 1 and np.any(np.diff(self.t) < 0):
            raise ValueError("times go back: the rows must be in time order")


def _plausible(key: str, v: np.ndarray) -> np.ndarray:
    lo, hi = VITALS[key].plausible
    with np.errstate(invalid="ignore"):
        return np.isfinite(v) & (v >= lo) & (v <= hi)


def _runs(enter: np.ndarray, clear: np.ndarray | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """Start and end indices of the condition runs (end = len for a run still open).

    Event i sets the condition (`enter`), clears it (`clear`) or holds it (neither). A run
    can only live in a stretch of events that do not clear: it starts at the stretch's
    first `enter` and ends at the clearing event after the stretch. Only the (few) events
    that do not clear are looked at one by one.
    """
    if clear is None:
        clear = ~enter
    c = np.flatnonzero(~clear)
    if len(c) == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    breaks = np.flatnonzero(np.diff(c) != 1) + 1  # where a new stretch begins, within c
    seg = np.zeros(len(c), np.intp)
    seg[breaks] = 1
    np.cumsum(seg, out=seg)
    e = np.flatnonzero(enter[c])
    if len(e) == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    segs, first = np.unique(seg[e], return_index=True)
    last = np.append(breaks - 1, len(c) - 1)  # the last event of each stretch, within c
    return c[e[first]], c[last[segs]] + 1


def _worst(values: np.ndarray, starts: np.ndarray, ends: np.ndarray, low: bool
           ) -> np.ndarray:
    if len(starts) == 0:
        return np.empty(0)
    bounds = np.empty(2 * len(starts), np.intp)
    bounds[0::2], bounds[1::2] = starts, ends
    if bounds[-1] == len(values):  # the last run is open: reduce it to the end
        bounds = bounds[:-1]
    red = np.fmin if low else np.fmax
    return red.reduceat(values, bounds)[0::2]


class _Out:
    """Collects episodes with the shared delay and escalation arithmetic."""

    def __init__(self, until: float) -> None:
        self.until = until
        self.episodes: list[Episode] = []

    def add(self, key: str, kind: AlarmKind, priority: Priority, vital: str | None,
            condition: str, times: np.ndarray, starts: np.ndarray, ends: np.ndarray,
            delay: float = 0.0, escalate: float | None = None,
            worst: np.ndarray | None = None, limit: float | None = None) -> None:
        n = len(times)
        until = self.until
        for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            onset = float(times[s])
            end = float(times[e]) if e < n else None
            stop = until if end is None else end
            signal = onset + delay
            if delay > 0 and not signal < stop:
                continue
            esc = None
            if escalate is not None and priority < Priority.HIGH and signal + escalate < stop:
                esc = signal + escalate
            w = None if worst is None or np.isnan(worst[i]) else float(worst[i])
            self.episodes.append(Episode(key, kind, vital, condition, priority, onset, signal,
                                         end, w, limit, esc))


def _stale_times(tv: np.ndarray, after: float, until: float) -> np.ndarray:
    """When each gap between valid data (and after the last) passes `after`."""
    if len(tv) == 0:
        return np.empty(0)
    due = tv + after  # computed as the streaming engine does, to the last bit
    gap = np.empty(len(tv), bool)
    np.less(due[:-1], tv[1:], out=gap[:-1])
    gap[-1] = due[-1] < until
    return due[gap]


def _intervals(starts_t: np.ndarray, valid_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Episodes that start at `starts_t` and end at the next valid datum (strictly later)."""
    j = np.searchsorted(valid_t, starts_t, side="right")
    times = np.concatenate((starts_t, valid_t))
    ends = np.where(j < len(valid_t), len(starts_t) + j, len(times))
    return times, ends


def evaluate(rec: Recording, preset: Preset, *, dose_start_t_s: float | None = None,
             until_t_s: float | None = None, ended: bool = False,
             recorded: bool = False) -> list[Episode]:
    """The alarm episodes of `rec` under `preset`, as the streaming engine would log them.

    `until_t_s`: the time the evaluation stops (default the last row): time-based
    conditions fall due only before it. `ended`: the session ended then (minimum monitoring
    is checked). `recorded`: the source replays a recording, so its gaps raise nothing.
    """
    t = np.asarray(rec.t, dtype=np.float64)
    until = float(until_t_s if until_t_s is not None else (t[-1] if len(t) else 0.0))
    out = _Out(until)
    src = rec.source
    dose = dose_start_t_s
    cols = {k: np.asarray(v, dtype=np.float64) for k, v in rec.values.items() if k in VITALS}
    first_row: dict[str, int] = {}
    for key, col in cols.items():
        ok = np.flatnonzero(_plausible(key, col))
        if len(ok):
            first_row[key] = int(ok[0])
    for key, col in cols.items():
        if VITALS[key].kind is VitalKind.CONTINUOUS:
            _continuous(out, preset, src, key, t, col, first_row, recorded)
    nibp = [cols.get(k) for k in NIBP_KEYS]
    present = [c for c in nibp if c is not None]
    if present:
        _nibp(out, preset, src, t, nibp, dose, recorded)
    if dose is not None and preset.bp_check is not None:
        _bp_check(out, preset, t, nibp, dose)
    mm = preset.min_monitoring
    if ended and mm is not None and dose is not None and until - dose < mm.min_s:
        out.episodes.append(Episode(f"{mm.id}:session", AlarmKind.ADVISORY, None,
                                    mm.condition, mm.priority, until, until, None, None, None))
    out.episodes.sort(key=lambda e: (e.signal_t_s, e.key))
    return out.episodes


def _continuous(out: _Out, preset: Preset, src: str, key: str, t: np.ndarray,
                col: np.ndarray, first_row: Mapping[str, int], recorded: bool) -> None:
    rows = np.flatnonzero(~np.isnan(col))
    ts, vs = t[rows], col[rows]
    ok = _plausible(key, vs)
    tv = ts[ok]
    cur = next((r for r in preset.currency if r.vital == key), None)
    stale_after = None
    if not recorded:
        stale_after = cur.timeout_s if cur is not None else VITALS[key].stale_after_s
    stale = _stale_times(tv, stale_after, out.until) if stale_after is not None else np.empty(0)
    times, vals, valid, row_of = ts, vs, ok, rows
    if len(stale):  # a stale instant ends every condition of the vital (an event that clears)
        at = np.searchsorted(ts, stale, side="right")
        times = np.insert(ts, at, stale)
        vals = np.insert(vs, at, np.nan)
        valid = np.insert(ok, at, False)
        row_of = np.insert(rows, at, -1)
    for rule in (r for r in preset.limits if r.vital == key):
        with np.errstate(invalid="ignore"):
            enter = valid & rule.op.fn(vals, rule.limit)
            clear = ~(valid & rule.op.fn(vals, rule.clear_limit))
        if rule.fallback_for is not None and rule.fallback_for in first_row:
            clear |= row_of >= first_row[rule.fallback_for]
            enter &= ~clear
        starts, ends = _runs(enter, clear)
        out.add(f"{rule.id}:{src}", rule.kind, rule.priority, key, rule.condition, times,
                starts, ends, rule.delay_s, rule.escalate_after_s,
                _worst(vals, starts, ends, rule.op.low), rule.limit)
    art = next((r for r in preset.artefacts if r.vital == key), None)
    if art is not None:
        starts, ends = _runs(~ok)
        out.add(f"{art.id}:{src}", AlarmKind.TECHNICAL, art.priority, key, art.condition, ts,
                starts, ends, art.delay_s, art.escalate_after_s)
    if cur is not None and stale_after is not None and len(stale):
        st_times, ends = _intervals(stale, tv)
        out.add(f"{cur.id}:{src}", AlarmKind.TECHNICAL, cur.priority, key, cur.condition,
                st_times, np.arange(len(stale)), ends)


def _valid_readings(t: np.ndarray, nibp: list[np.ndarray | None]
                    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Rows that hold an NIBP reading, which are valid, and their values."""
    n = len(t)
    cols = {k: (c if c is not None else np.full(n, np.nan))
            for k, c in zip(NIBP_KEYS, nibp, strict=True)}
    has = np.zeros(n, bool)
    for c in cols.values():
        has |= ~np.isnan(c)
    rows = np.flatnonzero(has)
    s, d, m = (cols[k][rows] for k in NIBP_KEYS)
    with np.errstate(invalid="ignore"):
        valid = (_plausible("sbp", s) & _plausible("dbp", d) & (s > d)
                 & (np.isnan(m) | (_plausible("map", m) & (d <= m) & (m <= s))))
    return rows, valid, {"sbp": s, "dbp": d, "map": m}


def _nibp(out: _Out, preset: Preset, src: str, t: np.ndarray,
          nibp: list[np.ndarray | None], dose: float | None, recorded: bool) -> None:
    rows, valid, r = _valid_readings(t, nibp)
    tr = t[rows]
    pre = np.ones(len(tr), bool) if dose is None else tr < dose
    inv = next((a for a in preset.artefacts if a.vital == "sbp"), None)
    if inv is not None:
        starts, ends = _runs(~valid)
        out.add(f"{inv.id}:{src}", AlarmKind.TECHNICAL, inv.priority, "sbp", inv.condition,
                tr, starts, ends)
    for rule in preset.limits:
        if rule.vital not in NIBP_KEYS:
            continue
        applies = {When.ANY: np.ones(len(tr), bool), When.PRE_DOSE: pre,
                   When.POST_DOSE: ~pre}[rule.when]
        vals = r[rule.vital]
        with np.errstate(invalid="ignore"):
            hit = valid & applies & ~np.isnan(vals) & rule.op.fn(vals, rule.limit)
        times, v = tr, vals
        if rule.when is When.PRE_DOSE and dose is not None:  # ends at the dose start
            k = int(np.searchsorted(tr, dose, side="left"))
            times = np.insert(tr, k, dose)
            hit = np.insert(hit, k, False)
            v = np.insert(vals, k, np.nan)
        starts, ends = _runs(hit)
        out.add(f"{rule.id}:{src}", rule.kind, rule.priority, rule.vital, rule.condition,
                times, starts, ends, 0.0, rule.escalate_after_s,
                _worst(np.where(hit, v, np.nan), starts, ends, rule.op.low), rule.limit)
    base_rows = np.flatnonzero(valid & pre) if dose is not None else np.empty(0, np.intp)
    if len(base_rows):
        b = base_rows[-1]
        for rel in preset.relative:
            base = r[rel.vital][b]
            if np.isnan(base):
                continue
            limit = float(base) + rel.rise
            vals = r[rel.vital]
            with np.errstate(invalid="ignore"):
                hit = valid & ~pre & ~np.isnan(vals) & (vals >= limit)
            starts, ends = _runs(hit)
            out.add(f"{rel.id}:{src}", rel.kind, rel.priority, rel.vital, rel.condition, tr,
                    starts, ends, 0.0, rel.escalate_after_s,
                    _worst(np.where(hit, vals, np.nan), starts, ends, False), limit)
    od = preset.nibp_overdue
    tv = tr[valid]
    if od is not None and not recorded and len(tv):
        due = _stale_times(tv, od.timeout_s, out.until)
        times, ends = _intervals(due, tv)
        out.add(f"{od.id}:{src}", AlarmKind.TECHNICAL, od.priority, "sbp", od.condition,
                times, np.arange(len(due)), ends)


def _bp_check(out: _Out, preset: Preset, t: np.ndarray, nibp: list[np.ndarray | None],
              dose: float) -> None:
    check = preset.bp_check
    assert check is not None
    due = dose + check.after_dose_s
    if not due < out.until:
        return
    rows, valid, _ = _valid_readings(t, nibp)
    tv = t[rows][valid]
    if np.any((tv >= due - check.window_s) & (tv <= due)):
        return
    times, ends = _intervals(np.array([due]), tv)
    out.add(f"{check.id}:session", AlarmKind.ADVISORY, check.priority, "sbp",
            check.condition, times, np.arange(1), ends)
