"""A fake GE Datex-Ohmeda S/5 on its computer interface (monitor side of S5CI/DRI).

On a DISPL request with an interval >= 5 s it sends a PHDB record every interval until a
stop (interval 0); a -1 request gets one record; an AUX_INFO request gets the time of the
last NIBP. Each PHDB record carries three DISPL subrecords of classes ext1, basic, ext3
(class 2 skipped, as on a real monitor, and basic not first, so only the class field tells
them apart). HR, SpO2 and pulse change each record; an NIBP reading completes every
`nibp_interval_s`, labelled "measuring" during the cuff cycle and "older than 60 s" after.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from devices.multiparam.datex import records as dri
from devices.multiparam.datex.framing import FrameDecoder, encode_frame

NIBP_CUFF_S = 30.0
EPOCH = 1_795_000_000  # the monitor's Unix time at fake time 0


@dataclass
class FakeDatexConfig:
    nibp_interval_s: float = 180.0
    nibp_first_s: float = 40.0
    dri_level: int = 9
    answer_aux: bool = True
    # (from_s, to_s, vital, raw int16 code) overrides: e.g. (10, 20, "spo2", DATA_INVALID)
    codes: tuple[tuple[float, float, str, int], ...] = ()
    # (from_s, to_s) windows of asystole: HR 0 with the ECG asystole status bit
    asystole: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class SentRecord:
    t_s: float
    hr: int
    spo2: int
    pr: int
    nibp: tuple[int, int, int]
    nibp_label: int


@dataclass(frozen=True, slots=True)
class NibpMeasurement:
    t_s: float
    sbp: float
    dbp: float
    map: float


class FakeDatex:
    def __init__(self, config: FakeDatexConfig | None = None) -> None:
        self.cfg = config or FakeDatexConfig()
        self.decoder = FrameDecoder()
        self.sent: list[SentRecord] = []
        self.requests: list[tuple[int, int, int]] = []  # (rcrd_type, interval, class_bf)
        self.muted = False
        self._out: list[bytes] = []
        self._interval: int | None = None
        self._next = 0.0

    def power_cycle(self, now_s: float) -> None:
        """Restart: the automatic transmission request is forgotten."""
        self._interval = None
        self._out.clear()
        self.decoder = FrameDecoder()

    @property
    def transmitting(self) -> bool:
        return self._interval is not None

    def nibp_at(self, k: int) -> NibpMeasurement:
        t = self.cfg.nibp_first_s + k * self.cfg.nibp_interval_s
        sbp = float(121 + (k * 7) % 19)
        dbp = float(77 + (k * 3) % 9)
        return NibpMeasurement(t, sbp, dbp, float(round((sbp + 2 * dbp) / 3)))

    def last_nibp(self, t: float) -> NibpMeasurement | None:
        if t < self.cfg.nibp_first_s:
            return None
        return self.nibp_at(int((t - self.cfg.nibp_first_s) // self.cfg.nibp_interval_s))

    def feed(self, data: bytes, now_s: float) -> None:
        if self.muted:
            return
        for rec in self.decoder.feed(data):
            if len(rec) != 49 or rec[14] != dri.DRI_MT_PHDB:
                continue
            rtype, ival, cbf = struct.unpack_from("<BhI", rec, 40)
            self.requests.append((rtype, ival, cbf))
            if rtype == dri.DRI_PH_AUX_INFO:
                if self.cfg.answer_aux:
                    self._send(self._aux_record(now_s))
            elif rtype == dri.DRI_PH_DISPL:
                if ival == 0:
                    self._interval = None
                elif ival == -1:
                    self._send(self._phdb_record(now_s))
                elif ival >= 5:
                    self._interval = ival
                    self._next = now_s  # first record right away

    def poll(self, now_s: float) -> bytes:
        if self.muted:  # it keeps transmitting into a cable that is not there
            while self._interval is not None and now_s >= self._next:
                self._next += self._interval
            self._out.clear()
            return b""
        while self._interval is not None and now_s >= self._next:
            self._send(self._phdb_record(self._next))
            self._next += self._interval
        out = b"".join(self._out)
        self._out.clear()
        return out

    def _send(self, record: bytes) -> None:
        self._out.append(encode_frame(record))

    def _code(self, vital: str, t: float) -> int | None:
        for t0, t1, v, c in self.cfg.codes:
            if v == vital and t0 <= t < t1:
                return c
        return None

    def _header(self, t: float, subs: list[tuple[int, bytes]]) -> bytes:
        descs = b""
        off = 0
        for typ, data in subs:
            descs += struct.pack("<hB", off, typ)
            off += len(data)
        descs = (descs + struct.pack("<hB", 0, dri.DRI_EOL_SUBR_LIST)).ljust(24, b"\x00")
        body = b"".join(d for _, d in subs)
        head = struct.pack("<hBBHIBBHh", dri.HEADER_LEN + len(body), 0, self.cfg.dri_level, 0,
                           EPOCH + int(t), 0, 0, 0, dri.DRI_MT_PHDB)
        return head + descs + body

    def _phdb_record(self, t: float) -> bytes:
        hr = 70 + round(9 * math.sin(t / 29.0))
        spo2 = round(9650 + 150 * math.sin(t / 37.0))
        pr = hr + 1
        hr = self._code("hr", t) or hr
        spo2 = self._code("spo2", t) or spo2
        pr = self._code("pr", t) or pr
        ecg_status = dri.STATUS_EXISTS | dri.STATUS_ACTIVE | (1 << 3)
        if any(t0 <= t < t1 for t0, t1 in self.cfg.asystole):
            hr, ecg_status = 0, ecg_status | dri.ECG_STATUS_ASYSTOLE
        m = self.last_nibp(t)
        cfg = self.cfg
        k_next = 0 if m is None else int((t - cfg.nibp_first_s) // cfg.nibp_interval_s) + 1
        nxt = self.nibp_at(k_next).t_s
        measuring = nxt - NIBP_CUFF_S <= t < nxt
        if m is None:
            nibp = (dri.DATA_INVALID,) * 3
            label = 0
        else:
            nibp = (round(m.sbp * 100), round(m.dbp * 100), round(m.map * 100))
            label = dri.NIBP_LABEL_OLD if t - m.t_s > 60 else 0
        code = self._code("sbp", t)
        if code is not None:
            nibp = (code,) * 3
        if measuring:
            label |= dri.NIBP_LABEL_MEASURING
        self.sent.append(SentRecord(t, hr, spo2, pr, nibp, label))
        basic = bytearray(dri.PHDB_LEN)
        struct.pack_into("<I", basic, 0, EPOCH + int(t))
        exists = dri.STATUS_EXISTS | dri.STATUS_ACTIVE
        struct.pack_into("<IHhhhhh", basic, dri.ECG_STATUS, ecg_status, 0x2200, hr,
                         0, 0, 0, 14)
        struct.pack_into("<IHhhhh", basic, dri.NIBP_STATUS, exists, label, *nibp, hr)
        struct.pack_into("<IHhhhh", basic, dri.SPO2_STATUS, exists, 0, spo2, pr, 250, 0)
        struct.pack_into("<H", basic, 276, self._cl(dri.CLASS_BASIC))
        subs = [(dri.DRI_PH_DISPL, self._ext(t, dri.CLASS_EXT1)),
                (dri.DRI_PH_DISPL, bytes(basic)),
                (dri.DRI_PH_DISPL, self._ext(t, dri.CLASS_EXT3))]
        return self._header(t, subs)

    def _cl(self, cls: int) -> int:
        return (self.cfg.dri_level << 12) | (cls << 8)

    def _ext(self, t: float, cls: int) -> bytes:
        """An extension subrecord; its fields at the basic offsets hold other numbers."""
        sub = bytearray(b"\x11" * dri.PHDB_LEN)
        struct.pack_into("<I", sub, 0, EPOCH + int(t))
        struct.pack_into("<IHh", sub, dri.ECG_STATUS, 3, 0, 222)  # not a heart rate
        struct.pack_into("<H", sub, 276, self._cl(cls))
        return bytes(sub)

    def _aux_record(self, t: float) -> bytes:
        m = self.last_nibp(t)
        aux = bytearray(dri.AUX_LEN)
        struct.pack_into("<I", aux, 0, 0 if m is None else EPOCH + int(m.t_s))
        return self._header(t, [(dri.DRI_PH_AUX_INFO, bytes(aux))])
