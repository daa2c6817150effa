"""The dissociation timeline and quick entry: keys reach the store through the recorder,
edits keep their history, undo never stores, marks sit at the right x, stored sessions
show read-only, REMS checkpoints are drawn."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QDialog
from ui_fakes import (
    FakeAlarmSource,
    FakeAudioOutput,
    FakeClock,
    FakeMonotonic,
    feed_through,
    session_messages,
    shown,
)

from devices.spec import parse_spec
from monitor.buffers import PlethRing, SessionTrends
from monitor.live import LiveState
from monitor.messages import Message, TimelineMark
from monitor.recorder import RecordingPlan, SessionRecorder
from monitor.runtime import IoThread
from monitor.session import DoseProtocol, Patient, Route, SessionStatus, TimelineEntry
from monitor.store import SessionStore
from tests.helpers.qt import in_dialog, share_of, to_array
from ui.app import DashboardSession
from ui.bridge import AlarmControl, AlarmRelay, Bridge
from ui.dashboard import USER, DashboardSources, DashboardWindow
from ui.entries import (
    CadssDialog,
    ChoiceDialog,
    EditDialog,
    EntryPanel,
    NoteDialog,
    RecorderEntries,
    parse_clock,
)
from ui.readouts import clock_text
from ui.theme import BACKGROUND
from ui.timeline import LANE_COLOURS, LANES, TimelineView, checkpoints_for_preset

K = Qt.Key


@dataclass
class EntryRig:
    window: DashboardWindow
    clock: FakeClock
    store: SessionStore
    recorder: SessionRecorder
    trends: SessionTrends
    io: IoThread
    sinks: list[Callable[[Message], None]]

    @property
    def panel(self) -> EntryPanel:
        return self.window.entry_panel

    def feed(self, *messages: Message) -> None:
        """As the runtime hands device messages on: a timeline mark stored first."""
        feed_through(self.io, self.sinks, messages, stamp=self.recorder.store_mark)

    def stored(self) -> tuple[TimelineEntry, ...]:
        return self.store.timeline(self.recorder.session_id)

    def close(self) -> None:
        self.window.close()
        self.recorder.finish(self.clock.t, SessionStatus.COMPLETED)
        self.io.stop()
        self.store.close()


def make_entry_rig(tmp_path: Path, preset: str | None = None) -> EntryRig:
    """The dashboard as the app wires it, with a real recorder (never started: entries go
    through its add/edit API into a real store) and a clock the test sets."""
    clock, mono = FakeClock(), FakeMonotonic()
    source = FakeAlarmSource(clock)
    io = IoThread().start()
    bridge = Bridge()
    live, pleth, trends = LiveState(), PlethRing(), SessionTrends(hours=3)
    source.add_listener(trends.alarm_event)
    relay = AlarmRelay(source, bridge)
    store = SessionStore(tmp_path / "sessions.sqlite3")
    plan = RecordingPlan((parse_spec("sim"),), 3 * 3600, preset=preset,
                         protocol=DoseProtocol("ketamine", Route.IV, 35.0, 40.0, "L123"))
    recorder = SessionRecorder(store, plan, io=io)
    sources = DashboardSources(clock.now, clock.wall, live, pleth, trends, bridge,
                               AlarmControl(relay, io), source, 300.0,
                               entries=RecorderEntries(recorder))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = DashboardWindow(sources, FakeAudioOutput(), settings, monotonic=mono)
    window.resize(1920, 1080)
    # Device messages reach the store as in a recording: marks through the recorder's
    # `store_mark` (see `feed`), the rest through its writer.
    sinks = [live, pleth, trends, recorder.writer.put, bridge.sink]
    return EntryRig(window, clock, store, recorder, trends, io, sinks)


@pytest.fixture
def erig(qtbot, tmp_path: Path) -> Iterator[EntryRig]:
    with shown(qtbot, make_entry_rig(tmp_path)) as r:
        yield r


def keys(qtbot, widget, *keys: Qt.Key) -> None:
    if QApplication.activeWindow() is not widget:  # offscreen: no window manager after a
        widget.activateWindow()                    # dialog closes
        qtbot.waitUntil(lambda: QApplication.activeWindow() is widget, timeout=2000)
    for k in keys:
        qtbot.keyClick(widget, k)


def test_quick_keys_store_the_right_entries(qtbot, erig: EntryRig):
    w, r = erig.window, erig
    expected: list[tuple[str, dict, float]] = []

    def check(kind: str, data: dict, t: float) -> None:
        keys(qtbot, w, K.Key_Return)  # save now instead of after the undo window
        expected.append((kind, data, t))
        got = [(e.kind, dict(e.data), e.t_s) for e in r.stored()]
        assert got == expected
        assert all(e.author == USER for e in r.stored())

    r.clock.t = 300.0
    keys(qtbot, w, K.Key_D)
    check("dose_start", {"drug": "ketamine", "route": "iv", "dose_mg": 35.0,
                         "infusion_min": 40.0, "lot": "L123"}, 300.0)
    r.clock.t = 900.0
    keys(qtbot, w, K.Key_3)
    check("dissociation", {"scale": "level", "score": 3}, 900.0)
    r.clock.t = 960.0
    keys(qtbot, w, K.Key_S, K.Key_4)
    check("sedation", {"scale": "moaas", "score": 4}, 960.0)
    r.clock.t = 1000.0
    keys(qtbot, w, K.Key_S, K.Key_5)
    check("sedation", {"scale": "moaas", "score": 5}, 1000.0)
    r.clock.t = 1010.0
    keys(qtbot, w, K.Key_5)  # 5 is no dissociation level: nothing is held
    assert r.panel.pending is None
    keys(qtbot, w, K.Key_0)
    check("dissociation", {"scale": "level", "score": 0}, 1010.0)

    r.clock.t = 1100.0
    in_dialog(ChoiceDialog, lambda d: qtbot.keyClick(d, K.Key_1))
    keys(qtbot, w, K.Key_E)
    check("side_effect", {"name": "nausea"}, 1100.0)
    r.clock.t = 1200.0

    def other(d: QDialog) -> None:
        qtbot.keyClick(d, K.Key_9)  # Other: asks for a description first
        assert d.isVisible()
        qtbot.keyClicks(d.text, "tingling")
        qtbot.keyClick(d.text, K.Key_Return)
    in_dialog(ChoiceDialog, other)
    keys(qtbot, w, K.Key_E)
    check("side_effect", {"name": "other", "text": "tingling"}, 1200.0)
    r.clock.t = 1300.0
    in_dialog(ChoiceDialog, lambda d: qtbot.keyClick(d, K.Key_7))
    keys(qtbot, w, K.Key_I)
    check("intervention", {"name": "infusion paused"}, 1300.0)
    r.clock.t = 1400.0

    def note(d: QDialog) -> None:
        qtbot.keyClicks(d.text, "asked for the lights dimmed")
        qtbot.keyClick(d.text, K.Key_Return)
    in_dialog(NoteDialog, note)
    keys(qtbot, w, K.Key_N)
    check("note", {"text": "asked for the lights dimmed"}, 1400.0)
    r.clock.t = 1500.0

    def cadss(d: QDialog) -> None:
        for k in (K.Key_1, K.Key_2, K.Key_0, K.Key_3, K.Key_1, K.Key_0):
            qtbot.keyClick(d, k)
        qtbot.keyClick(d, K.Key_Return)
    in_dialog(CadssDialog, cadss)
    keys(qtbot, w, K.Key_C)
    check("dissociation", {"scale": "cadss6", "score": 7,
                           "items": {"1": 1, "2": 2, "6": 0, "7": 3, "15": 1, "22": 0}},
          1500.0)
    r.clock.t = 2700.0
    keys(qtbot, w, K.Key_D)  # the dose is running: D stops it
    check("dose_stop", {}, 2700.0)
    # Every entry is on the timeline.
    assert {e.id for e in r.stored()} <= {eid for eid, _ in r.panel.timeline.marks}


def test_undo_never_stores_and_the_window_saves_by_itself(qtbot, erig: EntryRig):
    w, r = erig.window, erig
    r.clock.t = 700.0
    keys(qtbot, w, K.Key_4)
    assert r.panel.pending is not None and r.panel.undo_button.isVisible()
    keys(qtbot, w, K.Key_Escape)
    assert r.panel.pending is None
    keys(qtbot, w, K.Key_D)
    keys(qtbot, w, K.Key_Escape)  # an accidental dose key never reaches the record
    assert r.stored() == ()
    assert r.panel.dose_button.text() == "Dose start [D]"
    # A new entry saves the one held before it.
    keys(qtbot, w, K.Key_1)
    r.clock.t = 710.0
    keys(qtbot, w, K.Key_2)
    assert [dict(e.data)["score"] for e in r.stored()] == [1]
    # Left alone, the held entry is saved when its undo window ends.
    r.panel.undo_s = 0.05
    r.clock.t = 720.0
    keys(qtbot, w, K.Key_0)  # saves the 2, holds the 0 for 50 ms
    qtbot.waitUntil(lambda: len(r.stored()) == 3, timeout=3000)
    assert [(e.t_s, dict(e.data)["score"]) for e in r.stored()] == [(700.0, 1), (710.0, 2),
                                                                   (720.0, 0)]
    assert r.panel.pending is None


def test_edit_keeps_history_with_who_and_when(qtbot, erig: EntryRig, monkeypatch):
    w, r = erig.window, erig
    r.clock.t = 1200.0
    keys(qtbot, w, K.Key_2, K.Key_Return)
    (entry,) = r.stored()
    monkeypatch.setattr("ui.dashboard.USER", "nurse")

    def change(d: QDialog) -> None:
        assert d.entry.id == entry.id  # Ctrl+E opens the last entry made
        d.value.setCurrentIndex(d.value.findData(3))
        d.time.setText("0:19:30")
        d.save.click()
    in_dialog(EditDialog, change)
    qtbot.keyClick(w, K.Key_E, Qt.KeyboardModifier.ControlModifier)
    (edited,) = r.stored()
    assert edited.id == entry.id
    assert (edited.t_s, dict(edited.data)) == (1170.0, {"scale": "level", "score": 3})
    assert len(edited.revisions) == 1
    rev = edited.revisions[0]
    assert (rev.author, rev.t_s, dict(rev.data)) == ("nurse", 1200.0,
                                                     {"scale": "level", "score": 2})
    assert entry.created_wall <= rev.revised_wall

    # A second edit by someone else (the user comes from the window's one setting).
    monkeypatch.setattr("ui.dashboard.USER", "dr-kim")

    def add_text(d: QDialog) -> None:
        d.text.setText("eyes closed, calm")
        d.save.click()
    in_dialog(EditDialog, add_text)
    r.panel.edit(entry.id)  # as a tap on the mark does
    (edited,) = r.stored()
    assert [x.author for x in edited.revisions] == ["nurse", "dr-kim"]
    assert dict(edited.data)["text"] == "eyes closed, calm"
    # The dialog shows the history: entered by whom, then each change with who.
    shown: list[list[str]] = []

    def read(d: QDialog) -> None:
        shown.extend([d.history.item(i, j).text() for j in range(3)]
                     for i in range(d.history.rowCount()))
        d.reject()
    in_dialog(EditDialog, read)
    r.panel.edit(entry.id)
    assert [row[1] for row in shown] == ["unidentified staff", "nurse", "dr-kim"]
    assert shown[0][2] == "entered: 0:20:00  Dissociation level 2 (moderate)"
    assert shown[1][2] == ("changed: time 0:20:00 \u2192 0:19:30; Dissociation level 2 "
                           "(moderate) \u2192 Dissociation level 3 (strong)")
    assert shown[2][2] == ("changed: Dissociation level 3 (strong) \u2192 Dissociation level 3 "
                           "(strong) \u00b7 eyes closed, calm")


def test_tap_on_a_mark_opens_its_edit(qtbot, erig: EntryRig):
    r = erig
    r.clock.t = 1800.0
    keys(qtbot, r.window, K.Key_3, K.Key_Return)
    (entry,) = r.stored()
    tl = r.panel.timeline
    (eid, item), = tl.marks
    assert eid == entry.id
    centre = tl.mapFromScene(item.sceneBoundingRect().center())
    opened: list[int] = []
    in_dialog(EditDialog, lambda d: (opened.append(d.entry.id), d.reject()))
    qtbot.mouseClick(tl.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert opened == [entry.id]


def blend(colour: QColor, alpha: int) -> QColor:
    """`colour` at `alpha` over the dark background, as painted."""
    a = alpha / 255
    return QColor(*(round(c * a + b * (1 - a)) for c, b in zip(
        colour.getRgb()[:3], BACKGROUND.getRgb()[:3], strict=True)))


def lane_colour_columns(shot: np.ndarray, tl: TimelineView, lane: int) -> np.ndarray:
    """x pixels (in the timeline) where the lane's colour is drawn on its row."""
    y = int(tl.lane_px(lane))
    rows = shot[y - 6: y + 7]
    colour = LANE_COLOURS[lane]
    target = np.array([colour.red(), colour.green(), colour.blue()])
    hit = (np.abs(rows - target).max(axis=-1) <= 30).any(axis=0)
    return np.flatnonzero(hit)


