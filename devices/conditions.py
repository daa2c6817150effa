"""The device conditions a driver has raised, reported as transitions only.

Every driver family (serial oximeters, Bluetooth LE, multiparameter monitors) tells the alarm
engine that a condition started and, later, that it ended: never the same state every frame
(a device reporting 60 times a second would flood the engine). `ConditionTracker` is the one
place that state is kept, across reconnects: each driver says which conditions it sees now,
and gets back the changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from monitor.messages import Condition, DeviceCondition

ConditionKey = tuple[Condition, str | None]  # (condition, vital it affects; None: the probe)


@dataclass(frozen=True, slots=True)
class ConditionChange:
    """A condition started (`active`, with what the device said) or ended."""

    condition: Condition
    active: bool
    vital: str | None
    detail: str = ""

    def message(self, source: str, t_wall: float, t_s: float) -> DeviceCondition:
        return DeviceCondition(source, t_wall, t_s, self.condition, self.active, self.vital,
                               self.detail)


class ConditionTracker:
    """The active conditions of one device, each with the words it was raised with.

    An update speaks for one `group` of conditions (a GATT profile, a vital; by default all
    of them): a condition of that group absent from it ends, a new one starts. With
    `hold_s`, a condition ends only once it has been absent that long (devices flicker at
    the edges of a state). With `restate`, a condition whose words changed is reported
    active again with the new words; otherwise it keeps those it was raised with.
    """

    def __init__(self, hold_s: float = 0.0, restate: bool = False) -> None:
        self.hold_s = hold_s
        self.restate = restate
        self._active: dict[ConditionKey, str] = {}
        self._groups: dict[str, set[ConditionKey]] = {}
        self._absent_since: dict[ConditionKey, float] = {}

    @property
    def active(self) -> Mapping[ConditionKey, str]:
        return MappingProxyType(self._active)

    def update(self, now: Mapping[ConditionKey, str], t: float = 0.0, group: str = ""
               ) -> list[ConditionChange]:
        """The changes from what `group` had raised to `now` ({key: words}), at time `t`."""
        out: list[ConditionChange] = []
        mine = self._groups.setdefault(group, set())
        # Mostly nothing changes (60 reports a second): the common path builds no list.
        gone = mine - now.keys() if mine else ()
        ending = [k for k in gone if not self.held(k, t)] if gone else ()
        for key in sorted(ending, key=str) if len(ending) > 1 else ending:
            mine.discard(key)
            self._absent_since.pop(key, None)
            if self._active.pop(key, None) is not None:
                out.append(ConditionChange(key[0], False, key[1]))
        for key, words in now.items():
            if self._absent_since:
                self._absent_since.pop(key, None)
            old = self._active.get(key)
            if old is None or (self.restate and old != words):
                self._active[key] = words
                out.append(ConditionChange(key[0], True, key[1], words))
            mine.add(key)
        return out

    def set(self, vital: str, state: tuple[Condition, str] | None) -> list[ConditionChange]:
        """One condition at most per vital (a monitor's value state): `state` replaces it."""
        return self.update({} if state is None else {(state[0], vital): state[1]}, group=vital)

    def held(self, key: ConditionKey, t: float) -> bool:
        """Whether an active condition the device no longer reports is still held."""
        return t - self._absent_since.setdefault(key, t) < self.hold_s

    def clear(self) -> list[ConditionChange]:
        """Ends every condition: after the link is lost they are no longer known."""
        out = [ConditionChange(c, False, v)
               for c, v in sorted(self._active, key=lambda k: (k[1] or "", k[0]))]
        self._active.clear()
        self._groups.clear()
        self._absent_since.clear()
        return out
