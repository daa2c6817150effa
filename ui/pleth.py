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
        self.curve = pg.PlotCurveItem(pen=pg.mkPen(colour, width=2), connect="finite",
                                      antialias=False)
        self.addItem(self.curve)
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
        _values, written, rate, last_t = self.ring.read(1)
        if rate and rate != self._rate:
            self._rate = rate
            self._width = int(SWEEP_S * rate)
            self._x = np.arange(self._width, dtype=np.float64) / rate
            self._drawn_index = -1
        signal = last_t is not None and self._now_s() - last_t <= NO_SIGNAL_AFTER_S
        if not signal:
            if self.showing_signal or self._drawn_index == -1:
                self.curve.setData([], [])
                lo, hi = self._y_range or (0.0, 1.0)
                self.no_signal.setPos(SWEEP_S / 2, (lo + hi) / 2)
                self.no_signal.show()
                self.showing_signal = False
                self._drawn_index = written
            return
        if written == self._drawn_index and self.showing_signal:
            return  # nothing new since the last frame
        y, _head = self.ring.sweep(self._width, int(GAP_S * self._rate))
        self._autoscale(y)
        self.curve.setData(self._x, y)
        self.frames += 1
        self._drawn_index = written
        if not self.showing_signal:
            self.no_signal.hide()
            self.showing_signal = True

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
