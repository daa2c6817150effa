"""`sim[:SCENARIO][?seed=N&dose=S&nibp=S]`: a simulated bedside monitor.

It behaves as a device does: HR, PR, SpO2 and RR once a second; an NIBP cycle every
`nibp` seconds (default 300) whose reading arrives ~30 s after the cuff starts; a 100 Hz
pleth in 0.1 s chunks; sensor-off states and link drop-outs when the scenario says so.
It also marks the scripted dose start and stop on the timeline.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from types import MappingProxyType

from devices.base import DeviceDisconnected, Driver, SpecError
from devices.sim.model import PLETH_HZ, PatientModel
from devices.sim.scenarios import SCENARIOS, SimSettings
from devices.spec import DeviceSpec
from monitor.clock import SessionClock
from monitor.messages import (
    Condition,
    DeviceCondition,
    EntryKind,
    Message,
    Numerics,
    TimelineMark,
    Waveform,
)

TICKS_PER_S = 10  # pleth chunk length 0.1 s
_OPTIONS = {"seed": int, "dose": float, "nibp": float}


def _settings(spec: DeviceSpec) -> SimSettings:
    name = spec.target or "normal"
    if name not in SCENARIOS:
        raise SpecError(f"device {spec.text!r}: unknown scenario {name!r}; "
                        f"expected one of {', '.join(SCENARIOS)}")
    values: dict[str, float | int] = {}
    for key, text in spec.options.items():
        if key not in _OPTIONS:
            raise SpecError(f"device {spec.text!r}: unknown option {key!r}; "
                            f"expected {', '.join(_OPTIONS)}")
        try:
            values[key] = _OPTIONS[key](text)
        except ValueError:
            raise SpecError(f"device {spec.text!r}: option {key}={text!r} is not a number"
                            ) from None
    if values.get("nibp", 300) < 60:
        raise SpecError(f"device {spec.text!r}: an NIBP interval under 60 s harms the patient")
    return SimSettings(SCENARIOS[name], seed=int(values.get("seed", 0)),
                       dose_at_s=float(values.get("dose", 600.0)),
                       nibp_interval_s=float(values.get("nibp", 300.0)),
                       options=MappingProxyType(dict(spec.options)))


class SimulatorDriver(Driver):
    simulated = True
    stale_after_s = 5.0

    def __init__(self, spec: DeviceSpec, source: str, clock: SessionClock) -> None:
        super().__init__(source, spec.text, clock)
        self.settings = _settings(spec)
        self.model = PatientModel(self.settings)
        self._tick: int | None = None  # next tick to produce; survives reconnects
        self._probe_off = False
        self._marked: set[str] = set()

    @staticmethod
    def check_spec(spec: DeviceSpec) -> None:
        _settings(spec)

    def skip_timeline_marks(self, kinds: frozenset[str]) -> None:
        """A resumed session already holds these marks: do not make them again."""
        self._marked |= set(kinds)

    async def connect(self) -> None:
        if self.model.disconnected(self.clock.now()):
            raise DeviceDisconnected(f"{self.source}: simulated monitor not responding")

    async def stream(self) -> AsyncIterator[Message]:
        clock, model, settings = self.clock, self.model, self.settings
        k = max(self._tick or 0, math.ceil(clock.now() * TICKS_PER_S - 1e-9))
        nibp_every = round(settings.nibp_interval_s * TICKS_PER_S)
        nibp_delay = round(settings.nibp_cycle_s * TICKS_PER_S)
        chunk = int(PLETH_HZ / TICKS_PER_S)
        while True:
            t = k / TICKS_PER_S
            await clock.sleep_until(t)
            if model.disconnected(t):
                self._tick = k
                raise DeviceDisconnected(f"{self.source}: simulated link lost")
            wall = clock.wall(t)
            for mark in self._timeline(t, wall):
                yield mark
            probe_off = model.probe_off(t)
            if probe_off != self._probe_off:
                self._probe_off = probe_off
                yield DeviceCondition(self.source, wall, t, Condition.SENSOR_OFF, probe_off,
                                      "spo2", "SpO2 probe off the finger" if probe_off else "")
            if not probe_off:
                yield Waveform(self.source, wall, t, "pleth", PLETH_HZ, model.pleth(t, chunk))
            if k % TICKS_PER_S == 0:
                yield Numerics(self.source, wall, t, tuple(model.numerics(t).items()))
            if k >= nibp_delay and (k - nibp_delay) % nibp_every == 0:
                yield Numerics(self.source, wall, t, tuple(model.nibp(t).items()))
            k += 1
            self._tick = k

    def _timeline(self, t: float, wall: float) -> list[TimelineMark]:
        sc, dose_at = self.settings.scenario, self.settings.dose_at_s
        dose_mg = round(sc.dose_mg_per_kg * sc.weight_kg, 1)
        due = [(EntryKind.DOSE_START, dose_at,
                (("drug", "ketamine"), ("route", "iv"), ("dose_mg", dose_mg),
                 ("infusion_min", sc.infusion_min))),
               (EntryKind.DOSE_STOP, dose_at + sc.infusion_min * 60, (("drug", "ketamine"),))]
        out = []
        for kind, at, data in due:
            if kind not in self._marked and t >= at:
                self._marked.add(kind)
                out.append(TimelineMark(self.source, self.clock.wall(at), at, kind, data))
        return out
