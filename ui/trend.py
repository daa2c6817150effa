"""The session trend: HR, NIBP, SpO2 and RR for the whole session, with limits, alarm
episodes and the dosing phases; zoom and pan, or follow now.

The x axis is session time in seconds, labelled h:mm from the session start. Session time
is what the nurse reasons in (time since start and since the dose), it comes from the
monotonic session clock (no jumps when the wall clock is set), it keeps full precision in
float64, and the timeline widget planned under the trend shares it by linking its x axis
(`link_x`). Wall-clock times are shown where they matter (the NIBP reading time).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor, QFontMetricsF
from PySide6.QtWidgets import QGraphicsItem, QWidget

from alarms.model import Priority
from monitor.buffers import SessionTrends
from monitor.session import Phase
from monitor.vitals import VITALS
from ui.sources import LimitSource
from ui.theme import ALARM_COLOURS, BACKGROUND, BORDER, TEXT_DIM, text_font, vital_colour

WINDOWS_MIN = (10, 30, 60, 120, 240, 480)
DEFAULT_WINDOW_MIN = 60
SESSION_MAX_S = 8 * 3600
REDRAW_MS = 1000  # the vitals arrive at ~1 Hz
TAIL_MAX = 300  # points of the live tail before they join the cached history (5 min at 1 Hz)

PHASE_COLOURS = {
    "baseline": QColor(96, 125, 139, 34),
    "dosing": QColor(126, 87, 194, 46),
    "peak": QColor(156, 100, 60, 46),
    "recovery": QColor(46, 125, 50, 34),
}
# Rows: (title, vitals, y range). Fixed y ranges keep the picture stable for a glance.
ROWS = (
    ("HR  ·  NIBP", ("hr", "sbp", "dbp", "map"), (30.0, 230.0)),
    ("SpO2 %", ("spo2",), (50.0, 101.0)),
    ("RR /min", ("rr",), (0.0, 40.0)),
)


class SessionTimeAxis(pg.AxisItem):
    """Ticks in h:mm of session time, at minute multiples."""

    STEPS_S = (60, 120, 300, 600, 900, 1800, 3600, 7200)

    def tickSpacing(self, minVal: float, maxVal: float, size: float
                    ) -> list[tuple[float, float]]:
        span = max(maxVal - minVal, 1.0)
        target = max(2, int(size / 110))  # one label per ~110 px
        major = next((s for s in self.STEPS_S if span / s <= target), self.STEPS_S[-1])
        minor = next((s for s in reversed(self.STEPS_S) if s < major), major / 2)
        return [(float(major), 0.0), (float(minor), 0.0)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        out = []
        for v in values:
            m = round(v / 60)
            out.append(f"{'-' if m < 0 else ''}{abs(m) // 60}:{abs(m) % 60:02d}")
        return out


def top_priority_spans(spans: list[tuple[float, float, Priority]]
                       ) -> list[tuple[float, float, Priority]]:
    """Overlapping episodes on one plot as non-overlapping spans, each in the highest
    priority active there: a HIGH episode shows in its own colour, never mixed with the
    MEDIUM one it overlaps."""
    edges = sorted({t for a, b, _ in spans for t in (a, b)})
    out: list[tuple[float, float, Priority]] = []
    events = sorted((t, k, p) for a, b, p in spans for t, k in ((a, 1), (b, -1)))
    active: dict[Priority, int] = {}
    i = 0
    for lo, hi in pairwise(edges):
        while i < len(events) and events[i][0] <= lo:
            active[events[i][2]] = active.get(events[i][2], 0) + events[i][1]
            i += 1
        top = max((p for p, n in active.items() if n > 0), default=None)
        if top is None:
            continue
        if out and out[-1][2] is top and out[-1][1] == lo:
            out[-1] = (out[-1][0], hi, top)
        else:
            out.append((lo, hi, top))
    return out


def _line_item(key: str) -> pg.PlotDataItem:
    item = pg.PlotDataItem(pen=pg.mkPen(vital_colour(key), width=1), connect="finite",
                           antialias=False)
    # Segments, not one path: the path mode (default at width 1) left a one-point gap
    # in an 8 h curve with connect='finite' (pyqtgraph 0.14, seen on screenshots).
    item.curve.setSegmentedLineMode("on")
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    return item


class TrendLine:
    """One vital's line as two curves: the settled history, whose picture Qt keeps
    (`DeviceCoordinateCache`: redrawn only when the view scrolls or zooms, blitted when the
    live part repaints over it), and the live tail since, the only part given new data each
    second. Every `TAIL_MAX` points the tail joins the history. The series are append-only,
    so what the history holds never changes. `cached=False` draws it as before (one curve
    given the whole series each second): the benchmark's baseline."""

    def __init__(self, plot: pg.PlotItem, key: str, cached: bool = True) -> None:
        self.settled = _line_item(key)
        plot.addItem(self.settled)
        self.tail: pg.PlotDataItem | None = None
        if cached:
            self.settled.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.tail = _line_item(key)
            plot.addItem(self.tail)
        self.split = 0  # points in the settled curve

    def set_series(self, t: np.ndarray, v: np.ndarray) -> None:
        if self.tail is None:
            self.settled.setData(t, v)
            return
        n = len(t)
        if n < self.split or n - self.split > TAIL_MAX:
            self.split = n
            self.settled.setData(t, v)
        # From the last settled point, so that the line is unbroken where they meet.
        first = max(0, self.split - 1)
        self.tail.setData(t[first:], v[first:])


