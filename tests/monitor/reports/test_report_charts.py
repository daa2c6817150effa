"""The vitals chart as drawn: a higher-priority alarm episode lies over a lower one, and no
label or marker is printed on top of another, however close the events are."""

from __future__ import annotations

import io
import itertools
import subprocess
from dataclasses import replace

import pytest
from reportlab.graphics.shapes import Group, Polygon, Rect, String
from reportlab.pdfbase.pdfmetrics import stringWidth

from alarms.model import Priority
from monitor.reports.charts import PRIORITY, ratings_chart, vitals_chart
from monitor.reports.data import AlarmRow, Event, Rating, ReportData, load_report
from monitor.reports.pdf import build_pdf
from monitor.store import SessionStore
from tests.monitor.reports.conftest import Recorded

# A long HIGH episode, then a MEDIUM and a LOW starting within seconds, inside it.
CLUSTER = (
    AlarmRow(3000.0, 3600.0, "spo2", "physiological", "SpO2 CRITICAL", Priority.HIGH, 81.0, 85.0,
             None),
    AlarmRow(3005.0, 3300.0, "spo2", "physiological", "SpO2 LOW", Priority.MEDIUM, 84.0, 90.0,
             None),
    AlarmRow(3010.0, 3200.0, "rr", "physiological", "RR HIGH", Priority.LOW, 31.0, 30.0, None),
)
# Four timeline entries a minute apart (a side effect, its treatment, notes).
CLOSE_EVENTS = tuple(Event(1800.0 + 60 * i, "note", f"n{i}", None, "RN Kim", False)
                     for i in range(4))


@pytest.fixture(scope="module")
def data(recorded: Recorded) -> ReportData:
    with SessionStore(recorded.db) as store:
        base = load_report(store, recorded.session_id)
    return replace(base, alarms=CLUSTER, events=CLOSE_EVENTS, discharges=())


def walk(g: Group) -> list[object]:
    out: list[object] = []
    for item in g.contents:
        out += walk(item) if isinstance(item, Group) else [item]
    return out


def test_higher_priority_episodes_are_drawn_over_lower_ones(data: ReportData) -> None:
    shapes = walk(vitals_chart(data, 560, 400))
    fills = {PRIORITY[p][0].rgb(): p for p in Priority}
    drawn = [fills[s.fillColor.rgb()] for s in shapes
             if isinstance(s, Rect) and s.fillColor is not None and s.fillColor.rgb() in fills]
    assert drawn == [Priority.LOW, Priority.MEDIUM, Priority.HIGH]  # later is on top


def _boxes(strings: list[String]) -> list[tuple[float, float, float, float]]:
    out = []
    for s in strings:
        w = stringWidth(s.text, s.fontName, s.fontSize)
        x0 = {"start": s.x, "middle": s.x - w / 2, "end": s.x - w}[s.textAnchor]
        out.append((x0, s.y, x0 + w, s.y + s.fontSize * 0.7))
    return out


def _overlaps(boxes: list[tuple[float, float, float, float]]) -> list[tuple[int, int]]:
    return [(i, j) for i, a in enumerate(boxes) for j, b in enumerate(boxes) if i < j
            and a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]]


def test_no_label_is_printed_over_another(data: ReportData) -> None:
    shapes = walk(vitals_chart(data, 560, 400))
    strings = [s for s in shapes if isinstance(s, String)]
    small = [s for s in strings if s.fontSize == 5.5]  # alarm letters and marker tags
    letters = [s for s in small if s.text in ("H", "M", "L")]
    assert sorted(s.text for s in letters) == ["H", "L", "M"]  # each episode's letter shown
    tags = [s for s in small if s.text.isdigit()]
    assert sorted(s.text for s in tags) == ["1", "2", "3", "4"]
    assert _overlaps(_boxes(strings)) == []
    triangles = [p for p in shapes if isinstance(p, Polygon) and len(p.points) == 6]
    spans = sorted((min(p.points[0::2]), max(p.points[0::2])) for p in triangles)
    assert len(spans) == 4 + 2  # the entries, dose start and stop
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans


def test_rating_values_close_in_time_are_not_printed_over_each_other(data: ReportData
                                                                      ) -> None:
    close = tuple(Rating(1800.0 + 30 * i, "sedation", "moaas", score, "RN Kim", False)
                  for i, score in enumerate((3, 3, 4, 3)))
    chart = ratings_chart(replace(data, ratings=close), 560)
    assert chart is not None
    values = [s for s in walk(chart) if isinstance(s, String) and s.fontName == "Helvetica-Bold"
              and s.text in ("3", "4")]
    assert values and values[0].text == "3"  # the first is always shown
    assert _overlaps(_boxes(values)) == []


HEADINGS = ("Protocol and dose record", "Pre-dose baseline vitals", "Whole-session vitals",
            "Dissociation and sedation", "Alarm log", "Ratings, side effects, interventions "
            "and notes", "Device and technical events", "Vitals every 5 minutes",
            "Every NIBP reading", "Discharge", "Edit history", "Attestation")
NOTES = ("Each value is", "# is the marker", "Phases on top", "Alarm limits changed")


def _lines(page: str) -> list[str]:
    return [ln.strip() for ln in page.splitlines()
            if ln.strip() and not ln.strip().startswith("Vigil session report")]


@pytest.mark.parametrize(("notes", "scales"), [
    *((n, 2) for n in (0, 8, 16, 24, 32)),
    (0, 3), (0, 4), (10, 4)])
def test_no_heading_alone_at_the_bottom_of_a_page(recorded: Recorded, tmp_path,
                                                   notes: int, scales: int) -> None:
    """Longer and shorter timelines move every later section up and down the pages; more
    rating scales make a taller dissociation and sedation chart."""
    with SessionStore(recorded.db) as store:
        base = load_report(store, recorded.session_id)
    extra = tuple(Event(600.0 + 150 * i, "note", "note", f"observation {i}", "RN Kim", False)
                  for i in range(notes))
    more = tuple(Rating(900.0 + 600 * i, kind, scale, score, "RN Kim", False)
                 for kind, scale, score in (("sedation", "rass", -1), ("dissociation",
                                                                       "cadss6", 7))[:scales - 2]
                 for i in range(3))
    buf = io.BytesIO()
    build_pdf(replace(base, events=base.events + extra, ratings=base.ratings + more), buf)
    path = tmp_path / "r.pdf"
    path.write_bytes(buf.getvalue())
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    for n, page in enumerate(text.split("\f")[:-1], start=1):
        lines = _lines(page)
        for k, line in enumerate(lines):
            if line not in HEADINGS:
                continue
            after = lines[k + 1:]
            if after and after[0].startswith(NOTES):
                after = after[1:]
            assert after, f"page {n}: '{line}' alone at the bottom"
