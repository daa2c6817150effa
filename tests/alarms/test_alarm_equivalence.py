"""One semantics, two engines: streaming and batch give identical episodes."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alarms.batch import Recording, evaluate
from alarms.presets import PRESETS
from monitor.vitals import NIBP_KEYS
from tests.alarms.alarm_helpers import stream

# Steps and values sit on and around the limits, delays, timeouts and escalation times,
# so that ties (a sample exactly when a delay runs out) are common.
STEPS = [0, 0.25, 1, 1, 1, 1, 2, 5, 9, 10, 11, 14, 15, 16, 29, 30, 31, 59, 60, 61, 120,
         179, 180, 181, 600, 1019, 1020, 1021, 2400]
CONT = {
    "spo2": [0, 20, 50, 80, 84, 85, 86, 89, 90, 90.5, 91, 92, 95, 99, 100, 101],
    "hr": [0, 15, 40, 47, 49, 50, 51, 52, 53, 54, 80, 114, 115, 116, 120, 121, 130, 400],
    "pr": [0, 40, 49, 50, 53, 80, 116, 120, 121],
    "rr": [0, 5, 7, 8, 9, 14, 28, 29, 30, 31, 40, 150],
}
SBP = [0, 30, 85, 89, 90, 120, 130, 140, 141, 160, 170, 179, 180, 199, 200, 260, 400]
DBP = [0, 10, 60, 78, 80, 90, 91, 100, 104, 105, 109, 110, 119, 120, 200]
MAP = [0, 50, 70, 95, 110, 130, 150, 300]


@st.composite
def recordings(draw: st.DrawFn) -> tuple[Recording, float | None, float, str, bool]:
    n = draw(st.integers(1, 60))
    steps = draw(st.lists(st.sampled_from(STEPS) | st.floats(0, 90), min_size=n, max_size=n))
    t = np.cumsum(np.array(steps, dtype=float))
    keys = draw(st.sets(st.sampled_from(sorted(CONT)), min_size=0))
    values: dict[str, np.ndarray] = {}
    for key in sorted(keys):
        opts = st.none() | st.sampled_from(CONT[key]) | st.floats(0, 200)
        col = draw(st.lists(opts, min_size=n, max_size=n))
        values[key] = np.array([np.nan if v is None else v for v in col], dtype=float)
    if draw(st.booleans()):
        cols = {k: np.full(n, np.nan) for k in NIBP_KEYS}
        for i in range(n):
            if draw(st.integers(0, 3)) == 0:
                cols["sbp"][i] = draw(st.sampled_from(SBP) | st.none().map(lambda _: np.nan))
                cols["dbp"][i] = draw(st.sampled_from(DBP))
                cols["map"][i] = draw(st.sampled_from(MAP) | st.none().map(lambda _: np.nan))
        values.update(cols)
    # Some vitals come from a device that vouches for some values (a monitor's validity
    # state): those are measurements even outside the plausible range.
    vouched = draw(st.sets(st.sampled_from(sorted(values)))) if values else set()
    validated = {k: np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
                 for k in sorted(vouched)}
    dose = draw(st.none() | st.sampled_from([0.0, *t.tolist()]) | st.floats(0, float(t[-1])))
    until = float(t[-1]) + draw(st.sampled_from([0, 0.5, 15, 30, 31, 1200, 2400, 8000]))
    preset = draw(st.sampled_from(sorted(PRESETS)))
    recorded = draw(st.booleans())
    return Recording(t, values, "dev", validated), dose, until, preset, recorded


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recordings())
def test_streaming_and_batch_give_identical_episodes(case) -> None:
    rec, dose, until, name, recorded = case
    preset = PRESETS[name]
    streamed, _ = stream(rec, preset, dose=dose, until=until, recorded=recorded)
    batch = evaluate(rec, preset, dose_start_t_s=dose, until_t_s=until, ended=True,
                     recorded=recorded)
    assert streamed == batch
