"""The clinician's session report as a PDF (reportlab): vector charts, tables, signature lines.

Page one carries who, what was given and the REMS monitoring fields; then the charts; then
the tables a chart reviewer or the REMS form needs. A session still running or interrupted
says so in a banner at the top of page one.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from monitor.discharge import monitoring_time
from monitor.reports import fmt
from monitor.reports.charts import (
    PRIORITY,
    SCALES,
    technical_episodes,
    timeline_rows,
    vitals_chart,
)
from monitor.reports.charts import (
    ratings_chart as make_ratings_chart,
)
from monitor.reports.data import (
    TABLE_INTERVAL_S,
    Discharge,
    NibpReading,
    Rating,
    ReportData,
    continuous_keys,
    route_label,
    sedated,
)
from monitor.session import SessionStatus
from monitor.vitals import NIBP_KEYS, NUMERIC_KEYS, VITALS

PAGE = LETTER  # the REMS form and most of Vigil's clinics are in the US
MARGIN = 15 * mm
BLANK = "_" * 28

_BASE = ParagraphStyle("base", fontName="Helvetica", fontSize=8.5, leading=10.5)
_SMALL = ParagraphStyle("small", parent=_BASE, fontSize=7.5, leading=9)
_CELL = ParagraphStyle("cell", parent=_BASE, fontSize=7.5, leading=9)
_H1 = ParagraphStyle("h1", parent=_BASE, fontName="Helvetica-Bold", fontSize=15, leading=18)
_H2 = ParagraphStyle("h2", parent=_BASE, fontName="Helvetica-Bold", fontSize=10.5, leading=13,
                     spaceBefore=8, spaceAfter=3, textColor=colors.Color(0.1, 0.2, 0.4))
_BANNER = ParagraphStyle("banner", parent=_BASE, fontName="Helvetica-Bold", fontSize=10,
                         leading=13, alignment=TA_CENTER, textColor=colors.Color(0.6, 0, 0))
_HEADER_BG = colors.Color(0.9, 0.92, 0.96)
_LINE = colors.Color(0.7, 0.7, 0.7)


@dataclass(frozen=True, slots=True)
class ReportOptions:
    clinic: str | None = None
    clinician: str | None = None  # the responsible prescriber / clinician
    nurse: str | None = None  # the monitoring nurse


KEEP_ROWS = 4  # a section starts on a new page unless its heading and 4 rows fit


class _KeepStart(CondPageBreak):
    """Before a heading: a page break unless the heading, the notes under it and the start
    of what follows (a table's header and first rows, a whole chart) fit on this page, so a
    heading never sits alone at the bottom of a page."""

    def __init__(self, items: Sequence[Flowable], body: Flowable | None) -> None:
        super().__init__(0)
        self.items, self.body = list(items), body

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        need = 0.0
        for f in self.items:
            need += f.wrapOn(self.canv, avail_w, avail_h)[1]
            need += f.getSpaceBefore() + f.getSpaceAfter()
        if self.body is not None:
            h = self.body.wrapOn(self.canv, avail_w, avail_h)[1]
            rows = getattr(self.body, "_rowHeights", None)
            if rows:
                h = min(h, sum(rows[:KEEP_ROWS + 1]))
            need += h
        self.height = need
        return super().wrap(avail_w, avail_h)


def _is_note(f: Any) -> bool:
    """A small note under a heading, or space: kept with the heading."""
    return (isinstance(f, Paragraph) and f.style is _SMALL) or (
        type(f) is Spacer)


def _keep_headings(story: Sequence[Any]) -> list[Any]:
    """Puts a `_KeepStart` before each section heading of the story: the heading, its notes
    and the start of its body (a table's first rows, a chart, or a one-line statement)."""
    out: list[Any] = []
    for i, f in enumerate(story):
        if isinstance(f, Paragraph) and f.style is _H2:
            j = i + 1
            while j < len(story) and _is_note(story[j]):
                j += 1
            nxt = story[j] if j < len(story) else None
            if isinstance(nxt, Paragraph) and nxt.style is not _H2:
                out.append(_KeepStart(story[i:j + 1], None))  # a statement as the body
            elif nxt is None or isinstance(nxt, Paragraph | PageBreak | CondPageBreak):
                out.append(_KeepStart(story[i:j], None))
            else:
                out.append(_KeepStart(story[i:j], nxt))
        out.append(f)
    return out


class Boxes(Flowable):
    """Empty tick boxes with their answers ("[] Yes  [] No"), drawn as squares for the
    clinician to tick on paper; an optional lead text before them."""

    SIZE = 7.0
    FONT = ("Helvetica", 7.5)

    def __init__(self, answers: Sequence[str] = ("Yes", "No"), lead: str = "") -> None:
        super().__init__()
        self.answers, self.lead = tuple(answers), lead

    def _lead_w(self) -> float:
        return stringWidth(self.lead, *self.FONT) + 5 if self.lead else 0.0

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        w = self._lead_w() + sum(self.SIZE + 3 + stringWidth(a, *self.FONT) + 9
                                 for a in self.answers)
        return w, self.SIZE + 3

    def draw(self) -> None:
        c = self.canv
        c.setFont(*self.FONT)
        c.setLineWidth(0.7)
        x = 0.0
        if self.lead:
            c.drawString(0, 1.5, self.lead)
            x = self._lead_w()
        for a in self.answers:
            c.rect(x, 0.5, self.SIZE, self.SIZE, stroke=1, fill=0)
            c.drawString(x + self.SIZE + 3, 1.5, a)
            x += self.SIZE + 3 + stringWidth(a, *self.FONT) + 9


def _esc(text: object) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def _p(text: str, style: ParagraphStyle = _CELL) -> Paragraph:
    return Paragraph(text, style)


def _table(rows: Sequence[Sequence[Any]], widths: Sequence[float], *, header: bool = True,
           extra: Sequence[tuple[Any, ...]] = ()) -> Table:
    t = Table([list(r) for r in rows], colWidths=list(widths), repeatRows=1 if header else 0,
              hAlign="LEFT")
    style: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 7.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, _LINE),
    ]
    if header:
        style += [("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7.5),
                  ("BACKGROUND", (0, 0), (-1, 0), _HEADER_BG)]
    t.setStyle(TableStyle(style + list(extra)))
    return t


def _status_banner(data: ReportData) -> list[Any]:
    if data.status is SessionStatus.COMPLETED:
        return []
    last = f"{fmt.clock(data.wall(data.end_t_s))} ({fmt.minutes(data.end_t_s)} into the session)"
    if data.status is SessionStatus.ACTIVE:
        text = (f"SESSION STILL RUNNING - this report covers the record up to {last}; "
                "it is incomplete. Export again after the session ends.")
    else:
        text = (f"SESSION INTERRUPTED - the recording stopped unexpectedly at {last}. "
                "Nothing after that time was recorded.")
    t = Table([[_p(text, _BANNER)]], colWidths=[PAGE[0] - 2 * MARGIN])
    t.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1.5, colors.Color(0.7, 0, 0)),
                           ("BACKGROUND", (0, 0), (-1, -1), colors.Color(1, 0.93, 0.93)),
                           ("TOPPADDING", (0, 0), (-1, -1), 5),
                           ("BOTTOMPADDING", (0, 0), (-1, -1), 5)]))
    return [t, Spacer(1, 6)]


