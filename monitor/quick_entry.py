"""Quick entry on the session timeline, without Qt: the entry held for its undo window, the
S key that makes the next digit a MOAA/S score, the dose key's start/stop, and the entries
as the timeline shows them.

A quick entry is stamped when the key is pressed and held for `UNDO_S`; it is saved when
that passes (`expire`), at once with `commit`, or when the next entry is made. `undo` drops
it before it reaches the record. The dose key is held the same way, so the alarm engine
never learns a dose start that was a slip of the finger. The timers are deadlines on a
monotonic clock: the screen (ui/entries.py) calls `expire` when `next_deadline` passes, a
test calls it with a clock it sets. Every action returns the `Toast` to show, if any.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from monitor.entry_catalog import DISSOCIATION_LEVEL, MOAAS, describe, rating
from monitor.messages import TimelineMark
from monitor.recorder import SessionRecorder
from monitor.session import DoseProtocol, EntryKind, Phase, Route, TimelineEntry, mark_entry
from monitor.session import phases as session_phases
from monitor.store import StoreError
from monitor.timefmt import clock_text

log = logging.getLogger(__name__)

UNDO_S = 5.0  # how long a quick entry can be undone before it is saved
SEDATION_KEY_S = 4.0  # after S, how long the next digit counts as MOAA/S


class EntrySink(Protocol):
    """The session's timeline for quick entry: the recorder's entry API and the stored
    entries. Called on the GUI thread."""

    preset: str | None  # the alarm preset: when the REMS checkpoints fall

    def add_entry(self, kind: str, data: Mapping[str, Any], author: str,
                  t_s: float | None = None) -> int: ...

    def edit_entry(self, entry_id: int, author: str, *, t_s: float | None = None,
                   data: Mapping[str, Any] | None = None) -> None: ...

    def entries(self) -> tuple[TimelineEntry, ...]: ...

    def dose_data(self) -> Mapping[str, Any]: ...


class RecorderEntries:
    """The `EntrySink` of a running recorder: entries go through its add/edit API (store,
    alarm engine, displays); the timeline is read back from its store."""

    def __init__(self, recorder: SessionRecorder) -> None:
        self.recorder = recorder
        self.preset = recorder.plan.preset

    def add_entry(self, kind: str, data: Mapping[str, Any], author: str,
                  t_s: float | None = None) -> int:
        return self.recorder.add_entry(kind, data, author, t_s)

    def edit_entry(self, entry_id: int, author: str, *, t_s: float | None = None,
                   data: Mapping[str, Any] | None = None) -> None:
        self.recorder.edit_entry(entry_id, author, t_s=t_s, data=data)

    def entries(self) -> tuple[TimelineEntry, ...]:
        return self.recorder.store.timeline(self.recorder.session_id)

    def dose_data(self) -> Mapping[str, Any]:
        p = self.recorder.plan.protocol
        data = {"drug": p.drug, "route": str(p.route) if p.route else None,
                "dose_mg": p.dose_mg, "infusion_min": p.infusion_min, "lot": p.lot}
        return {k: v for k, v in data.items() if v is not None}


@dataclass(frozen=True, slots=True)
class Pending:
    """An entry about to be saved (the undo window), drawn dimmed at its place."""

    kind: str
    data: Mapping[str, Any]
    t_s: float


@dataclass(frozen=True, slots=True)
class Toast:
    """What to tell the nurse: `undo` offers Undo and Save now; shown for `seconds`."""

    text: str
    undo: bool = False
    seconds: float = 3.0


HIDE = Toast("", seconds=0.0)  # take the toast down now


class QuickEntry:
    """The quick-entry state behind the timeline's keys and buttons.

    `sink` None: nothing is recorded here (a replay); the timeline then shows the marks
    `marks()` returns, read-only. `now_s` is the session time a key press is stamped with;
    `user` who is signed in; `clock` the monotonic clock the undo and S-key deadlines run on.
    """

    def __init__(self, sink: EntrySink | None, now_s: Callable[[], float],
                 user: Callable[[], str],
                 marks: Callable[[], Sequence[TimelineMark]] = tuple,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sink = sink
        self.now_s = now_s
        self.user = user
        self.marks = marks
        self.clock = clock
        self.undo_s = UNDO_S
        self.sedation_key_s = SEDATION_KEY_S
        self.pending: Pending | None = None
        self.last_entry_id: int | None = None
        self.shown: tuple[TimelineEntry, ...] = ()  # the entries as the timeline shows them
        self.revision = 0  # changes when `shown` does
        self.commit_due: float | None = None
        self.sedation_until: float | None = None
        self._unsaved: list[TimelineMark] = []  # marks the store could not take yet

    # -- the entries shown -----------------------------------------------------------------

    def entries(self) -> tuple[TimelineEntry, ...]:
        """The stored entries, plus any device mark the store could not take yet (shown
        read-only until it is stored); with no sink, the marks, read-only."""
        if self.sink is None:
            return tuple(mark_entry(m, -1 - i) for i, m in enumerate(self.marks()))
        try:
            stored = self.sink.entries()
        except StoreError as exc:
            log.error("cannot read the timeline: %s", exc)
            return self.shown
        if not self._unsaved:
            return stored
        keys = {(e.kind, e.t_s, e.author) for e in stored}
        self._unsaved = [m for m in self._unsaved if (m.kind, m.t_s, m.source) not in keys]
        extra = tuple(mark_entry(m, -1 - i) for i, m in enumerate(self._unsaved))
        return tuple(sorted(stored + extra, key=lambda e: (e.t_s, e.id)))

    def reload(self) -> None:
        entries = self.entries()
        if entries != self.shown:
            self.shown = entries
            self.revision += 1

    def on_mark(self, msg: object) -> None:
        """A mark from the runtime: stored already (it has its id), or kept until it is."""
        if not isinstance(msg, TimelineMark):
            return
        if msg.entry_id is None and self.sink is not None:
            self._unsaved.append(msg)
        self.reload()

    def dose_info(self) -> dict[str, Any]:
        """The dose as entered: the dose start's data over the session's protocol."""
        info = dict(self.sink.dose_data()) if self.sink is not None else {}
        start = next((e for e in self.shown if e.kind == EntryKind.DOSE_START), None)
        if start is not None:
            info |= dict(start.data)
        return info

    def phases(self, now_s: float) -> tuple[Phase, ...]:
        """The session model's phases from the entries as shown (an edited dose time moves
        the dosing band with it); the route and infusion length from the dose entry, else
        from the session's protocol."""
        info = self.dose_info()
        minutes = info.get("infusion_min")
        route = info.get("route")
        protocol = DoseProtocol(
            route=Route(route) if isinstance(route, str) and route in set(Route) else None,
            infusion_min=float(minutes) if isinstance(minutes, int | float) else None)
        return session_phases(self.shown, protocol, now_s)

    def dose_running(self) -> bool:
        """A dose start (shown or held) with no dose stop after it."""
        marks = [(e.t_s, e.kind) for e in self.shown
                 if e.kind in (EntryKind.DOSE_START, EntryKind.DOSE_STOP)]
        if self.pending is not None and self.pending.kind in (EntryKind.DOSE_START,
                                                              EntryKind.DOSE_STOP):
            marks.append((self.pending.t_s, self.pending.kind))
        return bool(marks) and max(marks)[1] == EntryKind.DOSE_START

    # -- keys ------------------------------------------------------------------------------

    @property
    def sedation_armed(self) -> bool:
        return self.sedation_until is not None

    def digit(self, n: int) -> Toast | None:
        if self.sedation_armed:
            return self.sedation(n)
        if n <= DISSOCIATION_LEVEL.high:
            return self.dissociation(n)
        return Toast(f"{n}: for MOAA/S press S first")

    def dissociation(self, level: int) -> Toast | None:
        return self.propose(*rating(DISSOCIATION_LEVEL.key, level))

    def sedation(self, score: int) -> Toast | None:
        self.disarm_sedation()
        return self.propose(*rating(MOAAS.key, score))

    def arm_sedation(self) -> Toast:
        self.sedation_until = self.clock() + self.sedation_key_s
        return Toast("MOAA/S: press 5 alert · 4 lethargic · 3 loud · 2 prod · 1 pain · 0 none",
                     seconds=self.sedation_key_s)

    def disarm_sedation(self) -> None:
        self.sedation_until = None

    def dose_toggle(self) -> Toast | None:
        if self.dose_running():
            return self.propose(EntryKind.DOSE_STOP, {})
        return self.propose(EntryKind.DOSE_START,
                            dict(self.sink.dose_data()) if self.sink is not None else {})

    # -- the undo window -------------------------------------------------------------------

    def propose(self, kind: str, data: Mapping[str, Any], t_s: float | None = None
                ) -> Toast | None:
        """Holds an entry for the undo window (saving the one before it first)."""
        if self.sink is None:
            return Toast("Entries are not recorded here")
        if self.pending is not None:
            self.commit()
        self.pending = Pending(kind, dict(data), self.now_s() if t_s is None else t_s)
        self.commit_due = self.clock() + self.undo_s
        return Toast(f"{describe(kind, data)}  at {clock_text(self.pending.t_s)}", undo=True,
                     seconds=self.undo_s)

    def commit(self) -> Toast | None:
        """Saves the held entry now (`last_entry_id` is then its id). If the store fails
        the entry stays held, without a deadline, until Enter retries."""
        p = self.pending
        if p is None or self.sink is None:
            return None
        self.commit_due = None
        try:
            entry_id = self.sink.add_entry(p.kind, p.data, self.user(), p.t_s)
        except (StoreError, OSError) as exc:
            log.error("timeline entry not saved: %s", exc)
            return Toast("NOT SAVED: the store failed. Enter retries.", undo=True, seconds=30)
        self.pending = None
        self.last_entry_id = entry_id
        self.reload()
        return Toast(f"Saved: {describe(p.kind, p.data)}", seconds=2)

    def undo(self) -> Toast | None:
        """Esc: disarms the S key, else drops the held entry (it never reaches the
        record)."""
        if self.sedation_armed:
            self.disarm_sedation()
            return HIDE
        p = self.pending
        if p is None:
            if self.last_entry_id is not None:
                return Toast("Already saved: Ctrl+E to correct it")
            return None
        self.commit_due = None
        self.pending = None
        return Toast(f"Undone: {describe(p.kind, p.data)}", seconds=2)

    def next_deadline(self) -> float | None:
        """When `expire` has something to do (on `clock`), or None."""
        due = [t for t in (self.commit_due, self.sedation_until) if t is not None]
        return min(due) if due else None

    def expire(self) -> Toast | None:
        """Ends what is due: the S key's window, the held entry's undo window (saved)."""
        now = self.clock()
        if self.sedation_until is not None and now >= self.sedation_until:
            self.disarm_sedation()
        if self.commit_due is not None and now >= self.commit_due:
            return self.commit()
        return None

    # -- edits -----------------------------------------------------------------------------

    def edit(self, entry_id: int, t_s: float | None, data: Mapping[str, Any] | None
             ) -> Toast:
        """Changes a stored entry; the store keeps its earlier state with who and when."""
        if self.sink is None:
            return Toast("Entries are not recorded here")
        try:
            self.sink.edit_entry(entry_id, self.user(), t_s=t_s, data=data)
        except StoreError as exc:
            log.error("timeline edit not saved: %s", exc)
            return Toast("EDIT NOT SAVED: the store failed", seconds=10)
        self.reload()
        return Toast("Edit saved (the earlier version is kept)", seconds=3)