def test_marks_sit_at_their_time_under_the_trend(qtbot, erig: EntryRig):
    r = erig
    r.clock.t = 2400.0
    r.feed(TimelineMark("sim", 600.0, 600.0, "dose_start", (("route", "iv"),)))
    qtbot.waitUntil(lambda: any(e.kind == "dose_start" for e in r.stored()), timeout=3000)
    for t, key in ((1500.0, K.Key_4), (2100.0, K.Key_1)):
        r.clock.t = t
        keys(qtbot, r.window, key, K.Key_Return)
    r.clock.t = 2400.0
    r.window.trend.refresh(force=True)
    r.panel.tick()
    qtbot.waitUntil(lambda: len(r.panel.timeline.entries) == 3, timeout=3000)
    tl = r.panel.timeline
    shot = to_array(tl.grab().toImage())
    xs = lane_colour_columns(shot, tl, 1)  # the dissociation lane
    for t in (1500.0, 2100.0):
        x = tl.x_px(t)
        near = xs[np.abs(xs - x) < 20]
        assert len(near) > 4, (t, x)
        assert abs(near.mean() - x) < 4  # the box is centred on its time
    assert not ((xs > tl.x_px(1500.0) + 30) & (xs < tl.x_px(2100.0) - 30)).any()
    # The x axis is the trend's: the same session time is at the same window x.
    trend_vb = r.window.trend.plots[0].getViewBox()
    for t in (600.0, 1500.0, 2100.0):
        x_trend = r.window.trend.mapFromScene(trend_vb.mapViewToScene(QPointF(t, 100))).x()
        x_window_trend = r.window.trend.mapTo(r.window, QPoint(int(x_trend), 0)).x()
        x_window_tl = tl.mapTo(r.window, QPoint(int(tl.x_px(t)), 0)).x()
        assert abs(x_window_trend - x_window_tl) <= 1
    # The dose lane shows the dose start line at 600 s.
    dose_xs = lane_colour_columns(shot, tl, 0)
    assert np.abs(dose_xs - tl.x_px(600.0)).min() <= 2