def _or_blank(value: str | None) -> str:
    return _esc(value) if value else BLANK


def _header(data: ReportData, opts: ReportOptions) -> list[Any]:
    start, end = data.start_wall, data.wall(data.end_t_s)
    if data.deidentified:
        patient = (f"<b>{_esc(data.patient)}</b> (pseudonym; de-identified report: dates "
                   f"shifted by a fixed per-session number of days, free text withheld)")
    else:
        patient = f"<b>{_esc(data.patient)}</b>" if data.patient else BLANK
    weight = f"{fmt.number(data.weight_kg, 1)} kg" if data.weight_kg else "not recorded"
    session = (f"#{data.session_id}, " if data.session_id is not None else "") + \
        str(data.status)
    devices = ", ".join(f"{_esc(src)} ({_esc(spec)})" for src, spec in data.devices) or "--"
    rows = [
        ["Clinic", _p(_or_blank(opts.clinic)), "Date", _p(f"<b>{fmt.date(start)}</b>")],
        ["Patient", _p(patient), "Weight", weight],
        ["Session", session, "Time",
         _p(f"{fmt.clock(start)} to {'' if fmt.date(end) == fmt.date(start) else fmt.date(end)}"
            f" {fmt.clock(end)} ({fmt.minutes(data.end_t_s)})<br/>"
            f"<font size=6.5>{_esc(fmt.zone(start))}</font>")],
        ["Clinician", _p(_or_blank(opts.clinician)), "Monitoring nurse",
         _p(_or_blank(opts.nurse))],
        ["Devices", _p(devices), "Alarm preset", data.preset or "--"],
    ]
    w = PAGE[0] - 2 * MARGIN
    return [_table(rows, [22 * mm, w / 2 - 22 * mm, 27 * mm, w / 2 - 27 * mm], header=False,
                   extra=[("FONT", (0, 0), (0, -1), "Helvetica-Bold", 7.5),
                          ("FONT", (2, 0), (2, -1), "Helvetica-Bold", 7.5),
                          ("BACKGROUND", (0, 0), (0, -1), _HEADER_BG),
                          ("BACKGROUND", (2, 0), (2, -1), _HEADER_BG)])]


