from __future__ import annotations

import logging
from pathlib import Path

import pytest

from devices.replay import RecordingError, read_recording


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
