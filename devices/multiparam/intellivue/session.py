"""The IntelliVue Data Export session as a sans-I/O state machine.

`feed(data, now_s)` takes whatever the port gave (b"" on a read timeout) and returns
events; `poll(now_s)` returns the bytes to write now; `next_due(now_s)` says when `poll`
wants to run again. Times are any monotonic seconds (the session clock in Vigil, a plain
float in tests). The dialog (PIPG p.25-27): association request -> association result ->
MDS Create Event Report, answered with its invoke id mirrored -> extended polls for
numerics, renewed before they expire, with a keep-alive so the monitor never sees 10 s
of silence -> release on close. An abort, a refuse or silence restarts the association.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from devices.conditions import ConditionChange, ConditionTracker
from devices.multiparam.events import (
    Event,
    LinkDown,
    LinkUp,
    MonitorReading,
    in_vital_order,
)
from devices.multiparam.intellivue import numerics as nu
from devices.multiparam.intellivue import pdu
from devices.multiparam.intellivue.framing import FrameDecoder, encode_frame
from monitor.messages import Condition
from monitor.vitals import ORDER


class Phase(StrEnum):
    IDLE = "idle"
    ASSOCIATING = "associating"  # request sent, waiting for the association result
    AWAIT_MDS = "await_mds"  # associated, waiting for the MDS Create Event Report
    OPERATING = "operating"  # polling numerics
    RELEASING = "releasing"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Timing:
    """Session timers, in seconds; the defaults follow the PIPG and ICE (reference §A.5)."""

    assoc_retry_s: float = 2.0  # re-send the association request while negotiating (ICE)
    mds_wait_s: float = 10.0  # associated but no MDS report (the monitor re-sends every 3 s)
    poll_period_s: float = 30.0  # NOM_ATTR_TIME_PD_POLL of each extended poll
    poll_renew_s: float = 25.0  # re-poll this long after the last poll: before it expires
    keepalive_s: float = 4.0  # send a keep-alive when nothing was sent for this long
    silence_s: float = 5.0  # associated and nothing received: the link is lost (ICE: 5 s)

    def __post_init__(self) -> None:
        if not 0 < self.poll_renew_s < self.poll_period_s:
            raise ValueError("poll_renew_s must lie between 0 and poll_period_s")


_DAY_S = 86400.0


class IntelliVueSession:
    """Host side of one MIB/RS232 link. Survives re-associations; keeps NBP de-duplication."""

    def __init__(self, timing: Timing | None = None) -> None:
        self.timing = timing or Timing()
        self.decoder = FrameDecoder()
        self.phase = Phase.IDLE
        self.min_poll_period_s: float | None = None
        self._out: list[bytes] = []
        self._events: list[Event] = []
        self._conditions = ConditionTracker()
        self._invoke = 0
        self._poll_number = 0
        self._last_rx = 0.0
        self._last_tx = 0.0
        self._phase_since = 0.0
        self._next_aarq: float | None = None
        self._next_poll: float | None = None
        self._up = False
        self._mds_clock: tuple[datetime, int] | None = None  # (monitor abs time, rel time)
        self._linked: list[pdu.ObservedObject] = []
        self._linked_invoke: int | None = None
        self._last_nibp_key: object = None
        self._nibp_watched = False  # an NBP object was seen since this association began
        self.reports_answered = 0
        self.polls_sent = 0
        self.keepalives_sent = 0

    # ---- public API ----
    @property
    def up(self) -> bool:
        """True while the association is established and the monitor is talking."""
        return self._up

    def start(self, now_s: float) -> None:
        """Begin (or begin again, after a reconnect) with an association request."""
        self.decoder = FrameDecoder()
        self._linked, self._linked_invoke = [], None
        self._enter(Phase.ASSOCIATING, now_s)
        self._next_aarq = now_s
        self._last_rx = now_s

    def feed(self, data: bytes, now_s: float) -> list[Event]:
        for user in self.decoder.feed(data) if data else ():
            self._last_rx = now_s
            self._handle(pdu.decode(user), now_s)
        self._timers(now_s)
        events, self._events = self._events, []
        return events

    def poll(self, now_s: float) -> bytes:
        self._timers(now_s)
        if self.phase == Phase.ASSOCIATING and self._next_aarq is not None \
                and now_s >= self._next_aarq:
            self._send(pdu.AARQ, now_s)
            self._next_aarq = now_s + self.timing.assoc_retry_s
        if self.phase == Phase.OPERATING:
            if self._next_poll is not None and now_s >= self._next_poll:
                self._send_poll(now_s)
            elif now_s - self._last_tx >= self.timing.keepalive_s:
                self._send(pdu.keep_alive(self._next_invoke(), self._next_poll_number()), now_s)
                self.keepalives_sent += 1
        out = b"".join(self._out)
        self._out.clear()
        return out

    def next_due(self, now_s: float) -> float:
        """The latest time `poll`/`feed` should run again for every timer to be on time."""
        t = self.timing
        due = [now_s + 1.0]
        if self.phase == Phase.ASSOCIATING and self._next_aarq is not None:
            due.append(self._next_aarq)
        if self.phase in (Phase.AWAIT_MDS, Phase.OPERATING):
            due.append(self._last_rx + t.silence_s)
        if self.phase == Phase.OPERATING:
            due.append(self._last_tx + t.keepalive_s)
            if self._next_poll is not None:
                due.append(self._next_poll)
        return max(now_s, min(due))

    def close(self, now_s: float) -> bytes:
        """The release request to write before closing the port (b"" if not associated)."""
        was = self.phase
        events = self._lose("closed by Vigil") if self._up else []
        self._events.extend(events)
        if was in (Phase.AWAIT_MDS, Phase.OPERATING):
            self._enter(Phase.RELEASING, now_s)
            return encode_frame(pdu.RLRQ)
        self._enter(Phase.CLOSED, now_s)
        return b""

    @property
    def released(self) -> bool:
        return self.phase == Phase.CLOSED

    # ---- internals ----
    def _enter(self, phase: Phase, now_s: float) -> None:
        self.phase = phase
        self._phase_since = now_s

    def _next_invoke(self) -> int:
        self._invoke = (self._invoke + 1) & 0xFFFF
        return self._invoke

    def _next_poll_number(self) -> int:
        self._poll_number = self._poll_number % 0xFFFF + 1
        return self._poll_number

    def _send(self, user: bytes, now_s: float) -> None:
        self._out.append(encode_frame(user))
        self._last_tx = now_s

    def _send_poll(self, now_s: float) -> None:
        self._send(pdu.ext_poll_request(self._next_invoke(), self._next_poll_number(),
                                        self.timing.poll_period_s), now_s)
        self._next_poll = now_s + self.timing.poll_renew_s
        self.polls_sent += 1

    def _lose(self, reason: str) -> list[Event]:
        self._up = False
        self._next_poll = None
        return [*self._conditions.clear(), LinkDown(reason)]

    def _restart(self, reason: str, now_s: float, *, abort: bool = False) -> None:
        if self._up:
            self._events.extend(self._lose(reason))
        if abort:
            self._send(pdu.ABRT, now_s)
        self._linked, self._linked_invoke = [], None
        self._enter(Phase.ASSOCIATING, now_s)
        self._next_aarq = now_s + (self.timing.assoc_retry_s if abort else 0.0)

    def _timers(self, now_s: float) -> None:
        t = self.timing
        if self.phase in (Phase.AWAIT_MDS, Phase.OPERATING) \
                and now_s - self._last_rx >= t.silence_s:
            self._restart(f"no data from the monitor for {t.silence_s:g} s", now_s, abort=True)
        elif self.phase == Phase.AWAIT_MDS and now_s - self._phase_since >= t.mds_wait_s:
            self._restart("the monitor sent no MDS Create Event Report", now_s, abort=True)
        elif self.phase == Phase.RELEASING and now_s - self._phase_since >= 1.0:
            self._enter(Phase.CLOSED, now_s)

    def _handle(self, msg: pdu.Pdu | None, now_s: float) -> None:
        if msg is None or self.phase in (Phase.IDLE, Phase.CLOSED):
            return
        if isinstance(msg, pdu.SessionControl):
            if msg.kind == pdu.AB_SPDU:
                if self.phase == Phase.RELEASING:
                    self._enter(Phase.CLOSED, now_s)
                else:
                    self._restart("the monitor aborted the association", now_s)
            elif msg.kind == pdu.RF_SPDU and self.phase == Phase.ASSOCIATING:
                # a stale association still holds the monitor: abort it, then ask again
                self._restart("the monitor refused the association", now_s, abort=True)
            elif msg.kind == pdu.DN_SPDU and self.phase == Phase.RELEASING:
                self._enter(Phase.CLOSED, now_s)
        elif isinstance(msg, pdu.AssociationResult):
            if self.phase == Phase.ASSOCIATING:
                self.min_poll_period_s = msg.min_poll_period_s
                self._enter(Phase.AWAIT_MDS, now_s)
        elif isinstance(msg, pdu.MdsCreateReport):
            if self.phase in (Phase.AWAIT_MDS, Phase.OPERATING):
                self._send(pdu.mds_create_result(msg.invoke_id, msg.managed_object,
                                                 msg.event_time), now_s)
                self.reports_answered += 1
                if msg.abs_time is not None and msg.rel_time is not None:
                    self._mds_clock = (msg.abs_time, msg.rel_time)
            if self.phase == Phase.AWAIT_MDS:
                self._nibp_watched = False
                self._enter(Phase.OPERATING, now_s)
                self._up = True
                period = (f"; min poll period {self.min_poll_period_s:g} s"
                          if self.min_poll_period_s is not None else "")
                self._events.append(LinkUp("association established" + period))
                self._send_poll(now_s)
        elif isinstance(msg, pdu.PollResult) and self.phase == Phase.OPERATING:
            self._poll_result(msg)

    def _poll_result(self, msg: pdu.PollResult) -> None:
        if (msg.action != pdu.NOM_ACT_POLL_MDIB_DATA_EXT
                or msg.obj_code != pdu.NOM_MOC_VMO_METRIC_NU):
            return
        if msg.linked_state:
            if msg.linked_state == 1 or msg.invoke_id != self._linked_invoke:
                if self._linked:
                    self._numerics(self._linked, msg.rel_time)
                self._linked, self._linked_invoke = [], msg.invoke_id
            self._linked.extend(msg.objects)
            return
        objs = list(msg.objects)
        if self._linked_invoke == msg.invoke_id:
            objs = self._linked + objs
        self._linked, self._linked_invoke = [], None
        self._numerics(objs, msg.rel_time)

    def _numerics(self, objs: list[pdu.ObservedObject], rel_time: int) -> None:
        values: dict[str, float] = {}
        alarmed: set[str] = set()
        conds: dict[str, tuple[Condition, str] | None] = {}
        nibp_obj: pdu.ObservedObject | None = None
        for obj in objs:
            for v in obj.values:
                if v.physio_id in nu.CONTINUOUS:
                    key = nu.CONTINUOUS[v.physio_id][0]
                    if key == "pr" and v.physio_id == pdu.NOM_PULS_RATE and "pr" in conds:
                        continue  # the pleth pulse rate wins over the generic one
                    value, cond = nu.continuous_value(v)
                    conds[key] = cond
                    alarmed.discard(key)
                    if value is None:
                        values.pop(key, None)
                    else:
                        values[key] = value
                        if nu.in_alarm(v.state):
                            alarmed.add(key)
                elif v.physio_id in nu.NIBP:
                    nibp_obj = obj
        changes: list[ConditionChange] = []
        for key, cond in conds.items():
            changes.extend(self._conditions.set(key, cond))
        self._events.extend(changes)
        if values:
            self._events.append(MonitorReading(in_vital_order(values),
                                        in_alarm=tuple(sorted(alarmed, key=lambda k: ORDER[k]))))
        if nibp_obj is not None:
            self._nibp(nibp_obj, rel_time)

    def _nibp(self, obj: pdu.ObservedObject, rel_time: int) -> None:
        elems = [v for v in obj.values if v.physio_id in nu.NIBP]
        states = 0
        for v in elems:
            states |= v.state
        if states & (pdu.MS_MSMT_ONGOING | pdu.MS_EARLY_INDICATION):
            return  # a cuff cycle in progress: wait for the complete reading
        values = {nu.NIBP[v.physio_id]: x for v in elems
                  if (x := nu.nibp_values(v)) is not None}
        if values:
            cond = None
        else:
            worst = next((v.state for v in elems if not nu.is_valid(v.state)), None)
            cond = (nu.state_condition(worst, nibp=True) if worst is not None
                    else (Condition.MEASUREMENT_INVALID, "NBP without a usable value"))
        self._events.extend(self._conditions.set(nu.NIBP_CONDITION_VITAL, cond))
        if not values:
            return
        key = obj.abs_time_raw or obj.rel_time or tuple(sorted(values.items()))
        first_sight, self._nibp_watched = not self._nibp_watched, True
        if key == self._last_nibp_key:
            return
        self._last_nibp_key = key
        age = self._age(obj, rel_time)
        if age is None and first_sight:
            return  # measured before we watched, at a time the monitor did not say
        alarmed = tuple(nu.NIBP[v.physio_id] for v in elems
                        if nu.NIBP[v.physio_id] in values and nu.in_alarm(v.state))
        self._events.append(MonitorReading(in_vital_order(values), age or 0.0,
                                    alarmed))

    def _age(self, obj: pdu.ObservedObject, rel_time: int) -> float | None:
        """How long ago, by the monitor's clock, the NBP was measured (None when unknown)."""
        if obj.rel_time:
            age = ((rel_time - obj.rel_time) & 0xFFFFFFFF) / pdu.REL_TICKS_PER_S
            return age if age < _DAY_S else None
        if obj.abs_time is not None and self._mds_clock is not None and rel_time:
            abs0, rel0 = self._mds_clock
            mon_now = abs0 + timedelta(seconds=((rel_time - rel0) & 0xFFFFFFFF)
                                       / pdu.REL_TICKS_PER_S)
            age = (mon_now - obj.abs_time).total_seconds()
            return age if 0.0 <= age < _DAY_S else None
        return None
