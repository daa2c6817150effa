from __future__ import annotations

import numpy as np
import pytest

from devices.base import SpecError
from devices.sim.scenarios import SCENARIOS, response
from devices.spec import create_driver, parse_spec
from monitor.clock import VirtualClock
from monitor.messages import (
    Condition,
    DeviceCondition,
    DeviceState,
    DeviceStatus,
    Message,
    Numerics,
    TimelineMark,
    Waveform,
)
from monitor.runtime import SessionRuntime
from monitor.vitals import VITALS


def record(spec: str, duration_s: float) -> list[Message]:
    clock = VirtualClock(wall0=1_800_000_000.0)
    driver = create_driver(parse_spec(spec), "sim", clock)
    seen: list[Message] = []
    runtime = SessionRuntime([driver], clock, [seen.append], duration_s=duration_s)
    runtime.start()
    assert not runtime.wait(60).errors
    return seen


def series(msgs: list[Message], key: str) -> tuple[np.ndarray, np.ndarray]:
    pts = [(m.t_s, v) for m in msgs if isinstance(m, Numerics) for k, v in m.values if k == key]
    arr = np.array(pts, dtype=float).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


@pytest.fixture(scope="module")
def normal_2h() -> list[Message]:
    return record("sim:normal", 7200)


def test_same_seed_same_session_other_seed_differs() -> None:
    a, b, c = record("sim:normal", 300), record("sim:normal", 300), \
        record("sim:normal?seed=1", 300)
    assert [m for m in a if isinstance(m, Numerics)] == [m for m in b if isinstance(m, Numerics)]
    assert series(a, "hr")[1].tolist() != series(c, "hr")[1].tolist()


def test_numerics_every_second_nibp_every_five_minutes(normal_2h: list[Message]) -> None:
    for key in ("hr", "pr", "spo2", "rr"):
        t, _ = series(normal_2h, key)
        assert len(t) == 7200 and np.all(np.diff(t) == 1.0), key
    t_sbp, _ = series(normal_2h, "sbp")
    assert t_sbp[0] == 30.0 and np.all(np.diff(t_sbp) == 300.0)
    nibp = [m for m in normal_2h if isinstance(m, Numerics) and m.get("sbp") is not None]
    for m in nibp:  # one message per reading, internally consistent
        assert set(m.keys()) == {"sbp", "dbp", "map"}
        assert m.get("dbp") < m.get("map") < m.get("sbp")


def test_values_are_plausible_and_normal_stays_in_range(normal_2h: list[Message]) -> None:
    for key in ("hr", "pr", "spo2", "rr", "sbp", "dbp", "map"):
        _, v = series(normal_2h, key)
        assert all(VITALS[key].is_plausible(x) for x in v), key
    assert series(normal_2h, "spo2")[1].min() >= 90  # brief artefacts only, above the limit
    assert series(normal_2h, "sbp")[1].max() < 160


def test_ketamine_response_peaks_near_40_min_and_resolves(normal_2h: list[Message]) -> None:
    dose = next(m.t_s for m in normal_2h if isinstance(m, TimelineMark)
                and m.kind == "dose_start")
    t, sbp = series(normal_2h, "sbp")
    baseline = sbp[t < dose].mean()
    rel = t - dose

    def window(lo_min: float, hi_min: float) -> float:
        return float(sbp[(rel >= lo_min * 60) & (rel <= hi_min * 60)].mean())

    # Readings carry cuff noise, so compare windows: the rise peaks around 40 min.
    assert window(30, 50) > window(5, 20) + 5
    assert window(30, 50) > window(65, 85) + 5
    at_peak = sbp[(t - dose >= 35 * 60) & (t - dose <= 45 * 60)].mean()
    assert 10 <= at_peak - baseline <= 22  # Yale 2024: +16 mmHg mean at 40 min
    late = sbp[t - dose >= 100 * 60]
    assert abs(late.mean() - baseline) < 6
    th, hr = series(normal_2h, "hr")
    hr_peak = hr[(th - dose > 35 * 60) & (th - dose < 45 * 60)].mean()
    assert hr_peak - hr[th < dose].mean() > 4


def test_response_curve_shape() -> None:
    assert response(0, 2400) == 0.0
    assert response(2400, 2400) == pytest.approx(1.0)
    assert response(120 * 60, 2400) < 0.05
    assert 0.1 < response(90 * 60, 2400) < 0.25


def test_pleth_is_100_hz_and_continuous(normal_2h: list[Message]) -> None:
    chunks = [m for m in normal_2h if isinstance(m, Waveform)][:600]
    assert all(c.rate_hz == 100.0 and len(c.values) == 10 for c in chunks)
    assert np.allclose(np.diff([c.t_s for c in chunks]), 0.1)
    assert not chunks[0].values.flags.writeable
    wave = np.concatenate([c.values for c in chunks])
    assert wave.max() - wave.min() > 0.5  # a pulse, not a flat line


def test_probe_off_gives_a_condition_and_no_spo2() -> None:
    msgs = record("sim:probe-off?dose=0", 2 * 60 + 120)
    conds = [m for m in msgs if isinstance(m, DeviceCondition)]
    assert [(c.t_s, c.condition, c.active) for c in conds] == [
        (120.0, Condition.SENSOR_OFF, True), (210.0, Condition.SENSOR_OFF, False)]
    t, _ = series(msgs, "spo2")
    assert not np.any((t >= 120) & (t < 210))
    assert np.any(t >= 210)
    assert not any(isinstance(m, Waveform) and 120 <= m.t_s < 210 for m in msgs)


def test_dropout_disconnects_and_reconnects() -> None:
    msgs = record("sim:device-dropout?dose=0", 2 * 60 + 120)
    states = [(m.t_s, m.state) for m in msgs if isinstance(m, DeviceStatus)]
    assert (120.0, DeviceState.DISCONNECTED) in states
    back = [t for t, s in states if s is DeviceState.STREAMING and t > 120]
    assert back and 180 <= back[0] <= 180 + 30  # within one back-off step of the link returning
    t, _ = series(msgs, "hr")
    assert not np.any((t >= 120) & (t < 180))


@pytest.mark.parametrize(("name", "key", "target"),
                         [("bradycardia", "hr", 42), ("desaturation", "spo2", 82)])
def test_episode_reaches_its_target(name: str, key: str, target: float) -> None:
    msgs = record(f"sim:{name}?dose=0", 40 * 60)
    _, v = series(msgs, key)
    assert abs(v.min() - target) <= 3


def test_every_scenario_parses() -> None:
    for name in SCENARIOS:
        assert parse_spec(f"sim:{name}").target == name


@pytest.mark.parametrize(("spec", "message"), [
    ("sim:nosuch", "unknown scenario 'nosuch'"),
    ("sim:normal?seed=x", "seed='x' is not a number"),
    ("sim:normal?colour=red", "unknown option 'colour'"),
    ("sim:normal?nibp=10", "harms the patient"),
    ("sim:normal?seed", "not KEY=VALUE"),
])
def test_bad_sim_specs(spec: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(spec)


@pytest.mark.parametrize(("name", "key", "below"),
                         [("desaturation", "spo2", 85), ("desaturation", "rr", 8),
                          ("bradycardia", "hr", 50)])
def test_an_early_dose_shows_the_episode_within_minutes(name: str, key: str,
                                                        below: float) -> None:
    # A trainer's demonstration at 1x: `?dose=60` reaches the episode in a few minutes.
    msgs = record(f"sim:{name}?dose=60", 6 * 60)
    t, v = series(msgs, key)
    assert np.any(v < below) and t[v < below][0] < 5 * 60
