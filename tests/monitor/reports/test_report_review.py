"""The record a clinician signs asserts nothing the data contradict.

A desaturation session under the esketamine REMS preset (recorded through the command line):
sedation, dissociation and respiratory depression are never pre-filled; each line shows what
was logged and what the record shows, with empty boxes drawn for the clinician; the minimum
monitoring line follows the preset; an early discharge says what was not met and who
confirmed it. Expected values come from the store's raw rows and from hand-written entries.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from monitor.discharge import EARLY_DISCHARGE_KEY
from monitor.reports.data import ReportData, deidentify, load_report
from monitor.reports.pdf import ReportOptions, build_pdf
from monitor.session import EntryKind, SessionStatus
from monitor.store import SessionStore
from monitor.vitals import VITALS
from tests.helpers.paths import REPO
from tests.helpers.processes import vigil
from tests.monitor.reports.conftest import set_status

DURATION_S = 5400  # 90 min: under the REMS 2-hour minimum
CONFIRMER = "Dr Okafor"


@dataclass(frozen=True)
class Desat:
    db: Path
    session_id: int
    start: float
    dose_s: float
    spo2_min: tuple[float, float]  # (t_s, value): the first lowest plausible SpO2
    rr_min: tuple[float, float]


def clock(wall: float) -> str:
    return datetime.fromtimestamp(wall).astimezone().strftime("%H:%M:%S")


@pytest.fixture(scope="module")
def desat(tmp_path_factory: pytest.TempPathFactory) -> Desat:
    db = tmp_path_factory.mktemp("review") / "desat.sqlite3"
    vigil("record", "--device", "sim:desaturation", "--duration", str(DURATION_S), "--speed",
          "max", "--db", str(db), "--patient", "MRN-2208", "--preset", "esketamine-rems")
    with SessionStore(db) as store:
        sid = store.resolve_session("latest")
        session = store.load_session(sid)
        assert session.dose_start_s is not None
        lows: dict[str, tuple[float, float]] = {}
        for t, _wall, key, value, _src, _f in store.iter_samples(sid):
            if key in ("spo2", "rr") and VITALS[key].is_plausible(value) and (
                    key not in lows or value < lows[key][1]):
                lows[key] = (t, value)
    return Desat(db, sid, session.start_wall, session.dose_start_s, lows["spo2"], lows["rr"])


def report(db: Path, sid: int, tmp_path: Path) -> tuple[ReportData, bytes, list[str]]:
    with SessionStore(db) as store:
        data = load_report(store, sid)
    buf = io.BytesIO()
    build_pdf(data, buf, ReportOptions("Harbour Clinic", "Dr Patel", "RN Kim"))
    path = tmp_path / "r.pdf"
    path.write_bytes(buf.getvalue())
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    return data, buf.getvalue(), text.split("\f")[:-1]


def row(page: str, label: str, next_label: str) -> str:
    """A monitoring-fields row's words, the boxes' column ("Yes No") taken out."""
    block = page[page.index(label):page.index(next_label)]
    return " ".join(re.sub(r"\s+Yes\s+No\n", "\n", block).split())


def add_entry(db: Path, sid: int, kind: str, t_s: float, data: dict[str, object],
              author: str = "RN Kim") -> None:
    with SessionStore(db) as store:
        w0 = store.load_session(sid).start_wall
        store.add_entry(sid, kind, t_s, w0 + t_s, data, author)


def test_respiratory_depression_is_not_prefilled_against_the_data(desat: Desat,
                                                                   tmp_path: Path) -> None:
    _, _, pages = report(desat.db, desat.session_id, tmp_path)
    p1 = pages[0]
    resp = row(p1, "Respiratory depression", "Clinically ready")
    t, v = desat.spo2_min
    assert resp.startswith(f"Respiratory depression not logged; lowest SpO2 {v:.0f} % at "
                           f"{clock(desat.start + t)}; lowest RR {desat.rr_min[1]:.0f} /min at "
                           f"{clock(desat.start + desat.rr_min[0])}; HIGH alarm"), resp
    assert resp.endswith("; review"), resp
    assert "HIGH alarm SpO2 LOW" in resp  # the desaturation (tiers merged) reached HIGH
    # Nothing pre-filled: each effect line carries only the two empty boxes' answers.
    for label, nxt in (("Sedation", "Dissociation"), ("Dissociation", "Respiratory"),
                       ("Respiratory depression", "Clinically ready")):
        block = p1[p1.index(label):p1.index(nxt, p1.index(label) + 1)]
        assert re.findall(r"\b(?:Yes|No)\b", block) == ["Yes", "No"], block
    assert row(p1, "Sedation", "Dissociation") == "Sedation not rated; review"


def test_minimum_monitoring_follows_the_preset(desat: Desat, tmp_path: Path) -> None:
    _, _, pages = report(desat.db, desat.session_id, tmp_path)
    after = (DURATION_S - desat.dose_s) / 60
    assert (f"minimum 120 min after the dose start (esketamine-rems): NOT met, {after:.0f} min "
            "after the dose start") in row(pages[0], "Total monitoring", "Sedation")


def test_logged_respiratory_depression_is_shown_as_logged(desat: Desat, tmp_path: Path
                                                           ) -> None:
    db = tmp_path / "logged.sqlite3"
    db.write_bytes(desat.db.read_bytes())
    add_entry(db, desat.session_id, EntryKind.SIDE_EFFECT, 2200.0,
              {"name": "respiratory depression", "text": "shallow breathing, chin lift"})
    _, _, pages = report(db, desat.session_id, tmp_path)
    resp = row(pages[0], "Respiratory depression", "Clinically ready")
    assert resp.startswith("Respiratory depression logged as a side effect at "
                           f"{clock(desat.start + 2200.0)}; lowest SpO2"), resp
    assert "review" not in resp


def test_early_discharge_says_what_was_not_met_and_who_confirmed(desat: Desat,
                                                                  tmp_path: Path) -> None:
    """The discharge checklist stores what the nurse confirmed as not met (the DISCHARGE
    entry's `early_discharge`, "; "-joined); the report prints it with who and when."""
    db = tmp_path / "early.sqlite3"
    db.write_bytes(desat.db.read_bytes())
    at = 5200.0
    add_entry(db, desat.session_id, EntryKind.DISCHARGE, at, {
        "scale": "aldrete", "score": 8, "max_score": 10, "meets_criterion": 0,
        "ready_t_s": at,
        EARLY_DISCHARGE_KEY: "the 2 h minimum monitoring of esketamine-rems (1 h 24 min since "
                             "the dose start, 36 min to go)"}, CONFIRMER)
    _, _, pages = report(db, desat.session_id, tmp_path)
    minutes = (at - desat.dose_s) / 60
    confirmed = desat.start + at
    expected = (f"Not met: minimum monitoring 120 min (esketamine-rems): "
                f"discharged {minutes:.0f} min after the dose start; discharge score 8/10, "
                f"below 9. Confirmed by {CONFIRMER} at "
                f"{datetime.fromtimestamp(confirmed).astimezone():%Y-%m-%d %H:%M:%S} as not "
                "met: the 2 h minimum monitoring of esketamine-rems (1 h 24 min since the dose "
                "start, 36 min to go).")
    assert f"Early discharge {expected}" in " ".join(pages[0].split())  # beside the REMS fields
    assert f"Early discharge. {expected}" in " ".join("\n".join(pages[1:]).split())  # signed


def test_early_discharge_without_confirmation_says_so(desat: Desat, tmp_path: Path) -> None:
    db = tmp_path / "unconfirmed.sqlite3"
    db.write_bytes(desat.db.read_bytes())
    add_entry(db, desat.session_id, EntryKind.DISCHARGE, 5000.0,
              {"scale": "padss", "score": 10, "ready_t_s": 5000.0})
    _, _, pages = report(db, desat.session_id, tmp_path)
    words = " ".join(pages[0].split())
    assert (f"Early discharge Not met: minimum monitoring 120 min (esketamine-rems): "
            f"discharged {(5000.0 - desat.dose_s) / 60:.0f} min after the dose start. "
            "No confirmation was recorded.") in words
    assert "below 9" not in words  # PADSS 10 meets the criterion


def test_review_boxes_are_drawn_as_empty_squares(desat: Desat, tmp_path: Path) -> None:
    report(desat.db, desat.session_id, tmp_path)
    path = tmp_path / "r.pdf"
    html = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-bbox", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout
    words = [(float(x0), float(y0), float(y1)) for x0, y0, y1 in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">Yes</word>', html)]
    assert len(words) == 5  # two BP "Acceptable" lines, sedation, dissociation, respiration
    scale = 4  # render at 288 dpi: 4 pixels per point
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", str(72 * scale), "-gray", "-png",
                    str(path), str(tmp_path / "p")], check=True)
    [png] = tmp_path.glob("p-*.png")
    with Image.open(png) as im:
        ink = np.asarray(im.convert("L")) < 128
    for x0, y0, y1 in words:
        # The square: 7 pt wide, 3 pt left of the word; its sides inked, its inside blank.
        left, right = int((x0 - 10) * scale), int((x0 - 3) * scale)
        top, bottom = int(y0 * scale), int(y1 * scale)
        box = ink[top:bottom + 1, left - 2:right + 3]
        columns = box.sum(axis=0)
        assert columns.max() >= 5 * scale, (x0, y0)  # two vertical sides
        inside = ink[top + 2 * scale:bottom - 2 * scale, left + 2 * scale:right - 2 * scale]
        assert inside.size and not inside.any(), (x0, y0)  # nothing ticked
    if os.environ.get("VIGIL_SCREENSHOTS"):  # the README's picture of the review lines
        [heading] = re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">fields</word>',
                               html)
        top, bottom = float(heading) - 6, max(y1 for _, _, y1 in words) + 52
        subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "144", "-png", str(path),
                        str(tmp_path / "c")], check=True)
        [colour] = tmp_path.glob("c-*.png")
        with Image.open(colour) as im:
            im.crop((0, int(top * 2), im.width, int(bottom * 2))).save(
                REPO / "docs" / "screenshots" / "report-review.png", optimize=True)


