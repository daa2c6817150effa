"""`export --format alarms`: the alarm log as CSV, from a recorded session; the store's
alarm_log migration."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest

import main
from alarms.episodes import episodes_from_events
from alarms.presets import PRESET_NAMES
from monitor.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from monitor.store import SessionStore

HEADER = ("start_utc,end_utc,t_start_s,t_end_s,vital,kind,condition,priority,worst_value,"
          "limit,acknowledged_t_s")


def test_export_alarms_csv(db_path: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    # The session ends in the middle of the desaturation: those alarms are still active.
    assert main.main(["record", "--device", "sim:desaturation", "--duration", "900",
                      "--speed", "max", "--db", str(db_path)]) == 0
    out = tmp_path / "alarms.csv"
    assert main.main(["export", "--db", str(db_path), "--format", "alarms",
                      "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[0] == HEADER
    rows = list(csv.DictReader(io.StringIO(text)))
    with SessionStore(db_path) as store:
        episodes = episodes_from_events(store.alarm_events(store.resolve_session("latest")))
    assert len(rows) == len(episodes) == 2  # SpO2 (low, then critical) and RR low
    for row, ep in zip(rows, episodes, strict=True):
        assert float(row["t_start_s"]) == ep.signal_t_s
        assert row["condition"] == ep.condition and row["vital"] == (ep.vital or "")
        assert row["kind"] in ("physiological", "technical", "advisory")
        assert row["priority"] in ("high", "medium", "low")
        assert row["start_utc"].endswith("Z")
    (spo2,) = [r for r in rows if r["vital"] == "spo2"]
    assert spo2["priority"] == "high", "the highest tier it reached"
    assert spo2["end_utc"] == "" and spo2["t_end_s"] == ""
    capsys.readouterr()
    assert main.main(["export", "--db", str(db_path), "--format", "alarms", "--out", "-"]) == 0
    assert capsys.readouterr().out == text


def test_cli_presets_come_from_the_presets_module() -> None:
    parser = main.build_parser()
    rec = parser.parse_args(["record", "--device", "sim", "--duration", "1"])
    assert rec.preset == "iv-ketamine"
    for name in PRESET_NAMES:
        assert parser.parse_args(["replay", "f.csv", "--preset", name]).preset == name
    with pytest.raises(SystemExit):
        parser.parse_args(["replay", "f.csv", "--preset", "propofol"])


def test_a_version_1_store_gains_the_alarm_log(db_path: Path) -> None:
    db_path.touch(mode=0o600)
    conn = sqlite3.connect(db_path)
    conn.executescript(MIGRATIONS[0] + f"; PRAGMA user_version = 1;"
                       f" PRAGMA application_id = {APPLICATION_ID};")
    conn.close()
    with SessionStore(db_path) as store:
        assert store.schema_version == SCHEMA_VERSION >= 2
        assert store.alarm_events(1) == []


def test_a_version_2_store_reads_without_worst_times_and_gains_them(db_path: Path) -> None:
    db_path.touch(mode=0o600)
    conn = sqlite3.connect(db_path)
    conn.executescript(MIGRATIONS[0] + ";" + MIGRATIONS[1] + "; PRAGMA user_version = 2;"
                       f" PRAGMA application_id = {APPLICATION_ID};")
    conn.execute("INSERT INTO alarm_log VALUES (1, 16.0, 1016.0, 'start', 'spo2-low:dev',"
                 " 'physiological', 2, 'spo2', 'SpO2 LOW', '** SpO2 LOW 88 < 90', 'active',"
                 " 1.0, 16.0, 88.0, 90.0, 0, '')")
    conn.commit()
    conn.close()
    with SessionStore(db_path, read_only=True) as store:  # an export: no migration
        (ev,) = store.alarm_events(1)
        assert ev.alarm is not None and ev.alarm.worst_t_s is None
        assert ev.alarm.worst_value == 88
    with SessionStore(db_path) as store:
        assert store.schema_version == SCHEMA_VERSION >= 3
        assert store.alarm_events(1)[0].alarm.worst_t_s is None
