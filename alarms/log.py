"""Alarm episodes: one row per alarm, from the start of its signal to the end of its condition.

The streaming engine emits `AlarmEvent`s (the store keeps them as they come); the batch
engine returns `Episode`s directly. `episodes_from_events` folds an event stream into the
same `Episode`s, so both engines, the store and the CSV export speak one format.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from alarms.model import AlarmEvent, AlarmEventKind, AlarmKind, Priority


class Episode(NamedTuple):
    """One alarm episode. Immutable; a named tuple because a long recording makes many
    (the batch engine builds them in bulk). Equality ignores the wall-clock times, which
    only the streaming engine knows."""

    key: str  # rule id and source, e.g. "spo2-low:sim"
    kind: AlarmKind
    vital: str | None
    condition: str
    priority: Priority  # at the start of the signal (the tier met then)
    onset_t_s: float  # the condition began
    signal_t_s: float  # the alarm signal began (onset + condition delay)
    end_t_s: float | None  # the condition ended; None: still active when the session ended
    worst_value: float | None
    limit: float | None
    escalated_t_s: float | None = None  # raised one priority step, unacknowledged
    acknowledged_t_s: float | None = None
    peak: Priority | None = None  # the highest priority reached (tiers, escalation)
    start_wall: float | None = None
    end_wall: float | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Episode) and self[:_COMPARED] == other[:_COMPARED]

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self[:_COMPARED])

    @property
    def rule_id(self) -> str:
        return self.key.split(":", 1)[0]

    @property
    def highest(self) -> Priority:
        """The priority it reached (a more severe tier, or one step up if it escalated)."""
        stepped = self.priority if self.escalated_t_s is None else Priority(
            min(int(Priority.HIGH), int(self.priority) + 1))
        return max(stepped, self.peak or self.priority)

    @property
    def delay_s(self) -> float:
        return self.signal_t_s - self.onset_t_s


_COMPARED = 13  # the fields before start_wall


def episodes_from_events(events: Iterable[AlarmEvent]) -> list[Episode]:
    """The episodes an event stream describes, in order of signal start."""
    open_: dict[tuple[str, float], Episode] = {}
    done: list[Episode] = []
    for ev in events:
        a = ev.alarm
        if a is None or ev.event is AlarmEventKind.LIMIT_CHANGE:
            continue
        ident = (a.key, a.onset_t_s)
        ep = open_.get(ident)
        if ev.event is AlarmEventKind.START:
            open_[ident] = Episode(a.key, a.kind, a.vital, a.condition, a.priority,
                                   a.onset_t_s, a.signal_t_s, None, a.worst_value, a.limit,
                                   peak=a.priority, start_wall=ev.t_wall)
            continue
        if ep is None:
            ep = next((e for e in done if (e.key, e.onset_t_s) == ident), None)
            if ep is None:
                continue
            done.remove(ep)
        if ep.peak is not None and a.priority > ep.peak:  # PRIORITY, ESCALATE
            ep = ep._replace(peak=a.priority)
        if ev.event is AlarmEventKind.ESCALATE and ep.escalated_t_s is None:
            ep = ep._replace(escalated_t_s=ev.t_s)
        elif ev.event is AlarmEventKind.ACKNOWLEDGE and ep.acknowledged_t_s is None:
            ep = ep._replace(acknowledged_t_s=ev.t_s)
        if ev.event is AlarmEventKind.END:
            ep = ep._replace(end_t_s=ev.t_s, end_wall=ev.t_wall, worst_value=a.worst_value)
            open_.pop(ident, None)
            done.append(ep)
            continue
        ep = ep._replace(worst_value=a.worst_value)
        if ident in open_:
            open_[ident] = ep
        else:
            done.append(ep)
    out = done + list(open_.values())
    out.sort(key=lambda e: (e.signal_t_s, e.key))
    return out


class LimitChange(NamedTuple):
    """A limit a person changed during the session (from a LIMIT_CHANGE event)."""

    t_s: float
    t_wall: float
    rule_id: str
    vital: str | None
    condition: str
    old: float | None
    new: float | None
    user: str


def limit_changes(events: Iterable[AlarmEvent]) -> list[LimitChange]:
    """The limit changes in an event stream, in order: what the report shows as the limits
    in force besides the preset."""
    return [LimitChange(ev.t_s, ev.t_wall, ev.alarm.key, ev.alarm.vital, ev.alarm.condition,
                        ev.alarm.worst_value, ev.alarm.limit, ev.user)
            for ev in events
            if ev.event is AlarmEventKind.LIMIT_CHANGE and ev.alarm is not None]
