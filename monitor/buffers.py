"""Session buffers the display pulls from: the pleth ring and the whole-session trends.

Written by a runtime sink (and, for alarm episodes, an alarm-engine listener) on the device
thread, read by the GUI's redraw timer. No Qt.
Readers never see a half-written sample: the pleth is copied out under the lock, and the
trend arrays are append-only, so a view of the first `n` elements never changes after it
is handed out (growing allocates a new array and leaves the old one to its readers).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable

import numpy as np

from alarms.episodes import Episode, EpisodeFold
from alarms.model import AlarmEvent
from monitor.messages import Message, Numerics, TimelineMark, Waveform
from monitor.session import (
    DoseProtocol,
    EntryKind,
    Phase,
    Route,
    mark_entry,
    phases,
)
from monitor.vitals import NUMERIC_KEYS, VITALS, VitalKind

SESSION_HOURS = 8.0


class PlethRing:
    """A preallocated ring of the latest waveform samples with a monotonic write index."""

    def __init__(self, vital: str = "pleth", capacity: int = 4096) -> None:
        self.vital = vital
        self._buf = np.full(capacity, np.nan, dtype=np.float32)
        self._lock = threading.Lock()
        self._written = 0  # samples ever written; the next goes to _written % capacity
        self._rate_hz = 0.0
        self._last_t_s: float | None = None  # session time just after the newest sample

    @property
    def capacity(self) -> int:
        return len(self._buf)

    def __call__(self, msg: Message) -> None:
        if isinstance(msg, Waveform) and msg.vital == self.vital:
            self.write(msg.values, msg.t_s, msg.rate_hz)

    def write(self, values: np.ndarray, t_s: float, rate_hz: float) -> None:
        n = len(values)
        cap = len(self._buf)
        if n > cap:
            values, t_s = values[-cap:], t_s + (n - cap) / rate_hz
            n = cap
        with self._lock:
            start = self._written % cap
            first = min(n, cap - start)
            self._buf[start:start + first] = values[:first]
            self._buf[:n - first] = values[first:]
            self._written += n
            self._rate_hz = rate_hz
            self._last_t_s = t_s + n / rate_hz

    def status(self) -> tuple[int, float, float | None]:
        """(samples written, rate, session time the newest sample ends at)."""
        with self._lock:
            return self._written, self._rate_hz, self._last_t_s

    def read(self, n: int, end: int | None = None) -> tuple[np.ndarray, int, float, float | None]:
        """The `n` samples before index `end` (default: the newest), oldest first, NaN where
        never written or already overwritten; with the write index, the rate and the session
        time the newest sample ends at."""
        cap = len(self._buf)
        n = min(n, cap)
        with self._lock:
            w, rate, last = self._written, self._rate_hz, self._last_t_s
            stop = w if end is None else max(0, min(end, w))
            idx = np.arange(stop - n, stop)
            out = self._buf[idx % cap]
        out[(idx < 0) | (idx < w - cap)] = np.nan
        return out, w, rate, last

    def sweep(self, width: int, gap: int, upto: int | None = None) -> tuple[np.ndarray, int]:
        """The sweep display up to sample index `upto` (default: all written): slot
        `i % width` holds sample i of the last `width` samples, with `gap` NaN slots ahead of
        the head. Returns (y, head slot)."""
        values, w, _rate, _last = self.read(width, upto)
        head = (w if upto is None else max(0, min(upto, w))) % width
        y = np.roll(values, head)
        ahead = (head + np.arange(min(gap, width))) % width
        y[ahead] = np.nan
        return y, head


class _Series:
    """One vital's append-only (t_s, value) arrays."""

    def __init__(self, capacity: int) -> None:
        self.t = np.empty(capacity, dtype=np.float64)
        self.v = np.empty(capacity, dtype=np.float32)
        self.n = 0

    def append(self, t: float, v: float) -> None:
        if self.n == len(self.t):
            cap = 2 * len(self.t)
            t_new = np.empty(cap, dtype=np.float64)
            v_new = np.empty(cap, dtype=np.float32)
            t_new[: self.n] = self.t[: self.n]
            v_new[: self.n] = self.v[: self.n]
            self.t, self.v = t_new, v_new  # readers keep the old arrays
        self.t[self.n] = t
        self.v[self.n] = v
        self.n += 1