class TrendView(pg.GraphicsLayoutWidget):
    followChanged = Signal(bool)

    def __init__(self, trends: SessionTrends, now_s: Callable[[], float],
                 limits: LimitSource | None = None, parent: QWidget | None = None,
                 cached: bool = True) -> None:
        super().__init__(parent=parent)
        self.setBackground(BACKGROUND)
        self.cached = cached  # False: drawn as before, for the benchmark's baseline
        self.live = False  # following a running session (start() to stop())
        self.trends = trends
        self._now_s = now_s
        self.limits = limits
        self.window_min = DEFAULT_WINDOW_MIN
        self.follow = True
        self._drawn_revision = -1
        self._setting_range = False
        self.plots: list[pg.PlotItem] = []
        self.lines: dict[str, TrendLine] = {}
        self._row_of: dict[str, int] = {}
        self._phase_items: list[list[pg.LinearRegionItem]] = [[] for _ in ROWS]
        self._episode_items: list[list[pg.LinearRegionItem]] = [[] for _ in ROWS]
        self._limit_lines: dict[tuple[str, int], pg.InfiniteLine] = {}
        self._phase_labels: list[pg.TextItem] = []
        self._nibp_counts: tuple[int, int, int] = (-1, -1, -1)
        self._phases_drawn: tuple[object, ...] = ()
        self._spans: dict[int, list[tuple[float, float, int]]] = {}
        self._now_lines: list[pg.InfiniteLine] = []
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self.refresh)

    # -- construction ------------------------------------------------------------------

    def _build(self) -> None:
        ci = self.ci
        ci.setSpacing(0)
        for row, (title, keys, (y0, y1)) in enumerate(ROWS):
            last = row == len(ROWS) - 1
            axis = {"bottom": SessionTimeAxis(orientation="bottom")}
            plot: pg.PlotItem = ci.addPlot(row=row, col=0, axisItems=axis)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setMouseEnabled(x=True, y=False)
            plot.setYRange(y0, y1, padding=0)
            plot.setLimits(xMin=-600, xMax=SESSION_MAX_S + 600, minXRange=120)
            plot.getViewBox().disableAutoRange()
            for side in ("left", "bottom"):
                ax = plot.getAxis(side)
                ax.setPen(pg.mkPen(BORDER))
                ax.setTextPen(pg.mkPen(TEXT_DIM))
                ax.setStyle(tickFont=text_font(15))
            plot.getAxis("left").setWidth(54)
            if not last:
                plot.getAxis("bottom").setStyle(showValues=False)
                plot.getAxis("bottom").setHeight(4)
            label = pg.TextItem(title, color=TEXT_DIM, anchor=(0, 0))
            label.setFont(text_font(16, bold=True))
            label.setParentItem(plot.getViewBox())
            label.setPos(4, 0)
            if self.plots:
                plot.setXLink(self.plots[0])
            plot.getViewBox().sigRangeChangedManually.connect(self._on_manual_range)
            self.plots.append(plot)
            now_line = pg.InfiniteLine(angle=90, movable=False,
                                       pen=pg.mkPen(TEXT_DIM, width=1,
                                                    style=pg.QtCore.Qt.PenStyle.DashLine))
            plot.addItem(now_line, ignoreBounds=True)
            self._now_lines.append(now_line)
            for key in keys:
                self._row_of[key] = row
            self._add_series(plot, keys)
        self._nibp_bars = pg.PlotCurveItem(pen=pg.mkPen(vital_colour("sbp"), width=2),
                                           connect="pairs", antialias=False)
        self.plots[0].addItem(self._nibp_bars)
        self._nibp_points = pg.ScatterPlotItem(size=11, pen=None, antialias=False)
        self.plots[0].addItem(self._nibp_points)
        self.ci.layout.setRowStretchFactor(0, 2)

    def _add_series(self, plot: pg.PlotItem, keys: tuple[str, ...]) -> None:
        for key in keys:
            if key in ("sbp", "dbp", "map"):
                continue  # NIBP readings are drawn as bars and markers
            self.lines[key] = TrendLine(plot, key, self.cached)

    def link_x(self, plot: pg.PlotItem) -> None:
        """Shares this trend's time axis with another plot (the timeline under it)."""
        plot.setXLink(self.plots[0])

    # -- view control ------------------------------------------------------------------

    def start(self) -> None:
        self.live = True
        self.refresh(force=True)
        self.timer.start()

    def stop(self) -> None:
        self.live = False
        self.timer.stop()

    def set_follow(self, follow: bool) -> None:
        if follow != self.follow:
            self.follow = follow
            self.followChanged.emit(follow)
        if follow:
            self._apply_follow()

    def zoom(self, steps: int) -> None:
        """Steps through the window lengths: +1 shows more time, -1 less."""
        i = min(range(len(WINDOWS_MIN)), key=lambda k: abs(WINDOWS_MIN[k] - self.window_min))
        self.window_min = WINDOWS_MIN[max(0, min(len(WINDOWS_MIN) - 1, i + steps))]
        if self.follow:
            self._apply_follow()
        else:
            lo, hi = self.x_range()
            mid = (lo + hi) / 2
            self._set_x(mid - self.window_min * 30, mid + self.window_min * 30)

    def x_range(self) -> tuple[float, float]:
        lo, hi = self.plots[0].getViewBox().viewRange()[0]
        return float(lo), float(hi)

    def _set_x(self, lo: float, hi: float) -> None:
        self._setting_range = True
        try:
            self.plots[0].setXRange(lo, hi, padding=0)
        finally:
            self._setting_range = False

    def _apply_follow(self) -> None:
        """Keeps now near the right edge. The range moves in steps of ~4 % of the window
        rather than every second: each move repaints every item of the plot."""
        now = self._now_s()
        span = self.window_min * 60.0
        lo, hi = self.x_range()
        if abs((hi - lo) - span) < 1e-6 * span and hi - span * 0.06 <= now <= hi - span * 0.01:
            return
        lo = max(-span * 0.02, now + span * 0.05 - span)  # early on: the session start at left
        self._set_x(lo, lo + span)

    def _on_manual_range(self, *_args: object) -> None:
        if not self._setting_range and self.follow:
            self.follow = False
            self.followChanged.emit(False)

    # -- drawing -----------------------------------------------------------------------

    def refresh(self, force: bool = False) -> None:
        now = self._now_s()
        s_per_px = self._seconds_per_pixel()
        # The now line moves when it would move a pixel: each move repaints what it crosses.
        if (not self.cached or force or s_per_px is None
                or abs(now - self._now_lines[0].value()) >= s_per_px):
            for line in self._now_lines:
                line.setValue(now)
        if self.follow:
            self._apply_follow()
        self._draw_phases(now)  # also on zooming: a name is shown only where it fits
        revision = self.trends.revision
        if revision == self._drawn_revision and not force:
            return
        self._drawn_revision = revision
        for key, line in self.lines.items():
            line.set_series(*self.trends.series(key))
        self._draw_nibp()
        self._draw_episodes(now)
        self._draw_limits()

    def _draw_nibp(self) -> None:
        ts, sys_ = self.trends.series("sbp")
        td, dia = self.trends.series("dbp")
        tm, mean = self.trends.series("map")
        counts = (len(ts), len(td), len(tm))
        if counts == self._nibp_counts:
            return  # readings arrive every few minutes: rebuild the markers only then
        self._nibp_counts = counts
        if len(ts) and len(ts) == len(td) and np.array_equal(ts, td):
            x = np.repeat(ts, 2)
            y = np.empty(2 * len(ts))
            y[0::2], y[1::2] = sys_, dia
            self._nibp_bars.setData(x, y)
        spots = []
        nibp = vital_colour("sbp")
        for t, v in zip(ts, sys_, strict=True):
            spots.append({"pos": (t, v), "symbol": "t1", "brush": nibp})
        for t, v in zip(td, dia, strict=True):
            spots.append({"pos": (t, v), "symbol": "t", "brush": nibp})
        for t, v in zip(tm, mean, strict=True):
            spots.append({"pos": (t, v), "symbol": "o", "brush": QColor(nibp).darker(130),
                          "size": 8})
        self._nibp_points.setData(spots)

    def _sync_regions(self, items: list[pg.LinearRegionItem], plot: pg.PlotItem,
                      spans: list[tuple[float, float, QColor]]) -> None:
        key = [(round(a, 1), round(b, 1), c.rgba()) for a, b, c in spans]
        if self._spans.get(id(items)) == key:
            return  # unchanged: touching a region repaints the plot
        self._spans[id(items)] = key
        while len(items) < len(spans):
            region = pg.LinearRegionItem(movable=False, pen=pg.mkPen(None))
            region.setZValue(-10)
            plot.addItem(region, ignoreBounds=True)
            items.append(region)
        for region, (a, b, colour) in zip(items, spans, strict=False):
            region.setRegion((a, b))
            region.setBrush(pg.mkBrush(colour))
            region.show()
        for region in items[len(spans):]:
            region.hide()

    def _draw_phases(self, now: float) -> None:
        """The running phase extends to the right edge: it does not end at 'now'. (The
        session model ends the last phase at the `now` it is given; while the session runs,
        that band would grow, and repaint whole rows, every second.)"""
        def band_end(ph: Phase) -> float:
            running = ph.end_s is None or (self.cached and self.live and ph.end_s == now)
            return SESSION_MAX_S if running or ph.end_s is None else ph.end_s

        phases = [(ph.name, ph.start_s, band_end(ph)) for ph in self.trends.phases(now)]
        phases = [p for p in phases if p[2] > p[1]]
        s_per_px = self._seconds_per_pixel()
        if (phases, s_per_px) == self._phases_drawn:
            return
        self._phases_drawn = (phases, s_per_px)
        spans = [(a, b, PHASE_COLOURS.get(name, QColor(128, 128, 128, 30)))
                 for name, a, b in phases]
        for row, plot in enumerate(self.plots):
            self._sync_regions(self._phase_items[row], plot, spans)
        while len(self._phase_labels) < len(phases):
            label = pg.TextItem("", color=TEXT_DIM, anchor=(0, 1))
            label.setFont(text_font(14))
            self.plots[-1].addItem(label, ignoreBounds=True)
            self._phase_labels.append(label)
        metrics = QFontMetricsF(text_font(14))
        for label, (name, start, end) in zip(self._phase_labels, phases, strict=False):
            text = name.upper()
            label.setText(text)
            label.setPos(start + 20, 0.5)
            # A band too narrow for its name (a short baseline) shows none: names never
            # print over each other.
            label.setVisible(s_per_px is None or
                             (end - start) / s_per_px >= metrics.horizontalAdvance(text) + 24)
        for label in self._phase_labels[len(phases):]:
            label.hide()

    def _seconds_per_pixel(self) -> float | None:
        """The trend's x scale now (rounded, so that redraws follow zooming, not jitter);
        None before the view has a size."""
        w = self.plots[-1].getViewBox().width()
        if w <= 1:
            return None
        lo, hi = self.plots[-1].getViewBox().viewRange()[0]
        return round((hi - lo) / w, 2)

    def _draw_episodes(self, now: float) -> None:
        """Each episode shades only the rows of the vitals it concerns; where episodes
        overlap, the highest priority is drawn."""
        per_row: list[list[tuple[float, float, Priority]]] = [[] for _ in self.plots]
        for ep in self.trends.episodes():
            start = ep.onset_t_s
            end = ep.end_t_s if ep.end_t_s is not None else now
            keys = {VITALS[k].trend_vital for k in self.trends.episode_vitals(ep)
                    if k in VITALS}
            for r in sorted({self._row_of[k] for k in keys if k in self._row_of}):
                per_row[r].append((start, max(end, start + 1), ep.highest))
        for row, plot in enumerate(self.plots):
            spans = []
            for a, b, priority in top_priority_spans(per_row[row]):
                colour = QColor(ALARM_COLOURS[priority])
                colour.setAlpha(70 if priority is Priority.HIGH else 55)
                spans.append((a, b, colour))
            self._sync_regions(self._episode_items[row], plot, spans)

    def _draw_limits(self) -> None:
        """Dotted lines at the limits in force, in the vital's colour."""
        for key in ("hr", "sbp", "dbp", "spo2", "rr"):
            lim = self.limits.limits_for(key) if self.limits is not None else None
            for side in (0, 1):
                value = lim[side] if lim is not None else None
                line = self._limit_lines.get((key, side))
                if value is None:
                    if line is not None:
                        line.hide()
                    continue
                if line is None:
                    line = pg.InfiniteLine(angle=0, movable=False,
                                           pen=pg.mkPen(vital_colour(key), width=1,
                                                        style=pg.QtCore.Qt.PenStyle.DotLine))
                    self.plots[self._row_of[key]].addItem(line, ignoreBounds=True)
                    self._limit_lines[(key, side)] = line
                line.setValue(value)
                line.show()
