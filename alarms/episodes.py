"""Alarm episodes: one row per alarm, from the start of its signal to the end of its condition.

The one fold of the streaming engine's `AlarmEvent`s into `Episode`s. The live dashboard
feeds it event by event as the engine emits them (`monitor.buffers.SessionTrends`); the
session browser, the PDF and the CSV fold the same events as the store logged them
(`episodes_from_events`). Both are this code, so a screen and a report cannot disagree on
when an alarm started, ended or how high it went. The batch engine (`alarms.batch`) returns
`Episode`s directly. Pure: no I/O, no threads, no Qt.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from alarms.model import AlarmEvent, AlarmEventKind, AlarmKind, Priority


class Episode(NamedTuple):
    """One alarm episode. Immutable; a named tuple because a long recording makes many
    (the batch engine builds them in bulk). Equality ignores the wall-clock times, which
    only the streaming engine knows, and the source, which the key already names."""

    key: str  # rule id and source, e.g. "spo2-low:sim"
    kind: AlarmKind
    vital: str | None
    condition: str
    priority: Priority  # at the start of the signal (the tier met then)
    onset_t_s: float  # the condition began
    signal_t_s: float  # the alarm signal began (onset + condition delay)
    end_t_s: float | None  # the condition ended; None: still active (or when it ended)
    worst_value: float | None
    limit: float | None
    escalated_t_s: float | None = None  # raised one priority step, unacknowledged
    acknowledged_t_s: float | None = None
    peak: Priority | None = None  # the highest priority reached (tiers, escalation)
    start_wall: float | None = None
    end_wall: float | None = None
    source: str | None = None  # the device it is about; None: Vigil's own or the session's

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
        stepped = self.priority if self.escalated_t_s is None else self.priority.step_up()
        return max(stepped, self.peak or self.priority)

    @property
    def delay_s(self) -> float:
        return self.signal_t_s - self.onset_t_s


_COMPARED = 13  # the fields before start_wall


class EpisodeFold:
    """Folds alarm events, one at a time, into episodes. An alarm is identified by its key
    and onset; an event about an episode already ended (a late acknowledgement) updates it.
    System-wide events (audio pause) and limit changes are not episodes."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, float], Episode] = {}
        self._done: list[Episode] = []

    def add(self, ev: AlarmEvent) -> bool:
        """Takes one event; returns whether an episode began, ended or changed (a reminder
        changes none: the trend need not redraw for it)."""
        a = ev.alarm
        if a is None or ev.event is AlarmEventKind.LIMIT_CHANGE:
            return False
        ident = (a.key, a.onset_t_s)
        ep = self._open.get(ident)
        if ev.event is AlarmEventKind.START:
            self._open[ident] = Episode(a.key, a.kind, a.vital, a.condition, a.priority,
                                        a.onset_t_s, a.signal_t_s, None, a.worst_value,
                                        a.limit, peak=a.priority, start_wall=ev.t_wall,
                                        source=a.source)
            return True
        if ep is None:
            ep = next((e for e in self._done if (e.key, e.onset_t_s) == ident), None)
            if ep is None:
                return False
            self._done.remove(ep)
        before = tuple(ep)
        if ep.peak is not None and a.priority > ep.peak:  # PRIORITY, ESCALATE
            ep = ep._replace(peak=a.priority)
        if ev.event is AlarmEventKind.ESCALATE and ep.escalated_t_s is None:
            ep = ep._replace(escalated_t_s=ev.t_s)
        elif ev.event is AlarmEventKind.ACKNOWLEDGE and ep.acknowledged_t_s is None:
            ep = ep._replace(acknowledged_t_s=ev.t_s)
        if ev.event is AlarmEventKind.END:
            ep = ep._replace(end_t_s=ev.t_s, end_wall=ev.t_wall, worst_value=a.worst_value)
            self._open.pop(ident, None)
            self._done.append(ep)
            return True
        ep = ep._replace(worst_value=a.worst_value)
        if ident in self._open:
            self._open[ident] = ep
        else:
            self._done.append(ep)
        return tuple(ep) != before

    def interrupt(self, stopped_s: float, resumed_s: float) -> bool:
        """A recording gap (a crash, then a resume): the engine that logged the episodes
        still open died with the process and will never end them, so each one whose
        condition began before `resumed_s` ends where the recording stopped (`stopped_s`,
        or its signal start if later). The live trend and the stored log both end them here."""
        ended = [(k, ep) for k, ep in self._open.items() if ep.onset_t_s < resumed_s]
        for ident, ep in ended:
            del self._open[ident]
            self._done.append(ep._replace(end_t_s=max(stopped_s, ep.signal_t_s)))
        return bool(ended)

    def add_log(self, events: Iterable[AlarmEvent],
                gaps: Iterable[tuple[float, float]] = ()) -> bool:
        """A stored alarm log, then its recording gaps ((stopped, resumed), in time order);
        returns whether any episode changed."""
        changed = [self.add(ev) for ev in events]
        ended = [self.interrupt(*gap) for gap in sorted(gaps)]
        return any(changed) or any(ended)

    def episodes(self) -> list[Episode]:
        """Every episode so far, in order of signal start (then key)."""
        out = self._done + list(self._open.values())
        out.sort(key=lambda e: (e.signal_t_s, e.key))
        return out


def episodes_from_events(events: Iterable[AlarmEvent],
                         gaps: Iterable[tuple[float, float]] = ()) -> list[Episode]:
    """The episodes an event stream describes, in order of signal start; `gaps` are the
    recording's (stopped, resumed) gaps (`EpisodeFold.interrupt`)."""
    fold = EpisodeFold()
    fold.add_log(events, gaps)
    return fold.episodes()
