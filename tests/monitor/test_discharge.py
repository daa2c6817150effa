"""Discharge scores: totals, the >= 9 criterion, the entry stored, the monitoring minimum."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alarms.presets import preset
from monitor.discharge import (
    ALDRETE,
    PADSS,
    SCALES,
    DischargeError,
    entry_data,
    meets_criterion,
    monitoring_shortfall_s,
    total,
)


def test_both_scales_have_five_items_scored_0_to_2_out_of_10() -> None:
    for scale in SCALES.values():
        assert len(scale.items) == 5 and scale.max_score == 10
        for item in scale.items:
            assert [s for s, _ in item.options] == [2, 1, 0]
    assert [i.key for i in ALDRETE.items] == ["activity", "respiration", "circulation",
                                             "consciousness", "spo2"]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(list(SCALES)), st.lists(st.sampled_from([0, 1, 2]), min_size=5,
                                               max_size=5))
def test_total_is_the_sum_and_9_meets_the_criterion(key: str, scores: list[int]) -> None:
    scale = SCALES[key]
    answers = {it.key: s for it, s in zip(scale.items, scores, strict=True)}
    assert total(scale, answers) == sum(scores)
    assert meets_criterion(sum(scores)) is (sum(scores) >= 9)
    data = entry_data(scale, answers, 5400.0)
    assert data["score"] == sum(scores) and data["scale"] == key
    assert data["meets_criterion"] == int(sum(scores) >= 9)
    assert data["ready_t_s"] == 5400.0
    assert all(data[f"item_{k}"] == v for k, v in answers.items())


def test_an_unscored_or_invalid_item_is_named() -> None:
    answers = {it.key: 2 for it in PADSS.items}
    del answers["bleeding"]
    with pytest.raises(DischargeError, match="PADSS: Bleeding: not scored"):
        total(PADSS, answers)
    with pytest.raises(DischargeError, match="SpO2: 3 is not a score"):
        total(ALDRETE, {**{it.key: 2 for it in ALDRETE.items}, "spo2": 3})
    with pytest.raises(DischargeError, match="not a score"):
        total(ALDRETE, {**{it.key: 2 for it in ALDRETE.items}, "spo2": True})
    with pytest.raises(DischargeError, match="no item 'escort'"):
        total(ALDRETE, {**{it.key: 2 for it in ALDRETE.items}, "escort": 2})


def test_shortfall_against_the_rems_two_hours() -> None:
    rule = preset("esketamine-rems").min_monitoring
    assert rule is not None and rule.min_s == 7200
    assert monitoring_shortfall_s(rule.min_s, 600.0, 600.0 + 5400) == 1800
    assert monitoring_shortfall_s(rule.min_s, 600.0, 600.0 + 7200) is None
    assert monitoring_shortfall_s(rule.min_s, None, 9000.0) == 7200  # no dose recorded
    assert preset("iv-ketamine").min_monitoring is None
    assert monitoring_shortfall_s(None, 0.0, 60.0) is None
