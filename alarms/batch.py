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
run bounds. The tiers of a limit condition are runs of their own, merged into one alarm
per stretch in which some tier is met (`_tiered`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from alarms.episodes import Episode
from alarms.model import AlarmKind, Priority
from alarms.presets import Preset
from alarms.rules import LimitRule, When, tier_groups
from monitor.validity import measurements
from monitor.vitals import NIBP_KEYS, VITALS, VitalKind

__all__ = ["Recording", "evaluate"]


@dataclass(frozen=True, slots=True)
class Recording:
    """One source's numerics: row i is one message at `t[i]`; NaN is "no value".

    `t` is non-decreasing. An NIBP reading is a row with any of sbp, dbp, map.
    `validated[key][i]` is True where the device vouched for the value (`Numerics.validated`);
    a vital not in it is unflagged throughout.
    """

    t: np.ndarray
    values: Mapping[str, np.ndarray]
    source: str = "rec"
    validated: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.t)
        for what, cols in (("column", self.values), ("validated", self.validated)):
            for key, col in cols.items():
                if len(col) != n:
                    raise ValueError(f"{what} {key!r}: {len(col)} values for {n} times")
        if n > 1 and np.any(np.diff(self.t) < 0):
            raise ValueError("times go back: the rows must be in time order")


def _runs_at(c: np.ndarray, enter_c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end indices of the condition runs (end = len for a run still open).

    `c` are the indices of the events that do not clear the condition, in order, and
    `enter_c` says which of them set it (the others hold it, inside the hysteresis band).
    A run lives in a stretch of consecutive such events: it starts at the stretch's first
    setting event and ends at the clearing event after the stretch. Only these (few) events
    are looked at, never the whole recording.
    """
    if len(c) == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    breaks = np.flatnonzero(c[1:] - c[:-1] != 1) + 1  # where a new stretch begins, in c
    seg = np.zeros(len(c), np.intp)
    seg[breaks] = 1
    np.cumsum(seg, out=seg)
    e = np.flatnonzero(enter_c)
    if len(e) == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    segs, first = np.unique(seg[e], return_index=True)
    last = np.append(breaks - 1, len(c) - 1)  # the last event of each stretch, within c
    return c[e[first]], c[last[segs]] + 1


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Runs of a condition without hysteresis: each event sets it or clears it."""
    c = np.flatnonzero(mask)
    return _runs_at(c, np.ones(len(c), bool))


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
            condition: str, onsets: np.ndarray, ends: np.ndarray, delay: float = 0.0,
            escalate: float | None = None, worst: np.ndarray | None = None,
            limit: float | None = None) -> None:
        """Condition runs from `onsets` to `ends` (NaN: still present) become episodes if
        they outlast the delay; they escalate if they outlast `escalate` after the signal."""
        if len(onsets) == 0:
            return
        stop = np.where(np.isnan(ends), self.until, ends)
        signal = onsets + delay
        keep = signal < stop if delay > 0 else np.ones(len(onsets), bool)
        esc = np.full(len(onsets), np.nan)
        if escalate is not None and priority < Priority.HIGH:
            late = signal + escalate
            esc = np.where(late < stop, late, np.nan)
        w = np.full(len(onsets), np.nan) if worst is None else worst
        up = priority.step_up()
        self.episodes.extend(  # NaN (x != x) is "no value"
            Episode(key, kind, vital, condition, priority, o, sg, None if e != e else e,
                    None if x != x else x, limit, None if z != z else z,
                    peak=priority if z != z else up)
            for o, sg, e, x, z in zip(onsets[keep].tolist(), signal[keep].tolist(),
                                      ends[keep].tolist(), w[keep].tolist(),
                                      esc[keep].tolist(), strict=True))

    def tiered(self, src: str, tiers: tuple[LimitRule, ...], times: np.ndarray,
               vals: np.ndarray, runs: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """One alarm per stretch of events in which some tier is met (`runs`: each tier's
        runs, as event indices; a tier starting at the event that clears another continues
        the stretch). It signals at the first tier met past its delay, with that tier's
        priority, text and limit; `peak` is the most severe tier met later, or one step
        up if it stayed unacknowledged for the least severe tier's `escalate_after_s`."""
        n = len(times)
        items = []  # (start, end, tier, when qualified: (time, 0 sample | 1 deadline, index))
        for j, (starts, ends) in enumerate(runs):
            on, end = _bounds(times, starts, ends)
            stops = np.where(np.isnan(end), self.until, end)
            d = tiers[j].delay_s
            for s, e, o, st in zip(starts.tolist(), ends.tolist(), on.tolist(), stops.tolist(),
                                   strict=True):
                q = (o, 0, s) if d <= 0 else ((o + d, 1, 0) if o + d < st else None)
                items.append((s, e, j, q))
        items.sort(key=lambda it: it[0])
        base, r0 = tiers[0].priority, tiers[0]
        i = 0
        while i < len(items):
            first, end = items[i][0], items[i][1]
            group = [items[i]]
            i += 1
            while i < len(items) and items[i][0] <= end:
                end = max(end, items[i][1])
                group.append(items[i])
                i += 1
            met = [(q, j) for _, _, j, q in group if q is not None]
            if not met:
                continue
            sig = min(q for q, _ in met)
            rule = tiers[max(j for q, j in met if q == sig)]
            signal, stop = sig[0], (times[end] if end < n else self.until)
            peak = max(j for _, j in met)
            esc = None
            if r0.escalate_after_s is not None and base < Priority.HIGH:
                late = signal + r0.escalate_after_s
                esc = late if late < stop else None
            top = max(tiers[peak].priority, base if esc is None else base.step_up())
            seg = vals[first:end]
            worst = float(np.nanmin(seg) if r0.op.low else np.nanmax(seg))
            self.episodes.append(Episode(
                f"{r0.id}:{src}", r0.kind, r0.vital, rule.condition,
                max(rule.priority, base), float(times[first]), signal,
                float(times[end]) if end < n else None, worst, rule.limit, esc, peak=top))


def _bounds(times: np.ndarray, starts: np.ndarray, ends: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Run indices to onset and end times (NaN for a run still open at the end)."""
    end_t = np.full(len(ends), np.nan)
    closed = ends < len(times)
    end_t[closed] = times[ends[closed]]
    return times[starts], end_t


def _stale_times(tv: np.ndarray, after: float | np.ndarray, until: float) -> np.ndarray:
    """When each gap between valid data (and after the last) passes `after` (one for all,
    or one for each datum)."""
    if len(tv) == 0:
        return np.empty(0)
    due = tv + after  # computed as the streaming engine does, to the last bit
    gap = np.empty(len(tv), bool)
    np.less(due[:-1], tv[1:], out=gap[:-1])
    gap[-1] = due[-1] < until
    return due[gap]


def _intervals(starts_t: np.ndarray, valid_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Runs that start at `starts_t` and end at the next valid datum (strictly later)."""
    j = np.searchsorted(valid_t, starts_t, side="right")
    ends = np.full(len(starts_t), np.nan)
    inside = j < len(valid_t)
    ends[inside] = valid_t[j[inside]]
    return starts_t, ends


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
    vouched = {k: np.asarray(v, dtype=bool) for k, v in rec.validated.items()}
    oks = {k: measurements(k, col, vouched.get(k)) for k, col in cols.items()}
    first_row = {k: int(np.argmax(ok)) for k, ok in oks.items() if ok.any()}
    for key, col in cols.items():
        if VITALS[key].kind is VitalKind.CONTINUOUS:
            _continuous(out, preset, src, key, t, col, oks[key], first_row, recorded)
    nibp = [cols.get(k) for k in NIBP_KEYS]
    readings = _valid_readings(t, nibp, vouched) if any(c is not None for c in nibp) else None
    if readings is not None:
        _nibp(out, preset, src, t, readings, dose, recorded)
    if dose is not None and preset.bp_check is not None:
        _bp_check(out, preset, t, readings, dose)
    mm = preset.min_monitoring
    if ended and mm is not None and dose is not None and until - dose < mm.min_s:
        out.episodes.append(Episode(f"{mm.id}:session", AlarmKind.ADVISORY, None,
                                    mm.condition, mm.priority, until, until, None, None, None,
                                    peak=mm.priority))
    out.episodes.sort(key=lambda e: (e.signal_t_s, e.key))
    return out.episodes


def _continuous(out: _Out, preset: Preset, src: str, key: str, t: np.ndarray,
                col: np.ndarray, ok_col: np.ndarray, first_row: Mapping[str, int],
                recorded: bool) -> None:
    present = ~np.isnan(col)
    rows = None
    if present.all():
        ts, vs, ok = t, col, ok_col
    else:
        rows = np.flatnonzero(present)
        ts, vs, ok = t[rows], col[rows], ok_col[rows]
    if ok.all():
        clean, tv = vs, ts
    else:  # an invalid value clears every condition, as NaN does
        clean, tv = np.where(ok, vs, np.nan), ts[ok]
    cur = next((r for r in preset.currency if r.vital == key), None)
    stale_after = None
    if not recorded:
        stale_after = cur.timeout_s if cur is not None else VITALS[key].stale_after_s
    stale = _stale_times(tv, stale_after, out.until) if stale_after is not None else np.empty(0)
    times, vals, at = ts, clean, None
    if len(stale):  # a stale instant ends every condition of the vital: a NaN event
        at = np.searchsorted(ts, stale, side="right")
        times = np.insert(ts, at, stale)
        vals = np.insert(clean, at, np.nan)
    for tiers in tier_groups(preset.limits):
        if tiers[0].vital != key:
            continue
        cut = None
        fb = tiers[0].fallback_for
        if fb is not None and fb in first_row:  # from the first valid `fb` on, no rule
            cut = first_row[fb] if rows is None else int(np.searchsorted(rows, first_row[fb]))
            if at is not None:
                cut += int(np.searchsorted(at, cut, side="right"))
        runs = []
        for rule in tiers:
            holds = rule.op.fn(vals, rule.clear_limit)  # the events that do not clear it
            if cut is not None:
                holds[cut:] = False
            c = np.flatnonzero(holds)
            runs.append(_runs_at(c, rule.op.fn(vals[c], rule.limit)))
        out.tiered(src, tiers, times, vals, runs)
    art = next((r for r in preset.artefacts if r.vital == key), None)
    if art is not None:
        starts, ends = _runs(~ok)
        out.add(f"{art.id}:{src}", AlarmKind.TECHNICAL, art.priority, key, art.condition,
                *_bounds(ts, starts, ends), art.delay_s, art.escalate_after_s)
    if cur is not None and stale_after is not None and len(stale):
        out.add(f"{cur.id}:{src}", AlarmKind.TECHNICAL, cur.priority, key, cur.condition,
                *_intervals(stale, tv))


def _valid_readings(t: np.ndarray, nibp: list[np.ndarray | None],
                    vouched: Mapping[str, np.ndarray]
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
    ok = {k: measurements(k, cols[k][rows], vouched[k][rows] if k in vouched else None)
          for k in NIBP_KEYS}
    valid = (ok["sbp"] & ok["dbp"] & (s > d)
             & (np.isnan(m) | (ok["map"] & (d <= m) & (m <= s))))
    return rows, valid, {"sbp": s, "dbp": d, "map": m}


_Readings = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]


def _nibp(out: _Out, preset: Preset, src: str, t: np.ndarray, readings: _Readings,
          dose: float | None, recorded: bool) -> None:
    rows, valid, r = readings
    tr = t[rows]
    pre = np.ones(len(tr), bool) if dose is None else tr < dose
    inv = next((a for a in preset.artefacts if a.vital == "sbp"), None)
    if inv is not None:
        starts, ends = _runs(~valid)
        out.add(f"{inv.id}:{src}", AlarmKind.TECHNICAL, inv.priority, "sbp", inv.condition,
                *_bounds(tr, starts, ends))
    applies = {When.ANY: valid, When.PRE_DOSE: valid & pre, When.POST_DOSE: valid & ~pre}
    physiological = {k: np.zeros(len(tr), bool) for k in NIBP_KEYS}  # an alarm on the vital
    groups = [g for g in tier_groups(preset.limits) if g[0].vital in NIBP_KEYS]
    groups.sort(key=lambda g: g[0].kind is not AlarmKind.PHYSIOLOGICAL)
    for tiers in groups:
        r0 = tiers[0]
        vals = r[r0.vital]
        ok = applies[r0.when].copy()
        if r0.kind is AlarmKind.ADVISORY:
            ok &= ~physiological[r0.vital]
        hits = [ok & rule.op.fn(vals, rule.limit) for rule in tiers]
        hit = np.logical_or.reduce(hits)
        if r0.kind is AlarmKind.PHYSIOLOGICAL:
            physiological[r0.vital] |= hit
        times, v = tr, np.where(hit, vals, np.nan)
        if r0.when is When.PRE_DOSE and dose is not None:  # ends at the dose start
            k = int(np.searchsorted(tr, dose, side="left"))
            times, v = np.insert(tr, k, dose), np.insert(v, k, np.nan)
            hits = [np.insert(h, k, False) for h in hits]
        out.tiered(src, tiers, times, v, [_runs(h) for h in hits])
    base_rows = np.flatnonzero(valid & pre) if dose is not None else np.empty(0, np.intp)
    if len(base_rows):
        b = base_rows[-1]
        for rel in preset.relative:
            base = r[rel.vital][b]
            if np.isnan(base):
                continue
            limit = float(base) + rel.rise
            vals = r[rel.vital]
            hit = valid & ~pre & (vals >= limit) & ~physiological[rel.vital]
            starts, ends = _runs(hit)
            out.add(f"{rel.id}:{src}", rel.kind, rel.priority, rel.vital, rel.condition,
                    *_bounds(tr, starts, ends), 0.0, rel.escalate_after_s,
                    _worst(np.where(hit, vals, np.nan), starts, ends, False), limit)
    od = preset.nibp_overdue
    tv = tr[valid]
    if od is not None and not recorded and len(tv):
        timeout = np.array([od.timeout_at(x, dose) for x in tv.tolist()])
        due = _stale_times(tv, timeout, out.until)
        out.add(f"{od.id}:{src}", AlarmKind.TECHNICAL, od.priority, "sbp", od.condition,
                *_intervals(due, tv))


def _bp_check(out: _Out, preset: Preset, t: np.ndarray, readings: _Readings | None,
              dose: float) -> None:
    check = preset.bp_check
    assert check is not None
    due = dose + check.after_dose_s
    if not due < out.until:
        return
    tv = np.empty(0) if readings is None else t[readings[0]][readings[1]]
    if np.any((tv >= due - check.window_s) & (tv <= due)):
        return
    out.add(f"{check.id}:session", AlarmKind.ADVISORY, check.priority, "sbp",
            check.condition, *_intervals(np.array([due]), tv))