def test_checkpoints_are_drawn_route_aware(qtbot, tmp_path):
    entries = (TimelineEntry(1, "dose_start", 600.0, 0.0, {}, "sim", 0.0),)  # type: ignore[arg-type]
    rems = TimelineView(entries, checkpoints=checkpoints_for_preset("esketamine-rems"),
                        nibp_times=(330.0, 3000.0), now_s=3600.0)
    im = TimelineView(entries, checkpoints=checkpoints_for_preset("im-ketamine"),
                      nibp_times=(), now_s=4000.0)
    for view in (rems, im):
        qtbot.addWidget(view)
        view.resize(1600, 220)
        view.plot.setXRange(0, 9000, padding=0)
        view.show()
        qtbot.waitExposed(view)
    items = rems.checkpoint_items
    assert items["bp_window"].getRegion() == (600 + 35 * 60, 600 + 45 * 60)
    assert items["min_monitoring"].value() == 600 + 2 * 3600
    assert "\u2713" in items["pre_dose_bp"].textItem.toPlainText()
    assert "40 min \u2713" in items["bp_label"].textItem.toPlainText()
    assert "2 h minimum" in items["min_label"].textItem.toPlainText()
    # IM: the check at 20 min; no reading before the dose or in the window: crosses.
    assert im.checkpoint_items["bp_window"].getRegion() == (600 + 15 * 60, 600 + 25 * 60)
    assert "\u2717" in im.checkpoint_items["pre_dose_bp"].textItem.toPlainText()
    assert "20 min \u2717" in im.checkpoint_items["bp_label"].textItem.toPlainText()
    assert "REMS" in im.checkpoint_items["min_label"].textItem.toPlainText()
    # The window band is painted where it belongs.
    shot = to_array(rems.grab().toImage())
    y = int(rems.lane_px(3))
    inside = shot[y, int(rems.x_px(600 + 40 * 60))]
    outside = shot[y, int(rems.x_px(600 + 60 * 60))]
    assert inside.sum() > outside.sum() + 20


