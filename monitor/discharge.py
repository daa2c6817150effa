"""Discharge scores as data: the modified Aldrete score and PADSS (clinical.md §8).

Each scale has five items scored 0–2 (total /10); a total of 9 or more meets the
discharge criterion. The scales only support the nurse's judgement: Vigil scores what the
nurse chose and never picks an answer. The score is stored as a DISCHARGE timeline entry
together with the time the patient was clinically ready to leave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from monitor.session import Phase
from monitor.timefmt import hours_text

DISCHARGE_MIN_SCORE = 9  # both scales: >= 9 of 10 to leave (clinical.md §8)


@dataclass(frozen=True, slots=True)
class Item:
    key: str
    label: str
    options: tuple[tuple[int, str], ...]  # (score, what it means), highest first


@dataclass(frozen=True, slots=True)
class Scale:
    key: str  # as stored in the entry's `scale`
    name: str
    source: str
    items: tuple[Item, ...]

    @property
    def max_score(self) -> int:
        return sum(max(s for s, _ in item.options) for item in self.items)

    def item(self, key: str) -> Item:
        for it in self.items:
            if it.key == key:
                return it
        raise KeyError(f"{self.name}: no item {key!r}")


ALDRETE = Scale(
    "aldrete", "Modified Aldrete",
    "Aldrete 1995, as tabulated in clinical.md §8 (circulation against the pre-dose BP)",
    (
        Item("activity", "Activity", ((2, "moves 4 limbs"), (1, "moves 2 limbs"),
                                      (0, "moves no limbs"))),
        Item("respiration", "Respiration", ((2, "breathes deeply, coughs freely"),
                                            (1, "dyspnoea or limited breathing"),
                                            (0, "apnoea"))),
        Item("circulation", "Circulation (BP vs pre-dose)",
             ((2, "within ±20 % of pre-dose"), (1, "20–49 % from pre-dose"),
              (0, "50 % or more from pre-dose"))),
        Item("consciousness", "Consciousness", ((2, "fully awake"), (1, "arousable on calling"),
                                                (0, "not responding"))),
        Item("spo2", "SpO2", ((2, "> 92 % on room air"), (1, "needs O2 to keep > 90 %"),
                              (0, "< 90 % even with O2"))),
    ))

PADSS = Scale(
    "padss", "PADSS",
    "Chung 1995, as tabulated in clinical.md §8; bleeding and intake/output adapted to a "
    "procedure without surgery (\"adapt with care\")",
    (
        Item("vitals", "Vital signs (vs pre-dose)",
             ((2, "within 20 % of pre-dose"), (1, "20–40 % from pre-dose"),
              (0, "more than 40 % from pre-dose"))),
        Item("activity", "Activity and mental status",
             ((2, "oriented ×3 and steady gait"), (1, "oriented ×3 or steady gait"),
              (0, "neither"))),
        Item("pain_nausea", "Pain, nausea, vomiting",
             ((2, "minimal"), (1, "moderate, treated"), (0, "severe"))),
        Item("bleeding", "Bleeding", ((2, "none or minimal"), (1, "moderate"),
                                      (0, "severe"))),
        Item("intake_output", "Intake and output",
             ((2, "has drunk and voided"), (1, "has drunk or voided"), (0, "neither"))),
    ))

SCALES: MappingProxyType[str, Scale] = MappingProxyType({s.key: s for s in (ALDRETE, PADSS)})


class DischargeError(ValueError):
    """A discharge score that cannot be stored; the message names the item."""


def total(scale: Scale, answers: Mapping[str, int]) -> int:
    """The score of a complete set of answers; DischargeError names what is missing or
    not one of the item's scores."""
    score = 0
    for item in scale.items:
        if item.key not in answers:
            raise DischargeError(f"{scale.name}: {item.label}: not scored")
        value = answers[item.key]
        if isinstance(value, bool) or value not in {s for s, _ in item.options}:
            raise DischargeError(f"{scale.name}: {item.label}: {value!r} is not a score of "
                                 "this item")
        score += value
    unknown = set(answers) - {it.key for it in scale.items}
    if unknown:
        raise DischargeError(f"{scale.name}: no item {sorted(unknown)[0]!r}")
    return score


def meets_criterion(score: int) -> bool:
    return score >= DISCHARGE_MIN_SCORE


def entry_data(scale: Scale, answers: Mapping[str, int], ready_t_s: float) -> dict[str, Any]:
    """The DISCHARGE entry: scale, total, each item's score, whether the criterion is met
    and when the patient was ready to leave (session seconds)."""
    score = total(scale, answers)
    return {"scale": scale.key, "score": score, "max_score": scale.max_score,
            "meets_criterion": int(meets_criterion(score)), "ready_t_s": float(ready_t_s),
            **{f"item_{it.key}": answers[it.key] for it in scale.items}}


@dataclass(frozen=True, slots=True)
class MonitoringTime:
    """Where a moment stands against a preset's minimum monitoring time, counted from the
    dose start: the one computation the discharge dialog, the report's discharge lines and
    its REMS fields all read."""

    min_s: float
    elapsed_s: float | None  # since the dose start; None: no dose start recorded

    @property
    def shortfall_s(self) -> float | None:
        """How far short it is; None when met. Without a dose start the whole minimum is
        still ahead."""
        elapsed = 0.0 if self.elapsed_s is None else max(0.0, self.elapsed_s)
        return self.min_s - elapsed if elapsed < self.min_s else None

    @property
    def met(self) -> bool:
        return self.shortfall_s is None


def monitoring_time(min_s: float | None, dose_start_s: float | None,
                    at_s: float) -> MonitoringTime | None:
    """The preset's minimum (`min_s`) against a moment `at_s`; None without a minimum."""
    if min_s is None:
        return None
    return MonitoringTime(min_s, None if dose_start_s is None else at_s - dose_start_s)


# The DISCHARGE entry's field that holds an early discharge the nurse confirmed: what was not
# yet met, as shown to her (absent when everything was met). The report prints it.
EARLY_DISCHARGE_KEY = "early_discharge"


def unmet_before_discharge(preset_name: str | None, min_s: float | None,
                           dose_start_s: float | None, phases: Sequence[Phase],
                           dose_running: bool, now_s: float) -> list[str]:
    """What is not yet met for a discharge at `now_s`, each in the nurse's words: the
    preset's minimum monitoring time, a dose still running, the expected peak not yet over.
    Empty: nothing stands against the discharge (the checklist still decides)."""
    unmet = []
    mt = monitoring_time(min_s, dose_start_s, now_s)
    if mt is not None and mt.shortfall_s is not None:
        since = ("no dose start recorded" if mt.elapsed_s is None else
                 f"{hours_text(mt.elapsed_s)} since the dose start")
        unmet.append(f"the {hours_text(mt.min_s)} minimum monitoring of {preset_name} "
                     f"({since}, {hours_text(mt.shortfall_s)} to go)")
    if dose_start_s is None:
        return unmet
    dosing = [p for p in phases if p.name == "dosing"]
    if dose_running or any(p.start_s <= now_s < (p.end_s or now_s) for p in dosing):
        unmet.append("the dose has not stopped (no Dose stop entered)" if dose_running else
                     "the planned infusion has not ended")
    peak = next((p for p in phases if p.name == "peak"), None)
    if peak is not None and peak.end_s is not None and now_s < peak.end_s:
        unmet.append(f"the patient has not left the expected peak (until "
                     f"{hours_text(peak.end_s - dose_start_s)} after the dose start)")
    return unmet
