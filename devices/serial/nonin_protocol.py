"""Nonin serial data formats #2, #7 and #8 (9560 / OEM III specification), detected from the bytes.

- #2: 75 frames/s of `01 STATUS PLETH FLOAT CHK` (CHK = sum of the first four, mod 256),
  25 frames a packet; STATUS bit0 (SYNC) marks frame 1. The FLOAT byte of frame k carries
  packet field k: HR MSB/LSB in frames 1-2, SpO2 in 3, STAT2 (low battery) in 8.
- #7: the same with a 16-bit pleth: `STATUS PLETH_MSB PLETH_LSB FLOAT CHK`.
- #8: one 4-byte packet a second: status+HR high bits, HR low bits, SpO2-D, status2.

A #2/#7 packet gives numbers only when all 25 frames arrived in order with good checksums:
a frame lost in the middle would shift every later FLOAT byte into the wrong field, so a
packet cut short (a new SYNC too early, bytes skipped to resynchronise) gives pleth only.
Missing values are the device's own codes: HR 511, SpO2 127.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag

from devices.serial.oximetry import OximeterReading, collect
from monitor.messages import Condition

DEFAULT_BAUD = 9600
FRAMES_PER_PACKET = 25
PLETH_HZ = {2: 75.0, 7: 75.0}
HR_MISSING = 511
SPO2_MISSING = 127
_DETECT_WINDOW = 16  # bytes to recognise a format: 3 frames of #2/#7, 4 packets of #8
_UNLOCK_BYTES = 64  # bytes without a good frame before the format is searched for again


class NoninStatus(IntFlag):
    """The device's states, the same whichever format carried them."""

    SENSOR_DISCONNECT = 0x01  # #2/#7 STATUS bit6 (OEM III SNSD)
    ARTIFACT = 0x02
    OUT_OF_TRACK = 0x04
    SENSOR_ALARM = 0x08  # SNSA: probe off the finger or unusable data
    PERFUSION_YELLOW = 0x10  # #2/#7 perfusion bits 11; #8 LPRF
    PERFUSION_RED = 0x20  # #2/#7 perfusion bits 10; #8 MPRF
    LOW_BATTERY = 0x40


STATUS_CONDITIONS: tuple[tuple[int, Condition, str], ...] = (
    (NoninStatus.SENSOR_DISCONNECT, Condition.SENSOR_OFF, "sensor disconnected"),
    (NoninStatus.SENSOR_ALARM, Condition.SENSOR_OFF, "sensor alarm: probe off or unusable"),
    (NoninStatus.OUT_OF_TRACK, Condition.SEARCHING, "out of track"),
    (NoninStatus.ARTIFACT, Condition.POOR_SIGNAL, "artifact"),
    (NoninStatus.PERFUSION_YELLOW, Condition.LOW_PERFUSION, "low perfusion"),
    (NoninStatus.PERFUSION_RED, Condition.LOW_PERFUSION, "marginal perfusion"),
    (NoninStatus.LOW_BATTERY, Condition.LOW_BATTERY, "oximeter battery low"),
)


@dataclass(frozen=True, slots=True)
class NoninPacket:
    """A #2/#7 packet (1/3 s) or a #8 packet (1 s)."""

    fmt: int
    status: NoninStatus
    hr: int | None  # None: missing (511) or not trustworthy (packet incomplete)
    spo2: int | None
    complete: bool  # False: a #2/#7 packet cut short, which carries pleth only
    pleth: tuple[int, ...] = ()

    def reading(self) -> OximeterReading:
        values: tuple[tuple[str, float | None], ...] = (
            (("pr", self.hr), ("spo2", self.spo2)) if self.complete else ())
        return OximeterReading(values, collect(self.status, STATUS_CONDITIONS),
                       tuple(float(p) for p in self.pleth))


def _status2(st: int) -> NoninStatus:
    """#2/#7 STATUS byte (bit7 set) to flags."""
    s = NoninStatus(0)
    if st & 0x40:
        s |= NoninStatus.SENSOR_DISCONNECT
    if st & 0x20:
        s |= NoninStatus.ARTIFACT
    if st & 0x10:
        s |= NoninStatus.OUT_OF_TRACK
    if st & 0x08:
        s |= NoninStatus.SENSOR_ALARM
    perfusion = (st >> 1) & 0x03
    if perfusion == 0b11:
        s |= NoninStatus.PERFUSION_YELLOW
    elif perfusion == 0b10:
        s |= NoninStatus.PERFUSION_RED
    return s


def _ok2(b: bytes | bytearray, i: int) -> bool:
    return (b[i] == 0x01 and b[i + 1] & 0x80 != 0
            and (b[i] + b[i + 1] + b[i + 2] + b[i + 3]) & 0xFF == b[i + 4])


def _ok7(b: bytes | bytearray, i: int) -> bool:
    return b[i] & 0x80 != 0 and (b[i] + b[i + 1] + b[i + 2] + b[i + 3]) & 0xFF == b[i + 4]


def _ok8(b: bytes | bytearray, i: int) -> bool:
    if b[i] & 0x80 == 0 or (b[i + 1] | b[i + 2] | b[i + 3]) & 0x80:
        return False
    hr = (b[i] & 0x03) << 7 | b[i + 1]
    return (hr <= 300 or hr == HR_MISSING) and (b[i + 2] <= 100 or b[i + 2] == SPO2_MISSING)




