"""One stored session to a file, in any export format, as `main.py export` writes it.

The session browser calls this on a worker thread with its own read-only connection, so
an export never changes the store and never holds up the window.
"""

from __future__ import annotations

from pathlib import Path

from monitor.atomic import write_atomically
from monitor.export_alarms import write_alarms_csv
from monitor.export_csv import write_vitals_csv
from monitor.store import SessionStore

# format -> what the file holds, for buttons and messages
FORMATS = {"pdf": "PDF report", "csv": "vitals CSV", "alarms": "alarm-log CSV",
           "fhir": "FHIR bundle"}
SUFFIXES = {"pdf": ".pdf", "csv": ".csv", "alarms": ".csv", "fhir": ".json"}


def suggested_name(session_id: int, fmt: str, deidentify: bool) -> str:
    """A file name for the save dialog; a de-identified export names no session number."""
    what = {"pdf": "report", "csv": "vitals", "alarms": "alarms", "fhir": "fhir"}[fmt]
    who = "deidentified" if deidentify else f"session-{session_id}"
    return f"vigil-{who}-{what}{SUFFIXES[fmt]}"


def export_session(store_path: str | Path, session_id: int, fmt: str, out: str | Path, *,
                   deidentify: bool = False, clinician: str | None = None) -> str:
    """Writes the file whole or not at all (ExportError naming it otherwise); returns what
    was written, e.g. "4 pages" or "7200 rows"."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    with SessionStore(store_path, read_only=True) as store:
        sid = store.resolve_session(session_id)
        if fmt in ("pdf", "fhir"):
            from monitor.reports.export import export_report
            return export_report(store, sid, fmt, out, deidentify=deidentify,
                                 clinician=clinician)
        shift = 0.0
        if deidentify:
            from monitor.reports.data import DAY_S, date_shift_days
            shift = -date_shift_days(store.load_session(sid).uuid) * DAY_S
        if fmt == "alarms":
            n = write_atomically(out, lambda f: write_alarms_csv(store, sid, f,
                                                                 wall_shift_s=shift))
            return f"{n} alarm episodes"
        n = write_atomically(out, lambda f: write_vitals_csv(store, sid, f, wall_shift_s=shift))
        return f"{n} rows"
