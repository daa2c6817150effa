"""S/5 framing: `7E | record | checksum | 7E`; 7E and 7D inside sent as `7D (b & ~0x20)`.

The checksum is the 8-bit sum of the unescaped record and is itself escaped (S5CI p.3-4).
"""

from __future__ import annotations

from dataclasses import dataclass

FLAG, ESC = 0x7E, 0x7D
MAX_FRAME = 4096  # a record is at most 40 + 1450 bytes


def checksum(record: bytes) -> int:
    return sum(record) & 0xFF


def escape(data: bytes) -> bytes:
    return data.replace(b"\x7d", b"\x7d\x5d").replace(b"\x7e", b"\x7d\x5e")


def encode_frame(record: bytes) -> bytes:
    return b"\x7e" + escape(record + bytes((checksum(record),))) + b"\x7e"


def unescape(raw: bytes) -> bytes | None:
    """`7D x` -> `x | 0x20`; None for a dangling escape."""
    if b"\x7d" not in raw:
        return raw
    parts = raw.split(b"\x7d")
    out = [parts[0]]
    for p in parts[1:]:
        if not p:
            return None
        out.append(bytes((p[0] | 0x20,)))
        out.append(p[1:])
    return b"".join(out)


@dataclass(slots=True)
class FrameStats:
    frames: int = 0
    bad_checksum: int = 0
    garbage: int = 0


class FrameDecoder:
    """Incremental deframer: bytes in, checksummed records out. Never raises.

    Both flags delimit, so a lost byte costs one record: the next 7E starts afresh.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._in_frame = False
        self.stats = FrameStats()

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        out: list[bytes] = []
        stats = self.stats
        pos = 0
        n = len(buf)
        while pos < n:
            if not self._in_frame:
                start = buf.find(FLAG, pos)
                if start < 0:
                    stats.garbage += n - pos
                    pos = n
                    break
                stats.garbage += start - pos
                pos = start + 1
                self._in_frame = True
            end = buf.find(FLAG, pos)
            if end < 0:
                if n - pos > MAX_FRAME:
                    stats.garbage += n - pos
                    pos = n
                    self._in_frame = False
                break
            raw = bytes(buf[pos:end])
            pos = end  # the closing flag may open the next frame
            self._in_frame = False
            if not raw:
                continue
            body = unescape(raw)
            if body is None or len(body) < 2:
                stats.garbage += len(raw)
                continue
            if checksum(body[:-1]) != body[-1]:
                stats.bad_checksum += 1
                continue
            stats.frames += 1
            out.append(body[:-1])
        del buf[:pos]
        return out
