"""Contec CMS50D+ / CMS50E / CMS50F live data, both protocol generations, told apart by the bytes.

- V7.0 (CMS50D+ firmware 4.6, CMS50E/F, CMS60D; 115200 8N1): packets start with a type
  byte (bit7 clear) and a "high byte" whose bits 0-6 carry bit7 of the next seven bytes;
  every later byte has bit7 set. Real-time data is type 0x01, 9 bytes, 60 packets/s, and
  flows only after the host sends START and then KEEP_ALIVE every 5 s.
- Older firmware (19200 8O1): 5-byte frames, bit7 set on the first byte only.

The two framings cannot be mistaken for each other (eight bytes with bit7 set in a row
against four with it clear), so the parser locks onto whichever it sees first. Flag bits
differ between generations and vendors, so each generation has its own table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from devices.serial.oximetry import OximeterReading
from monitor.messages import Condition

V7_BAUD = 115200
LEGACY_BAUD = 19200
PLETH_HZ = 60.0
START = bytes.fromhex("7D81A1808080808080")
STOP = bytes.fromhex("7D81A2808080808080")
KEEP_ALIVE = bytes.fromhex("7D81AF808080808080")
KEEP_ALIVE_S = 5.0
PR_INVALID = 0xFF
SPO2_INVALID = 0x7F
_UNLOCK_BYTES = 64


class ContecProtocol(StrEnum):
    V7 = "v7"
    LEGACY = "legacy"


# (byte index, mask, condition, words): the real-time flag bits of each generation.
V7_FLAGS: tuple[tuple[int, int, Condition, str], ...] = (
    (2, 0x80, Condition.NO_FINGER, "finger out or probe error"),
    (2, 0x10, Condition.SEARCHING, "pulse search taking too long"),
    (3, 0x80, Condition.SEARCHING, "pulse search"),
)
LEGACY_FLAGS: tuple[tuple[int, int, Condition, str], ...] = (
    (0, 0x10, Condition.NO_FINGER, "finger out"),
    (2, 0x10, Condition.SENSOR_OFF, "probe error"),
    (2, 0x20, Condition.SEARCHING, "pulse search"),
)


@dataclass(frozen=True, slots=True)
class ContecFrame:
    """One real-time sample (60 a second)."""

    protocol: ContecProtocol
    pr: int | None  # None: the device's invalid code
    spo2: int | None
    pleth: int  # 0-127
    signal: int  # signal strength 0-8 (V7) / 0-15 (legacy)
    pi: float | None  # perfusion index in %, V7 only; None: invalid or unsupported
    conditions: tuple[tuple[Condition, str], ...]

    def reading(self) -> OximeterReading:
        return OximeterReading((("pr", self.pr), ("spo2", self.spo2)), self.conditions,
                       (float(self.pleth),))


def _flags(data: bytes | bytearray | list[int], table: tuple[tuple[int, int, Condition, str], ...]
           ) -> tuple[tuple[Condition, str], ...]:
    return tuple((cond, words) for i, mask, cond, words in table if data[i] & mask)


def decode_v7(p: bytes | bytearray) -> ContecFrame:
    """A type-0x01 packet (9 bytes, framing already checked) with bit7 restored."""
    hi = p[1]
    d = [0, 0, *((p[2 + k] & 0x7F) | (((hi >> k) & 1) << 7) for k in range(7))]
    pi_raw = d[7] | d[8] << 8
    return ContecFrame(
        ContecProtocol.V7,
        None if d[5] == PR_INVALID else d[5],
        None if d[6] == SPO2_INVALID or d[6] > 100 else d[6],
        d[3] & 0x7F, d[2] & 0x0F,
        None if pi_raw == 0xFFFF or d[4] & 0x10 else pi_raw / 100.0,
        _flags(d, V7_FLAGS))


def decode_legacy(b: bytes | bytearray) -> ContecFrame:
    """A 5-byte frame (framing already checked)."""
    pr = b[3] | (b[2] & 0x40) << 1
    return ContecFrame(
        ContecProtocol.LEGACY,
        None if pr == PR_INVALID else pr,
        None if b[4] == SPO2_INVALID or b[4] > 100 else b[4],
        b[1], b[0] & 0x0F, None, _flags(b, LEGACY_FLAGS))


def _v7_at(b: bytes | bytearray, i: int) -> int:
    """Length of a complete V7 packet at i (0: none here, -1: needs more bytes)."""
    if b[i] & 0x80:
        return 0
    n = len(b)
    j = i + 1
    while j < n and b[j] & 0x80:
        j += 1
    if j == n:
        return -1 if b[i] != 0x01 or j - i < 9 else 9
    return j - i


def _legacy_at(b: bytes | bytearray, i: int) -> bool:
    return bool(b[i] & 0x80) and not (b[i + 1] | b[i + 2] | b[i + 3] | b[i + 4]) & 0x80


class ContecParser:
    """Incremental parser for both generations; `protocol` is None until one is recognised."""

    def __init__(self, protocol: ContecProtocol | None = None) -> None:
        self.fixed = protocol
        self.protocol = protocol
        self._buf = bytearray()
        self._junk = 0
        self.frames = 0
        self.errors = 0
        self.other_packets = 0  # V7 packets of other types (command feedback, notices)

    def feed(self, data: bytes) -> list[ContecFrame]:
        self._buf += data
        out: list[ContecFrame] = []
        b = self._buf
        i, n = 0, len(b)
        while i < n:
            if (b[i] == 0x01 and i + 9 <= n and min(b[i + 1:i + 9]) >= 0x80
                    and (i + 9 == n or b[i + 9] < 0x80) and self.protocol is not
                    ContecProtocol.LEGACY):  # fast path: a whole real-time packet
                out.append(decode_v7(b[i:i + 9]))
                self._good(ContecProtocol.V7)
                i += 9
                continue
            if self.protocol is not ContecProtocol.LEGACY:
                size = _v7_at(b, i)
                if size < 0:
                    break  # a packet still arriving
                if size == 9 and b[i] == 0x01:
                    out.append(decode_v7(b[i:i + 9]))
                    self._good(ContecProtocol.V7)
                    i += 9
                    continue
                if size >= 2 and b[i] != 0x01 and self.protocol is ContecProtocol.V7:
                    self.other_packets += 1  # well framed, not real-time data
                    self._junk = 0
                    i += size
                    continue
            if self.protocol is not ContecProtocol.V7:
                if i + 5 > n:
                    break
                if _legacy_at(b, i) and (self.protocol is ContecProtocol.LEGACY
                                         or (i + 10 <= n and _legacy_at(b, i + 5))):
                    out.append(decode_legacy(b[i:i + 5]))
                    self._good(ContecProtocol.LEGACY)
                    i += 5
                    continue
                if self.protocol is None and i + 10 > n and _legacy_at(b, i):
                    break  # a first frame whose confirmation has not arrived yet
            self._skip()
            i += 1
        del b[:i]
        if len(b) > 256:  # cannot be a packet still arriving
            self._skip()
            del b[:]
        self.frames += len(out)
        return out

    def _good(self, protocol: ContecProtocol) -> None:
        self._junk = 0
        if self.protocol is None:
            self.protocol = protocol

    def _skip(self) -> None:
        if self._junk == 0:
            self.errors += 1
        self._junk += 1
        if self._junk > _UNLOCK_BYTES and self.fixed is None:
            self.protocol = None