def _doses(data: ReportData) -> list[Any]:
    out: list[Any] = [_p("Protocol and dose record", _H2)]
    if not data.doses:
        return [*out, _p("No dose was recorded on the timeline.", _BASE)]
    rows: list[list[Any]] = [["Drug", "Route", "Dose (mg)", "mg/kg", "Start", "Stop",
                              "Planned", "Lot number", "Entered by"]]
    for d in data.doses:
        stop = (f"{fmt.clock(data.wall(d.stop_s))} ({fmt.minutes(d.stop_s - d.start_s)})"
                if d.stop_s is not None else "--")
        rows.append([d.drug or "--", route_label(d.route), fmt.number(d.dose_mg, 1),
                     fmt.number(d.mg_per_kg, 2) + ("" if data.weight_kg else " (no weight)"),
                     fmt.clock(data.wall(d.start_s)), stop,
                     f"{fmt.number(d.infusion_min, 1)} min" if d.infusion_min else "--",
                     d.lot or BLANK[:14], d.author])
    w = [22, 16, 16, 16, 18, 30, 16, 26, 26]
    return [*out, _table(rows, [x * mm for x in w])]


def _baseline(data: ReportData) -> list[Any]:
    dose = data.dose_start_s
    where = ("the 5 minutes before the dose start" if dose is not None
             else "the first 5 minutes (no dose recorded)")
    head = ["", *(VITALS[k].label for k in continuous_keys()), "NIBP (last before dose)"]
    vals = [f"{fmt.value(k, data.baseline.get(k))} {VITALS[k].unit}" if k in data.baseline
            else "--" for k in continuous_keys()]
    pre = data.rems.bp_pre
    nibp = (f"{pre.text()} mmHg at {fmt.clock(data.wall(pre.t_s))}" if pre else
            "no reading before the dose")
    rows = [head, ["Median", *vals, nibp]]
    return [_p("Pre-dose baseline vitals", _H2),
            _table(rows, [16 * mm, *([20 * mm] * len(vals)), 50 * mm]),
            _p(f"Median of the measured values in {where}.", _SMALL)]


def _bp_line(data: ReportData, r: NibpReading | None, missing: str) -> str:
    if r is None:
        return missing
    dose = data.dose_start_s
    rel = f", {fmt.since(r.t_s, dose)} from dose" if dose is not None else ""
    return (f"<b>{fmt.value('sbp', r.sbp)}/{fmt.value('dbp', r.dbp)} mmHg</b> "
            f"at {fmt.clock(data.wall(r.t_s))}{rel}")


def _rating_text(data: ReportData, items: list[Rating], sedation: bool) -> str:
    """What the ratings show (worst and last, with times), with 'review' when it was not
    rated or is still present at the last rating."""
    if not items:
        return "not rated; <b>review</b>"
    worst = (min(items, key=lambda x: x.score) if sedation
             else max(items, key=lambda x: x.score))
    last = items[-1]

    def one(r: Rating) -> str:
        name = SCALES.get(r.scale, (r.scale,))[0]
        return f"{_esc(name)} {fmt.number(r.score, 1)} at {fmt.clock(data.wall(r.t_s))}"

    present = sedated(last) if sedation else last.score > 0
    text = (f"logged: worst and last {one(last)}" if worst is last
            else f"logged: worst {one(worst)}; last {one(last)}")
    if present:
        return text + " (still present at the last rating); <b>review</b>"
    return text


