"""What the central board knows about each room, from the payloads it received (Qt-free).

The board is a second screen: it must never hide that a room has gone quiet. Liveness is
judged by the board's own clock (no live message for `OFFLINE_AFTER_S`) as well as by the
room's last will; either makes the room "offline", a MEDIUM technical alarm of the board
itself (IEC 60601-1-8 asks for a technical alarm at each end of a failed link). A retained
message proves nothing about the room now, so it never counts as a sign of life.

The GUI thread owns one `BoardModel`: it ingests `Received` messages from the bridge and
asks for immutable `RoomView`s each time it paints. The last 30 minutes of each room's
numerics and alarm transitions are kept for the room's detail view.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from alarms.model import AlarmKind, Priority
from monitor.central.payloads import REASON_CLOSED, REASON_LOST, Alarm, AlarmSet, Numerics, Status
from monitor.vitals import VITALS, VitalKind

OFFLINE_AFTER_S = 3.0  # no live message for this long (board clock): the room is offline
HISTORY_S = 30 * 60.0  # what a tile's detail view shows
ACK_WAIT_S = 5.0  # a remote ack not seen in the room's alarms by then was not applied
OFFLINE_ID = "room-offline"
SHOWN_VITALS = ("hr", "spo2", "sbp", "dbp", "map", "pr", "rr")


@dataclass(frozen=True, slots=True)
class Received:
    """A validated payload, the topic it came on and when the board received it."""

    topic: str
    room: str
    payload: Status | Numerics | AlarmSet
    at: float  # board wall clock, epoch s
    retained: bool = False  # a broker's stored copy: not a sign that the room is alive


@dataclass(frozen=True, slots=True)
class LinkState:
    """The board's own link to the broker."""

    connected: bool
    detail: str
    at: float


@dataclass(frozen=True, slots=True)
class Reading:
    """One numeric as the board shows it. `value` is None unless it is live now."""

    vital: str
    label: str
    unit: str
    value: float | None
    t: float | None  # measurement time (last good value when not live)
    state: str  # "live", "stale", "invalid", or "offline" when the room is offline

    @property
    def live(self) -> bool:
        return self.state == "live" and self.value is not None


@dataclass(frozen=True, slots=True)
class RoomAlarm:
    id: str
    vital: str | None
    kind: AlarmKind
    text: str
    priority: Priority
    onset: float
    acknowledged: bool
    audio_paused: bool
    board: bool = False  # raised by the board itself (room offline), not by the room

    def rank(self) -> tuple[int, int, int, int, float]:
        """Sort key, worst first: priority; unacknowledged; the patient's alarm before a
        technical notice of the same priority; the room's own before the board's; newest."""
        return (-int(self.priority), int(self.acknowledged),
                0 if self.kind == AlarmKind.PHYSIOLOGICAL else 1, int(self.board), -self.onset)


@dataclass(frozen=True, slots=True)
class RoomView:
    room: str
    online: bool
    last_message: float | None  # the room's time of its last message
    offline_reason: str  # "" when online
    closed: bool  # stopped cleanly with no session under way: offline without an alarm
    phase: str | None
    dose_start: float | None
    next_due: tuple[str, float] | None
    patient: str | None
    readings: tuple[Reading, ...]
    alarms: tuple[RoomAlarm, ...]  # worst first; the board's "room offline" included
    ack_note: str  # the outcome of the last remote acknowledgement, for a while
    numerics_t: float | None = None  # the room's time of the numerics shown
    offset: float = 0.0  # the room's clock minus the board's, from its last live message

    def room_now(self, now: float) -> float:
        """The board's time `now` on the room's clock: ages, the time since the dose and what
        is due are measured on the clock that stamped them, so a room whose clock is off by
        minutes still shows its values as live (and a stale one as stale)."""
        return now + self.offset

    @property
    def worst(self) -> RoomAlarm | None:
        return self.alarms[0] if self.alarms else None

    def reading(self, vital: str) -> Reading | None:
        return next((r for r in self.readings if r.vital == vital), None)


@dataclass(frozen=True, slots=True)
class AlarmTransition:
    """One change in a room's alarm set, for the detail view's list."""

    t: float
    what: str  # "start", "end", "acknowledged"
    alarm: RoomAlarm


@dataclass
class _Room:
    name: str
    status: Status | None = None
    numerics: Numerics | None = None
    alarms: AlarmSet | None = None
    last_live_at: float | None = None  # board clock
    last_message: float | None = None  # room clock
    offline_status_at: float | None = None  # board clock: a will or a clean stop arrived
    offline_acked: bool = False
    pending_acks: dict[str, float] = field(default_factory=dict)
    ack_note: tuple[str, float] | None = None
    history: deque[tuple[float, tuple[tuple[str, float | None], ...]]] = field(
        default_factory=deque)
    transitions: deque[AlarmTransition] = field(default_factory=deque)
    went_offline: float | None = None
    offset: float = 0.0


