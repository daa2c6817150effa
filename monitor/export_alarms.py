"""The alarm-log CSV: one row per alarm episode, from the store's alarm events.

Header `start_utc,end_utc,t_start_s,t_end_s,vital,kind,condition,priority,worst_value,limit,
acknowledged_t_s`. The start is when the alarm signal began (onset + condition delay); the
end is when the condition ended, empty if it was still active when the session ended.
`priority` is the highest the alarm reached (after any escalation).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO

from alarms.episodes import Episode
from monitor.resume import stored_episodes
from monitor.store import SessionStore
from monitor.timefmt import iso_utc, number, seconds

HEADER = ("start_utc", "end_utc", "t_start_s", "t_end_s", "vital", "kind", "condition",
          "priority", "worst_value", "limit", "acknowledged_t_s")


def _opt(value: float | None) -> str:
    return "" if value is None else number(value)


def episode_row(ep: Episode, start_wall: float) -> tuple[str, ...]:
    end_wall = ep.end_wall if ep.end_wall is not None else (
        None if ep.end_t_s is None else start_wall + (ep.end_t_s - ep.signal_t_s))
    return (iso_utc(ep.start_wall if ep.start_wall is not None else start_wall),
            "" if end_wall is None else iso_utc(end_wall),
            seconds(ep.signal_t_s), "" if ep.end_t_s is None else seconds(ep.end_t_s),
            ep.vital or "", str(ep.kind), ep.condition, ep.highest.label,
            _opt(ep.worst_value), _opt(ep.limit),
            "" if ep.acknowledged_t_s is None else seconds(ep.acknowledged_t_s))


def alarm_rows(store: SessionStore, session_id: int, wall_shift_s: float = 0.0
               ) -> Iterator[tuple[str, ...]]:
    """`wall_shift_s` moves the UTC times (the de-identified export shifts dates)."""
    session_wall0 = store.load_session(session_id).start_wall
    for ep in stored_episodes(store, session_id):
        if wall_shift_s:
            ep = ep._replace(start_wall=None if ep.start_wall is None
                         else ep.start_wall + wall_shift_s,
                         end_wall=None if ep.end_wall is None else ep.end_wall + wall_shift_s)
        yield episode_row(ep, session_wall0 + wall_shift_s + ep.signal_t_s)


def write_alarms_csv(store: SessionStore, session_id: int, out: IO[str],
                     wall_shift_s: float = 0.0) -> int:
    """Writes the CSV to an open text stream; returns the number of episodes."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    n = 0
    for row in alarm_rows(store, session_id, wall_shift_s):
        writer.writerow(row)
        n += 1
    return n