def _respiratory_text(data: ReportData) -> str:
    """What staff logged and what SpO2, RR and their alarms suggest; 'review' when the
    record suggests respiratory depression that was not logged."""
    logged = data.rems.respiratory_logged
    parts = ["logged as a side effect at " + ", ".join(fmt.clock(data.wall(t)) for t in logged)
             if logged else "not logged"]
    suggest = False
    for key in ("spo2", "rr"):
        e = data.extremes.get(key)
        v = VITALS[key]
        if e is None:
            parts.append(f"no {v.label} recorded")
            continue
        parts.append(f"lowest {v.label} {fmt.value(key, e.min_value)} {v.unit} at "
                     f"{fmt.clock(data.wall(e.min_t_s))}")
        low = data.low_limit(key)
        suggest |= low is not None and e.min_value < low
    alarms = [(a.vital, a) for a in data.alarms or () if a.vital in ("spo2", "rr")
              and a.kind == "physiological"]
    for key, a in sorted(alarms, key=lambda x: (-x[1].priority, x[1].start_s))[:2]:
        worst = "" if a.worst is None or key is None else (
            f", worst {fmt.value(key, a.worst)} {VITALS[key].unit}")
        parts.append(f"<b>{a.priority.label.upper()}</b> alarm {_esc(a.condition)} at "
                     f"{fmt.clock(data.wall(a.start_s))}{worst}")
    if len(alarms) > 2:
        more = len(alarms) - 2
        parts.append(f"{more} more SpO2/RR alarm{'s' if more > 1 else ''} in the alarm log")
    suggest |= bool(alarms)
    if suggest and not logged:
        parts.append("<b>review</b>")
    return "; ".join(parts)


def _minimum_text(data: ReportData) -> str:
    """The preset's minimum monitoring time after the dose, and whether the record meets
    it; the presets without one say so (no 2-h rule outside the REMS)."""
    mt = monitoring_time(data.min_monitoring_s, data.dose_start_s, data.end_t_s)
    preset = _esc(data.preset or "no preset")
    if mt is None:
        return f"no minimum monitoring time in the {preset} preset (per protocol)"
    need = f"minimum {mt.min_s / 60:.0f} min after the dose start ({preset})"
    if mt.elapsed_s is None:
        return f"{need}: no dose start recorded"
    met = "met" if mt.met else (
        "not yet reached (the session is still running)" if data.status is SessionStatus.ACTIVE
        else "<b>NOT met</b>")
    return f"{need}: {met}, {mt.elapsed_s / 60:.0f} min after the dose start"


def _early_discharge(data: ReportData, d: Discharge, lead: str = "") -> str | None:
    """What was not met at this discharge and whether someone confirmed it; None when the
    record shows every criterion met and no confirmation was stored."""
    unmet, c = data.discharge_unmet(d), d.confirmation
    if not unmet and c is None:
        return None
    text = lead
    if unmet:
        text += "Not met: " + "; ".join(_esc(u) for u in unmet) + ". "
    if c is None:
        return text + "<b>No confirmation was recorded.</b>"
    when = (f" at {fmt.date(c.wall)} {fmt.clock(c.wall)}" if c.wall is not None
            else " (time not recorded)")
    text += f"Confirmed by <b>{_esc(c.by) if c.by else 'an unnamed user'}</b>{when}"
    if c.not_met:
        text += " as not met: " + "; ".join(_esc(x) for x in c.not_met)
    return text + "."


def _rems(data: ReportData) -> list[Any]:
    r = data.rems
    dose = data.dose_start_s
    minutes = "--"
    if r.monitoring_min is not None:
        minutes = f"<b>{r.monitoring_min:.0f} min</b> (first device datum to end of monitoring)"
    minutes += "<br/>" + _minimum_text(data)
    ready = "not recorded"
    if r.ready_t_s is not None:
        ready = f"<b>{fmt.clock(data.wall(r.ready_t_s))}</b>"
        if dose is not None:
            ready += f" ({(r.ready_t_s - dose) / 60:.0f} min after the dose start)"
    sed = [x for x in data.ratings if x.kind == "sedation"]
    dis = [x for x in data.ratings if x.kind == "dissociation"]
    rows: list[list[Any]] = [
        ["BP before dosing", _p(_bp_line(data, r.bp_pre, "no reading before the dose")),
         Boxes(lead="Acceptable")],
        ["BP ~40 min after dose", _p(_bp_line(data, r.bp_40, "no reading 35-45 min after the "
                                              "dose")), ""],
        ["BP at end of monitoring", _p(_bp_line(data, r.bp_end, "no reading after the dose")),
         Boxes(lead="Acceptable")],
        ["Total monitoring", _p(minutes), ""],
        ["Sedation", _p(_rating_text(data, sed, True)), Boxes()],
        ["Dissociation", _p(_rating_text(data, dis, False)), Boxes()],
        ["Respiratory depression", _p(_respiratory_text(data)), Boxes()],
        ["Clinically ready to leave", _p(ready), ""],
    ]
    for d in data.discharges:
        early = _early_discharge(data, d)
        if early is not None:
            rows.append(["Early discharge", _p(early), ""])
    w = PAGE[0] - 2 * MARGIN
    return [KeepTogether([
        _p("Patient monitoring fields (as on the Spravato REMS form)", _H2),
        _table(rows, [40 * mm, w - 80 * mm, 40 * mm], header=False,
               extra=[("FONT", (0, 0), (0, -1), "Helvetica-Bold", 7.5),
                      ("BACKGROUND", (0, 0), (0, -1), _HEADER_BG),
                      ("VALIGN", (2, 0), (2, -1), "MIDDLE"),
                      ("BOX", (0, 0), (-1, -1), 0.8, colors.Color(0.1, 0.2, 0.4))]),
        _p("The boxes are for the clinician: no answer is pre-filled. Each line shows what "
           "staff logged and what the record shows (sedation: MOAA/S below 5 or RASS below 0; "
           "dissociation: a rating above 0); <b>review</b> marks a line where the record "
           "suggests more than was logged. Spravato: submit the REMS form within 7 days.",
           _SMALL)])]


