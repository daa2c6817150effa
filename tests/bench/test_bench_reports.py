"""Exporting a 4-hour session as PDF (aim < 3 s) and CSV (aim < 1 s), in process.

Baseline, same run: reading the same sample rows from SQLite with one bare query.
"""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
from pathlib import Path

from monitor.export_csv import write_vitals_csv
from monitor.reports.data import load_report
from monitor.reports.fhir import write_bundle
from monitor.reports.pdf import build_pdf
from monitor.store import SessionStore
from tests.bench.conftest import best_of, report
from tests.helpers.paths import REPO


def test_export_four_hour_session(tmp_path: Path) -> None:
    db = tmp_path / "4h.sqlite3"
    subprocess.run([sys.executable, "main.py", "record", "--device", "sim", "--duration",
                    "14400", "--speed", "max", "--db", str(db)], cwd=REPO, check=True,
                   capture_output=True)
    with SessionStore(db) as store:
        sid = store.resolve_session("latest")
        n = store.list_sessions()[0].sample_count

        def pdf() -> None:
            build_pdf(load_report(store, sid), io.BytesIO())

        def csv() -> None:
            write_vitals_csv(store, sid, io.StringIO())

        def fhir() -> None:
            write_bundle(load_report(store, sid), io.StringIO())

        t_pdf, t_csv, t_fhir = best_of(pdf), best_of(csv), best_of(fhir)

    conn = sqlite3.connect(db)

    def bare() -> None:
        conn.execute("SELECT t_s, t_wall, vital, value, source FROM samples WHERE"
                     " session_id = ? ORDER BY t_s, rowid", (sid,)).fetchall()

    t_bare = best_of(bare)
    conn.close()
    report("export_4h_samples", n, "samples")
    report("export_4h_pdf", t_pdf, "s")
    report("export_4h_csv", t_csv, "s")
    report("export_4h_fhir", t_fhir, "s")
    report("export_4h_sqlite_read_baseline", t_bare, "s")
    report("export_4h_pdf_vs_sqlite_read", t_pdf / t_bare, "ratio")
    report("export_4h_csv_vs_sqlite_read", t_csv / t_bare, "ratio")
    report("export_4h_fhir_vs_sqlite_read", t_fhir / t_bare, "ratio")
    report("export_4h_pdf_vs_aim_3s", t_pdf / 3.0, "ratio")
    report("export_4h_csv_vs_aim_1s", t_csv / 1.0, "ratio")
