"""Messages to the store's rows and back, in one place: the sample writer, the store's
readers, `resume.py` and `history.py` all map through these, so a column cannot mean one
thing on the way in and another on the way out.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from alarms.model import (
    AlarmEvent,
    AlarmEventKind,
    AlarmKind,
    AlarmState,
    AlarmStatus,
    Priority,
)
from monitor.messages import (
    Battery,
    DeviceCondition,
    DeviceStatus,
    Message,
    Numerics,
    TimelineMark,
    Waveform,
)
from monitor.schema import SAMPLE_IN_ALARM, SAMPLE_VALIDATED

INSERT_ALARM = f"INSERT INTO alarm_log VALUES ({','.join('?' * 19)})"
INSERT_SAMPLES = ("INSERT INTO samples (session_id, t_s, t_wall, vital, value, source, flags)"
                  " VALUES (?,?,?,?,?,?,?)")
INSERT_WAVEFORM = "INSERT INTO waveforms VALUES (?,?,?,?,?,?,?)"
INSERT_DEVICE_EVENT = "INSERT INTO device_events VALUES (?,?,?,?,?,?,?,?,?,?)"
INSERT_ENTRY = ("INSERT INTO timeline (session_id, kind, t_s, t_wall, data, author,"
                " created_wall) VALUES (?,?,?,?,?,?,?)")
# The columns `alarm_event` reads, in its order; then `worst_t_s` and `source` (NULL, or the
# source from the key, in an older store).
ALARM_COLUMNS = ("t_s, t_wall, event, key, kind, priority, vital, condition, message, state,"
                 " onset_t_s, signal_t_s, worst_value, limit_value, acknowledged, user")

SampleRow = tuple[float, float, str, float, str, int]  # t_s, t_wall, vital, value, source, flags


# -- messages to rows ------------------------------------------------------------------

def alarm_row(session_id: int, ev: AlarmEvent) -> tuple[Any, ...]:
    a = ev.alarm
    return (session_id, ev.t_s, ev.t_wall, str(ev.event)) + (
        (None,) * 12 if a is None else
        (a.key, str(a.kind), int(a.priority), a.vital, a.condition, a.message, str(a.state),
         a.onset_t_s, a.signal_t_s, a.worst_value, a.limit, int(a.acknowledged))) + (
        ev.user, None if a is None else a.worst_t_s, None if a is None else a.source)


def entry_row(session_id: int, kind: str, t_s: float, t_wall: float, data: Mapping[str, Any],
              author: str) -> tuple[Any, ...]:
    """A timeline entry's row (`INSERT_ENTRY`), made now."""
    return (session_id, kind, t_s, t_wall, json.dumps(dict(data), sort_keys=True), author,
            time.time())


def flags(m: Numerics, key: str) -> int:
    """A sample's flags column: whether the device vouched for it, whether it alarmed."""
    return ((SAMPLE_VALIDATED if key in m.validated else 0)
            | (SAMPLE_IN_ALARM if key in m.in_alarm else 0))


class Rows:
    """One batch of messages as rows per table (what `SampleWriter` commits at once)."""

    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        self.samples: list[tuple[Any, ...]] = []
        self.waves: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.marks: list[tuple[Any, ...]] = []
        self.alarms: list[tuple[Any, ...]] = []

    def add(self, m: Message | AlarmEvent) -> None:
        sid = self.session_id
        if isinstance(m, Numerics):
            self.samples.extend((sid, m.t_s, m.t_wall, k, v, m.source, flags(m, k))
                                for k, v in m.values)
        elif isinstance(m, Waveform):
            self.waves.append((sid, m.t_s, m.t_wall, m.vital, m.rate_hz,
                               m.values.astype("<f4").tobytes(), m.source))
        elif isinstance(m, DeviceStatus):
            self.events.append((sid, m.t_s, m.t_wall, m.source, "status", str(m.state), None,
                                None, None, m.detail))
        elif isinstance(m, DeviceCondition):
            self.events.append((sid, m.t_s, m.t_wall, m.source, "condition",
                                str(m.condition), int(m.active), m.vital, None, m.detail))
        elif isinstance(m, Battery):
            self.events.append((sid, m.t_s, m.t_wall, m.source, "battery", "battery", None,
                                None, m.percent, ""))
        elif isinstance(m, TimelineMark) and m.entry_id is None:
            # only a mark the recorder could not store at once (the store failed)
            self.marks.append(entry_row(sid, m.kind, m.t_s, m.t_wall, dict(m.data), m.source))
        elif isinstance(m, AlarmEvent):
            self.alarms.append(alarm_row(sid, m))


# -- rows to messages ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DeviceEventRow:
    """One stored device event, as the browser's timeline and the report list it."""

    t_s: float
    source: str
    kind: str  # status, condition, battery
    code: str  # e.g. disconnected, sensor_off
    active: bool | None  # conditions: began (True) or ended (False)
    vital: str | None
    value: float | None  # battery percent
    detail: str = ""


def device_event_row(row: tuple[Any, ...]) -> DeviceEventRow:
    """A `SessionStore.device_events` row (t_s, t_wall, source, kind, code, active, vital,
    value, detail)."""
    t_s, _wall, source, kind, code, active, vital, value, detail = row
    return DeviceEventRow(t_s, source, kind, code, None if active is None else bool(active),
                          vital, value, detail or "")


def alarm_event(row: tuple[Any, ...]) -> AlarmEvent:
    """An alarm-log row (`ALARM_COLUMNS`, then worst_t_s and source) as the event the engine
    emitted."""
    (t_s, t_wall, event, key, kind, priority, vital, condition, message, state, onset,
     signal, worst, limit, acked, user, worst_t, source) = row
    status = None if key is None else AlarmStatus(
        key, AlarmKind(kind), Priority(priority), vital, condition, message,
        AlarmState(state), onset, signal, worst, limit, bool(acked), worst_t, source)
    return AlarmEvent(t_s, t_wall, AlarmEventKind(event), status, user)


def sample_flags(rows: Iterable[SampleRow]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(validated, in_alarm) of a `Numerics` rebuilt from `iter_samples` rows."""
    rows = list(rows)
    return (tuple(r[2] for r in rows if r[5] & SAMPLE_VALIDATED),
            tuple(r[2] for r in rows if r[5] & SAMPLE_IN_ALARM))


def readings(rows: Iterable[SampleRow], vitals: Collection[str] | None = None
             ) -> Iterator[Numerics]:
    """Flagged sample rows (in time order) back into the `Numerics` they were stored from:
    one per reading (same time and source). `vitals` keeps only those (None: all); a
    reading with none of them is left out."""
    kept = rows if vitals is None else (r for r in rows if r[2] in vitals)
    for (t_s, source), group in itertools.groupby(kept, key=lambda r: (r[0], r[4])):
        g = list(group)
        yield Numerics(source, g[0][1], t_s, tuple((r[2], r[3]) for r in g), *sample_flags(g))