def _natural(name: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in re.split(r"(\d+)", name) if part)


def _priority(text: str) -> Priority:
    return Priority[text]


def _alarm(item: Alarm) -> RoomAlarm:
    return RoomAlarm(item.id, item.vital, AlarmKind(item.kind), item.text,
                     _priority(item.priority), item.onset, item.acknowledged, item.audio_paused)


class BoardModel:
    """Every room seen, by name. Not thread-safe: the GUI thread owns it."""

    def __init__(self, offline_after_s: float = OFFLINE_AFTER_S) -> None:
        self.offline_after_s = offline_after_s
        self._rooms: dict[str, _Room] = {}
        self.link: LinkState | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """Every room seen, in natural order (room-2 before room-10)."""
        return tuple(sorted(self._rooms, key=_natural))

    def ingest(self, event: Received | LinkState) -> None:
        if isinstance(event, LinkState):
            self.link = event
            return
        room = self._rooms.setdefault(event.room, _Room(event.room))
        p = event.payload
        offline = isinstance(p, Status) and not p.online
        if offline:
            room.offline_status_at = event.at
        elif not event.retained:
            room.last_live_at = event.at
            room.offline_acked = False
            room.offset = p.t - event.at
        if not (isinstance(p, Status) and p.reason == REASON_LOST):
            room.last_message = max(room.last_message or p.t, p.t)  # a will: connect time
        if isinstance(p, Status):
            room.status = p
        elif isinstance(p, Numerics):
            room.numerics = p
            room.history.append((p.t, tuple((v.vital, v.value) for v in p.values)))
        elif isinstance(p, AlarmSet):
            self._alarms(room, p, event.at)
        self._prune(room, event.at)

    def _alarms(self, room: _Room, p: AlarmSet, now: float) -> None:
        old = room.alarms
        # QoS 1 may deliver twice and a reconnect republishes: an older set never wins.
        if old is not None and p.seq <= old.seq and p.t <= old.t:
            return
        room.alarms = p
        before = {a.id: _alarm(a) for a in (old.alarms if old else ())}
        after = {a.id: _alarm(a) for a in p.alarms}
        for key, a in after.items():
            if key not in before:
                room.transitions.append(AlarmTransition(a.onset, "start", a))
            elif a.acknowledged and not before[key].acknowledged:
                room.transitions.append(AlarmTransition(p.t, "acknowledged", a))
            if a.acknowledged and key in room.pending_acks:
                del room.pending_acks[key]
                room.ack_note = (f"acknowledged: {a.text}", now)
        for key, a in before.items():
            if key not in after:
                room.transitions.append(AlarmTransition(p.t, "end", a))
                if room.pending_acks.pop(key, None) is not None:
                    room.ack_note = (f"ended before the room acknowledged it: {a.text}", now)

    def _prune(self, room: _Room, now: float) -> None:
        # Numerics by the room's clock, transitions too: both come from the room.
        horizon = (room.last_message or now) - HISTORY_S
        while room.history and room.history[0][0] < horizon:
            room.history.popleft()
        while room.transitions and room.transitions[0].t < horizon:
            room.transitions.popleft()

    # -- what the board shows --------------------------------------------------------------

    def _offline(self, room: _Room, now: float) -> tuple[bool, str, bool]:
        """(offline, why, closed)."""
        st = room.status
        if room.offline_status_at is not None and (
                room.last_live_at is None or room.offline_status_at >= room.last_live_at):
            reason = (st.reason if st is not None and not st.online else None) or "offline"
            watching = st is not None and st.session is not None and not st.session.discharged
            if reason == REASON_CLOSED and not watching:
                return True, REASON_CLOSED, True
            return True, reason, False
        if room.last_live_at is None:
            return True, "no live message since the board started", False
        if now - room.last_live_at > self.offline_after_s:
            return True, f"no message for {now - room.last_live_at:.0f} s", False
        return False, "", False

    def view(self, name: str, now: float) -> RoomView:
        room = self._rooms[name]
        offline, why, closed = self._offline(room, now)
        if offline and room.went_offline is None:
            room.went_offline = now
            room.transitions.append(AlarmTransition(now, "start", self._offline_alarm(
                room, now, why)))
        elif not offline and room.went_offline is not None:
            room.transitions.append(AlarmTransition(now, "end", self._offline_alarm(
                room, room.went_offline, "back online")))
            room.went_offline = None
        alarms = [_alarm(a) for a in (room.alarms.alarms if room.alarms else ())]
        if offline and not closed:
            alarms.append(self._offline_alarm(room, room.went_offline or now, why))
        alarms.sort(key=RoomAlarm.rank)
        st = room.status
        session = st.session if st is not None else None
        next_due = None
        if session is not None and session.next_due:
            first = min(session.next_due, key=lambda d: d.due)
            next_due = (first.what, first.due)
        note = ""
        for key, sent in list(room.pending_acks.items()):
            if now - sent > ACK_WAIT_S:
                del room.pending_acks[key]
                room.ack_note = ("acknowledgement not applied: this room does not accept "
                                 "remote acknowledgement", now)
        last_sent = max(room.pending_acks.values(), default=None)
        if room.ack_note is not None and now - room.ack_note[1] < 3 * ACK_WAIT_S and (
                last_sent is None or room.ack_note[1] >= last_sent):
            note = room.ack_note[0]  # the newest outcome
        elif last_sent is not None:
            note = "acknowledgement sent, waiting for the room"
        return RoomView(name, not offline, room.last_message, why, closed,
                        session.phase if session else None,
                        session.dose_start if session else None, next_due,
                        session.patient if session else None,
                        self._readings(room, offline, now + room.offset), tuple(alarms), note,
                        room.numerics.t if room.numerics else None, room.offset)

    def _offline_alarm(self, room: _Room, onset: float, why: str) -> RoomAlarm:
        return RoomAlarm(OFFLINE_ID, None, AlarmKind.TECHNICAL, "room offline",
                         Priority.MEDIUM, onset, room.offline_acked, False, board=True)

    def _readings(self, room: _Room, offline: bool, room_now: float) -> tuple[Reading, ...]:
        if room.numerics is None:
            return ()
        out = []
        for v in room.numerics.values:
            state: str = v.state
            value = v.value if state == "live" else None  # never a stale number as live
            vital = VITALS.get(v.vital)
            too_old = (vital is not None and vital.kind == VitalKind.CONTINUOUS
                       and vital.stale_after_s is not None and v.t is not None
                       and room_now - v.t > vital.stale_after_s)
            if value is not None and not math.isfinite(value):
                value, state = None, "invalid"
            if offline:
                value, state = None, "offline"
            elif too_old and value is not None:
                value, state = None, "stale"
            out.append(Reading(v.vital, v.label, v.unit, value, v.t, state))
        return tuple(out)

    def views(self, now: float) -> tuple[RoomView, ...]:
        return tuple(self.view(n, now) for n in self.names)

    def history(self, name: str) -> tuple[tuple[float, tuple[tuple[str, float | None], ...]],
                                          ...]:
        """The room's numerics of the last 30 min: (room time, ((vital, value|None), ...))."""
        return tuple(self._rooms[name].history)

    def transitions(self, name: str) -> tuple[AlarmTransition, ...]:
        return tuple(self._rooms[name].transitions)

    # -- acting on it ----------------------------------------------------------------------

    def acknowledge_offline(self, name: str) -> None:
        """The nurse at the board has seen that the room is offline: its sound stops; the
        alarm stays shown until the room is back."""
        self._rooms[name].offline_acked = True

    def ack_sent(self, name: str, alarm_id: str, now: float) -> None:
        """A remote acknowledgement went out; it counts as applied only when the room's
        republished alarms show it acknowledged."""
        self._rooms[name].pending_acks[alarm_id] = now

    def ack_not_sent(self, name: str, now: float) -> None:
        """The link to the broker is down: the board says the request did not go."""
        self._rooms[name].ack_note = ("acknowledgement not sent: no link to the broker", now)

    def sounding(self, now: float, allowed: Iterable[Priority],
                 views: Iterable[RoomView] | None = None) -> Priority | None:
        """What the board sounds: the worst unacknowledged alarm of any room whose priority
        the site lets the board sound. A room's audio pause means someone is at that bedside:
        the board does not sound that room's alarms either. `views`: this moment's views, if
        the caller has them already."""
        allowed = frozenset(allowed)
        worst: Priority | None = None
        for view in self.views(now) if views is None else views:
            for a in view.alarms:
                if a.acknowledged or a.audio_paused or a.priority not in allowed:
                    continue
                if worst is None or a.priority > worst:
                    worst = a.priority
        if self.link is not None and not self.link.connected and Priority.MEDIUM in allowed:
            worst = max(worst or Priority.MEDIUM, Priority.MEDIUM)
        return worst
