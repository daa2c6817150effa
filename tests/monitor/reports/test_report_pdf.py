"""The PDF carries every item the clinician signs, with the session's actual values.

Expected values are computed here from the store's raw rows, not from the report code.
The text is read with poppler's `pdftotext -layout`; pages are rendered with `pdftoppm`.
"""

from __future__ import annotations

import bisect
import io
import re
import statistics
import subprocess
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alarms.model import Priority
from monitor.reports.data import AlarmRow, ReportData, load_report
from monitor.reports.pdf import ReportOptions, build_pdf
from monitor.session import SessionStatus
from monitor.store import SessionStore
from monitor.vitals import VITALS
from tests.monitor.reports.conftest import (
    CLINICIAN,
    DISCHARGE,
    INTERVENTION,
    LOT,
    NOTE,
    NURSE,
    PATIENT,
    PLACEHOLDERS,
    SEDATION,
    SIDE_EFFECT,
    WEIGHT,
    Recorded,
    set_status,
)

CLINIC = "Harbour Ketamine Clinic"
ALARMS = (
    AlarmRow(3050.0, 3110.0, "sbp", "physiological", "NIBP sys high", Priority.MEDIUM, 184.0,
             180.0, 3071.0),
    AlarmRow(4012.0, 4040.0, "spo2", "physiological", "SpO2 low", Priority.HIGH, 84.0, 85.0,
             None),
)
SHOWN = {Priority.HIGH: "H high", Priority.MEDIUM: "M medium"}  # the table's priority cell


def clock(wall: float) -> str:
    return datetime.fromtimestamp(wall).astimezone().strftime("%H:%M:%S")


def pdf_text(pdf: bytes, tmp_path: Path) -> list[str]:
    """The text of each page, laid out as printed."""
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                         text=True, check=True).stdout
    return out.split("\f")[:-1]


class Raw:
    """The session as the store holds it, for computing what the report must say."""

    def __init__(self, rec: Recorded) -> None:
        with SessionStore(rec.db) as store:
            self.session = store.load_session(rec.session_id)
            self.samples: dict[str, list[tuple[float, float]]] = {}
            for t, _wall, key, value, _src, _f in store.iter_samples(rec.session_id):
                if VITALS[key].is_plausible(value):
                    self.samples.setdefault(key, []).append((t, value))
                else:
                    self.samples.setdefault("excluded", []).append((t, value))
        self.start = self.session.start_wall
        self.dose = rec.dose_s
        nibp: dict[float, dict[str, float]] = {}
        for key in ("sbp", "dbp", "map"):
            for t, v in self.samples[key]:
                nibp.setdefault(t, {})[key] = v
        self.nibp = sorted(nibp.items())

    def at(self, key: str, t: float) -> float | None:
        rows = self.samples[key]
        i = bisect.bisect_right([r[0] for r in rows], t) - 1
        if i < 0 or t - rows[i][0] > (VITALS[key].stale_after_s or 300):
            return None
        return rows[i][1]

    def c(self, t_s: float) -> str:
        return clock(self.start + t_s)


@pytest.fixture(scope="module")
def raw(recorded: Recorded) -> Raw:
    return Raw(recorded)


@pytest.fixture(scope="module")
def data(recorded: Recorded) -> ReportData:
    with SessionStore(recorded.db) as store:
        return replace(load_report(store, recorded.session_id), alarms=ALARMS)


@pytest.fixture(scope="module")
def pdf(data: ReportData) -> bytes:
    buf = io.BytesIO()
    build_pdf(data, buf, ReportOptions(CLINIC, CLINICIAN, NURSE))
    return buf.getvalue()


def _v(key: str, v: float) -> str:
    return f"{v:.{VITALS[key].precision}f}"


