"""What the alarm system tells the rest of Vigil: immutable, safe to hand across threads.

The engine (on the device thread) owns the alarm states; the store logs `AlarmEvent`s, the
dashboard draws `AlarmSnapshot`s. Priorities and states follow IEC 60601-1-8.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Priority(IntEnum):
    """An alarm's priority; its value is its rank, so priorities compare and sort as they
    outrank each other (`max`, `sorted`): nowhere else re-encodes the order."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def asterisks(self) -> str:
        return "*" * int(self)

    @property
    def label(self) -> str:
        """'high', 'medium', 'low': as logged, exported and printed."""
        return self.name.lower()

    def step_up(self) -> Priority:
        """One step up, as an unacknowledged alarm escalates (HIGH stays HIGH)."""
        return Priority(min(int(self) + 1, int(Priority.HIGH)))


class AlarmKind(StrEnum):
    PHYSIOLOGICAL = "physiological"
    TECHNICAL = "technical"
    ADVISORY = "advisory"


class AlarmState(StrEnum):
    ACTIVE = "active"  # the condition is present
    LATCHED = "latched"  # the condition ended; a high-priority alarm stays shown until acknowledged
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class AlarmStatus:
    """One alarm condition as it stands now."""

    key: str  # stable id of the condition (rule id + source), e.g. "spo2-critical"
    kind: AlarmKind
    priority: Priority
    vital: str | None
    condition: str  # short text, e.g. "SpO2 LOW", "SpO2 probe off"
    message: str  # the banner text, e.g. "** SpO2 86 < 90"
    state: AlarmState
    onset_t_s: float  # when the condition began (before any delay)
    signal_t_s: float  # when the alarm signal started (onset + condition delay)
    worst_value: float | None
    limit: float | None
    acknowledged: bool
    worst_t_s: float | None = None  # session time at which worst_value was seen
    source: str | None = None  # the device it is about; None: Vigil's own or the session's


@dataclass(frozen=True, slots=True)
class AlarmSnapshot:
    """The alarm system's state at `t_s`, for the display and the audio."""

    t_s: float
    alarms: tuple[AlarmStatus, ...]  # highest priority first, then newest
    audio_paused_until_s: float | None  # AUDIO PAUSED ends then (None: not paused)
    audio_available: bool
    sounding: Priority | None  # the priority the audio should sound now (None: silent)

    @property
    def highest(self) -> Priority | None:
        return max((a.priority for a in self.alarms), default=None)


class AlarmEventKind(StrEnum):
    START = "start"
    END = "end"
    ESCALATE = "escalate"  # unacknowledged for the rule's time: one priority step up
    PRIORITY = "priority"  # a more or less severe tier of the condition is met now
    REMINDER = "reminder"  # acknowledged but still present: it sounds again
    ACKNOWLEDGE = "acknowledge"
    AUDIO_PAUSE = "audio_pause"
    SESSION_END = "session_end"  # the session ended with this alarm still active (its final state)
    # A person changed a limit. The event's status describes the rule, not an alarm: key is
    # the rule id, limit the new value, worst_value the value it replaced.
    LIMIT_CHANGE = "limit_change"


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """One change, for the alarm log in the store."""

    t_s: float
    t_wall: float
    event: AlarmEventKind
    alarm: AlarmStatus | None  # None for system-wide events (audio pause)
    user: str = ""
