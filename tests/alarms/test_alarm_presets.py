"""The presets are data that cite their sources, and the rules refuse impossible settings."""

from __future__ import annotations

import dataclasses

import pytest

from alarms.model import Priority
from alarms.presets import DEFAULT_PRESET, PRESETS, preset
from alarms.rules import LimitRule, Op


def _rules(p):
    for f in dataclasses.fields(p):
        value = getattr(p, f.name)
        for item in value if isinstance(value, tuple) else (value,):
            if hasattr(item, "source") and hasattr(item, "priority"):
                yield item


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_limit_cites_a_source_or_says_it_is_a_design_choice(name: str) -> None:
    rules = list(_rules(PRESETS[name]))
    assert len(rules) > 20
    for rule in rules:
        text = rule.source.lower()
        assert "published" in text or "design choice" in text, rule


def test_presets_differ_in_their_route_advisories() -> None:
    assert preset(None) is PRESETS[DEFAULT_PRESET] is PRESETS["iv-ketamine"]
    assert PRESETS["esketamine-rems"].min_monitoring.min_s == 2 * 3600
    assert PRESETS["iv-ketamine"].min_monitoring is None
    checks = {n: p.bp_check.after_dose_s for n, p in PRESETS.items()}
    assert checks["esketamine-rems"] == 40 * 60 and len(set(checks.values())) > 1
    with pytest.raises(KeyError, match="known: iv-ketamine"):
        preset("propofol")


def test_rapid_desaturation_rule_is_high_with_no_delay() -> None:
    for p in PRESETS.values():
        crit = next(r for r in p.limits if r.id == "spo2-critical")
        assert crit.priority is Priority.HIGH and crit.delay_s == 0
        low = next(r for r in p.limits if r.id == "spo2-low")
        assert low.limit > crit.limit and low.delay_s > 0


def test_rules_refuse_impossible_settings() -> None:
    with pytest.raises(ValueError, match="NIBP readings alarm on the reading"):
        LimitRule("x", "sbp", Op.GE, 180, Priority.MEDIUM, "x", "design choice", delay_s=5)
    with pytest.raises(ValueError, match="not a numeric vital"):
        LimitRule("x", "pleth", Op.GE, 1, Priority.LOW, "x", "design choice")
    with pytest.raises(ValueError, match="cite a source"):
        LimitRule("x", "hr", Op.GT, 120, Priority.MEDIUM, "x", "")
