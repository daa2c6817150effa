"""Masimo Radical-7 / Rad-8 / Radical-5 serial ASCII output ("ASCII 1" mode), parsed by tag.

One line a second, CR LF terminated (captures look double-spaced, so any CR/LF run ends a
line), `TAG=VALUE` fields whose set and order vary by model and firmware:

    02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% ... ALARM=0000 EXC=000800

Dashes mean no value (`SPO2=---%`). Trend lines use `SpO2=` and `PR=`. The protocol has no
checksum, so a line is taken only when it is printable ASCII, names each known tag once,
and every known tag's value is well formed; anything else is counted and dropped whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from devices.serial.oximetry import OximeterReading, collect
from monitor.messages import Condition

DEFAULT_BAUD = 9600
MAX_LINE = 512  # real lines are < 200 bytes; a longer run without CR/LF is noise

_VALUE = re.compile(r"(\d{3})%?|(-+)%?")  # always zero-padded: fewer digits is damage
_HEX = re.compile(r"([0-9A-Fa-f]{1,8})(?::[ -~]*)?")
_TAGS = {"SPO2": "spo2", "BPM": "pr", "PR": "pr", "EXC": "exc", "ALARM": "alarm"}
_PRINTABLE = re.compile(rb"[\x20-\x7e\t]*")

# EXC (exception) bits: below 0x1000 from the Rad-8 manual, above from MD PnP (Radical-7).
# 0x800 "Masimo SET" is the normal state; 0x200 is reserved; SpCO/SpMET confidence
# (0x200000, 0x400000) concern values Vigil does not read.
EXC_CONDITIONS: tuple[tuple[int, Condition, str], ...] = (
    (0x000001, Condition.SENSOR_OFF, "no sensor connected"),
    (0x000002, Condition.SENSOR_FAULT, "defective sensor"),
    (0x000004, Condition.LOW_PERFUSION, "low perfusion"),
    (0x000008, Condition.SEARCHING, "pulse search"),
    (0x000010, Condition.POOR_SIGNAL, "interference"),
    (0x000020, Condition.NO_FINGER, "sensor off the patient"),
    (0x000040, Condition.POOR_SIGNAL, "ambient light"),
    (0x000080, Condition.SENSOR_FAULT, "unrecognised sensor"),
    (0x000100, Condition.SENSOR_FAULT, "incompatible sensor"),
    (0x000400, Condition.POOR_SIGNAL, "low signal IQ"),
    (0x001000, Condition.SENSOR_OFF, "no cable connected"),
    (0x002000, Condition.SENSOR_FAULT, "cable life expired"),
    (0x004000, Condition.SENSOR_FAULT, "incompatible cable"),
    (0x008000, Condition.SENSOR_FAULT, "unrecognised cable"),
    (0x010000, Condition.SENSOR_FAULT, "defective cable"),
    (0x020000, Condition.SEARCHING, "sensor calibrating"),
    (0x040000, Condition.SENSOR_FAULT, "sensor life expired"),
    (0x080000, Condition.SENSOR_FAULT, "emitter temperature out of range"),
    (0x100000, Condition.SENSOR_FAULT, "sensor current limit exceeded"),
)


@dataclass(frozen=True, slots=True)
class MasimoFrame:
    """One parsed line. A vital absent from the line is absent here; None means dashes."""

    values: tuple[tuple[str, int | None], ...]  # ("spo2" | "pr", value or None)
    exc: int | None  # exception bits; None when the line has no EXC field
    alarm: int | None  # the device's own alarm bits (its state, never a Vigil alarm)

    def reading(self) -> OximeterReading:
        conditions = collect(self.exc, EXC_CONDITIONS) if self.exc is not None else ()
        return OximeterReading(self.values, conditions)


def parse_line(line: bytes) -> MasimoFrame | None:
    """A frame from one line without its terminator; None for noise or a damaged line."""
    if not _PRINTABLE.fullmatch(line):
        return None
    fields: dict[str, str] = {}
    for token in line.decode("ascii").split():
        tag, eq, value = token.partition("=")
        key = _TAGS.get(tag.upper()) if eq else None
        if key is None:
            continue
        if key in fields:  # two lines run together, or a repeated tag: ambiguous
            return None
        fields[key] = value
    if not fields:
        return None
    values: list[tuple[str, int | None]] = []
    for key in ("spo2", "pr"):
        if key in fields:
            m = _VALUE.fullmatch(fields[key])
            if m is None:
                return None
            values.append((key, int(m.group(1)) if m.group(1) else None))
    flags: dict[str, int | None] = {}
    for key in ("exc", "alarm"):
        flags[key] = None
        if key in fields:
            m = _HEX.fullmatch(fields[key])
            if m is None:
                return None
            flags[key] = int(m.group(1), 16)
    if not values and flags["exc"] is None:
        return None  # nothing Vigil reads
    return MasimoFrame(tuple(values), flags["exc"], flags["alarm"])


class MasimoParser:
    """Incremental: feed any bytes, get the frames of the lines they complete."""

    def __init__(self) -> None:
        self._buf = b""
        self.frames = 0
        self.errors = 0  # damaged or unreadable lines, and overlong noise

    def feed(self, data: bytes) -> list[MasimoFrame]:
        buf = self._buf + data
        cut = max(buf.rfind(b"\n"), buf.rfind(b"\r"))
        if cut < 0:
            if len(buf) > MAX_LINE:
                self.errors += 1
                buf = b""
            self._buf = buf
            return []
        self._buf = buf[cut + 1:]
        if len(self._buf) > MAX_LINE:
            self.errors += 1
            self._buf = b""
        out: list[MasimoFrame] = []
        for line in buf[:cut].replace(b"\r", b"\n").split(b"\n"):
            if not line.strip():
                continue
            frame = parse_line(line) if len(line) <= MAX_LINE else None
            if frame is None:
                self.errors += 1
            else:
                out.append(frame)
        self.frames += len(out)
        return out
