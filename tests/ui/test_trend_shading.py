"""Alarm shading on the session trend: an episode shades only the rows of its vital; one
about a device (link lost) the rows of the vitals that device gave; Vigil's own, none."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from alarms.model import (
    AlarmEvent,
    AlarmEventKind,
    AlarmKind,
    AlarmState,
    AlarmStatus,
    Priority,
)
from monitor.buffers import SessionTrends
from monitor.messages import Numerics, TimelineMark
from ui.trend import ROWS, TrendView

M = Priority.MEDIUM


def episode(key: str, vital: str | None, source: str | None, start: float,
            end: float | None) -> list[AlarmEvent]:
    """The engine's events for one alarm episode."""
    a = AlarmStatus(key, AlarmKind.TECHNICAL, M, vital, key, key, AlarmState.ACTIVE, start,
                    start, None, None, False, source=source)
    events = [AlarmEvent(start, start, AlarmEventKind.START, a)]
    if end is not None:
        events.append(AlarmEvent(end, end, AlarmEventKind.END, a))
    return events


def shaded_rows(episodes: list[list[AlarmEvent]], qtbot) -> dict[str, int]:
    trends = SessionTrends(1.0)
    for ev in sorted((ev for events in episodes for ev in events), key=lambda e: e.t_s):
        trends.alarm_event(ev)
    trends(Numerics("ox", 0.0, 0.0, (("spo2", 97.0), ("pr", 72.0))))  # an oximeter
    trends(Numerics("rr", 0.0, 0.0, (("rr", 14.0),)))  # another device, for RR
    view = TrendView(trends, lambda: 100.0)
    qtbot.addWidget(view)
    view.refresh(force=True)
    return {title: sum(r.isVisible() for r in items)
            for (title, _, _), items in zip(ROWS, view._episode_items, strict=True)}


def test_each_episode_shades_only_its_own_rows(qtbot) -> None:
    hr_row, spo2_row, rr_row = (title for title, _, _ in ROWS)
    got = shaded_rows([
        episode("spo2-low:ox", "spo2", "ox", 10.0, 30.0),
        episode("pr-high:ox", "pr", "ox", 10.0, 30.0),  # no PR line: the HR row
        episode("link-lost:ox", None, "ox", 40.0, 50.0),  # the oximeter's SpO2 and PR
        episode("audio-unavailable:vigil", None, None, 0.0, None),  # no vital: none
        episode("storage-failure:vigil", None, None, 60.0, 70.0),
    ], qtbot)
    assert got == {hr_row: 2, spo2_row: 2, rr_row: 0}


def test_phase_names_never_print_over_each_other(qtbot) -> None:
    """A 60 s baseline in a 1-hour window is ~30 px wide at 1920 px: too narrow for
    "BASELINE", which is left out rather than printed over "DOSING"."""
    trends = SessionTrends()
    trends(Numerics("sim", 0.0, 0.0, (("hr", 72.0),)))
    trends(TimelineMark("sim", 60.0, 60.0, "dose_start", (("route", "iv"), ("infusion_min", 40))))
    view = TrendView(trends, lambda: 300.0)
    qtbot.addWidget(view)
    view.resize(1920, 400)
    view.show()
    qtbot.waitExposed(view)
    view.refresh(force=True)
    shown = {label.toPlainText(): label for label in view._phase_labels if label.isVisible()}
    assert "BASELINE" not in shown and "DOSING" in shown
    view.window_min = 60
    view.zoom(-2)  # 10 min: ~0.3 s/px, the baseline is ~190 px wide
    qtbot.waitUntil(lambda: view.x_range()[1] - view.x_range()[0] == 600.0)
    QApplication.processEvents()  # the view's new transform reaches its items
    view.refresh(force=True)
    QApplication.processEvents()
    shown = {label.toPlainText(): label for label in view._phase_labels if label.isVisible()}
    assert {"BASELINE", "DOSING"} <= set(shown)
    a, b = (shown[n].sceneBoundingRect() for n in ("BASELINE", "DOSING"))
    assert a.right() <= b.left()
