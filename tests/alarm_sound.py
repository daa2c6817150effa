"""The alarm sound as it leaves the machine: the real dashboard process playing into a private
PulseAudio server (tests/pulse.py), the sink's monitor recorded, and the bursts measured.

    csv = write_replay(tmp_path / "high.csv", spo2=80)       # a HIGH alarm from the start
    rec = server.record()
    with ReplayDashboard(server, csv, tmp_path) as dash:
        bursts = wait_for_bursts(rec, 3, dash)               # complete bursts, measured
        outage = kill_and_restart(server, dash)               # the sound server dies
    rows = dash.alarm_log()                                  # `export --format alarms`

`find_bursts` splits a recording into pulses (the RMS envelope over 2 ms above a tenth of its
peak) and bursts (pulses closer than 2 s; Table 3's shortest inter-burst interval is 2.5 s),
and finds each burst's fundamental from its spectrum.
"""

from __future__ import annotations

import csv
import io
import itertools
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from tests.helpers.dashboard import Dashboard
from tests.helpers.paths import MAIN, REPO
from tests.helpers.waiting import until
from tests.pulse import PulseServer, Recording

BURST_GAP_S = 2.0  # pulses further apart than this are in different bursts
_WINDOW_S = 0.002
_MIN_PULSE_S = 0.01


@dataclass(frozen=True)
class Burst:
    start_s: float  # in the recording
    end_s: float
    pulses: tuple[tuple[float, float], ...]  # (start, end) s in the recording
    fundamental_hz: float
    harmonics: int  # multiples of the fundamental in 300-4000 Hz within 30 dB of the peak

    @property
    def on_s(self) -> list[float]:
        return [end - start for start, end in self.pulses]

    @property
    def off_s(self) -> list[float]:
        return [b[0] - a[1] for a, b in itertools.pairwise(self.pulses)]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _spectrum_peaks(x: np.ndarray, rate: int) -> tuple[float, int]:
    """The fundamental (the lowest strong spectral peak) and its harmonic count."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    band = (freqs >= 50) & (freqs <= 8000)
    top = spec[band].max()
    strong = np.flatnonzero(band & (spec >= 0.25 * top))
    first = strong[0]
    near = np.flatnonzero(np.abs(freqs - freqs[first]) <= 20)
    f0 = float(freqs[near[np.argmax(spec[near])]])
    harmonics = 0
    for k in range(2, int(4000 // f0) + 1):
        if k * f0 < 300:
            continue
        around = np.abs(freqs - k * f0) <= 0.02 * k * f0
        harmonics += bool(spec[around].max() >= top * 10 ** (-30 / 20))
    return f0, harmonics


def find_bursts(samples: np.ndarray, rate: int, complete_only: bool = True) -> list[Burst]:
    """The bursts in a recording. `complete_only` drops a last burst that the recording may
    have cut (it ends less than BURST_GAP_S before the end of the recording)."""
    x = samples.astype(np.float64)
    n = max(1, round(_WINDOW_S * rate))
    if len(x) < n:
        return []
    power = np.concatenate(([0.0], np.cumsum(x * x)))
    env = np.sqrt(np.maximum(power[n:] - power[:-n], 0.0) / n)  # RMS over n samples
    if env.max() <= 0:
        return []
    pulses = [(a, b) for a, b in _runs(env > 0.1 * env.max()) if b - a >= _MIN_PULSE_S * rate]
    groups: list[list[tuple[int, int]]] = []
    for pulse in pulses:
        if groups and pulse[0] - groups[-1][-1][1] < BURST_GAP_S * rate:
            groups[-1].append(pulse)
        else:
            groups.append([pulse])
    if complete_only and groups and len(x) - groups[-1][-1][1] < BURST_GAP_S * rate:
        groups.pop()
    bursts = []
    for group in groups:
        f0, harmonics = _spectrum_peaks(np.concatenate([x[a:b] for a, b in group]), rate)
        bursts.append(Burst(group[0][0] / rate, group[-1][1] / rate,
                            tuple((a / rate, b / rate) for a, b in group), f0, harmonics))
    return bursts


def intervals(bursts: list[Burst]) -> list[float]:
    """Table 3's inter-burst interval: the end of one burst to the start of the next."""
    return [b.start_s - a.end_s for a, b in itertools.pairwise(bursts)]


