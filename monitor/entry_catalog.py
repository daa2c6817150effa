"""What a nurse enters on the session timeline, as data: scales, side effects, interventions.

One catalogue for the quick-entry keys, the timeline's labels, the edit dialog and the
reports, so a score range or a label is written once. The stored entry is
`(EntryKind, data)`: ratings carry `{"scale": key, "score": n}` (CADSS-6 adds `"items"`),
side effects and interventions `{"name": key}`, and any entry may carry `"text"`.
Sources: clinical.md §6 (scales), §7 (side effects and interventions).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from monitor.session import EntryKind


@dataclass(frozen=True, slots=True)
class Level:
    score: int
    label: str  # short, for a button or a mark
    description: str  # the scale's anchor text


@dataclass(frozen=True, slots=True)
class Scale:
    key: str  # stored as data["scale"]
    kind: EntryKind
    name: str
    low: int
    high: int
    levels: tuple[Level, ...]
    source: str

    def level(self, score: float) -> Level | None:
        return next((lv for lv in self.levels if lv.score == score), None)

    def check(self, score: object) -> int:
        """The score as an int; ValueError naming the scale and its range otherwise."""
        if isinstance(score, bool) or not isinstance(score, int | float) \
                or not math.isfinite(score) or score != int(score) \
                or not self.low <= score <= self.high:
            raise ValueError(f"{self.name}: score {score!r} is not a whole number "
                             f"from {self.low} to {self.high}")
        return int(score)


DISSOCIATION_LEVEL = Scale(
    "level", EntryKind.DISSOCIATION, "Dissociation level", 0, 4,
    (Level(0, "none", "no dissociation"),
     Level(1, "mild", "mild: aware, brief or slight changes"),
     Level(2, "moderate", "moderate: clear perceptual or bodily changes, in contact"),
     Level(3, "strong", "strong: marked changes, contact intermittent"),
     Level(4, "severe", "severe: absorbed, little or no contact")),
    "design choice (clinical.md §6): a 0-4 intensity for the live timeline; never called a "
    "CADSS score")

MOAAS = Scale(
    "moaas", EntryKind.SEDATION, "MOAA/S", 0, 5,
    (Level(5, "alert", "responds readily to name spoken in normal tone"),
     Level(4, "lethargic", "lethargic response to name spoken in normal tone"),
     Level(3, "loud name", "responds only after name is called loudly and/or repeatedly"),
     Level(2, "prodding", "responds only after mild prodding or shaking"),
     Level(1, "painful", "responds only after painful trapezius squeeze"),
     Level(0, "none", "no response after painful trapezius squeeze")),
    "published: MOAA/S table (clinical.md §6)")

RASS = Scale(
    "rass", EntryKind.SEDATION, "RASS", -5, 4,
    (Level(4, "combative", "combative"),
     Level(3, "very agitated", "very agitated"),
     Level(2, "agitated", "agitated"),
     Level(1, "restless", "restless"),
     Level(0, "alert, calm", "alert and calm"),
     Level(-1, "drowsy", "drowsy: eye contact to voice for 10 s or more"),
     Level(-2, "light", "light sedation: eye contact to voice for less than 10 s"),
     Level(-3, "moderate", "moderate sedation: movement to voice, no eye contact"),
     Level(-4, "deep", "deep sedation: responds to physical stimulation only"),
     Level(-5, "unarousable", "unarousable")),
    "published: RASS (clinical.md §6); also captures agitation (emergence)")


@dataclass(frozen=True, slots=True)
class CadssItem:
    number: int  # the item's number in the full CADSS
    label: str  # a short paraphrase: administer the item from the instrument in use


# CADSS-6: items 1, 2, 6, 7, 15 and 22 of the 23-item CADSS, each 0 (not at all) to
# 4 (extremely), total 0-24 (Rodrigues 2021, clinical.md §6; not prospectively validated).
CADSS6_ITEMS: tuple[CadssItem, ...] = (
    CadssItem(1, "Things seem to move in slow motion"),
    CadssItem(2, "Things seem unreal, as in a dream"),
    CadssItem(6, "Feels disconnected from own body"),
    CadssItem(7, "Sense of own body changed (larger, smaller)"),
    CadssItem(15, "Spaces out, loses track of what is going on"),
    CadssItem(22, "Item 22 (as on your CADSS form)"),
)
CADSS_ANCHORS: tuple[str, ...] = ("not at all", "slightly", "moderately", "considerably",
                                  "extremely")
CADSS6 = Scale(
    "cadss6", EntryKind.DISSOCIATION, "CADSS-6", 0, 4 * len(CADSS6_ITEMS), (),
    "published: CADSS-6, items 1, 2, 6, 7, 15, 22 of the CADSS (Rodrigues 2021, §6)")

SCALES: MappingProxyType[str, Scale] = MappingProxyType(
    {s.key: s for s in (DISSOCIATION_LEVEL, MOAAS, RASS, CADSS6)})


@dataclass(frozen=True, slots=True)
class Choice:
    key: str  # stored as data["name"]
    label: str
    hotkey: str  # the key that picks it in the picker


SIDE_EFFECTS: tuple[Choice, ...] = (
    Choice("nausea", "Nausea", "1"),
    Choice("vomiting", "Vomiting", "2"),
    Choice("anxiety", "Anxiety", "3"),
    Choice("headache", "Headache", "4"),
    Choice("dizziness", "Dizziness", "5"),
    Choice("emergence reaction", "Emergence reaction", "6"),
    Choice("respiratory depression", "Respiratory depression", "7"),
    Choice("hypertensive crisis symptoms", "Hypertensive crisis signs", "8"),
    Choice("other", "Other (describe)", "9"),
)
INTERVENTIONS: tuple[Choice, ...] = (
    Choice("ondansetron", "Ondansetron", "1"),
    Choice("midazolam", "Midazolam", "2"),
    Choice("lorazepam", "Lorazepam", "3"),
    Choice("antihypertensive", "Antihypertensive", "4"),
    Choice("reassurance", "Reassurance", "5"),
    Choice("oxygen", "Oxygen", "6"),
    Choice("infusion paused", "Infusion paused", "7"),
    Choice("infusion resumed", "Infusion resumed", "8"),
    Choice("infusion stopped", "Infusion stopped", "9"),
    Choice("other", "Other (describe)", "0"),
)
CHOICES: MappingProxyType[str, tuple[Choice, ...]] = MappingProxyType({
    EntryKind.SIDE_EFFECT: SIDE_EFFECTS, EntryKind.INTERVENTION: INTERVENTIONS})

KIND_LABELS: MappingProxyType[str, str] = MappingProxyType({
    EntryKind.DOSE_START: "Dose start", EntryKind.DOSE_STOP: "Dose stop",
    EntryKind.DISSOCIATION: "Dissociation", EntryKind.SEDATION: "Sedation",
    EntryKind.SIDE_EFFECT: "Side effect", EntryKind.INTERVENTION: "Intervention",
    EntryKind.EVENT: "Event", EntryKind.NOTE: "Note", EntryKind.BASELINE: "Baseline",
    EntryKind.DISCHARGE: "Discharge"})


def rating(scale_key: str, score: object, items: Mapping[int, int] | None = None
           ) -> tuple[EntryKind, dict[str, Any]]:
    """The (kind, data) of a rating, checked against its scale. CADSS-6 is given by its
    items (each 0-4), and its score is their total."""
    scale = SCALES.get(scale_key)
    if scale is None:
        raise ValueError(f"unknown scale {scale_key!r}; known: {', '.join(SCALES)}")
    if scale is CADSS6:
        numbers = {it.number for it in CADSS6_ITEMS}
        if items is None or set(items) != numbers:
            raise ValueError(f"CADSS-6: needs items {sorted(numbers)}, "
                             f"not {sorted(items or ())}")
        for n, v in items.items():
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 4:
                raise ValueError(f"CADSS-6 item {n}: {v!r} is not a whole number from 0 to 4")
        total = sum(items.values())
        if score is not None and score != total:
            raise ValueError(f"CADSS-6: score {score!r} is not the items' total {total}")
        return scale.kind, {"scale": scale.key, "score": total,
                            "items": {str(n): items[n] for n in sorted(items)}}
    return scale.kind, {"scale": scale.key, "score": scale.check(score)}


def choice(kind: str, key: str) -> Choice | None:
    return next((c for c in CHOICES.get(kind, ()) if c.key == key), None)


def signed(score: float) -> str:
    """A RASS-style score: +2, 0, −3 (true minus sign, readable from a distance)."""
    n = int(score)
    return f"+{n}" if n > 0 else ("0" if n == 0 else f"\u2212{-n}")


def mark_text(kind: str, data: Mapping[str, Any]) -> str:
    """The short text of an entry on the timeline: `3`, `C6 12`, `R −1`, `Nausea`."""
    if kind in (EntryKind.DISSOCIATION, EntryKind.SEDATION):
        scale, score = data.get("scale"), data.get("score")
        if not isinstance(score, int | float):
            return "?"
        if scale == "cadss6":
            return f"C6 {int(score)}"
        if scale == "rass":
            return f"R {signed(score)}"
        return str(int(score))
    if kind in CHOICES:
        c = choice(kind, str(data.get("name", "")))
        label = c.label if c is not None and c.key != "other" else str(
            data.get("text") or data.get("name") or "other")
        return label.split(" (")[0]
    if kind == EntryKind.NOTE:
        return str(data.get("text", "")) or "note"
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def describe(kind: str, data: Mapping[str, Any]) -> str:
    """A full one-line description: `Dissociation level 3 (strong)`, `MOAA/S 4 (lethargic)`,
    `Side effect: Nausea · felt sick`."""
    text = data.get("text")
    suffix = f" \u00b7 {text}" if text and kind != EntryKind.NOTE else ""
    if kind in (EntryKind.DISSOCIATION, EntryKind.SEDATION):
        scale = SCALES.get(str(data.get("scale")))
        score = data.get("score")
        if scale is None or not isinstance(score, int | float):
            return f"{KIND_LABELS.get(kind, kind)} {score}{suffix}"
        shown = signed(score) if scale is RASS else str(int(score))
        if scale is CADSS6:
            return f"CADSS-6 {shown} / {scale.high}{suffix}"
        lv = scale.level(score)
        return f"{scale.name} {shown}" + (f" ({lv.label})" if lv else "") + suffix
    if kind in CHOICES:
        c = choice(kind, str(data.get("name", "")))
        name = c.label if c is not None else str(data.get("name", ""))
        return f"{KIND_LABELS[kind]}: {name}{suffix}"
    if kind == EntryKind.NOTE:
        return f"Note: {data.get('text', '')}"
    return KIND_LABELS.get(kind, kind) + suffix
