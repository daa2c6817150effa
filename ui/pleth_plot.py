"""The pleth as it was drawn before the backing image (ui/pleth.py): a pyqtgraph plot of
`SEGMENTS` curves whose changed ones get new data each frame. Kept only as the baseline the
dashboard benchmark measures the new view against (tests/bench/test_bench_ui.py); the
dashboard never shows it otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QWidget

from monitor.buffers import PlethRing
from ui.pleth import SWEEP_S, SweepLogic, frame_timer
from ui.theme import BACKGROUND, TEXT_DIM, text_font, vital_colour

SEGMENTS = 6


class PlotPlethView(pg.PlotWidget, SweepLogic):
    def __init__(self, ring: PlethRing, now_s: Callable[[], float], rate_hz: float = 100.0,
                 parent: QWidget | None = None) -> None:
        pg.PlotWidget.__init__(self, parent=parent, background=BACKGROUND)
        self._init_sweep(ring, now_s, rate_hz, draw=self._draw,
                         show_no_signal=self._show_no_signal,
                         hide_no_signal=self._hide_no_signal)
        colour = vital_colour("pleth")
        self.segments = [pg.PlotCurveItem(pen=pg.mkPen(colour, width=2), connect="finite",
                                          antialias=False) for _ in range(SEGMENTS)]
        for seg in self.segments:
            self.addItem(seg)
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
        self.timer = frame_timer(self, self.refresh)

    def paintEvent(self, event: QPaintEvent) -> None:
        started = time.thread_time()
        super().paintEvent(event)
        self.paint_s += time.thread_time() - started

    def _show_no_signal(self) -> None:
        for seg in self.segments:
            seg.setData([], [])
        lo, hi = self.y_range()
        self.no_signal.setPos(SWEEP_S / 2, (lo + hi) / 2)
        self.no_signal.show()

    def _hide_no_signal(self) -> None:
        self.no_signal.hide()

    def _draw(self, y: np.ndarray, changed: list[tuple[int, int]] | None) -> None:
        """Sets the data of the segments whose slots changed since the last frame."""
        self.getPlotItem().setYRange(*self.y_range(), padding=0)
        n = len(y)
        bounds = np.linspace(0, n, SEGMENTS + 1).astype(int)
        if changed is None:
            dirty = set(range(SEGMENTS))
        else:
            slots = np.concatenate([np.arange(a - 1, b + 2) for a, b in changed]) % n
            dirty = set(np.searchsorted(bounds, slots, side="right") - 1)
            dirty |= {k - 1 for k in dirty if k > 0 and bounds[k] in slots}
        x = np.arange(n, dtype=np.float64) / self._rate
        for k in sorted(dirty):
            a, b = bounds[k], min(n, bounds[k + 1] + 1)  # one slot of overlap joins them
            self.segments[k].setData(x[a:b], y[a:b])
