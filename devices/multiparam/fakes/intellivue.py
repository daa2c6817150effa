"""A fake Philips IntelliVue MP/MX on MIB/RS232 Data Export (monitor side of the PIPG dialog).

It accepts one association, sends the MDS Create Event Report (re-sent every 3 s, abort
after 3 unanswered sends; PIPG p.54), answers extended polls for numerics with an
immediate result then one every 1.024 s until the poll period ends (p.60-61), as a linked
series LRS(1) LRS(2) LRS(3) + an empty RORS like the real MP90, answers keep-alives,
aborts after 10 s without a host message (p.27), and can be muted, power-cycled or told
to abort. HR, SpO2 and pleth pulse change every second; NBP completes a measurement every
`nibp_interval_s` with MSMT_ONGOING during the cuff cycle and its AbsoluteTime attached.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta

from devices.multiparam.intellivue import pdu
from devices.multiparam.intellivue.framing import FrameDecoder, encode_frame

RESULT_PERIOD_S = 1.024  # observed on a real MP90: ΔRelativeTime 8192
NIBP_CUFF_S = 30.0
_MDS = b"\x00\x21\x00\x00\x00\x00"
H_HR, H_SPO2, H_PR, H_NBP = 0x0101, 0x0102, 0x0103, 0x0104


@dataclass
class FakeIntelliVueConfig:
    nibp_interval_s: float = 180.0
    nibp_first_s: float = 40.0  # when the first NBP cuff cycle completes
    linked: bool = True
    nibp_kpa: bool = False
    nibp_time: bool = True  # attach NOM_ATTR_TIME_STAMP_ABS to the NBP object
    min_poll_period_s: float = 0.5  # what the monitor grants in the association result
    abort_after_s: float = 10.0  # no host message for this long: the monitor aborts
    start: datetime = datetime(2026, 11, 21, 9, 0, 0)
    # (from_s, to_s, vital, MeasurementState) overrides for the numerics in that window
    states: tuple[tuple[float, float, str, int], ...] = ()
    # (from_s, to_s, vital, value) overrides, e.g. (0, 60, "hr", 0.0) for VF or asystole
    values: tuple[tuple[float, float, str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class SentNumeric:
    t_s: float
    vital: str
    value: float
    state: int


@dataclass(frozen=True, slots=True)
class NibpMeasurement:
    t_s: float  # when the cuff cycle completed (fake time)
    sbp: float
    dbp: float
    map: float


@dataclass
class FakeStats:
    associations: int = 0
    refused: int = 0
    reports_sent: int = 0
    results_received: int = 0
    wrong_invoke_results: int = 0
    polls: int = 0
    keepalives: int = 0
    aborts_sent: int = 0
    releases: int = 0
    results_sent: int = 0


class FakeIntelliVue:
    def __init__(self, config: FakeIntelliVueConfig | None = None) -> None:
        self.cfg = config or FakeIntelliVueConfig()
        self.decoder = FrameDecoder()
        self.stats = FakeStats()
        self.sent_numerics: list[SentNumeric] = []
        self.muted = False  # cable pulled: hears nothing, says nothing
        self.powered = True
        self._boot_s = 0.0
        self._out: list[bytes] = []
        self._state = "idle"  # idle | wait_result | associated
        self._last_rx = 0.0
        self._report_invoke = 0
        self._report_sends = 0
        self._next_report = 0.0
        self._poll: tuple[int, int] | None = None  # (invoke id, poll number) of the active poll
        self._poll_until = 0.0
        self._next_result = 0.0
        self._seq = 0
        self._invoke = 0x40

    # ---- monitor clock ----
    def rel_time(self, now_s: float) -> int:
        return round((now_s - self._boot_s) * pdu.REL_TICKS_PER_S) & 0xFFFFFFFF

    def abs_time(self, now_s: float) -> datetime:
        return self.cfg.start + timedelta(seconds=now_s)

    @property
    def associated(self) -> bool:
        return self._state == "associated"

    # ---- test controls ----
    def abort(self, now_s: float) -> None:
        """The monitor aborts the association (e.g. its user changed the export setting)."""
        if self._state != "idle":
            self._send(pdu.ABRT)
            self.stats.aborts_sent += 1
        self._drop()

    def power_cycle(self, now_s: float) -> None:
        """Power off and on: association, polls and RelativeTime all start from scratch."""
        self._drop()
        self._out.clear()
        self.decoder = FrameDecoder()
        self._boot_s = now_s

    # ---- physiology ----
    def vital_value(self, vital: str, t: float) -> float:
        for t0, t1, v, x in self.cfg.values:
            if v == vital and t0 <= t < t1:
                return x
        if vital == "hr":
            return float(72 + round(8 * math.sin(t / 23.0)))
        if vital == "pr":
            return float(72 + round(8 * math.sin(t / 23.0 + 0.1)))
        return round(96.5 + 2.0 * math.sin(t / 41.0), 1)  # spo2

    def nibp_at(self, k: int) -> NibpMeasurement:
        t = self.cfg.nibp_first_s + k * self.cfg.nibp_interval_s
        sbp = float(118 + (k * 7) % 23)
        dbp = float(74 + (k * 5) % 11)
        return NibpMeasurement(t, sbp, dbp, float(round((sbp + 2 * dbp) / 3)))

    def last_nibp(self, now_s: float) -> NibpMeasurement | None:
        if now_s < self.cfg.nibp_first_s:
            return None
        return self.nibp_at(int((now_s - self.cfg.nibp_first_s) // self.cfg.nibp_interval_s))

    def _state_of(self, vital: str, t: float) -> int:
        for t0, t1, v, st in self.cfg.states:
            if v == vital and t0 <= t < t1:
                return st
        return 0

    # ---- sans-I/O ----
    def feed(self, data: bytes, now_s: float) -> None:
        if self.muted or not self.powered:
            return
        for user in self.decoder.feed(data):
            self._last_rx = now_s
            self._handle(user, now_s)

    def poll(self, now_s: float) -> bytes:
        if self.muted or not self.powered:
            self._out.clear()
            if self._state != "idle" and now_s - self._last_rx >= self.cfg.abort_after_s:
                self._drop()  # it aborts towards a cable that is not there
            while self._poll is not None and now_s >= self._next_result:
                self._next_result += RESULT_PERIOD_S  # results into a cable that is not there
            return b""
        if self._state != "idle" and now_s - self._last_rx >= self.cfg.abort_after_s:
            self.abort(now_s)
        if self._state == "wait_result" and now_s >= self._next_report:
            if self._report_sends >= 3:
                self.abort(now_s)
            else:
                self._send_report(now_s)
        if self._state == "associated" and self._poll is not None:
            while now_s >= self._next_result and self._next_result < self._poll_until:
                self._send_results(self._next_result)
                self._next_result += RESULT_PERIOD_S
            if self._next_result >= self._poll_until:
                self._poll = None
        out = b"".join(self._out)
        self._out.clear()
        return out

    def _send(self, user: bytes) -> None:
        self._out.append(encode_frame(user))

    def _drop(self) -> None:
        self._state = "idle"
        self._poll = None

    def _handle(self, user: bytes, now_s: float) -> None:
        first = user[0] if user else -1
        if first == pdu.CN_SPDU:
            if self._state != "idle":
                self._send(pdu.REFUSE)  # only one association at a time (PIPG p.73)
                self.stats.refused += 1
                return
            self.stats.associations += 1
            self._send(association_result(self.cfg.min_poll_period_s))
            self._state = "wait_result"
            self._invoke = (self._invoke + 1) & 0xFFFF
            self._report_invoke = self._invoke
            self._report_sends = 0
            self._send_report(now_s)
        elif first == pdu.AB_SPDU:
            self._drop()
        elif first == pdu.FN_SPDU:
            self._send(RELEASE_RESPONSE)
            self.stats.releases += 1
            self._drop()
        elif first == 0xE1:
            self._data_export(user, now_s)

    def _send_report(self, now_s: float) -> None:
        self._send(mds_create_report(self._report_invoke, self.rel_time(now_s),
                                     self.abs_time(now_s)))
        self._report_sends += 1
        self.stats.reports_sent += 1
        self._next_report = now_s + 3.0

    def _data_export(self, user: bytes, now_s: float) -> None:
        if len(user) < 14:
            return
        ro_type, invoke, command = struct.unpack(">H2xHH", user[4:12])
        if ro_type == pdu.RORS and command == pdu.CMD_CONFIRMED_EVENT_REPORT:
            if self._state != "wait_result":
                return
            if invoke != self._report_invoke or user[14:20] != _MDS:
                self.stats.wrong_invoke_results += 1
                return
            self.stats.results_received += 1
            self._state = "associated"
        elif ro_type == pdu.ROIV and command == pdu.CMD_CONFIRMED_ACTION \
                and self._state == "associated" and len(user) >= 36:
            action, = struct.unpack(">H", user[24:26])
            poll_number, _, obj_code = struct.unpack(">HHH", user[28:34])
            if action == pdu.NOM_ACT_POLL_MDIB_DATA_EXT and obj_code == pdu.NOM_MOC_VMO_METRIC_NU:
                period = _ext_period(user[36:])
                self.stats.polls += 1
                self._poll = (invoke, poll_number)
                self._poll_until = now_s + period if period else now_s + 1e-6
                self._seq = 0
                self._next_result = now_s  # the first result is immediate (PIPG p.60)
            elif action == pdu.NOM_ACT_POLL_MDIB_DATA:
                self.stats.keepalives += 1
                self._send(single_poll_result(invoke, poll_number, obj_code,
                                              self.rel_time(now_s)))

    def _send_results(self, t: float) -> None:
        assert self._poll is not None
        invoke, poll_number = self._poll
        objs = self._objects(t)
        rel = self.rel_time(t)
        head = (poll_number, self._seq, rel)
        if self.cfg.linked:
            parts = [objs[:1], objs[1:3], objs[3:]]
            for i, part in enumerate(parts, start=1):
                self._send(poll_result(invoke, head, part, linked=(i, i)))
            self._send(poll_result(invoke, head, []))
        else:
            self._send(poll_result(invoke, head, objs))
        self._seq = (self._seq + 1) & 0xFFFF
        self.stats.results_sent += 1

    def _objects(self, t: float) -> list[bytes]:
        out = []
        for handle, vital, physio, unit, dec in (
                (H_HR, "hr", pdu.NOM_ECG_CARD_BEAT_RATE, pdu.NOM_DIM_BEAT_PER_MIN, 0),
                (H_SPO2, "spo2", pdu.NOM_PULS_OXIM_SAT_O2, pdu.NOM_DIM_PERCENT, 1),
                (H_PR, "pr", pdu.NOM_PLETH_PULS_RATE, pdu.NOM_DIM_BEAT_PER_MIN, 0)):
            state = self._state_of(vital, t)
            value = self.vital_value(vital, t) if not state & pdu.MS_UNAVAILABLE else math.nan
            self.sent_numerics.append(SentNumeric(t, vital, value, state))
            out.append(numeric_object(handle, physio, state, unit, pdu.encode_float(value, dec)))
        out.append(self._nibp_object(t))
        return out

    def _nibp_object(self, t: float) -> bytes:
        m = self.last_nibp(t)
        override = self._state_of("sbp", t)
        nxt = self.nibp_at(0 if m is None else
                           int((t - self.cfg.nibp_first_s) // self.cfg.nibp_interval_s) + 1)
        ongoing = nxt.t_s - NIBP_CUFF_S <= t < nxt.t_s
        unit = pdu.NOM_DIM_KILO_PASCAL if self.cfg.nibp_kpa else pdu.NOM_DIM_MMHG
        if m is None:
            elems = [(p, pdu.MS_UNAVAILABLE | override, unit, 0x007FFFFF)
                     for p in (pdu.NOM_PRESS_BLD_NONINV_SYS, pdu.NOM_PRESS_BLD_NONINV_DIA,
                               pdu.NOM_PRESS_BLD_NONINV_MEAN)]
            when = None
        else:
            state = override | (pdu.MS_MSMT_ONGOING if ongoing else 0)
            elems = [(p, state, unit, self._pressure(v))
                     for p, v in ((pdu.NOM_PRESS_BLD_NONINV_SYS, m.sbp),
                                  (pdu.NOM_PRESS_BLD_NONINV_DIA, m.dbp),
                                  (pdu.NOM_PRESS_BLD_NONINV_MEAN, m.map))]
            when = self.abs_time(m.t_s) if self.cfg.nibp_time else None
        return compound_object(H_NBP, elems, when)

    def _pressure(self, mmhg: float) -> int:
        if self.cfg.nibp_kpa:
            return pdu.encode_float(round(mmhg * 101.325 / 760.0, 2), 2)
        return pdu.encode_float(mmhg, 0)


def _ext_period(ext: bytes) -> float:
    """The NOM_ATTR_TIME_PD_POLL of a poll's ext attribute list, in seconds (0: one-shot)."""
    if len(ext) < 4:
        return 0.0
    count, length = struct.unpack(">HH", ext[:4])
    body = ext[4:4 + length]
    for _ in range(count):
        if len(body) < 4:
            break
        aid, alen = struct.unpack(">HH", body[:4])
        if aid == pdu.NOM_ATTR_TIME_PD_POLL and alen == 4 and len(body) >= 8:
            ticks: int = struct.unpack(">I", body[4:8])[0]
            return ticks / pdu.REL_TICKS_PER_S
        body = body[4 + alen:]
    return 0.0


