"""What the feed sends, decided from the session's messages as they come: the sink keeps
each vital's latest value; `tick` makes the periodic vitals message, an NIBP reading or a
score makes one at once, an alarm event makes a PCD-04 alert. Only measured, current
values: a stale value, an artefact, a value under a device condition on its vital, or an
inconsistent NIBP reading is never a number sent. The live feed and the batch file rebuilt
from the store use this same code.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Collection
from typing import Protocol

from alarms.engine import nibp_reading_valid
from alarms.model import AlarmEvent
from monitor.hl7.codes import SCORE_CODES, VITAL_CODES
from monitor.hl7.messages import ALERT_EVENTS, Observation, Party, oru_r01, oru_r40
from monitor.hl7.outbox import Channel, OutboxError
from monitor.live import Freshness, LiveState
from monitor.messages import EntryKind, Message, Numerics, TimelineMark
from monitor.vitals import NIBP_KEYS, VITALS, VitalKind

log = logging.getLogger(__name__)

# Messages kept in memory while the store refuses them (a full disk): a day at one a minute.
MAX_UNSTORED = 1440
SCORE_KINDS = (EntryKind.DISSOCIATION, EntryKind.SEDATION, EntryKind.DISCHARGE)
_CONTINUOUS = tuple(k for k in VITAL_CODES if VITALS[k].kind is VitalKind.CONTINUOUS)


class MessageQueue(Protocol):
    def add(self, channel: Channel, t_wall: float, build: Callable[[str], str]) -> str:
        """Builds the message with its control id (MSH-10) and keeps it; returns the id."""


class MessageList:
    """A queue in memory (the batch file rebuilt from the store): ids `<prefix>-<n>`."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.messages: list[str] = []

    def add(self, channel: Channel, t_wall: float, build: Callable[[str], str]) -> str:
        control_id = f"{self.prefix}-{len(self.messages) + 1}"
        self.messages.append(build(control_id))
        return control_id


class Builder:
    def __init__(self, queue: MessageQueue, party: Party, channels: Collection[Channel],
                 wall: Callable[[float], float], wall0: float) -> None:
        self.queue = queue
        self.party = party
        self.channels = frozenset(channels)
        self._wall = wall
        self._wall0 = wall0
        self._live = LiveState()
        self._walls: dict[str, float] = {}  # vital -> t_wall of its latest value
        self._lock = threading.Lock()  # alarm events may come from another thread
        self._unstored: deque[tuple[Channel, float, Callable[[str], str]]] = deque(
            maxlen=MAX_UNSTORED)

    def __call__(self, msg: Message) -> None:
        """The runtime's sink: every message of the session, in order."""
        self._live(msg)
        if Channel.PCD01 not in self.channels:
            return
        if isinstance(msg, Numerics):
            for key, _ in msg.values:
                self._walls[key] = msg.t_wall
            if msg.get("sbp") is not None:
                self._nibp(msg)
        elif isinstance(msg, TimelineMark) and msg.kind in SCORE_KINDS:
            data = dict(msg.data)
            scale, score = data.get("scale"), data.get("score")
            if (isinstance(scale, str) and scale in SCORE_CODES
                    and isinstance(score, int | float) and math.isfinite(score)):
                self._queue(Channel.PCD01, msg.t_wall,
                            [Observation(scale, float(score), msg.t_wall)])

    def _nibp(self, msg: Numerics) -> None:
        sbp, dbp, mean = (msg.get(k) for k in NIBP_KEYS)
        if not nibp_reading_valid(sbp, dbp, mean, msg.measured):
            return  # an invalid reading is a technical condition, never a number sent
        self._queue(Channel.PCD01, msg.t_wall,
                    [Observation(k, v, msg.t_wall, msg.source)
                     for k in NIBP_KEYS if (v := msg.get(k)) is not None])

    def tick(self, t_s: float) -> None:
        """Every period: the continuous vitals measured and current now."""
        if Channel.PCD01 not in self.channels:
            return
        snap = self._live.snapshot(t_s)
        flagged = {vital for _, _, vital in snap.conditions if vital}
        obs = []
        for key in _CONTINUOUS:
            r = snap.readings[key]
            if r.freshness is Freshness.CURRENT and r.value is not None and key not in flagged:
                obs.append(Observation(key, r.value, self._walls[key], r.source))
        if obs:
            self._queue(Channel.PCD01, self._wall(t_s), obs)

    def alert(self, ev: AlarmEvent) -> None:
        """The alarm engine's listener: start, priority changes, acknowledgement, end."""
        if Channel.PCD04 in self.channels and ev.alarm is not None \
                and ev.event in ALERT_EVENTS:
            self._queue(Channel.PCD04, ev.t_wall,
                        lambda cid: oru_r40(self.party, cid, ev, self._wall0))

    def _queue(self, channel: Channel, t_wall: float,
               content: list[Observation] | Callable[[str], str]) -> None:
        build = content if callable(content) else (
            lambda cid: oru_r01(self.party, cid, t_wall, content))
        queued: set[Channel] = set()
        with self._lock:
            if len(self._unstored) == MAX_UNSTORED:
                log.error("HL7: %d messages wait for the store; the oldest is dropped",
                          MAX_UNSTORED)
            self._unstored.append((channel, t_wall, build))
            # Oldest first: a message that could not be stored (a full disk) waits in
            # memory, in order, and goes in with the next message once the store takes it.
            while self._unstored:
                ch, t, b = self._unstored[0]
                try:
                    self.queue.add(ch, t, b)
                except OutboxError as e:  # the store's own alarm covers a failing disk
                    log.error("%s; %d message(s) wait in memory", e, len(self._unstored))
                    break
                except Exception:  # never break the runtime's sinks or the alarm listeners
                    log.exception("HL7 %s message not built", ch)
                else:
                    queued.add(ch)
                self._unstored.popleft()
        for ch in queued:
            self._after_queue(ch)

    def _after_queue(self, channel: Channel) -> None:
        """Called after each message is queued (the live feed wakes its delivery)."""