class SessionTrends:
    """Whole-session trend arrays per numeric vital, dose marks, and alarm episodes.

    An implausible value is stored as NaN (an artefact is not physiology), and a gap longer
    than the vital's staleness limit gets a NaN so the line breaks instead of bridging it.
    """

    def __init__(self, hours: float = SESSION_HOURS, route: Route = Route.IV) -> None:
        continuous = int(hours * 3600) + 600
        self._series = {k: _Series(continuous if VITALS[k].kind is VitalKind.CONTINUOUS
                                   else 256) for k in NUMERIC_KEYS}
        self._lock = threading.Lock()
        self._marks: list[TimelineMark] = []
        self._route = route
        self._infusion_min: float | None = None
        self._alarm_fold = EpisodeFold()
        self._given: dict[str, set[str]] = {}  # source -> the vitals it sent
        self._revision = 0

    def __call__(self, msg: Message) -> None:
        if isinstance(msg, Numerics):
            self.add_numerics(msg)
        elif isinstance(msg, TimelineMark):
            with self._lock:
                self._marks.append(msg)
                if msg.kind == EntryKind.DOSE_START:
                    data = dict(msg.data)
                    minutes = data.get("infusion_min")
                    if isinstance(minutes, int | float):
                        self._infusion_min = float(minutes)
                    route = data.get("route")
                    if isinstance(route, str) and route in Route.__members__.values():
                        self._route = Route(route)
                self._revision += 1

    def add_numerics(self, msg: Numerics) -> None:
        with self._lock:
            self._given.setdefault(msg.source, set()).update(k for k, _ in msg.values)
            for key, value in msg.values:
                series = self._series.get(key)
                if series is None:
                    continue
                spec = VITALS[key]
                if (spec.kind is VitalKind.CONTINUOUS and spec.stale_after_s is not None
                        and series.n and msg.t_s - series.t[series.n - 1] > spec.stale_after_s):
                    series.append(series.t[series.n - 1] + spec.stale_after_s, math.nan)
                series.append(msg.t_s, value if key in msg.measured else math.nan)
            self._revision += 1

    def break_lines(self, t_s: float) -> None:
        """No line across `t_s`: a recording gap (a resumed session) however short."""
        with self._lock:
            for key, series in self._series.items():
                if VITALS[key].kind is VitalKind.CONTINUOUS and series.n:
                    series.append(max(t_s, series.t[series.n - 1]), math.nan)
            self._revision += 1

    @property
    def revision(self) -> int:
        """Changes whenever anything was added: the display redraws only then."""
        return self._revision

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(t_s, values) for the whole session so far: read-only views, safe to keep."""
        with self._lock:
            s = self._series[key]
            t, v = s.t[: s.n], s.v[: s.n]
        t.flags.writeable = False
        v.flags.writeable = False
        return t, v

    def marks(self) -> tuple[TimelineMark, ...]:
        with self._lock:
            return tuple(self._marks)

    def phases(self, now_s: float) -> tuple[Phase, ...]:
        """Baseline, dosing, peak, recovery, by the session model's own rule."""
        with self._lock:
            marks = [m for m in self._marks
                     if m.kind in (EntryKind.DOSE_START, EntryKind.DOSE_STOP)]
            protocol = DoseProtocol(route=self._route, infusion_min=self._infusion_min)
        return phases((mark_entry(m, i) for i, m in enumerate(marks)), protocol, now_s)

    def dose_running(self) -> bool:
        """A dose has started and no Dose stop has come after it."""
        with self._lock:
            marks = [(m.t_s, m.kind == EntryKind.DOSE_START) for m in self._marks
                     if m.kind in (EntryKind.DOSE_START, EntryKind.DOSE_STOP)]
        return bool(marks) and max(marks)[1]

    def dose_start_s(self) -> float | None:
        with self._lock:
            starts = [m.t_s for m in self._marks if m.kind == EntryKind.DOSE_START]
        return min(starts) if starts else None

    # -- alarm episodes ----------------------------------------------------------------

    def alarm_event(self, ev: AlarmEvent) -> None:
        """An alarm engine listener (device-io thread): the episodes are the one fold of
        the engine's events (`alarms.episodes`), as the store, the browser, the PDF and the
        CSV read them."""
        with self._lock:
            if self._alarm_fold.add(ev):
                self._revision += 1

    def alarm_log(self, events: Iterable[AlarmEvent],
                  gaps: Iterable[tuple[float, float]] = ()) -> None:
        """A stored alarm log and its recording gaps, folded as `episodes_from_events` does
        (a session read back, or resumed after a crash)."""
        with self._lock:
            if self._alarm_fold.add_log(events, gaps):
                self._revision += 1

    def episodes(self) -> tuple[Episode, ...]:
        with self._lock:
            return tuple(self._alarm_fold.episodes())

    def episode_vitals(self, ep: Episode) -> frozenset[str]:
        """The vitals an alarm episode concerns (the trend shades their rows): its vital;
        for one about a device with no vital (link lost, a probe off) the vitals that
        device sent; none for Vigil's own (audio, storage) or session advisories."""
        if ep.vital is not None:
            return frozenset((ep.vital,))
        if ep.source is None:
            return frozenset()
        with self._lock:
            return frozenset(self._given.get(ep.source, ()))