def _data_note(data: ReportData) -> list[Any]:
    n = data.excluded
    if not n:
        return [_p("Data quality: every recorded value was within its plausible range.", _SMALL)]
    parts = [f"{s.excluded} {VITALS[k].label}" for k, s in data.series.items() if s.excluded]
    return [_p(f"<b>Data quality: {n} implausible values were excluded</b> from the tables, "
               f"extremes and charts ({', '.join(parts)}): values outside the plausible range "
               "of the vital, such as a monitor's 0 placeholder, are device artefacts, not "
               "measurements.", _SMALL)]


def _extremes(data: ReportData) -> list[Any]:
    rows: list[list[Any]] = [["Vital", "Minimum", "at", "Maximum", "at", "Values"]]
    dose = data.dose_start_s
    for key in NUMERIC_KEYS:
        v = VITALS[key]
        e = data.extremes.get(key)
        if e is None:
            rows.append([v.label, "--", "", "--", "", "0"])
            continue
        rows.append([f"{v.label} ({v.unit})", fmt.value(key, e.min_value),
                     f"{fmt.clock(data.wall(e.min_t_s))}  {fmt.since(e.min_t_s, dose)}",
                     fmt.value(key, e.max_value),
                     f"{fmt.clock(data.wall(e.max_t_s))}  {fmt.since(e.max_t_s, dose)}",
                     str(e.count)])
    return [KeepTogether([_p("Minimum and maximum of each vital", _H2),
                          _table(rows, [30 * mm, 18 * mm, 32 * mm, 18 * mm, 32 * mm, 16 * mm])])]


def _cell(key: str, at: float | None, window: np.ndarray) -> str:
    text = fmt.value(key, at)
    if len(window) and float(window.min()) != float(window.max()):
        text += f"  ({fmt.value(key, float(window.min()))}-{fmt.value(key, float(window.max()))})"
    return text


def _five_minute(data: ReportData) -> list[Any]:
    keys = continuous_keys()
    head = ["Time", "From dose", *(f"{VITALS[k].label} ({VITALS[k].unit})" for k in keys),
            "NIBP (mmHg)"]
    rows: list[list[Any]] = [head]
    dose = data.dose_start_s
    readings = list(data.nibp)
    for mark, cells in data.table_rows():
        in_window = [r for r in readings if mark - TABLE_INTERVAL_S < r.t_s <= mark]
        bp = in_window[-1].text() if in_window else ""
        rows.append([fmt.clock(data.wall(mark)), fmt.since(mark, dose),
                     *(_cell(k, *cells[k]) for k in keys), bp])
    return [_p("Vitals every 5 minutes", _H2),
            _p("Each value is the one on the monitor at that time (dashes: none current); in "
               "brackets the range measured in the 5 minutes up to it. NIBP: the reading "
               "taken in those 5 minutes, systolic/diastolic (mean).", _SMALL),
            Spacer(1, 3), _table(rows, [18 * mm, 16 * mm, *([26 * mm] * len(keys)), 30 * mm])]


