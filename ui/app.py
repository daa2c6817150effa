"""Running the dashboard: a session on the device thread, the window on the GUI thread.

`DashboardSession` records a session with `SessionRecorder` (the same path as the CLI),
adds the display buffers and the bridge as sinks, and optionally an alarm source (the
engine) followed by the relay that hands its snapshots to the GUI. `run_dashboard` is what
`python main.py` calls.
"""

from __future__ import annotations

import concurrent.futures
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from devices.base import SpecError
from devices.spec import DeviceSpec, is_simulated
from monitor.buffers import PlethRing, SessionTrends
from monitor.central.config import RoomConfig
from monitor.heartbeat import BEAT_S, SessionPulse, WatchdogLink, io_beats
from monitor.hl7.cli import report_left
from monitor.hl7.feed import FeedConfig, Hl7Feed, attach_feed
from monitor.recorder import RecordingPlan, SessionRecorder, resume_plan
from monitor.resume import fold_alarm_log, history, resumable_session, resumable_sessions
from monitor.runtime import IoThread
from monitor.session import Route, SessionStatus
from monitor.signin import DEFAULT_IDLE_S, SignIn
from monitor.staff import StaffDirectory
from monitor.store import SessionStore
from ui.audio import AudioOutput, default_output
from ui.bridge import AlarmControl, AlarmRelay, Bridge
from ui.dashboard import DashboardSources, DashboardWindow
from ui.devices_panel import DeviceControl
from ui.entries import RecorderEntries
from ui.lifecycle import SessionLifecycle
from ui.limits_dialog import LimitEditor
from ui.placement import place_clear_of_numerics
from ui.session_dialogs import NewSessionDialog, NewSessionForm, ask_resume
from ui.sources import AlarmSource, EditableAlarms, LimitSource

log = logging.getLogger(__name__)

SESSION_S = 8 * 3600.0
ALARM_POLL_S = 0.25  # session seconds between alarm snapshot re-reads (delays, pause ends)
FEED_DRAIN_S = 5.0  # at the end of a session, the HL7 feed's last messages get this long

# Builds the alarm engine for a recorder (adding its own sinks and tickers) before start.
AlarmFactory = Callable[[SessionRecorder], AlarmSource]


def nibp_interval(specs: tuple[DeviceSpec, ...]) -> float | None:
    """The NIBP cycle the first simulator runs (its `nibp` option, default 300 s)."""
    for spec in specs:
        if spec.scheme == "sim":
            try:
                return float(spec.options.get("nibp", 300.0))
            except ValueError:
                return None
    return None