# ---- monitor-side message builders ----
# Release response (PIPG p.301 gives `0A 18 C1 16 … 63 80 80 01 00 …`); the bytes between
# are the release request's, as the guide shows the two side by side.
RELEASE_RESPONSE = bytes.fromhex("0a18c11661803080020101a08063808001000000000000000000")


def association_result(min_poll_s: float) -> bytes:
    """An AC_SPDU whose user data follows `BE 80 28 80 02 01 02 81` (PIPG p.73)."""
    profile = (b"\x80\x00\x00\x00" + struct.pack(">I", round(min_poll_s * pdu.REL_TICKS_PER_S))
               + struct.pack(">III", 996, 996, 0xFFFFFFFF) + b"\x60\x00\x00\x00"
               + b"\x00\x01\x00\x0c\xf0\x01\x00\x08\x8c\x00\x00\x00\x00\x00\x00\x00")
    info = (b"\x80\x00\x00\x00\x40\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00\x00"
            b"\x80\x00\x00\x00" + b"\x00\x00\x00\x00"
            + struct.pack(">HH", 1, 4 + len(profile)) + struct.pack(">HH", 1, len(profile))
            + profile)
    pres = (b"\x31\x80\xa0\x80\x80\x01\x01\x00\x00\xa2\x80\xa0\x03\x00\x00\x01\xa5\x80"
            b"\x30\x80\x80\x01\x00\x81\x02\x51\x01\x00\x00\x00\x00\x61\x80\x30\x80\x02\x01"
            b"\x01\xa0\x80\x61\x80\xa1\x80\x06\x0c\x2a\x86\x48\xce\x14\x02\x01\x00\x00\x00"
            b"\x03\x01\x00\x00\xa2\x03\x02\x01\x00\xa3\x05\xa1\x03\x02\x01\x00\xbe\x80\x28"
            b"\x80\x02\x01\x02\x81" + bytes((len(info),)) + info + bytes(16))
    sess = b"\x05\x08\x13\x01\x00\x16\x01\x02\x80\x00\x14\x02\x00\x02"
    body = sess + b"\xc1" + bytes((len(pres),)) + pres
    return b"\x0e" + bytes((len(body),)) + body