def test_read_only_from_a_stored_session(qtbot, tmp_path):
    path = tmp_path / "s.sqlite3"
    with SessionStore(path) as store:
        sid = store.create_session(Patient("AB"),
                                   DoseProtocol(route=Route.IV, infusion_min=40.0),
                                   "esketamine-rems", 1_700_000_000.0, {"sim": "sim"})
        store.add_entry(sid, "dose_start", 600.0, 1_700_000_600.0, {}, "nurse")
        eid = store.add_entry(sid, "sedation", 1800.0, 1_700_001_800.0,
                              {"scale": "moaas", "score": 3}, "nurse")
        store.edit_entry(eid, "dr-kim", data={"scale": "moaas", "score": 4})
        store.end_session(sid, SessionStatus.COMPLETED, 1_700_000_000.0 + 3 * 3600)
    with SessionStore(path, read_only=True) as store:
        session = store.load_session(sid)
    view = TimelineView.from_session(session, nibp_times=(300.0, 3000.0))
    qtbot.addWidget(view)
    view.resize(1600, 220)
    view.show()
    qtbot.waitExposed(view)
    assert view.x_px(0) < view.x_px(3 * 3600) <= view.width()
    texts = [item.textItem.toPlainText() for _, item in view.marks]
    assert "4 \u270e" in texts  # edited entries say so
    assert view.checkpoint_items["min_monitoring"].value() == 600 + 7200
    # The dosing band from the session's phases (40 min infusion).
    shot = to_array(view.grab().toImage())
    y = int(view.lane_px(0))
    band = shot[y, int(view.x_px(1200)): int(view.x_px(2400))]
    assert share_of(band, blend(LANE_COLOURS[0], 120), tol=12) > 0.5
    # Refreshing from new entries redraws; the same entries do not.
    assert view.redraw() is False
    view.set_entries(session.entries[:1])
    assert [eid for eid, _ in view.marks] == [session.entries[0].id]


