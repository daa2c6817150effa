"""`export --format pdf|fhir`: read the session, render, write the file whole or not at all.

The report is rendered in memory first, then written through `write_atomically`: a failed
render leaves no file, and a full disk or unwritable folder leaves no half-written one.
Nothing here writes to the session store.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import IO, Any

from monitor.atomic import write_atomically
from monitor.reports.data import ReportData, load_report
from monitor.reports.deidentify import deidentify as pseudonymised
from monitor.reports.fhir import build_bundle
from monitor.reports.pdf import ReportOptions, build_pdf
from monitor.store import SessionStore


def render(data: ReportData, fmt: str, opts: ReportOptions) -> tuple[bytes, str]:
    """The file's bytes and a short description ("4 pages", "523 resources")."""
    if fmt == "pdf":
        buf = io.BytesIO()
        pages = build_pdf(data, buf, opts)
        return buf.getvalue(), f"{pages} pages"
    if fmt == "fhir":
        bundle = build_bundle(data, clinic=opts.clinic, clinician=opts.clinician)
        text = json.dumps(bundle, indent=1, ensure_ascii=False) + "\n"
        return text.encode("utf-8"), f"a FHIR bundle of {len(bundle['entry'])} resources"
    raise ValueError(f"unknown report format {fmt!r}; expected pdf or fhir")


def export_report(store: SessionStore, session_id: int, fmt: str, out: str | Path, *,
                  deidentify: bool = False, clinic: str | None = None,
                  clinician: str | None = None, nurse: str | None = None) -> str:
    data = load_report(store, session_id)
    if deidentify:
        data = pseudonymised(data)
    payload, what = render(data, fmt, ReportOptions(clinic, clinician, nurse))

    def write(f: IO[Any]) -> None:
        f.write(payload)

    write_atomically(out, write, binary=True)
    return what

