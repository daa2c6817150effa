"""Alarm sound benchmark: the bursts the real dashboard process plays into a private PulseAudio
server, recorded from the sink's monitor and measured (tests/alarm_sound.py), for HIGH, MEDIUM
and LOW, beside the IEC 60601-1-8 ranges (Table 3: pulses per burst, inter-burst interval;
fundamental 150-1000 Hz; Table 4's >= 4 harmonics in 300-4000 Hz). The ratios are measured
over designed (ui.alarm_tones): 1.00 is a burst on time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alarms.model import Priority
from tests import alarm_sound as sound
from tests.bench.conftest import report
from tests.pulse import PulseServer
from ui.alarm_tones import PATTERNS

# Table 3: pulses per burst (LOW: 1 or 2) and the inter-burst interval (LOW: > 15 s, no upper)
IEC_PULSES = {Priority.HIGH: (10, 10), Priority.MEDIUM: (3, 3), Priority.LOW: (1, 2)}
IEC_INTER_BURST_S = {Priority.HIGH: (2.5, 15.0), Priority.MEDIUM: (2.5, 30.0),
                     Priority.LOW: (15.0, None)}
SCENARIOS = {  # (replay columns, complete bursts to record)
    Priority.HIGH: ({"spo2": 80}, 3),  # SpO2 critical
    Priority.MEDIUM: ({"nibp": (185, 100, 128)}, 2),  # NIBP SYS >= 180
    Priority.LOW: ({"nibp": (150, 85, 107)}, 2),  # BP above 140/90 before the dose (advisory)
}


@pytest.mark.parametrize("priority", list(SCENARIOS), ids=lambda p: p.name)
def test_bench_alarm_bursts(priority: Priority, pulse_server: PulseServer,
                            tmp_path: Path) -> None:
    columns, count = SCENARIOS[priority]
    csv = sound.write_replay(tmp_path / "scenario.csv", **columns)
    rec = pulse_server.record()
    with sound.ReplayDashboard(pulse_server, csv, tmp_path) as dash:
        bursts = sound.wait_for_bursts(rec, count, dash, timeout=60.0)
    name = f"audio_{priority.name.lower()}"
    design = PATTERNS[priority]
    gaps = sound.intervals(bursts)
    periods = np.diff([b.start_s for b in bursts])
    on = [v for b in bursts for v in b.on_s]
    off = [v for b in bursts for v in b.off_s]
    report(f"{name}_bursts_recorded", len(bursts), "count")
    report(f"{name}_pulses_per_burst_min", min(len(b.pulses) for b in bursts), "count")
    report(f"{name}_pulses_per_burst_max", max(len(b.pulses) for b in bursts), "count")
    report(f"{name}_pulses_per_burst_iec_low", IEC_PULSES[priority][0], "count")
    report(f"{name}_pulses_per_burst_iec_high", IEC_PULSES[priority][1], "count")
    low, high = IEC_INTER_BURST_S[priority]
    report(f"{name}_inter_burst_min", min(gaps), "s")
    report(f"{name}_inter_burst_max", max(gaps), "s")
    report(f"{name}_inter_burst_iec_low", low, "s")
    if high is not None:
        report(f"{name}_inter_burst_iec_high", high, "s")
    report(f"{name}_inter_burst_vs_design", float(np.mean(gaps)) / design.inter_burst_s,
           "ratio")
    report(f"{name}_period_vs_design", float(np.mean(periods)) / design.period_s, "ratio")
    report(f"{name}_pulse_on_min", min(on) * 1000, "ms")
    report(f"{name}_pulse_on_max", max(on) * 1000, "ms")
    if off:
        report(f"{name}_pulse_off_min", min(off) * 1000, "ms")
        report(f"{name}_pulse_off_max", max(off) * 1000, "ms")
    report(f"{name}_fundamental", float(np.mean([b.fundamental_hz for b in bursts])), "Hz")
    report(f"{name}_fundamental_iec_low", 150, "Hz")
    report(f"{name}_fundamental_iec_high", 1000, "Hz")
    report(f"{name}_harmonics_300_4000hz", min(b.harmonics for b in bursts), "count")
    report(f"{name}_harmonics_iec_min", 4, "count")


def test_bench_sound_server_outage(pulse_server: PulseServer, tmp_path: Path) -> None:
    """The sound server killed under the sounding dashboard and started again: how long to
    "sound output lost" (stderr) and the "audio output unavailable" alarm, and back."""
    csv = sound.write_replay(tmp_path / "scenario.csv", spo2=80)
    before = pulse_server.record()
    with sound.ReplayDashboard(pulse_server, csv, tmp_path) as dash:
        sound.wait_for_bursts(before, 1, dash)
        outage = sound.kill_and_restart(pulse_server, dash)
        sound.wait_for_bursts(outage.after, 1, dash)
    [episode] = [r for r in dash.alarm_log() if r["condition"] == "audio output unavailable"]
    # the log lines are seen by polling stderr every 0.2 s; the alarm log stamps an action with
    # the time of the latest sample (1 Hz here), so its times can be up to 1 s early
    report("audio_server_killed_to_log_line", outage.lost - outage.killed, "s")
    report("audio_server_killed_to_log_line_required_max", 5.0, "s")
    report("audio_server_killed_to_alarm_start",
           sound.utc(episode["start_utc"]) - outage.killed, "s")
    report("audio_server_restart_to_log_line", outage.back - outage.restarting, "s")
    report("audio_server_restart_to_alarm_end",
           sound.utc(episode["end_utc"]) - outage.restarting, "s")
