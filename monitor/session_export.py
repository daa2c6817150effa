"""One stored session to a file, in any export format, as `main.py export` writes it.

The session browser calls this on a worker thread with its own read-only connection, so
an export never changes the store and never holds up the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from monitor.atomic import write_atomically
from monitor.export_alarms import write_alarms_csv
from monitor.export_csv import write_vitals_csv
from monitor.reports.deidentify import wall_shift_s
from monitor.store import SessionStore

# format -> what the file holds, for buttons and messages
FORMATS = {"pdf": "PDF report", "csv": "vitals CSV", "alarms": "alarm-log CSV",
           "fhir": "FHIR bundle"}
SUFFIXES = {"pdf": ".pdf", "csv": ".csv", "alarms": ".csv", "fhir": ".json"}
HL7 = "hl7"  # the HL7 batch file (issue 15): the CLI's, not a browser button


def suggested_name(session_id: int, fmt: str, deidentify: bool) -> str:
    """A file name for the save dialog; a de-identified export names no session number."""
    what = {"pdf": "report", "csv": "vitals", "alarms": "alarms", "fhir": "fhir"}[fmt]
    who = "deidentified" if deidentify else f"session-{session_id}"
    return f"vigil-{who}-{what}{SUFFIXES[fmt]}"


@dataclass(frozen=True, slots=True)
class Exported:
    session_id: int  # the session written (`latest` resolved)
    what: str  # e.g. "4 pages" or "7200 rows"


def export_stored(store: SessionStore, session: int | str | None, fmt: str, out: str | Path,
                  *, deidentify: bool = False, clinic: str | None = None,
                  clinician: str | None = None, nurse: str | None = None) -> Exported:
    """One session (an id, or `latest`) of an open store to `out` (`-`: standard output),
    whole or not at all; the CLI and the browser both export through here. The clinic and
    the staff names are printed on the PDF and FHIR only."""
    if fmt not in FORMATS and fmt != HL7:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    sid = store.resolve_session(session)
    if fmt in ("pdf", "fhir"):
        from monitor.reports.export import export_report
        return Exported(sid, export_report(store, sid, fmt, out, deidentify=deidentify,
                                           clinic=clinic, clinician=clinician, nurse=nurse))
    if fmt == HL7:  # the HL7 batch file
        from monitor.hl7.batch import write_batch
        n = write_atomically(out, lambda f: write_batch(store, sid, f, deidentify=deidentify))
        return Exported(sid, f"{n} messages")
    shift = wall_shift_s(store.load_session(sid).uuid) if deidentify else 0.0
    if fmt == "alarms":
        n = write_atomically(out, lambda f: write_alarms_csv(store, sid, f, wall_shift_s=shift))
        return Exported(sid, f"{n} alarm episodes")
    n = write_atomically(out, lambda f: write_vitals_csv(store, sid, f, wall_shift_s=shift))
    return Exported(sid, f"{n} rows")


def export_session(store_path: str | Path, session_id: int, fmt: str, out: str | Path, *,
                   deidentify: bool = False, clinician: str | None = None) -> str:
    """`export_stored` on its own read-only connection (the browser's worker thread): what
    was written, e.g. "4 pages" or "7200 rows"; ExportError naming the file otherwise.
    `clinician`: the signed-in clinician, printed on the report's signature line."""
    with SessionStore(store_path, read_only=True) as store:
        return export_stored(store, session_id, fmt, out, deidentify=deidentify,
                             clinician=clinician).what