def test_screenshot_timeline(qtbot, tmp_path, shots_dir):
    """Sim normal, 70 min in (dose at 10 min), with the entries a nurse makes."""
    out = shots_dir
    r = make_entry_rig(tmp_path, preset="esketamine-rems")
    qtbot.addWidget(r.window)
    r.window.show()
    qtbot.waitExposed(r.window)
    try:
        until = 70 * 60.0
        r.clock.t = until
        r.feed(*session_messages("normal", until))
        qtbot.waitUntil(lambda: any(e.kind == "dose_start" for e in r.stored()), timeout=5000)
        r.window.start()
        sink = RecorderEntries(r.recorder)
        for t, kind, data in (
                (600 - 30, "sedation", {"scale": "moaas", "score": 5}),
                (600 + 15 * 60, "dissociation", {"scale": "level", "score": 2}),
                (600 + 15 * 60, "sedation", {"scale": "moaas", "score": 4}),
                (600 + 22 * 60, "side_effect", {"name": "nausea"}),
                (600 + 24 * 60, "intervention", {"name": "ondansetron", "text": "4 mg IV"}),
                (600 + 30 * 60, "dissociation", {"scale": "level", "score": 3}),
                (600 + 30 * 60, "sedation", {"scale": "moaas", "score": 3}),
                (600 + 40 * 60, "dissociation", {"scale": "cadss6", "score": 9,
                                                 "items": {"1": 2, "2": 3, "6": 1, "7": 1,
                                                           "15": 2, "22": 0}}),
                (600 + 45 * 60, "sedation", {"scale": "moaas", "score": 4}),
                (600 + 47 * 60, "note", {"text": "eyes closed, music on, calm"}),
                (600 + 55 * 60, "dissociation", {"scale": "level", "score": 1})):
            sink.add_entry(kind, data, "nurse", t)
        r.clock.t = until
        keys(qtbot, r.window, K.Key_S, K.Key_5)  # held: shown dimmed with its Undo
        r.panel.reload()
        r.panel.tick()
        r.window.trend.refresh(force=True)
        r.window.refresh()
        qtbot.wait(20)
        shot = to_array(r.window.grab().toImage())
        r.window.grab().save(str(out / "timeline.png"))
        tl = r.panel.timeline
        top = tl.mapTo(r.window, QPoint(0, 0))
        for lane in range(len(LANES)):
            y = top.y() + int(tl.lane_px(lane))
            row = shot[y - 8: y + 9, top.x(): top.x() + tl.width()]
            assert share_of(row, LANE_COLOURS[lane], tol=30) > 0.001, LANES[lane][0]
        assert r.panel.toast.isVisible()
    finally:
        r.close()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 8 * 3600))
def test_clock_text_reads_back(seconds):
    assert parse_clock(clock_text(seconds)) == seconds


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789:- a", max_size=10))
def test_parse_clock_accepts_times_or_names_the_problem(text):
    try:
        t = parse_clock(text)
    except ValueError as e:
        assert repr(text.strip()) in str(e) or repr(text) in str(e)
    else:
        assert t >= 0


