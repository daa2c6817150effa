"""Alarm rules as data: what raises an alarm condition, at which priority, after what delay.

A preset (`alarms.presets`) is a tuple of these. The engines (`alarms.engine` streaming,
`alarms.batch` vectorised) read them; nothing about a limit is hard-coded in an engine.
Every rule carries a `source`: the published figure it follows, or "design choice: why".

Timing semantics, shared by both engines (the property test holds them to it):
- A condition starts at the first sample that meets it (its onset); its alarm signals when
  it has lasted *longer* than `delay_s` (at once when the delay is 0).
- It ends at the first sample that clears it (past the hysteresis), at the first invalid
  sample, or when the vital stops being current; a condition that ends before its delay has
  run out never signals.
- Escalation raises the priority one step when the alarm has stayed unacknowledged
  *longer* than `escalate_after_s`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from alarms.model import AlarmKind, Priority
from monitor.messages import Condition
from monitor.vitals import NIBP_KEYS, VITALS, VitalKind


class Op(StrEnum):
    """How a value is compared with the limit to meet the condition."""

    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="

    @property
    def low(self) -> bool:
        return self in (Op.LT, Op.LE)

    @property
    def symbol(self) -> str:
        """As an alarm's text shows it, as a monitor does: "185 ≥ 180", not ">="."""
        return _SYMBOLS[self]

    @property
    def fn(self) -> Callable[[Any, Any], Any]:
        # Any: the comparison serves scalars (-> bool) and numpy arrays (-> bool array) alike.
        return _OPS[self]


_OPS = {Op.LT: operator.lt, Op.LE: operator.le, Op.GT: operator.gt, Op.GE: operator.ge}
_SYMBOLS = {Op.LT: "<", Op.LE: "≤", Op.GT: ">", Op.GE: "≥"}


class When(StrEnum):
    """Which part of the session a rule applies to (the dose start divides it)."""

    ANY = "any"
    PRE_DOSE = "pre_dose"  # until the dose starts: the condition ends at the dose start
    POST_DOSE = "post_dose"  # from the dose start on


def _check_vital(rule_id: str, key: str) -> None:
    if key not in VITALS or VITALS[key].kind is VitalKind.WAVEFORM:
        raise ValueError(f"rule {rule_id!r}: {key!r} is not a numeric vital")


@dataclass(frozen=True, slots=True)
class LimitRule:
    """A vital against a fixed limit, e.g. SpO2 < 90 % for more than 15 s.

    On an NIBP vital the rule judges each reading as it completes: no delay, no hysteresis
    (IEC 80601-2-30 practice, clinical.md §3); the condition lasts until the next reading.
    """

    id: str
    vital: str
    op: Op
    limit: float
    priority: Priority
    condition: str  # alarm text, e.g. "SpO2 LOW"
    source: str
    delay_s: float = 0.0
    hysteresis: float = 0.0  # clears only this far back inside the limit
    escalate_after_s: float | None = None
    when: When = When.ANY
    kind: AlarmKind = AlarmKind.PHYSIOLOGICAL
    fallback_for: str | None = None  # evaluated only for a source that never gave this vital

    def __post_init__(self) -> None:
        _check_vital(self.id, self.vital)
        if self.delay_s < 0 or self.hysteresis < 0:
            raise ValueError(f"rule {self.id!r}: delay and hysteresis must not be negative")
        if self.vital in NIBP_KEYS and (self.delay_s or self.hysteresis):
            raise ValueError(f"rule {self.id!r}: NIBP readings alarm on the reading, "
                             "with no delay or hysteresis")
        if self.when is not When.ANY and self.vital not in NIBP_KEYS:
            raise ValueError(f"rule {self.id!r}: pre/post-dose rules apply to NIBP readings")
        if self.escalate_after_s is not None and not self.escalate_after_s > 0:
            raise ValueError(f"rule {self.id!r}: escalate_after_s must be positive")
        if not self.source:
            raise ValueError(f"rule {self.id!r}: cite a source or say it is a design choice")

    @property
    def clear_limit(self) -> float:
        """The limit shifted by the hysteresis: the condition clears once this is not met."""
        return self.limit + self.hysteresis if self.op.low else self.limit - self.hysteresis


@dataclass(frozen=True, slots=True)
class RelativeRule:
    """An NIBP reading after the dose against the pre-dose baseline: value >= base + rise.

    The baseline is the last valid NIBP reading before the dose started; with no pre-dose
    reading the rule does not apply.
    """

    id: str
    vital: str
    rise: float
    priority: Priority
    condition: str
    source: str
    kind: AlarmKind = AlarmKind.ADVISORY
    escalate_after_s: float | None = None

    def __post_init__(self) -> None:
        _check_vital(self.id, self.vital)
        if self.vital not in NIBP_KEYS:
            raise ValueError(f"rule {self.id!r}: baseline rules apply to NIBP readings")
        if not self.source:
            raise ValueError(f"rule {self.id!r}: cite a source or say it is a design choice")


