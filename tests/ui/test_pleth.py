"""The pleth sweep drawn into a backing image: each frame repaints only its strip, and what
it leaves is what a whole redraw would have drawn."""

from __future__ import annotations

import numpy as np
from test_screenshots import share_of, to_array

from monitor.buffers import PlethRing
from ui.pleth import PlethView
from ui.theme import BACKGROUND, vital_colour


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def shown_view(qtbot, width: int = 1200, height: int = 160) -> tuple[PlethView, PlethRing, Clock]:
    ring, clock = PlethRing(), Clock()
    view = PlethView(ring, clock)
    qtbot.addWidget(view)
    view.resize(width, height)
    view.show()
    qtbot.waitExposed(view)
    return view, ring, clock


def whole_redraw(view: PlethView) -> np.ndarray:
    """The trace drawn again from scratch from what the view says it shows."""
    fresh = PlethView(view.ring, view._now_s)
    fresh.resize(view.size())
    fresh._y_range = view._y_range
    fresh._width = view._width
    fresh._drawn_y = view.sweep_data()
    fresh._render_all()
    return to_array(fresh.pixel_trace())


def test_incremental_frames_leave_what_a_whole_redraw_draws_across_wraps(qtbot):
    view, ring, clock = shown_view(qtbot, 1000)
    rng = np.random.default_rng(5)
    base = np.sin(np.linspace(0, 40, 1000)).astype(np.float32)
    t = 0.0
    for chunk in range(95):  # 9.5 s of 0.1 s chunks: the 6 s sweep wraps
        values = base[(chunk * 10) % 990:][:10] + rng.normal(0, 0.05, 10).astype(np.float32)
        ring.write(values, t, 100.0)
        t += 0.1
        for lag in (0.0, 0.03, 0.06):
            clock.t = t - 0.05 + lag
            view.refresh()
            expected, _head = ring.sweep(600, 25, view._drawn_index)
            assert np.array_equal(view.sweep_data(), expected, equal_nan=True), (chunk, lag)
        if chunk % 7 == 3 or chunk in (59, 60, 61):  # around the wrap, and now and then
            assert np.array_equal(to_array(view.pixel_trace()), whole_redraw(view)), chunk


def test_a_frame_repaints_only_its_strip(qtbot):
    """10 new samples and the gap ahead of them: a strip of ~(10 + 25 + 2) slots of 600,
    not the width of the widget."""
    view, ring, clock = shown_view(qtbot, 1200)
    ring.write(np.sin(np.linspace(0, 6, 200)).astype(np.float32), 0.0, 100.0)
    clock.t = 2.1
    view.refresh()  # the first frame draws everything
    before = view.repainted_px
    ring.write(np.sin(np.linspace(6, 6.3, 10)).astype(np.float32), 2.0, 100.0)
    clock.t = 2.2
    view.refresh()
    strip = view.repainted_px - before
    assert 0 < strip < 1200 * 45 / 600 + 20, strip


def test_the_trace_is_where_its_samples_are(qtbot):
    """A square wave: the high half-second at the top of the view, the low one at the
    bottom, in the pleth colour, and the slots after the head empty."""
    view, ring, clock = shown_view(qtbot, 1200, 200)
    wave = np.repeat(np.tile([0.0, 1.0], 4), 50).astype(np.float32)  # 4 s, 0.5 s levels
    ring.write(wave, 0.0, 100.0)
    clock.t = 4.1
    view.refresh()
    shot = to_array(view.grab().toImage())
    lo, hi = view.y_range()
    colour = vital_colour("pleth")
    top, bottom = round(view.y_px(1.0)), round(view.y_px(0.0))
    assert 0 < top < bottom < 200 and (lo, hi) == (-0.1, 1.1)
    x_high = round(view.x_px(75))  # slot 75: 0.75 s, high
    x_low = round(view.x_px(125))  # 1.25 s, low
    assert share_of(shot[top - 1:top + 2, x_high - 3:x_high + 3], colour) > 0.3
    assert share_of(shot[bottom - 1:bottom + 2, x_low - 3:x_low + 3], colour) > 0.3
    assert share_of(shot[top - 1:top + 2, x_low - 3:x_low + 3], colour) == 0
    after = shot[:, round(view.x_px(420)):round(view.x_px(590))]  # after the head at 4 s
    assert share_of(after, colour) == 0 and share_of(after, BACKGROUND, tol=4) > 0.99


def test_a_new_gain_or_size_redraws_the_whole_trace(qtbot):
    view, ring, clock = shown_view(qtbot, 900)
    ring.write(np.sin(np.linspace(0, 12, 200)).astype(np.float32), 0.0, 100.0)
    clock.t = 2.1
    view.refresh()
    small = view.y_range()
    ring.write(10 * np.sin(np.linspace(12, 13, 10)).astype(np.float32), 2.0, 100.0)
    clock.t = 2.2
    view.refresh()
    assert view.y_range() != small
    assert np.array_equal(to_array(view.pixel_trace()), whole_redraw(view))
    view.resize(700, 120)
    qtbot.waitUntil(lambda: view.pixel_trace().width() == 700)
    assert np.array_equal(to_array(view.pixel_trace()), whole_redraw(view))