def test_deidentified_early_discharge_keeps_who_and_shifts_when(desat: Desat,
                                                                 tmp_path: Path) -> None:
    db = tmp_path / "deid.sqlite3"
    db.write_bytes(desat.db.read_bytes())
    add_entry(db, desat.session_id, EntryKind.DISCHARGE, 5200.0, {
        "scale": "aldrete", "score": 9, "ready_t_s": 5200.0,
        EARLY_DISCHARGE_KEY: "the dose has not stopped (no Dose stop entered)"}, CONFIRMER)
    with SessionStore(db) as store:
        data = deidentify(load_report(store, desat.session_id))
    buf = io.BytesIO()
    build_pdf(data, buf)
    path = tmp_path / "d.pdf"
    path.write_bytes(buf.getvalue())
    words = " ".join(subprocess.run(["pdftotext", "-layout", str(path), "-"],
                                    capture_output=True, text=True, check=True).stdout.split())
    shifted = desat.start + 5200.0 - data.date_shift_days * 86400
    assert (f"Confirmed by {CONFIRMER} at "
            f"{datetime.fromtimestamp(shifted).astimezone():%Y-%m-%d %H:%M:%S} "
            "as not met: the dose has not stopped (no Dose stop entered).") in words
    assert "MRN-2208" not in words


