"""Simulator scenarios as data: a patient's baseline, the drug response, and episodes.

The response to IV ketamine 0.5 mg/kg over 40 min follows the clinical reference:
SBP/DBP/HR rise during the infusion, peak near 40 min after the dose starts (Yale 2024:
+16.0/+11.0 mmHg at 40 min), and return near baseline by 90-120 min.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class ScenarioEpisode:
    """A stretch of the session where something happens (times from the dose start).

    Episodes start a few minutes after the dose, so `?dose=60` shows them within minutes at
    1x (a trainer's demonstration); the drug response itself keeps its published course."""

    kind: str  # "spo2", "hr", "rr" (a value excursion), "probe_off", "dropout", "artefacts"
    start_s: float
    duration_s: float
    target: float = 0.0  # the value reached, for excursions
    ramp_s: float = 0.0  # time to reach the target, and to come back

    def weight(self, t_rel: float) -> float:
        """0 outside, 1 at full depth, linear ramps in and out."""
        end = self.start_s + self.duration_s
        if t_rel < self.start_s or t_rel >= end:
            return 0.0
        if self.ramp_s <= 0:
            return 1.0
        return min(1.0, (t_rel - self.start_s) / self.ramp_s, (end - t_rel) / self.ramp_s)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    baseline: MappingProxyType[str, float]
    response_peak: MappingProxyType[str, float]  # rise at the peak, per vital
    episodes: tuple[ScenarioEpisode, ...] = ()
    artefact_every_s: float = 600.0  # mean spacing of short motion artefacts (0: none)
    peak_after_s: float = 40 * 60
    dose_mg_per_kg: float = 0.5
    infusion_min: float = 40.0
    weight_kg: float = 70.0


def _m(**kw: float) -> MappingProxyType[str, float]:
    return MappingProxyType(kw)


_BASE = _m(hr=72, spo2=97.6, rr=14, sbp=122, dbp=78)
_RESPONSE = _m(hr=8, sbp=16, dbp=11)

SCENARIOS: MappingProxyType[str, Scenario] = MappingProxyType({s.name: s for s in (
    Scenario("normal", "an uneventful IV ketamine session", _BASE, _RESPONSE),
    Scenario("hypertensive-surge", "a blood-pressure surge peaking near 190/114 at 40 min",
             _m(hr=76, spo2=97.6, rr=14, sbp=128, dbp=80), _m(hr=16, sbp=62, dbp=34)),
    Scenario("desaturation", "respiratory depression: SpO2 to 82 % and RR to 6 at 3 min",
             _BASE, _RESPONSE,
             (ScenarioEpisode("spo2", 3 * 60, 210, 82.0, 60),
              ScenarioEpisode("rr", 2 * 60, 270, 6.0, 30))),
    Scenario("probe-off", "the SpO2 probe comes off for 90 s at 2 min", _BASE, _RESPONSE,
             (ScenarioEpisode("probe_off", 2 * 60, 90),)),
    Scenario("device-dropout", "the device link drops for 60 s at 2 min", _BASE, _RESPONSE,
             (ScenarioEpisode("dropout", 2 * 60, 60),)),
    Scenario("bradycardia", "heart rate falls to 42 bpm for 3 min at 3 min",
             _BASE, _RESPONSE, (ScenarioEpisode("hr", 3 * 60, 180, 42.0, 20),)),
)})


def response(t_rel: float, peak_after_s: float) -> float:
    """Drug response, 0..1: a gamma-shaped rise peaking at `peak_after_s` after the dose.

    u^4 * e^(4(1-u)) is 1 at the peak, ~17 % at 90 min and ~3 % at 120 min for a 40 min peak.
    """
    if t_rel <= 0:
        return 0.0
    u = t_rel / peak_after_s
    return u ** 4 * math.exp(4 * (1 - u))


@dataclass(frozen=True, slots=True)
class SimSettings:
    scenario: Scenario
    seed: int = 0
    dose_at_s: float = 600.0  # baseline length before the dose
    nibp_interval_s: float = 300.0
    nibp_cycle_s: float = 30.0  # a reading takes this long to measure
    options: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
