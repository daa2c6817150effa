"""The session-room dashboard window: header, alarm banner, numeric tiles, pleth, trend.

It answers, in one glance from across a dim room: is my patient all right (the tiles),
what is happening (the banner: the patient's alarms; the System strip under it: devices,
audio, storage), how long since the dose (the header), what needs me now (the banner's
first alarm, acknowledge and audio pause beside it).

Everything here runs on the GUI thread. Numerics and alarm snapshots arrive as queued
bridge signals; the tiles are re-read from `LiveState` a few times a second (staleness is
a matter of time passing, not of messages arriving) and repainted only when their text
changes; the pleth and trend pull their buffers on their own timers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QPoint, QRect, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QPaintEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from alarms.model import AlarmKind, AlarmSnapshot, AlarmState, Priority
from monitor.buffers import PlethRing, SessionTrends
from monitor.live import LiveState
from monitor.messages import DeviceState, DeviceStatus
from monitor.session import phase_at
from monitor.signin import SignIn
from monitor.staff import UNIDENTIFIED
from monitor.vitals import VITALS
from ui.alarm_keys import AlarmKeys
from ui.audio import AlarmAudio, AudioOutput
from ui.banner import AlarmBanner, TechnicalStrip
from ui.bridge import AlarmControl, Bridge
from ui.devices_panel import ClickableLabel, DeviceControl, DevicesPanel
from ui.entries import EntryPanel
from ui.flash import FlashClock
from ui.limits_dialog import LimitEditor, LimitsDialog
from ui.placement import place_clear_of_numerics
from ui.pleth import PlethView
from ui.readouts import clock_text, continuous_tile, latched_mark, nibp_tile
from ui.signin import RoomSignIn, install_room_signin
from ui.sources import EntrySink, LimitSource
from ui.theme import ALARM_COLOURS, STYLESHEET, TEXT_DIM, named, vital_colour
from ui.tiles import LatchedMark, VitalTile
from ui.trend import TrendView

if TYPE_CHECKING:  # loaded only when the browser is opened (open_browser)
    from ui.browser import SessionBrowser
    from ui.pleth_plot import PlotPlethView  # only the benchmark's baseline draws it

TILE_REFRESH_MS = 250
LANE_PX = 24  # a timeline lane: its marks' 14-16 px bold text in a box, at 1080 and at 768
TIMELINE_SHOWN = "Timeline \u25be"  # the button that collapses it to the dose lane
TIMELINE_COLLAPSED = "Timeline \u25b8"
USER = UNIDENTIFIED  # who acts at a dashboard with no sign-in (no store: a test's window)

# The vital whose number a tile shows big (a latched badge names any other).
MAIN_VITAL = {"hr": "hr", "spo2": "spo2", "nibp": None, "rr": "rr"}


class HintLabel(QLabel):
    """A hint shown whole or not at all: on a narrow window (1366 px) it gives way to the
    buttons beside it rather than showing a cut-off piece."""

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.width() >= self.sizeHint().width():
            super().paintEvent(event)


@dataclass
class DashboardSources:
    """What the window reads. `now_s` is the session clock; `wall_of` turns session seconds
    into epoch seconds for the times shown."""

    now_s: Callable[[], float]
    wall_of: Callable[[float], float]
    live: LiveState
    pleth: PlethRing
    trends: SessionTrends
    bridge: Bridge
    alarms: AlarmControl | None = None
    limits: LimitSource | None = None
    nibp_interval_s: float | None = None
    devices: DeviceControl | None = None  # the devices panel (Ctrl+D)
    limit_editor: LimitEditor | None = None  # the alarm-limits dialog (Ctrl+L)
    entries: EntrySink | None = None  # the timeline's entry API (ui/entries.py)
    store_path: Path | None = None  # the session browser (Ctrl+O) reads it, read-only
    session_id: int | None = None  # the header: the session number
    patient: str | None = None  # and the patient as entered (id or initials); on screen only
    signin: SignIn | None = None  # who is signed in at this screen (ui/signin.py, issue 14)


class DashboardWindow(QMainWindow):
    closing = Signal()
    browser: SessionBrowser | None = None  # the session browser, once opened

    def __init__(self, sources: DashboardSources, audio_output: AudioOutput,
                 settings: QSettings | None = None, kiosk: bool = False,
                 monotonic: Callable[[], float] = time.monotonic,
                 parent: QWidget | None = None, baseline_draw: bool = False) -> None:
        super().__init__(parent)
        self.sources = sources
        # The pleth and trend as drawn before they were made incremental: only the dashboard
        # benchmark sets it, to measure the current design against them in the same run.
        self.baseline_draw = baseline_draw
        self.settings = settings if settings is not None else QSettings("Vigil", "dashboard")
        self.kiosk = kiosk
        self.snapshot: AlarmSnapshot | None = None
        self.device_states: dict[str, DeviceState] = {}
        self.device_details: dict[str, str] = {}  # why a device is not streaming
        self.devices_panel: DevicesPanel | None = None  # opened on demand (Ctrl+D)
        self.limits_dialog: LimitsDialog | None = None  # (Ctrl+L)
        self.ended = False  # the recording has ended (session_ended): nothing updates
        # Asked before the window closes (ui/lifecycle.py: quitting while recording); False
        # keeps the window open.
        self.confirm_close: Callable[[], bool] | None = None
        self.room: RoomSignIn | None = None  # staff sign-in (issue 14)
        self.setWindowTitle("Vigil")
        self.setStyleSheet(STYLESHEET)
        self.flash = FlashClock(monotonic, self)
        self.audio = AlarmAudio(audio_output, monotonic, self)
        self._build()
        self._actions()
        self.room = install_room_signin(self, sources.signin)
        if self.room is not None:
            self.room.changed.connect(self._signed_in_changed)
        self.flash.changed.connect(self._apply_tile_alarms)
        b = sources.bridge
        b.numericsArrived.connect(self._on_numerics)
        b.alarmsChanged.connect(self._on_alarms)
        b.deviceChanged.connect(self._on_device)
        b.timelineMarked.connect(self._on_timeline)
        self._timer = QTimer(self)
        self._timer.setInterval(TILE_REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        if sources.alarms is not None:
            sources.alarms.set_audio_available(audio_output.available())
            changed = getattr(audio_output, "availabilityChanged", None)
            if changed is not None:
                changed.connect(sources.alarms.set_audio_available)
        self._restore()

    # -- layout ------------------------------------------------------------------------

    def _build(self) -> None:
        s = self.sources
        root = QWidget(self)
        outer = QVBoxLayout(root)
        outer.setContentsMargins(10, 6, 10, 8)
        outer.setSpacing(8)

        header = QHBoxLayout()
        self.patient_label = named(QLabel(s.patient or "No patient id"), "patient")
        self.patient_label.setToolTip("the patient as entered in the new-session form")
        number = f"Session {s.session_id}" if s.session_id is not None else "Session"
        self.session_label = named(QLabel(f"{number}  0:00"), "header")
        self.dose_label = named(QLabel(""), "dose")
        self.audio_label = named(QLabel(""), "audio")
        self.device_label = named(ClickableLabel(""), "headerDim")  # tap: devices panel
        self.device_label.clicked.connect(self.open_devices)
        self.clock_label = named(QLabel(""), "header")
        header.addWidget(self.patient_label)
        header.addSpacing(20)
        header.addWidget(self.session_label)
        header.addSpacing(30)
        header.addWidget(self.dose_label)
        # The devices take the room left, right-aligned: a long reason (`masimo: no device
        # at /dev/serial/by-id/...`) never widens the window past a 1366 px screen (the
        # full text is in its tip).
        self.device_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.device_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        header.addWidget(self.device_label, 1)
        header.addSpacing(24)
        header.addWidget(self.audio_label)
        header.addSpacing(24)
        header.addWidget(self.clock_label)
        outer.addLayout(header)

        alarm_row = QHBoxLayout()
        self.banner = AlarmBanner(self.flash, s.wall_of)
        self.banner.setFixedHeight(96)
        alarm_row.addWidget(self.banner, 1)
        buttons = QVBoxLayout()
        self.ack_button = QPushButton("Acknowledge  [A]")
        self.pause_button = QPushButton("Audio pause 2:00  [P]")
        for btn in (self.ack_button, self.pause_button):
            btn.setFixedHeight(44)
            btn.setMinimumWidth(260)
            btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(btn)
        self.ack_button.clicked.connect(self.acknowledge)
        self.pause_button.clicked.connect(self.pause_audio)
        alarm_row.addLayout(buttons)
        outer.addLayout(alarm_row)
        # Technical conditions with no vital: their own line, never the patient's banner.
        self.strip = TechnicalStrip(self.flash, s.wall_of)
        self.strip.setFixedHeight(34)
        outer.addWidget(self.strip)

        tiles = QGridLayout()
        tiles.setSpacing(8)
        self.tiles = {
            "hr": VitalTile("HR", VITALS["hr"].unit, vital_colour("hr")),
            "spo2": VitalTile("SpO2", VITALS["spo2"].unit, vital_colour("spo2"),
                              vital_colour("pr")),
            "nibp": VitalTile("NIBP", VITALS["sbp"].unit, vital_colour("sbp"),
                              template="188/118"),
            "rr": VitalTile("RR", VITALS["rr"].unit, vital_colour("rr")),
        }
        for i, key in enumerate(("hr", "spo2", "nibp", "rr")):
            tiles.addWidget(self.tiles[key], 0, i)
            tiles.setColumnStretch(i, {"hr": 9, "spo2": 10, "nibp": 16, "rr": 8}[key])
        outer.addLayout(tiles, 34)

        self.pleth: PlethView | PlotPlethView
        if self.baseline_draw:
            from ui.pleth_plot import PlotPlethView
            self.pleth = PlotPlethView(s.pleth, s.now_s)
        else:
            self.pleth = PlethView(s.pleth, s.now_s)
        outer.addWidget(self.pleth, 14)

        trend_bar = QHBoxLayout()
        self.follow_button = QPushButton("Follow now  [F]")
        self.follow_button.setCheckable(True)
        self.follow_button.setChecked(True)
        self.follow_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.follow_button.clicked.connect(lambda: self.trend.set_follow(True))
        self.window_label = named(QLabel(""), "headerDim")
        trend_bar.addWidget(named(QLabel("Session trend"), "headerDim"))
        trend_bar.addSpacing(20)
        trend_bar.addWidget(self.window_label)
        trend_bar.addStretch(1)
        hint = named(HintLabel("zoom  [+] [-]   pan: drag"), "headerDim")
        hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        trend_bar.addWidget(hint, 1)
        trend_bar.addSpacing(16)
        # The timeline under the trend: its lanes in use, or the dose lane alone.
        self.timeline_button = QPushButton(TIMELINE_SHOWN)
        self.timeline_button.setCheckable(True)
        self.timeline_button.setChecked(True)
        self.timeline_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.timeline_button.toggled.connect(self._show_timeline_lanes)
        trend_bar.addWidget(self.timeline_button)
        trend_bar.addSpacing(8)
        trend_bar.addWidget(self.follow_button)
        outer.addLayout(trend_bar)
        self.trend_bar = trend_bar  # the session lifecycle adds its buttons (ui/lifecycle.py)
        self.trend: TrendView = TrendView(s.trends, s.now_s, s.limits,
                                          cached=not self.baseline_draw)
        self.trend.followChanged.connect(self._on_follow_changed)
        # The timeline under the trend (ui/entries.py, on its time axis) is as high as its
        # lanes in use: the trend takes the rest of the height; the tiles keep theirs.
        outer.addWidget(self.trend, 40)
        self.entry_panel = EntryPanel(s.entries, s.now_s, s.trends, s.bridge, self.trend,
                                      self.who)
        self.entry_panel.timeline.fit_lanes(LANE_PX)
        outer.addWidget(self.entry_panel, 0)
        self.setCentralWidget(root)

    def _actions(self) -> None:
        def add(text: str, keys: list[str], slot: Callable[[], object]) -> QAction:
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
            return action

        self.act_ack = add("Acknowledge", ["A"], self.acknowledge)
        self.act_pause = add("Audio pause", ["P"], self.pause_audio)
        self.alarm_keys = AlarmKeys(self, self.acknowledge, self.pause_audio)  # in dialogs too
        self.act_follow = add("Follow now", ["F"], lambda: self.trend.set_follow(True))
        self.act_zoom_out = add("Trend: more time", ["-"], lambda: self._zoom(+1))
        self.act_zoom_in = add("Trend: less time", ["+", "="], lambda: self._zoom(-1))
        self.act_full = add("Full screen", ["F11"], self.toggle_full_screen)
        self.act_quit = add("Quit", ["Ctrl+Q"], self.close)
        self.act_devices = add("Devices...", ["Ctrl+D"], self.open_devices)
        self.act_limits = add("Alarm limits...", ["Ctrl+L"], self.open_limits)
        self.entry_actions = self.entry_panel.install_shortcuts(self)
        self.act_browse = add("Past sessions", ["Ctrl+O"], self.open_browser)

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Starts the display timers (after the session is running)."""
        self.refresh()
        self._timer.start()
        self.pleth.start()
        self.trend.start()
        self.entry_panel.start()
        if self.sources.alarms is not None:
            self.sources.alarms.refresh()

    def show_for_session(self) -> None:
        if self.kiosk:
            self.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
            self.showFullScreen()
        elif self.settings.value("window/fullscreen", False, type=bool):
            self.showFullScreen()
        else:
            self.show()

    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray | bytes) and not self.kiosk:
            self.restoreGeometry(QByteArray(geometry))
        else:
            self.resize(1920, 1080)
        collapsed = self.settings.value("timeline/collapsed", False, type=bool)
        self.timeline_button.setChecked(not collapsed)
        window = self.settings.value("trend/window_min", None)
        if isinstance(window, int | str):  # QSettings gives the int back as text, or as is
            self.trend.window_min = int(window)
        self._update_window_label()

    def save_layout(self) -> None:
        if not self.kiosk:
            self.settings.setValue("window/geometry", self.saveGeometry())
            self.settings.setValue("window/fullscreen", self.isFullScreen())
        self.settings.setValue("trend/window_min", self.trend.window_min)
        self.settings.setValue("timeline/collapsed", self.entry_panel.timeline.collapsed)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.confirm_close is not None and not self.confirm_close():
            event.ignore()  # the nurse kept the session recording
            return
        self.save_layout()
        self._timer.stop()
        self.pleth.stop()
        self.trend.stop()
        self.entry_panel.stop()
        self.audio.stop()
        self.flash.set_running(False)
        self.closing.emit()
        super().closeEvent(event)

    def clear_area(self, include_pleth: bool = False) -> QRect:
        """Where a dialog may open (global coordinates; ui/placement.py): the trend and the
        timeline, under the header, the banner and the tiles (and the pleth, unless
        `include_pleth`), the window's width."""
        top_widget = self.pleth if include_pleth else self.follow_button  # the trend's bar
        top = top_widget.mapToGlobal(QPoint(0, 0)).y()
        frame = self.centralWidget()
        assert frame is not None  # set in __init__
        left = frame.mapToGlobal(QPoint(0, 0))
        bottom = left.y() + frame.height()
        return QRect(left.x(), top, frame.width(), max(0, bottom - top))

    def toggle_full_screen(self) -> None:
        if self.kiosk:
            return  # kiosk mode stays full screen
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    # -- session lifecycle (ui/lifecycle.py) -----------------------------------------------
    def session_ended(self, text: str) -> None:
        """The recording has ended: trend and pleth freeze as they were, the tiles go grey
        as their values age, alarms fall silent (the engine no longer judges anything) and
        the header says so."""
        self.ended = True  # the tiles keep refreshing: their values go grey as they age
        self.pleth.stop()
        self.trend.stop()
        self.trend.refresh(force=True)
        self.audio.set_sounding(None)
        self.flash.set_running(False)
        self.snapshot = None
        empty = AlarmSnapshot(self.sources.now_s(), (), None, True, None)
        self.banner.set_snapshot(empty)
        self.strip.set_snapshot(empty)
        self._apply_tile_alarms()
        self._set_text(self.dose_label, text,
                       f"color: {ALARM_COLOURS[Priority.MEDIUM].name()};")
        self._set_text(self.audio_label, "")
        self._set_text(self.device_label, "")

    # -- commands ------------------------------------------------------------------------

    def who(self) -> str:
        """Who acts now at this screen, as the record names them."""
        return self.room.author() if self.room is not None else USER

    def _signed_in_changed(self) -> None:
        """The open panels name whoever is signed in now in what they change."""
        for panel in (self.devices_panel, self.limits_dialog):
            if panel is not None:
                panel.user = self.who()

    def acknowledge(self) -> None:
        if self.sources.alarms is not None:
            who = self.who()
            self.sources.alarms.acknowledge(None, who)  # first: never waits for the audit
            if self.room is not None:
                self.room.signin.record("acknowledge", actor=who)

    def pause_audio(self) -> None:
        if self.sources.alarms is not None:
            who = self.who()
            self.sources.alarms.pause_audio(who)
            if self.room is not None:
                self.room.signin.record("audio-pause", actor=who)

    def open_devices(self) -> None:
        """The devices panel (one, non-modal): status, connect, disconnect."""
        s = self.sources
        if s.devices is None:
            return
        panel = self.devices_panel
        if panel is None:
            panel = self.devices_panel = DevicesPanel(s.devices, s.live, s.bridge, s.now_s,
                                                      self.who(), self)
            panel.deviceRemoved.connect(self._on_device_removed)
            place_clear_of_numerics(panel, self)
        panel.show()
        panel.activateWindow()

    def _on_device_removed(self, source: str) -> None:
        self.device_states.pop(source, None)  # disconnected on purpose: not a problem
        self._update_header()

    def open_limits(self) -> None:
        """The alarm-limits dialog, from the limits in force now."""
        if self.sources.limit_editor is None:
            return
        if self.limits_dialog is not None:
            self.limits_dialog.close()  # one at a time, re-read from the limits in force
        room = self.room
        editor = self.sources.limit_editor if room is None else room.audited_limits(
            self.sources.limit_editor)
        self.limits_dialog = LimitsDialog(editor, self.who(), self)
        if room is not None:  # loosening beyond the preset needs a clinician (issue 14)
            self.limits_dialog.authorize = room.authorize_loosening
        place_clear_of_numerics(self.limits_dialog, self)
        self.limits_dialog.show()
        self.limits_dialog.activateWindow()
    def open_browser(self) -> None:
        """The session browser on this store, read-only, in its own window. The
        recording and its alarms go on here; the browser closes with the dashboard."""
        if self.sources.store_path is None:
            return
        from ui.browser import SessionBrowser  # loaded only when asked for

        browser = self.browser
        if browser is None:
            browser = SessionBrowser(self.sources.store_path, parent=self)
            if self.room is not None:  # the site's inactivity setting (issue 14)
                browser.lock.signin.idle_s = self.room.signin.idle_s
            self.closing.connect(browser.close)
            self.browser = browser
            place_clear_of_numerics(browser, self)
        else:
            browser.refresh()
        browser.show()
        browser.raise_()
        browser.activateWindow()

    def _zoom(self, steps: int) -> None:
        self.trend.zoom(steps)
        self._update_window_label()

    def _update_window_label(self) -> None:
        m = self.trend.window_min
        self.window_label.setText(f"{m} min" if m < 60 else f"{m // 60} h")

    def _show_timeline_lanes(self, shown: bool) -> None:
        """All the timeline's lanes in use, or (collapsed) the dose lane alone: the trend
        gets the height."""
        self.entry_panel.timeline.set_collapsed(not shown)
        self.timeline_button.setText(TIMELINE_SHOWN if shown else TIMELINE_COLLAPSED)
        self.timeline_button.setToolTip("collapse the timeline to the dose lane" if shown
                                        else "show the timeline's lanes")

    def _on_follow_changed(self, follow: bool) -> None:
        self.follow_button.setChecked(follow)

    # -- updates -------------------------------------------------------------------------

    def _on_numerics(self, _msg: object) -> None:
        self.refresh_tiles()

    def _on_device(self, msg: object) -> None:
        if isinstance(msg, DeviceStatus):
            self.device_states[msg.source] = msg.state
            self.device_details[msg.source] = msg.detail
            self._update_header()

    def _on_timeline(self, _msg: object) -> None:
        self._update_header()

    def _on_alarms(self, snap: AlarmSnapshot) -> None:
        if self.ended:
            return
        self.snapshot = snap
        self.banner.set_snapshot(snap)
        self.strip.set_snapshot(snap)
        self.audio.set_sounding(snap.sounding if snap.audio_available else None)
        flashing = any(a.priority in (Priority.HIGH, Priority.MEDIUM) for a in snap.alarms)
        self.flash.set_running(flashing)
        self._apply_tile_alarms()
        self._update_header()

    def _apply_tile_alarms(self) -> None:
        """A tile flashes only for an active physiological alarm on its vital; an active
        technical condition marks it as equipment; a latched alarm gives it a badge with the
        worst value (the newest latched alarm if several)."""
        physiological: dict[str, Priority] = {}
        technical: dict[str, Priority] = {}
        latched: dict[str, LatchedMark] = {}
        alarms = self.snapshot.alarms if self.snapshot is not None else ()
        for a in sorted(alarms, key=lambda a: -a.signal_t_s):
            if a.vital is None or a.vital not in VITALS:
                continue
            tile = VITALS[a.vital].tile
            if a.state is AlarmState.LATCHED:
                mark = latched_mark(a, MAIN_VITAL[tile], self.sources.wall_of)
                if mark is not None:
                    latched.setdefault(tile, mark)
            elif a.state is AlarmState.ACTIVE and a.kind is not AlarmKind.ADVISORY:
                worst = physiological if a.kind is AlarmKind.PHYSIOLOGICAL else technical
                worst[tile] = max(a.priority, worst.get(tile, a.priority))
        for key, view in self.tiles.items():
            p = physiological.get(key)
            view.set_alarm(p, p is not None and self.flash.is_on(p))
            view.set_technical(technical.get(key))
            view.set_latched(latched.get(key))

    def refresh(self) -> None:
        self.refresh_tiles()
        self._update_header()

    def refresh_tiles(self) -> None:
        s = self.sources
        snap = s.live.snapshot(s.now_s())
        self.tiles["hr"].set_content(continuous_tile(snap, "hr", s.limits))
        self.tiles["spo2"].set_content(continuous_tile(snap, "spo2", s.limits, "pr"))
        self.tiles["rr"].set_content(continuous_tile(snap, "rr", s.limits))
        self.tiles["nibp"].set_content(nibp_tile(snap, s.limits, s.nibp_interval_s, s.wall_of,
                                                 ended=self.ended))

    def _set_text(self, label: QLabel | QPushButton, text: str, style: str = "") -> None:
        if label.text() != text:
            label.setText(text)
        if label.styleSheet() != style:
            label.setStyleSheet(style)

    def _update_header(self) -> None:
        if self.ended:
            return
        s = self.sources
        now = s.now_s()
        number = f"Session {s.session_id}" if s.session_id is not None else "Session"
        self._set_text(self.session_label, f"{number}  {clock_text(now)}")
        dose = s.trends.dose_start_s()
        if dose is None:
            self._set_text(self.dose_label, "Baseline  ·  no dose yet")
        else:
            phase = phase_at(s.trends.phases(now), now, s.trends.dose_running())
            self._set_text(self.dose_label, f"Dose +{clock_text(now - dose)}  ·  {phase.upper()}")
        self._set_text(self.clock_label, time.strftime("%H:%M", time.localtime(s.wall_of(now))))
        battery = s.live.battery() if self.device_states else {}
        devices = "  ".join(self._device_text(src, state, battery.get(src))
                            for src, state in self.device_states.items())
        bad = any(st is not DeviceState.STREAMING for st in self.device_states.values())
        self._set_text(self.device_label, devices,
                       f"color: {ALARM_COLOURS[Priority.MEDIUM].name()};" if bad else "")
        if self.device_label.toolTip() != devices:
            self.device_label.setToolTip(devices)
        self._update_audio_state(now)

    def _device_text(self, source: str, state: DeviceState, battery: float | None) -> str:
        """`sim: streaming 80 %`; a device that is not streaming says why (the driver's
        reason names the port: `masimo: no device at /dev/ttyUSB9`)."""
        detail = self.device_details.get(source, "")
        if state is not DeviceState.STREAMING and detail:
            return detail if detail.startswith(f"{source}:") else f"{source}: {detail}"
        return f"{source}: {state}" + (f" {battery:.0f} %" if battery is not None else "")

    def _update_audio_state(self, now: float) -> None:
        snap = self.snapshot
        if self.sources.alarms is None:
            self._set_text(self.audio_label, "ALARMS NOT CONNECTED",
                           f"color: {ALARM_COLOURS[Priority.MEDIUM].name()};")
            self._set_text(self.pause_button, "Audio pause 2:00  [P]")
            return
        if snap is not None and not snap.audio_available:
            self._set_text(self.audio_label, "NO AUDIO: alarms visual only",
                           f"color: {ALARM_COLOURS[Priority.MEDIUM].name()};")
        elif snap is not None and snap.audio_paused_until_s is not None \
                and snap.audio_paused_until_s > now:
            left = clock_text(snap.audio_paused_until_s - now)
            self._set_text(self.audio_label, f"AUDIO PAUSED {left}",
                           f"color: {ALARM_COLOURS[Priority.MEDIUM].name()};")
            self._set_text(self.pause_button, f"AUDIO PAUSED {left}  [P]")
            return
        else:
            self._set_text(self.audio_label, "Audio on", f"color: {TEXT_DIM.name()};")
        self._set_text(self.pause_button, "Audio pause 2:00  [P]")
