from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alarms.episodes import episodes_from_events
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
# -- property tests: any file, and any well-formed file --------------------------------------

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None)
KEYS = ("hr", "pr", "spo2", "rr", "sbp", "dbp", "map")
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("replay") / "rec.csv"


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]], list[tuple[float, dict]]]:
    """A well-formed recording: its header, its cells as text, and the rows it holds."""
    keys = draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=len(KEYS)))
    extra = draw(st.lists(st.sampled_from(["temp", "etco2", "note"]), unique=True,
                          max_size=2))
    header = draw(st.permutations(["time_s", *keys, *extra]))
    times = sorted(draw(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1,
                                 max_size=25)))
    cells, expected = [], []
    for t in times:
        values = {k: draw(st.none() | finite) for k in keys}
        row = {"time_s": repr(t), **{k: "" if v is None else repr(v) for k, v in
                                     values.items()}, **{x: draw(st.text("ab 1", max_size=3))
                                                         for x in extra}}
        cells.append([row[h] for h in header])
        expected.append((t, {k: v for k, v in values.items() if v is not None}))
    return header, cells, expected


@SETTINGS
@given(tables(), st.booleans())
def test_a_well_formed_file_is_read_exactly(scratch: Path, table, blank_lines: bool) -> None:
    header, cells, expected = table
    lines = [",".join(header), *(",".join(r) for r in cells)]
    if blank_lines:
        lines = [x for line in lines for x in (line, "")]
    scratch.write_text("\n".join(lines) + "\n")
    rec = read_recording(scratch)
    assert [(t, dict(values)) for t, values in rec.rows] == expected
    for _t, values in rec.rows:  # in the header's column order
        assert [k for k, _ in values] == [h for h in header if h in dict(values)]


csv_like = st.text(st.sampled_from("0123456789.-+e, \n\"time_shrpo2bdmap_xinf"), max_size=300)


@SETTINGS
@given(st.one_of(csv_like, csv_like.map(lambda s: "time_s,hr,spo2\n" + s),
                 st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_any_file_is_read_or_refused_naming_it_and_nothing_is_invented(scratch: Path,
                                                                        text: str) -> None:
    scratch.write_bytes(text.encode("utf-8", "surrogateescape"))
    try:
        rec = read_recording(scratch)
    except RecordingError as e:
        assert str(e).startswith(str(scratch)), e  # says which file (and line, when one)
        return
    numbers = set()
    for token in re.split(r'[,\r\n"]', text):
        with contextlib.suppress(ValueError):
            numbers.add(float(token))
    times = [t for t, _ in rec.rows]
    assert rec.rows and times == sorted(times) and times[0] >= 0
    for t, values in rec.rows:
        assert math.isfinite(t) and t in numbers
        assert {k for k, _ in values} <= set(KEYS) and len(dict(values)) == len(values)
        for _key, v in values:
            assert math.isfinite(v) and v in numbers  # a number the file holds
