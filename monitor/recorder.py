"""Recording a session: devices -> runtime -> store, alarms and displays.

`SessionRecorder` is what both the CLI and the dashboard use to run a session: it makes
the clock, the drivers and the session row, wires the sinks, and closes the session with
the right status however the recording ends.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from alarms.engine import AlarmEngine
from alarms.presets import preset as alarm_preset
from devices.base import Driver, SpecError
from devices.spec import DeviceSpec, create_driver, is_simulated, parse_spec
from monitor.clock import ScaledClock, SessionClock, VirtualClock
from monitor.live import LiveState
from monitor.messages import Message, Numerics, TimelineMark
from monitor.resume import GAP_AUTHOR, dose_marks, gap_note, history
from monitor.runtime import IoThread, RuntimeResult, SessionRuntime, Sink
from monitor.session import (
    DoseProtocol,
    EntryKind,
    Patient,
    Session,
    SessionStatus,
    mark_data,
)
from monitor.store import SampleWriter, SessionStore, StoreError
from monitor.vitals import NIBP_KEYS

log = logging.getLogger(__name__)

ALARM_TICK_S = 0.5  # alarm decisions reach the display and the log within this


@dataclass(frozen=True, slots=True)
class RecordingPlan:
    specs: tuple[DeviceSpec, ...]
    duration_s: float | None  # None: until every (finite) source ends
    speed: float | None = 1.0  # None: as fast as possible (--speed max)
    patient: Patient = field(default_factory=Patient)
    protocol: DoseProtocol = field(default_factory=DoseProtocol)
    preset: str | None = None
    resume_session_id: int | None = None  # continue this interrupted session (same id)

    def check(self) -> None:
        """SpecError for a plan that cannot run; nothing is written before this passes."""
        if not self.specs:
            raise SpecError("no device given")
        if self.duration_s is not None and not self.duration_s > 0:
            raise SpecError(f"duration {self.duration_s:g} s: must be positive")
        real = [s.text for s in self.specs if not is_simulated(s)]
        if real and self.speed != 1.0:
            raise SpecError(f"--speed applies only to sim and replay devices, not {real[0]!r}")
        if self.resume_session_id is not None and self.speed != 1.0:
            raise SpecError("a resumed session continues in real time (speed 1)")


def resume_plan(store: SessionStore, session_id: int, duration_s: float | None
                ) -> RecordingPlan:
    """The plan that continues an interrupted session with its own patient, dose, preset
    and devices (as stored)."""
    session = store.load_session(session_id)
    specs = tuple(parse_spec(text) for text in store.devices(session_id).values())
    return RecordingPlan(specs, duration_s, 1.0, session.patient, session.protocol,
                         session.preset, resume_session_id=session_id)


def source_names(specs: Sequence[DeviceSpec]) -> list[str]:
    """A short, unique source id per device: `sim`, `sim-2`, `masimo`, ..."""
    seen: dict[str, int] = {}
    names = []
    for spec in specs:
        seen[spec.scheme] = seen.get(spec.scheme, 0) + 1
        n = seen[spec.scheme]
        names.append(spec.scheme if n == 1 else f"{spec.scheme}-{n}")
    return names


class SessionRecorder:
    def __init__(self, store: SessionStore, plan: RecordingPlan,
                 sinks: Iterable[Sink] = (), io: IoThread | None = None,
                 on_storage_error: Callable[[Exception | None], None] | None = None) -> None:
        plan.check()
        self.store = store
        self.plan = plan
        resumed = None if plan.resume_session_id is None else _interrupted(
            store, plan.resume_session_id)
        self.clock: SessionClock
        if resumed is not None:  # the session clock continues: t = now - session start,
            last = (resumed.end_wall or resumed.start_wall) - resumed.start_wall
            # never before the data already stored (the wall clock may have been stepped)
            self.clock = ScaledClock(1.0, wall0=resumed.start_wall,
                                     offset_s=max(time.time() - resumed.start_wall, last))
        else:
            self.clock = VirtualClock() if plan.speed is None else ScaledClock(plan.speed)
        names = source_names(plan.specs)
        self.drivers: list[Driver] = [create_driver(spec, name, self.clock)
                                      for spec, name in zip(plan.specs, names, strict=True)]
        devices = {name: spec.text for name, spec in zip(names, plan.specs, strict=True)}
        if resumed is None:
            self.session_id = store.create_session(
                plan.patient, plan.protocol, plan.preset, self.clock.wall0, devices)
        else:
            self.session_id = resumed.id
        # The alarm engine: fed every message and ticked on the session clock; its events
        # go to the store; a storage failure is itself a technical alarm.
        self.alarms = AlarmEngine(alarm_preset(plan.preset), wall0=self.clock.wall0,
                                  recorded_sources=[d.source for d in self.drivers if d.finite])
        #: (last stored data, resumed at) in session seconds, for a resumed session.
        self.resumed_gap: tuple[float, float] | None = None
        self._last_nibp: Numerics | None = None  # a resumed session's last NIBP reading
        if resumed is not None:
            self.resumed_gap = self._resume(resumed, devices)
        self._on_storage_error = on_storage_error
        self.writer: SampleWriter = store.writer(self.session_id, self._storage_error)
        self.alarms.add_listener(self.writer.put)
        self.live = LiveState()
        if self._last_nibp is not None:  # the NIBP tile shows it after a resume, with its age
            self.live(self._last_nibp)
        self.runtime = SessionRuntime(self.drivers, self.clock,
                                      [self.writer.put, self.live, self.alarms, *sinks],
                                      plan.duration_s, stamp=self.store_mark)
        self.runtime.add_ticker(ALARM_TICK_S, self.alarms.tick)
        self._io = io
        self._specs: list[DeviceSpec] = list(plan.specs)  # every device the session has had
        self._devices_lock = threading.Lock()
        self._finished = False
        self.messages = 0
        # Told of each entry and edit once stored (action "entry" or "entry-edit", entry id,
        # kind, author): the audit trail (monitor/signin.py). Staff sign-in, issue 14.
        self.entry_audit: Callable[[str, int, str, str], None] | None = None
        self.runtime.add_sink(self._count)
        if self.resumed_gap is not None:  # delivered to every sink when the runtime starts
            self.add_entry(EntryKind.NOTE, gap_note(*self.resumed_gap), GAP_AUTHOR,
                           t_s=self.resumed_gap[1])

    def _resume(self, session: Session, devices: Mapping[str, str]) -> tuple[float, float]:
        """Continues `session`: the alarm engine learns the dose start and the NIBP readings
        already judged (the pre-dose baseline, the last reading) before it gets listeners,
        so nothing already logged is logged again; a simulator does not mark the dose twice;
        the store makes the session active again under this process."""
        for msg in history(self.store, session.id, NIBP_KEYS, (EntryKind.DOSE_START,)):
            self.alarms(msg)
            if isinstance(msg, Numerics):
                self._last_nibp = msg
        marks = dose_marks(session)
        for driver in self.drivers:
            skip = getattr(driver, "skip_timeline_marks", None)
            if skip is not None:
                skip(marks)
        self.store.resume_session(session.id, devices)
        end = session.end_wall if session.end_wall is not None else session.start_wall
        return end - session.start_wall, self.clock.now()

    def _storage_error(self, exc: Exception | None) -> None:
        self.alarms.storage_failed(exc)
        if self._on_storage_error is not None:
            self._on_storage_error(exc)

    def _count(self, _msg: Message) -> None:
        self.messages += 1

    def add_ticker(self, period_s: float, callback: Callable[[float], None]) -> None:
        self.runtime.add_ticker(period_s, callback)

    # -- the timeline: what people enter during the session ------------------------------

    def add_entry(self, kind: str, data: Mapping[str, Any], author: str,
                  t_s: float | None = None) -> int:
        """Stores a timeline entry (now, or at `t_s`) and tells the runtime's sinks.

        The alarm engine learns the dose start (relative rules, the 40-min check) and a
        discharge (the minimum-monitoring check); displays learn the mark. Any thread."""
        t = self.clock.now() if t_s is None else t_s
        wall = self.clock.wall(t)
        if kind in (EntryKind.DOSE_START, EntryKind.DOSE_STOP):
            self._dose_marked_by_person()
        entry_id = self.store.add_entry(self.session_id, kind, t, wall, data, author)
        self.runtime.inject(TimelineMark(author, wall, t, kind, mark_data(data), entry_id))
        if self.entry_audit is not None:
            self.entry_audit("entry", entry_id, kind, author)
        return entry_id

    def store_mark(self, msg: Message) -> Message:
        """A device's timeline mark (the simulator's dose start) is stored here, on the I/O
        thread, before any sink sees it, as a person's entry is: the sinks get it with its
        entry id. If the store fails, the mark goes on without an id and the sample writer,
        its first sink, keeps it until it can store it (nothing is lost)."""
        if not isinstance(msg, TimelineMark) or msg.entry_id is not None:
            return msg
        try:
            entry_id = self.store.add_entry(self.session_id, msg.kind, msg.t_s, msg.t_wall,
                                            dict(msg.data), msg.source)
        except StoreError as exc:
            log.error("session %d: a %s mark of %s is not stored yet: %s", self.session_id,
                      msg.kind, msg.source, exc)
            return msg
        return replace(msg, entry_id=entry_id)

    def _dose_marked_by_person(self) -> None:
        """The nurse marks the dose: a simulator leaves the dose marks to her from now on
        (no second dose start, no stop at its own scripted time)."""
        for driver in list(self.drivers):
            skip = getattr(driver, "skip_timeline_marks", None)
            if skip is not None:
                skip(frozenset((EntryKind.DOSE_START, EntryKind.DOSE_STOP)))

    def edit_entry(self, entry_id: int, author: str, *, t_s: float | None = None,
                   data: Mapping[str, Any] | None = None) -> None:
        """Changes an entry; the store keeps the earlier state with who and when. A corrected
        dose start moves the alarm engine's: from now on the pre-dose baseline, the BP check
        and the minimum monitoring follow it (alarms already logged stay as logged)."""
        self.store.edit_entry(entry_id, author, t_s=t_s, data=data)
        if self.entry_audit is not None:
            self.entry_audit("entry-edit", entry_id, "", author)
        if t_s is None:
            return
        session = self.store.load_session(self.session_id)
        edited = next((e for e in session.entries if e.id == entry_id), None)
        dose = session.dose_start_s
        if edited is not None and edited.kind == EntryKind.DOSE_START and dose is not None:
            self.alarms.move_dose_start(dose)

    # -- devices connected and disconnected during the session --------------------------

    def devices(self) -> dict[str, str]:
        """The devices running now: source -> SPEC text."""
        with self._devices_lock:
            return {d.source: d.spec for d in self.drivers}

    def connect_device(self, text: str) -> str:
        """Parses a SPEC, registers the device in the store and starts it on the I/O
        thread; returns its source id (unique in the session: `sim-2`, ...). SpecError
        for a bad SPEC, or a real device in an accelerated session; RuntimeError once the
        session has ended. Any thread."""
        if self._finished:
            raise RuntimeError("the session has ended")
        spec = parse_spec(text)
        if self.plan.speed != 1.0 and not is_simulated(spec):
            raise SpecError(f"device {text!r}: a real device needs a real-time session")
        with self._devices_lock:
            name = source_names([*self._specs, spec])[-1]
            driver = create_driver(spec, name, self.clock)
            self.store.add_device(self.session_id, name, spec.text or text)
            self._specs.append(spec)
            self.drivers.append(driver)
        self.runtime.call_soon(lambda: self.runtime.add_device(driver))
        log.info("session %d: device %s (%s) connected", self.session_id, name, spec.scheme)
        return name

    def disconnect_device(self, source: str, user: str = "") -> concurrent.futures.Future[None]:
        """Stops a device on purpose: the alarm engine forgets it first (no link-lost
        alarm), then the runtime cancels its tasks and closes the driver. The future is
        done when the driver is closed. KeyError for a device not running; RuntimeError
        once the session has ended. Any thread."""
        if self._finished:
            raise RuntimeError("the session has ended")
        with self._devices_lock:
            driver = next((d for d in self.drivers if d.source == source), None)
            if driver is None:
                raise KeyError(f"no device {source!r} in the session")
            self.drivers.remove(driver)
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        async def run() -> None:
            try:
                self.alarms.forget_source(source, user)
                await self.runtime.remove_device(source)
            except BaseException as e:
                done.set_exception(e)
                raise
            done.set_result(None)

        self.runtime.call_soon(lambda: self.runtime.spawn_task(run(), f"remove {source}"))
        log.info("session %d: device %s disconnected by %s", self.session_id, source,
                 user or "the operator")
        return done

    def start(self) -> None:
        self.runtime.start(self._io)

    @property
    def finished(self) -> bool:
        return self._finished

    def wait(self, timeout: float | None = None) -> RuntimeResult:
        result = self.runtime.wait(timeout)
        self.finish(result.end_t_s, SessionStatus.COMPLETED)
        return result

    def stop(self, status: SessionStatus = SessionStatus.COMPLETED) -> None:
        """Ends the recording now (the nurse ended it, or the process was told to stop)."""
        result = self.runtime.stop()
        self.finish(result.end_t_s if result else self.clock.now(), status)

    def finish(self, end_t_s: float, status: SessionStatus) -> None:
        if self._finished:
            return
        self._finished = True
        self.alarms.end_session(end_t_s)
        self.writer.close()
        if self.writer.failure is not None:
            log.error("session %d: some data could not be stored: %s", self.session_id,
                      self.writer.failure)
        self.store.end_session(self.session_id, status, self.clock.wall(end_t_s))


def _interrupted(store: SessionStore, session_id: int) -> Session:
    session = store.load_session(session_id)
    if session.status is not SessionStatus.INTERRUPTED:
        raise StoreError(f"{store.path}: session {session_id} is {session.status}; only an "
                         "interrupted session can be resumed")
    return session
