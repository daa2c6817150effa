"""Vector charts for the PDF (reportlab.graphics): the whole-session vitals chart and the
dissociation and sedation chart, on one shared time axis.

Lines break where data is missing (never drawn across a gap), and each plotted point is
the minimum and maximum of its column, so a brief desaturation is never smoothed away.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Unpack

import numpy as np
from reportlab.graphics.shapes import Drawing, Group, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from alarms.model import Priority
from monitor.reports import fmt
from monitor.reports.data import ReportData, Series, continuous_keys
from monitor.vitals import VITALS

if TYPE_CHECKING:  # keyword types that exist only in types-reportlab
    from reportlab.graphics.shapes import _SolidShapeKwArgs

FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"
GRID = colors.Color(0.85, 0.85, 0.85)
AXIS = colors.Color(0.35, 0.35, 0.35)
PHASE_FILL = {"baseline": colors.Color(0.93, 0.93, 0.93), "dosing": colors.Color(0.8, 0.88, 1),
              "peak": colors.Color(1, 0.87, 0.75), "recovery": colors.Color(0.84, 0.95, 0.84)}
# Alarm priorities as IEC 60601-1-8 colours, always with the priority letter beside them.
PRIORITY = {Priority.HIGH: (colors.Color(0.85, 0.1, 0.1), "H"),
            Priority.MEDIUM: (colors.Color(0.9, 0.68, 0.0), "M"),
            Priority.LOW: (colors.Color(0.0, 0.6, 0.7), "L")}
DASH = {"hr": None, "pr": (3, 2), "spo2": None, "rr": None}
SCALES: dict[str, tuple[str, float, float, str]] = {
    "moaas": ("MOAA/S", 0, 5, "5 = alert, 0 = no response"),
    "rass": ("RASS", -5, 4, "0 = alert and calm, -5 = unarousable"),
    "level": ("Dissociation level", 0, 4, "0 = none, 4 = severe"),
    "cadss6": ("CADSS-6", 0, 24, "6 items x 0-4")}
ENTRY_KINDS = ("sedation", "dissociation")


def _rect(x: float, y: float, width: float, height: float,
          **kw: Unpack[_SolidShapeKwArgs]) -> Rect:
    """reportlab's Rect, its keywords type-checked here: types-reportlab declares Rect's
    `**kw` as `_SolidShapeKwArgs` without `Unpack`, which rejects every keyword."""
    return Rect(x, y, width, height, **kw)  # type: ignore[arg-type]  # that stub error


def print_colour(key: str) -> colors.Color:
    """The registry's screen colour darkened for white paper (the screen's white NIBP
    becomes dark grey); hue kept so the chart matches the monitor."""
    hexcode = VITALS[key].colour.lstrip("#")
    r, g, b = (int(hexcode[i:i + 2], 16) / 255 for i in (0, 2, 4))
    h, lum, s = colorsys.rgb_to_hls(r, g, b)
    r, g, b = colorsys.hls_to_rgb(h, min(lum, 0.36), s)
    return colors.Color(r, g, b)


@dataclass(frozen=True, slots=True)
class Axis:
    """The shared time axis: session seconds to x points."""

    t0: float
    t1: float
    x0: float
    x1: float

    def x(self, t_s: float) -> float:
        return self.x0 + (t_s - self.t0) / (self.t1 - self.t0) * (self.x1 - self.x0)

    def ticks(self, start_wall: float) -> list[float]:
        """Tick times (session seconds) on round clock minutes."""
        span_min = (self.t1 - self.t0) / 60
        step = next(s for s in (5, 10, 15, 30, 60, 120, 240, 480) if span_min / s <= 10)
        first_wall = math.ceil((start_wall + self.t0) / (step * 60)) * step * 60
        out, t = [], first_wall - start_wall
        while t <= self.t1 + 1e-6:
            out.append(t)
            t += step * 60
        return out


def envelope(t: np.ndarray, v: np.ndarray, axis: Axis, gap_s: float
             ) -> list[list[tuple[float, float]]]:
    """Polylines (x, value) per stretch without gaps; min and max per point column."""
    inside = (t >= axis.t0) & (t <= axis.t1)
    t, v = t[inside], v[inside]
    if len(t) == 0:
        return []
    cols = max(int(axis.x1 - axis.x0) * 2, 1)
    breaks = np.flatnonzero(np.diff(t) > gap_s) + 1
    out = []
    for seg_t, seg_v in zip(np.split(t, breaks), np.split(v, breaks), strict=True):
        b = np.floor((seg_t - axis.t0) / (axis.t1 - axis.t0) * cols).astype(np.int64)
        starts = np.flatnonzero(np.r_[True, np.diff(b) != 0])
        lo = np.minimum.reduceat(seg_v, starts)
        hi = np.maximum.reduceat(seg_v, starts)
        xs = [axis.x(float(x)) for x in seg_t[starts]]
        pts: list[tuple[float, float]] = []
        for x, a, c in zip(xs, lo.tolist(), hi.tolist(), strict=True):
            pts.append((x, a))
            if c != a:
                pts.append((x, c))
        out.append(pts)
    return out


def _gap_s(s: Series) -> float:
    """A pause longer than this is a gap: 3 typical intervals, at least the stale time."""
    stale = VITALS[s.key].stale_after_s or 60.0
    if len(s.t_s) < 3:
        return stale
    return max(3 * float(np.median(np.diff(s.t_s))), stale)


class _Panel:
    """One y scale in a band of the drawing."""

    def __init__(self, g: Group, axis: Axis, y0: float, y1: float, lo: float, hi: float,
                 title: str, step: float) -> None:
        self.g, self.axis, self.y0, self.y1, self.lo, self.hi = g, axis, y0, y1, lo, hi
        g.add(_rect(axis.x0, y0, axis.x1 - axis.x0, y1 - y0, fillColor=None,
                    strokeColor=AXIS, strokeWidth=0.5))
        v = math.ceil(lo / step) * step
        while v <= hi + 1e-9:
            y = self.y(v)
            if lo < v < hi:
                g.add(Line(axis.x0, y, axis.x1, y, strokeColor=GRID, strokeWidth=0.3))
            g.add(String(axis.x0 - 3, y - 2.5, f"{v:g}", fontName=FONT, fontSize=6.5,
                         textAnchor="end"))
            v += step
        self.title = title

    def label(self, above: bool = False) -> None:
        """The panel title: inside the top left on a white ground, or above the panel."""
        g, axis, y1 = self.g, self.axis, self.y1
        if above:
            g.add(String(axis.x0, y1 + 3, self.title, fontName=FONT_BOLD, fontSize=7.5))
            return
        w = stringWidth(self.title, FONT_BOLD, 7.5)
        g.add(_rect(axis.x0 + 1, y1 - 11, w + 5, 10, fillColor=colors.white, strokeColor=None))
        g.add(String(axis.x0 + 3, y1 - 9, self.title, fontName=FONT_BOLD, fontSize=7.5))

    def y(self, v: float) -> float:
        v = min(max(v, self.lo), self.hi)
        return self.y0 + (v - self.lo) / (self.hi - self.lo) * (self.y1 - self.y0)

    def line(self, pts: Sequence[tuple[float, float]], colour: colors.Color,
             dash: tuple[int, int] | None = None, width: float = 0.8) -> None:
        if not pts:
            return
        if len(pts) == 1:
            x, v = pts[0]
            self.g.add(_rect(x - 0.6, self.y(v) - 0.6, 1.2, 1.2, fillColor=colour,
                             strokeColor=None))
            return
        flat = [c for x, v in pts for c in (x, self.y(v))]
        self.g.add(PolyLine(flat, strokeColor=colour, strokeWidth=width,
                            # types-reportlab omits None, reportlab's own default (no dash)
                            strokeDashArray=dash,  # type: ignore[arg-type]
                            strokeLineJoin=1))


def _range(values: Sequence[np.ndarray], lo: float, hi: float, step: float
           ) -> tuple[float, float]:
    present = [a for a in values if len(a)]
    if present:
        lo = min(lo, math.floor(min(float(a.min()) for a in present) / step) * step)
        hi = max(hi, math.ceil(max(float(a.max()) for a in present) / step) * step)
    return lo, hi


def _time_axis(g: Group, axis: Axis, data: ReportData, y: float, y_top: float) -> None:
    for t in axis.ticks(data.start_wall):
        x = axis.x(t)
        g.add(Line(x, y, x, y_top, strokeColor=GRID, strokeWidth=0.3))
        g.add(Line(x, y, x, y - 3, strokeColor=AXIS, strokeWidth=0.5))
        g.add(String(x, y - 11, fmt.clock_hm(data.wall(t)), fontName=FONT, fontSize=6.5,
                     textAnchor="middle"))
        dose = data.dose_start_s
        if dose is not None:
            g.add(String(x, y - 19, f"{(t - dose) / 60:+.0f}", fontName=FONT, fontSize=6,
                         textAnchor="middle", fillColor=AXIS))
    label = "clock time" + (";  minutes from the dose start below" if data.dose_start_s
                            is not None else "")
    g.add(String(axis.x0, y - 28, label, fontName=FONT, fontSize=6, fillColor=AXIS))


def _phases(g: Group, axis: Axis, data: ReportData, y0: float, y1: float) -> None:
    """The phase strip: one labelled bar per phase, overlapping phases on a second row."""
    h = (y1 - y0) / 2
    last_end = -math.inf
    row = 0
    spans: list[tuple[float, float, str]] = []
    for p in data.phases:
        end = p.end_s if p.end_s is not None else data.end_t_s
        row = 1 - row if p.start_s < last_end else 0
        last_end = max(last_end, end)
        a, b = axis.x(max(p.start_s, axis.t0)), axis.x(min(end, axis.t1))
        if b <= a:
            continue
        top = y1 - row * h
        g.add(_rect(a, top - h + 1, b - a, h - 2, fillColor=PHASE_FILL.get(p.name, GRID),
                    strokeColor=AXIS, strokeWidth=0.3))
        spans.append(((a + b) / 2, top - h + 3.5, p.name))
    labels = _Labels(g)  # after the bars: a label never lies under a later bar
    for x, y, name in spans:
        labels.place([(x, y)], name, FONT, 6.5, "middle")


def event_marks(data: ReportData) -> list[tuple[float, str, str]]:
    """(t_s, tag, label) for the chart markers, numbered as the timeline table is."""
    marks: list[tuple[float, str, str]] = []
    for d in data.doses:
        marks.append((d.start_s, "D", f"{d.drug or 'dose'} start"))
        if d.stop_s is not None:
            marks.append((d.stop_s, "S", f"{d.drug or 'dose'} stop"))
    for i, (t, _kind, _label) in enumerate(timeline_rows(data), start=1):
        marks.append((t, str(i), ""))
    return marks


def timeline_rows(data: ReportData) -> list[tuple[float, str, str]]:
    """(t_s, kind, text) for the numbered timeline: side effects, interventions, notes,
    discharge; ratings have their own chart."""
    rows = [(e.t_s, e.kind, e.name) for e in data.events]
    rows += [(d.t_s, "discharge", d.scale) for d in data.discharges]
    rows.sort(key=lambda r: r[0])
    return rows


def _no_overlap(xs: Sequence[float], widths: Sequence[float], gap: float = 1.0) -> list[float]:
    """Where to draw labels wanted at `xs` (in order) so that none covers another: each is
    pushed right just past the one before it when they would touch."""
    out: list[float] = []
    end = -math.inf
    for x, w in zip(xs, widths, strict=True):
        x = max(x, end + gap)
        out.append(x)
        end = x + w
    return out


MARK_W = 10.0  # a timeline marker's triangle


class _Labels:
    """Labels placed so that none is printed over another: each is tried at its places in
    turn and left out if every place is taken (the tables list every value)."""

    def __init__(self, g: Group) -> None:
        self.g = g
        self.boxes: list[tuple[float, float, float, float]] = []

    def place(self, places: Sequence[tuple[float, float]], text: str, font: str, size: float,
              anchor: Literal["start", "middle", "end"] = "start") -> bool:
        w = stringWidth(text, font, size)
        for x, y in places:
            x0 = {"start": x, "middle": x - w / 2, "end": x - w}[anchor]
            box = (x0 - 0.5, y - 0.5, x0 + w + 0.5, y + size * 0.75)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                       for b in self.boxes):
                self.boxes.append(box)
                self.g.add(String(x, y, text, fontName=font, fontSize=size,
                                  textAnchor=anchor))
                return True
        return False


def _markers(g: Group, axis: Axis, data: ReportData, y0: float, y1: float,
             y_top: float) -> None:
    marks = sorted(((axis.x(t), tag) for t, tag, _ in event_marks(data)
                    if axis.t0 <= t <= axis.t1), key=lambda m: m[0])
    # Close markers are set side by side in time order, never on top of each other; the
    # dashed line stays at the true time (the timeline table has the exact times).
    drawn = _no_overlap([x - MARK_W / 2 for x, _ in marks], [MARK_W] * len(marks), 0.5)
    for (x, tag), left in zip(marks, drawn, strict=True):
        dose = tag in ("D", "S")
        g.add(Line(x, y1, x, y_top, strokeColor=colors.Color(0.4, 0.4, 0.4) if dose else GRID,
                   strokeWidth=0.5 if dose else 0.4, strokeDashArray=(2, 2)))
        cx = left + MARK_W / 2
        fill = colors.Color(0.2, 0.2, 0.2) if dose else colors.white
        g.add(Polygon([cx, y1 - 1, cx - MARK_W / 2, y0 + 1, cx + MARK_W / 2, y0 + 1],
                      fillColor=fill, strokeColor=colors.black, strokeWidth=0.5))
        g.add(String(cx, y0 + 2.5, tag, fontName=FONT_BOLD, fontSize=5.5, textAnchor="middle",
                     fillColor=colors.white if dose else colors.black))


def _alarm_strip(g: Group, axis: Axis, data: ReportData, y0: float, y1: float) -> None:
    g.add(String(axis.x0 - 3, (y0 + y1) / 2 - 2.5, "alarms", fontName=FONT, fontSize=6.5,
                 textAnchor="end"))
    g.add(_rect(axis.x0, y0, axis.x1 - axis.x0, y1 - y0, fillColor=None, strokeColor=GRID,
                strokeWidth=0.3))
    if data.alarms is None:
        g.add(String(axis.x0 + 3, y0 + 3, "alarm log not available for this session",
                     fontName=FONT, fontSize=6, fillColor=AXIS))
        return
    # Lower priorities first, so a higher-priority episode is drawn over them.
    ordered = sorted(data.alarms, key=lambda a: (a.priority, a.start_s))
    labels: list[tuple[float, str]] = []
    for a in ordered:
        colour, letter = PRIORITY[a.priority]
        end = a.end_s if a.end_s is not None else data.end_t_s
        x0, x1 = axis.x(a.start_s), max(axis.x(end), axis.x(a.start_s) + 2)
        g.add(_rect(x0, y0 + 1, x1 - x0, y1 - y0 - 2, fillColor=colour, strokeColor=None))
        labels.append((x0 + 1, letter))
    # Letters of touching episodes are set side by side, each letter once per cluster.
    end, cluster = -math.inf, set[str]()
    for x, letter in sorted(labels):
        if x < end + 1:
            if letter in cluster:
                continue
            x = end + 1
        else:
            cluster = set()
        cluster.add(letter)
        g.add(String(x, y1 + 1, letter, fontName=FONT_BOLD, fontSize=5.5))
        end = x + stringWidth(letter, FONT_BOLD, 5.5)


def _technical_strip(g: Group, axis: Axis, data: ReportData, y0: float, y1: float) -> None:
    """Device conditions (probe off, link lost) as grey bars: gaps in the data explained."""
    g.add(String(axis.x0 - 3, (y0 + y1) / 2 - 2.5, "technical", fontName=FONT, fontSize=6.5,
                 textAnchor="end"))
    g.add(_rect(axis.x0, y0, axis.x1 - axis.x0, y1 - y0, fillColor=None, strokeColor=GRID,
                strokeWidth=0.3))
    for start, end, _label in technical_episodes(data):
        a, b = axis.x(start), max(axis.x(end), axis.x(start) + 1.5)
        g.add(_rect(a, y0 + 1, b - a, y1 - y0 - 2, fillColor=colors.Color(0.45, 0.45, 0.45),
                    strokeColor=None))


def technical_episodes(data: ReportData) -> list[tuple[float, float, str]]:
    """(start, end, label) of device conditions and of links not streaming."""
    out: list[tuple[float, float, str]] = []
    open_: dict[tuple[str, str], float] = {}
    for e in data.device_events:
        if e.kind == "condition":
            key = (e.source, e.code)
            if e.active:
                open_.setdefault(key, e.t_s)
            elif key in open_:
                out.append((open_.pop(key), e.t_s, f"{e.source}: {e.code.replace('_', ' ')}"))
        elif e.kind == "status":
            key = (e.source, "link")
            if e.code == "streaming":
                if key in open_:
                    start = open_.pop(key)
                    if start > 0:  # the first connection at the start is not an episode
                        out.append((start, e.t_s, f"{e.source}: not streaming"))
            elif e.code in ("disconnected", "stale", "connecting"):
                open_.setdefault(key, e.t_s)
    for (source, code), start in open_.items():
        if code != "link" or start < data.end_t_s - 1:
            label = "not streaming" if code == "link" else code.replace("_", " ")
            out.append((start, data.end_t_s, f"{source}: {label}"))
    return sorted(out)


def vitals_chart(data: ReportData, width: float, height: float) -> Drawing:
    """HR/PR with NIBP, SpO2 and RR panels, phases on top, alarms and events below."""
    d = Drawing(width, height)
    g = Group()
    d.add(g)
    axis = Axis(0.0, max(data.end_t_s, 60.0), 34.0, width - 8)
    s = data.series
    top = height - 4
    phase_y0 = top - 22
    _phases(g, axis, data, phase_y0, top)
    bottom = 34.0  # time labels
    mark_y0, mark_y1 = bottom + 2, bottom + 12
    tech_y0, tech_y1 = mark_y1 + 4, mark_y1 + 12
    alarm_y0, alarm_y1 = tech_y1 + 3, tech_y1 + 13
    plot_bottom, plot_top = alarm_y1 + 8, phase_y0 - 4
    span = plot_top - plot_bottom
    gap = 6
    h_rr = span * 0.18
    h_spo2 = span * 0.24
    y_rr0 = plot_bottom
    y_spo20 = y_rr0 + h_rr + gap
    y_hr0 = y_spo20 + h_spo2 + gap
    _time_axis(g, axis, data, bottom, plot_top)

    lo, hi = _range([s["hr"].values, s["pr"].values, s["sbp"].values, s["dbp"].values],
                    60, 160, 20)
    hr_panel = _Panel(g, axis, y_hr0, plot_top, lo, hi, "HR, PR (bpm) and NIBP (mmHg)", 20)
    lo, hi = _range([s["spo2"].values], 90, 100, 2)
    spo2_panel = _Panel(g, axis, y_spo20, y_spo20 + h_spo2, lo, min(hi, 100),
                        f"{VITALS['spo2'].label} ({VITALS['spo2'].unit})", 2 if hi - lo <= 12
                        else 5)
    lo, hi = _range([s["rr"].values], 0, 30, 10)
    rr_panel = _Panel(g, axis, y_rr0, y_rr0 + h_rr, lo, hi,
                      f"{VITALS['rr'].label} ({VITALS['rr'].unit})", 10)
    panels = {"hr": hr_panel, "pr": hr_panel, "spo2": spo2_panel, "rr": rr_panel}
    for key in sorted(continuous_keys(), key=lambda k: k == "hr"):  # HR drawn over PR
        series = s[key]
        for pts in envelope(series.t_s, series.values, axis, _gap_s(series)):
            panels[key].line(pts, print_colour(key), DASH.get(key))
    nibp_colour = print_colour("sbp")
    for r in data.nibp:
        if not axis.t0 <= r.t_s <= axis.t1:
            continue
        x = axis.x(r.t_s)
        if r.sbp is not None and r.dbp is not None:
            hr_panel.g.add(Line(x, hr_panel.y(r.dbp), x, hr_panel.y(r.sbp),
                                strokeColor=nibp_colour, strokeWidth=0.5))
        for v, sign in ((r.sbp, 1), (r.dbp, -1)):
            if v is not None:  # the anaesthesia chart's V over the systolic, ^ under diastolic
                y = hr_panel.y(v)
                g.add(PolyLine([x - 2.2, y + sign * 3.2, x, y, x + 2.2, y + sign * 3.2],
                               strokeColor=nibp_colour, strokeWidth=0.8))
        if r.map is not None:
            y = hr_panel.y(r.map)
            g.add(Line(x - 1.8, y, x + 1.8, y, strokeColor=nibp_colour, strokeWidth=0.8))
    for p in (hr_panel, spo2_panel, rr_panel):
        p.label()
    _legend(g, axis, plot_top, [("hr", "HR"), ("pr", "PR")], nibp_colour)
    _alarm_strip(g, axis, data, alarm_y0, alarm_y1)
    _technical_strip(g, axis, data, tech_y0, tech_y1)
    _markers(g, axis, data, mark_y0, mark_y1, plot_top)
    return d


def _legend(g: Group, axis: Axis, y_top: float, keys: list[tuple[str, str]],
            nibp_colour: colors.Color) -> None:
    x = axis.x1 - 190
    y = y_top - 9
    for key, label in keys:
        g.add(Line(x, y + 2.5, x + 14, y + 2.5, strokeColor=print_colour(key), strokeWidth=1,
                   # types-reportlab omits None, reportlab's own default (no dash)
                   strokeDashArray=DASH.get(key)))  # type: ignore[arg-type]
        g.add(String(x + 17, y, label, fontName=FONT, fontSize=6.5))
        x += 38
    g.add(PolyLine([x, y + 6, x + 2.2, y + 2.8, x + 4.4, y + 6], strokeColor=nibp_colour,
                   strokeWidth=0.8))
    g.add(PolyLine([x, y - 1, x + 2.2, y + 2.2, x + 4.4, y - 1], strokeColor=nibp_colour,
                   strokeWidth=0.8))
    g.add(String(x + 8, y, "NIBP systolic / diastolic, - mean", fontName=FONT, fontSize=6.5))


def ratings_chart(data: ReportData, width: float, panel_h: float = 58) -> Drawing | None:
    """One panel per scale used, on the vitals chart's time axis; None without ratings."""
    scales = []
    for kind in ENTRY_KINDS:
        for scale in dict.fromkeys(r.scale for r in data.ratings if r.kind == kind):
            scales.append((kind, scale))
    if not scales:
        return None
    height = len(scales) * (panel_h + 16) + 34
    d = Drawing(width, height)
    g = Group()
    d.add(g)
    axis = Axis(0.0, max(data.end_t_s, 60.0), 34.0, width - 8)
    bottom = 30.0
    _time_axis(g, axis, data, bottom, height - 4)
    y = height - 14
    colour = {"sedation": colors.Color(0.15, 0.3, 0.6), "dissociation": colors.Color(0.5, 0.2,
                                                                                      0.5)}
    for kind, scale in scales:
        name, lo, hi, hint = SCALES.get(scale, (scale, 0, 10, ""))
        pts = [(r.t_s, r.score) for r in data.ratings if r.kind == kind and r.scale == scale
               and axis.t0 <= r.t_s <= axis.t1]
        lo = min([lo, *(v for _, v in pts)])
        hi = max([hi, *(v for _, v in pts)])
        step = 1 if hi - lo <= 10 else 4
        panel = _Panel(g, axis, y - panel_h, y, lo, hi, f"{kind.capitalize()}: {name}"
                       + (f"  ({hint})" if hint else ""), step)
        xy = [(axis.x(t), v) for t, v in pts]
        panel.line(xy, colour[kind], width=0.9)
        labels = _Labels(g)
        for x, v in xy:
            py = panel.y(v)
            g.add(_rect(x - 1.8, py - 1.8, 3.6, 3.6, fillColor=colour[kind], strokeColor=None))
            up, down = (x + 4, py + 3), (x + 4, py - 9)  # below a point on the top line
            labels.place([down, up] if v >= hi else [up, down], fmt.number(v, 1), FONT_BOLD, 6.5)
        panel.label(above=True)
        y -= panel_h + 16
    return d