def _nibp_table(data: ReportData) -> list[Any]:
    out: list[Any] = [_p("Every NIBP reading", _H2)]
    if not data.nibp:
        return [*out, _p("No NIBP reading was recorded.", _BASE)]
    r = data.rems
    flags: dict[float, str] = {}
    for reading, label in ((r.bp_pre, "pre-dose (REMS)"), (r.bp_40, "~40 min (REMS)"),
                           (r.bp_end, "end (REMS)")):
        if reading is not None:
            flags[reading.t_s] = flags.get(reading.t_s, "") + (", " if reading.t_s in flags
                                                                else "") + label
    pre = r.bp_pre
    dose = data.dose_start_s
    rows: list[list[Any]] = [["Time", "From dose", "Systolic", "Diastolic", "Mean",
                              "Change from pre-dose", "Note"]]
    bold: list[int] = []
    for i, x in enumerate(data.nibp, start=1):
        change = ""
        if pre is not None and x.t_s > pre.t_s and x.sbp is not None and x.dbp is not None:
            assert pre.sbp is not None and pre.dbp is not None
            change = f"{x.sbp - pre.sbp:+.0f} / {x.dbp - pre.dbp:+.0f}"
        if x.t_s in flags:
            bold.append(i)
        rows.append([fmt.clock(data.wall(x.t_s)), fmt.since(x.t_s, dose),
                     *(fmt.value(k, getattr(x, k)) for k in NIBP_KEYS), change,
                     flags.get(x.t_s, "")])
    extra = [("FONT", (0, i), (-1, i), "Helvetica-Bold", 7.5) for i in bold]
    return [*out, _table(rows, [20 * mm, 18 * mm, 18 * mm, 18 * mm, 16 * mm, 32 * mm, 40 * mm],
                         extra=extra)]


def _limit_changes(data: ReportData) -> list[Any]:
    """The limits changed from the preset during the session (none: the preset's applied)."""
    if not data.limit_changes:
        return []
    rows: list[list[Any]] = [["Time", "From dose", "Alarm", "Limit was", "Changed to", "By"]]
    for c in data.limit_changes:
        key = c.vital if c.vital in VITALS else None
        unit = VITALS[key].unit if key else ""

        def text(v: float | None, key: str | None = key, unit: str = unit) -> str:
            return "" if v is None else f"{fmt.value(key, v) if key else fmt.number(v, 1)} {unit}"

        rows.append([fmt.clock(data.wall(c.t_s)), fmt.since(c.t_s, data.dose_start_s),
                     _p(_esc(c.condition)), text(c.old).strip(), text(c.new).strip(),
                     _p(_esc(c.user))])
    return [_p("Alarm limits changed during the session (the preset's applied otherwise)",
               _BASE),
            _table(rows, [17 * mm, 15 * mm, 50 * mm, 25 * mm, 25 * mm, 30 * mm])]


def _alarm_log(data: ReportData) -> list[Any]:
    out: list[Any] = [_p("Alarm log", _H2), *_limit_changes(data)]
    if data.alarms is None:
        return [*out, _p("The alarm log is not available for this session: it was recorded "
                         "without Vigil's alarm log. The primary monitor's own alarm record "
                         "applies.", _BASE)]
    if not data.alarms:
        return [*out, _p("No alarm condition occurred during the session.", _BASE)]
    dose = data.dose_start_s
    rows: list[list[Any]] = [["Start", "From dose", "End", "Duration", "Priority", "Condition",
                              "Worst", "Limit", "Acknowledged"]]
    extra: list[tuple[Any, ...]] = []
    for i, a in enumerate(data.alarms, start=1):
        colour, letter = PRIORITY[a.priority]
        key = a.vital if a.vital in VITALS else None
        unit = VITALS[key].unit if key is not None else ""
        worst = "" if a.worst is None else (fmt.value(key, a.worst) if key else
                                            fmt.number(a.worst, 1)) + f" {unit}"
        limit = "" if a.limit is None else (fmt.value(key, a.limit) if key else
                                            fmt.number(a.limit, 1)) + f" {unit}"
        end = fmt.clock(data.wall(a.end_s)) if a.end_s is not None else "still active"
        dur = fmt.since(a.end_s, a.start_s).lstrip("+") if a.end_s is not None else ""
        ack: Any = fmt.clock(data.wall(a.acknowledged_s)) if a.acknowledged_s is not None \
            else "no"
        if a.acknowledged_by:  # who acknowledged (staff sign-in, issue 14)
            ack = _p(f"{ack} <font size=6.5>by {_esc(a.acknowledged_by)}</font>")
        rows.append([fmt.clock(data.wall(a.start_s)), fmt.since(a.start_s, dose), end, dur,
                     f"{letter} {a.priority.label}", _p(f"{_esc(a.condition)} <font size=6.5>"
                                                  f"({_esc(a.kind)})</font>"), worst.strip(),
                     limit.strip(), ack])
        extra.append(("TEXTCOLOR", (4, i), (4, i), colour))
        extra.append(("FONT", (4, i), (4, i), "Helvetica-Bold", 7.5))
    return [*out, _table(rows, [17 * mm, 15 * mm, 17 * mm, 15 * mm, 17 * mm, 42 * mm, 18 * mm,
                                18 * mm, 22 * mm], extra=extra)]


