"""DRI records: the request for physiological data, and the PHDB records the monitor sends.

Little-endian, packed (DRI p.3-6). A PHDB record carries up to five 278-byte `dri_phdb`
subrecords; each says its class (basic, ext1, ext2, ext3) in bits 8-11 of its last word,
and only that field identifies it: a real monitor sent classes 0, 1, 3 (reference §B.5).
Parsers never raise; a record they cannot read is None.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEADER_LEN = 40
DRI_MT_PHDB, DRI_MT_WAVE, DRI_MT_ALARM, DRI_MT_NETWORK = 0, 1, 4, 5
DRI_EOL_SUBR_LIST = 0xFF
DRI_PH_DISPL, DRI_PH_10S_TREND, DRI_PH_60S_TREND, DRI_PH_AUX_INFO = 1, 2, 3, 4
CLASS_BASIC, CLASS_EXT1, CLASS_EXT2, CLASS_EXT3 = 0, 1, 2, 3
PHDB_LEN = 278
AUX_LEN = 114
CLASS_BF_ALL = 0x0E  # basic + ext1 + ext2 + ext3 (DRI p.15-16)

# special values: anything <= -32001 is a code (DRI p.19)
DATA_INVALID_LIMIT = -32001
DATA_INVALID, DATA_NOT_UPDATED, DATA_DISCONT = -32767, -32766, -32765
DATA_UNDER_RANGE, DATA_OVER_RANGE, DATA_NOT_CALIBRATED = -32764, -32763, -32762
CODE_NAMES = {DATA_INVALID: "invalid", DATA_NOT_UPDATED: "not updated",
              DATA_DISCONT: "discontinuity", DATA_UNDER_RANGE: "under range",
              DATA_OVER_RANGE: "over range", DATA_NOT_CALIBRATED: "not calibrated"}

# basic-class group offsets from the subrecord start (time at +0), DRI p.19-38
ECG_STATUS, ECG_LABEL, ECG_HR = 4, 8, 10
NIBP_STATUS, NIBP_LABEL, NIBP_SYS, NIBP_DIA, NIBP_MEAN = 76, 80, 82, 84, 86
SPO2_STATUS, SPO2_LABEL, SPO2_SPO2, SPO2_PR = 122, 126, 128, 130
STATUS_EXISTS, STATUS_ACTIVE = 0x1, 0x2
ECG_STATUS_ASYSTOLE = 1 << 2  # the monitor detects asystole (DRI p.20-21)
NIBP_LABEL_MEASURING, NIBP_LABEL_OLD = 1 << 5, 1 << 8  # bit 8: data older than 60 s


def request(rcrd_type: int = DRI_PH_DISPL, interval_s: int = 5,
            class_bf: int = CLASS_BF_ALL, dri_level: int = 0) -> bytes:
    """A `dri_phdb_req` record (S5CI p.6-7): interval -1 once, >= 5 automatic, 0 stop.

    GE's examples put dri_level 0 in requests (S5CI p.A-1).
    """
    if interval_s not in (-1, 0) and interval_s < 5:
        raise ValueError(f"S/5 transmission interval {interval_s} s: must be -1, 0 or >= 5")
    sr = struct.pack("<hB", 0, 0) + struct.pack("<hB", 0, DRI_EOL_SUBR_LIST) + bytes(18)
    head = struct.pack("<hBBHIBBHh", HEADER_LEN + 9, 0, dri_level, 0, 0, 0, 0, 0, DRI_MT_PHDB)
    return head + sr + struct.pack("<BhIH", rcrd_type, interval_s, class_bf, 0)


@dataclass(frozen=True, slots=True)
class Subrecord:
    sr_type: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Record:
    dri_level: int
    r_time: int  # Unix seconds, the monitor's clock
    maintype: int
    subrecords: tuple[Subrecord, ...]


def parse_record(rec: bytes) -> Record | None:
    """The header and subrecords of one unframed record; None when malformed."""
    if len(rec) < HEADER_LEN:
        return None
    r_len, _, level, _, r_time, _, _, _, maintype = struct.unpack_from("<hBBHIBBHh", rec)
    if r_len != len(rec):
        return None
    descs: list[tuple[int, int]] = []
    for i in range(8):
        off, typ = struct.unpack_from("<hB", rec, 16 + 3 * i)
        if typ == DRI_EOL_SUBR_LIST:
            break
        descs.append((off, typ))
    subs = []
    for i, (off, typ) in enumerate(descs):
        start = HEADER_LEN + off
        nxt = [HEADER_LEN + o for o, _ in descs[i + 1:] if HEADER_LEN + o > start]
        end = min(nxt) if nxt else len(rec)
        if off < 0 or start >= len(rec):
            return None
        subs.append(Subrecord(typ, rec[start:end]))
    return Record(level, r_time, maintype, tuple(subs))


@dataclass(frozen=True, slots=True)
class Group:
    """One measurement group: its status and label words and its raw int16 fields."""

    status: int
    label: int
    fields: tuple[int, ...]

    @property
    def exists(self) -> bool:
        return bool(self.status & STATUS_EXISTS)

    @property
    def active(self) -> bool:
        return bool(self.status & STATUS_ACTIVE)


@dataclass(frozen=True, slots=True)
class Basic:
    """The parts of the basic class Vigil reads (time: Unix s of the subrecord)."""

    time: int
    ecg: Group  # fields: hr, st1, st2, st3, imp_rr
    nibp: Group  # fields: sys, dia, mean, hr
    spo2: Group  # fields: spo2, pr, ir_amp, svo2


def subrecord_class(sub: bytes) -> int | None:
    if len(sub) < PHDB_LEN:
        return None
    word: int = struct.unpack_from("<H", sub, 276)[0]
    return (word >> 8) & 0x0F


def _group(sub: bytes, at: int, n: int) -> Group:
    status, label = struct.unpack_from("<IH", sub, at)
    return Group(status, label, struct.unpack_from(f"<{n}h", sub, at + 6))


def parse_basic(sub: bytes) -> Basic | None:
    """The basic-class groups of a DISPL subrecord; None if it is not basic class."""
    if subrecord_class(sub) != CLASS_BASIC:
        return None
    return Basic(struct.unpack_from("<I", sub, 0)[0], _group(sub, ECG_STATUS, 5),
                 _group(sub, NIBP_STATUS, 4), _group(sub, SPO2_STATUS, 4))


def parse_aux_nibp_time(sub: bytes) -> int | None:
    """`nibp_time` (Unix s, 0 unknown) of an AUX_INFO subrecord (DRI p.17)."""
    if len(sub) < 4:
        return None
    nibp_time: int = struct.unpack_from("<I", sub, 0)[0]
    return nibp_time


def find_basic(rec: Record) -> Basic | None:
    """The basic-class DISPL subrecord of a PHDB record, found by its class field."""
    if rec.maintype != DRI_MT_PHDB:
        return None
    for s in rec.subrecords:
        if s.sr_type == DRI_PH_DISPL:
            b = parse_basic(s.data)
            if b is not None:
                return b
    return None


def find_aux(rec: Record) -> int | None:
    if rec.maintype != DRI_MT_PHDB:
        return None
    for s in rec.subrecords:
        if s.sr_type == DRI_PH_AUX_INFO:
            return parse_aux_nibp_time(s.data)
    return None
