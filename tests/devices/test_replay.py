from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from alarms.log import episodes_from_events
from alarms.model import AlarmKind
from devices.replay import RecordingError, ReplayDriver, read_recording
from devices.spec import parse_spec
from monitor.clock import ScaledClock
from monitor.messages import Numerics
from monitor.recorder import RecordingPlan, SessionRecorder
from monitor.store import SessionStore
from monitor.validity import Flag


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "rec.csv"
    p.write_text(text)
    return p


def test_empty_cells_are_no_value_and_unknown_columns_warn(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    p = write(tmp_path, "time_s,hr,spo2,temp\n0,60,,36.6\n60,,97,36.7\n")
    with caplog.at_level(logging.WARNING):
        rec = read_recording(p)
    assert rec.rows == ((0.0, (("hr", 60.0),)), (60.0, (("spo2", 97.0),)))
    assert rec.ignored_columns == ("temp",)
    assert "temp" in caplog.text
    assert rec.duration_s == 60.0


@pytest.mark.parametrize(("text", "message"), [
    ("time_s,hr\n0,60\n60,sixty\n", r"rec.csv:3: column hr: 'sixty' is not a number"),
    ("time_s,hr\n0,60\n60\n", r"rec.csv:3: 1 fields, the header has 2"),
    ("time_s,hr\n60,60\n0,61\n", r"rec.csv:3: time_s 0 goes back in time"),
    ("hr,spo2\n60,97\n", r"rec.csv:1: no time_s column"),
    ("time_s,hr\n0,inf\n", r"rec.csv:2: column hr: 'inf' is not a finite number"),
    ("time_s,hr\n,60\n", r"rec.csv:2: time_s is empty"),
    ("", r"rec.csv: empty file"),
    ("time_s,hr\n", r"rec.csv: no data rows"),
    ("time_s,hr,hr\n0,1,2\n", r"rec.csv:1: a column appears twice"),
])
def test_malformed_file_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(RecordingError, match=message):
        read_recording(write(tmp_path, text))


def test_binary_and_missing_files(tmp_path: Path) -> None:
    p = tmp_path / "rec.csv"
    p.write_bytes(b"\xff\xfe\x00garbage\x00" * 50)
    with pytest.raises(RecordingError, match=r"rec\.csv"):
        read_recording(p)
    with pytest.raises(RecordingError, match="cannot open"):
        read_recording(tmp_path / "nope.csv")


def test_reads_the_shared_mimic_recording(mimic_csv: Path) -> None:
    rec = read_recording(mimic_csv)
    assert len(rec.rows) == 1936
    nibp_rows = [r for r in rec.rows if any(k == "sbp" for k, _ in r[1])]
    assert len(nibp_rows) == 152


def test_implausible_value_in_a_file_is_an_artefact(tmp_path: Path, db_path: Path) -> None:
    # A file cannot say "invalid": its values are unflagged, so HR 0 (a monitor's
    # placeholder, as in MIMIC) is an artefact: a technical condition, never bradycardia.
    rows = "".join(f"{t},{0 if 10 <= t < 40 else 72},97\n" for t in range(60))
    p = write(tmp_path, "time_s,hr,spo2\n" + rows)
    rec = read_recording(p)
    driver = ReplayDriver(parse_spec(f"replay:{p}"), "file", ScaledClock(speed=1e9), rec)

    async def numerics() -> list[Numerics]:
        return [m async for m in driver.stream() if isinstance(m, Numerics)]

    sent = asyncio.run(numerics())
    assert {m.flag(k) for m in sent for k, _ in m.values} == {Flag.UNFLAGGED}
    assert [m.get("hr") for m in sent if m.t_s == 10.0] == [0.0]  # passed on, as recorded
    with SessionStore(db_path) as store:
        recorder = SessionRecorder(store, RecordingPlan((parse_spec(f"replay:{p}"),), None,
                                                        None, preset="iv-ketamine"))
        recorder.start()
        recorder.wait(60)
        episodes = episodes_from_events(store.alarm_events(recorder.session_id))
    assert [(e.rule_id, e.kind, e.onset_t_s, e.signal_t_s, e.end_t_s) for e in episodes] == [
        ("hr-invalid", AlarmKind.TECHNICAL, 10.0, 20.0, 40.0)]
