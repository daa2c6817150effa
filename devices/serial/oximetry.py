"""From protocol frames to messages: what every serial oximeter driver shares.

Each protocol module turns its frames into a protocol-neutral `OximeterReading`: the values the
device sent (None where it marked a value invalid) and the states it reported. `Oximetry`
then applies the clinical rules once for all drivers:

- no value is yielded while a probe-off, no-finger, search or sensor-fault state is active;
- each value is judged by the one validity rule (`monitor.validity`). A serial oximeter
  keeps no validity state beside its numbers, so a value it did not mark is unflagged: it is
  passed on, and one outside the plausible range (a 0 placeholder) is an artefact, which the
  alarm engine raises as a technical condition, as for every other device family;
- a value the device marked invalid (dashes, 127, 511: None here) becomes a
  `measurement_invalid` condition on that vital;
- conditions are sent as transitions (active, then ended), not repeated every frame;
- with `hold_s`, a condition ends only once it has been absent that long, and a blocking
  one keeps blocking values meanwhile: devices reporting 60 times a second flicker at the
  edges of a state, which must neither flood the alarm engine nor let a number through
  between two "finger out" frames.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from devices.conditions import ConditionKey, ConditionTracker
from monitor.messages import Condition, Message, Numerics, Waveform
from monitor.validity import Flag, Verdict, judge
from monitor.vitals import VITALS

#: States in which the device's numbers do not describe the patient: no value is yielded.
BLOCKING: frozenset[Condition] = frozenset({
    Condition.SENSOR_OFF, Condition.NO_FINGER, Condition.SEARCHING, Condition.SENSOR_FAULT})


@dataclass(frozen=True, slots=True)
class OximeterReading:
    """One device report in protocol-neutral terms."""

    values: tuple[tuple[str, float | None], ...]  # (vital key, value or None = device-invalid)
    conditions: tuple[tuple[Condition, str], ...] = ()  # (condition, why, in words)
    pleth: tuple[float, ...] = ()  # pleth samples carried by this report, oldest first

    @property
    def blocked(self) -> bool:
        return any(c in BLOCKING for c, _ in self.conditions)


def collect(flags: int, table: Iterable[tuple[int, Condition, str]]
            ) -> tuple[tuple[Condition, str], ...]:
    """The conditions of a flag word, from a (mask, condition, words) table."""
    return tuple((cond, words) for mask, cond, words in table if flags & mask)


class Oximetry:
    """Turns a driver's Readings into messages; keeps the active conditions across reconnects."""

    def __init__(self, source: str, numerics_period_s: float = 0.0,
                 pleth_hz: float | None = None, pleth_chunk: int = 25,
                 hold_s: float = 0.0) -> None:
        self.source = source
        self.numerics_period_s = numerics_period_s
        self.conditions = ConditionTracker(hold_s)
        self.pleth_hz = pleth_hz
        self.pleth_chunk = pleth_chunk
        self._last_numerics_t = -math.inf
        self._pleth: list[float] = []

    def update(self, reading: OximeterReading, t: float, wall: float) -> list[Message]:
        wanted: dict[ConditionKey, str] = {}
        for cond, words in reading.conditions:
            ckey: ConditionKey = (cond, None)
            wanted[ckey] = f"{wanted[ckey]}; {words}" if ckey in wanted else words
        blocked = reading.blocked or any(
            key[0] in BLOCKING and key[1] is None and self.conditions.held(key, t)
            for key in self.conditions.active if key not in wanted)
        values: list[tuple[str, float]] = []
        for key, value in reading.values:
            if blocked:
                continue
            flag = Flag.FLAGGED if value is None else Flag.UNFLAGGED
            if value is None or judge(key, value, flag) is Verdict.DEVICE_CONDITION:
                wanted[(Condition.MEASUREMENT_INVALID, key)] = (
                    f"the device marked {VITALS[key].label} invalid")
            else:  # a measurement, or an artefact the alarm engine raises as such
                values.append((key, float(value)))
        out: list[Message] = [c.message(self.source, wall, t)
                              for c in self.conditions.update(wanted, t)]
        if self.pleth_hz:
            out.extend(self._pleth_chunk(() if blocked else reading.pleth, t, wall))
        if t - self._last_numerics_t >= self.numerics_period_s - 1e-9:
            self._last_numerics_t = t
            # Sent even when empty: the device did report, so it is neither silent nor stale.
            out.append(Numerics(self.source, wall, t, tuple(values)))
        return out

    def _pleth_chunk(self, samples: tuple[float, ...], t: float, wall: float) -> list[Waveform]:
        if not samples:
            # A gap (probe off, frames lost): what is buffered is sent, not joined across it.
            return self.flush_pleth(t, wall)
        self._pleth.extend(samples)
        if len(self._pleth) < self.pleth_chunk:
            return []
        return self.flush_pleth(t, wall)

    def drop_pleth(self) -> None:
        """Forgets buffered pleth (the link was lost: the next samples do not follow on)."""
        self._pleth = []

    def flush_pleth(self, t: float, wall: float) -> list[Waveform]:
        """The buffered pleth as one chunk, its first sample dated back from `t`."""
        if not self._pleth or not self.pleth_hz:
            return []
        n = len(self._pleth)
        back = (n - 1) / self.pleth_hz
        chunk = Waveform(self.source, wall - back, t - back, "pleth", self.pleth_hz,
                         np.asarray(self._pleth, dtype=np.float32))
        self._pleth = []
        return [chunk]
