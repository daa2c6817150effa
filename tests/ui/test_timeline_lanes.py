"""The dashboard's timeline shows the lanes in use and no more, collapses to the dose lane,
and gives the height it does not need to the trend above it."""

from __future__ import annotations

from types import MappingProxyType

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from ui_fakes import shown_rig

from monitor.session import EntryKind, TimelineEntry
from ui.dashboard import LANE_PX
from ui.timeline import AXIS_PX, LANES, TimelineView

SEDATION = next(i for i, (_, kinds) in enumerate(LANES) if EntryKind.SEDATION in kinds)


def entry(i: int, kind: str, t_s: float, **data: object) -> TimelineEntry:
    return TimelineEntry(i, kind, t_s, t_s, MappingProxyType(data), "nurse", t_s)


def shown_timeline(qtbot) -> TimelineView:
    tl = TimelineView()
    qtbot.addWidget(tl)
    tl.resize(1200, 300)
    tl.plot.setXRange(0, 3600, padding=0)
    tl.show()
    qtbot.waitExposed(tl)
    tl.fit_lanes(24)
    return tl


def visible_names(tl: TimelineView) -> list[str]:
    return [label.toPlainText() for label in tl.lane_labels if label.isVisible()]


def test_only_the_dose_lane_and_the_lanes_in_use_are_shown(qtbot):
    tl = shown_timeline(qtbot)
    assert tl.lanes_shown == (0,) and visible_names(tl) == ["Dose"]
    assert tl.height() == 24 + AXIS_PX
    tl.set_entries([entry(1, EntryKind.DOSE_START, 600.0),
                    entry(2, EntryKind.SEDATION, 1200.0, scale="moaas", score=4)])
    assert tl.lanes_shown == (0, SEDATION)
    assert visible_names(tl) == ["Dose", "Sedation"]
    assert tl.height() == 2 * 24 + AXIS_PX
    QApplication.processEvents()  # the marks follow the view's new height
    # The sedation mark sits in the second row, under the dose lane.
    mark = next(item for eid, item in tl.marks if eid == 2)
    y = tl.mapFromScene(mark.sceneBoundingRect().center()).y()
    assert abs(y - tl.lane_px(SEDATION)) < 3 and tl.lane_px(0) + 12 < y


def test_collapsed_it_is_the_dose_lane_alone(qtbot):
    tl = shown_timeline(qtbot)
    tl.set_entries([entry(1, EntryKind.DOSE_START, 600.0),
                    entry(2, EntryKind.SEDATION, 1200.0, scale="moaas", score=4)])
    tl.set_collapsed(True)
    assert tl.lanes_shown == (0,) and tl.height() == 24 + AXIS_PX
    assert [eid for eid, _item in tl.marks] == [1]  # the dose start, not the sedation
    assert tl.checkpoint_items  # the BP checkpoints stay on the dose lane
    tl.set_collapsed(False)
    assert tl.lanes_shown == (0, SEDATION) and {eid for eid, _ in tl.marks} == {1, 2}


@pytest.mark.parametrize(("size", "row_px"), [((1920, 1080), 65), ((1366, 768), 38)])
def test_the_trend_takes_the_height_the_timeline_does_not_need(qtbot, tmp_path, size, row_px):
    """With nothing entered yet the trend's rows are ~68 px at 1920x1080 and ~41 px at
    1366x768, not the ~51 and ~21 px they had beside a six-lane timeline (the tiles keep
    their digits: tests/ui/test_dashboard.py); collapsing gives the trend more, and the
    choice is remembered."""
    with shown_rig(qtbot, tmp_path, size=size) as r:
        w = r.window
        rows = [p.getViewBox().height() for p in w.trend.plots]
        assert min(rows) >= row_px, rows
        assert w.entry_panel.timeline.height() == LANE_PX + AXIS_PX
        w.entry_panel.timeline.set_entries([
            entry(i + 1, kind, 600.0 + 60 * i) for i, (_, (kind, *_rest)) in enumerate(LANES)])
        tall = 6 * LANE_PX + AXIS_PX
        qtbot.waitUntil(lambda: w.entry_panel.timeline.height() == tall
                        and w.entry_panel.height() > tall)  # laid out with its lanes
        full = w.trend.height()
        w.timeline_button.click()
        assert not w.timeline_button.isChecked()
        qtbot.waitUntil(lambda: w.trend.height() >= full + 2 * LANE_PX)  # of 5 lanes freed
        w.save_layout()
        settings = QSettings(str(r.settings_path), QSettings.Format.IniFormat)
        assert settings.value("timeline/collapsed", type=bool) is True