def test_page_one_who_what_when_and_rems(pdf: bytes, raw: Raw, tmp_path: Path) -> None:
    pages = pdf_text(pdf, tmp_path)
    p1 = pages[0]
    start = datetime.fromtimestamp(raw.start).astimezone()
    for text in (CLINIC, PATIENT, start.strftime("%Y-%m-%d"), CLINICIAN, NURSE,
                 f"{WEIGHT:.0f} kg", "Session report"):
        assert text in p1, text
    assert "SESSION STILL RUNNING" not in p1 and "INTERRUPTED" not in p1
    # Dose record: drug, route, mg, mg/kg, start, stop, lot.
    [dose] = raw.session.entries_of("dose_start")
    [stop] = raw.session.entries_of("dose_stop")
    mg = float(dose.data["dose_mg"])
    line = next(ln for ln in p1.splitlines() if dose.data["drug"] in ln and LOT in ln)
    assert re.search(rf"{dose.data['drug']}\s+IV\s+{mg:g}\s+{mg / WEIGHT:g}\s+"
                     rf"{raw.c(dose.t_s)}\s+{raw.c(stop.t_s)}", line), line
    # Baseline: the median of the 5 minutes before the dose.
    baseline = [v for t, v in raw.samples["hr"] if raw.dose - 300 <= t < raw.dose]
    assert re.search(rf"Median\s+{statistics.median(baseline):.0f} bpm", p1)
    # REMS: BP before dosing, ~40 min, end; minutes; sedation/dissociation/resp; ready.
    pre = [(t, r) for t, r in raw.nibp if t < raw.dose][-1]
    at40 = min(((t, r) for t, r in raw.nibp if 35 * 60 <= t - raw.dose <= 45 * 60),
               key=lambda x: abs(x[0] - raw.dose - 2400))
    end = raw.nibp[-1]
    for label, (t, r) in (("BP before dosing", pre), ("BP ~40 min after dose", at40),
                          ("BP at end of monitoring", end)):
        assert re.search(rf"{re.escape(label)}\s+{r['sbp']:.0f}/{r['dbp']:.0f} mmHg at "
                         rf"{raw.c(t)}", p1), label
    first = min(rows[0][0] for k, rows in raw.samples.items() if k != "excluded")
    minutes = (raw.session.duration_s - first) / 60
    assert re.search(rf"Total monitoring\s+{minutes:.0f} min", p1)
    # Sedation, dissociation, respiratory depression: what was logged and what the record
    # shows, with empty boxes for the clinician; no answer pre-filled.
    sed = {3: "MOAA/S 3 at " + raw.c(raw.dose + 30 * 60),
           5: "MOAA/S 5 at " + raw.c(raw.dose + 90 * 60)}
    assert re.search(rf"Sedation\s+logged: worst {sed[3]}; last {sed[5]}\s+Yes\s+No\n", p1)
    assert re.search(r"Dissociation\s+logged: worst Dissociation level 2 at "
                     rf"{raw.c(raw.dose + 40 * 60)}; last Dissociation level 0 at "
                     rf"{raw.c(raw.dose + 100 * 60)}\s+Yes\s+No\n", p1)
    spo2 = min(raw.samples["spo2"], key=lambda r: r[1])
    rr = min(raw.samples["rr"], key=lambda r: r[1])
    resp = p1[p1.index("Respiratory depression"):p1.index("Clinically ready")]
    assert re.search(rf"Respiratory depression\s+not logged; lowest SpO2 {spo2[1]:.0f} % at "
                     rf"{raw.c(spo2[0])}; lowest RR {rr[1]:.0f} /min at {raw.c(rr[0])};"
                     r".*\s+Yes\s+No\n", resp)
    # The fixture's HIGH SpO2 alarm (4012 s, worst 84 %) is named, and the line asks for review.
    words = " ".join(re.sub(r"\s+Yes\s+No\n", "\n", resp).split())  # the boxes' column out
    assert f"HIGH alarm SpO2 low at {raw.c(4012.0)}, worst 84 %; review" in words, words
    assert "Yes (" not in p1 and "No (" not in p1  # nothing pre-filled
    # iv-ketamine (the default preset) has no 2-hour minimum.
    assert "no minimum monitoring time in the iv-ketamine preset" in p1
    ready = raw.dose + DISCHARGE[2] * 60
    assert re.search(rf"Clinically ready to leave\s+{raw.c(ready)} \({DISCHARGE[2]:.0f} min "
                     "after the dose start\\)", p1)
    # Artefacts left out, and said so.
    assert f"Data quality: {len(PLACEHOLDERS)} implausible values were excluded" in p1


def test_extremes_with_their_times(pdf: bytes, raw: Raw, tmp_path: Path) -> None:
    text = "\n".join(pdf_text(pdf, tmp_path))
    for key in ("hr", "pr", "spo2", "rr", "sbp", "dbp", "map"):
        rows = raw.samples[key]
        lo = min(rows, key=lambda r: r[1])  # first occurrence, as the report
        hi = max(rows, key=lambda r: r[1])
        v = VITALS[key]
        assert re.search(rf"{re.escape(v.label)} \({re.escape(v.unit)}\)\s+{_v(key, lo[1])}\s+"
                         rf"{raw.c(lo[0])}\s+\S+\s+{_v(key, hi[1])}\s+{raw.c(hi[0])}\s+\S+\s+"
                         rf"{len(rows)}", text), key
    assert " 0 " not in next(ln for ln in text.splitlines() if ln.strip().startswith("HR (bpm)"))