def _ava(attr: int, value: bytes) -> bytes:
    return struct.pack(">HH", attr, len(value)) + value


def _attr_list(avas: list[bytes]) -> bytes:
    body = b"".join(avas)
    return struct.pack(">HH", len(avas), len(body)) + body


def mds_create_report(invoke: int, rel: int, when: datetime) -> bytes:
    """MDS Create Event Report (PIPG p.54, p.291) with Date and Time and Relative Time."""
    info = _MDS + _attr_list([
        _ava(pdu.NOM_ATTR_TIME_ABS, pdu.encode_abs_time(when)),
        _ava(pdu.NOM_ATTR_TIME_REL, struct.pack(">I", rel)),
        _ava(pdu.NOM_ATTR_ID_LABEL_STRING, b"\x00\x0e" + "Vigil MP".encode("utf-16-be")[:14]),
    ])
    arg = _MDS + struct.pack(">IHH", rel, pdu.NOM_NOTI_MDS_CREAT, len(info)) + info
    roiv = struct.pack(">HHH", invoke, pdu.CMD_CONFIRMED_EVENT_REPORT, len(arg)) + arg
    return pdu.SPPDU + struct.pack(">HH", pdu.ROIV, len(roiv)) + roiv


def numeric_object(handle: int, physio: int, state: int, unit: int, raw: int) -> bytes:
    return struct.pack(">H", handle) + _attr_list([
        _ava(pdu.NOM_ATTR_ID_HANDLE, struct.pack(">H", handle)),
        _ava(pdu.NOM_ATTR_ID_LABEL, struct.pack(">I", 0x00020000 | physio)),
        _ava(pdu.NOM_ATTR_NU_VAL_OBS, struct.pack(">HHHI", physio, state, unit, raw)),
    ])


