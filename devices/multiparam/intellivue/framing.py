"""MIB/RS232 framing: `C0 | 11 01 LEN | user data | FCS | C1`, with transparency.

FCS is the PPP/IrLAP CRC-16 (CRC-16/X-25: reflected 0x8408, init and xor-out 0xFFFF),
sent LSB first over the unescaped header and user data (PIPG p.30-31). It is computed
with the stdlib's C `crc_hqx` (the unreflected CCITT CRC) on bit-reversed bytes, which is
the same CRC and ~50x faster than a Python loop. Every byte between BOF and EOF is
escaped on transmit (header and FCS too, as ICE does) and unescaped on receipt.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

BOF, EOF, ESC = 0xC0, 0xC1, 0x7D
PROTOCOL_ID, MSG_TYPE = 0x11, 0x01
GOOD_FCS_RESIDUE = 0xF0B8  # CRC over hdr + data + FCS of a good frame (ICE FCSOutputStream)
MAX_FRAME = 8192  # the monitor's MTU is <= 1000; anything far larger is garbage

_REV = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))
_ESCAPE_TABLE = {BOF: bytes((ESC, BOF ^ 0x20)), EOF: bytes((ESC, EOF ^ 0x20)),
                 ESC: bytes((ESC, ESC ^ 0x20))}


def _rev16(x: int) -> int:
    return (_REV[x & 0xFF] << 8) | _REV[x >> 8]


def crc16_x25_raw(data: bytes) -> int:
    """The running CRC register (init 0xFFFF, reflected 0x8408) after `data`, not inverted."""
    return _rev16(binascii.crc_hqx(data.translate(_REV), 0xFFFF))


def fcs16(data: bytes) -> int:
    """The FCS to transmit for `data` (the one's complement of the CRC register)."""
    return crc16_x25_raw(data) ^ 0xFFFF


def escape(data: bytes) -> bytes:
    if b"\xc0" not in data and b"\xc1" not in data and b"\x7d" not in data:
        return data
    return b"".join(_ESCAPE_TABLE.get(b, bytes((b,))) for b in data)


def wrap(body: bytes) -> bytes:
    """A raw frame `C0 … C1` around already-unescaped `body` (header + data), FCS added."""
    fcs = fcs16(body)
    return bytes((BOF,)) + escape(body + bytes((fcs & 0xFF, fcs >> 8))) + bytes((EOF,))


def encode_frame(user_data: bytes) -> bytes:
    """The wire bytes of one Data Export frame carrying `user_data`."""
    n = len(user_data)
    if n > 0xFFFF:
        raise ValueError(f"IntelliVue frame: {n} bytes of user data exceed 65535")
    return wrap(bytes((PROTOCOL_ID, MSG_TYPE, n >> 8, n & 0xFF)) + user_data)


@dataclass(slots=True)
class FrameStats:
    frames: int = 0
    bad_fcs: int = 0
    bad_header: int = 0  # unknown protocol id / msg type, or LEN not the data length
    aborted: int = 0  # `7D C1` frame aborts and BOF inside a frame
    garbage: int = 0  # bytes outside any frame, or a malformed escape


def unescape(raw: bytes) -> bytes | None:
    """`raw` with `7D x` turned into `x ^ 0x20`; None for a dangling or doubled escape."""
    if b"\x7d" not in raw:
        return raw
    parts = raw.split(b"\x7d")
    out = [parts[0]]
    for p in parts[1:]:
        if not p:
            return None
        out.append(bytes((p[0] ^ 0x20,)))
        out.append(p[1:])
    return b"".join(out)


class FrameDecoder:
    """Incremental deframer: bytes in, validated user data out; resyncs on the next BOF.

    Never raises on any input. Frames with a bad FCS, header or length are dropped and
    counted in `stats`; a frame abort (`7D C1`) or a new BOF discards the partial frame.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.stats = FrameStats()

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        out: list[bytes] = []
        stats = self.stats
        while True:
            start = buf.find(BOF)
            if start < 0:
                stats.garbage += len(buf)
                buf.clear()
                break
            if start:
                stats.garbage += start
                del buf[:start]
            end = buf.find(EOF, 1)
            if end < 0:
                nxt = buf.find(BOF, 1)
                if nxt > 0:  # a new frame began before this one ended
                    stats.aborted += 1
                    del buf[:nxt]
                    continue
                if len(buf) > 2 * MAX_FRAME:
                    stats.garbage += len(buf)
                    buf.clear()
                break
            raw = bytes(buf[1:end])
            del buf[:end + 1]
            nxt = raw.rfind(BOF)
            if nxt >= 0:  # BOF inside: only the last start counts
                stats.aborted += 1
                raw = raw[nxt + 1:]
            if raw.endswith(b"\x7d"):
                stats.aborted += 1
                continue
            body = unescape(raw)
            if body is None:
                stats.garbage += len(raw)
                continue
            user = self._check(body)
            if user is not None:
                out.append(user)
        return out

    def _check(self, body: bytes) -> bytes | None:
        stats = self.stats
        if len(body) < 6:
            stats.bad_header += 1
            return None
        if crc16_x25_raw(body) != GOOD_FCS_RESIDUE:
            stats.bad_fcs += 1
            return None
        length = body[2] << 8 | body[3]
        if body[0] != PROTOCOL_ID or body[1] != MSG_TYPE or length != len(body) - 6:
            stats.bad_header += 1
            return None
        stats.frames += 1
        return body[4:-2]
