"""Time and value text shared by the PDF and FHIR reports.

Clock times are in the machine's local time zone (the clinic's), named on the report;
FHIR carries ISO 8601 with the offset.
"""

from __future__ import annotations

from datetime import datetime

from monitor.timefmt import number as number  # re-exported: the one number format
from monitor.vitals import VITALS


def local(wall: float) -> datetime:
    return datetime.fromtimestamp(wall).astimezone()


def clock(wall: float) -> str:
    """HH:MM:SS, local time."""
    return local(wall).strftime("%H:%M:%S")


def clock_hm(wall: float) -> str:
    return local(wall).strftime("%H:%M")


def date(wall: float) -> str:
    return local(wall).strftime("%Y-%m-%d")


def zone(wall: float) -> str:
    return local(wall).strftime("%Z (UTC%z)")


def iso(wall: float) -> str:
    """ISO 8601 with the local offset, to the millisecond (FHIR dateTime/instant)."""
    return local(wall).isoformat(timespec="milliseconds")


def since(t_s: float, ref_s: float | None) -> str:
    """Minutes:seconds from a reference (the dose start), signed: "+40:00", "-4:30"."""
    if ref_s is None:
        return ""
    d = t_s - ref_s
    sign = "-" if d < 0 else "+"
    m, s = divmod(round(abs(d)), 60)
    return f"{sign}{m}:{s:02d}"


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min"


def value(key: str, v: float | None) -> str:
    return VITALS[key].format(v)
