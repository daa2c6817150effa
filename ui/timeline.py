"""The dissociation timeline: what was given, observed and done, on the trend's time axis.

Lanes, top to bottom: dose (start, stop, the dosing band), dissociation (0-4 level, CADSS-6
total), sedation (MOAA/S, RASS), side effects, interventions, notes. Over them the REMS
checkpoints: the pre-dose BP (at the dose start, ticked when a reading came before it),
the ~40 min BP window (the preset's BP check, so route-aware; ticked when a reading fell in
it) and the 2 h minimum. The bottom axis counts from the dose ("+0:40"), because that is
what the protocol times are measured from; the trend above shows session time.

On the dashboard (`fit_lanes`) only the dose lane and the lanes holding an entry are drawn,
and the widget is as high as they need, so the trend above gets the rest; collapsed, it is
the dose lane alone. The session browser shows all six.

The widget holds no recorder: it draws the entries it is given (a tuple of
`monitor.session.TimelineEntry`), so the session browser shows a stored session with it
read-only, and the dashboard feeds it from the store when a mark arrives. It redraws only
when what it is given changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRect, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from alarms.presets import preset as alarm_preset
from monitor.entry_catalog import mark_text
from monitor.quick_entry import Pending
from monitor.session import EntryKind, Phase, Session, TimelineEntry
from ui.readouts import clock_text
from ui.theme import BACKGROUND, BORDER, TEXT, TEXT_DIM, text_font
from ui.trend import SESSION_MAX_S, SessionTimeAxis

LANES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Dose", (EntryKind.DOSE_START, EntryKind.DOSE_STOP)),
    ("Dissociation", (EntryKind.DISSOCIATION,)),
    ("Sedation", (EntryKind.SEDATION,)),
    ("Side effects", (EntryKind.SIDE_EFFECT,)),
    ("Interventions", (EntryKind.INTERVENTION,)),
    ("Notes", (EntryKind.NOTE, EntryKind.EVENT, EntryKind.BASELINE, EntryKind.DISCHARGE)),
)
LANE_OF: dict[str, int] = {kind: i for i, (_, kinds) in enumerate(LANES) for kind in kinds}
# Lane colours: clear of the alarm colours (red, yellow, cyan) and of the vitals' own.
LANE_COLOURS: tuple[QColor, ...] = (
    QColor("#9575cd"), QColor("#f06292"), QColor("#7986cb"), QColor("#ff8a65"),
    QColor("#aed581"), QColor("#b0bec5"))
CHECKPOINT = QColor("#cfd8dc")
MISSING = QColor("#ff8a65")  # a checkpoint without its reading (advisory, not an alarm)
LANE_NAMES_PX = 112  # the timeline's: its lane names ("Interventions", 13 px bold)
AXIS_PX = 34  # the since-dose axis under the lanes (15 px labels)
DOSE_LANE = LANE_OF[EntryKind.DOSE_START]


@dataclass(frozen=True, slots=True)
class Checkpoints:
    """When the REMS checks fall, from the dose start (the alarm preset's BP check)."""

    bp_after_dose_s: float = 40 * 60.0
    bp_window_s: float = 5 * 60.0
    min_monitoring_s: float = 2 * 3600.0
    min_required: bool = False  # the preset requires the minimum (Spravato REMS)


def checkpoints_for_preset(name: str | None) -> Checkpoints:
    p = alarm_preset(name)
    bp = p.bp_check
    mm = p.min_monitoring
    return Checkpoints(
        bp.after_dose_s if bp is not None else 40 * 60.0,
        bp.window_s if bp is not None else 5 * 60.0,
        mm.min_s if mm is not None else 2 * 3600.0, mm is not None)


def _screen_rect(vb: pg.ViewBox) -> QRect | None:
    view = vb.getViewWidget()
    if view is None:
        return None
    rect = view.mapFromScene(vb.sceneBoundingRect()).boundingRect()
    return rect.translated(view.mapToGlobal(QPoint(0, 0)))


class AlignedViewBox(pg.ViewBox):
    """Follows a linked view's x range pixel for pixel. pyqtgraph's own alignment adds the
    view widget's position in its parent twice (`mapToGlobal(v.pos())`), which put the
    timeline 10 px off the trend when they sit in different parent widgets."""

    def linkedViewChanged(self, view: pg.ViewBox | None, axis: int) -> None:
        if axis != pg.ViewBox.XAxis or view is None:
            super().linkedViewChanged(view, axis)
            return
        lo, hi = view.viewRange()[0]
        vg, sg = _screen_rect(view), _screen_rect(self)
        if vg is None or sg is None or vg.width() <= 0:
            x1, x2 = lo, hi
        else:
            upp = (hi - lo) / vg.width()
            x1 = lo + (sg.x() - vg.x()) * upp
            x2 = x1 + sg.width() * upp
        view.blockLink(True)
        try:
            self.setXRange(x1, x2, padding=0)
        finally:
            view.blockLink(False)


class DoseTimeAxis(SessionTimeAxis):
    """Ticks at whole minutes from the dose start, labelled +h:mm (session time before a
    dose is given)."""

    dose_s: float | None = None

    def tickSpacing(self, minVal: float, maxVal: float, size: float
                    ) -> list[tuple[float, float]]:
        levels = super().tickSpacing(minVal, maxVal, size)
        offset = self.dose_s or 0.0
        return [(spacing, offset % spacing) for spacing, _ in levels]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if self.dose_s is None:
            return super().tickStrings(values, scale, spacing)
        out = []
        for v in values:
            m = round((v - self.dose_s) / 60)
            out.append("dose" if m == 0 else
                       f"{'+' if m > 0 else chr(0x2212)}{abs(m) // 60}:{abs(m) % 60:02d}")
        return out


def dose_span(entries: Iterable[TimelineEntry], phases: Sequence[Phase]
              ) -> tuple[float | None, float | None]:
    """(dose start, dose end) from the entries, else from the phases' dosing band."""
    starts = [e.t_s for e in entries if e.kind == EntryKind.DOSE_START]
    if not starts:
        return None, None
    dose = min(starts)
    band = next((p for p in phases if p.name == "dosing"), None)
    if band is not None and band.end_s is not None:
        return dose, band.end_s
    stops = [e.t_s for e in entries if e.kind == EntryKind.DOSE_STOP and e.t_s >= dose]
    return dose, (min(stops) if stops else None)


class TimelineView(pg.GraphicsLayoutWidget):
    entryClicked = Signal(int)  # the id of the entry tapped or clicked

    def __init__(self, entries: Sequence[TimelineEntry] = (), *,
                 phases: Sequence[Phase] = (), checkpoints: Checkpoints = Checkpoints(),
                 nibp_times: Iterable[float] = (), now_s: float | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setBackground(BACKGROUND)
        self.entries: tuple[TimelineEntry, ...] = tuple(entries)
        self.phases: tuple[Phase, ...] = tuple(phases)
        self.checkpoints = checkpoints
        self.nibp_times: tuple[float, ...] = tuple(nibp_times)
        self.now_s = now_s
        self.pending: Pending | None = None
        # The lanes drawn, top to bottom (indices into LANES). With `fit_lanes` set (the
        # dashboard) only the dose lane and those holding an entry, and the widget's height
        # fits them; collapsed, the dose lane alone. Otherwise (the browser) all of them.
        self.lanes_shown: tuple[int, ...] = tuple(range(len(LANES)))
        self.lane_height_px: int | None = None  # fit_lanes: the height of a lane
        self.collapsed = False
        self._separators: list[pg.InfiniteLine] = []
        self._drawn: object = None
        self._items: list[pg.GraphicsObject] = []
        self.marks: list[tuple[int, pg.TextItem]] = []  # (entry id, its item)
        self.checkpoint_items: dict[str, pg.GraphicsObject] = {}
        self._start_item: pg.TextItem | None = None  # the START mark of the dose
        self._build()
        self.redraw()

    @classmethod
    def from_session(cls, session: Session, nibp_times: Iterable[float] = (),
                     parent: QWidget | None = None) -> TimelineView:
        """A stored session, read-only, showing all of it."""
        view = cls(session.entries, phases=session.phases(),
                   checkpoints=checkpoints_for_preset(session.preset),
                   nibp_times=nibp_times, parent=parent)
        end = session.duration_s or max([e.t_s for e in session.entries] + [600.0])
        view.plot.setXRange(-60, end + 60, padding=0)
        return view

    # -- construction ------------------------------------------------------------------

    def _build(self) -> None:
        self.ci.setSpacing(0)
        self.axis = DoseTimeAxis(orientation="bottom")
        plot: pg.PlotItem = self.ci.addPlot(row=0, col=0, axisItems={"bottom": self.axis},
                                            viewBox=AlignedViewBox())
        self.plot = plot
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)  # the trend above pans and zooms both
        vb = plot.getViewBox()
        vb.disableAutoRange()
        vb.invertY(True)
        plot.setLimits(xMin=-600, xMax=SESSION_MAX_S + 600)
        plot.setXRange(-60, 3600, padding=0)
        for side in ("left", "bottom"):
            ax = plot.getAxis(side)
            ax.setPen(pg.mkPen(BORDER))
            ax.setTextPen(pg.mkPen(TEXT_DIM))
            ax.setStyle(tickFont=text_font(15))
        left = plot.getAxis("left")
        # The lane names have their own column, left of the data: a mark never runs under
        # one. The x axis still lines up with the trend's pixel for pixel (AlignedViewBox).
        left.setWidth(LANE_NAMES_PX)
        plot.showGrid(x=False, y=False)
        self.lane_labels: list[pg.TextItem] = []
        for i, (name, _) in enumerate(LANES):
            label = pg.TextItem(name, color=LANE_COLOURS[i], anchor=(0, 0.5))
            label.setFont(text_font(13, bold=True))
            label.setParentItem(left)
            label.setZValue(20)
            self.lane_labels.append(label)
        vb.sigResized.connect(self._place_lane_labels)
        self.now_line = pg.InfiniteLine(angle=90, movable=False,
                                        pen=pg.mkPen(TEXT_DIM, width=1,
                                                     style=Qt.PenStyle.DashLine))
        plot.addItem(self.now_line, ignoreBounds=True)
        self.since_label = pg.TextItem("", color=TEXT, anchor=(1, 0.5))
        self.since_label.setFont(text_font(15, bold=True))
        plot.addItem(self.since_label, ignoreBounds=True)
        self.scene().sigMouseClicked.connect(self._on_click)
        self._layout_lanes()

    def _place_lane_labels(self, *_args: object) -> None:
        h = self.plot.getViewBox().height()
        top = self.plot.getViewBox().mapToItem(self.plot.getAxis("left"), QPointF(0, 0)).y()
        shown = self.lanes_shown
        for i, label in enumerate(self.lane_labels):
            if i in shown:
                label.setPos(0, top + h * (shown.index(i) + 0.5) / len(shown))
            label.setVisible(i in shown)

    # -- lanes ---------------------------------------------------------------------------

    def fit_lanes(self, lane_height_px: int) -> None:
        """Shows only the lanes in use, each `lane_height_px` high, and fits the widget's
        height to them: the trend above gets the rest (the dashboard)."""
        self.lane_height_px = lane_height_px
        self.redraw(force=True)

    def set_collapsed(self, collapsed: bool) -> None:
        """Collapsed: the dose lane alone (the dose, the BP checkpoints, time since dose)."""
        self.collapsed = collapsed
        self.redraw(force=True)

    def row_of(self, lane: int) -> int | None:
        """Where lane `lane` (an index into LANES) is drawn, top to bottom; None if not."""
        return self.lanes_shown.index(lane) if lane in self.lanes_shown else None

    def _lanes_wanted(self) -> tuple[int, ...]:
        if self.collapsed:
            return (DOSE_LANE,)
        if self.lane_height_px is None:
            return tuple(range(len(LANES)))
        kinds = [e.kind for e in self.entries]
        if self.pending is not None:
            kinds.append(self.pending.kind)
        used = {DOSE_LANE} | {LANE_OF.get(k, len(LANES) - 1) for k in kinds}
        return tuple(sorted(used))

    def _layout_lanes(self) -> None:
        shown = self.lanes_shown
        plot = self.plot
        plot.setYRange(-0.5, len(shown) - 0.5, padding=0)
        plot.getAxis("left").setTicks([[(float(i), "") for i in range(len(shown))]])
        for sep in self._separators:
            plot.removeItem(sep)
        self._separators = []
        for i in range(len(shown) - 1):  # thin separators between lanes
            sep = pg.InfiniteLine(i + 0.5, angle=0, movable=False, pen=pg.mkPen(BORDER))
            plot.addItem(sep, ignoreBounds=True)
            self._separators.append(sep)
        if self.lane_height_px is not None:
            self.setFixedHeight(len(shown) * self.lane_height_px + AXIS_PX)
        self._place_lane_labels()

    # -- what it shows ------------------------------------------------------------------

    def set_entries(self, entries: Sequence[TimelineEntry]) -> None:
        self.entries = tuple(entries)
        self.redraw()

    def set_phases(self, phases: Sequence[Phase]) -> None:
        self.phases = tuple(phases)
        self.redraw()

    def set_nibp_times(self, times: Sequence[float]) -> None:
        self.nibp_times = tuple(float(t) for t in times)
        self.redraw()

    def set_pending(self, pending: Pending | None) -> None:
        self.pending = pending
        self.redraw()

    def set_now(self, now_s: float | None) -> None:
        """Moves the now line and the time-since-dose label (cheap: no redraw)."""
        self.now_s = now_s
        dose, _ = dose_span(self.entries, self.phases)
        if now_s is None:
            self.now_line.hide()
            self.since_label.hide()
            return
        self.now_line.setValue(now_s)
        self.now_line.show()
        text = "no dose yet" if dose is None else f"dose +{clock_text(now_s - dose)}"
        if self.since_label.textItem.toPlainText() != f"{text} ":
            self.since_label.setText(f"{text} ")
        self.since_label.setPos(now_s, self.row_of(DOSE_LANE) or 0)
        self.since_label.setAnchor((1, 0.5) if self._since_fits_left(now_s) else (0, 0.5))
        self.since_label.show()

    def _since_fits_left(self, now_s: float) -> bool:
        """Whether the time-since-dose label, drawn left of the now line, clears the START
        mark; just after the dose it goes right of the line instead, never over START."""
        if self._start_item is None:
            return True
        vb = self.plot.getViewBox()
        now_x = vb.mapViewToScene(QPointF(now_s, 0)).x()
        width = self.since_label.textItem.boundingRect().width()
        return now_x - width >= self._start_item.sceneBoundingRect().right()

    def entry_at(self, entry_id: int) -> TimelineEntry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    # -- drawing -----------------------------------------------------------------------

    def _key(self) -> object:
        return (self.entries, self.phases, self.checkpoints, self.nibp_times, self.pending,
                self.collapsed, self.lane_height_px)

    def redraw(self, force: bool = False) -> bool:
        """Rebuilds the marks when what is shown changed; True if it did."""
        key = self._key()
        if key == self._drawn and not force:
            return False
        self._drawn = key
        lanes = self._lanes_wanted()
        if lanes != self.lanes_shown:
            self.lanes_shown = lanes
            self._layout_lanes()
        for item in self._items:
            self.plot.removeItem(item)
        self._items = []
        self.marks = []
        self.checkpoint_items = {}
        self._start_item = None
        dose, dose_end = dose_span(self.entries, self.phases)
        self.axis.dose_s = dose
        self.axis.picture = None  # relabel the ticks
        self.axis.update()
        self._draw_dose(dose, dose_end)
        self._draw_checkpoints(dose)
        for e in self.entries:
            self._draw_entry(e.kind, e.data, e.t_s, e.id, edited=bool(e.revisions))
        if self.pending is not None:
            p = self.pending
            self._draw_entry(p.kind, p.data, p.t_s, None, edited=False, pending=True)
        self.set_now(self.now_s)
        return True

    def _add(self, item: pg.GraphicsObject, z: float = 0.0) -> None:
        item.setZValue(z)
        self.plot.addItem(item, ignoreBounds=True)
        self._items.append(item)

    def _text(self, text: str, x: float, lane: float, colour: QColor,
              fill: QColor | None = None, anchor: tuple[float, float] = (0.5, 0.5),
              size: int = 15, bold: bool = True) -> pg.TextItem:
        item = pg.TextItem(text, color=colour, anchor=anchor,
                           fill=pg.mkBrush(fill) if fill is not None else None,
                           border=pg.mkPen(colour) if fill is not None else None)
        item.setFont(text_font(size, bold=bold))
        item.setPos(x, lane)
        self._add(item, 10)
        return item

    def _draw_dose(self, dose: float | None, dose_end: float | None) -> None:
        lane = self.row_of(DOSE_LANE) or 0
        colour = LANE_COLOURS[DOSE_LANE]
        if dose is None:
            return
        if dose_end is not None and dose_end > dose:
            band = QColor(colour)
            band.setAlpha(120)
            self._add(pg.BarGraphItem(x0=[dose], x1=[dose_end], y0=[lane - 0.3],
                                      y1=[lane + 0.3], brush=pg.mkBrush(band),
                                      pen=pg.mkPen(None)), 1)
        # Lines at the start and at an actual stop; a planned end (the infusion length) is
        # only where the band ends.
        stops = [e.t_s for e in self.entries if e.kind == EntryKind.DOSE_STOP and e.t_s >= dose]
        for t, width in ((dose, 3), (min(stops) if stops else None, 2)):
            if t is None:
                continue
            line = pg.InfiniteLine(t, angle=90, movable=False,
                                   pen=pg.mkPen(colour, width=width))
            self._add(line, 2)

    def _draw_checkpoints(self, dose: float | None) -> None:
        if dose is None:
            return
        c = self.checkpoints
        lane = self.row_of(DOSE_LANE) or 0
        pre_ok = any(t < dose for t in self.nibp_times)
        self.checkpoint_items["pre_dose_bp"] = self._text(
            ("BP pre \u2713" if pre_ok else "BP pre \u2717") + " ", dose, lane,
            CHECKPOINT if pre_ok else MISSING, anchor=(1, 0.5), size=14)
        lo = dose + c.bp_after_dose_s - c.bp_window_s
        hi = dose + c.bp_after_dose_s + c.bp_window_s
        shade = QColor(CHECKPOINT)
        shade.setAlpha(38)
        region = pg.LinearRegionItem((lo, hi), movable=False, brush=pg.mkBrush(shade),
                                     pen=pg.mkPen(QColor(CHECKPOINT.red(), CHECKPOINT.green(),
                                                         CHECKPOINT.blue(), 90)))
        self._add(region, -5)
        self.checkpoint_items["bp_window"] = region
        in_window = any(lo <= t <= hi for t in self.nibp_times)
        due_passed = self.now_s is None or self.now_s > hi
        ok = "\u2713" if in_window else ("\u2717" if due_passed else "due")
        minutes = round(c.bp_after_dose_s / 60)
        self.checkpoint_items["bp_label"] = self._text(
            f"BP ~{minutes} min {ok}", (lo + hi) / 2, lane,
            MISSING if ok == "\u2717" else CHECKPOINT, size=14)
        t2 = dose + c.min_monitoring_s
        line = pg.InfiniteLine(t2, angle=90, movable=False,
                               pen=pg.mkPen(CHECKPOINT, width=2, style=Qt.PenStyle.DashLine))
        self._add(line, 3)
        self.checkpoint_items["min_monitoring"] = line
        hours = c.min_monitoring_s / 3600
        label = f" {hours:g} h minimum" if c.min_required else f" {hours:g} h (REMS)"
        self.checkpoint_items["min_label"] = self._text(
            label, t2, lane, CHECKPOINT if c.min_required else TEXT_DIM, anchor=(0, 0.5),
            size=14, bold=c.min_required)

    def _draw_entry(self, kind: str, data: Mapping[str, Any], t_s: float,
                    entry_id: int | None, edited: bool, pending: bool = False) -> None:
        lane = LANE_OF.get(kind, len(LANES) - 1)
        colour = QColor(LANE_COLOURS[lane])
        row = self.row_of(lane)
        if row is None:
            return  # its lane is collapsed
        if kind in (EntryKind.DOSE_START, EntryKind.DOSE_STOP):
            text = "START" if kind == EntryKind.DOSE_START else "STOP"
            item = self._text(f" {text}", t_s, row, TEXT, anchor=(0, 0.5), size=14)
            if kind == EntryKind.DOSE_START and not pending:
                self._start_item = item
        else:
            text = mark_text(kind, data)
            if len(text) > 28:
                text = text[:27] + "\u2026"
            fill = QColor(colour)
            fill.setAlpha(_intensity(kind, data))
            item = self._text(text + (" \u270e" if edited else ""), t_s, row,
                              TEXT if fill.alpha() > 110 else colour, fill=fill,
                              size=16 if kind in (EntryKind.DISSOCIATION,
                                                  EntryKind.SEDATION) else 14)
        if pending:
            item.setOpacity(0.45)
        elif entry_id is not None:
            self.marks.append((entry_id, item))

    # -- interaction -------------------------------------------------------------------

    def _on_click(self, event: Any) -> None:
        pos = event.scenePos()
        for entry_id, item in reversed(self.marks):
            if item.sceneBoundingRect().contains(pos):
                self.entryClicked.emit(entry_id)
                event.accept()
                return

    def x_px(self, t_s: float) -> float:
        """The widget x pixel of session time `t_s` (for tests and overlays)."""
        vb = self.plot.getViewBox()
        return self.mapFromScene(vb.mapViewToScene(QPointF(t_s, 0))).x()

    def lane_px(self, lane: int) -> float:
        """The widget y of the middle of lane `lane` (an index into LANES), if shown."""
        row = self.row_of(lane)
        if row is None:
            raise ValueError(f"lane {LANES[lane][0]!r} is not shown")
        vb = self.plot.getViewBox()
        return self.mapFromScene(vb.mapViewToScene(QPointF(0, row))).y()


def _intensity(kind: str, data: Mapping[str, Any]) -> int:
    """Fill opacity: more intense dissociation or deeper sedation is more solid."""
    score = data.get("score")
    if not isinstance(score, int | float):
        return 150
    scale = data.get("scale")
    if kind == EntryKind.DISSOCIATION:
        frac = score / (24 if scale == "cadss6" else 4)
    elif scale == "rass":
        frac = abs(score) / 5
    else:
        frac = (5 - score) / 5  # MOAA/S 5 alert ... 0 unresponsive
    return int(40 + 200 * max(0.0, min(1.0, frac)))
