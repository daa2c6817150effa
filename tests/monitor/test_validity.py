"""The one validity rule (`monitor.validity`), row by row, and its array form."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.messages import Numerics
from monitor.validity import Flag, Verdict, judge, measurements
from monitor.vitals import NUMERIC_KEYS

M, A, D = Verdict.MEASUREMENT, Verdict.ARTEFACT, Verdict.DEVICE_CONDITION

# (vital, value, what the source says, verdict), each written from the rule.
TABLE = [
    # the device marks the value: a device condition, whatever the number
    ("spo2", 97.0, Flag.FLAGGED, D),  # e.g. IntelliVue questionable, PLX demo data
    ("hr", 0.0, Flag.FLAGGED, D),
    ("sbp", 120.0, Flag.FLAGGED, D),
    # no number at all: a device condition, never a value
    ("spo2", None, Flag.UNFLAGGED, D),
    ("hr", math.nan, Flag.VALID, D),
    ("hr", math.inf, Flag.UNFLAGGED, D),
    # the source cannot say (a replayed file, a plain oximeter): plausible or an artefact
    ("spo2", 97.0, Flag.UNFLAGGED, M),
    ("spo2", 30.0, Flag.UNFLAGGED, M),  # the range's ends are inside it
    ("spo2", 100.0, Flag.UNFLAGGED, M),
    ("spo2", 0.0, Flag.UNFLAGGED, A),  # a monitor's 0 placeholder in a recording
    ("spo2", 101.0, Flag.UNFLAGGED, A),
    ("hr", 0.0, Flag.UNFLAGGED, A),
    ("hr", 19.0, Flag.UNFLAGGED, A),
    ("rr", 0.0, Flag.UNFLAGGED, A),
    ("sbp", 35.0, Flag.UNFLAGGED, A),
    # the device vouches for it: a measurement even outside the usual range
    ("hr", 0.0, Flag.VALID, M),  # VF or asystole on an IntelliVue (real MP90 capture)
    ("hr", 72.0, Flag.VALID, M),
    ("sbp", 35.0, Flag.VALID, M),
    ("spo2", 0.0, Flag.VALID, M),
]


@pytest.mark.parametrize(("key", "value", "flag", "verdict"), TABLE)
def test_the_rule(key: str, value: float | None, flag: Flag, verdict: Verdict) -> None:
    assert judge(key, value, flag) is verdict


def test_numerics_says_which_values_the_device_vouched_for() -> None:
    plain = Numerics("ox", 0.0, 0.0, (("spo2", 97.0),))
    assert plain.flag("spo2") is Flag.UNFLAGGED and plain.in_alarm == ()
    mon = Numerics("mp", 0.0, 0.0, (("hr", 0.0), ("spo2", 97.0)), ("hr",), ("hr",))
    assert (mon.flag("hr"), mon.flag("spo2")) == (Flag.VALID, Flag.UNFLAGGED)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(NUMERIC_KEYS),
       st.lists(st.tuples(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
           [0.0, 19.999, 20.0, 30.0, 100.0, 100.001, 300.0]), st.booleans()), max_size=30))
def test_the_array_form_is_the_rule(key: str, rows: list[tuple[float, bool]]) -> None:
    values = np.array([v for v, _ in rows], dtype=float)
    vouched = np.array([b for _, b in rows], dtype=bool)
    expected = [judge(key, v, Flag.VALID if b else Flag.UNFLAGGED) is M for v, b in rows]
    assert measurements(key, values, vouched).tolist() == expected
    unflagged = [judge(key, v, Flag.UNFLAGGED) is M for v, _ in rows]
    assert measurements(key, values).tolist() == unflagged


def test_a_message_carries_the_verdict_judged_once_where_it_enters() -> None:
    """`Numerics.measured` is the rule applied to each value as the message is made: the
    engine, the live state and the trend buffers read it instead of judging again."""
    msg = Numerics("mp", 0.0, 1.0, (("hr", 0.0), ("spo2", 97.0), ("rr", 0.0),
                                    ("sbp", math.nan), ("etco2", 38.0)), validated=("hr",))
    # HR 0 vouched for by the device, SpO2 plausible; RR 0 unflagged is an artefact, a NaN
    # is no value, and a key outside the registry is never a measurement
    assert msg.measured == {"hr", "spo2"}
    moved = replace(msg, values=(("rr", 14.0),))
    assert moved.measured == {"rr"}  # a copy is judged again, never carries a stale verdict
    assert msg == replace(msg)  # the verdict is derived: it takes no part in equality
