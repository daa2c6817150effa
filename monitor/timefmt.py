"""Time and number formats shared by the CLI and the exports."""

from __future__ import annotations

import math
from datetime import UTC, datetime


def iso_utc(t_wall: float, millis: bool = True) -> str:
    """ISO 8601 in UTC with a Z, e.g. 2026-11-21T09:30:00.250Z."""
    dt = datetime.fromtimestamp(t_wall, tz=UTC)
    text = dt.isoformat(timespec="milliseconds" if millis else "seconds")
    return text.replace("+00:00", "Z")


def number(value: float) -> str:
    """The shortest text that reads back as the same float; integers without a point."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def seconds(t_s: float) -> str:
    """Seconds since session start, to the millisecond, without trailing zeros."""
    return number(round(t_s, 3))


def duration_text(seconds: float) -> str:
    """'45 s', '3 min', '1 h 05' — for ages and countdowns at a glance (the room screen and
    the central board say them alike)."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60:02d}"