def compound_object(handle: int, elems: list[tuple[int, int, int, int]],
                    when: datetime | None) -> bytes:
    cmpd = b"".join(struct.pack(">HHHI", *e) for e in elems)
    avas = [_ava(pdu.NOM_ATTR_ID_HANDLE, struct.pack(">H", handle)),
            _ava(pdu.NOM_ATTR_ID_LABEL, struct.pack(">I", 0x00020000 | pdu.NOM_PRESS_BLD_NONINV)),
            _ava(pdu.NOM_ATTR_NU_CMPD_VAL_OBS, struct.pack(">HH", len(elems), len(cmpd)) + cmpd),
            _ava(pdu.NOM_ATTR_TIME_STAMP_ABS,
                 pdu.encode_abs_time(when) if when is not None else b"\xff" * 8)]
    return struct.pack(">H", handle) + _attr_list(avas)


def poll_result(invoke: int, head: tuple[int, int, int], objs: list[bytes],
                linked: tuple[int, int] | None = None) -> bytes:
    """An extended poll result (PIPG p.61-62): RORS, or ROLRS with RorlsId(state, count)."""
    poll_number, seq, rel = head
    obs = b"".join(objs)
    info = (struct.pack(">HH", 1, 6 + len(obs)) + struct.pack(">HHH", 0, len(objs), len(obs))
            + obs) if objs else struct.pack(">HH", 0, 0)
    res = (struct.pack(">HHI", poll_number, seq, rel) + b"\xff" * 8
           + struct.pack(">HHH", 1, pdu.NOM_MOC_VMO_METRIC_NU, 0) + info)
    act = _MDS + struct.pack(">HH", pdu.NOM_ACT_POLL_MDIB_DATA_EXT, len(res)) + res
    cmd = struct.pack(">HHH", invoke, pdu.CMD_CONFIRMED_ACTION, len(act)) + act
    if linked is not None:
        cmd = bytes(linked) + cmd
        return pdu.SPPDU + struct.pack(">HH", pdu.ROLRS, len(cmd)) + cmd
    return pdu.SPPDU + struct.pack(">HH", pdu.RORS, len(cmd)) + cmd


def single_poll_result(invoke: int, poll_number: int, obj_code: int, rel: int) -> bytes:
    """The answer to a single poll (the keep-alive), with an empty PollInfoList."""
    res = (struct.pack(">HI", poll_number, rel) + b"\xff" * 8
           + struct.pack(">HHH", 1, obj_code, pdu.NOM_ATTR_GRP_VMO_STATIC) + b"\x00\x00\x00\x00")
    act = _MDS + struct.pack(">HH", pdu.NOM_ACT_POLL_MDIB_DATA, len(res)) + res
    cmd = struct.pack(">HHH", invoke, pdu.CMD_CONFIRMED_ACTION, len(act)) + act
    return pdu.SPPDU + struct.pack(">HH", pdu.RORS, len(cmd)) + cmd

