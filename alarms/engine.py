"""The streaming alarm engine: messages in, alarm states and log events out.

One instance per session, injected where it is needed (no class state). The runtime calls
it as a sink with every message and as a ticker with the session time, so delays, "not
current" and "overdue" conditions fire on time even when no data arrives. Time comes only
from `t_s` (messages and ticks), so at `--speed max` the outcome is the same as live.

Each time-based decision is stamped with the exact instant it falls due (onset + delay,
last datum + 30 s), not the tick that noticed it: the log does not depend on the tick
period, and `alarms.batch` reproduces it from arrays. The display learns of it within one
tick (the signal generation delay).

IEC 60601-1-8 states: an alarm is ACTIVE while its condition lasts; ACKNOWLEDGED silences
it until the condition ends; HIGH physiological alarms latch (stay shown, silent) after the
condition ends until acknowledged; AUDIO PAUSED silences the alarms present for 2 min while
new conditions still sound; an unacknowledged alarm escalates one priority step after its
rule's `escalate_after_s`; an acknowledged alarm still present sounds again after the
preset's `reminder_s` (REMINDER). Operator actions may come from any thread (a lock guards
state); listeners are called outside the lock.

One problem, one alarm: the tiers of a limit condition (`rules.tier_groups`, e.g. SpO2 < 90
MEDIUM after 15 s, < 85 HIGH at once) are one alarm whose priority is that of the most
severe tier met past its delay (PRIORITY events log each change); an advisory on a vital
is not raised while a physiological alarm on it (same source) is active.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace

from alarms.model import (
    AlarmEvent,
    AlarmEventKind,
    AlarmKind,
    AlarmSnapshot,
    AlarmState,
    AlarmStatus,
    Priority,
)
from alarms.presets import Preset
from alarms.rules import LimitRule, RelativeRule, When, tier_groups
from monitor.messages import (
    Battery,
    DeviceCondition,
    DeviceState,
    DeviceStatus,
    EntryKind,
    Message,
    Numerics,
    TimelineMark,
)
from monitor.validity import Flag, is_measurement
from monitor.vitals import NIBP_KEYS, VITALS, VitalKind

Listener = Callable[[AlarmEvent], None]
log = logging.getLogger(__name__)

# Deadlines that end a condition run before those that start or escalate one at the same
# instant: a condition that lasted exactly its delay does not signal.
_ENDING, _STARTING = 0, 1


@dataclass(eq=False, slots=True)
class _Alarm:
    """One alarm condition from its onset: pending (before its delay), signalled, ended."""

    key: str
    kind: AlarmKind
    priority: Priority
    vital: str | None
    condition: str
    onset: float
    delay: float
    escalate_after: float | None
    limit: float | None = None
    op: str = ""
    low: bool | None = None  # worst is the min (True), the max (False), or none (None)
    worst: float | None = None
    value: float | None = None
    signal: float | None = None
    alive: bool = True
    latched: bool = False
    escalated: bool = False
    acknowledged: bool = False
    paused_until: float | None = None
    worst_t: float | None = None
    acks: int = 0  # acknowledgements so far: a reminder is for the latest one only
    tiers: tuple[LimitRule, ...] = ()  # a limit condition's tiers, least severe first
    tier_on: list[float | None] = field(default_factory=list)  # onset of each tier met
    tier_ok: list[bool] = field(default_factory=list)  # each tier met past its delay
    base: Priority = Priority.LOW  # the priority it starts from (set from `priority`)
    peak: Priority = Priority.LOW  # the highest it reached

    def __post_init__(self) -> None:
        self.base = self.peak = self.priority

    def see(self, value: float, t: float) -> None:
        self.value = value
        if self.low is None:
            return
        if self.worst is None or (value < self.worst if self.low else value > self.worst):
            self.worst = value
            self.worst_t = t


@dataclass(slots=True)
class _Track:
    """One continuous vital from one source, with its rules' current conditions."""

    source: str
    vital: str
    groups: tuple[tuple[LimitRule, ...], ...]  # tiers of each limit condition
    keys: tuple[str, ...]
    alarms: list[_Alarm | None]
    stale_after: float | None
    last_valid: float | None = None
    scheduled: bool = False  # a staleness deadline is in the heap
    stale: bool = False
    artefact: _Alarm | None = None
    not_current: _Alarm | None = None


@dataclass(slots=True)
class _Nibp:
    """NIBP readings from one source: rule conditions, pre-dose baseline, overdue."""

    source: str
    alarms: dict[str, _Alarm] = field(default_factory=dict)
    readings: list[tuple[float, dict[str, float]]] = field(default_factory=list)  # valid
    last_valid: float | None = None
    scheduled: bool = False
    checks: int = 0  # the overdue check in the heap is the one with this number
    invalid: _Alarm | None = None
    overdue: _Alarm | None = None


# The alarm text says "185 ≥ 180" as a monitor does, not the rule's ">=".
_SHOWN_OP = {">=": "≥", "<=": "≤"}


