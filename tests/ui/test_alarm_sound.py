"""The alarm sound for real: the dashboard process plays into a private PulseAudio server, the
sink's monitor is recorded, and the bursts are measured against IEC 60601-1-8 Table 3 (HIGH 10
pulses a burst, 2.5-15 s between bursts; MEDIUM 3 pulses, 2.5-30 s; fundamental 150-1000 Hz).
The sound server dying raises "audio output unavailable" within 5 s and it clears when sound
returns; the dashboard neither crashes nor stays silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.alarm_sound import (
    ReplayDashboard,
    intervals,
    kill_and_restart,
    utc,
    wait_for_burst_start,
    wait_for_bursts,
    write_replay,
)
from tests.pulse import PulseServer

pytestmark = pytest.mark.slow


def _assert_bursts(bursts, pulses: int, interval_s: tuple[float, float]) -> None:
    for burst in bursts:
        assert len(burst.pulses) == pulses, burst
        assert 150 <= burst.fundamental_hz <= 1000, burst
    for gap in intervals(bursts):
        assert interval_s[0] <= gap <= interval_s[1], intervals(bursts)


def test_high_alarm_sounds_ten_pulse_bursts_every_few_seconds(
        pulse_server: PulseServer, tmp_path: Path) -> None:
    csv = write_replay(tmp_path / "spo2-80.csv", spo2=80)  # SpO2 critical: HIGH at once
    rec = pulse_server.record()
    with ReplayDashboard(pulse_server, csv, tmp_path) as dash:
        bursts = wait_for_bursts(rec, 3, dash)
    _assert_bursts(bursts, 10, (2.5, 15.0))


def test_medium_alarm_sounds_three_pulse_bursts(pulse_server: PulseServer,
                                                tmp_path: Path) -> None:
    # NIBP SYS >= 180 is MEDIUM on the reading, no delay (the LOW pre-dose advisory it also
    # raises does not sound over it)
    csv = write_replay(tmp_path / "sys-185.csv", nibp=(185, 100, 128))
    rec = pulse_server.record()
    with ReplayDashboard(pulse_server, csv, tmp_path) as dash:
        bursts = wait_for_bursts(rec, 2, dash)
    _assert_bursts(bursts, 3, (2.5, 30.0))


def test_sound_server_death_is_an_alarm_and_sound_returns_with_the_server(
        pulse_server: PulseServer, tmp_path: Path) -> None:
    csv = write_replay(tmp_path / "spo2-80.csv", spo2=80)
    before = pulse_server.record()
    with ReplayDashboard(pulse_server, csv, tmp_path) as dash:
        wait_for_bursts(before, 2, dash)
        outage = kill_and_restart(pulse_server, dash)  # "sound output lost" within 5 s
        bursts = wait_for_bursts(outage.after, 2, dash)  # the alarm sounds again
    _assert_bursts(bursts, 10, (2.5, 15.0))
    [episode] = [r for r in dash.alarm_log() if r["condition"] == "audio output unavailable"]
    # the engine stamps an action with the time of the latest sample (1 Hz here): up to 1 s early
    assert outage.killed - 1.5 <= utc(episode["start_utc"]) <= outage.killed + 5.0, episode
    assert episode["end_utc"], episode
    assert outage.restarting - 1.5 <= utc(episode["end_utc"]) <= outage.back + 1.0, episode


def test_a_stream_dropped_mid_burst_is_replaced_and_the_burst_goes_on(
        pulse_server: PulseServer, tmp_path: Path) -> None:
    """One failed burst is not "audio gone": the server drops the dashboard's stream while a
    HIGH burst plays; a new stream finishes the burst and the bursts keep their rhythm."""
    csv = write_replay(tmp_path / "spo2-80.csv", spo2=80)
    rec = pulse_server.record()
    with ReplayDashboard(pulse_server, csv, tmp_path) as dash:
        [first] = wait_for_bursts(rec, 1, dash)
        wait_for_burst_start(rec, first.end_s, dash)
        dropped_at = len(rec.samples()) / rec.rate  # recording time, within ~0.1 s
        assert pulse_server.drop_streams() == 1
        bursts = wait_for_bursts(rec, 4, dash)
    hit = bursts[1]
    assert hit.start_s < dropped_at < hit.start_s + 1.0, (hit, dropped_at)
    # the burst went on after the drop, to about its full length (1.97 s by design)
    assert hit.end_s - hit.start_s >= 1.9, hit
    _assert_bursts(bursts[2:], 10, (2.5, 15.0))
    for gap in intervals(bursts):
        assert 2.5 <= gap <= 15.0, intervals(bursts)
    assert "reconnected" in dash.output()
    assert not [r for r in dash.alarm_log() if r["condition"] == "audio output unavailable"]
