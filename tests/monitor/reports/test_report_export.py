"""`main.py export --format pdf|fhir|csv [--deidentify]`: the contract, safety, round trips."""

from __future__ import annotations

import csv
import io
import json
import resource
import signal
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from alarms.episodes import episodes_from_events
from monitor.reports.data import date_shift_days, deidentify, load_report, pseudonym
from monitor.session_export import export_session
from monitor.store import SessionStore
from tests.helpers.processes import vigil
from tests.monitor.reports.conftest import (
    CLINICIAN,
    NOTE,
    PATIENT,
    SIDE_EFFECT,
    Recorded,
)


def text_of(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def export(rec: Recorded, fmt: str, out: Path | str, *extra: str, **kw: object
           ) -> subprocess.CompletedProcess[str]:
    return vigil("export", "--db", str(rec.db), "--session", str(rec.session_id), "--format",
                 fmt, "--out", str(out), *extra, **kw)


def test_pdf_and_fhir_from_the_cli_leave_the_store_unchanged(recorded: Recorded,
                                                             tmp_path: Path) -> None:
    before = recorded.db.read_bytes()
    proc = export(recorded, "pdf", tmp_path / "r.pdf", "--clinic", "Harbour Clinic",
                  "--clinician", CLINICIAN)
    assert "pages written to" in proc.stderr
    text = text_of(tmp_path / "r.pdf")
    assert "Harbour Clinic" in text and PATIENT in text and CLINICIAN in text
    with SessionStore(recorded.db, read_only=True) as store:
        episodes = episodes_from_events(store.alarm_events(recorded.session_id))
    assert episodes  # the surge raised alarms, and the report lists each of them
    for ep in episodes:
        assert ep.condition in text, ep.condition
    assert "Monitoring nurse" in text and "____" in text  # unnamed: a blank line to fill
    proc = export(recorded, "fhir", tmp_path / "b.json")
    assert "FHIR bundle of" in proc.stderr
    bundle = json.loads((tmp_path / "b.json").read_text())
    assert bundle["resourceType"] == "Bundle"
    assert recorded.db.read_bytes() == before
    assert oct((tmp_path / "r.pdf").stat().st_mode & 0o777) == "0o600"  # patient data


def test_deidentified_pdf(recorded: Recorded, tmp_path: Path) -> None:
    export(recorded, "pdf", tmp_path / "d.pdf", "--deidentify")
    text = text_of(tmp_path / "d.pdf")
    with SessionStore(recorded.db) as store:
        session = store.load_session(recorded.session_id)
    name = pseudonym(session.uuid)
    assert name in text and "de-identified" in text
    for secret in (PATIENT, session.uuid, NOTE[1], SIDE_EFFECT[2]):
        assert secret not in text
    real = datetime.fromtimestamp(session.start_wall).astimezone()
    shifted = datetime.fromtimestamp(session.start_wall - date_shift_days(session.uuid)
                                     * 86400).astimezone()
    assert real.strftime("%Y-%m-%d") not in text
    assert shifted.strftime("%Y-%m-%d") in text
    assert real.strftime("%H:%M:%S") in text  # time of day kept: intervals stay exact
    info = subprocess.run(["pdfinfo", str(tmp_path / "d.pdf")], capture_output=True,
                          text=True, check=True).stdout
    created = next(ln for ln in info.splitlines() if ln.startswith("CreationDate:"))
    assert str(real.year) not in created  # no real date in the metadata either


def test_pseudonym_is_stable_distinct_and_not_the_uuid(recorded: Recorded) -> None:
    with SessionStore(recorded.db) as store:
        data = load_report(store, recorded.session_id)
    assert data.uuid is not None
    a, b = deidentify(data), deidentify(data)
    assert a.patient == b.patient == pseudonym(data.uuid)
    assert a.patient is not None and a.patient.startswith("P-") and len(a.patient) == 10
    other = pseudonym("00000000-0000-4000-8000-000000000000")
    assert other != a.patient
    assert a.session_id is None and a.uuid is None and a.generated_wall is None
    assert all(e.text is None for e in a.events)
    assert 1 <= a.date_shift_days <= 365


@pytest.mark.parametrize("fmt", ["pdf", "fhir"])
def test_unwritable_path_and_full_disk_leave_nothing(recorded: Recorded, tmp_path: Path,
                                                     fmt: str) -> None:
    missing = tmp_path / "no-such-folder" / f"out.{fmt}"
    proc = export(recorded, fmt, missing, check=False)
    assert proc.returncode == 1
    assert f"no-such-folder/out.{fmt}: cannot write there" in proc.stderr

    def small_disk() -> None:  # a file may not grow past 40 KB: a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, resource.RLIM_INFINITY))

    out = tmp_path / f"out.{fmt}"
    before = recorded.db.read_bytes()
    proc = export(recorded, fmt, out, check=False, preexec_fn=small_disk)
    assert proc.returncode == 1 and f"out.{fmt}: cannot write" in proc.stderr
    assert list(tmp_path.iterdir()) == []  # no half-written file, no temporary left
    assert recorded.db.read_bytes() == before


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_reimports_into_the_store_numbers(recorded: Recorded) -> None:
    with SessionStore(recorded.db) as store:
        stored = [(t, key, value) for t, _w, key, value, _s, _f in
                  store.iter_samples(recorded.session_id)]
        session = store.load_session(recorded.session_id)
    rows = _rows(export(recorded, "csv", "-").stdout)
    assert [(float(r["t_s"]), r["vital"], float(r["value"])) for r in rows] == [
        (round(t, 3), k, v) for t, k, v in stored]
    anon = _rows(export(recorded, "csv", "-", "--deidentify").stdout)
    assert [(r["t_s"], r["vital"], r["value"]) for r in anon] == [
        (r["t_s"], r["vital"], r["value"]) for r in rows]
    shift = date_shift_days(session.uuid) * 86400

    def wall(r: dict[str, str]) -> float:
        return datetime.fromisoformat(r["time_utc"].replace("Z", "+00:00")).timestamp()

    assert all(wall(a) == pytest.approx(wall(r) - shift, abs=0.002)
               for a, r in zip(anon[::500], rows[::500], strict=True))


def test_replayed_file_exports_its_numbers(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    lines = ["time_s,hr,spo2,rr,sbp,dbp,map"]
    expected = {}
    for i in range(40):
        t = i * 15.0
        row = {"hr": 60 + i * 0.5, "spo2": 95.5 + (i % 4) * 0.25, "rr": 12 + i % 5}
        if i % 8 == 3:
            row.update(sbp=121.0 + i, dbp=79.0, map=93.3)
        if i % 7 == 0:
            del row["spo2"]  # an empty cell: no value, no row
        cells = [f"{t:g}"] + [f"{row[k]:g}" if k in row else "" for k in
                              ("hr", "spo2", "rr", "sbp", "dbp", "map")]
        lines.append(",".join(cells))
        expected.update({(t, k): float(f"{v:g}") for k, v in row.items()})
    src.write_text("\n".join(lines) + "\n")
    db = tmp_path / "replay.sqlite3"
    vigil("replay", str(src), "--speed", "max", "--db", str(db))
    out = vigil("export", "--db", str(db), "--format", "csv", "--out", "-").stdout
    got = {(float(r["t_s"]), r["vital"]): float(r["value"]) for r in _rows(out)}
    assert got == expected


def test_alarm_episodes_reach_the_pdf_and_the_alarm_csv(tmp_path: Path) -> None:
    db = tmp_path / "desat.sqlite3"
    vigil("record", "--device", "sim:desaturation?dose=0", "--duration", "1800", "--speed",
          "max", "--db", str(db))
    with SessionStore(db, read_only=True) as store:
        episodes = episodes_from_events(store.alarm_events(1))
    assert {ep.vital for ep in episodes} >= {"spo2", "rr"}
    vigil("export", "--db", str(db), "--format", "pdf", "--out", str(tmp_path / "r.pdf"))
    text = text_of(tmp_path / "r.pdf")
    for ep in episodes:
        assert ep.condition in text, ep.condition
    out = vigil("export", "--db", str(db), "--format", "alarms", "--out", "-").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["vital"], r["condition"], r["priority"]) for r in rows] == [
        (ep.vital or "", ep.condition, ep.highest.name.lower()) for ep in episodes]

    def num(text: str) -> float | None:
        return None if text == "" else float(text)

    # The numbers re-import as the alarm log holds them (times to the millisecond).
    assert [(num(r["t_start_s"]), num(r["t_end_s"]), num(r["worst_value"]), num(r["limit"]))
            for r in rows] == [
        (round(ep.signal_t_s, 3), None if ep.end_t_s is None else round(ep.end_t_s, 3),
         ep.worst_value, ep.limit) for ep in episodes]


@pytest.mark.parametrize(("fmt", "extra"), [("csv", ()), ("alarms", ()),
                                            ("csv", ("--deidentify",)),
                                            ("alarms", ("--deidentify",)),
                                            ("fhir", ("--deidentify",))])
def test_the_cli_and_the_browser_write_the_same_file(recorded: Recorded, tmp_path: Path,
                                                     fmt: str, extra: tuple[str, ...]) -> None:
    """`main.py export` and the browser's export go through one function: byte for byte the
    same file (the de-identified FHIR bundle carries no generation time, so it compares)."""
    cli, browser = tmp_path / "cli.out", tmp_path / "browser.out"
    proc = export(recorded, fmt, cli, *extra)
    what = export_session(recorded.db, recorded.session_id, fmt, browser,
                          deidentify=bool(extra))
    assert proc.stderr == f"vigil: session {recorded.session_id}: {what} written to {cli}\n"
    assert cli.read_bytes() == browser.read_bytes() and cli.stat().st_size > 100
