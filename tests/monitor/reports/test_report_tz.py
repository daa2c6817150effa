"""Times on the report are the clinic's local time, whatever zone the computer is in.

The session starts at 1796040000 (2026-11-30 12:00:00 UTC); the clinic computer is set to
New York (EST, UTC-5), so the report says 07:00:00 and names the zone. The expected clock
times below are written out by hand. TZ is changed for this module only and restored.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.messages import Numerics
from monitor.reports.data import ReportData, load_report
from monitor.reports.fhir import build_bundle
from monitor.reports.pdf import build_pdf
from monitor.session import DoseProtocol, EntryKind, Patient, Route, SessionStatus
from monitor.store import SessionStore

WALL0 = 1796040000.0  # 2026-11-30 12:00:00 UTC


@pytest.fixture(scope="module")
def new_york() -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.fixture(scope="module")
def data(new_york: None, tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    db = tmp_path_factory.mktemp("tz") / "s.sqlite3"
    with SessionStore(db) as store:
        sid = store.create_session(Patient("TZ-1", 70.0),
                                   DoseProtocol("ketamine", Route.IV, 35.0, 40.0), None, WALL0)
        writer = store.writer(sid)
        for t in range(0, 3601, 60):
            writer.put(Numerics("sim", WALL0 + t, float(t), (("hr", 70.0), ("spo2", 97.0))))
        writer.put(Numerics("sim", WALL0 + 1800, 1800.0,
                            (("sbp", 131.0), ("dbp", 82.0), ("map", 98.0))))
        writer.close()
        store.add_entry(sid, EntryKind.DOSE_START, 600.0, WALL0 + 600, {}, "RN Kim")
        store.end_session(sid, SessionStatus.COMPLETED, WALL0 + 3600)
        return load_report(store, sid)


def test_pdf_times_are_the_clinics_local_time(data: ReportData, tmp_path: Path) -> None:
    buf = io.BytesIO()
    build_pdf(data, buf)
    path = tmp_path / "r.pdf"
    path.write_bytes(buf.getvalue())
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    p1 = text.split("\f")[0]
    assert "2026-11-30" in p1
    assert re.search(r"07:00:00 to\s+08:00:00 \(60 min\)", p1)
    assert "EST (UTC-0500)" in p1  # the zone is named
    assert "07:10:00" in p1  # the dose start
    assert "131/82 mmHg at 07:30:00" in p1  # the NIBP reading, as the end-of-monitoring BP
    assert "12:00:00" not in text and "12:10:00" not in text  # no UTC time anywhere


def test_fhir_times_carry_the_local_offset(data: ReportData) -> None:
    bundle = json.loads(json.dumps(build_bundle(data)))
    [enc] = [e["resource"] for e in bundle["entry"]
             if e["resource"]["resourceType"] == "Encounter"]
    assert enc["period"] == {"start": "2026-11-30T07:00:00.000-05:00",
                             "end": "2026-11-30T08:00:00.000-05:00"}
    [bp] = [e["resource"] for e in bundle["entry"]
            if e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "85354-9"]
    assert bp["effectiveDateTime"] == "2026-11-30T07:30:00.000-05:00"
