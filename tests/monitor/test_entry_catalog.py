"""The entry catalogue: scales and their ranges, CADSS-6 items, choices, descriptions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.entry_catalog import (
    CADSS6,
    CADSS6_ITEMS,
    CHOICES,
    DISSOCIATION_LEVEL,
    INTERVENTIONS,
    MOAAS,
    RASS,
    SCALES,
    SIDE_EFFECTS,
    describe,
    mark_text,
    rating,
)
from monitor.session import EntryKind


def test_scales_cover_their_ranges_once():
    for scale in (DISSOCIATION_LEVEL, MOAAS, RASS):
        scores = sorted(lv.score for lv in scale.levels)
        assert scores == list(range(scale.low, scale.high + 1)), scale.name
    assert (MOAAS.low, MOAAS.high, RASS.low, RASS.high) == (0, 5, -5, 4)
    assert MOAAS.level(0).description.startswith("no response")
    assert MOAAS.level(5).description.startswith("responds readily")
    assert "CADSS" not in DISSOCIATION_LEVEL.name  # never called a CADSS score (§6)


def test_cadss6_is_items_1_2_6_7_15_22_scored_0_to_24():
    assert [it.number for it in CADSS6_ITEMS] == [1, 2, 6, 7, 15, 22]
    assert (CADSS6.low, CADSS6.high) == (0, 24)
    kind, data = rating("cadss6", None, {1: 4, 2: 4, 6: 3, 7: 0, 15: 2, 22: 1})
    assert kind is EntryKind.DISSOCIATION
    assert data == {"scale": "cadss6", "score": 14,
                    "items": {"1": 4, "2": 4, "6": 3, "7": 0, "15": 2, "22": 1}}
    with pytest.raises(ValueError, match=r"needs items \[1, 2, 6, 7, 15, 22\]"):
        rating("cadss6", None, {1: 1, 2: 1})
    with pytest.raises(ValueError, match="CADSS-6 item 7: 5"):
        rating("cadss6", None, {1: 0, 2: 0, 6: 0, 7: 5, 15: 0, 22: 0})
    with pytest.raises(ValueError, match="not the items' total 0"):
        rating("cadss6", 3, {1: 0, 2: 0, 6: 0, 7: 0, 15: 0, 22: 0})


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["level", "moaas", "rass"]),
       st.one_of(st.integers(-10, 10), st.floats(-10, 10),
                 st.sampled_from([float("nan"), float("inf")]), st.booleans(),
                 st.text(max_size=3), st.none()))
def test_rating_accepts_exactly_the_scale_range(scale_key, score):
    scale = SCALES[scale_key]
    valid = (not isinstance(score, bool) and isinstance(score, int | float)
             and math.isfinite(score) and score == int(score) and scale.low <= score <= scale.high)
    if valid:
        kind, data = rating(scale_key, score)
        assert kind is scale.kind
        assert data == {"scale": scale_key, "score": int(score)}
        assert isinstance(data["score"], int)
    else:
        with pytest.raises(ValueError, match=scale.name.replace("/", ".")):
            rating(scale_key, score)


def test_unknown_scale_is_named():
    with pytest.raises(ValueError, match="unknown scale 'ramsay'"):
        rating("ramsay", 3)


def test_choices_have_unique_keys_and_hotkeys():
    for kind, choices in CHOICES.items():
        assert len({c.key for c in choices}) == len(choices), kind
        assert len({c.hotkey for c in choices}) == len(choices), kind
        assert all(len(c.hotkey) == 1 and c.hotkey.isdigit() for c in choices)
    side = {c.key for c in SIDE_EFFECTS}
    # The list, and respiratory depression (the REMS form asks about it).
    assert {"nausea", "vomiting", "anxiety", "headache", "dizziness", "emergence reaction",
            "respiratory depression"} <= side
    assert {"ondansetron", "midazolam", "lorazepam", "antihypertensive", "infusion paused",
            "infusion stopped", "reassurance"} <= {c.key for c in INTERVENTIONS}


@pytest.mark.parametrize(("kind", "data", "mark", "text"), [
    ("dissociation", {"scale": "level", "score": 3}, "3", "Dissociation level 3 (strong)"),
    ("dissociation", {"scale": "cadss6", "score": 9}, "C6 9", "CADSS-6 9 / 24"),
    ("sedation", {"scale": "moaas", "score": 4}, "4", "MOAA/S 4 (lethargic)"),
    ("sedation", {"scale": "rass", "score": -2}, "R \u22122", "RASS \u22122 (light)"),
    ("side_effect", {"name": "nausea", "text": "mild"}, "Nausea",
     "Side effect: Nausea \u00b7 mild"),
    ("side_effect", {"name": "other", "text": "tingling"}, "tingling",
     "Side effect: Other (describe) \u00b7 tingling"),
    ("intervention", {"name": "infusion paused"}, "Infusion paused",
     "Intervention: Infusion paused"),
    ("note", {"text": "calm"}, "calm", "Note: calm"),
    ("dose_start", {"route": "iv"}, "Dose start", "Dose start"),
])
def test_mark_and_description(kind, data, mark, text):
    assert mark_text(kind, data) == mark
    assert describe(kind, data) == text