def decode8(b: bytes | bytearray) -> NoninPacket:
    """One #8 packet (already checked by its pattern)."""
    s = NoninStatus(0)
    if b[0] & 0x20:
        s |= NoninStatus.OUT_OF_TRACK
    if b[0] & 0x10:
        s |= NoninStatus.PERFUSION_YELLOW
    if b[0] & 0x08:
        s |= NoninStatus.PERFUSION_RED
    if b[0] & 0x04:
        s |= NoninStatus.ARTIFACT
    if b[3] & 0x08:
        s |= NoninStatus.SENSOR_ALARM
    if b[3] & 0x01:
        s |= NoninStatus.LOW_BATTERY
    hr = (b[0] & 0x03) << 7 | b[1]
    return NoninPacket(8, s, None if hr == HR_MISSING else hr,
                       None if b[2] == SPO2_MISSING else b[2], True)


class NoninParser:
    """Incremental parser; `fmt` None recognises #2, #7 or #8 from the stream itself."""

    def __init__(self, fmt: int | None = None) -> None:
        if fmt not in (None, 2, 7, 8):
            raise ValueError(f"Nonin format #{fmt} is not supported (2, 7 or 8)")
        self.fixed = fmt
        self.fmt = fmt
        self._buf = bytearray()
        self._junk = 0  # bytes skipped since the last good frame
        self.frames = 0  # good frames (#2/#7) or packets (#8)
        self.errors = 0  # resynchronisations and packets cut short
        self._reset_packet()

    def _reset_packet(self) -> None:
        self._idx = 0  # frames of the current packet so far; 0: waiting for SYNC
        self._floats = bytearray(FRAMES_PER_PACKET + 1)
        self._status = NoninStatus(0)
        self._pleth: list[int] = []

    def feed(self, data: bytes) -> list[NoninPacket]:
        self._buf += data
        out: list[NoninPacket] = []
        while self.fmt is not None or self._detect():
            if self.fmt == 8:
                self._run8(out)
            else:
                self._run57(out)
            if self.fmt is not None:  # still locked: everything usable was consumed
                break
        return out

    def _detect(self) -> bool:
        """Finds the first offset where one format gives consecutive good frames."""
        b, n = self._buf, len(self._buf)
        for i in range(n):
            x = b[i]
            if x == 0x01:
                fmt = 2 if i + 15 <= n and _ok2(b, i) and _ok2(b, i + 5) and _ok2(b, i + 10) \
                    else None
            elif x & 0x80:
                if i + 15 <= n and _ok7(b, i) and _ok7(b, i + 5) and _ok7(b, i + 10):
                    fmt = 7
                elif (i + 16 <= n and _ok8(b, i) and _ok8(b, i + 4) and _ok8(b, i + 8)
                      and _ok8(b, i + 12)):
                    fmt = 8
                else:
                    fmt = None
            else:
                continue
            if fmt is not None:
                del b[:i]
                self.fmt = fmt
                self._junk = 0
                return True
        if n > _DETECT_WINDOW:  # keep what a later byte could still complete
            del b[:n - _DETECT_WINDOW]
        return False

    def _skip(self, out: list[NoninPacket]) -> None:
        if self._junk == 0:
            self.errors += 1
            if self._idx:
                self._end(out)
        self._junk += 1

    def _run57(self, out: list[NoninPacket]) -> None:
        b, n, i = self._buf, len(self._buf), 0
        ok = _ok2 if self.fmt == 2 else _ok7
        wide = self.fmt == 7
        while i + 5 <= n:
            if not ok(b, i):
                self._skip(out)
                i += 1
                if self._junk > _UNLOCK_BYTES and self.fixed is None:
                    self.fmt = None
                    del b[:i]
                    return
                continue
            self._junk = 0
            fl = b[i + 3]
            if wide:
                st, pleth = b[i], b[i + 1] << 8 | b[i + 2]
            else:
                st, pleth = b[i + 1], b[i + 2]
            self.frames += 1
            i += 5
            if st & 0x01:  # SYNC: frame 1 of a packet
                if self._idx:
                    self.errors += 1  # the previous packet was cut short
                    self._end(out)
                self._idx = 0
            elif not self._idx:
                continue  # not yet synchronised
            self._idx += 1
            self._floats[self._idx] = fl
            self._status |= _status2(st)
            self._pleth.append(pleth)
            if self._idx == 8 and fl & 0x01:
                self._status |= NoninStatus.LOW_BATTERY
            if self._idx == FRAMES_PER_PACKET:
                self._end(out)
        del b[:i]

    def _end(self, out: list[NoninPacket]) -> None:
        f = self._floats
        complete = self._idx == FRAMES_PER_PACKET
        hr = (f[1] & 0x03) << 7 | (f[2] & 0x7F)
        out.append(NoninPacket(
            self.fmt or 2, self._status,
            None if not complete or hr == HR_MISSING else hr,
            None if not complete or f[3] == SPO2_MISSING else f[3],
            complete, tuple(self._pleth)))
        self._reset_packet()

    def _run8(self, out: list[NoninPacket]) -> None:
        b, n, i = self._buf, len(self._buf), 0
        while i + 4 <= n:
            if _ok8(b, i):
                self._junk = 0
                out.append(decode8(b[i:i + 4]))
                self.frames += 1
                i += 4
                continue
            self._skip(out)
            i += 1
            if self._junk > _UNLOCK_BYTES and self.fixed is None:
                self.fmt = None
                del b[:i]
                return
        del b[:i]
