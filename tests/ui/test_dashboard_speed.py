"""`dashboard --speed N`: a trainer shows a two-hour session in minutes, and a test reaches a
scenario's alarms in seconds."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from devices.spec import parse_spec
from monitor.recorder import RecordingPlan
from tests.helpers.dashboard import Dashboard
from tests.helpers.waiting import until
from ui.app import with_speed


def alarm_rows(db: Path) -> list[tuple[str, float]]:
    """(key, t_s) of each alarm reaching HIGH (its start, or a rise of its priority) committed
    so far (read beside the writer)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("SELECT key, t_s FROM alarm_log WHERE priority = 3 AND event IN "
                            "('start', 'priority')").fetchall()
    except sqlite3.OperationalError:  # not yet created
        return []
    finally:
        conn.close()


def test_dashboard_at_speed_reaches_the_desaturation_alarm_in_seconds(tmp_path: Path) -> None:
    dash = Dashboard(tmp_path, "--speed", "30", "--device", "sim:desaturation?dose=0",
                     "--no-watchdog")
    db, proc = dash.db, dash.proc
    started = time.monotonic()
    try:
        # The SpO2 alarm, at its critical (HIGH) tier.
        until(lambda: "spo2-low" in {k.split(":")[0] for k, _ in alarm_rows(db)},
              lambda: f"no SpO2 alarm: {dash.output()}", 40, proc=proc, every=0.2)
        took = time.monotonic() - started
        rows = dict(alarm_rows(db))
        # SpO2 falls below 85 % about 200 s of session time in: ~7 s at 30x (plus start-up).
        assert "spo2-low:sim" in rows and took < 30, (rows, took)
        assert rows["spo2-low:sim"] > took * 5  # session time ran ahead of wall time
    finally:
        err = dash.end()
    assert proc.returncode == 0, err


def test_speed_is_refused_for_a_real_device_and_max_is_refused(tmp_path: Path) -> None:
    for args, message in (
            (["--speed", "10", "--device", "masimo:/dev/ttyUSB0"],
             "--speed applies only to sim and replay devices"),
            (["--speed", "max"], "not 'max'"),
            (["--speed", "0"], "must be positive")):
        dash = Dashboard(tmp_path, *args)
        assert dash.proc.wait(60) == 2
        err = dash.output()
        assert message in err
    assert not (tmp_path / "vigil.sqlite3").exists()


def test_the_dialogs_plan_keeps_the_command_lines_speed() -> None:
    sim = RecordingPlan((parse_spec("sim"),), 3600.0, 1.0)
    assert with_speed(sim, 20.0).speed == 20.0
    real = RecordingPlan((parse_spec("masimo:/dev/ttyUSB0"),), 3600.0, 1.0)
    assert with_speed(real, 20.0).speed == 1.0
    assert with_speed(None, 20.0) is None