def test_a_running_session_has_not_yet_reached_the_minimum(desat: Desat, tmp_path: Path
                                                            ) -> None:
    db = tmp_path / "active.sqlite3"
    db.write_bytes(desat.db.read_bytes())
    set_status(db, desat.session_id, SessionStatus.ACTIVE, 3000.0)
    _, _, pages = report(db, desat.session_id, tmp_path)
    line = row(pages[0], "Total monitoring", "Sedation")
    assert ("minimum 120 min after the dose start (esketamine-rems): not yet reached (the "
            "session is still running)") in line
    assert "NOT met" not in line


def test_cadss_items_are_listed_with_the_rating(desat: Desat, tmp_path: Path) -> None:
    db = tmp_path / "cadss.sqlite3"
    db.write_bytes(desat.db.read_bytes())
    add_entry(db, desat.session_id, EntryKind.DISSOCIATION, 2000.0, {
        "scale": "cadss6", "score": 11,
        "items": {"1": 2, "2": 3, "6": 1, "7": 0, "15": 4, "22": 1}})
    _, _, pages = report(db, desat.session_id, tmp_path)
    words = " ".join("\n".join(pages[2:]).split())
    assert (f"{clock(desat.start + 2000.0)} +") in words
    assert "CADSS-6 11 (items 1: 2, 2: 3, 6: 1, 7: 0, 15: 4, 22: 1)" in words
