"""`ReportData`: everything a session report shows, read once from the store and frozen.

Values outside a vital's plausible range (a monitor's 0 placeholder, a probe-off spike) are
artefacts: they are counted, left out of every table, extreme and chart, and the report says
how many. A value that was not measured is never filled in: tables show dashes.
Times are session seconds (`t_s`); a clock time is `start_wall + t_s`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from alarms.log import limit_changes
from alarms.model import AlarmEventKind, Priority
from alarms.presets import PRESETS
from monitor.discharge import DISCHARGE_MIN_SCORE, EARLY_DISCHARGE_KEY, monitoring_time
from monitor.reports.deidentify import DAY_S, date_shift_days, deidentify, pseudonym
from monitor.resume import stored_episodes
from monitor.session import EntryKind, Phase, Route, SessionStatus, TimelineEntry
from monitor.session import phases as session_phases
from monitor.store import SessionStore
from monitor.store_rows import DeviceEventRow, device_event_row
from monitor.validity import measurements
from monitor.vitals import NIBP_KEYS, NUMERIC_KEYS, VITALS, VitalKind

# De-identification moved to deidentify.py; its names stay importable from here.
__all__ = ["DAY_S", "ReportData", "date_shift_days", "deidentify", "load_report", "pseudonym"]

TABLE_INTERVAL_S = 300.0  # the vitals table: one row per 5 minutes
BASELINE_WINDOW_S = 300.0  # pre-dose baseline: the median of the 5 minutes before the dose
REMS_BP_AT_S = 40 * 60.0  # REMS: BP 40 minutes after administration ...
REMS_BP_WINDOW_S = (35 * 60.0, 45 * 60.0)  # ... taken from a reading in this window


@dataclass(frozen=True, slots=True)
class Series:
    """One vital's measurements (`monitor.validity`), in time order (read-only arrays)."""

    key: str
    t_s: np.ndarray
    values: np.ndarray
    excluded: int  # samples left out as artefacts (unflagged and implausible)

    def at(self, t_s: float, max_age_s: float) -> float | None:
        """The last value at or before `t_s` if not older than `max_age_s`: what a nurse
        reading the monitor at that moment would have seen."""
        i = int(np.searchsorted(self.t_s, t_s, side="right")) - 1
        if i < 0 or t_s - self.t_s[i] > max_age_s:
            return None
        return float(self.values[i])

    def window(self, lo: float, hi: float) -> np.ndarray:
        """Values with lo <= t_s < hi."""
        a, b = np.searchsorted(self.t_s, [lo, hi], side="left")
        return self.values[a:b]


@dataclass(frozen=True, slots=True)
class NibpReading:
    t_s: float
    sbp: float | None
    dbp: float | None
    map: float | None

    def text(self) -> str:
        s, d, m = (VITALS[k].format(getattr(self, k)) for k in NIBP_KEYS)
        return f"{s}/{d} ({m})"


@dataclass(frozen=True, slots=True)
class Dose:
    start_s: float
    stop_s: float | None
    drug: str | None
    route: str | None
    dose_mg: float | None
    mg_per_kg: float | None
    lot: str | None
    infusion_min: float | None
    author: str


@dataclass(frozen=True, slots=True)
class Rating:
    t_s: float
    kind: str  # "sedation" or "dissociation"
    scale: str  # moaas, rass, level, cadss6
    score: float
    author: str
    edited: bool
    items: tuple[tuple[int, int], ...] = ()  # CADSS-6: (item number, 0-4), as stored


