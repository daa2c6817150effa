"""Test helpers: encoders for the serial protocols (written from the layouts in devices.md,
independently of the parsers) and a fake serial device on a pty pair."""

from __future__ import annotations

import contextlib
import os
import threading
import tty
from collections.abc import Callable

# -- encoders -----------------------------------------------------------------------------


def masimo_line(spo2: int | None, pr: int | None, exc: int = 0x800, alarm: int = 0,
                model: str = "rad8") -> bytes:
    s = "---" if spo2 is None else f"{spo2:03d}"
    p = "---" if pr is None else f"{pr:03d}"
    if model == "rad8":
        text = (f"02/22/16 22:47:45 SN=0000056661 SPO2={s}% BPM={p} PI=03.60% SPCO=--.-% "
                f"SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM={alarm:04X} EXC={exc:06X}")
    elif model == "radical7":
        text = (f"03/17/16 19:19:36 SN=---------- SPO2={s}% BPM={p} PI=00.55 SPCO=--% "
                f"SPMET=--.-% SPHB=--.- SPOC=-- RESVD=--- DESAT=-- PIDELTA=+-- PVI=--- "
                f"ALARM={alarm:06X} EXC={exc:07X} EXC1=00000000")
    elif model == "radical5":
        text = f"09/15/10 15:10:29 SPO2={s}% BPM={p} PI=11.82% ALARM={alarm:02X} EXC={exc:03X}"
    elif model == "trend":
        text = f"09/21/08 09:56:14 SpO2={s} PR={p} PI=02.28 EXC={exc:03X}:LowSigIQ,SET"
    else:
        raise ValueError(model)
    return text.encode() + b"\r\n"


def _nonin_floats(hr: int, spo2: int, low_battery: bool) -> list[int]:
    floats = [0] * 26
    floats[1], floats[2], floats[3] = (hr >> 7) & 0x03, hr & 0x7F, spo2
    floats[4] = 0x23  # firmware revision
    floats[8] = 0x01 if low_battery else 0x00
    floats[9], floats[20], floats[21] = 0x55, 0x7F, 0x7F  # -D fields: must never be used
    return floats


def nonin2_packet(hr: int, spo2: int, status: int = 0x82, low_battery: bool = False,
                  pleth: int = 0x40) -> bytes:
    """25 frames of format #2. `status` without SYNC (added on frame 1); 0x82 = green."""
    floats = _nonin_floats(hr, spo2, low_battery)
    out = bytearray()
    for k in range(1, 26):
        st = status | 0x80 | (1 if k == 1 else 0)
        frame = [0x01, st, (pleth + k) & 0xFF, floats[k]]
        out += bytes([*frame, sum(frame) & 0xFF])
    return bytes(out)


def nonin7_packet(hr: int, spo2: int, status: int = 0x82, pleth: int = 0x1234) -> bytes:
    floats = _nonin_floats(hr, spo2, False)
    out = bytearray()
    for k in range(1, 26):
        st = status | 0x80 | (1 if k == 1 else 0)
        p = (pleth + k) & 0xFFFF
        frame = [st, p >> 8, p & 0xFF, floats[k]]
        out += bytes([*frame, sum(frame) & 0xFF])
    return bytes(out)


def nonin8_packet(hr: int, spo2: int, b0_flags: int = 0, b3_flags: int = 0) -> bytes:
    return bytes([0x80 | b0_flags | ((hr >> 7) & 0x03), hr & 0x7F, spo2, b3_flags])


def contec_v7(pr: int = 64, spo2: int = 98, pleth: int = 50, signal: int = 6,
              flags2: int = 0, searching: bool = False, bar: int = 4, pi_invalid: bool = False,
              pi: int = 120) -> bytes:
    """A real-time packet: data bytes 2..8, with bit7 of each moved into the high byte."""
    data = [signal | flags2, pleth | (0x80 if searching else 0),
            bar | (0x10 if pi_invalid else 0), pr, spo2, pi & 0xFF, pi >> 8]
    hi = 0x80
    for k, d in enumerate(data):
        if d & 0x80:
            hi |= 1 << k
    return bytes([0x01, hi, *(d | 0x80 for d in data)])


def contec_legacy(pr: int = 72, spo2: int = 98, pleth: int = 50, signal: int = 4,
                  finger_out: bool = False, probe_error: bool = False,
                  searching: bool = False, bar: int = 3) -> bytes:
    b0 = 0x80 | signal | (0x10 if finger_out else 0)
    b2 = bar | (0x10 if probe_error else 0) | (0x20 if searching else 0) | ((pr >> 1) & 0x40)
    return bytes([b0, pleth & 0x7F, b2, pr & 0x7F, spo2 & 0x7F])


# -- a fake device on a pty ---------------------------------------------------------------


class PtyDevice:
    """The device end of a pty pair: the driver opens `path`; the test writes the device's
    bytes to the master and reads the host's commands from it."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self._slave)  # no echo of our output before the driver configures it
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)
        self.received = bytearray()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.closed = False

    def write(self, data: bytes) -> None:
        """Writes what fits; a full pty buffer (no reader yet) drops the rest, as a UART does."""
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self.master, data)

    def read_commands(self) -> bytes:
        with contextlib.suppress(BlockingIOError, OSError):
            self.received += os.read(self.master, 4096)
        return bytes(self.received)

    def play(self, period_s: float, produce: Callable[[int], bytes | None]) -> None:
        """Writes `produce(k)` every `period_s` (the device's own clock) until stopped or
        it returns None."""
        def run() -> None:
            k = 0
            while not self._stop.is_set():
                data = produce(k)
                if data is None:
                    return
                if data:
                    self.write(data)
                k += 1
                self._stop.wait(period_s)
        self._thread = threading.Thread(target=run, name="fake-device", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def unplug(self) -> None:
        """Closes both ends: the port is gone, as when a USB adapter is pulled."""
        self.stop()
        if not self.closed:
            self.closed = True
            os.close(self.master)
            os.close(self._slave)
