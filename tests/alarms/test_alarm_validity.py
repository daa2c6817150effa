"""The alarm engine applies the one validity rule: a value the device vouched for is judged
against the limits even outside the plausible range; an unflagged implausible value is an
artefact (a technical condition), never physiology."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from alarms.engine import AlarmEngine
from alarms.episodes import Episode, episodes_from_events
from alarms.model import AlarmEvent, AlarmKind, Priority
from alarms.presets import PRESETS
from monitor.messages import Numerics
from monitor.vitals import VITALS

IV = PRESETS["iv-ketamine"]


def run(rows: list[tuple[float, tuple[tuple[str, float], ...], tuple[str, ...]]],
        until: float) -> list[Episode]:
    engine = AlarmEngine(IV, wall0=0.0)
    events: list[AlarmEvent] = []
    engine.add_listener(events.append)
    for t, values, vouched in rows:
        engine(Numerics("mp", t, t, values, vouched, vouched))
    engine.end_session(until)
    return episodes_from_events(events)


def hr_zero(vouched: tuple[str, ...]) -> list[Episode]:
    return run([(float(t), (("hr", 0.0),), vouched) for t in range(20)], 20.0)


def test_a_valid_hr_of_zero_is_a_high_physiological_alarm_at_once() -> None:
    eps = hr_zero(("hr",))  # IntelliVue HR 0, state valid + in alarm: VF or asystole
    # One HR-low alarm (keyed by its least severe tier) at HIGH from the first sample: the
    # extreme-low tier has no delay.
    assert [(e.rule_id, e.kind, e.peak, e.signal_t_s, e.worst_value) for e in eps] == [
        ("hr-low", AlarmKind.PHYSIOLOGICAL, Priority.HIGH, 0.0, 0.0)]
    assert not [e for e in eps if e.kind is AlarmKind.TECHNICAL], "never 'leads off?'"
    eps = hr_zero(())  # the same 0 unflagged (a recording's placeholder): an artefact
    assert [(e.rule_id, e.kind, e.priority, e.signal_t_s) for e in eps] == [
        ("hr-invalid", AlarmKind.TECHNICAL, Priority.LOW, 10.0)]


def test_a_valid_nibp_below_the_plausible_range_is_hypotension() -> None:
    reading = (("sbp", 35.0), ("dbp", 20.0), ("map", 25.0))
    valid = run([(0.0, reading, ("sbp", "dbp", "map"))], 1.0)
    assert [(e.rule_id, e.worst_value) for e in valid] == [("sbp-low", 35.0)]
    unflagged = run([(0.0, reading, ())], 1.0)
    assert [e.rule_id for e in unflagged] == ["nibp-invalid"]


@settings(max_examples=200, deadline=None)
@given(st.floats(-1e4, 1e4) | st.sampled_from([0.0, 19.0, 20.0, 301.0]), st.booleans())
def test_artefact_or_physiology_follows_the_flag(hr: float, vouched: bool) -> None:
    eps = run([(float(t), (("hr", hr),), ("hr",) if vouched else ()) for t in range(40)], 40.0)
    kinds = {e.kind for e in eps}
    if vouched or VITALS["hr"].is_plausible(hr):
        assert AlarmKind.TECHNICAL not in kinds
        assert (AlarmKind.PHYSIOLOGICAL in kinds) == (not 50 <= hr <= 120), hr
    else:
        assert [e.rule_id for e in eps] == ["hr-invalid"]
