"""End to end: `main.py record --device intellivue:/dev/pts/N` (and `datex:`) against the
fake monitors served on a pty, through states, an abort and a silent monitor, then the
store and `main.py export` are checked against the fake's own log of what it sent.

Each step waits on the store (read-only, as another process would) or on the fake, with a
deadline; the recording is ended with SIGINT once the last step is seen.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from alarms.presets import DEFAULT_PRESET, preset
from devices.multiparam.datex import records as dri
from devices.multiparam.datex.session import Timing as DatexTiming
from devices.multiparam.fakes.datex import FakeDatex, FakeDatexConfig
from devices.multiparam.fakes.intellivue import FakeIntelliVue, FakeIntelliVueConfig
from devices.multiparam.intellivue import pdu
from devices.multiparam.intellivue.session import Timing as IntelliVueTiming
from monitor.messages import Condition
from monitor.vitals import VITALS
from tests.devices.multiparam.monitor_pty import MonitorPty
from tests.helpers.paths import REPO
from tests.helpers.waiting import until

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs POSIX ptys")]

STEP_DEADLINE_S = 20.0
DETECT_S = 2.0  # a silent monitor is shown disconnected within this of its silence being sure
NEVER = 1e9
LATENCY_S = 2.0  # from the fake writing a value to Vigil stamping it, on a busy machine
# How long the fake marks values invalid or demo: all of HR, SpO2 and PR are marked together
# for longer than a silence takes to raise "device disconnected", which they must not.
MARKED_S = 9.0
UNAVAILABLE_S = 11.0  # how long it marks HR unavailable: longer than "searching" must last
PRESET = preset(DEFAULT_PRESET)  # what `main.py record` runs without --preset
SLACK_S = 0.05  # the fake logs the scheduled time; it writes within its 20 ms step


class Recording:
    """`main.py record` in a subprocess, and read-only queries of its live store."""

    def __init__(self, tmp_path: Path, spec: str, duration_s: float = 60.0) -> None:
        self.db = tmp_path / "vigil.sqlite3"
        self.proc = subprocess.Popen(
            [sys.executable, "main.py", "record", "--device", spec, "--duration",
             str(duration_s), "--db", str(self.db)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.err = ""

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if not self.db.exists():
            return []
        try:
            with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=1) as conn:
                return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # the schema is not created yet
            return []

    def wait(self, what: str, sql: str, params: tuple[Any, ...] = (),
             done: Callable[[list[tuple[Any, ...]]], bool] = bool) -> list[tuple[Any, ...]]:
        """The rows of `sql` once `done(rows)`; fails after STEP_DEADLINE_S."""
        def found() -> list[tuple[Any, ...]] | None:
            rows = self.rows(sql, params)
            return rows if done(rows) else None
        return until(found, what, STEP_DEADLINE_S, proc=self.proc, every=0.05)

    def status_after(self, code: str, t_s: float, detail: str = "") -> tuple[Any, ...]:
        """The first status `code` after session time `t_s` (detail containing `detail`)."""
        return self.wait(f"status {code} ({detail}) after {t_s:.1f} s",
                         "SELECT t_s, t_wall, detail FROM device_events WHERE kind = 'status'"
                         " AND code = ? AND t_s > ? AND instr(detail, ?) > 0 ORDER BY t_s",
                         (code, t_s, detail))[0]

    def samples(self, vital: str, after_t_s: float = -1.0) -> list[tuple[Any, ...]]:
        return self.rows("SELECT t_s, t_wall, value FROM samples WHERE vital = ? AND t_s > ?"
                         " ORDER BY t_s, rowid", (vital, after_t_s))

    def wait_samples(self, vital: str, n: int = 1, after_t_s: float = -1.0) -> None:
        self.wait(f"{n} {vital} sample(s) after {after_t_s:.1f} s",
                  "SELECT COUNT(*) FROM samples WHERE vital = ? AND t_s > ?",
                  (vital, after_t_s), lambda r: bool(r) and r[0][0] >= n)

    def conditions(self) -> list[tuple[Any, ...]]:
        """(t_s, code, active, vital) of every condition event, in order."""
        return self.rows("SELECT t_s, code, active, vital FROM device_events"
                         " WHERE kind = 'condition' ORDER BY t_s, rowid")

    def wait_alarm(self, rule_id: str) -> None:
        self.wait(f"alarm {rule_id}", "SELECT 1 FROM alarm_log WHERE event = 'start' AND"
                  " substr(key, 1, ?) = ?", (len(rule_id) + 1, rule_id + ":"))

    def stop(self) -> None:
        """SIGINT: the session ends (left interrupted) and the devices are closed (released)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        _, self.err = self.proc.communicate(timeout=20)
        assert self.proc.returncode == 0, self.err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()

    def export(self, fmt: str) -> str:
        out = subprocess.run([sys.executable, "main.py", "export", "--db", str(self.db),
                              "--format", fmt, "--out", "-"],
                             cwd=REPO, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        return out.stdout


@contextmanager
def recording(tmp_path: Path, spec: str) -> Iterator[Recording]:
    rec = Recording(tmp_path, spec)
    try:
        yield rec
    finally:
        rec.kill()


def _csv_values(text: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        out.setdefault(row["vital"], []).append(float(row["value"]))
    return out


def _episodes(conds: list[tuple[Any, ...]], code: str, vital: str) -> list[tuple[float, float]]:
    """(start, end) of each episode of a condition (end: inf while it lasts)."""
    out: list[tuple[float, float]] = []
    for t, c, active, v in conds:
        if (c, v) != (code, vital):
            continue
        if active:
            out.append((t, float("inf")))
        elif out and out[-1][1] == float("inf"):
            out[-1] = (out[-1][0], t)
    return out


def _streaming(rec: Recording) -> list[tuple[float, float]]:
    """(from, to) wall times of each stretch the device was streaming."""
    statuses = rec.rows("SELECT t_wall, code FROM device_events WHERE kind = 'status'"
                        " ORDER BY t_s, rowid")
    return [(w, statuses[i + 1][0] if i + 1 < len(statuses) else float("inf"))
            for i, (w, code) in enumerate(statuses) if code == "streaming"]


def _check_log(rec: Recording, vital: str, sent: list[tuple[float, float | None]]) -> None:
    """The stored `vital` against the fake's log (wall time sent, value or None if marked),
    in order: each stored number is one the monitor sent shortly before, and every valid
    number sent while the device was streaming was stored. (Values sent while Vigil's port
    was closed, between a disconnect and the reconnect, are lost, as on a real cable.)"""
    stored = [(s[1], s[2]) for s in rec.samples(vital)]
    assert stored, f"no {vital} stored"
    streaming = _streaming(rec)

    def unstored(k: int) -> None:
        sw, sv = sent[k]
        assert sv is None or not any(a <= sw < b - LATENCY_S for a, b in streaming), \
            f"{vital} {sv} sent at {sw:.3f} while streaming, not stored"

    i = 0
    for w, v in stored:
        while i < len(sent) and not (sent[i][1] == v and -SLACK_S <= w - sent[i][0] < LATENCY_S):
            unstored(i)
            i += 1
        assert i < len(sent), f"{vital} {v} stored at {w:.3f}: the monitor never sent it"
        i += 1
    for k in range(i, len(sent)):
        unstored(k)


def _link_down(rec: Recording) -> list[tuple[str, float, float]]:
    """(source, from, to) session times of each stretch a device was stale or disconnected
    before it streamed again."""
    statuses = rec.rows("SELECT t_s, source, code FROM device_events WHERE kind = 'status'"
                        " ORDER BY t_s, rowid")
    out, down = [], None
    for t, source, code in statuses:
        if code in ("stale", "disconnected") and down is None:
            down = t
        elif code == "streaming" and down is not None:
            out.append((source, down, t))
            down = None
    return out


def _check_alarms(rec: Recording, marked: list[tuple[str, str]]) -> int:
    """The alarm export holds, for each device condition `marked` (vital, code) that lasted
    longer than its rule's delay and each link loss longer than its delay, one technical
    alarm from onset + delay to the end, and nothing else: shorter ones raise nothing, and
    nothing physiological comes of values the monitor marked. Returns the alarm count."""
    rows = list(csv.DictReader(io.StringIO(rec.export("alarms"))))
    assert all(r["kind"] == "technical" for r in rows), rows
    got = [(r["vital"], r["condition"], float(r["t_start_s"]),
            float(r["t_end_s"]) if r["t_end_s"] else None) for r in rows]

    def expect(vital: str, text: str, t0: float, t1: float, delay: float) -> None:
        same = [g for g in got if g[:2] == (vital, text)
                and g[2] == pytest.approx(t0 + delay, abs=2e-3)]
        if t1 - t0 > delay:
            assert len(same) == 1 and same[0][3] == pytest.approx(t1, abs=2e-3), \
                f"{text} from {t0:.3f} to {t1:.3f}: not in {got}"
        else:
            assert not same, f"{text} lasted {t1 - t0:.1f} s, under its {delay:g} s delay"

    conds = rec.conditions()
    signalled = 0
    for vital, code in marked:
        rule = PRESET.device_rule(Condition(code))
        assert rule is not None
        for t0, t1 in _episodes(conds, code, vital):
            expect(vital, f"{VITALS[vital].label} {rule.text}", t0, t1, rule.delay_s)
            signalled += t1 - t0 > rule.delay_s
    lost = PRESET.system_rule("link-lost")
    assert lost is not None
    for source, t0, t1 in _link_down(rec):
        expect("", f"{source}: {lost.condition}", t0, t1, lost.delay_s)
        signalled += t1 - t0 > lost.delay_s
    assert len(got) == signalled, f"alarms not accounted for: {got}"
    return signalled


def _no_numbers_during(rec: Recording, vital: str, episodes: list[tuple[float, float]]) -> None:
    assert episodes
    for t0, t1 in episodes:
        during = [s for s in rec.samples(vital) if t0 <= s[0] < t1]
        assert not during, f"{vital} numbers while the monitor marked it: {during}"


def _ended(vital: str, code: str) -> Callable[[list[tuple[Any, ...]]], bool]:
    return lambda rows: any(r[1:] == (code, 0, vital) for r in rows)


def test_record_intellivue(tmp_path: Path) -> None:
    mon = FakeIntelliVue(FakeIntelliVueConfig(nibp_first_s=NEVER))
    silence_s = IntelliVueTiming().silence_s
    with MonitorPty(mon) as pty, recording(tmp_path, f"intellivue:{pty.path}") as rec:
        wall0 = time.time() - pty.now()  # the wall time of the fake's time 0
        rec.wait_samples("hr")
        with pty.control() as now:  # a cuff cycle completes; invalid, unavailable, demo values
            mon.cfg.nibp_first_s = now + 0.5
            mon.cfg.states = ((now, now + MARKED_S, "spo2", pdu.MS_INVALID),
                              (now, now + UNAVAILABLE_S, "hr", pdu.MS_UNAVAILABLE),
                              (now, now + MARKED_S, "pr", pdu.MS_DEMO_DATA),
                              (now, now + MARKED_S, "sbp", pdu.MS_INVALID))
        rec.wait_samples("sbp")  # once its invalid mark is gone
        rec.wait("every state ended",
                 "SELECT t_s, code, active, vital FROM device_events WHERE kind = 'condition'",
                 done=lambda rows: all(_ended(v, c)(rows) for v, c in (
                     ("spo2", "measurement_invalid"), ("hr", "searching"),
                     ("pr", "demo_data"), ("sbp", "measurement_invalid"))))

        with pty.control() as now:  # the monitor aborts the association
            mon.abort(now)
        aborted = rec.status_after("disconnected", 0.0, "aborted")
        back = rec.status_after("streaming", aborted[0])
        rec.wait_samples("hr", 1, back[0])

        with pty.control():  # the monitor falls silent (cable pulled)
            mon.muted = True
        silent = rec.status_after("disconnected", back[0], "no data")
        rec.wait_alarm("link-lost")  # silent long enough to raise "device disconnected"
        last_sent = pty.last_write_wall()
        with pty.control():
            mon.muted = False
        assert last_sent is not None
        assert silent[1] <= last_sent + silence_s + DETECT_S, \
            f"disconnected {silent[1] - last_sent:.2f} s after the monitor's last byte"
        assert silent[1] >= last_sent + silence_s - 0.5, "disconnected before silence was sure"
        again = rec.status_after("streaming", silent[0])
        rec.wait_samples("hr", 1, again[0])
        rec.stop()
        pty.wait_for(lambda _: mon.stats.releases == 1)  # released on close
        with pty.control():
            sent = list(mon.sent_numerics)
            associations = mon.stats.associations
            nibp = mon.last_nibp(pty.now())

    assert associations >= 3  # the first, after the abort, after the silence
    for vital in ("hr", "spo2", "pr"):
        _check_log(rec, vital, [(wall0 + s.t_s, s.value if s.state == 0 else None)
                                for s in sent if s.vital == vital])
    assert nibp is not None
    stored = [(s[1], s[2]) for s in rec.samples("sbp")]
    assert [v for _, v in stored] == [nibp.sbp], "an NIBP reading lost or stored twice"
    assert stored[0][0] == pytest.approx(wall0 + nibp.t_s, abs=1.2), "NIBP at the wrong time"
    assert [s[2] for s in rec.samples("dbp")] == [nibp.dbp]
    assert [s[2] for s in rec.samples("map")] == [nibp.map]

    conds = rec.conditions()
    for vital, code in (("spo2", "measurement_invalid"), ("hr", "searching"),
                        ("pr", "demo_data"), ("sbp", "measurement_invalid")):
        _no_numbers_during(rec, vital, _episodes(conds, code, vital))
    (marked_from, marked_to), = _episodes(conds, "demo_data", "pr")
    assert marked_to - marked_from > PRESET.system_rule("link-lost").delay_s + 3, "too short"
    assert _link_down(rec)[0][1] > marked_to, "all values marked was taken for a lost link"

    exported = _csv_values(rec.export("csv"))
    for vital in ("hr", "spo2", "pr", "sbp", "dbp", "map"):
        assert exported[vital] == [s[2] for s in rec.samples(vital)], vital
    # every state lasted past its alarm delay, and so did the silence
    assert _check_alarms(rec, [("spo2", "measurement_invalid"), ("hr", "searching"),
                               ("pr", "demo_data"), ("sbp", "measurement_invalid")]) == 5


def test_record_datex(tmp_path: Path) -> None:
    # The first record shows HR "not updated" and SpO2 "invalid"; no NIBP measured yet.
    mon = FakeDatex(FakeDatexConfig(nibp_first_s=NEVER, codes=(
        (0.0, NEVER, "hr", dri.DATA_NOT_UPDATED), (0.0, NEVER, "spo2", dri.DATA_INVALID))))
    silence_s = DatexTiming().silence_s
    with MonitorPty(mon) as pty, recording(tmp_path, f"datex:{pty.path}") as rec:
        wall0 = time.time() - pty.now()
        rec.wait("the first record's states",
                 "SELECT t_s, code, active, vital FROM device_events WHERE kind = 'condition'",
                 done=lambda rows: {("searching", "hr"), ("measurement_invalid", "spo2")}
                 <= {(r[1], r[3]) for r in rows})
        with pty.control() as now:  # valid values from the next record on; an NIBP now
            mon.cfg.codes = ()
            mon.cfg.nibp_first_s = now
        rec.wait_samples("sbp")
        rec.wait_samples("hr")

        with pty.control():  # the monitor falls silent (cable pulled)
            mon.muted = True
        silent = rec.status_after("disconnected", 0.0, "no data")
        rec.wait_alarm("link-lost")
        last_sent = pty.last_write_wall()
        with pty.control():
            mon.muted = False
        assert last_sent is not None
        assert silent[1] <= last_sent + silence_s + DETECT_S, \
            f"disconnected {silent[1] - last_sent:.2f} s after the monitor's last byte"
        assert silent[1] >= last_sent + silence_s - 0.5, "disconnected before silence was sure"
        again = rec.status_after("streaming", silent[0])
        rec.wait_samples("hr", 1, again[0])
        rec.stop()
        pty.wait_for(lambda _: not mon.transmitting)  # the stop request on close
        with pty.control():
            sent = list(mon.sent)
            nibp = mon.last_nibp(pty.now())

    for vital, scale in (("hr", 1.0), ("spo2", 0.01), ("pr", 1.0)):
        _check_log(rec, vital, [(wall0 + r.t_s, round(getattr(r, vital) * scale, 2)
                                 if getattr(r, vital) > dri.DATA_INVALID_LIMIT else None)
                                for r in sent])
    assert nibp is not None
    stored = [(s[1], s[2]) for s in rec.samples("sbp")]
    assert [v for _, v in stored] == [nibp.sbp]
    assert stored[0][0] == pytest.approx(wall0 + nibp.t_s, abs=1.5), "NIBP at the wrong time"
    assert [s[2] for s in rec.samples("dbp")] == [nibp.dbp]
    assert [s[2] for s in rec.samples("map")] == [nibp.map]

    conds = rec.conditions()
    _no_numbers_during(rec, "hr", _episodes(conds, "searching", "hr"))
    _no_numbers_during(rec, "spo2", _episodes(conds, "measurement_invalid", "spo2"))
    assert rec.samples("pr")[0][0] <= _episodes(conds, "searching", "hr")[0][1], \
        "the valid pulse rate was held back with the invalid values"

    exported = _csv_values(rec.export("csv"))
    for vital in ("hr", "spo2", "pr", "sbp", "dbp", "map"):
        assert exported[vital] == [s[2] for s in rec.samples(vital)], vital
    # HR "not updated" lasts one record (5 s): too short for "searching" to raise an alarm.
    # NIBP "data invalid" before the cuff's first measurement is no condition at all.
    assert not _episodes(conds, "measurement_invalid", "sbp")
    assert _check_alarms(rec, [("spo2", "measurement_invalid"), ("hr", "searching")]) == 2
