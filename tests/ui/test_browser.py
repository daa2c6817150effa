"""The session browser and the read-only session view, offscreen, on sessions recorded by
`main.py record` (several patients and scenarios, one killed mid-session)."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QDate, QPoint, QPointF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from alarms.model import Priority
from monitor.export_alarms import HEADER as ALARMS_HEADER
from monitor.export_csv import HEADER as VITALS_HEADER
from monitor.session import SessionStatus
from monitor.store import SessionStore
from tests.helpers.paths import REPO
from tests.helpers.processes import end_process
from tests.helpers.qt import to_array
from tests.killed import record_then_kill
from ui.browser import SessionBrowser
from ui.session_view import STATUS_COLOURS, SessionView
from ui.theme import ALARM_COLOURS, vital_colour

RECORDED = {  # patient -> (device, duration s)
    "AB-1001": ("sim", 1200),
    "CD-2002": ("sim:desaturation", 2400),  # SpO2 falls ~13 min in: alarms
    "ab-1003": ("sim:hypertensive-surge", 900),
}
KILLED = "EF-4004"


def _vigil(*args: str) -> list[str]:
    return [sys.executable, str(REPO / "main.py"), *args]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three sessions recorded at full speed in parallel, then one killed with SIGKILL
    after a few seconds of recording (it shows as interrupted)."""
    db = tmp_path_factory.mktemp("browser") / "sessions.sqlite3"
    SessionStore(db).close()  # created (and migrated) once, before the writers share it
    procs = [subprocess.Popen(_vigil("record", "--device", dev, "--duration", str(dur),
                                     "--speed", "max", "--db", str(db), "--patient", who),
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
             for who, (dev, dur) in RECORDED.items()]
    try:
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    record_then_kill(db, "--device", "sim", "--duration", "3600", "--patient", KILLED)
    return db


def store_bytes(db: Path) -> dict[str, list]:
    """Every table's rows but the audit trail's: what browsing must never change (opening
    a session or exporting one adds an audit row saying who did it, issue 14)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type ="
                                             " 'table' AND name != 'audit' ORDER BY name")]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall()
                for t in tables}
    finally:
        conn.close()


@pytest.fixture
def browser(qtbot, store: Path):
    b = SessionBrowser(store)
    qtbot.addWidget(b)
    b.show()
    qtbot.waitExposed(b)
    yield b
    b.close()


def open_view(qtbot, browser: SessionBrowser, patient: str) -> SessionView:
    row = next(i for i, r in enumerate(browser.shown) if r.patient == patient)
    browser.table.selectRow(row)
    with qtbot.waitSignal(browser.opened, timeout=5000) as opened:
        browser.open_selected()
    view = opened.args[0]
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.history is not None, timeout=20000)
    return view


def test_lists_every_session_newest_first_and_filters(browser, store, qtbot, shots_dir):
    rows = browser.rows
    assert sorted(r.patient for r in rows) == sorted([*RECORDED, KILLED])
    assert [r.start_wall for r in rows] == sorted((r.start_wall for r in rows), reverse=True)
    assert rows[0].patient == KILLED  # recorded last
    by_patient = {r.patient: r for r in rows}
    assert by_patient[KILLED].status is SessionStatus.INTERRUPTED
    for who, (_dev, seconds) in RECORDED.items():
        assert by_patient[who].status is SessionStatus.COMPLETED
        assert by_patient[who].duration_s == pytest.approx(seconds)
    assert by_patient["CD-2002"].alarm_count >= 2  # SpO2 low (then critical), RR low
    assert by_patient["AB-1001"].alarm_count == 0
    # The table shows what the rows hold, one line each.
    table = browser.table
    assert table.rowCount() == 4
    assert [table.item(i, 1).text() for i in range(4)] == [r.patient for r in rows]
    assert table.item(0, 4).text() == "INTERRUPTED"
    assert browser.count_label.text() == "4 of 4 sessions"
    browser.table.selectRow([r.patient for r in rows].index("CD-2002"))
    assert browser.selected_id() == by_patient["CD-2002"].id
    assert browser.export.session_id == by_patient["CD-2002"].id
    shot = to_array(browser.grab().toImage())
    browser.grab().save(str(shots_dir / "browser.png"))
    # The interrupted session's status stands out in its own colour (not an alarm colour).
    item = table.visualItemRect(table.item(0, 4))
    top_left = table.viewport().mapTo(browser, item.topLeft())
    cell = shot[top_left.y():top_left.y() + item.height(),
                top_left.x():top_left.x() + item.width()]
    orange = np.array(QColor(STATUS_COLOURS[SessionStatus.INTERRUPTED]).getRgb()[:3])
    assert (np.abs(cell - orange).max(axis=-1) <= 40).mean() > 0.03

    browser.patient_field.setText("ab-10")
    assert sorted(r.patient for r in browser.shown) == ["AB-1001", "ab-1003"]
    assert browser.count_label.text() == "2 of 4 sessions"
    browser.patient_field.clear()
    browser.status_field.setCurrentIndex(browser.status_field.findText("Interrupted"))
    assert [r.patient for r in browser.shown] == [KILLED]
    browser.status_field.setCurrentIndex(0)
    today = date.fromtimestamp(rows[0].start_wall)
    tomorrow = today + timedelta(days=1)
    browser.date_from.setDate(QDate(tomorrow.year, tomorrow.month, tomorrow.day))
    assert browser.shown == [] and table.rowCount() == 0
    assert not browser.open_button.isEnabled()
    assert not any(b.isEnabled() for b in browser.export.buttons.values())
    browser.date_from.setDate(QDate(today.year, today.month, today.day))
    browser.date_to.setDate(QDate(today.year, today.month, today.day))
    assert len(browser.shown) == 4


def test_open_read_only_shows_the_stored_trend_and_alarm_shading(browser, store, qtbot,
                                                                 shots_dir):
    before = store_bytes(store)
    view = open_view(qtbot, browser, "CD-2002")
    view.show_alarms.setChecked(True)
    qtbot.waitExposed(view)
    h = view.history
    assert h is not None and h.end_s == pytest.approx(2400)
    assert view.status_badge.text() == "COMPLETED" and view.banner.isHidden()
    assert "CD-2002" in view.title_label.text() and "0:40:00" in view.title_label.text()
    assert "dose at 0:10:00" in view.detail_label.text()
    lo, hi = view.trend.x_range()
    assert lo <= 0 and hi >= 2400  # the whole session in view
    view.trend.refresh(force=True)
    qtbot.wait(10)
    shot = to_array(view.grab().toImage())
    view.grab().save(str(shots_dir / "session-view.png"))

    trend = view.trend
    origin = trend.mapTo(view, QPoint(0, 0))

    def px(row: int, t_s: float, value: float) -> tuple[int, int]:
        vb = trend.plots[row].getViewBox()
        p = trend.mapFromScene(vb.mapViewToScene(QPointF(t_s, value)))
        return origin.x() + p.x(), origin.y() + p.y()

    # HR: the stored curve is drawn across the session, in the HR colour, 55-110 bpm.
    x0, y0 = px(0, 60.0, 110.0)
    x1, y1 = px(0, 2340.0, 55.0)
    green = np.array(vital_colour("hr").getRgb()[:3])
    has_hr = (np.abs(shot[y0:y1, x0:x1] - green).max(axis=-1) <= 40).any(axis=0)
    assert has_hr.mean() > 0.9, has_hr.mean()
    # SpO2 row: the desaturation that reached the critical tier is shaded red where the alarm
    # log says, not before.
    [crit] = [e for e in h.episodes if e.rule_id == "spo2-low"]
    assert crit.highest is Priority.HIGH and crit.end_t_s is not None

    def redness(t_s: float) -> float:
        x, y_top = px(1, t_s, 99.0)
        _, y_bottom = px(1, t_s, 60.0)
        col = shot[y_top:y_bottom, x - 1:x + 2].reshape(-1, 3)
        return float(np.median(col[:, 0]) - np.median(col[:, 2]))

    red = ALARM_COLOURS[Priority.HIGH]
    assert red.red() > red.blue()
    inside = redness((crit.onset_t_s + crit.end_t_s) / 2)
    outside = redness(crit.onset_t_s - 300)
    assert inside > 30 and outside < 10, (inside, outside)
    # The timeline under it: the dose marks and, ticked, the alarms.
    cells = [r.cells for r in view.entries.rows]
    assert cells[0][:3] == ("0:10:00", "+0:00:00", "Dose start")
    assert "ketamine" in cells[0][3] and "35 mg" in cells[0][3]
    assert any(c[2] == "Physiological alarm" and "worst" in c[3] for c in cells)
    assert view.entries.rowCount() == len(cells)
    view.close()
    assert store_bytes(store) == before


def test_interrupted_session_is_marked_and_its_data_shown(browser, store, qtbot):
    view = open_view(qtbot, browser, KILLED)
    h = view.history
    assert h.session.status is SessionStatus.INTERRUPTED
    assert view.status_badge.text() == "INTERRUPTED"
    assert not view.banner.isHidden() and "INTERRUPTED" in view.banner.text()
    t, v = h.trends.series("hr")
    with SessionStore(store, read_only=True) as ro:
        stored_t, stored_v = ro.sample_arrays(h.session.id, "hr")
    assert len(t) >= 2 and list(t) == list(stored_t) and list(v) == list(stored_v)
    assert h.end_s >= t[-1]
    view.close()


def test_zoom_pan_and_timeline_linking(browser, qtbot):
    view = open_view(qtbot, browser, "AB-1001")
    trend = view.trend
    whole = trend.x_range()
    view.act_zoom_in.trigger()
    lo, hi = trend.x_range()
    assert hi - lo < whole[1] - whole[0]
    view.centre_on(600.0)
    lo, hi = trend.x_range()
    assert (lo + hi) / 2 == pytest.approx(600.0)
    # A timeline widget slotted in under the trend shares its time axis.
    timeline = pg.PlotWidget()
    view.set_timeline_widget(timeline, timeline.getPlotItem())
    assert not view.timeline_box.isHidden()
    def spans() -> tuple[float, float]:
        t_lo, t_hi = timeline.getPlotItem().getViewBox().viewRange()[0]
        lo, hi = trend.x_range()
        return t_hi - t_lo, hi - lo

    view.act_whole.trigger()
    wide = spans()
    view.act_zoom_in.trigger()  # the timeline follows the trend's zoom
    narrow = spans()
    assert narrow[1] < wide[1]
    assert narrow[0] / wide[0] == pytest.approx(narrow[1] / wide[1], rel=1e-3)
    # Double-clicking an entry centres the trend on it.
    view.entries.entryActivated.emit(view.entries.rows[0].t_s)
    lo, hi = trend.x_range()
    assert (lo + hi) / 2 == pytest.approx(view.entries.rows[0].t_s)
    view.close()


@pytest.mark.parametrize("fmt", ["pdf", "csv", "alarms", "fhir"])
def test_export_from_the_browser_off_the_gui_thread(browser, store, qtbot, tmp_path, fmt):
    before = store_bytes(store)
    row = next(i for i, r in enumerate(browser.shown) if r.patient == "CD-2002")
    browser.table.selectRow(row)
    panel = browser.export
    panel.deidentify.setChecked(fmt == "fhir")
    out = tmp_path / f"out.{fmt}"
    with qtbot.waitSignal(panel.finished, timeout=30000) as done:
        panel.export(fmt, out)
        # export() returned at once; the work is on a pool thread, buttons wait for it.
        assert panel.busy and not panel.buttons["pdf"].isEnabled()
        assert panel.status.text().startswith("Writing")
    fmt_done, path, ok, message = done.args
    assert (fmt_done, path, ok) == (fmt, str(out), True), message
    assert str(out) in panel.status.text() and panel.buttons["pdf"].isEnabled()
    data = out.read_bytes()
    if fmt == "pdf":
        assert data.startswith(b"%PDF")
    elif fmt == "fhir":
        bundle = json.loads(data)
        assert bundle["resourceType"] == "Bundle" and bundle["entry"]
        assert b"CD-2002" not in data  # de-identified
    else:
        header = next(csv.reader(io.StringIO(data.decode())))
        assert tuple(header) == (VITALS_HEADER if fmt == "csv" else ALARMS_HEADER)
        assert len(data.splitlines()) > (1000 if fmt == "csv" else 2)
    assert store_bytes(store) == before


def test_export_error_is_shown_in_words(browser, qtbot, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "report.pdf"  # a folder that is a file: cannot be written
    browser.table.selectRow(0)
    panel = browser.export
    with qtbot.waitSignal(panel.finished, timeout=30000) as done:
        panel.export("pdf", out)
    assert done.args[2] is False
    text = panel.status.text()
    assert text.startswith("Could not write the PDF report.")
    assert str(out) in text and "Not a directory" in text
    assert "ff8a65" in panel.status.styleSheet()
    assert panel.buttons["pdf"].isEnabled()


# offscreen has no window stacking (raise) nor size hints
@pytest.mark.qt_log_ignore("This plugin does not support raise",
                           "This plugin does not support propagateSizeHints")
def test_dashboard_ctrl_o_opens_the_browser_on_its_store(rig, store, qtbot):
    before = store_bytes(store)
    keys = [s.toString() for a in rig.window.actions() for s in a.shortcuts()]
    assert keys.count("Ctrl+O") == 1 and len(keys) == len(set(keys))
    rig.window.sources.store_path = store
    rig.window.act_browse.trigger()
    browser = rig.window.browser
    assert browser is not None and browser.isVisible()
    assert browser.store_path == store and len(browser.rows) == 4
    assert isinstance(browser, QWidget) and browser.isWindow()
    rig.window.close()
    assert not browser.isVisible()  # closes with the dashboard
    assert store_bytes(store) == before


def test_browse_command_opens_and_quits_on_sigterm(store):
    before = store_bytes(store)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(_vigil("browse", "--db", str(store)), cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        while line and not line.startswith("vigil: browsing"):
            line = proc.stderr.readline()  # the offscreen platform's own notes
        assert line.strip() == f"vigil: browsing {store} (read-only)"
    finally:
        end_process(proc, signal.SIGTERM, 15)
    assert proc.returncode == 0
    assert store_bytes(store) == before


def test_browse_command_without_a_store_says_so(tmp_path):
    proc = subprocess.run(_vigil("browse", "--db", str(tmp_path / "none.sqlite3")), cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2  # a mistyped --db is a usage error
    assert "none.sqlite3: no session store there" in proc.stderr
    assert not (tmp_path / "none.sqlite3").exists()


def test_entry_rows_say_what_was_entered_by_whom_and_edits():
    from types import MappingProxyType

    from monitor.session import Revision, TimelineEntry
    from monitor.store_rows import DeviceEventRow
    from ui.entry_list import entry_rows

    def entry(i: int, kind: str, t_s: float, revisions: tuple[Revision, ...] = (),
              **data: object) -> TimelineEntry:
        return TimelineEntry(i, kind, t_s, 1e9 + t_s, MappingProxyType(data), "RN Lee",
                             1e9 + t_s, revisions)

    edit = Revision(1e9 + 2000, "Dr Mo", 1500.0, MappingProxyType({"scale": "moaas",
                                                                    "score": 3}))
    rows = entry_rows(
        [entry(1, "dose_start", 600.0, drug="ketamine", route="iv", dose_mg=35.0,
               infusion_min=40.0, lot="K123"),
         entry(2, "sedation", 1500.0, (edit,), scale="moaas", score=4),
         entry(3, "dissociation", 1800.0, scale="level", score=2),
         entry(4, "side_effect", 2100.0, name="nausea", text="mild, settled"),
         entry(5, "discharge", 7200.0, scale="aldrete", score=9, ready_t_s=7100.0),
         entry(6, "note", 300.0, text="anxious before the dose")],
        600.0,
        [DeviceEventRow(2500.0, "sim", "condition", "sensor_off", True, "spo2", None)])
    cells = [r.cells for r in rows]
    assert [c[0] for c in cells] == ["0:05:00", "0:10:00", "0:25:00", "0:30:00", "0:35:00",
                                     "0:41:40", "2:00:00"]
    assert cells[0][1:4] == ("−0:05:00", "Note", "anxious before the dose")
    assert cells[1][1:4] == ("+0:00:00", "Dose start", "ketamine IV 35 mg over 40 min, lot K123")
    assert cells[2][2:5] == ("Sedation", "MOAA/S 4", "RN Lee")
    assert cells[2][5].startswith("edited last by Dr Mo at ")
    assert cells[3][3] == "level 2" and cells[3][5] == ""
    assert cells[4][3] == "nausea · mild, settled"
    assert cells[5][2:4] == ("Device", "sim: sensor off (spo2) began") and rows[5].device
    assert cells[6][3] == "modified Aldrete 9, ready to leave at 1:58:20"


def test_active_session_is_marked_and_reloads_to_show_more(qtbot, db_path):
    from monitor.messages import Numerics
    from monitor.session import DoseProtocol, Patient

    wall0 = 1_790_000_000.0
    with SessionStore(db_path) as rw:
        sid = rw.create_session(Patient("GH"), DoseProtocol(), None, wall0)  # ours: active

        def write(t0: int, t1: int) -> None:
            writer = rw.writer(sid)
            try:
                for t in range(t0, t1):
                    writer.put(Numerics("sim", wall0 + t, float(t), (("hr", 80.0),)))
                assert writer.flush()
            finally:
                writer.close()

        write(0, 60)
        view = SessionView(db_path, sid)
        qtbot.addWidget(view)
        with qtbot.waitSignal(view.loaded, timeout=20000):
            pass
        assert view.status_badge.text() == "ACTIVE"
        assert "STILL RECORDING: shown up to 0:00:59" in view.banner.text()
        assert not view.reload_button.isHidden()
        write(60, 120)
        with qtbot.waitSignal(view.loaded, timeout=20000):
            view.reload_button.click()
        assert view.history.end_s == 119.0
        assert len(view.history.trends.series("hr")[0]) == 120
        assert view.trend.x_range()[1] >= 119.0
        view.close()



def test_high_episodes_in_their_colour_and_cadss_as_a_table(store, qtbot, tmp_path):
    """CD-2002's desaturation is one SpO2 alarm that reached HIGH (SpO2 CRITICAL): the SpO2
    row is shaded in the HIGH colour alone, not a MEDIUM shade under a HIGH one. Two CADSS-6
    ratings show as a table, item by item."""
    copy = tmp_path / "copy.sqlite3"
    with SessionStore(store) as src:
        sid = next(s.id for s in src.list_sessions() if s.patient == "CD-2002")
    for suffix in ("", "-wal"):
        if Path(str(store) + suffix).exists():
            Path(str(copy) + suffix).write_bytes(Path(str(store) + suffix).read_bytes())
    ratings = ((1200.0, {"1": 2, "2": 3, "6": 1, "7": 0, "15": 4, "22": 1}),
               (2100.0, {"1": 0, "2": 1, "6": 0, "7": 0, "15": 1, "22": 0}))
    with SessionStore(copy) as rw:
        w0 = rw.load_session(sid).start_wall
        for t, items in ratings:
            rw.add_entry(sid, "dissociation", t, w0 + t,
                         {"scale": "cadss6", "score": sum(items.values()), "items": items},
                         "RN Kim")
    view = SessionView(copy, sid)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.loaded, timeout=20000):
        pass
    h = view.history
    # One SpO2 alarm whose priority rose from MEDIUM (< 90 %) to HIGH (< 85 %): tiers merged.
    [desat] = [e for e in h.episodes if e.vital == "spo2" and e.kind == "physiological"]
    assert desat.rule_id == "spo2-low" and desat.highest is Priority.HIGH
    mid = (desat.onset_t_s + desat.end_t_s) / 2
    row = 1  # SpO2
    shading = [r for r in view.trend._episode_items[row]
               if r.isVisible() and r.getRegion()[0] <= mid <= r.getRegion()[1]]
    assert len(shading) == 1  # one shade, not a MEDIUM one under the HIGH one
    colour = shading[0].brush.color()
    high = ALARM_COLOURS[Priority.HIGH]
    assert (colour.red(), colour.green(), colour.blue()) == (high.red(), high.green(),
                                                             high.blue())
    # CADSS-6: one column per rating, one row per item with its anchor word, and the total.
    t = view.cadss
    assert not t.isHidden() and t.columnCount() == 2 and t.rowCount() == 6 + 1
    assert t.horizontalHeaderItem(0).text().startswith("0:20:00")
    assert t.verticalHeaderItem(0).text() == "1. Things seem to move in slow motion"
    assert t.verticalHeaderItem(4).text().startswith("15. ")
    assert [t.item(r, 0).text() for r in range(6)] == [
        "2  moderately", "3  considerably", "1  slightly", "0  not at all", "4  extremely",
        "1  slightly"]
    assert t.item(6, 0).text() == "11 / 24" and t.item(6, 1).text() == "2 / 24"
    assert view.entries.rows[1].cells[3] == (
        "CADSS-6 11 (items 1: 2, 2: 3, 6: 1, 7: 0, 15: 4, 22: 1)")
    view.close()
