"""The one number format: exact for exports, rounded for reports, never a made-up value."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.reports import fmt
from monitor.timefmt import number, seconds


@pytest.mark.parametrize(("value", "text"), [
    (5.0, "5"), (0.5, "0.5"), (2.25, "2.25"), (-3.0, "-3"), (0.1 + 0.2, "0.30000000000000004"),
    (1e16, "1e+16")])
def test_exact_numbers_read_back_as_written(value: float, text: str) -> None:
    assert number(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_exact_text_reads_back_as_the_same_float(value: float) -> None:
    assert float(number(value)) == value


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf])
def test_an_export_refuses_what_it_could_not_read_back(value: float | None) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        number(value)


@pytest.mark.parametrize(("value", "digits", "text"), [
    (70.0, 1, "70"), (0.35, 2, "0.35"), (33.333, 1, "33.3"), (2.0, 2, "2"), (0.04, 1, "0"),
    (None, 1, "--"), (math.nan, 1, "--"), (math.inf, 2, "--")])
def test_a_report_rounds_and_shows_no_value_as_dashes(
        value: float | None, digits: int, text: str) -> None:
    assert number(value, digits) == text


def test_reports_and_exports_share_the_one_function() -> None:
    assert fmt.number is number
    assert seconds(12.3456) == "12.346"
