from __future__ import annotations

import math

import pytest

from monitor.vitals import NIBP_KEYS, NUMERIC_KEYS, VITALS, WAVEFORM_KEYS, VitalKind, vital

# The codes the FHIR export is required to use.
EXPECTED_LOINC = {"hr": "8867-4", "spo2": "59408-5", "pr": "8889-8", "sbp": "8480-6",
                  "dbp": "8462-4", "map": "8478-0", "rr": "9279-1"}


def test_registry_defines_every_vital_once() -> None:
    assert set(VITALS) == {"hr", "pr", "spo2", "sbp", "dbp", "map", "rr", "pleth"}
    assert set(NUMERIC_KEYS) | set(WAVEFORM_KEYS) == set(VITALS)
    assert not set(NUMERIC_KEYS) & set(WAVEFORM_KEYS)
    assert all(VITALS[k].kind is VitalKind.INTERMITTENT for k in NIBP_KEYS)


def test_loinc_codes() -> None:
    assert {k: VITALS[k].loinc for k in EXPECTED_LOINC} == EXPECTED_LOINC


@pytest.mark.parametrize("key", list(VITALS))
def test_entries_are_sane(key: str) -> None:
    v = VITALS[key]
    lo, hi = v.plausible
    assert lo < hi
    assert v.colour.startswith("#") and len(v.colour) == 7
    # Alarm priorities own red, yellow and cyan; a vital's colour must not read as one.
    assert v.colour.lower() not in {"#ff0000", "#ffff00", "#00ffff"}


def test_placeholder_zero_is_not_plausible_for_monitor_numerics() -> None:
    for key in ("hr", "pr", "spo2", "rr", "sbp", "dbp", "map"):
        assert not VITALS[key].is_plausible(0.0), key
    assert VITALS["spo2"].is_plausible(97)
    assert not VITALS["spo2"].is_plausible(math.nan)


def test_missing_value_formats_as_dashes_never_zero() -> None:
    spo2 = vital("spo2")
    assert spo2.format(None) == "--"
    assert spo2.format(math.nan) == "--"
    assert spo2.format(96.6) == "97"


def test_unknown_vital_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: hr"):
        vital("temp")


def test_what_the_dashboard_takes_from_each_vital() -> None:
    """Which tile flashes for a vital's alarms, the badge's short name, and the trend row
    its alarms shade: the registry says it, the dashboard only reads it."""
    tiles = {k: VITALS[k].tile for k in VITALS}
    assert tiles == {"hr": "hr", "pr": "spo2", "spo2": "spo2", "sbp": "nibp", "dbp": "nibp",
                     "map": "nibp", "rr": "rr", "pleth": "spo2"}
    assert [VITALS[k].short_label for k in ("pr", "sbp", "dbp", "map", "hr", "spo2")] == [
        "PR", "SYS", "DIA", "MAP", "HR", "SpO2"]
    # PR has no trend line: its alarms shade the heart rate's row; every other its own
    assert {k: VITALS[k].trend_vital for k in VITALS if VITALS[k].trend_vital != k} == {
        "pr": "hr"}
