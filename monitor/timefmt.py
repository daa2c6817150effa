"""Time and number formats shared by the CLI and the exports."""

from __future__ import annotations

import math
from datetime import UTC, datetime


def hours_text(seconds: float) -> str:
    """'2 h', '1 h 15 min', '45 min' (rounded down to the minute): a stretch of the session
    as the nurse and the discharge checks say it."""
    h, m = divmod(max(0, int(seconds // 60)), 60)
    return f"{m} min" if not h else f"{h} h" if not m else f"{h} h {m} min"


def iso_utc(t_wall: float, millis: bool = True) -> str:
    """ISO 8601 in UTC with a Z, e.g. 2026-11-21T09:30:00.250Z."""
    dt = datetime.fromtimestamp(t_wall, tz=UTC)
    text = dt.isoformat(timespec="milliseconds" if millis else "seconds")
    return text.replace("+00:00", "Z")


def number(value: float | None, digits: int | None = None) -> str:
    """The one way Vigil writes a number that is not a vital's reading (`Vital.format`):
    no trailing zeros and no point for a whole number, so a dose, a score, a time or a CSV
    value read alike in every export and report.

    Without `digits`, the shortest text that reads back as the same float (exports): a
    missing or non-finite value raises, since an export must never write one it cannot read
    back. With `digits`, rounded for a reader (reports), and "--" where there is no value:
    never a made-up 0 or "nan".
    """
    if digits is not None:
        if value is None or not math.isfinite(value):
            return "--"
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
        return text or "0"
    if value is None or not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def seconds(t_s: float) -> str:
    """Seconds since session start, to the millisecond, without trailing zeros."""
    return number(round(t_s, 3))


def clock_text(seconds: float) -> str:
    """m:ss (or h:mm:ss) for countdowns and elapsed times."""
    s = max(0, int(seconds))
    h, rem = divmod(s, 3600)
    return f"{h}:{rem // 60:02d}:{rem % 60:02d}" if h else f"{rem // 60}:{rem % 60:02d}"


def duration_text(seconds: float) -> str:
    """'45 s', '3 min', '1 h 05' — for ages and countdowns at a glance (the room screen and
    the central board say them alike)."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60:02d}"