class DashboardSession:
    def __init__(self, store: SessionStore, plan: RecordingPlan,
                 alarm_factory: AlarmFactory | None = None,
                 limits: LimitSource | None = None,
                 central: RoomConfig | None = None) -> None:
        self.bridge = Bridge()  # on the GUI thread: its signals are delivered there
        self.pleth = PlethRing()
        self.trends = SessionTrends(hours=(plan.duration_s or SESSION_S) / 3600,
                                    route=plan.protocol.route or Route.IV)
        self.io = IoThread()
        self.recorder = SessionRecorder(store, plan, [self.pleth, self.trends,
                                                      self.bridge.sink], io=self.io)
        if self.recorder.resumed_gap is not None:  # a resumed session: its earlier trend,
            for msg in history(store, self.recorder.session_id):  # then no line across
                self.trends(msg)                                   # the gap
            self.trends.break_lines(self.recorder.resumed_gap[0])
            fold_alarm_log(store, self.recorder.session_id, self.trends)  # its alarms
        # The recorder's own engine (its sink and ticker are wired there), whose limits the
        # nurse can change; tests inject fakes, which only show alarms and limits.
        self._editable: EditableAlarms | None = None
        if alarm_factory is None:
            self.alarm_source: AlarmSource = self.recorder.alarms
            self._editable = self.recorder.alarms
        else:
            self.alarm_source = alarm_factory(self.recorder)
        self.alarm_source.add_listener(self.trends.alarm_event)  # the trend's episodes
        relay = AlarmRelay(self.alarm_source, self.bridge)
        self.recorder.runtime.add_sink(relay.sink)  # after the engine's own sink
        self.recorder.add_ticker(ALARM_POLL_S, relay.tick)
        if central is not None:  # the central station: one more sink on the device-io loop
            from monitor.central.publisher import attach

            attach(self.recorder, central)
        self.control: AlarmControl | None = AlarmControl(relay, self.io)
        self.limits: LimitSource = self.alarm_source if limits is None else limits
        self.nibp_interval_s = nibp_interval(plan.specs)
        # The screen's clock stops with the device thread (a frozen screen looks frozen).
        self.pulse = SessionPulse(self.recorder.clock)
        self.watchdog: WatchdogLink | None = None  # attached before start() to beat to it
        self.feed: Hl7Feed | None = None  # the HL7 feed (issue 15), attached before start()
        self._beats: concurrent.futures.Future[None] | None = None
        self._stopped = False

    def sources(self) -> DashboardSources:
        clock = self.recorder.clock
        editor = None
        if self.control is not None and self._editable is not None:
            editor = LimitEditor(self._editable, self._editable.initial_preset.limits,
                                 self.control.set_limit)
        return DashboardSources(self.pulse.now, clock.wall, self.recorder.live, self.pleth,
                                self.trends, self.bridge, self.control, self.limits,
                                self.nibp_interval_s, DeviceControl(self.recorder, self.io),
                                editor, entries=RecorderEntries(self.recorder),
                                store_path=self.recorder.store.path,
                                session_id=self.recorder.session_id,
                                patient=self.recorder.plan.patient.identifier)

    def start(self) -> None:
        self.recorder.start()
        self._beats = self.io.submit(io_beats(
            self.recorder.clock, self.pulse,
            self.watchdog.beat if self.watchdog is not None else None))

    def start_watchdog(self, options: Sequence[str] = ()) -> WatchdogLink:
        """The watchdog process for this session (before `start()`); the GUI thread's beats
        come from `gui_beats`."""
        rec = self.recorder
        self.watchdog = WatchdogLink.spawn(rec.store.path, rec.session_id,
                                           rec.plan.speed or 1.0, options)
        return self.watchdog

    def gui_beats(self, parent: QObject) -> QTimer:
        """The GUI thread's heartbeat to the watchdog: a timer owned by `parent`."""
        timer = QTimer(parent)
        timer.setInterval(round(BEAT_S * 1000))
        link, clock = self.watchdog, self.recorder.clock
        if link is not None:
            timer.timeout.connect(lambda: link.beat("gui", clock.now()))
            timer.start()
        return timer

    def stop(self, status: SessionStatus | None = None) -> None:
        """Ends the recording and stops the device thread; safe to call twice. Without a
        `status` the session is `completed` only if it ran its whole duration: one the
        nurse did not end (with the discharge) stays `interrupted`, to be resumed."""
        if self._stopped:
            return
        self._stopped = True
        if self.watchdog is not None:  # ended on purpose: first, so that a slow final
            self.watchdog.end()        # write (the GUI thread waits) is not a failure
        if status is None:
            status = (SessionStatus.COMPLETED if self.recorder.runtime.ran_its_course
                      else SessionStatus.INTERRUPTED)
        try:
            self.recorder.stop(status)
        finally:
            if self.feed is not None and self.io.running:
                if self._beats is not None:  # the screen's clock stops with the session
                    self._beats.cancel()
                # Not on the GUI thread: a new session's screen must not wait for it.
                threading.Thread(target=self._drain_feed_then_stop, name="hl7-drain").start()
            else:
                self.io.stop()

    def _drain_feed_then_stop(self) -> None:
        """What the session's last moments queued (the discharge score, a last NIBP) goes
        to the record now, not at the next session: a bounded wait, none if the receiver
        is down; what is left stays queued in the store. Then the device thread stops."""
        try:
            assert self.feed is not None
            left = self.io.submit(self.feed.drain(FEED_DRAIN_S)).result(FEED_DRAIN_S + 2)
            report_left(left)
        except Exception:  # the device thread still stops
            log.exception("HL7 feed: the wait for the last messages failed")
        finally:
            self.io.stop()


def _quit_on_signals(app: QCoreApplication, session: DashboardSession) -> None:
    """SIGINT (Ctrl+C) and SIGTERM stop the recording and quit; the session stays
    `interrupted` (only the discharge completes it), to be resumed at the next start.
    Python runs signal handlers only between bytecodes, so a timer keeps it looking."""
    if threading.current_thread() is not threading.main_thread():
        return

    def shut_down(signum: int) -> None:
        session.stop(SessionStatus.INTERRUPTED)
        print(f"vigil: {signal.Signals(signum).name}: session "
              f"{session.recorder.session_id} left interrupted (resume it at the next start)",
              file=sys.stderr, flush=True)
        app.quit()

    def on_signal(signum: int, _frame: object) -> None:  # the work: in the event loop
        QTimer.singleShot(0, lambda: shut_down(signum))

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    wake = QTimer(app)
    wake.timeout.connect(lambda: None)
    wake.start(250)


