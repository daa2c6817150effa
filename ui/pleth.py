"""The sweeping pleth: pulled from the Qt-free ring at ~30 fps, drawn like a bedside monitor.

A fixed x axis of `SWEEP_S` seconds; the write head moves left to right and overwrites the
previous sweep, with a short NaN gap ahead of it (`connect='finite'`). The y range follows
the signal's amplitude (auto gain) in steps, so it does not breathe every frame.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from monitor.buffers import PlethRing
from ui.theme import BACKGROUND, TEXT_DIM, text_font, vital_colour

SWEEP_S = 6.0
GAP_S = 0.25
FRAME_MS = 33  # ~30 fps
NO_SIGNAL_AFTER_S = 1.0  # no samples for this long: the trace is cleared
DELAY_S = 0.05  # the head trails the newest sample time by this much
SEGMENTS = 6


class PlethView(pg.PlotWidget):
    def __init__(self, ring: PlethRing, now_s: Callable[[], float], rate_hz: float = 100.0,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background=BACKGROUND)
        self.ring = ring
        self._now_s = now_s
        self._rate = rate_hz
        self._width = int(SWEEP_S * rate_hz)
        self._x = np.arange(self._width, dtype=np.float64) / rate_hz
        self._drawn_index = -1
        self._y_range: tuple[float, float] | None = None
        self.frames = 0  # setData calls, for the benchmark
        self.showing_signal = False
        colour = vital_colour("pleth")
        # The sweep is drawn as SEGMENTS curves side by side: a frame changes only the one or
        # two segments around the head, so only their strip of the view is repainted.
        self.segments = [pg.PlotCurveItem(pen=pg.mkPen(colour, width=2), connect="finite",
                                          antialias=False) for _ in range(SEGMENTS)]
        for seg in self.segments:
            self.addItem(seg)
        self._drawn_y: np.ndarray | None = None
        item = self.getPlotItem()
        item.hideAxis("left")
        item.hideAxis("bottom")
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setMouseEnabled(x=False, y=False)
        item.setXRange(0, SWEEP_S, padding=0)
        item.setYRange(0, 1, padding=0.05)
        item.getViewBox().disableAutoRange()
        self.label = pg.TextItem("Pleth", color=colour, anchor=(0, 0))
        self.label.setFont(text_font(20, bold=True))
        self.label.setParentItem(item.getViewBox())
        self.label.setPos(6, 2)
        self.no_signal = pg.TextItem("no pleth signal", color=TEXT_DIM, anchor=(0.5, 0.5))
        self.no_signal.setFont(text_font(28, bold=True))
        self.addItem(self.no_signal, ignoreBounds=True)
        self.no_signal.hide()
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.refresh)

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def refresh(self) -> None:
        written, rate, last_t = self.ring.status()
        if rate and rate != self._rate:
            self._rate = rate
            self._width = int(SWEEP_S * rate)
            self._x = np.arange(self._width, dtype=np.float64) / rate
            self._drawn_index = -1
            self._drawn_y = None
        now = self._now_s()
        if last_t is None or now - last_t > NO_SIGNAL_AFTER_S:
            if self.showing_signal or self._drawn_index == -1:
                for seg in self.segments:
                    seg.setData([], [])
                self._drawn_y = None
                lo, hi = self._y_range or (0.0, 1.0)
                self.no_signal.setPos(SWEEP_S / 2, (lo + hi) / 2)
                self.no_signal.show()
                self.showing_signal = False
                self._drawn_index = written
            return
        # Samples arrive in chunks (0.1 s from the simulator); the head advances smoothly by
        # drawing only up to `now - DELAY_S`, so every frame moves it a little.
        hold = int(max(0.0, (last_t - (now - DELAY_S)) * self._rate))
        upto = max(0, written - min(hold, written))
        if upto == self._drawn_index and self.showing_signal:
            return  # nothing new since the last frame
        y, _head = self.ring.sweep(self._width, int(GAP_S * self._rate), upto)
        self._autoscale(y)
        self._draw(y, upto)
        self.frames += 1
        self._drawn_index = upto
        if not self.showing_signal:
            self.no_signal.hide()
            self.showing_signal = True

    def sweep_data(self) -> np.ndarray:
        """The y values drawn now, one per slot (NaN where nothing is drawn)."""
        if self._drawn_y is None:
            return np.full(self._width, np.nan)
        return self._drawn_y.copy()

    def _draw(self, y: np.ndarray, upto: int) -> None:
        """Sets the data of the segments whose slots changed since the last frame: the new
        samples and the gap that moved ahead of them."""
        n = len(y)
        bounds = np.linspace(0, n, SEGMENTS + 1).astype(int)
        prev = self._drawn_index
        if self._drawn_y is None or len(self._drawn_y) != n or prev < 0 or upto - prev >= n:
            dirty = set(range(SEGMENTS))
        else:
            gap = int(GAP_S * self._rate)
            slots = np.arange(prev - 1, upto + gap + 1) % n  # -1/+1: the overlapping slots
            dirty = set(np.searchsorted(bounds, slots, side="right") - 1)
            dirty |= {k - 1 for k in dirty if k > 0 and bounds[k] in slots}
        for k in sorted(dirty):
            a, b = bounds[k], min(n, bounds[k + 1] + 1)  # one slot of overlap joins them
            self.segments[k].setData(self._x[a:b], y[a:b])
        self._drawn_y = y

    def _autoscale(self, y: np.ndarray) -> None:
        finite = y[np.isfinite(y)]
        if finite.size < 2:
            return
        lo, hi = float(finite.min()), float(finite.max())
        span = max(hi - lo, 1e-6)
        if self._y_range is not None:
            cur_lo, cur_hi = self._y_range
            cur_span = cur_hi - cur_lo
            inside = lo >= cur_lo and hi <= cur_hi
            if inside and span > 0.6 * cur_span:
                return
        self._y_range = (lo - 0.1 * span, hi + 0.1 * span)
        self.getPlotItem().setYRange(*self._y_range, padding=0)