def _timeline(data: ReportData) -> list[Any]:
    out: list[Any] = [_p("Ratings, side effects, interventions and notes", _H2)]
    dose = data.dose_start_s
    numbered = {(t, kind, name): i for i, (t, kind, name) in enumerate(timeline_rows(data), 1)}
    rows: list[tuple[float, list[Any]]] = []
    for r in data.ratings:
        name = SCALES.get(r.scale, (r.scale,))[0]
        rows.append((r.t_s, ["", fmt.clock(data.wall(r.t_s)), fmt.since(r.t_s, dose), r.kind,
                             _p(f"{_esc(name)} <b>{fmt.number(r.score, 1)}</b>"
                                + (" (items " + ", ".join(f"{n}: {v}" for n, v in r.items)
                                   + ")" if r.items else "")
                                + (" (edited)" if r.edited else "")), r.author]))
    for e in data.events:
        text = f"<b>{_esc(e.name)}</b>"
        if e.text:
            text += f": {_esc(e.text)}"
        elif data.deidentified and e.kind == "note":
            text += " (free text withheld)"
        if e.edited:
            text += " (edited)"
        tag = str(numbered.get((e.t_s, e.kind, e.name), ""))
        rows.append((e.t_s, [tag, fmt.clock(data.wall(e.t_s)), fmt.since(e.t_s, dose),
                             e.kind.replace("_", " "), _p(text), e.author]))
    for d in data.discharges:
        tag = str(numbered.get((d.t_s, "discharge", d.scale), ""))
        rows.append((d.t_s, [tag, fmt.clock(data.wall(d.t_s)), fmt.since(d.t_s, dose),
                             "discharge", _p(_discharge_text(data, d)), d.author]))
    if not rows:
        return [*out, _p("Nothing was logged on the timeline.", _BASE)]
    rows.sort(key=lambda r: r[0])
    table = [["#", "Time", "From dose", "Kind", "Entry", "By"], *(r for _, r in rows)]
    return [*out, _p("# is the marker on the vitals chart.", _SMALL), Spacer(1, 2),
            _table(table, [8 * mm, 17 * mm, 16 * mm, 22 * mm, 98 * mm, 25 * mm])]


def _discharge_text(data: ReportData, d: Any) -> str:
    names = {"aldrete": "Modified Aldrete", "padss": "PADSS"}
    text = (f"{names.get(d.scale, _esc(d.scale))} <b>{fmt.number(d.score, 1)}/10</b>"
            if d.score is not None else "discharge score not recorded")
    if d.ready_t_s is not None:
        text += f"; clinically ready to leave at {fmt.clock(data.wall(d.ready_t_s))}"
    return text


def _technical(data: ReportData) -> list[Any]:
    episodes = technical_episodes(data)
    out: list[Any] = [_p("Device and technical events", _H2)]
    if not episodes:
        return [*out, _p("No device condition or loss of link during the session.", _BASE)]
    rows: list[list[Any]] = [["Start", "End", "Duration", "Event"]]
    for start, end, label in episodes:
        rows.append([fmt.clock(data.wall(start)), fmt.clock(data.wall(end)),
                     fmt.since(end, start).lstrip("+"), label])
    return [*out, _table(rows, [20 * mm, 20 * mm, 18 * mm, 100 * mm])]


def _discharge(data: ReportData, opts: ReportOptions) -> list[Any]:
    out: list[Any] = [_p("Discharge", _H2)]
    if data.discharges:
        for d in data.discharges:
            out.append(_p(f"{fmt.clock(data.wall(d.t_s))}: {_discharge_text(data, d)} "
                          f"(by {_esc(d.author)})", _BASE))
            early = _early_discharge(data, d, "<b>Early discharge.</b> ")
            if early is not None:
                out.append(_p(early, _BASE))
    else:
        out.append(_p("Discharge score: ________ /10  (Modified Aldrete / PADSS)", _BASE))
    last = [f"{VITALS[k].label} {fmt.value(k, data.series[k].values[-1])} {VITALS[k].unit}"
            for k in continuous_keys() if len(data.series[k].values)]
    if data.nibp:
        last.append(f"NIBP {data.nibp[-1].text()} mmHg at "
                    f"{fmt.clock(data.wall(data.nibp[-1].t_s))}")
    out.append(_p("Last vitals: " + (", ".join(last) or "none"), _BASE))
    boxes = Table([["Escort home", Boxes(), "Instructed not to drive until the next day",
                    Boxes()]], hAlign="LEFT", colWidths=[20 * mm, 28 * mm, 58 * mm, 28 * mm])
    boxes.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), "Helvetica", 8.5),
                               ("LEFTPADDING", (0, 0), (0, 0), 0),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    out.append(boxes)
    if data.revisions:
        out.append(_p("Edit history", _H2))
        rows: list[list[Any]] = [["Entry", "Entry time", "Edited at", "By"]]
        for rv in data.revisions:
            rows.append([rv.entry_kind.replace("_", " "), fmt.clock(data.wall(rv.entry_t_s)),
                         f"{fmt.date(rv.revised_wall)} {fmt.clock(rv.revised_wall)}",
                         rv.author])
        out.append(_table(rows, [30 * mm, 22 * mm, 40 * mm, 40 * mm]))
    def name(x: str | None) -> str:
        return _esc(x) if x else BLANK[:22]

    sign = [["Monitoring nurse", name(opts.nurse), "Signature", BLANK, "Date/time", BLANK[:16]],
            ["Clinician", name(opts.clinician), "Signature", BLANK, "Date/time", BLANK[:16]]]
    t = Table(sign, colWidths=[26 * mm, 42 * mm, 17 * mm, 46 * mm, 17 * mm, 28 * mm],
              hAlign="LEFT", rowHeights=[11 * mm, 11 * mm])
    t.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), "Helvetica", 8),
                           ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 8),
                           ("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    out += [Spacer(1, 6), _p("Attestation", _H2),
            _p("I have reviewed this record of the session.", _BASE), t]
    return [KeepTogether(out)]