def choose_plan(store: SessionStore, plan: RecordingPlan, parent: QWidget | None = None
                ) -> RecordingPlan | None:
    """The session lifecycle's start: offer each interrupted session (newest first) for
    resuming; if the nurse declines them all (they stay interrupted), the new-session
    dialog (pre-filled from `plan`). None: cancelled."""
    offered = resumable_sessions(store)
    for i, interrupted in enumerate(offered):
        if ask_resume(interrupted, parent, last=i == len(offered) - 1):
            return resume_plan(store, interrupted.id, plan.duration_s)
    dialog = NewSessionDialog(NewSessionForm.for_plan(plan), plan.duration_s, parent)
    place_clear_of_numerics(dialog, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return with_speed(dialog.plan, plan.speed)


def with_speed(plan: RecordingPlan | None, speed: float | None) -> RecordingPlan | None:
    """`plan` at the command line's `--speed`, if its devices can run at it (sim, replay);
    a real device chosen in the dialog runs in real time."""
    if plan is None or speed == plan.speed or not all(is_simulated(s) for s in plan.specs):
        return plan
    return replace(plan, speed=speed)


def unattended_plan(store: SessionStore, plan: RecordingPlan) -> tuple[RecordingPlan, str]:
    """`--no-dialog`: the newest session interrupted within the resume window, resumed
    without asking, else `plan`; with what to tell the nurse ("" for a new session)."""
    interrupted = resumable_session(store)
    if interrupted is None:
        return plan, ""
    end = interrupted.end_wall if interrupted.end_wall is not None else interrupted.start_wall
    ago = max(0, round((time.time() - end) / 60))
    stopped = time.strftime("%H:%M", time.localtime(end))
    try:
        resumed = resume_plan(store, interrupted.id, plan.duration_s)
    except SpecError as e:  # its devices cannot be set up again: a new session, said why
        return plan, (f"Session {interrupted.id} (interrupted at {stopped}) cannot be "
                      f"resumed: {e}; a new session was started")
    return resumed, (f"Resumed session {interrupted.id} without asking (--no-dialog): it "
                     f"stopped unexpectedly at {stopped}, {ago} min ago")


def attach_signin(session: DashboardSession, signin: SignIn) -> None:
    """Audit rows name this session; every entry and edit is audited with its author."""
    signin.session_id = session.recorder.session_id

    def audit_entry(action: str, entry_id: int, kind: str, author: str) -> None:
        signin.record("discharge" if kind == "discharge" else action,
                      {"entry": entry_id, "kind": kind} if kind else {"entry": entry_id},
                      actor=author)
    session.recorder.entry_audit = audit_entry


def run_dashboard(store_path: Path, plan: RecordingPlan, kiosk: bool = False,
                  alarm_factory: AlarmFactory | None = None,
                  audio: Callable[[], AudioOutput] | None = None,
                  dialog: bool = True, watchdog: Sequence[str] | None = (),
                  hl7: FeedConfig | None = None,
                  signout_after_s: float = DEFAULT_IDLE_S,
                  central: RoomConfig | None = None) -> int:
    """`dialog`: ask for the session (resume / new-session dialogs) before recording, and
    offer the next one when it ends; False records `plan` as given. `watchdog`: the options
    of the watchdog process started with each session (`monitor/watchdog.py`); None: none."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Vigil")
    app.setOrganizationName("Vigil")
    with SessionStore(store_path) as store:
        notice = ""
        if dialog:
            first = choose_plan(store, plan)
        else:
            first, notice = unattended_plan(store, plan)
            if notice:
                print(f"vigil: {notice}", file=sys.stderr, flush=True)
        if first is None:
            return 0
        output = audio() if audio is not None else default_output()
        sessions: list[DashboardSession] = []
        # Who is signed in at the room screen, across the sessions it records (issue 14).
        signin = SignIn(StaffDirectory(store.path), "room screen", signout_after_s)

        def open_session(this_plan: RecordingPlan, previous: DashboardWindow | None,
                         notice: str = "") -> None:
            session = DashboardSession(store, this_plan, alarm_factory, central=central)
            if hl7 is not None:  # the HL7 feed (issue 15), before the session starts
                session.feed = attach_feed(session.recorder, hl7)
            sessions.append(session)
            if watchdog is not None:  # before the session starts: both threads beat to it
                link = session.start_watchdog(watchdog)
                print(f"vigil: watchdog {link.pid} watching session "
                      f"{session.recorder.session_id}", file=sys.stderr, flush=True)
            attach_signin(session, signin)
            window = DashboardWindow(replace(session.sources(), signin=signin), output,
                                     kiosk=kiosk)
            session.gui_beats(window)
            lifecycle = SessionLifecycle(window, session)
            if notice:
                lifecycle.announce(notice)

            def next_session() -> None:
                following = choose_plan(store, plan, window)
                if following is not None:
                    open_session(following, window)

            lifecycle.newSessionRequested.connect(next_session)
            app.aboutToQuit.connect(session.stop)
            window.closing.connect(session.stop)
            session.start()
            window.show_for_session()
            window.start()
            _quit_on_signals(app, session)  # once it records: a signal always finds it running
            verb = "resuming" if this_plan.resume_session_id is not None else "recording"
            print(f"vigil: {verb} session {session.recorder.session_id} to {store.path}",
                  file=sys.stderr, flush=True)
            if previous is not None:
                previous.close()

        open_session(first, None, notice)
        try:
            return app.exec()
        finally:
            for session in sessions:
                session.stop()
            close = getattr(output, "close", None)  # the sound thread, where there is one
            if close is not None:
                close()