def test_charts_alarm_log_timeline_and_signatures(pdf: bytes, raw: Raw, tmp_path: Path
                                                  ) -> None:
    pages = pdf_text(pdf, tmp_path)
    charts = pages[1]
    for text in ("Whole-session vitals", "baseline", "dosing", "peak", "recovery",
                 "HR, PR (bpm) and NIBP (mmHg)", "SpO2 (%)", "RR (/min)", "alarms", "technical",
                 "Dissociation and sedation", "Sedation: MOAA/S", "Dissociation: Dissociation"):
        assert text in charts, text
    rest = "\n".join(pages[2:])
    for a in ALARMS:
        unit = VITALS[a.vital].unit
        ack = raw.c(a.acknowledged_s) if a.acknowledged_s is not None else "no"
        assert re.search(rf"{raw.c(a.start_s)}\s+\S+\s+{raw.c(a.end_s)}\s+\S+\s+"
                         rf"{SHOWN[a.priority]}\s+{re.escape(a.condition)}.*"
                         rf"{a.worst:.0f} {re.escape(unit)}\s+{a.limit:.0f} {re.escape(unit)}\s+"
                         rf"{ack}", rest), a
    for minutes, name, text in (SIDE_EFFECT, INTERVENTION):
        assert re.search(rf"{raw.c(raw.dose + minutes * 60)}.*{re.escape(name)}: "
                         rf"{re.escape(text)}", rest), name
    assert NOTE[1] in rest
    for minutes, score in SEDATION:
        assert re.search(rf"{raw.c(raw.dose + minutes * 60)}\s+\S+\s+sedation\s+MOAA/S "
                         rf"{score}", rest), minutes
    assert re.search(rf"Modified Aldrete {DISCHARGE[1]}/10; clinically ready to leave at "
                     rf"{raw.c(raw.dose + DISCHARGE[2] * 60)}", rest)
    assert "Edit history" in rest and "dose start" in rest
    assert rest.count("Signature") == 2 and "Date/time" in rest
    assert re.search(rf"Monitoring nurse\s+{NURSE}", rest)
    assert re.search(rf"Clinician\s+{CLINICIAN}", rest)
    for i, page in enumerate(pages, start=1):
        assert f"Page {i} of {len(pages)}" in page


def test_vitals_every_five_minutes_and_every_nibp(pdf: bytes, raw: Raw, tmp_path: Path
                                                  ) -> None:
    text = "\n".join(pdf_text(pdf, tmp_path))
    duration = raw.session.duration_s
    assert duration is not None
    marks = [m * 300.0 for m in range(int(duration // 300) + 1)]
    for mark in marks:
        cells = [raw.at(k, mark) for k in ("hr", "pr", "spo2", "rr")]
        pattern = rf"^\s*{raw.c(mark)}\s+[-+]\d+:\d\d" + "".join(
            rf"\s+{'--' if v is None else f'{v:.0f}'}(\s+\(\d+-\d+\))?" for v in cells)
        assert re.search(pattern, text, re.M), raw.c(mark)
    assert len(raw.nibp) == len(range(30, 7200, 300))
    for t, r in raw.nibp:
        assert re.search(rf"^\s*{raw.c(t)}\s+[-+]\d+:\d\d\s+{r['sbp']:.0f}\s+{r['dbp']:.0f}\s+"
                         rf"{r['map']:.0f}\b", text, re.M), raw.c(t)


def test_charts_are_vector_and_pages_render(pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True,
                            check=True).stdout.splitlines()
    assert len(images) == 2, images  # the header lines only: no raster image anywhere
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(path), str(tmp_path / "p")], check=True)
    pngs = sorted(tmp_path.glob("p-*.png"))
    assert len(pngs) == len(pdf_text(pdf, tmp_path))
    for png in pngs:
        with Image.open(png) as im:
            gray = im.convert("L")
            assert gray.getextrema()[0] < 100, png  # there is ink on every page
    with Image.open(pngs[1]) as chart:
        rgb = np.asarray(chart.convert("RGB"), dtype=np.int16)
    coloured = int(((rgb.max(axis=2) - rgb.min(axis=2)) > 60).sum())
    assert coloured > 500  # the vitals lines are drawn in colour


@pytest.mark.parametrize(("status", "banner"), [
    (SessionStatus.ACTIVE, "SESSION STILL RUNNING"),
    (SessionStatus.INTERRUPTED, "SESSION INTERRUPTED"),
])
def test_running_or_interrupted_session_says_so_on_page_one(
        recorded: Recorded, store_copy: Path, tmp_path: Path, status: SessionStatus,
        banner: str) -> None:
    set_status(store_copy, recorded.session_id, status, 3000.0)
    with SessionStore(store_copy) as store:
        data = load_report(store, recorded.session_id)
    assert data.status is status
    buf = io.BytesIO()
    build_pdf(data, buf)
    pages = pdf_text(buf.getvalue(), tmp_path)
    assert banner in pages[0]
    start = data.start_wall
    last = 3000.0 if status is SessionStatus.INTERRUPTED else max(
        float(s.t_s[-1]) for s in data.series.values() if len(s.t_s))
    assert clock(start + last) in pages[0].split(banner, 1)[1][:300]
    assert all(banner not in p for p in pages[1:])


def test_alarm_log_absent_is_said_not_hidden(recorded: Recorded, tmp_path: Path) -> None:
    with SessionStore(recorded.db) as store:
        data = load_report(store, recorded.session_id)
    buf = io.BytesIO()
    build_pdf(replace(data, alarms=None), buf)
    assert "The alarm log is not available" in "\n".join(pdf_text(buf.getvalue(), tmp_path))
    buf = io.BytesIO()
    build_pdf(replace(data, alarms=()), buf)
    assert "No alarm condition occurred" in "\n".join(pdf_text(buf.getvalue(), tmp_path))
