"""Resuming a session a crash interrupted: which one to offer, and its earlier data.

The recorder continues the same session (`RecordingPlan.resume_session_id`); these
helpers read what was recorded before the crash so that the alarm engine and the trend
buffers start from it, not from nothing. No Qt.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from alarms.episodes import Episode, episodes_from_events
from monitor.buffers import SessionTrends
from monitor.messages import Message
from monitor.session import EntryKind, Session, SessionStatus, entry_mark
from monitor.store import SessionStore
from monitor.store_rows import readings

# Design choice: a session interrupted longer ago than this is not offered for resuming
# (half the longest session; after that, a new session is the honest record).
RESUME_WITHIN_S = 4 * 3600.0
GAP_AUTHOR = "vigil"  # the gap note is the system's, not a person's


def resumable_sessions(store: SessionStore, now_wall: float | None = None,
                       within_s: float = RESUME_WITHIN_S) -> list[Session]:
    """Every session a crash (or a quit without ending it) left `interrupted` within
    `within_s`, newest first: each is offered at every start until it is resumed, ended or
    too old, whatever was started in between. A session with no recorded value or one
    replayed from a file (no live patient) is not offered."""
    now = time.time() if now_wall is None else now_wall
    out = []
    for summary in reversed(store.list_sessions()):
        if summary.status is not SessionStatus.INTERRUPTED or not summary.sample_count:
            continue
        end = summary.end_wall if summary.end_wall is not None else summary.start_wall
        if now - end > within_s:
            continue
        if any(spec.startswith("replay:") for spec in store.devices(summary.id).values()):
            continue
        out.append(store.load_session(summary.id))
    return out


def resumable_session(store: SessionStore, now_wall: float | None = None,
                      within_s: float = RESUME_WITHIN_S) -> Session | None:
    """The newest of `resumable_sessions`, or None."""
    found = resumable_sessions(store, now_wall, within_s)
    return found[0] if found else None


def history(store: SessionStore, session_id: int, vitals: Iterable[str] | None = None,
            kinds: Iterable[str] | None = None) -> Iterator[Message]:
    """The session's stored numerics (one `Numerics` per reading: same time and source) and
    timeline marks, in time order, as the sinks first saw them. `vitals` / `kinds` keep
    only those vitals / entry kinds (None: all)."""
    keep = None if vitals is None else set(vitals)
    wanted = None if kinds is None else set(kinds)
    marks = [entry_mark(e) for e in store.timeline(session_id)
             if wanted is None or e.kind in wanted]
    mi = 0
    for reading in readings(store.iter_samples(session_id), keep):
        while mi < len(marks) and marks[mi].t_s <= reading.t_s:
            yield marks[mi]
            mi += 1
        yield reading
    yield from marks[mi:]


def recording_gaps(store: SessionStore, session_id: int) -> tuple[tuple[float, float], ...]:
    """(recording stopped, resumed at), in session seconds, of each resume: its gap note."""
    return tuple((float(e.data["gap_start_s"]), e.t_s) for e in store.timeline(session_id)
                 if e.kind == EntryKind.NOTE and e.data.get("event") == "resumed"
                 and isinstance(e.data.get("gap_start_s"), int | float))


def stored_episodes(store: SessionStore, session_id: int) -> list[Episode]:
    """The session's alarm episodes from its log; one the crash left open ends where the
    recording stopped (`EpisodeFold.interrupt`), as on the live trend after the resume."""
    return episodes_from_events(store.alarm_events(session_id),
                                recording_gaps(store, session_id))


def fold_alarm_log(store: SessionStore, session_id: int, trends: SessionTrends) -> None:
    """The same episodes into a trend (the browser's, or the live one of a resumed
    session, before its fresh engine adds to them)."""
    trends.alarm_log(store.alarm_events(session_id), recording_gaps(store, session_id))


def gap_note(last_s: float, resumed_s: float) -> dict[str, float | str]:
    """The NOTE entry that makes the gap visible on the timeline and in the report."""
    gap = max(0.0, resumed_s - last_s)
    return {"text": f"recording resumed after {gap / 60:.0f} min gap", "gap_s": round(gap, 1),
            "gap_start_s": round(last_s, 3), "event": "resumed"}


def dose_marks(session: Session) -> frozenset[str]:
    """The dose entry kinds already on the timeline (a simulator must not mark them twice)."""
    return frozenset(e.kind for e in session.entries
                     if e.kind in (EntryKind.DOSE_START, EntryKind.DOSE_STOP))
