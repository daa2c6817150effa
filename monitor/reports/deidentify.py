"""De-identification, for every export: a stable pseudonym for the patient and a
per-session shift of clock dates, both derived from the session's random UUID (kept only
inside the store). The PDF and the FHIR bundle go through `deidentify(ReportData)`; the
vitals and alarm-log CSVs move their clock times by `wall_shift_s`.
"""

from __future__ import annotations

import hashlib
from base64 import b32encode
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # data.py re-exports this module's names, so it is imported lazily here
    from monitor.reports.data import ReportData

DAY_S = 86400.0


def _digest(uuid: str) -> bytes:
    return hashlib.sha256(b"vigil-pseudonym-v1\0" + uuid.encode()).digest()


def pseudonym(uuid: str) -> str:
    """A stable pseudonym for a session: the same on every export, not reversible.

    It hashes the session's random UUID (uuid4, kept only inside the store), so it reveals
    nothing about the patient and cannot be turned back into the session without the store.
    """
    return "P-" + b32encode(_digest(uuid)[:5]).decode()


def date_shift_days(uuid: str) -> int:
    """1-365 days; from digest bytes the pseudonym does not show, so the pseudonym does
    not give the shift away."""
    return 1 + int.from_bytes(_digest(uuid)[16:18], "big") % 365


def wall_shift_s(uuid: str) -> float:
    """What a de-identified export adds to every clock time (seconds; negative: earlier)."""
    return -date_shift_days(uuid) * DAY_S


def device_kind(spec: str) -> str:
    """The device type without paths, addresses or serial numbers (device identifiers)."""
    return spec.split(":", 1)[0].split("?", 1)[0]


def deidentify(data: ReportData) -> ReportData:
    """The same report with the patient replaced by a pseudonym.

    Removed: the patient identifier, the session number and UUID, device paths and addresses,
    free text (a note may name the patient) and the generation date. Clock dates move back by
    a per-session number of whole days, so times of day and all intervals stay exact.
    Kept: weight, doses, every measured value, scores, staff names.
    """
    if data.deidentified:
        return data
    if data.uuid is None:
        raise ValueError("a report without a session UUID cannot be de-identified")
    shift = date_shift_days(data.uuid)
    moved = shift * DAY_S
    return replace(
        data, session_id=None, uuid=None, patient=pseudonym(data.uuid), deidentified=True,
        date_shift_days=shift, start_wall=data.start_wall - moved,
        end_wall=None if data.end_wall is None else data.end_wall - moved,
        generated_wall=None,
        devices=tuple((src, device_kind(spec)) for src, spec in data.devices),
        events=tuple(replace(e, text=None) for e in data.events),
        discharges=tuple(replace(d, confirmation=None if d.confirmation is None else replace(
            d.confirmation, wall=None if d.confirmation.wall is None
            else d.confirmation.wall - moved)) for d in data.discharges),
        device_events=tuple(replace(e, detail="") for e in data.device_events),
        revisions=tuple(replace(r, revised_wall=r.revised_wall - moved)
                        for r in data.revisions))