def write_replay(path: Path, seconds: int = 600, nibp: tuple[int, int, int] | None = None,
                 **vitals: float) -> Path:
    """A replay CSV: `vitals` (e.g. spo2=80) every second on top of a normal patient; `nibp`
    (sys, dia, map) once at 0 s."""
    values = {"hr": 80, "spo2": 97, "rr": 14, **vitals}
    keys = list(values)
    lines = [",".join(["time_s", *keys, "sbp", "dbp", "map"])]
    for t in range(seconds):
        bp = [str(v) for v in nibp] if nibp is not None and t == 0 else ["", "", ""]
        lines.append(",".join([str(t), *(str(values[k]) for k in keys), *bp]))
    path.write_text("\n".join(lines) + "\n")
    return path


class ReplayDashboard(Dashboard):
    """`main.py dashboard` on a replay file, playing into `server`, its own store in `tmp`;
    ready once it records. As a context manager it ends with Ctrl+C and checks it ended
    cleanly (tests/helpers/dashboard.py)."""

    def __init__(self, server: PulseServer, replay: Path, tmp: Path) -> None:
        super().__init__(tmp, "--device", f"replay:{replay}", env=server.env)
        try:
            self.wait_recording()
        except BaseException:
            self.end()
            raise

    def alarm_log(self) -> list[dict[str, str]]:
        """The session's alarm log from `main.py export --format alarms` (after the end)."""
        out = subprocess.run(
            [sys.executable, str(MAIN), "export", "--db", str(self.db), "--format", "alarms",
             "--out", "-"], cwd=REPO, capture_output=True, text=True, timeout=60,
            check=True).stdout
        return list(csv.DictReader(io.StringIO(out)))


def utc(text: str) -> float:
    """An alarm log time (UTC ISO 8601) as epoch seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def wait_for_bursts(rec: Recording, count: int, dash: Dashboard,
                    timeout: float = 40.0) -> list[Burst]:
    """Polls the recording until it holds `count` complete bursts; returns them all."""
    found: list[Burst] = []

    def enough() -> bool:
        found[:] = find_bursts(rec.samples(), rec.rate)
        return len(found) >= count
    until(enough, lambda: f"{len(found)} complete bursts, not {count}: {found}\n"
          f"{dash.output()[-2000:]}", timeout, proc=dash.proc, every=0.5)
    return found


def wait_for_burst_start(rec: Recording, after_s: float, dash: Dashboard,
                         timeout: float = 20.0) -> Burst:
    """Polls the recording (every 50 ms) until a burst has begun after `after_s` (recording
    time); returns it as recorded so far."""
    def started() -> Burst | None:
        return next((b for b in find_bursts(rec.samples(), rec.rate, complete_only=False)
                     if b.start_s > after_s), None)
    return until(started, f"no burst began after {after_s} s", timeout, proc=dash.proc,
                 every=0.05)


@dataclass(frozen=True)
class Outage:
    """The sound server killed under a running dashboard and started again (epoch times)."""
    killed: float
    lost: float  # the dashboard logged "sound output lost"
    restarting: float  # the server is being started again on the same socket
    back: float  # the dashboard logged "sound output is back"
    after: Recording  # the sink's monitor from the restart on


def kill_and_restart(server: PulseServer, dash: Dashboard, lost_within: float = 5.0,
                     back_within: float = 10.0) -> Outage:
    """SIGKILLs the server, waits for the dashboard to say so, starts the server again and
    waits for the dashboard to say sound is back. Fails if either takes longer."""
    seen = len(dash.output())
    killed = time.time()
    server.kill()
    lost = dash.wait_for("sound output lost", timeout=lost_within, after=seen)
    restarting = time.time()
    server.start()
    after = server.record()
    back = dash.wait_for("sound output is back", timeout=back_within, after=seen)
    return Outage(killed, lost, restarting, back, after)
