"""The sweeping pleth: pulled from the Qt-free ring at ~30 fps, drawn like a bedside monitor.

A fixed x axis of `SWEEP_S` seconds; the write head moves left to right and overwrites the
previous sweep, with a short NaN gap ahead of it. The y range follows the signal's amplitude
(auto gain) in steps, so it does not breathe every frame.

The trace lives in a backing image: a frame clears and redraws only the pixel columns of the
samples that arrived and of the gap that moved ahead of them, and asks Qt to repaint just
that strip (a few px of 1900 at 1x); the whole image is drawn again only when the gain, the
size or the rate changes. `SweepLogic` decides what a frame shows; the former pyqtgraph
view (`ui/pleth_plot.py`) shares it and is kept only as the benchmark's baseline.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QPoint, QPointF, QRect, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QFontMetrics, QImage, QPainter, QPaintEvent, QPen, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from monitor.buffers import PlethRing
from ui.theme import BACKGROUND, TEXT_DIM, text_font, vital_colour

SWEEP_S = 6.0
GAP_S = 0.25
FRAME_MS = 33  # ~30 fps
NO_SIGNAL_AFTER_S = 1.0  # no samples for this long: the trace is cleared
DELAY_S = 0.05  # the head trails the newest sample time by this much
PEN_PX = 2
LABEL_AT = (10, 6)  # the "Pleth" name, top left


def frame_timer(owner: QObject, refresh: Callable[[], None]) -> QTimer:
    timer = QTimer(owner)
    timer.setInterval(FRAME_MS)
    timer.timeout.connect(refresh)
    return timer


Draw = Callable[[np.ndarray, "list[tuple[int, int]] | None"], None]


class SweepLogic:
    """What a frame shows, whatever draws it: the sample index the head is drawn up to, the
    sweep's y values, the auto gain and the no-signal state. The view hands in how it draws
    (`draw(y, changed)`: only the runs of slots in `changed`, or all of it when None) and
    how it shows and hides "no pleth signal"."""

    ring: PlethRing
    _now_s: Callable[[], float]
    timer: QTimer  # frame_timer(), made by the view

    def _init_sweep(self, ring: PlethRing, now_s: Callable[[], float], rate_hz: float, *,
                    draw: Draw, show_no_signal: Callable[[], None],
                    hide_no_signal: Callable[[], None]) -> None:
        self._draw_sweep = draw
        self._show_no_signal_now = show_no_signal
        self._hide_no_signal_now = hide_no_signal
        self.ring = ring
        self._now_s = now_s
        self._rate = rate_hz
        self._width = int(SWEEP_S * rate_hz)
        self._drawn_index = -1
        self._drawn_y: np.ndarray | None = None
        self._y_range: tuple[float, float] | None = None
        self.frames = 0  # frames that drew something, for the benchmark
        self.paint_s = 0.0  # time spent drawing and painting (the benchmark's time per frame)
        self.showing_signal = False

    def refresh(self) -> None:
        written, rate, last_t = self.ring.status()
        if rate and rate != self._rate:
            self._rate = rate
            self._width = int(SWEEP_S * rate)
            self._drawn_index = -1
            self._drawn_y = None
        now = self._now_s()
        if last_t is None or now - last_t > NO_SIGNAL_AFTER_S:
            if self.showing_signal or self._drawn_index == -1:
                self._drawn_y = None
                self._show_no_signal_now()
                self.showing_signal = False
                self._drawn_index = written
            return
        # Samples arrive in chunks (0.1 s from the simulator); the head advances smoothly by
        # drawing only up to `now - DELAY_S`, so every frame moves it a little.
        hold = int(max(0.0, (last_t - (now - DELAY_S)) * self._rate))
        upto = max(0, written - min(hold, written))
        if upto == self._drawn_index and self.showing_signal:
            return  # nothing new since the last frame
        started = time.thread_time()
        y, changed = self._next_sweep(upto)
        rescaled = self._autoscale(y)
        self._draw_sweep(y, None if rescaled else changed)
        self._drawn_y = y
        self._drawn_index = upto
        if not self.showing_signal:
            self._hide_no_signal_now()
            self.showing_signal = True
        self.frames += 1
        self.paint_s += time.thread_time() - started

    def _next_sweep(self, upto: int) -> tuple[np.ndarray, list[tuple[int, int]] | None]:
        """The sweep up to sample `upto`, and the runs of slots (first, last) whose value
        changed since the last frame: the new samples and the slots the gap moved onto (the
        erase bar). None: everything changed. Only the new samples are read."""
        n, gap, prev, y = self._width, int(GAP_S * self._rate), self._drawn_index, self._drawn_y
        if y is None or len(y) != n or prev < 0 or upto < prev or upto - prev >= n - gap:
            return self.ring.sweep(n, gap, upto)[0], None
        new, *_ = self.ring.read(upto - prev, upto)
        y[(prev + np.arange(upto - prev)) % n] = new
        y[(upto + np.arange(gap)) % n] = np.nan
        spans = ([(prev, upto + gap - 1)] if upto - prev > gap else
                 [(prev, upto - 1), (prev + gap, upto + gap - 1)])
        changed: list[tuple[int, int]] = []
        for a, b in spans:
            if b < a:
                continue
            a, b = a % n, b % n
            changed.extend([(a, b)] if a <= b else [(a, n - 1), (0, b)])
        return y, changed

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def sweep_data(self) -> np.ndarray:
        """The y values drawn now, one per slot (NaN where nothing is drawn)."""
        if self._drawn_y is None:
            return np.full(self._width, np.nan)
        return self._drawn_y.copy()

    def y_range(self) -> tuple[float, float]:
        return self._y_range or (0.0, 1.0)

    def _autoscale(self, y: np.ndarray) -> bool:
        """Follows the amplitude in steps; True when the range changed."""
        finite = y[np.isfinite(y)]
        if finite.size < 2:
            return False
        lo, hi = float(finite.min()), float(finite.max())
        span = max(hi - lo, 1e-6)
        if self._y_range is not None:
            cur_lo, cur_hi = self._y_range
            inside = lo >= cur_lo and hi <= cur_hi
            if inside and span > 0.6 * (cur_hi - cur_lo):
                return False
        self._y_range = (lo - 0.1 * span, hi + 0.1 * span)
        return True


class PlethView(QWidget, SweepLogic):
    """The pleth drawn into a backing image, repainting only the strip a frame changed."""

    def __init__(self, ring: PlethRing, now_s: Callable[[], float], rate_hz: float = 100.0,
                 parent: QWidget | None = None) -> None:
        QWidget.__init__(self, parent)
        self._init_sweep(ring, now_s, rate_hz, draw=self._draw,
                         show_no_signal=self._show_no_signal,
                         hide_no_signal=self._hide_no_signal)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.colour = vital_colour("pleth")
        self._pen = QPen(self.colour, PEN_PX)
        self._image = QImage()
        self._label_font = text_font(20, bold=True)
        metrics = QFontMetrics(self._label_font)
        self._label_rect = QRect(LABEL_AT[0], LABEL_AT[1], metrics.horizontalAdvance("Pleth"),
                                 metrics.height())
        self._label_descent = metrics.descent()
        self.repainted_px = 0  # pixel columns asked to repaint, for tests and the bench
        self.no_signal = QLabel("no pleth signal", self)
        self.no_signal.setFont(text_font(28, bold=True))
        self.no_signal.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_signal.setStyleSheet(f"color: {TEXT_DIM.name()}; background: transparent;")
        self.no_signal.hide()
        self.timer = frame_timer(self, self.refresh)

    # -- geometry ----------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(600, 480)  # as the pyqtgraph view it replaces: the layout's stretch rules

    def minimumSizeHint(self) -> QSize:
        return QSize(68, 68)

    def x_px(self, slot: float) -> float:
        """The widget x of a sweep slot (slot 0 at the left edge, the sweep's end at the
        right)."""
        return slot * self.width() / max(1, self._width)

    def y_px(self, value: float) -> float:
        lo, hi = self.y_range()
        return (hi - value) / (hi - lo) * self.height()

    # -- drawing -----------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.no_signal.setGeometry(self.rect())
        self._image = QImage()  # redrawn whole at the next paint
        self._render_all()

    def _new_image(self) -> bool:
        dpr = self.devicePixelRatioF()
        size = self.size() * dpr
        if size.isEmpty():
            self._image = QImage()
            return False
        if self._image.size() != size:
            self._image = QImage(size, QImage.Format.Format_RGB32)
            self._image.setDevicePixelRatio(dpr)
        self._image.fill(BACKGROUND)
        return True

    def _render_all(self) -> None:
        if not self._new_image():
            return
        y = self._drawn_y
        if y is not None:
            painter = QPainter(self._image)
            try:
                self._paint_trace(painter, y, 0, len(y) - 1)
            finally:
                painter.end()
        self.repainted_px += self.width()
        self.update()

    def _draw(self, y: np.ndarray, changed: list[tuple[int, int]] | None) -> None:
        if changed is None or self._image.isNull():
            self._drawn_y = y
            self._render_all()
            return
        painter = QPainter(self._image)
        try:
            reach = 2 + math.ceil(2 * PEN_PX * self._width / max(1, self.width()))
            for first, last in changed:
                # Columns from the line into `first` to the line out of `last`, with the pen's
                # half width; every segment that reaches into them is drawn again.
                x0 = math.floor(self.x_px(first - 1)) - PEN_PX
                x1 = math.ceil(self.x_px(last + 1)) + PEN_PX
                strip = QRect(x0, 0, x1 - x0 + 1, self.height())
                painter.setClipRect(strip)
                painter.fillRect(strip, BACKGROUND)
                self._paint_trace(painter, y, first - reach, last + reach)
                self.repainted_px += strip.width()
                self.update(strip)
        finally:
            painter.end()

    def _paint_trace(self, painter: QPainter, y: np.ndarray, first: int, last: int) -> None:
        """The polyline through slots first..last (clamped to the sweep), broken at NaN."""
        first, last = max(0, first), min(len(y) - 1, last)
        if last <= first:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(self._pen)
        lo, hi = self.y_range()
        sx, sy = self.width() / max(1, self._width), self.height() / (hi - lo)
        line: list[QPointF] = []
        for i, v in enumerate(y[first:last + 1].tolist(), first):
            if v == v:  # not NaN
                line.append(QPointF(i * sx, (hi - v) * sy))
                continue
            if len(line) > 1:
                painter.drawPolyline(line)
            line = []
        if len(line) > 1:
            painter.drawPolyline(line)

    def paintEvent(self, event: QPaintEvent) -> None:
        started = time.thread_time()
        painter = QPainter(self)
        try:
            r = event.rect()
            if self._image.isNull():
                painter.fillRect(r, BACKGROUND)
            else:
                dpr = self._image.devicePixelRatio()
                painter.drawImage(QRectF(r), self._image,
                                  QRectF(r.x() * dpr, r.y() * dpr, r.width() * dpr,
                                         r.height() * dpr))
            if r.intersects(self._label_rect):
                painter.setFont(self._label_font)
                painter.setPen(self.colour)
                painter.drawText(self._label_rect.bottomLeft() - QPoint(0, self._label_descent),
                                 "Pleth")
        finally:
            painter.end()
            self.paint_s += time.thread_time() - started

    def _show_no_signal(self) -> None:
        self._render_all()
        self.no_signal.show()

    def _hide_no_signal(self) -> None:
        self.no_signal.hide()

    def pixel_trace(self) -> QImage:
        """A copy of the backing image (the trace without the label), for tests."""
        return self._image.copy()
