"""The S/5 DRI session as a sans-I/O state machine (same shape as the IntelliVue one).

There is no association: one request for displayed values with an interval >= 5 s starts
automatic transmission until a request with interval 0 (S5CI p.6-7). The monitor may
forget it (restart, cable swap), so when no record came for `silence_s` the link is
declared lost and the request is sent again. NIBP's own measurement time comes from an
AUX_INFO record, asked for once each time the displayed NIBP changes.

A value without a special code is one the monitor vouches for (its codes say "invalid");
the ECG asystole status bit marks HR as in alarm. NIBP "data invalid" before any reading
has been shown means the cuff has not measured yet (a real S/5 shows it all session when
no cuff is used): it raises nothing, as IntelliVue's NBP "unavailable" between cycles.
Once a reading was shown, a code on NIBP is a condition (that cycle gave no reading).
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.conditions import ConditionTracker
from devices.multiparam.datex import records as dri
from devices.multiparam.datex.framing import FrameDecoder, encode_frame
from devices.multiparam.events import (
    Event,
    LinkDown,
    LinkUp,
    MonitorReading,
    in_vital_order,
)
from monitor.messages import Condition

_DAY_S = 86400


@dataclass(frozen=True, slots=True)
class Timing:
    interval_s: int = 5  # automatic transmission interval (>= 5 s, S5CI p.6)
    aux_wait_s: float = 11.0  # no AUX_INFO answer by then: record NIBP without its time
    min_request_gap_s: float = 5.0  # "no more than one request every 5 s"

    @property
    def silence_s(self) -> float:
        """Two intervals without a record, plus margin: the link is lost (reference §B.6)."""
        return 2 * self.interval_s + 2.0


def _code_condition(raw: int) -> tuple[Condition, str]:
    name = dri.CODE_NAMES.get(raw, f"code {raw}")
    if raw == dri.DATA_NOT_UPDATED:
        return Condition.SEARCHING, "monitor: value not updated"
    return Condition.MEASUREMENT_INVALID, f"monitor: value {name}"


class DatexSession:
    def __init__(self, timing: Timing | None = None, dri_level: int = 0) -> None:
        self.timing = timing or Timing()
        self.dri_level = dri_level
        self.decoder = FrameDecoder()
        self._out: list[bytes] = []
        self._events: list[Event] = []
        self._conditions = ConditionTracker()
        self._started = False
        self._closed = False
        self._up = False
        self._last_rx = 0.0
        self._next_request: float | None = None
        self._last_request = -1e9
        self._nibp_seen: tuple[int, int, int] | None = None  # last displayed raw sys/dia/mean
        self._nibp_measured = False  # a valid NIBP was shown since the driver began
        self._nibp_old = False  # label bit 8 (data older than 60 s) in the last record
        self._nibp_pending_old = False
        self._nibp_pending: tuple[tuple[str, float], ...] | None = None
        self._nibp_pending_since = 0.0
        self._aux_due: float | None = None
        self._last_nibp_time: int | None = None
        self._last_nibp_values: tuple[tuple[str, float], ...] | None = None
        self.requests_sent = 0

    @property
    def up(self) -> bool:
        return self._up

    def start(self, now_s: float) -> None:
        self.decoder = FrameDecoder()
        self._started, self._closed = True, False
        self._last_rx = now_s
        self._next_request = now_s
        self._nibp_seen = None

    def feed(self, data: bytes, now_s: float) -> list[Event]:
        for rec in self.decoder.feed(data) if data else ():
            parsed = dri.parse_record(rec)
            if parsed is not None and not self._closed:
                self._record(parsed, now_s)
        self._timers(now_s)
        events, self._events = self._events, []
        return events

    def poll(self, now_s: float) -> bytes:
        self._timers(now_s)
        if self._started and not self._closed:
            if self._next_request is not None and now_s >= self._next_request:
                self._request(dri.DRI_PH_DISPL, self.timing.interval_s, now_s)
                self._next_request = None
            elif self._aux_due is not None and now_s >= self._aux_due:
                if now_s - self._last_request >= self.timing.min_request_gap_s:
                    self._request(dri.DRI_PH_AUX_INFO, -1, now_s)
                    self._aux_due = None
                else:
                    self._aux_due = self._last_request + self.timing.min_request_gap_s
        out = b"".join(self._out)
        self._out.clear()
        return out

    def next_due(self, now_s: float) -> float:
        due = [now_s + 1.0, self._last_rx + self.timing.silence_s]
        for t in (self._next_request, self._aux_due):
            if t is not None:
                due.append(t)
        if self._nibp_pending is not None:
            due.append(self._nibp_pending_since + self.timing.aux_wait_s)
        return max(now_s, min(due))

    def close(self, now_s: float) -> bytes:
        """The stop request (interval 0) to write before closing the port."""
        if self._up:
            self._up = False
            self._events.extend([*self._conditions.clear(), LinkDown("closed by Vigil")])
        self._closed = True
        return encode_frame(dri.request(dri.DRI_PH_DISPL, 0, 0, self.dri_level))

    # ---- internals ----
    def _request(self, rcrd_type: int, interval: int, now_s: float) -> None:
        self._out.append(encode_frame(dri.request(rcrd_type, interval, dri.CLASS_BF_ALL,
                                                  self.dri_level)))
        self._last_request = now_s
        self.requests_sent += 1

    def _timers(self, now_s: float) -> None:
        if not self._started or self._closed:
            return
        if now_s - self._last_rx >= self.timing.silence_s:
            if self._up:
                self._up = False
                self._events.extend([*self._conditions.clear(), LinkDown(
                    f"no data from the monitor for {self.timing.silence_s:g} s")])
            self._last_rx = now_s  # ask again, then wait another silence period
            self._next_request = now_s
        if self._nibp_pending is not None \
                and now_s - self._nibp_pending_since >= self.timing.aux_wait_s:
            self._emit_nibp(None, None, now_s)

    def _record(self, rec: dri.Record, now_s: float) -> None:
        aux = dri.find_aux(rec)
        if aux is not None:
            self._last_rx = now_s
            if self._nibp_pending is not None:
                self._emit_nibp(aux, rec.r_time, now_s)
            return
        basic = dri.find_basic(rec)
        if basic is None:
            return
        self._last_rx = now_s
        if not self._up:
            self._up = True
            self._events.append(LinkUp(f"S/5 data, DRI level {rec.dri_level}"))
        values: dict[str, float] = {}
        alarmed = ("hr",) if basic.ecg.status & dri.ECG_STATUS_ASYSTOLE else ()
        for key, group, raw, scale in (("hr", basic.ecg, basic.ecg.fields[0], 1.0),
                                       ("spo2", basic.spo2, basic.spo2.fields[0], 0.01),
                                       ("pr", basic.spo2, basic.spo2.fields[1], 1.0)):
            if not (group.exists and group.active):
                self._events.extend(self._conditions.set(key, None))
                continue
            if raw <= dri.DATA_INVALID_LIMIT:
                self._events.extend(self._conditions.set(key, _code_condition(raw)))
                continue
            self._events.extend(self._conditions.set(key, None))
            values[key] = round(raw * scale, 2)
        if values:
            self._events.append(MonitorReading(in_vital_order(values),
                                        in_alarm=tuple(k for k in alarmed if k in values)))
        self._nibp(basic, now_s)

    def _nibp(self, basic: dri.Basic, now_s: float) -> None:
        g = basic.nibp
        if not (g.exists and g.active):
            self._events.extend(self._conditions.set("sbp", None))
            return
        raw = g.fields[:3]
        codes = [r for r in raw if r <= dri.DATA_INVALID_LIMIT]
        if g.label & dri.NIBP_LABEL_MEASURING:
            return  # the cuff is inflating: the shown values are the previous reading's
        if codes:
            cond = _code_condition(codes[0]) if self._nibp_measured else None
            self._events.extend(self._conditions.set("sbp", cond))
            self._nibp_seen = (raw[0], raw[1], raw[2])
            return
        self._nibp_measured = True
        self._events.extend(self._conditions.set("sbp", None))
        seen = (raw[0], raw[1], raw[2])
        fresh = self._nibp_old and not g.label & dri.NIBP_LABEL_OLD  # a new cycle, same values
        self._nibp_old = bool(g.label & dri.NIBP_LABEL_OLD)
        if seen == self._nibp_seen and not fresh:
            return
        self._nibp_seen = seen
        self._nibp_pending = (("sbp", raw[0] / 100), ("dbp", raw[1] / 100), ("map", raw[2] / 100))
        self._nibp_pending_old = self._nibp_old
        self._nibp_pending_since = now_s
        self._aux_due = now_s

    def _emit_nibp(self, nibp_time: int | None, r_time: int | None, now_s: float) -> None:
        values, self._nibp_pending = self._nibp_pending, None
        self._aux_due = None
        if values is None:
            return
        if nibp_time:  # a known measurement time: one reading per time
            if nibp_time == self._last_nibp_time:
                return
            self._last_nibp_time = nibp_time
            age = float(r_time - nibp_time) if r_time and 0 <= r_time - nibp_time < _DAY_S \
                else 0.0
        else:
            if values == self._last_nibp_values:
                return
            if self._nibp_pending_old:  # older than 60 s, at a time the monitor did not say
                self._last_nibp_values = values
                return
            age = now_s - self._nibp_pending_since  # when it was first displayed to us
        self._last_nibp_values = values
        self._events.append(MonitorReading(values, age))
