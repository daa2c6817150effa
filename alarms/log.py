"""The alarm log's limit changes: what a person changed during the session.

The streaming engine emits `AlarmEvent`s (the store keeps them as they come); their alarm
episodes are folded in `alarms.episodes`, their limit changes here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from alarms.model import AlarmEvent, AlarmEventKind


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