def _fmt(vital: str | None, value: float | None) -> str:
    if value is None:
        return ""
    if vital is not None and vital in VITALS:
        return VITALS[vital].format(value)
    return f"{value:g}"


def nibp_reading_valid(sbp: float | None, dbp: float | None, mean: float | None,
                       validated: Collection[str] = ()) -> bool:
    """An NIBP reading is a measurement only if it is complete, consistent, and each value
    is a measurement by the validity rule (in range, or vouched for by the device)."""
    def ok(key: str, value: float) -> bool:
        return is_measurement(key, value, Flag.VALID if key in validated else Flag.UNFLAGGED)

    if sbp is None or dbp is None:
        return False
    if not (ok("sbp", sbp) and ok("dbp", dbp)):
        return False
    if not sbp > dbp:
        return False
    if mean is None:
        return True
    return ok("map", mean) and dbp <= mean <= sbp


class AlarmEngine:
    """Evaluates one session's alarms (see the module docstring)."""

    def __init__(self, preset: Preset, *, recorded_sources: Iterable[str] = (),
                 wall0: float | None = None) -> None:
        """`recorded_sources` replay a recording: their gaps are the recording's, so they
        raise no "not current", "NIBP overdue" or link alarms."""
        self.preset = preset
        self.initial_preset = preset  # `set_limit` changes `preset`; this stays as chosen
        self._recorded = frozenset(recorded_sources)
        self._wall0 = wall0
        self._lock = threading.RLock()
        self._deliver = threading.RLock()
        self._listeners: list[Listener] = []
        self._outbox: list[AlarmEvent] = []
        self._now = float("-inf")
        self._heap: list[tuple[float, int, int, Callable[[float], None]]] = []
        self._seq = itertools.count()
        self._active: dict[str, _Alarm] = {}  # signalled, condition present
        self._latched: dict[str, _Alarm] = {}
        self._tracks: dict[tuple[str, str], _Track] = {}
        self._nibp: dict[str, _Nibp] = {}
        self._has: set[tuple[str, str]] = set()  # (source, vital) with a valid value seen
        self._invalidated: dict[tuple[str, str | None], int] = {}
        self._misc: dict[str, _Alarm] = {}  # device, link, battery, system, advisory
        self._link_down: set[str] = set()
        self._forgotten: set[str] = set()  # sources a person disconnected on purpose
        self._dose: float | None = None
        self._doses = 0  # dose starts set or moved: a BP check is for the latest one only
        self._reading_times: list[float] = []  # valid NIBP readings, any source
        self._bp_check: _Alarm | None = None
        self._audio_available = True
        self._paused_until: float | None = None
        self._groups: dict[str, tuple[tuple[LimitRule, ...], ...]] = {}
        self._nibp_groups: tuple[tuple[LimitRule, ...], ...] = ()
        self._group_limits(preset.limits)
        self._relative: tuple[RelativeRule, ...] = preset.relative
        self._artefact = {r.vital: r for r in preset.artefacts}
        self._currency = {r.vital: r for r in preset.currency}

    def _group_limits(self, limits: tuple[LimitRule, ...]) -> None:
        groups = tier_groups(limits)
        self._groups = {}
        for g in groups:
            self._groups[g[0].vital] = (*self._groups.get(g[0].vital, ()), g)
        # Physiological conditions first: an advisory on the same vital yields to them.
        self._nibp_groups = tuple(sorted(
            (g for g in groups if g[0].vital in NIBP_KEYS),
            key=lambda g: g[0].kind is not AlarmKind.PHYSIOLOGICAL))

    # -- wiring ----------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """`listener(event)` for every alarm event, on the thread that caused it."""
        self._listeners.append(listener)

    def _flush(self) -> None:
        # Listeners run outside the state lock (a slow one cannot stall the engine) but
        # under the delivery lock, so that they see events in the order they happened.
        with self._deliver:
            with self._lock:
                out, self._outbox = self._outbox, []
            for ev in out:
                for listener in self._listeners:
                    listener(ev)

    # -- inputs ----------------------------------------------------------------------------

    def __call__(self, msg: Message) -> None:
        """The runtime sink: every message of the session, in order."""
        with self._lock:
            if msg.source in self._forgotten:
                return
            if self._wall0 is None:
                self._wall0 = msg.t_wall - msg.t_s
            t = msg.t_s
            self._advance(t)
            t = max(t, self._now)
            if isinstance(msg, Numerics):
                self._numerics(msg, t)
            elif isinstance(msg, DeviceStatus):
                self._status(msg.source, t, msg.state)
            elif isinstance(msg, DeviceCondition):
                self._device_condition(msg, t)
            elif isinstance(msg, Battery):
                self._battery(msg.source, t, msg.percent)
            elif isinstance(msg, TimelineMark):
                if msg.kind == EntryKind.DOSE_START:
                    self._set_dose(msg.t_s)
                elif msg.kind == EntryKind.DISCHARGE:
                    self._check_min_monitoring(t)
        self._flush()

    def tick(self, t_s: float) -> None:
        """Lets time pass: delays, escalations and "not current" fall due."""
        with self._lock:
            self._advance(t_s)
        self._flush()

    @property
    def dose_start_s(self) -> float | None:
        """The dose start the dose rules use (the first one given, or as moved)."""
        return self._dose

    def set_dose_start(self, t_s: float) -> None:
        """The dose started at `t_s` (a timeline entry): relative rules apply from then."""
        with self._lock:
            self._advance(t_s)
            self._set_dose(t_s)
        self._flush()

    def move_dose_start(self, t_s: float) -> None:
        """A person corrected the dose start to `t_s`: from now on the pre-dose baseline,
        the pre-dose advisories, the BP check, the NIBP schedule and the minimum monitoring
        follow the new time, and the latest reading is judged again against them."""
        with self._lock:
            self._advance(self._now)
            self._apply_dose(t_s)
        self._flush()

    def nibp_interval_s(self, t_s: float) -> float | None:
        """The NIBP interval due at session time `t_s` on the preset's schedule (None:
        no schedule), given the dose start as the engine knows it."""
        od = self.preset.nibp_overdue
        return None if od is None else od.interval_at(t_s, self._dose)

    def end_session(self, t_s: float) -> None:
        """The session ends at `t_s`: checks the minimum monitoring time and logs each alarm
        still active as it stands (SESSION_END). Nothing falls due after this."""
        with self._lock:
            self._advance(t_s)
            self._check_min_monitoring(max(t_s, self._now))
            for a in sorted(self._active.values(), key=lambda a: (a.signal or 0, a.key)):
                self._emit(AlarmEventKind.SESSION_END, a, self._now)
            self._heap.clear()
        self._flush()

    # -- operator and system actions ----------------------------------------------------

    def _action_time(self, t_s: float | None) -> float:
        t = self._now if t_s is None else max(t_s, self._now)
        self._advance(t)
        return t if t > float("-inf") else 0.0

    def acknowledge(self, key: str | None = None, user: str = "",
                    t_s: float | None = None) -> int:
        """Acknowledges one alarm (`key`) or all; returns how many were acknowledged.

        An active alarm falls silent until its condition ends; a latched one is cleared.
        """
        with self._lock:
            t = self._action_time(t_s)
            n = 0
            for a in list(self._active.values()) + list(self._latched.values()):
                if (key is not None and a.key != key) or a.acknowledged:
                    continue
                a.acknowledged = True
                a.acks += 1
                n += 1
                if a.latched:
                    del self._latched[a.key]
                elif self.preset.reminder_s is not None:
                    ack = a.acks
                    self._at(t + self.preset.reminder_s, _STARTING,
                             functools.partial(self._remind, a, ack))
                self._emit(AlarmEventKind.ACKNOWLEDGE, a, t, user)
        self._flush()
        return n

    def pause_audio(self, user: str = "", t_s: float | None = None) -> float:
        """AUDIO PAUSED for the alarms present now; returns when the pause ends.

        An alarm that starts during the pause sounds (IEC 60601-1-8 6.8.1).
        """
        with self._lock:
            t = self._action_time(t_s)
            until = t + self.preset.audio_pause_s
            self._paused_until = until
            for a in self._active.values():
                a.paused_until = until
            self._outbox.append(AlarmEvent(t, self._wall(t), AlarmEventKind.AUDIO_PAUSE,
                                           None, user))
        self._flush()
        return until

    def set_audio_available(self, available: bool, t_s: float | None = None) -> None:
        with self._lock:
            t = self._action_time(t_s)
            self._audio_available = available
            self._system("audio-unavailable", not available, t)
        self._flush()

    def storage_failed(self, exc: BaseException | None, t_s: float | None = None) -> None:
        """The store writer's `on_error`: an exception (failing) or None (works again)."""
        with self._lock:
            t = self._action_time(t_s)
            self._system("storage-failure", exc is not None, t)
        self._flush()

    def set_central_link(self, up: bool, t_s: float | None = None) -> None:
        """The link to the central station is up (or down: a LOW technical condition)."""
        with self._lock:
            t = self._action_time(t_s)
            self._system("central-link", not up, t)
        self._flush()

    def forget_source(self, source: str, user: str = "", t_s: float | None = None) -> None:
        """A person disconnected `source` on purpose: its alarms end now and nothing it
        sends afterwards (its "disconnected" status included) raises an alarm. Call it
        before the runtime removes the device."""
        with self._lock:
            t = self._action_time(t_s)
            self._forgotten.add(source)
            self._link_down.discard(source)
            for (src, _vital), tr in list(self._tracks.items()):
                if src == source:
                    for a in (*tr.alarms, tr.artefact, tr.not_current):
                        self._end(a, t)
                    del self._tracks[(src, _vital)]
            nb = self._nibp.pop(source, None)
            if nb is not None:
                for a in (*nb.alarms.values(), nb.invalid, nb.overdue):
                    self._end(a, t)
            for key, a in list(self._misc.items()):
                if key.endswith(f":{source}") or f":{source}:" in key:
                    self._end(a, t)
                    del self._misc[key]
            self._invalidated = {k: n for k, n in self._invalidated.items() if k[0] != source}
        log.info("alarm sources: %s disconnected by %s", source, user or "the operator")
        self._flush()

    def limit_rules(self) -> tuple[LimitRule, ...]:
        """The limit rules in force (the preset's, as changed during the session)."""
        return self.preset.limits

    def set_limit(self, rule_id: str, value: float, user: str = "",
                  t_s: float | None = None) -> LimitRule:
        """Changes a limit rule's threshold from now on, logged as a LIMIT_CHANGE event.

        Samples and readings that arrive after this are judged against `value`; an alarm
        already signalled keeps the limit it started with until its condition clears.
        ValueError for an unknown rule or a value outside the vital's plausible range."""
        with self._lock:
            old = next((r for r in self.preset.limits if r.id == rule_id), None)
            if old is None:
                raise ValueError(f"no limit rule {rule_id!r} in preset {self.preset.name!r}")
            lo, hi = VITALS[old.vital].plausible
            if not lo <= value <= hi:
                raise ValueError(f"{rule_id}: limit {value:g} is outside the plausible range "
                                 f"of {old.vital} ({lo:g}-{hi:g})")
            t = self._action_time(t_s)
            new = replace(old, limit=float(value))
            limits = tuple(new if r.id == rule_id else r for r in self.preset.limits)
            self.preset = replace(self.preset, limits=limits)
            self._group_limits(limits)
            for tr in self._tracks.values():
                if tr.vital == old.vital:
                    tr.groups = self._groups.get(tr.vital, ())
            text = (f"{old.condition} limit {_fmt(old.vital, old.limit)} -> "
                    f"{_fmt(old.vital, new.limit)}")
            status = AlarmStatus(rule_id, old.kind, old.priority, old.vital, old.condition,
                                 text, AlarmState.ENDED, t, t, old.limit, new.limit, False)
            self._outbox.append(AlarmEvent(t, self._wall(t), AlarmEventKind.LIMIT_CHANGE,
                                           status, user))
        self._flush()
        return new

    # -- outputs ---------------------------------------------------------------------------

    def limits_for(self, vital: str) -> tuple[float | None, float | None] | None:
        """The limits in force that the dashboard shows on the vital's tile."""
        return self.preset.display_limits(vital)

    def snapshot(self, t_s: float | None = None) -> AlarmSnapshot:
        with self._lock:
            now = self._now if t_s is None else max(t_s, self._now)
            shown = list(self._active.values()) + list(self._latched.values())
            shown.sort(key=lambda a: (-int(a.priority), -(a.signal or 0.0), a.key))
            statuses = tuple(self._status_of(a) for a in shown)
            sounding = [a.priority for a in self._active.values()
                        if not a.acknowledged
                        and (a.paused_until is None or now >= a.paused_until)]
            paused = self._paused_until if (self._paused_until is not None
                                             and now < self._paused_until) else None
            return AlarmSnapshot(now if now > float("-inf") else 0.0, statuses, paused,
                                 self._audio_available, max(sounding, default=None))

    # -- time ------------------------------------------------------------------------------

    def _wall(self, t: float) -> float:
        if self._wall0 is None:
            self._wall0 = time.time() - max(t, 0.0)
        return self._wall0 + t

    def _at(self, t: float, order: int, action: Callable[[float], None]) -> None:
        heapq.heappush(self._heap, (t, order, next(self._seq), action))

    def _advance(self, t: float) -> None:
        """Fires every deadline strictly before `t`, in time order."""
        heap = self._heap
        while heap and heap[0][0] < t:
            when, _, _, action = heapq.heappop(heap)
            self._now = max(self._now, when)
            action(when)
        if t > self._now:
            self._now = t

    # -- alarm life cycle ------------------------------------------------------------------

    def _new(self, key: str, kind: AlarmKind, priority: Priority, vital: str | None,
             condition: str, t: float, delay: float = 0.0,
             escalate_after: float | None = None, limit: float | None = None, op: str = "",
             low: bool | None = None, value: float | None = None) -> _Alarm:
        a = _Alarm(key, kind, priority, vital, condition, t, delay, escalate_after, limit, op,
                   low)
        if value is not None:
            a.see(value, t)
        if delay <= 0:
            self._signal(a, t)
        else:
            self._at(t + delay, _STARTING, lambda when: self._signal(a, when))
        return a

    def _signal(self, a: _Alarm, t: float) -> None:
        if not a.alive or a.signal is not None:
            return
        if a.tiers:
            self._apply_tier(a)
        a.signal = t
        self._latched.pop(a.key, None)  # a new episode of the same condition supersedes
        self._active[a.key] = a
        self._emit(AlarmEventKind.START, a, t)
        if a.escalate_after is not None and a.base < Priority.HIGH:
            self._at(t + a.escalate_after, _STARTING, lambda when: self._escalate(a, when))

    def _escalate(self, a: _Alarm, t: float) -> None:
        if not a.alive or a.acknowledged or a.escalated:
            return
        a.escalated = True
        if a.tiers:
            self._apply_tier(a)
        else:
            a.priority = Priority(int(a.priority) + 1)
            a.peak = max(a.peak, a.priority)
        a.paused_until = None  # a higher priority sounds through an audio pause
        self._emit(AlarmEventKind.ESCALATE, a, t)

    def _remind(self, a: _Alarm, ack: int, t: float) -> None:
        """Acknowledged `reminder_s` ago and still present: it sounds again (after an
        audio pause in progress, which a reminder does not override)."""
        if not a.alive or not a.acknowledged or a.acks != ack:
            return
        a.acknowledged = False
        self._emit(AlarmEventKind.REMINDER, a, t)

    def _apply_tier(self, a: _Alarm) -> bool:
        """Priority, text and limit from the most severe tier met past its delay (the
        least severe while none is); True if the priority changed."""
        top = max((j for j, ok in enumerate(a.tier_ok) if ok), default=0)
        rule = a.tiers[top]
        floor = Priority(min(int(Priority.HIGH), int(a.base) + 1)) if a.escalated else a.base
        before = a.priority
        a.priority = max(rule.priority, floor)
        a.condition, a.limit, a.op = rule.condition, rule.limit, rule.op.value
        a.peak = max(a.peak, a.priority)
        return a.priority != before

    def _retier(self, a: _Alarm, t: float) -> None:
        """A tier was met or cleared: a signalled alarm takes the new priority, logged. A
        rise sounds again even if acknowledged or in an audio pause (a new, worse state)."""
        before = a.priority
        if a.signal is None or not self._apply_tier(a):
            return
        if a.priority > before:
            a.acknowledged = False
            a.paused_until = None
        self._emit(AlarmEventKind.PRIORITY, a, t)

    def _end(self, a: _Alarm | None, t: float) -> None:
        if a is None or not a.alive:
            return
        a.alive = False
        if a.signal is None:
            return
        self._active.pop(a.key, None)
        if (self.preset.latch_high and a.peak is Priority.HIGH
                and a.kind is AlarmKind.PHYSIOLOGICAL and not a.acknowledged):
            a.latched = True
            a.priority = Priority.HIGH  # shown as the worst it was, until acknowledged
            self._latched[a.key] = a
        self._emit(AlarmEventKind.END, a, t)

    def _emit(self, kind: AlarmEventKind, a: _Alarm, t: float, user: str = "") -> None:
        self._outbox.append(AlarmEvent(t, self._wall(t), kind, self._status_of(a), user))

    def _status_of(self, a: _Alarm) -> AlarmStatus:
        if a.alive:
            state = AlarmState.ACTIVE
        elif a.latched and not a.acknowledged:
            state = AlarmState.LATCHED
        else:
            state = AlarmState.ENDED
        text = f"{a.priority.asterisks} {a.condition}"
        if state is AlarmState.LATCHED:  # what the nurse missed, not the value at the end
            text += f" {_fmt(a.vital, a.worst)}, ended" if a.worst is not None else ", ended"
        elif a.limit is not None and a.value is not None and a.op:
            op = _SHOWN_OP.get(a.op, a.op)
            text += f" {_fmt(a.vital, a.value)} {op} {_fmt(a.vital, a.limit)}"
        assert a.signal is not None
        return AlarmStatus(a.key, a.kind, a.priority, a.vital, a.condition, text, state,
                           a.onset, a.signal, a.worst, a.limit, a.acknowledged, a.worst_t)

    # -- continuous vitals ---------------------------------------------------------------

    def _track(self, source: str, vital: str) -> _Track:
        tr = self._tracks.get((source, vital))
        if tr is None:
            groups = self._groups.get(vital, ())
            cur = self._currency.get(vital)
            stale = None
            if source not in self._recorded:
                stale = cur.timeout_s if cur is not None else VITALS[vital].stale_after_s
            tr = _Track(source, vital, groups, tuple(f"{g[0].id}:{source}" for g in groups),
                        [None] * len(groups), stale)
            self._tracks[(source, vital)] = tr
        return tr

    def _invalid_by_device(self, source: str, vital: str) -> bool:
        inv = self._invalidated
        return bool(inv) and ((source, vital) in inv or (source, None) in inv)

    def _numerics(self, msg: Numerics, t: float) -> None:
        """Each value judged by the one validity rule (`monitor.validity`): a measurement
        is judged against the limits; anything else is an artefact."""
        source, nibp = msg.source, None
        measured = {key: is_measurement(key, value, msg.flag(key))
                    for key, value in msg.values if key in VITALS}
        for key, value in msg.values:
            if key in NIBP_KEYS:
                nibp = nibp or {}
                nibp[key] = value
            elif measured.get(key):
                self._has.add((source, key))
        for key, value in msg.values:
            v = VITALS.get(key)
            if v is None or v.kind is not VitalKind.CONTINUOUS:
                continue
            self._sample(self._track(source, key), t, value, measured[key])
        if nibp is not None:
            self._reading(source, t, nibp, msg.validated)

    def _sample(self, tr: _Track, t: float, value: float, plausible: bool) -> None:
        by_device = self._invalid_by_device(tr.source, tr.vital)
        if not plausible or by_device:
            for i, a in enumerate(tr.alarms):
                if a is not None:
                    self._end(a, t)
                    tr.alarms[i] = None
            rule = self._artefact.get(tr.vital)
            if not plausible and not by_device and rule is not None and (
                    tr.artefact is None or not tr.artefact.alive):
                tr.artefact = self._new(f"{rule.id}:{tr.source}", AlarmKind.TECHNICAL,
                                        rule.priority, tr.vital, rule.condition, t,
                                        rule.delay_s, rule.escalate_after_s)
            return
        if tr.artefact is not None:
            self._end(tr.artefact, t)
            tr.artefact = None
        tr.last_valid = t
        if tr.stale:
            tr.stale = False
            self._end(tr.not_current, t)
            tr.not_current = None
        if tr.stale_after is not None and not tr.scheduled:
            tr.scheduled = True
            self._at(t + tr.stale_after, _ENDING, lambda when: self._stale_check(tr, when))
        for i, tiers in enumerate(tr.groups):
            fallback = tiers[0].fallback_for
            if fallback is not None and (tr.source, fallback) in self._has:
                self._end(tr.alarms[i], t)
                tr.alarms[i] = None
                continue
            tr.alarms[i] = self._tiers(tr.alarms[i], tr.keys[i], tiers, tr.vital, t, value)

    def _tiers(self, a: _Alarm | None, key: str, tiers: tuple[LimitRule, ...], vital: str,
               t: float, value: float | None) -> _Alarm | None:
        """One limit condition judged on a value (None: its rules do not apply): each tier
        is met from its limit to its clear limit; the alarm lasts while any tier is met and
        signals when one has been met past its delay. Returns the alarm, None once ended."""
        held = [value is not None and bool(
                    r.op.fn(value, r.limit) or (a is not None and a.tier_on[j] is not None
                                                and r.op.fn(value, r.clear_limit)))
                for j, r in enumerate(tiers)]
        if value is None or not any(held):
            self._end(a, t)
            return None
        if a is None:
            r0 = tiers[0]
            a = _Alarm(key, r0.kind, r0.priority, vital, r0.condition, t, r0.delay_s,
                       r0.escalate_after_s, r0.limit, r0.op.value, r0.op.low,
                       tier_on=[None] * len(tiers), tier_ok=[False] * len(tiers))
        a.tiers = tiers
        a.see(value, t)
        for j, r in enumerate(tiers):
            if not held[j]:
                a.tier_on[j] = None
                a.tier_ok[j] = False
            elif a.tier_on[j] is None:
                a.tier_on[j] = t
                if r.delay_s > 0:
                    self._at(t + r.delay_s, _STARTING, functools.partial(self._tier_due, a, j, t))
                else:
                    a.tier_ok[j] = True
        if a.signal is None:
            if any(a.tier_ok):
                self._signal(a, t)
        else:
            self._retier(a, t)
        return a

    def _tier_due(self, a: _Alarm, j: int, onset: float, t: float) -> None:
        if not a.alive or a.tier_on[j] != onset or a.tier_ok[j]:
            return
        a.tier_ok[j] = True
        if a.signal is None:
            self._signal(a, t)
        else:
            self._retier(a, t)

    def _stale_check(self, tr: _Track, when: float) -> None:
        assert tr.stale_after is not None and tr.last_valid is not None
        if tr.source in self._forgotten:
            return
        due = tr.last_valid + tr.stale_after
        if due > when:  # fresher data came: check again then
            self._at(due, _ENDING, lambda w: self._stale_check(tr, w))
            return
        tr.scheduled = False
        tr.stale = True
        for i, a in enumerate(tr.alarms):
            if a is not None:
                self._end(a, when)
                tr.alarms[i] = None
        rule = self._currency.get(tr.vital)
        if rule is not None and tr.source not in self._link_down:
            tr.not_current = self._new(f"{rule.id}:{tr.source}", AlarmKind.TECHNICAL,
                                       rule.priority, tr.vital, rule.condition, when)

    # -- NIBP ------------------------------------------------------------------------------

    def _reading(self, source: str, t: float, r: dict[str, float],
                 validated: Collection[str] = ()) -> None:
        nb = self._nibp.get(source)
        if nb is None:
            nb = self._nibp[source] = _Nibp(source)
        valid = nibp_reading_valid(r.get("sbp"), r.get("dbp"), r.get("map"), validated)
        if not valid or self._invalid_by_device(source, "sbp"):
            for k in list(nb.alarms):
                self._end(nb.alarms.pop(k), t)
            rule = self._artefact.get("sbp")
            if not valid and rule is not None and (nb.invalid is None or not nb.invalid.alive):
                nb.invalid = self._new(f"{rule.id}:{source}", AlarmKind.TECHNICAL,
                                       rule.priority, "sbp", rule.condition, t)
            return
        if nb.invalid is not None:
            self._end(nb.invalid, t)
            nb.invalid = None
        nb.last_valid = t
        nb.readings.append((t, r))
        self._reading_times.append(t)
        if nb.overdue is not None:
            self._end(nb.overdue, t)
            nb.overdue = None
        if self._bp_check is not None:
            self._end(self._bp_check, t)
            self._bp_check = None
        od = self.preset.nibp_overdue
        if od is not None and source not in self._recorded and not nb.scheduled:
            self._schedule_overdue(nb, t + od.timeout_at(t, self._dose))
        self._judge(nb, t, t, r)

    def _judge(self, nb: _Nibp, t: float, reading_t: float, r: dict[str, float],
               dose_only: bool = False) -> None:
        """The NIBP conditions at `t` on the valid reading `r` taken at `reading_t`:
        physiological ones first, then the advisories, which yield to a physiological
        alarm on the same vital. `dose_only`: only those that depend on the dose start."""
        pre_dose = self._dose is None or t < self._dose
        for tiers in self._nibp_groups:
            r0 = tiers[0]
            if dose_only and r0.when is When.ANY:
                continue
            key = f"{r0.id}:{nb.source}"
            applies = r0.when is When.ANY or (r0.when is When.PRE_DOSE) == pre_dose
            if r0.kind is AlarmKind.ADVISORY and self._physiological(nb, r0.vital):
                applies = False
            a = self._tiers(nb.alarms.get(key), key, tiers, r0.vital, t,
                            r.get(r0.vital) if applies else None)
            if a is None:
                nb.alarms.pop(key, None)
            else:
                nb.alarms[key] = a
        base = self._baseline(nb)
        post_dose = self._dose is not None and reading_t >= self._dose
        for rel in self._relative:
            value = r.get(rel.vital)
            limit = None if base is None or rel.vital not in base else base[rel.vital] + rel.rise
            hit = (post_dose and limit is not None and value is not None and value >= limit
                   and not self._physiological(nb, rel.vital))
            self._nibp_rule(nb, f"{rel.id}:{nb.source}", rel, hit, value, limit, t)

    @staticmethod
    def _physiological(nb: _Nibp, vital: str) -> bool:
        return any(a.vital == vital and a.kind is AlarmKind.PHYSIOLOGICAL and a.alive
                   and a.signal is not None for a in nb.alarms.values())

    def _nibp_rule(self, nb: _Nibp, key: str, rule: RelativeRule, hit: bool,
                   value: float | None, limit: float | None, t: float) -> None:
        a = nb.alarms.get(key)
        if hit:
            assert value is not None
            if a is None:
                nb.alarms[key] = self._new(key, rule.kind, rule.priority, rule.vital,
                                           rule.condition, t, 0.0, rule.escalate_after_s,
                                           limit, ">=", False, value)
            else:
                a.limit = limit  # the baseline may have moved with the dose start
                a.see(value, t)
        elif a is not None:
            self._end(nb.alarms.pop(key), t)

    def _baseline(self, nb: _Nibp) -> dict[str, float] | None:
        """The last valid reading before the dose start."""
        dose = self._dose
        if dose is None:
            return None
        return next((r for t, r in reversed(nb.readings) if t < dose), None)

    def _schedule_overdue(self, nb: _Nibp, due: float) -> None:
        nb.checks += 1
        n = nb.checks
        nb.scheduled = True
        self._at(due, _ENDING, lambda when: self._overdue_check(nb, n, when))

    def _overdue_check(self, nb: _Nibp, n: int, when: float) -> None:
        od = self.preset.nibp_overdue
        assert od is not None and nb.last_valid is not None
        if nb.source in self._forgotten or n != nb.checks:
            return
        due = nb.last_valid + od.timeout_at(nb.last_valid, self._dose)
        if due > when:
            self._at(due, _ENDING, lambda w: self._overdue_check(nb, n, w))
            return
        nb.scheduled = False
        nb.overdue = self._new(f"{od.id}:{nb.source}", AlarmKind.TECHNICAL, od.priority,
                               "sbp", od.condition, when)

    # -- the dose and the advisories around it -------------------------------------------

    def _set_dose(self, t: float) -> None:
        if self._dose is None:
            self._apply_dose(t)

    def _apply_dose(self, t: float) -> None:
        """The dose start is `t` (first given or moved): what depends on it is judged again
        now, at the latest reading of each source."""
        self._dose = t
        self._doses += 1
        now = max(t, self._now) if self._doses == 1 else self._now
        if now == float("-inf"):
            now = t
        od = self.preset.nibp_overdue
        for nb in self._nibp.values():
            if not nb.readings:
                continue
            if (nb.invalid is None or not nb.invalid.alive) and not self._invalid_by_device(
                    nb.source, "sbp"):
                self._judge(nb, now, *nb.readings[-1], dose_only=True)
            if (od is not None and nb.last_valid is not None and nb.source not in self._recorded
                    and self._doses > 1 and (nb.overdue is None or not nb.overdue.alive)):
                due = nb.last_valid + od.timeout_at(nb.last_valid, t)
                self._schedule_overdue(nb, max(due, now))
        check = self.preset.bp_check
        if check is not None:
            if self._bp_check is not None:  # due at the old time
                self._end(self._bp_check, now)
                self._bp_check = None
            n, due = self._doses, t + check.after_dose_s
            self._at(max(due, now), _STARTING, lambda when: self._bp_check_due(n, due, when))

    def _bp_check_due(self, n: int, due: float, when: float) -> None:
        check = self.preset.bp_check
        assert check is not None
        if n != self._doses:
            return
        for rt in reversed(self._reading_times):  # a reading in the window, or since
            if rt < due - check.window_s:
                break
            if rt <= when:
                return
        self._bp_check = self._new(f"{check.id}:session", AlarmKind.ADVISORY, check.priority,
                                   "sbp", check.condition, when)

    def _check_min_monitoring(self, t: float) -> None:
        rule = self.preset.min_monitoring
        if rule is None or self._dose is None or t - self._dose >= rule.min_s:
            return
        key = f"{rule.id}:session"
        if key not in self._misc or not self._misc[key].alive:
            self._misc[key] = self._new(key, AlarmKind.ADVISORY, rule.priority, None,
                                        rule.condition, t)

    # -- devices and the system ----------------------------------------------------------

    def _misc_set(self, key: str, on: bool, t: float, make: Callable[[], _Alarm]) -> None:
        a = self._misc.get(key)
        if on and (a is None or not a.alive):
            self._misc[key] = make()
        elif not on and a is not None and a.alive:
            self._end(a, t)

    def _system(self, rule_id: str, on: bool, t: float, source: str | None = None) -> None:
        rule = self.preset.system_rule(rule_id)
        if rule is None:
            return
        key = f"{rule_id}:{source or 'vigil'}"
        text = f"{source}: {rule.condition}" if source else rule.condition
        self._misc_set(key, on, t, lambda: self._new(key, AlarmKind.TECHNICAL, rule.priority,
                                                     None, text, t, rule.delay_s))

    def _status(self, source: str, t: float, state: DeviceState) -> None:
        if source in self._recorded:
            return
        if state in (DeviceState.DISCONNECTED, DeviceState.STALE):
            self._link_down.add(source)
            self._system("link-lost", True, t, source)
        elif state is DeviceState.STREAMING:
            if source in self._link_down:
                self._link_down.discard(source)
                for tr in self._tracks.values():  # vitals that went stale while it was down
                    if tr.source == source and tr.stale and tr.not_current is None:
                        self._rearm(tr, t)
            self._system("link-lost", False, t, source)

    def _rearm(self, tr: _Track, since: float) -> None:
        """After a reconnection a vital gets its staleness limit again to resume."""
        assert tr.stale_after is not None

        def check(when: float) -> None:
            rule = self._currency.get(tr.vital)
            if (tr.stale and tr.not_current is None and rule is not None
                    and (tr.last_valid is None or tr.last_valid < since)
                    and tr.source not in self._link_down and tr.source not in self._forgotten):
                tr.not_current = self._new(f"{rule.id}:{tr.source}", AlarmKind.TECHNICAL,
                                           rule.priority, tr.vital, rule.condition, when)

        self._at(since + tr.stale_after, _ENDING, check)

    def _battery(self, source: str, t: float, percent: float) -> None:
        rule = self.preset.system_rule("battery-low")
        if rule is None or rule.threshold is None:
            return
        a = self._misc.get(f"battery-low:{source}")
        low = a is not None and a.alive
        if percent < rule.threshold:
            self._system("battery-low", True, t, source)
        elif low and percent >= rule.threshold + rule.hysteresis:
            self._system("battery-low", False, t, source)

    def _device_condition(self, msg: DeviceCondition, t: float) -> None:
        rule = self.preset.device_rule(msg.condition)
        if rule is None:
            return
        vital = msg.vital if msg.vital in VITALS else None
        ident = (msg.source, vital)
        if rule.invalidates:
            n = self._invalidated.get(ident, 0)
            was = n > 0
            if msg.active and not was:
                self._invalidated[ident] = 1
                self._reset_vitals(msg.source, vital, t)
            elif not msg.active and was:
                del self._invalidated[ident]
        key = f"{msg.condition.value}:{msg.source}:{vital or '-'}"
        label = VITALS[vital].label if vital else msg.source
        text = f"{label} {rule.text}"
        self._misc_set(key, msg.active, t, lambda: self._new(
            key, AlarmKind.TECHNICAL, rule.priority, vital, text, t, rule.delay_s,
            rule.escalate_after_s))

    def _reset_vitals(self, source: str, vital: str | None, t: float) -> None:
        """A device condition makes the vital's values untrustworthy: its physiological
        conditions end now."""
        for (src, key), tr in self._tracks.items():
            if src == source and (vital is None or key == vital):
                for i, a in enumerate(tr.alarms):
                    if a is not None:
                        self._end(a, t)
                        tr.alarms[i] = None
        nb = self._nibp.get(source)
        if nb is not None and (vital is None or vital in NIBP_KEYS):
            for k in list(nb.alarms):
                self._end(nb.alarms.pop(k), t)
