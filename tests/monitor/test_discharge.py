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
    monitoring_time,
    total,
    unmet_before_discharge,
)
from monitor.session import Phase
from monitor.timefmt import hours_text


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
    short = monitoring_time(rule.min_s, 600.0, 600.0 + 5400)
    assert short is not None and short.shortfall_s == 1800 and not short.met
    assert short.elapsed_s == 5400
    met = monitoring_time(rule.min_s, 600.0, 600.0 + 7200)
    assert met is not None and met.shortfall_s is None and met.met
    no_dose = monitoring_time(rule.min_s, None, 9000.0)
    assert no_dose is not None and no_dose.shortfall_s == 7200 and no_dose.elapsed_s is None
    early = monitoring_time(rule.min_s, 600.0, 300.0)  # before the dose: all still ahead
    assert early is not None and early.shortfall_s == 7200
    assert preset("iv-ketamine").min_monitoring is None
    assert monitoring_time(None, 0.0, 60.0) is None


def test_the_nurse_reads_the_shortfall_in_hours_and_minutes() -> None:
    """The discharge check's words, from the one shortfall and the one duration format."""
    assert [hours_text(s) for s in (59, 2700, 3600, 4500, 7200, -5)] == [
        "0 min", "45 min", "1 h", "1 h 15 min", "2 h", "0 min"]
    peak = (Phase("peak", 600.0, 3600.0),)
    assert unmet_before_discharge("esketamine-rems", 7200.0, 600.0, peak, False,
                                  600.0 + 2700) == [
        "the 2 h minimum monitoring of esketamine-rems (45 min since the dose start, "
        "1 h 15 min to go)",
        "the patient has not left the expected peak (until 50 min after the dose start)"]
    assert unmet_before_discharge("esketamine-rems", 7200.0, None, (), False, 60.0) == [
        "the 2 h minimum monitoring of esketamine-rems (no dose start recorded, 2 h to go)"]
    assert unmet_before_discharge("iv-ketamine", None, 600.0, peak, False, 4000.0) == []