@dataclass(frozen=True, slots=True)
class Event:
    """A side effect, intervention, note or other timeline event."""

    t_s: float
    kind: str
    name: str
    text: str | None  # free text; withheld from de-identified reports
    author: str
    edited: bool


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A person confirmed a discharge before its criteria were met (stored with the
    DISCHARGE entry): who, when, and what the checklist named as not met."""

    by: str | None
    wall: float | None  # when it was confirmed (epoch); None if not stored
    not_met: tuple[str, ...]  # as the confirmation recorded it


@dataclass(frozen=True, slots=True)
class Discharge:
    t_s: float
    scale: str  # aldrete, padss
    score: float | None
    ready_t_s: float | None
    author: str
    confirmation: Confirmation | None = None

    @property
    def meets_criterion(self) -> bool | None:
        """The score reaches the criterion (>= 9 of 10); None without a score."""
        return None if self.score is None else self.score >= DISCHARGE_MIN_SCORE


@dataclass(frozen=True, slots=True)
class LimitChangeRow:
    """An alarm limit a person changed during the session (the preset's otherwise)."""

    t_s: float
    vital: str | None
    condition: str  # the rule's alarm text, e.g. "SpO2 LOW"
    old: float | None
    new: float | None
    user: str


@dataclass(frozen=True, slots=True)
class AlarmRow:
    """One alarm episode from the alarm log."""

    start_s: float
    end_s: float | None  # None: still active when the report was made
    vital: str | None
    kind: str  # physiological, technical, advisory...
    condition: str  # e.g. "SpO2 low"
    priority: Priority  # the highest it reached
    worst: float | None
    limit: float | None
    acknowledged_s: float | None
    acknowledged_by: str | None = None  # who, as the alarm log names them (issue 14)


@dataclass(frozen=True, slots=True)
class Revision:
    """An edit of a timeline entry, for the audit trail."""

    entry_kind: str
    entry_t_s: float
    revised_wall: float
    author: str


@dataclass(frozen=True, slots=True)
class Extreme:
    key: str
    min_value: float
    min_t_s: float
    max_value: float
    max_t_s: float
    count: int


@dataclass(frozen=True, slots=True)
class Rems:
    """The Spravato REMS Patient Monitoring Form fields Vigil can fill from the record."""

    bp_pre: NibpReading | None  # last reading before the dose
    bp_40: NibpReading | None  # the reading nearest 40 min after the dose, within 35-45 min
    bp_end: NibpReading | None  # the last reading after the dose
    monitoring_min: float | None  # first datum to the end of monitoring
    sedation: bool | None  # the ratings show sedation; None: never rated
    dissociation: bool | None  # the ratings show dissociation; None: never rated
    respiratory_logged: tuple[float, ...]  # times staff logged respiratory depression
    ready_t_s: float | None  # clinically ready to leave (discharge entry)


@dataclass(frozen=True, slots=True)
class ReportData:
    session_id: int | None  # None in a de-identified report
    uuid: str | None
    status: SessionStatus
    patient: str | None  # the clinic's identifier, or the pseudonym when de-identified
    weight_kg: float | None
    deidentified: bool
    date_shift_days: int  # de-identified: clock dates moved back this many days
    start_wall: float
    end_wall: float | None
    end_t_s: float  # the end of the record (session end, or the last datum while active)
    generated_wall: float | None
    preset: str | None
    devices: tuple[tuple[str, str], ...]  # (source, spec)
    doses: tuple[Dose, ...]
    phases: tuple[Phase, ...]
    series: Mapping[str, Series]  # every numeric vital, NIBP components included
    nibp: tuple[NibpReading, ...]
    ratings: tuple[Rating, ...]
    events: tuple[Event, ...]
    discharges: tuple[Discharge, ...]
    device_events: tuple[DeviceEventRow, ...]
    alarms: tuple[AlarmRow, ...] | None  # None: this store has no alarm log for the session
    revisions: tuple[Revision, ...]
    extremes: Mapping[str, Extreme]
    baseline: Mapping[str, float]  # pre-dose medians of the continuous vitals
    rems: Rems
    limit_changes: tuple[LimitChangeRow, ...] = ()

    @property
    def min_monitoring_s(self) -> float | None:
        """The preset's minimum monitoring time after the dose start (esketamine-rems: 2 h);
        None when the preset has none (iv-ketamine: per protocol) or is unknown."""
        p = PRESETS.get(self.preset) if self.preset else None
        rule = p.min_monitoring if p is not None else None
        return rule.min_s if rule is not None else None

    def low_limit(self, key: str) -> float | None:
        """The preset's first low alarm limit for a vital (what a tile shows), if any."""
        p = PRESETS.get(self.preset) if self.preset else None
        lim = p.display_limits(key) if p is not None else None
        return lim[0] if lim is not None else None

    def discharge_unmet(self, d: Discharge) -> tuple[str, ...]:
        """What the record shows as not met when this discharge was recorded: the preset's
        minimum monitoring time and the discharge score's criterion."""
        out = []
        mt = monitoring_time(self.min_monitoring_s, self.dose_start_s, d.t_s)
        if mt is not None and not mt.met:
            since = ("no dose start recorded" if mt.elapsed_s is None else
                     f"{mt.elapsed_s / 60:.0f} min after the dose start")
            out.append(f"minimum monitoring {mt.min_s / 60:.0f} min ({self.preset})"
                       f": discharged {since}")
        if d.meets_criterion is False:
            out.append(f"discharge score {d.score:g}/10, below {DISCHARGE_MIN_SCORE}")
        return tuple(out)

    @property
    def dose_start_s(self) -> float | None:
        return min((d.start_s for d in self.doses), default=None)

    @property
    def excluded(self) -> int:
        return sum(s.excluded for s in self.series.values())

    @property
    def first_data_s(self) -> float | None:
        firsts = [float(s.t_s[0]) for s in self.series.values() if len(s.t_s)]
        return min(firsts) if firsts else None

    def wall(self, t_s: float) -> float:
        return self.start_wall + t_s

    def table_rows(self) -> list[tuple[float, dict[str, tuple[float | None, np.ndarray]]]]:
        """The 5-minute vitals table: per mark, each continuous vital's value at the mark
        (if current) and the values measured in the 5 minutes up to it."""
        rows = []
        marks = np.arange(0.0, self.end_t_s + 1e-9, TABLE_INTERVAL_S)
        for mark in marks:
            cells = {}
            for key in continuous_keys():
                s = self.series[key]
                stale = VITALS[key].stale_after_s or TABLE_INTERVAL_S
                cells[key] = (s.at(mark, stale), s.window(mark - TABLE_INTERVAL_S, mark + 1e-6))
            rows.append((float(mark), cells))
        return rows


def continuous_keys() -> tuple[str, ...]:
    return tuple(k for k in NUMERIC_KEYS if VITALS[k].kind is VitalKind.CONTINUOUS)


def load_alarm_log(store: SessionStore, session_id: int) -> tuple[AlarmRow, ...] | None:
    """The session's alarm episodes from the store's alarm log.

    None when the store has no alarm log (a store from before the alarm engine, opened
    read-only): the report then says the log is not available rather than claiming that
    no alarm occurred.
    """
    if not store.has_table("alarm_log"):
        return None
    events = store.alarm_events(session_id)
    acked_by: dict[tuple[str, float | None], str] = {
        (ev.alarm.key, ev.t_s): ev.user for ev in events
        if ev.event is AlarmEventKind.ACKNOWLEDGE and ev.alarm is not None}
    return tuple(
        AlarmRow(ep.signal_t_s, ep.end_t_s, ep.vital, str(ep.kind), ep.condition,
                 ep.highest, ep.worst_value, ep.limit, ep.acknowledged_t_s,
                 acked_by.get((ep.key, ep.acknowledged_t_s)) or None)
        for ep in stored_episodes(store, session_id))


def load_limit_changes(store: SessionStore, session_id: int) -> tuple[LimitChangeRow, ...]:
    """The limits changed during the session, from the alarm log (none without one)."""
    if not store.has_table("alarm_log"):
        return ()
    return tuple(LimitChangeRow(c.t_s, c.vital, c.condition, c.old, c.new, c.user)
                 for c in limit_changes(store.alarm_events(session_id)))


def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _series(key: str, t: np.ndarray, v: np.ndarray, vouched: np.ndarray | None = None
            ) -> Series:
    ok = measurements(key, v, vouched)
    t_ok, v_ok = t[ok], v[ok]
    t_ok.flags.writeable = False
    v_ok.flags.writeable = False
    return Series(key, t_ok, v_ok, int(len(v) - ok.sum()))


def _nibp(raw: Mapping[str, tuple[np.ndarray, np.ndarray]],
          vouched: Mapping[str, np.ndarray] | None = None) -> tuple[NibpReading, ...]:
    """NIBP components measured together (one message, so one time) as one reading."""
    readings: dict[float, dict[str, float | None]] = {}
    for key in NIBP_KEYS:
        t, v = raw[key]
        oks = measurements(key, v, None if vouched is None else vouched[key])
        for t_s, value, ok in zip(t.tolist(), v.tolist(), oks.tolist(), strict=True):
            readings.setdefault(t_s, {})[key] = value if ok else None
    return tuple(NibpReading(t, r.get("sbp"), r.get("dbp"), r.get("map"))
                 for t, r in sorted(readings.items())
                 if any(x is not None for x in r.values()))


def _doses(entries: tuple[TimelineEntry, ...], protocol: Any, weight: float | None
           ) -> tuple[Dose, ...]:
    starts = [e for e in entries if e.kind == EntryKind.DOSE_START]
    stops = sorted(e.t_s for e in entries if e.kind == EntryKind.DOSE_STOP)
    doses = []
    for i, e in enumerate(starts):
        nxt = starts[i + 1].t_s if i + 1 < len(starts) else math.inf
        stop = next((s for s in stops if e.t_s <= s < nxt), None)
        d = e.data
        mg = _float(d.get("dose_mg"))
        if mg is None:
            mg = protocol.dose_mg
        route = d.get("route") or (str(protocol.route) if protocol.route else None)
        doses.append(Dose(
            e.t_s, stop, d.get("drug") or protocol.drug, route, mg,
            mg / weight if mg is not None and weight else None,
            d.get("lot") or protocol.lot,
            _float(d.get("infusion_min")) or protocol.infusion_min, e.author))
    return tuple(doses)


def _extremes(series: Mapping[str, Series]) -> dict[str, Extreme]:
    out = {}
    for key, s in series.items():
        if len(s.values):
            lo, hi = int(np.argmin(s.values)), int(np.argmax(s.values))
            out[key] = Extreme(key, float(s.values[lo]), float(s.t_s[lo]),
                               float(s.values[hi]), float(s.t_s[hi]), len(s.values))
    return out


def sedated(r: Rating) -> bool:
    # MOAA/S 5 is "responds readily to name"; RASS 0 is "alert and calm", > 0 is agitation.
    return r.score < 5 if r.scale == "moaas" else r.score < 0


def _rems(nibp: tuple[NibpReading, ...], dose_s: float | None, ratings: tuple[Rating, ...],
          events: tuple[Event, ...], discharges: tuple[Discharge, ...],
          first_s: float | None, end_t_s: float) -> Rems:
    complete = [r for r in nibp if r.sbp is not None and r.dbp is not None]
    pre = at40 = end = None
    if dose_s is not None:
        before = [r for r in complete if r.t_s < dose_s]
        pre = before[-1] if before else None
        lo, hi = dose_s + REMS_BP_WINDOW_S[0], dose_s + REMS_BP_WINDOW_S[1]
        window = [r for r in complete if lo <= r.t_s <= hi]
        at40 = min(window, key=lambda r: abs(r.t_s - dose_s - REMS_BP_AT_S), default=None)
        after = [r for r in complete if r.t_s >= dose_s]
        end = after[-1] if after else None
    sed = [r for r in ratings if r.kind == EntryKind.SEDATION]
    dis = [r for r in ratings if r.kind == EntryKind.DISSOCIATION]
    resp = tuple(e.t_s for e in events
                 if e.kind == EntryKind.SIDE_EFFECT and "respiratory" in e.name.lower())
    ready = next((d.ready_t_s for d in reversed(discharges) if d.ready_t_s is not None), None)
    return Rems(pre, at40, end,
                None if first_s is None else (end_t_s - first_s) / 60.0,
                any(sedated(r) for r in sed) if sed else None,
                any(r.score > 0 for r in dis) if dis else None,
                resp, ready)


def _items(raw: Any) -> tuple[tuple[int, int], ...]:
    """A CADSS form's items as stored ({"1": 2, ...}); whatever is not a whole item score
    is left out, never guessed."""
    if not isinstance(raw, Mapping):
        return ()
    out = []
    for k, v in raw.items():
        if str(k).isdigit() and isinstance(v, int) and not isinstance(v, bool):
            out.append((int(k), v))
    return tuple(sorted(out))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


def _confirmation(d: Mapping[str, Any], author: str, wall: float) -> Confirmation | None:
    """The early-discharge confirmation stored with a DISCHARGE entry: under
    `EARLY_DISCHARGE_KEY`, what was not met ("; "-joined, as the checklist named it). The
    nurse who saved the discharge ticked it, when the entry was made. None when absent."""
    raw = _text(d.get(EARLY_DISCHARGE_KEY))
    if raw is None:
        return None
    not_met = tuple(x.strip() for x in raw.split(";") if x.strip())
    return Confirmation(author or None, wall, not_met)


def load_report(store: SessionStore, session_id: int, *, now_wall: float | None = None
                ) -> ReportData:
    """Reads everything the report needs; never writes to the store."""
    session = store.load_session(session_id)
    weight = session.patient.weight_kg
    stored = {key: store.sample_series(session_id, key) for key in NUMERIC_KEYS}
    raw = {key: (t, v) for key, (t, v, _) in stored.items()}
    vouched = {key: ok for key, (_, _, ok) in stored.items()}
    series = {key: _series(key, *raw[key], vouched[key]) for key in NUMERIC_KEYS}
    nibp = _nibp(raw, vouched)
    entries = session.entries
    data_end = max([float(s.t_s[-1]) for s in series.values() if len(s.t_s)] +
                   [e.t_s for e in entries] + [0.0])
    end = session.end_wall
    end_t_s = data_end if end is None else end - session.start_wall
    doses = _doses(entries, session.protocol, weight)

    ratings, events, discharges, revisions = [], [], [], []
    for e in entries:
        d, edited = e.data, bool(e.revisions)
        for r in e.revisions:
            revisions.append(Revision(e.kind, e.t_s, r.revised_wall, r.author))
        if e.kind in (EntryKind.SEDATION, EntryKind.DISSOCIATION):
            score = _float(d.get("score"))
            if score is not None:
                ratings.append(Rating(e.t_s, e.kind, str(d.get("scale", "")), score,
                                      e.author, edited, _items(d.get("items"))))
        elif e.kind == EntryKind.DISCHARGE:
            discharges.append(Discharge(e.t_s, str(d.get("scale", "")), _float(d.get("score")),
                                        _float(d.get("ready_t_s")), e.author,
                                        _confirmation(d, e.author, e.t_wall)))
        elif e.kind in (EntryKind.SIDE_EFFECT, EntryKind.INTERVENTION, EntryKind.NOTE,
                        EntryKind.EVENT, EntryKind.BASELINE):
            name = str(d.get("name") or e.kind.replace("_", " "))
            text = d.get("text")
            events.append(Event(e.t_s, e.kind, name, None if text is None else str(text),
                                e.author, edited))

    dose_s = min((x.start_s for x in doses), default=None)
    lo = (dose_s if dose_s is not None else BASELINE_WINDOW_S) - BASELINE_WINDOW_S
    hi = lo + BASELINE_WINDOW_S
    baseline = {}
    for key in continuous_keys():
        w = series[key].window(max(lo, 0.0), hi)
        if len(w):
            baseline[key] = float(np.median(w))
    firsts = [float(s.t_s[0]) for s in series.values() if len(s.t_s)]
    rems = _rems(nibp, dose_s, tuple(ratings), tuple(events), tuple(discharges),
                 min(firsts) if firsts else None, end_t_s)
    device_events = tuple(map(device_event_row, store.device_events(session_id)))
    phases = session_phases(entries, session.protocol, end_t_s)
    return ReportData(
        session_id=session.id, uuid=session.uuid, status=session.status,
        patient=session.patient.identifier, weight_kg=weight, deidentified=False,
        date_shift_days=0, start_wall=session.start_wall, end_wall=session.end_wall,
        end_t_s=end_t_s, generated_wall=time.time() if now_wall is None else now_wall,
        preset=session.preset, devices=tuple(sorted(store.devices(session_id).items())),
        doses=doses, phases=phases, series=MappingProxyType(series), nibp=nibp,
        ratings=tuple(ratings), events=tuple(events), discharges=tuple(discharges),
        device_events=device_events, alarms=load_alarm_log(store, session_id),
        revisions=tuple(revisions), extremes=MappingProxyType(_extremes(series)),
        baseline=MappingProxyType(baseline), rems=rems,
        limit_changes=load_limit_changes(store, session_id))


def route_label(route: str | None) -> str:
    labels = {Route.IV: "IV", Route.IM: "IM", Route.SUBLINGUAL: "sublingual",
              Route.INTRANASAL: "intranasal"}
    if route is None:
        return "--"
    try:
        return labels[Route(route)]
    except ValueError:
        return route
