"""The live trend redraws only what changed: each second a strip near now, never the
hours already drawn, and it looks as it did when every curve was redrawn each second."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QApplication
from test_screenshots import to_array

from devices.sim.model import PatientModel
from devices.sim.scenarios import SCENARIOS, SimSettings
from monitor.buffers import SessionTrends
from monitor.messages import Numerics, TimelineMark
from ui.theme import vital_colour
from ui.trend import TAIL_MAX, TrendView

HOURS_S = 2 * 3600


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class RecordingTrend(TrendView):
    """Records the regions Qt repaints."""

    painted: list[QRect]

    def paintEvent(self, event: QPaintEvent) -> None:
        self.painted.append(event.region().boundingRect())
        super().paintEvent(event)


def session(until_s: int) -> tuple[SessionTrends, PatientModel]:
    model = PatientModel(SimSettings(SCENARIOS["normal"], seed=2, dose_at_s=600.0))
    trends = SessionTrends()
    trends(TimelineMark("sim", 0.0, 600.0, "dose_start",
                        (("route", "iv"), ("infusion_min", 40.0))))
    for t in range(until_s):
        trends(Numerics("sim", float(t), float(t), tuple(model.numerics(float(t)).items())))
    return trends, model


def shown(qtbot, trends: SessionTrends, clock: Clock, cached: bool) -> RecordingTrend:
    view = RecordingTrend(trends, clock, cached=cached)
    view.painted = []
    qtbot.addWidget(view)
    view.resize(1800, 420)
    view.show()
    qtbot.waitExposed(view)
    view.start()
    view.timer.stop()  # the test steps it
    return view


def step(trends: SessionTrends, model: PatientModel, clock: Clock, views: list[TrendView]
         ) -> None:
    t = clock.t
    trends(Numerics("sim", t, t, tuple(model.numerics(t).items())))
    clock.t += 1.0
    for view in views:
        view.refresh()
    QApplication.processEvents()


def test_a_second_of_trend_repaints_a_strip_at_now(qtbot):
    trends, model = session(HOURS_S)
    clock = Clock(float(HOURS_S))
    view = shown(qtbot, trends, clock, cached=True)
    before = shown(qtbot, trends, clock, cached=False)
    for _ in range(3):
        step(trends, model, clock, [view, before])
    view.painted.clear()
    before.painted.clear()
    for _ in range(20):
        step(trends, model, clock, [view, before])
    assert view.painted and before.painted
    widest = max(r.width() for r in view.painted)
    assert widest < 0.05 * view.width(), view.painted  # a strip, not the rows
    vb = view.plots[0].getViewBox()
    now_x = view.mapFromScene(vb.mapViewToScene(QPointF(clock.t, 0))).x()
    assert all(r.left() > now_x - 40 and r.right() < now_x + 40 for r in view.painted)
    # The former drawing repainted whole rows every second.
    assert max(r.width() for r in before.painted) > 0.5 * before.width()


def test_the_history_is_set_once_and_the_tail_carries_the_new_points(qtbot):
    trends, model = session(HOURS_S)
    clock = Clock(float(HOURS_S))
    view = shown(qtbot, trends, clock, cached=True)
    line = view.lines["hr"]
    settled = line.settled.getData()[0]
    for _ in range(TAIL_MAX - 5):
        step(trends, model, clock, [view])
    assert line.settled.getData()[0] is settled  # not given data again
    t, _v = trends.series("hr")
    tail_t = line.tail.getData()[0]
    assert tail_t[0] == settled[-1] and tail_t[-1] == t[-1]  # joined, and up to now
    for _ in range(10):
        step(trends, model, clock, [view])
    assert len(line.settled.getData()[0]) > len(settled)  # the tail joined the history
    assert len(line.tail.getData()[0]) < 12


def test_it_looks_as_when_every_curve_was_redrawn(qtbot):
    trends, model = session(HOURS_S)
    clock = Clock(float(HOURS_S))
    view = shown(qtbot, trends, clock, cached=True)
    before = shown(qtbot, trends, clock, cached=False)
    split = view.lines["hr"].split
    for k in range(TAIL_MAX + 40):  # across a join of the tail to the history
        step(trends, model, clock, [view, before] if k % 20 == 0 else [])
    step(trends, model, clock, [view, before])
    assert view.lines["hr"].split > split
    for v in (view, before):
        for line in v._now_lines:  # the same now line (the cached view moves it per px)
            line.setValue(clock.t)
    QApplication.processEvents()
    a, b = to_array(view.grab().toImage()), to_array(before.grab().toImage())
    vb = view.plots[0].getViewBox()
    now_x = round(view.mapFromScene(vb.mapViewToScene(QPointF(clock.t, 0))).x())
    # Left of now: the same curves, bands and axes, but for a pixel here and there where
    # the peak-picking downsampling falls differently in the history than in the whole.
    differ = np.abs(a[:, :now_x - 2] - b[:, :now_x - 2]).max(axis=-1) > 0
    assert differ.mean() < 0.002, differ.sum()
    for key in ("hr", "spo2", "rr"):  # each line unbroken in the same columns
        colour = np.array(vital_colour(key).getRgb()[:3])
        cols_a = (np.abs(a[:, :now_x - 2] - colour).max(axis=-1) <= 40).any(axis=0)
        cols_b = (np.abs(b[:, :now_x - 2] - colour).max(axis=-1) <= 40).any(axis=0)
        assert cols_b.mean() > 0.9 and (cols_a != cols_b).sum() <= 2, key
    # Right of now: the running phase (recovery) now runs on to the right edge, as the
    # trend's docstring always said, instead of growing (and repainting) every second.
    right = np.abs(a[:, now_x + 3:] - b[:, now_x + 3:]).max(axis=-1) > 0
    assert right.mean() > 0.3
