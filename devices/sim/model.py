"""The simulated patient: deterministic vitals and pleth for a scenario and a seed.

Pure and clock-free: the driver asks for what the patient shows at time t. Randomness
comes from one seeded generator consumed in time order, so a seed replays exactly.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from devices.sim.scenarios import ScenarioEpisode, SimSettings, response

PLETH_HZ = 100.0


class PatientModel:
    def __init__(self, settings: SimSettings) -> None:
        self.settings = settings
        self.scenario = settings.scenario
        self._rng = np.random.default_rng(settings.seed)
        self._phase = 0.0  # cardiac phase of the pleth, in beats
        self._wander = {"hr": 0.0, "spo2": 0.0, "rr": 0.0}
        self._artefacts = self._plan_artefacts()
        self._artefact_starts = [s for s, _ in self._artefacts]

    def _plan_artefacts(self) -> list[tuple[float, float]]:
        """Short motion artefacts (start, duration): too brief to pass an alarm delay."""
        every = self.scenario.artefact_every_s
        if every <= 0:
            return []
        rng = np.random.default_rng(self.settings.seed + 7919)
        out, t = [], float(rng.uniform(0.3, 1.0) * every)
        while t < 48 * 3600:
            out.append((t, float(rng.uniform(4.0, 8.0))))
            t += float(rng.uniform(0.5, 1.5) * every)
        return out

    # -- what the scenario says --------------------------------------------------------

    def t_rel(self, t: float) -> float:
        return t - self.settings.dose_at_s

    def _episodes(self, kind: str) -> tuple[ScenarioEpisode, ...]:
        return tuple(e for e in self.scenario.episodes if e.kind == kind)

    def in_episode(self, kind: str, t: float) -> bool:
        t_rel = self.t_rel(t)
        return any(e.start_s <= t_rel < e.start_s + e.duration_s for e in self._episodes(kind))

    def disconnected(self, t: float) -> bool:
        return self.in_episode("dropout", t)

    def probe_off(self, t: float) -> bool:
        return self.in_episode("probe_off", t)

    def in_artefact(self, t: float) -> bool:
        i = bisect.bisect_right(self._artefact_starts, t) - 1
        return i >= 0 and t < self._artefacts[i][0] + self._artefacts[i][1]

    def mean(self, key: str, t: float) -> float:
        """The underlying physiological value, before noise and artefacts."""
        sc = self.scenario
        base = sc.baseline[key]
        value = base + sc.response_peak.get(key, 0.0) * response(self.t_rel(t), sc.peak_after_s)
        for ep in self._episodes(key):
            w = ep.weight(self.t_rel(t))
            value = value * (1 - w) + ep.target * w
        return value

    # -- what the devices report --------------------------------------------------------

    def numerics(self, t: float) -> dict[str, float]:
        """One second's HR, PR, SpO2 and RR as a monitor reports them (rounded)."""
        rng = self._rng
        for key, step, pull in (("hr", 0.4, 0.05), ("spo2", 0.15, 0.1), ("rr", 0.2, 0.05)):
            self._wander[key] += float(rng.normal(0, step)) - pull * self._wander[key]
        hr = self.mean("hr", t) + self._wander["hr"]
        rr = round(max(0.0, self.mean("rr", t) + self._wander["rr"]))
        out: dict[str, float] = {"hr": round(hr), "rr": rr}
        if self.probe_off(t):
            return out
        spo2 = self.mean("spo2", t) + self._wander["spo2"]
        pr = hr + float(rng.normal(0, 0.7))
        if self.in_artefact(t):
            spo2 -= float(rng.uniform(2.0, 5.0))
            pr += float(rng.normal(0, 12.0))
        out["spo2"] = min(100, round(spo2))
        out["pr"] = round(pr)
        return out

    def nibp(self, t: float) -> dict[str, float]:
        """An oscillometric reading completed at t: SYS, DIA and the measured MAP."""
        rng = self._rng
        sbp = self.mean("sbp", t) + float(rng.normal(0, 3.0))
        dbp = self.mean("dbp", t) + float(rng.normal(0, 2.0))
        mean = dbp + (sbp - dbp) / 3 + float(rng.normal(0, 1.0))
        return {"sbp": round(sbp), "dbp": round(dbp), "map": round(mean)}

    def pleth(self, t0: float, n: int) -> np.ndarray:
        """n samples of a photoplethysmogram from t0, at PLETH_HZ."""
        dt = 1.0 / PLETH_HZ
        hr = max(20.0, self.mean("hr", t0) + self._wander["hr"])
        phases = self._phase + np.arange(1, n + 1) * hr / 60.0 * dt
        self._phase = float(phases[-1] % 1.0)
        x = phases % 1.0
        wave: np.ndarray = (np.exp(-((x - 0.18) / 0.07) ** 2)
                            + 0.35 * np.exp(-((x - 0.48) / 0.09) ** 2))
        rr = max(4.0, self.mean("rr", t0))
        t = t0 + np.arange(n) * dt
        wave += 0.08 * np.sin(2 * math.pi * rr / 60.0 * t)
        if self.in_artefact(t0):
            wave += self._rng.normal(0, 0.35, n)
        return wave.astype(np.float32)