class _NumberedCanvas(Canvas):
    """Writes 'page i of n' once every page is laid out."""

    def __init__(self, *args: Any, footer: str = "", counted: list[int] | None = None,
                 **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._pages: list[dict[str, Any]] = []
        self._footer = footer
        self._counted = counted if counted is not None else []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        # _startPage and _pageNumber: reportlab's Canvas has them, types-reportlab omits them.
        self._startPage()  # type: ignore[attr-defined]

    def save(self) -> None:
        n = len(self._pages)
        self._counted.append(n)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont("Helvetica", 7)
            self.setFillColor(colors.Color(0.35, 0.35, 0.35))
            self.drawString(MARGIN, 9 * mm, self._footer)
            page = self._pageNumber  # type: ignore[attr-defined]  # (see showPage)
            self.drawRightString(PAGE[0] - MARGIN, 9 * mm, f"Page {page} of {n}")
            super().showPage()
        super().save()


def build_pdf(data: ReportData, out: IO[bytes], opts: ReportOptions | None = None) -> int:
    """Writes the report to a binary stream; returns the number of pages."""
    opts = opts or ReportOptions()
    width = PAGE[0] - 2 * MARGIN
    title = "Session report" + (" (de-identified)" if data.deidentified else "")
    who = data.patient or "patient not recorded"
    footer = f"Vigil {title.lower()} - {who} - {fmt.date(data.start_wall)}"
    if data.generated_wall is not None:
        footer += (f" - generated {fmt.date(data.generated_wall)} "
                   f"{fmt.clock(data.generated_wall)}")
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN + 4 * mm, title=title,
                            author="Vigil", subject="Ketamine session monitoring record",
                            # de-identified: no real creation date in the file's metadata
                            invariant=1 if data.deidentified else None)
    story: list[Any] = [
        _p(title, _H1),
        _p("Recorded by Vigil, a secondary display and recorder; the primary monitor's "
           "alarms and records apply.", _SMALL),
        Spacer(1, 6),
        *_status_banner(data), *_header(data, opts), *_doses(data), *_baseline(data),
        *_rems(data), Spacer(1, 4), *_data_note(data), *_extremes(data),
        PageBreak(),
        _p("Whole-session vitals", _H2),
        _p("Phases on top; NIBP readings as V (systolic) and ^ (diastolic) with a tick at the "
           "mean; lines break where no value was measured. Below: alarm episodes (H high, "
           "M medium, L low), technical conditions, and markers D (dose start), S (dose stop) "
           "and numbers (timeline entries).", _SMALL),
        vitals_chart(data, width, 142 * mm),
    ]
    ratings = make_ratings_chart(data, width)
    story.append(_p("Dissociation and sedation", _H2))
    story.append(ratings if ratings is not None else
                 _p("No dissociation or sedation rating was recorded.", _BASE))
    story += [PageBreak(), *_alarm_log(data), *_timeline(data),
              *_technical(data), *_five_minute(data), *_nibp_table(data),
              *_discharge(data, opts)]

    story = _keep_headings(story)
    counted: list[int] = []

    def canvas(*args: Any, **kw: Any) -> _NumberedCanvas:
        return _NumberedCanvas(*args, footer=footer, counted=counted, **kw)

    doc.build(story, canvasmaker=canvas)
    out.write(buf.getvalue())
    return counted[-1]
