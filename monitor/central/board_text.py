"""The words a board tile shows, as pure functions of a `RoomView` and the board's time.

Kept out of the painting code so that what a nurse reads ("PEAK +32 min", "BP ~40 min in
6 min", "SpO2 stale 45 s") is tested without Qt.
"""

from __future__ import annotations

import time

from monitor.central.board_model import Reading, RoomAlarm, RoomView
from monitor.timefmt import duration_text
from monitor.vitals import VITALS


def clock(t: float) -> str:
    """The clinic's local time of day, HH:MM:SS."""
    return time.strftime("%H:%M:%S", time.localtime(t))


def phase_text(view: RoomView, now: float) -> str:
    """ "PEAK +32 min": the phase, and the time since the dose start once there is one."""
    if view.phase is None:
        return "no session"
    now = view.room_now(now)
    phase = view.phase.upper()
    if view.dose_start is None:
        return phase
    return f"{phase} +{int(max(0.0, now - view.dose_start) // 60)} min"


def due_text(view: RoomView, now: float) -> str:
    """What is due next: "BP ~40 min in 6 min", or "overdue 3 min"."""
    if view.next_due is None:
        return ""
    what, due = view.next_due
    now = view.room_now(now)
    if due >= now:
        return f"next: {what} in {duration_text(due - now)}"
    return f"next: {what} overdue {duration_text(now - due)}"


def value_text(view: RoomView, vital: str) -> str:
    """The number as the room shows it, or dashes when it is not live (never a stale
    number shown as live)."""
    r = view.reading(vital)
    if r is None or not r.live:
        return "--"
    spec = VITALS.get(vital)
    return spec.format(r.value) if spec is not None else f"{r.value:g}"


def nibp_text(view: RoomView) -> str:
    s, d = value_text(view, "sbp"), value_text(view, "dbp")
    return "--/--" if "--" in (s, d) else f"{s}/{d}"


def age_text(r: Reading | None, room_now: float) -> str:
    """How old the value is, and whether it is stale: "now", "stale 45 s", "12 min ago";
    `room_now` is the time on the room's clock (`RoomView.room_now`)."""
    if r is None:
        return "no data"
    if r.t is None:
        return r.state if r.state != "live" else "no data"
    age = duration_text(room_now - r.t)
    if r.state == "offline":
        return f"last {age} ago"
    if r.state != "live":
        return f"{r.state} {age}"
    return "now" if room_now - r.t < 2 else f"{age} ago"


def alarm_text(a: RoomAlarm) -> str:
    """ "*** SpO2 LOW 84", the board's own "** ROOM OFFLINE" (short, so it stays large on a
    tile: `last_message_text` says since when), acknowledged ones marked."""
    text = f"{a.priority.asterisks} {'ROOM OFFLINE' if a.board else a.text}"
    return f"{text} ✓ ACK" if a.acknowledged else text


def last_message_text(view: RoomView) -> str:
    """ "last message 14:02:11": when an offline room was last heard from."""
    return f"last message {clock(view.last_message)}" if view.last_message else \
        "no message yet"