def test_live_marks_and_entries_reach_the_timeline_through_the_store(qtbot, tmp_path):
    """The real app wiring: the simulator's dose mark is stored by the recorder before it
    arrives through the bridge, so it is shown at once as the stored entry (editable, no
    read-only stand-in); a key press goes through the recorder to the store, the alarm
    engine and back to the timeline."""
    plan = RecordingPlan((parse_spec("sim:normal?dose=1"),), 3600.0, 4.0,
                         preset="esketamine-rems")
    with SessionStore(tmp_path / "vigil.sqlite3") as store:
        session = DashboardSession(store, plan)
        settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
        window = DashboardWindow(session.sources(), FakeAudioOutput(), settings)
        qtbot.addWidget(window)
        window.closing.connect(session.stop)
        session.start()
        window.show()
        qtbot.waitExposed(window)
        window.start()
        tl = window.entry_panel.timeline
        try:
            qtbot.waitUntil(lambda: any(e.kind == "dose_start" for e in tl.entries),
                            timeout=5000)
            (dose,) = [e for e in tl.entries if e.kind == "dose_start"]
            assert dose in store.timeline(session.recorder.session_id)  # its id, its data
            assert tl.checkpoints.min_required  # the REMS preset's 2 h minimum
            assert session.recorder.alarms.dose_start_s is not None
            keys(qtbot, window, K.Key_2, K.Key_Return)
            stored = store.timeline(session.recorder.session_id)
            (rating_entry,) = [e for e in stored if e.kind == "dissociation"]
            assert dict(rating_entry.data) == {"scale": "level", "score": 2}
            qtbot.waitUntil(lambda: rating_entry.id in {eid for eid, _ in tl.marks},
                            timeout=3000)
        finally:
            window.close()
        assert str(store.list_sessions()[0].status) == "interrupted"  # no discharge


def test_editing_the_dose_time_moves_the_band_and_checkpoints(qtbot, erig: EntryRig):
    r = erig
    r.clock.t = 1500.0
    r.feed(TimelineMark("sim", 600.0, 600.0, "dose_start",
                        (("route", "iv"), ("infusion_min", 40.0))))
    qtbot.waitUntil(lambda: any(e.id >= 0 for e in r.panel.timeline.entries), timeout=3000)
    r.panel.tick()
    tl = r.panel.timeline
    assert [(p.start_s, p.end_s) for p in tl.phases] == [(600.0, 3000.0)]

    def move(d: QDialog) -> None:
        d.time.setText("0:12:00")
        d.save.click()
    in_dialog(EditDialog, move)
    r.panel.edit(None)  # nothing made here yet: the latest entry, the sim's dose start
    (dose,) = r.stored()
    assert (dose.t_s, dose.revisions[0].author, dose.revisions[0].t_s) == (720.0, USER, 600.0)
    r.panel.tick()
    assert [(p.start_s, p.end_s) for p in tl.phases] == [(720.0, 3120.0)]
    assert tl.checkpoint_items["bp_window"].getRegion() == (720 + 35 * 60, 720 + 45 * 60)


def test_marks_never_run_under_the_lane_names(qtbot, erig: EntryRig):
    """A mark at the very left of the timeline (here: early in the session, the view
    starting before 0:00) stays clear of the lane names, which have a column of their own."""
    r = erig
    r.clock.t = 60.0
    tl = r.panel.timeline
    r.window.trend.refresh(force=True)
    r.panel.tick()
    left_t = tl.plot.getViewBox().viewRange()[0][0]
    r.clock.t = max(0.0, left_t + 5)
    keys(qtbot, r.window, K.Key_3, K.Key_Return, K.Key_D, K.Key_Return)  # level 3, dose
    r.clock.t = 60.0
    r.panel.tick()
    qtbot.waitUntil(lambda: len([e for e in tl.entries if e.id >= 0]) >= 2, timeout=3000)
    tl.redraw(force=True)
    names = [label.sceneBoundingRect() for label in tl.lane_labels]
    marks = [item.sceneBoundingRect() for _eid, item in tl.marks]
    assert len(marks) >= 2 and all(n.width() > 20 for n in names)
    assert [(n, m) for n in names for m in marks if n.intersects(m)] == []
    vb_left = tl.plot.getViewBox().sceneBoundingRect().left()
    assert all(n.right() <= vb_left for n in names)