@dataclass(frozen=True, slots=True)
class ArtefactRule:
    """A value that is not a measurement (outside the plausible range, a monitor's 0 for
    "not available") raises this technical condition instead of any physiological alarm.

    For NIBP (`vital` "sbp") it is an invalid reading: a value out of range, SYS <= DIA,
    MAP outside [DIA, SYS], or SYS or DIA missing.
    """

    id: str
    vital: str
    priority: Priority
    condition: str
    source: str
    delay_s: float = 0.0
    escalate_after_s: float | None = None

    def __post_init__(self) -> None:
        _check_vital(self.id, self.vital)
        if self.vital in NIBP_KEYS and self.delay_s:
            raise ValueError(f"rule {self.id!r}: an invalid NIBP reading alarms at once")


@dataclass(frozen=True, slots=True)
class CurrencyRule:
    """No valid datum of a continuous vital for longer than `after_s` (default: the vital's
    `stale_after_s`, 30 s for SpO2 per ISO 80601-2-61): the value is not current."""

    id: str
    vital: str
    priority: Priority
    condition: str
    source: str
    after_s: float | None = None

    def __post_init__(self) -> None:
        _check_vital(self.id, self.vital)
        if self.timeout_s is None:
            raise ValueError(f"rule {self.id!r}: {self.vital} has no staleness limit")

    @property
    def timeout_s(self) -> float | None:
        return self.after_s if self.after_s is not None else VITALS[self.vital].stale_after_s


@dataclass(frozen=True, slots=True)
class NibpOverdueRule:
    """No valid NIBP reading within the scheduled interval + `grace_s` of the last one
    (armed by the first reading, so a session without a cuff raises nothing).

    The schedule: every `interval_s` before the dose and after it, then from each
    `(after_dose_s, interval_s)` step on that interval (a reading's own time chooses it)."""

    id: str
    interval_s: float
    grace_s: float
    priority: Priority
    condition: str
    source: str
    steps: tuple[tuple[float, float], ...] = ()

    def interval_at(self, t_s: float, dose_start_s: float | None) -> float:
        """The NIBP interval due at session time `t_s` given the dose start (None: none)."""
        interval = self.interval_s
        if dose_start_s is not None:
            for after, step in self.steps:
                if t_s - dose_start_s >= after:
                    interval = step
        return interval

    def timeout_at(self, t_s: float, dose_start_s: float | None) -> float:
        """How long after a reading at `t_s` the next one is overdue."""
        return self.interval_at(t_s, dose_start_s) + self.grace_s


@dataclass(frozen=True, slots=True)
class DeviceConditionRule:
    """A condition a device reports (`DeviceCondition`), raised as a technical alarm."""

    condition: Condition
    priority: Priority
    text: str  # e.g. "probe off"; prefixed with the vital's label when the device names one
    source: str
    delay_s: float = 0.0
    escalate_after_s: float | None = None
    invalidates: bool = True  # values of the affected vital are not measurements meanwhile


@dataclass(frozen=True, slots=True)
class SystemRule:
    """A technical condition of Vigil itself or of a device link (not a vital)."""

    id: str  # "link-lost", "battery-low", "audio-unavailable", "storage-failure"
    priority: Priority
    condition: str
    source: str
    delay_s: float = 0.0
    threshold: float | None = None  # battery: percent below which it is low
    hysteresis: float = 0.0


@dataclass(frozen=True, slots=True)
class BpCheckRule:
    """Advisory: the post-dose BP check is due (no valid NIBP reading in the window before
    `after_dose_s`)."""

    id: str
    after_dose_s: float
    window_s: float
    priority: Priority
    condition: str
    source: str


@dataclass(frozen=True, slots=True)
class MinMonitoringRule:
    """Advisory: the session ended (or the patient was discharged) before `min_s` had
    passed since the dose started."""

    id: str
    min_s: float
    priority: Priority
    condition: str
    source: str


def tier_groups(limits: tuple[LimitRule, ...]) -> tuple[tuple[LimitRule, ...], ...]:
    """The limit rules as alarm conditions: rules on the same vital, direction, kind, phase
    and fallback are tiers of one condition (SpO2 < 90 MEDIUM, < 85 HIGH), least severe
    first; its priority rises and falls with the tiers met. One rule alone is one tier.

    Only the least severe tier may have a condition delay (a more severe tier raises the
    priority at once, clinical.md §11.1), and the tiers' priorities differ."""
    groups: dict[tuple[object, ...], list[LimitRule]] = {}
    for r in limits:
        groups.setdefault((r.vital, r.op.low, r.kind, r.when, r.fallback_for), []).append(r)
    out = []
    for rules in groups.values():
        tiers = tuple(sorted(rules, key=lambda r: r.priority))
        if len({r.priority for r in tiers}) != len(tiers):
            raise ValueError(f"tiers {[r.id for r in tiers]}: each needs its own priority")
        if any(r.delay_s for r in tiers[1:]):
            raise ValueError(f"tiers {[r.id for r in tiers]}: only the least severe one "
                             "may have a delay")
        out.append(tiers)
    return tuple(out)
