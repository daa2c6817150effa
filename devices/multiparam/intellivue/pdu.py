"""IntelliVue Data Export messages: builders for what Vigil sends, parsers for the rest.

Layouts and constants are from the PIPG (page numbers below) as summarised in
shared/reference/multiparam.md §A; all big-endian. Parsers never raise: a message they
cannot read is returned as None (or as `Unknown`), so arbitrary bytes are safe.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from datetime import datetime

# ---- session/presentation messages (first byte of the user data, PIPG p.42, p.72) ----
CN_SPDU, AC_SPDU, RF_SPDU, FN_SPDU, DN_SPDU, AB_SPDU = 0x0D, 0x0E, 0x0C, 0x09, 0x0A, 0x19
SPPDU = b"\xe1\x00\x00\x02"  # data export session header (first byte 0xE1)

# ROSE apdu types (PIPG p.42)
ROIV, RORS, ROER, ROLRS = 1, 2, 3, 5
CMD_EVENT_REPORT, CMD_CONFIRMED_EVENT_REPORT, CMD_CONFIRMED_ACTION = 0, 1, 7
NOM_NOTI_MDS_CREAT = 0x0D06
NOM_ACT_POLL_MDIB_DATA, NOM_ACT_POLL_MDIB_DATA_EXT = 0x0C16, 0xF13B
NOM_MOC_VMS_MDS, NOM_MOC_VMO_METRIC_NU, NOM_MOC_VMO_AL_MON = 0x21, 0x06, 0x36
NOM_ATTR_TIME_PD_POLL = 0xF13E
NOM_ATTR_GRP_VMO_STATIC = 0x0811

# attributes (PIPG p.75-79)
NOM_ATTR_ID_HANDLE, NOM_ATTR_ID_LABEL, NOM_ATTR_ID_LABEL_STRING = 0x0921, 0x0924, 0x0927
NOM_ATTR_NU_VAL_OBS, NOM_ATTR_NU_CMPD_VAL_OBS = 0x0950, 0x094B
NOM_ATTR_TIME_STAMP_ABS, NOM_ATTR_TIME_STAMP_REL = 0x0990, 0x0991
NOM_ATTR_TIME_ABS, NOM_ATTR_TIME_REL = 0x0987, 0x098F

# physio ids and units (PIPG p.115-119)
NOM_ECG_CARD_BEAT_RATE = 0x4182
NOM_PLETH_PULS_RATE = 0x4822
NOM_PULS_RATE = 0x480A
NOM_PULS_OXIM_SAT_O2 = 0x4BB8
NOM_PRESS_BLD_NONINV = 0x4A04
NOM_PRESS_BLD_NONINV_SYS, NOM_PRESS_BLD_NONINV_DIA, NOM_PRESS_BLD_NONINV_MEAN = (
    0x4A05, 0x4A06, 0x4A07)
NOM_DIM_BEAT_PER_MIN, NOM_DIM_PERCENT = 0x0AA0, 0x0220
NOM_DIM_MMHG, NOM_DIM_KILO_PASCAL = 0x0F20, 0x0F03

# MeasurementState bits (PIPG p.76-77): a value is valid iff the high byte is zero
MS_INVALID, MS_QUESTIONABLE, MS_UNAVAILABLE = 0x8000, 0x4000, 0x2000
MS_CALIBRATION_ONGOING, MS_TEST_DATA, MS_DEMO_DATA = 0x1000, 0x0800, 0x0400
MS_EARLY_INDICATION, MS_MSMT_ONGOING = 0x0040, 0x0020
MS_IN_ALARM = 0x0002  # the monitor's own alarm is on for this numeric (low byte: still valid)

REL_TICKS_PER_S = 8000  # RelativeTime is in 1/8 ms

# ---- fixed messages Vigil sends ----
# Association request (PIPG p.67-72, p.298; the common 238-byte string, VSMP
# aarq_msg_ext_poll2): min_poll_period 125 ms, MTU rx 2500 / tx 1000, extended polls
# allowed (ext options 0x8C000000).
AARQ = bytes.fromhex(
    "0dec0508130100160102800014020002c1dc3180a0808001010000a280a00300"
    "0001a4803080020101060452010001308006025101000000003080020102060c"
    "2a8648ce14020100000001013080060c2a8648ce140201000000020100000000"
    "000061803080020101a0806080a180060c2a8648ce14020100000003010000be"
    "802880060c2a8648ce1402010000000101020102814880000000400000000000"
    "00008000000020000000000000000001002c0001002880000000000003e80000"
    "09c4000003e8ffffffff600000000001000cf00100088c000000000000000000"
    "0000000000000000000000000000")
# Release request (PIPG p.301) and abort (p.303): fixed strings.
RLRQ = bytes.fromhex("0918c11661803080020101a08062808001000000000000000000")
ABRT = bytes.fromhex("192e110103c129a080a0803080020101060251010000000061803080020101a080"
                     "648080010100000000000000000000")
REFUSE = bytes.fromhex("0C03320100")


def _u16(v: int) -> bytes:
    return struct.pack(">H", v & 0xFFFF)


def mds_create_result(invoke_id: int, managed_object: bytes, event_time: int) -> bytes:
    """The mandatory MDS Create Event Result, mirroring the report's invoke id and object.

    PIPG p.55, example p.291-292:
    `E1 00 00 02 00 02 00 14 00 01 00 01 00 0E 00 21 00 00 00 00 00 48 47 00 0D 06 00 00`.
    """
    return (SPPDU + b"\x00\x02\x00\x14" + _u16(invoke_id) + b"\x00\x01\x00\x0e"
            + managed_object[:6].ljust(6, b"\x00") + struct.pack(">I", event_time & 0xFFFFFFFF)
            + b"\x0d\x06\x00\x00")


def ext_poll_request(invoke_id: int, poll_number: int, period_s: float,
                     obj_code: int = NOM_MOC_VMO_METRIC_NU) -> bytes:
    """Extended Poll Data Request with periodic replies for `period_s` (PIPG p.59-61, p.294)."""
    ticks = max(0, min(0xFFFFFFFF, round(period_s * REL_TICKS_PER_S)))
    return (SPPDU + b"\x00\x01\x00\x28" + _u16(invoke_id) + b"\x00\x07\x00\x22"
            + b"\x00\x21\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
            + b"\xf1\x3b\x00\x14" + _u16(poll_number) + b"\x00\x01" + _u16(obj_code)
            + b"\x00\x00" + b"\x00\x01\x00\x08" + b"\xf1\x3e\x00\x04" + struct.pack(">I", ticks))


def keep_alive(invoke_id: int, poll_number: int) -> bytes:
    """Single poll of the Alert Monitor's static context: the PIPG's keep-alive (p.63)."""
    return (SPPDU + b"\x00\x01\x00\x1c" + _u16(invoke_id) + b"\x00\x07\x00\x16"
            + b"\x00\x21\x00\x00\x00\x00" + b"\x00\x00\x00\x00" + b"\x0c\x16\x00\x08"
            + _u16(poll_number) + b"\x00\x01\x00\x36\x08\x11")


# ---- parsed messages ----
@dataclass(frozen=True, slots=True)
class AssociationResult:
    min_poll_period_s: float | None  # None when the poll profile could not be read
    ext_options: int | None


@dataclass(frozen=True, slots=True)
class SessionControl:
    """Refuse, release request/response or abort, by its SPDU byte."""

    kind: int


@dataclass(frozen=True, slots=True)
class MdsCreateReport:
    invoke_id: int
    managed_object: bytes  # 6 bytes, echoed in the result
    event_time: int
    abs_time: datetime | None  # the monitor's date and time when it sent the report
    rel_time: int | None  # the RelativeTime at that moment


@dataclass(frozen=True, slots=True)
class NuValue:
    physio_id: int
    state: int
    unit: int
    value: float  # NaN for the FLOAT special values


@dataclass(frozen=True, slots=True)
class ObservedObject:
    handle: int
    values: tuple[NuValue, ...]  # from NU_VAL_OBS and the NU_CMPD_VAL_OBS elements
    compound: bool
    abs_time: datetime | None  # NOM_ATTR_TIME_STAMP_ABS (aperiodic measurements: NBP)
    abs_time_raw: bytes | None
    rel_time: int | None  # NOM_ATTR_TIME_STAMP_REL


@dataclass(frozen=True, slots=True)
class PollResult:
    invoke_id: int
    linked_state: int  # 0 for a plain result; 1 first, 2 middle, 3 last of a linked series
    action: int  # NOM_ACT_POLL_MDIB_DATA_EXT or NOM_ACT_POLL_MDIB_DATA
    poll_number: int
    sequence_no: int | None  # extended polls only
    rel_time: int
    obj_code: int
    objects: tuple[ObservedObject, ...]


@dataclass(frozen=True, slots=True)
class RemoteError:
    invoke_id: int


@dataclass(frozen=True, slots=True)
class Unknown:
    first_byte: int


Pdu = AssociationResult | SessionControl | MdsCreateReport | PollResult | RemoteError | Unknown


def decode_float(raw: int) -> float:
    """FLOAT-Type (PIPG p.40-41): signed 8-bit exponent, signed 24-bit mantissa; specials NaN."""
    mant = raw & 0xFFFFFF
    if mant in (0x7FFFFF, 0x800000, 0x7FFFFE, 0x800002):
        return math.nan
    if mant & 0x800000:
        mant -= 0x1000000
    exp = (raw >> 24) & 0xFF
    if exp & 0x80:
        exp -= 0x100
    return mant * 10.0 ** exp if exp >= 0 else mant / 10.0 ** -exp


def encode_float(value: float, decimals: int = 0) -> int:
    """The FLOAT-Type of `value` with `decimals` decimals (NaN -> the NaN mantissa)."""
    if not math.isfinite(value):
        return 0x007FFFFF
    scale: float = 10 ** decimals  # an int for decimals >= 0, as before
    mant = round(value * scale)
    return ((-decimals) & 0xFF) << 24 | (mant & 0xFFFFFF)


def _bcd(b: int) -> int:
    return (b >> 4) * 10 + (b & 0x0F)


def decode_abs_time(raw: bytes) -> datetime | None:
    """AbsoluteTime: 8 BCD bytes century, year, month, day, hour, minute, second, 1/100 s."""
    if len(raw) != 8 or raw == b"\xff" * 8:
        return None
    if any((b >> 4) > 9 or (b & 0x0F) > 9 for b in raw):
        return None
    try:
        return datetime(_bcd(raw[0]) * 100 + _bcd(raw[1]), _bcd(raw[2]), _bcd(raw[3]),
                        _bcd(raw[4]), _bcd(raw[5]), _bcd(raw[6]), _bcd(raw[7]) * 10000)
    except ValueError:
        return None


def encode_abs_time(t: datetime) -> bytes:
    def bcd(v: int) -> int:
        return (v // 10) << 4 | v % 10
    return bytes(bcd(v) for v in (t.year // 100, t.year % 100, t.month, t.day, t.hour,
                                  t.minute, t.second, t.microsecond // 10000))


class _Short(Exception):
    """A structure ran past its buffer (caught inside this module)."""


class _Reader:
    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data, self.pos = data, pos
        self.end = len(data) if end is None else min(end, len(data))

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise _Short
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def sub(self, n: int) -> _Reader:
        """A reader over the next `n` bytes (bounded by this one), skipping them here."""
        if n < 0 or self.pos + n > self.end:
            raise _Short
        r = _Reader(self.data, self.pos, self.pos + n)
        self.pos += n
        return r


def _attributes(r: _Reader) -> dict[int, bytes]:
    count, length = r.u16(), r.u16()
    body = r.sub(length)
    out: dict[int, bytes] = {}
    for _ in range(count):
        aid, alen = body.u16(), body.u16()
        out[aid] = body.take(alen)
    return out


def _nu(raw: bytes) -> NuValue:
    physio, state, unit, f = struct.unpack(">HHHI", raw[:10])
    return NuValue(physio, state, unit, decode_float(f))


def _observed(handle: int, attrs: dict[int, bytes]) -> ObservedObject:
    values: list[NuValue] = []
    compound = False
    raw = attrs.get(NOM_ATTR_NU_VAL_OBS)
    if raw is not None and len(raw) >= 10:
        values.append(_nu(raw))
    raw = attrs.get(NOM_ATTR_NU_CMPD_VAL_OBS)
    if raw is not None and len(raw) >= 4:
        compound = True
        count, length = struct.unpack(">HH", raw[:4])
        body = raw[4:4 + length]
        for i in range(min(count, len(body) // 10)):
            values.append(_nu(body[i * 10:i * 10 + 10]))
    abs_raw = attrs.get(NOM_ATTR_TIME_STAMP_ABS)
    rel_raw = attrs.get(NOM_ATTR_TIME_STAMP_REL)
    return ObservedObject(
        handle, tuple(values), compound,
        decode_abs_time(abs_raw) if abs_raw is not None else None,
        abs_raw if abs_raw is not None and len(abs_raw) == 8 and abs_raw != b"\xff" * 8 else None,
        int.from_bytes(rel_raw, "big") if rel_raw is not None and len(rel_raw) == 4 else None)


def _poll_info(r: _Reader) -> tuple[ObservedObject, ...]:
    objs: list[ObservedObject] = []
    count, length = r.u16(), r.u16()
    body = r.sub(length)
    for _ in range(count):
        body.u16()  # context id
        n_obs, obs_len = body.u16(), body.u16()
        obs = body.sub(obs_len)
        for _ in range(n_obs):
            handle = obs.u16()
            objs.append(_observed(handle, _attributes(obs)))
    return tuple(objs)


def _association_result(data: bytes) -> AssociationResult:
    """User data follows `BE 80 28 80 81` or `BE 80 28 80 02 01 02 81` (PIPG p.73)."""
    for anchor in (b"\xbe\x80\x28\x80\x02\x01\x02\x81", b"\xbe\x80\x28\x80\x81"):
        i = data.find(anchor)
        if i < 0:
            continue
        r = _Reader(data, i + len(anchor))
        try:
            n = r.u8()
            if n & 0x80:
                n = int.from_bytes(r.take(n & 0x7F), "big")
            info = r.sub(n)
            info.take(20)  # versions, functional units, system type, startup mode
            _attributes(info)  # option list
            profiles = _attributes(info)
            prof = profiles.get(0x0001)
            if prof is None or len(prof) < 24:
                return AssociationResult(None, None)
            pr = _Reader(prof)
            pr.u32()
            min_poll = pr.u32()
            pr.take(16)
            opt = _attributes(pr)
            ext = opt.get(0xF001)
            return AssociationResult(min_poll / REL_TICKS_PER_S,
                                     int.from_bytes(ext[:4], "big") if ext and len(ext) >= 4
                                     else None)
        except _Short:
            return AssociationResult(None, None)
    return AssociationResult(None, None)


def _data_export(data: bytes) -> Pdu | None:
    r = _Reader(data, 4)
    ro_type, ro_len = r.u16(), r.u16()
    r = r.sub(ro_len)
    linked = 0
    if ro_type == ROLRS:
        linked = r.u8()
        r.u8()
    invoke, command, cmd_len = r.u16(), r.u16(), r.u16()
    if ro_type == ROER:
        return RemoteError(invoke)
    body = r.sub(cmd_len)
    if ro_type == ROIV and command in (CMD_EVENT_REPORT, CMD_CONFIRMED_EVENT_REPORT):
        mo = body.take(6)
        event_time, event_type, ev_len = body.u32(), body.u16(), body.u16()
        if event_type != NOM_NOTI_MDS_CREAT:
            return Unknown(data[0])
        info = body.sub(ev_len)
        info.take(6)  # the MDS ManagedObjectId
        attrs = _attributes(info)
        abs_raw = attrs.get(NOM_ATTR_TIME_ABS)
        rel_raw = attrs.get(NOM_ATTR_TIME_REL)
        return MdsCreateReport(invoke, mo, event_time,
                               decode_abs_time(abs_raw) if abs_raw else None,
                               int.from_bytes(rel_raw, "big") if rel_raw and len(rel_raw) == 4
                               else None)
    if ro_type in (RORS, ROLRS) and command == CMD_CONFIRMED_ACTION:
        body.take(6)  # managed object
        action, act_len = body.u16(), body.u16()
        res = body.sub(act_len)
        if action not in (NOM_ACT_POLL_MDIB_DATA_EXT, NOM_ACT_POLL_MDIB_DATA):
            return Unknown(data[0])
        poll_number = res.u16()
        seq = res.u16() if action == NOM_ACT_POLL_MDIB_DATA_EXT else None
        rel = res.u32()
        res.take(8)  # abs_time_stamp, always 0xFF (PIPG p.62)
        res.u16()
        obj_code = res.u16()
        res.u16()  # attribute group
        return PollResult(invoke, linked, action, poll_number, seq, rel, obj_code,
                          _poll_info(res))
    return Unknown(data[0])


def decode(data: bytes) -> Pdu | None:
    """The message in one frame's user data; None when it is malformed. Never raises."""
    if not data:
        return None
    first = data[0]
    try:
        if first == 0xE1:
            return _data_export(data)
        if first == AC_SPDU:
            return _association_result(data)
        if first in (RF_SPDU, FN_SPDU, DN_SPDU, AB_SPDU):
            return SessionControl(first)
    except (_Short, struct.error):
        return None
    return Unknown(first)
