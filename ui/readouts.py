"""What each tile says, from a LiveState snapshot: pure functions, no widgets.

Display conventions (clinical reference §10): a value that is not current is never shown as
a number; NIBP shows the time of the reading, its age and a countdown to the next, is
greyed once it is older than the interval plus a margin and blanked after an hour.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from alarms.model import AlarmState, AlarmStatus
from monitor.live import Freshness, LatestReading, Snapshot
from monitor.timefmt import clock_text as clock_text  # moved: the quick-entry model uses it
from monitor.timefmt import duration_text
from monitor.vitals import VITALS
from ui.sources import Limits, LimitSource
from ui.tiles import LatchedMark, TileContent

NIBP_GREY_MARGIN_S = 120.0  # an NIBP reading older than interval + this is greyed
NIBP_DEFAULT_GREY_S = 15 * 60.0  # when the interval is unknown
NIBP_BLANK_S = 3600.0  # older than this it is not shown at all (as Philips does)
# A monitor's own alarm on the numeric (IntelliVue MSMT_STATE_IN_ALARM, S/5 asystole): shown
# on the tile as the device says it, beside Vigil's own alarm colours.
DEVICE_ALARM_NOTE = "MONITOR IN ALARM"




def wall_clock_text(wall: float) -> str:
    """The clinic's local time of day, HH:MM, as the header clock shows it."""
    return time.strftime("%H:%M", time.localtime(wall))


def value_text(vital: str | None, value: float) -> str:
    """A value at its vital's display precision."""
    p = VITALS[vital].precision if vital is not None and vital in VITALS else 0
    return f"{value:.{p}f}"


def latched_mark(a: AlarmStatus, tile_vital: str | None,
                 wall_of: Callable[[float], float]) -> LatchedMark | None:
    """What a tile says about a latched (ended, unacknowledged) alarm on its vital: the worst
    value and when it was seen, never the value at the end."""
    if a.state is not AlarmState.LATCHED:
        return None
    value = "" if a.worst_value is None else value_text(a.vital, a.worst_value)
    if value and a.vital is not None and a.vital != tile_vital:
        value = f"{VITALS[a.vital].short_label} {value}"
    at = "" if a.worst_t_s is None else wall_clock_text(wall_of(a.worst_t_s))
    return LatchedMark(value, at)


def _not_current_note(r: LatestReading) -> str:
    if r.freshness is Freshness.STALE:
        return f"NOT CURRENT: no data {duration_text(r.age_s or 0)}"
    if r.freshness is Freshness.ARTEFACT:
        return "INVALID: artefact"
    return "no data"


def _side(value: float | None, precision: int) -> str:
    return "off" if value is None else f"{value:.{precision}f}"


def limits_text(limits: LimitSource | None, key: str, prefix: str = "") -> str:
    """The limits in force as the tile shows them, high over low; '' when none are known."""
    lim: Limits | None = limits.limits_for(key) if limits is not None else None
    if lim is None:
        return ""
    p = VITALS[key].precision
    return f"{prefix}{_side(lim[1], p)}\n{prefix}{_side(lim[0], p)}"


def nibp_limits_text(limits: LimitSource | None) -> str:
    s = limits_text(limits, "sbp").split("\n")
    d = limits_text(limits, "dbp").split("\n")
    if s == [""] and d == [""]:
        return ""
    s, d = (x if x != [""] else ["off", "off"] for x in (s, d))
    return f"{s[0]}/{d[0]}\n{s[1]}/{d[1]}"


def continuous_tile(snap: Snapshot, key: str, limits: LimitSource | None,
                    secondary_key: str | None = None) -> TileContent:
    r = snap.readings[key]
    live = r.freshness is Freshness.CURRENT
    secondary, secondary_live = "", True
    if secondary_key is not None:
        s = snap.readings[secondary_key]
        secondary = f"{VITALS[secondary_key].label} {s.text()}"
        secondary_live = s.freshness is Freshness.CURRENT
    note = (DEVICE_ALARM_NOTE if r.in_alarm else "") if live else _not_current_note(r)
    return TileContent(r.text(), live, note, secondary, secondary_live,
                       limits_text(limits, key))


def nibp_tile(snap: Snapshot, limits: LimitSource | None, interval_s: float | None,
              wall_of: Callable[[float], float], ended: bool = False) -> TileContent:
    """`ended`: the session has ended, no reading is due: no countdown, no OVERDUE."""
    s, d, m = (snap.readings[k] for k in ("sbp", "dbp", "map"))
    lim = nibp_limits_text(limits)
    if s.freshness is Freshness.NONE or s.t_s is None:
        note = "no reading yet"
        return TileContent("---/---", False, note, "", True, lim)
    age = s.age_s or 0.0
    grey_after = (interval_s + NIBP_GREY_MARGIN_S) if interval_s else NIBP_DEFAULT_GREY_S
    at = wall_clock_text(wall_of(s.t_s))
    parts = [at, f"{duration_text(age)} ago"]
    if interval_s and not ended:
        due = s.t_s + interval_s - snap.t_s
        parts.append(f"next {clock_text(due)}" if due >= 0 else f"OVERDUE {clock_text(-due)}")
    note = "  ·  ".join(parts)
    valid = s.freshness is Freshness.CURRENT and d.freshness is Freshness.CURRENT
    if not valid:
        return TileContent("---/---", False, f"INVALID reading  ·  {note}", "", True, lim)
    if age > NIBP_BLANK_S:
        return TileContent("---/---", False, f"last reading {duration_text(age)} ago", "",
                           True, lim)
    if s.in_alarm or d.in_alarm or m.in_alarm:
        note = f"{DEVICE_ALARM_NOTE}  ·  {note}"
    mean = f"({m.text()})" if m.freshness is Freshness.CURRENT else "(--)"
    return TileContent(f"{s.text()}/{d.text()}", age <= grey_after, note, mean,
                       age <= grey_after, lim)
