"""Past sessions for the session browser: the list, its filter, and one session read back
into the same trend buffers (and the same alarm-episode fold) the live dashboard draws from.

Only reads the store (the browser opens it read-only). No Qt: the list filter and the
loader are plain functions the tests call directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from alarms.episodes import Episode
from alarms.model import AlarmKind
from monitor.buffers import SessionTrends
from monitor.resume import fold_alarm_log
from monitor.session import EntryKind, Phase, Session, SessionStatus, entry_mark, phases
from monitor.store import SessionStore
from monitor.store_rows import DeviceEventRow, device_event_row, readings
from monitor.vitals import NUMERIC_KEYS


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One line of the session list."""

    id: int
    patient: str | None
    start_wall: float
    end_wall: float | None  # None while the session is still being recorded
    status: SessionStatus
    sample_count: int
    alarm_count: int  # physiological alarm episodes
    technical_count: int  # technical alarm episodes (sensor off, disconnected...)

    @property
    def duration_s(self) -> float | None:
        return None if self.end_wall is None else self.end_wall - self.start_wall

    @property
    def start_date(self) -> date:
        """The local calendar date it started on (the clinic's day)."""
        return datetime.fromtimestamp(self.start_wall).date()


def list_session_rows(store: SessionStore) -> list[SessionRow]:
    """Every session in the store, newest first."""
    counts = store.alarm_counts()
    rows = []
    for s in store.list_sessions():
        c = counts.get(s.id, {})
        rows.append(SessionRow(s.id, s.patient, s.start_wall, s.end_wall, s.status,
                               s.sample_count, c.get(str(AlarmKind.PHYSIOLOGICAL), 0),
                               c.get(str(AlarmKind.TECHNICAL), 0)))
    rows.sort(key=lambda r: (r.start_wall, r.id), reverse=True)
    return rows


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """What the browser's filter fields ask for; an empty field matches everything."""

    patient: str = ""  # a part of the patient id or initials, any case
    date_from: date | None = None  # local start dates, both ends included
    date_to: date | None = None
    status: SessionStatus | None = None

    def matches(self, row: SessionRow) -> bool:
        text = self.patient.strip().casefold()
        if text and text not in (row.patient or "").casefold():
            return False
        day = row.start_date
        if self.date_from is not None and day < self.date_from:
            return False
        if self.date_to is not None and day > self.date_to:
            return False
        return self.status is None or row.status is self.status


def filter_rows(rows: Iterable[SessionRow], f: SessionFilter) -> list[SessionRow]:
    return [r for r in rows if f.matches(r)]


@dataclass(frozen=True, slots=True)
class SessionHistory:
    """One stored session as the read-only view shows it."""

    session: Session
    end_s: float  # the end of the record: the session's end, or its last datum if active
    trends: SessionTrends
    episodes: tuple[Episode, ...]  # the alarm log, one per alarm (the trend's episodes)
    device_events: tuple[DeviceEventRow, ...]
    alarm_log_available: bool  # False: a store from before the alarm log

    @property
    def dose_start_s(self) -> float | None:
        return self.session.dose_start_s

    def phases(self) -> tuple[Phase, ...]:
        """The phases, the last one closed at the end of the record."""
        return phases(self.session.entries, self.session.protocol, self.end_s)


def load_history(store: SessionStore, session_id: int) -> SessionHistory:
    """Reads one session back: samples into trend arrays (implausible values and gaps as
    the live trend treats them), alarm episodes folded from the logged events as the live
    trend folds them, dose marks carrying the stored route and infusion length so the
    phases match the report's."""
    session = store.load_session(session_id)
    samples = list(store.iter_samples(session_id))
    last_sample = samples[-1][0] if samples else 0.0
    last_entry = max((e.t_s for e in session.entries), default=0.0)
    end_s = (session.end_wall - session.start_wall if session.end_wall is not None
             else max(last_sample, last_entry))
    has_log = store.has_table("alarm_log")
    trends = SessionTrends(hours=max(end_s, 60.0) / 3600.0)
    if has_log:
        fold_alarm_log(store, session_id, trends)
    for reading in readings(samples, set(NUMERIC_KEYS)):
        trends.add_numerics(reading)
    protocol = session.protocol
    for e in session.entries:
        if e.kind not in (EntryKind.DOSE_START, EntryKind.DOSE_STOP):
            continue
        data: dict[str, str | float] = {k: v for k, v in e.data.items()
                                        if isinstance(v, str | int | float)}
        if e.kind == EntryKind.DOSE_START:
            if protocol.route is not None:
                data.setdefault("route", str(protocol.route))
            if protocol.infusion_min is not None:
                data.setdefault("infusion_min", protocol.infusion_min)
        trends(entry_mark(e, data))
    device_events = tuple(map(device_event_row, store.device_events(session_id)))
    return SessionHistory(session, end_s, trends, trends.episodes(), device_events, has_log)

