"""Protocol-neutral session events, and their pure mapping to Vigil messages.

The IntelliVue and Datex sessions both speak in these four events, so a driver needs one
mapping for both monitors. Conditions are tracked per vital by the session (with the drivers'
one `devices.conditions.ConditionTracker`), which emits a `ConditionChange` only on a
transition; the mapping is then stateless.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.conditions import ConditionChange
from monitor.messages import Message, Numerics
from monitor.vitals import ORDER


@dataclass(frozen=True, slots=True)
class LinkUp:
    """The monitor is talking to us (association accepted / first data record)."""

    detail: str = ""


@dataclass(frozen=True, slots=True)
class LinkDown:
    """The link is lost: the monitor aborted, refused, or has been silent too long."""

    reason: str


@dataclass(frozen=True, slots=True)
class MonitorReading:
    """Values the monitor marked valid, measured together: the monitor vouches for each
    (`monitor.validity.Flag.VALID`), so each is a measurement even outside the usual range.

    `age_s` is how long before the feeding moment the monitor measured them, by the
    monitor's own clock (an NIBP reading is often minutes old); 0 for live numerics.
    `in_alarm` are the keys the monitor's own alarm is on for.
    """

    values: tuple[tuple[str, float], ...]
    age_s: float = 0.0
    in_alarm: tuple[str, ...] = ()


def in_vital_order(values: dict[str, float]) -> tuple[tuple[str, float], ...]:
    """A reading's values in the registry's order (what the monitor did not name, last),
    so both monitors report a reading the same way whatever order their records hold."""
    return tuple(sorted(values.items(), key=lambda kv: ORDER.get(kv[0], len(ORDER))))


Event = LinkUp | LinkDown | MonitorReading | ConditionChange


def to_messages(event: Event, source: str, t_s: float, t_wall: float) -> list[Message]:
    """The Vigil messages for one event received at session time `t_s` / wall `t_wall`.

    A reading measured before the session began (an NIBP taken before recording started)
    belongs to no session and maps to nothing. Link events map to nothing: the driver
    turns `LinkDown` into `DeviceDisconnected` and the runtime reports device status.
    """
    if isinstance(event, MonitorReading):
        if not event.values or t_s - event.age_s < 0:
            return []
        return [Numerics(source, t_wall - event.age_s, t_s - event.age_s, event.values,
                         tuple(k for k, _ in event.values), event.in_alarm)]
    if isinstance(event, ConditionChange):
        return [event.message(source, t_wall, t_s)]
    return []
