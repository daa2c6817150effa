"""A serial port read on the device-io asyncio loop without blocking it or adding a thread.

Why not pyserial-asyncio(-fast): drivers only need "bytes as they arrive" and "the port is
gone", which `loop.add_reader` on the port's file descriptor gives directly; a protocol/
transport pair would add a second buffering layer and callbacks to bridge back to an async
iterator. pyserial still opens and configures the port (termios, exclusive lock, URLs).

- Device paths (`/dev/ttyUSB0`, a pty) are opened on the loop: pyserial opens them
  O_NONBLOCK, so the call cannot block. pyserial URLs (`socket://`, `rfc2217://`) may
  connect over a network, so they are opened in a short-lived thread that is joined.
- Ports with a file descriptor (every POSIX tty, `socket://`) are read by `add_reader`;
  others (`loop://`) are polled every 20 ms with non-blocking reads.
- The port is declared lost (`DeviceDisconnected`) at once on a read error or end of file
  (a USB adapter unplugged, a pty closed), within 0.5 s when its path disappears or now
  names another device, and after `silence_s` without a byte (a device switched off while
  its adapter stays plugged in: reopening it is the only recovery there is).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

import serial

from devices.base import DeviceDisconnected, DeviceError

log = logging.getLogger(__name__)

T = TypeVar("T")

CHECK_S = 0.5  # how often a quiet port's path is checked
POLL_S = 0.02  # read interval for ports without a file descriptor
_ABSENT = (errno.ENOENT, errno.ENODEV, errno.ENXIO)  # open errors meaning "not plugged in"


def is_url(port: str) -> bool:
    return "://" in port


def _identity(path: str) -> tuple[int, int] | None:
    """What the path names now (inode, device number); None where ports are not files
    (COM3 on Windows), where only read errors can tell that the port went away."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_rdev


async def _in_thread(fn: Callable[[], T], on_late: Callable[[T], None], name: str) -> T:
    """Runs a blocking `fn` in a dedicated thread that ends with it.

    If the caller is cancelled first, the thread hands its result to `on_late` (to close
    it) and ends; it never outlives `fn` and never touches a closed loop.
    """
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[T] = loop.create_future()
    abandoned = threading.Event()

    def deliver(ok: bool, value: Any) -> None:
        if fut.done():  # the caller was cancelled meanwhile
            if ok:
                on_late(value)
        elif ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)

    def run() -> None:
        value: T | BaseException
        try:
            ok, value = True, fn()
        except BaseException as e:  # handed to the awaiting task
            ok, value = False, e
        if not abandoned.is_set():
            try:
                loop.call_soon_threadsafe(deliver, ok, value)
                return
            except RuntimeError:  # the loop has closed
                pass
        if ok:
            on_late(cast(T, value))  # ok: fn() returned it

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        result = await fut
    except asyncio.CancelledError:
        abandoned.set()
        raise
    thread.join(1.0)  # it has handed over its result: only its return is left
    return result


class SerialLink:
    """One open port: `await open()`, `await read(timeout)`, `write()`, `await close()`."""

    def __init__(self, port: str, source: str, *, baudrate: int,
                 parity: str = serial.PARITY_NONE, rtscts: bool = False,
                 silence_s: float | None = None) -> None:
        self.port = port
        self.source = source
        self.baudrate = baudrate
        self.parity = parity
        self.rtscts = rtscts  # hardware flow control (the S/5 computer interface needs it)
        self.silence_s = silence_s
        self._ser: serial.SerialBase | None = None
        self._fd: int | None = None
        self._buf = bytearray()
        self._error: str | None = None
        self._ready = asyncio.Event()
        self._last_rx = 0.0
        self._identity: tuple[int, int] | None = None
        self._last_path_check = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self.rx_bytes = 0

    def _make(self) -> serial.SerialBase:
        return serial.serial_for_url(
            self.port, baudrate=self.baudrate, bytesize=serial.EIGHTBITS, parity=self.parity,
            stopbits=serial.STOPBITS_ONE, xonxoff=False, rtscts=self.rtscts, dsrdtr=False,
            timeout=0, write_timeout=0, exclusive=True)

    async def open(self) -> None:
        """Opens the port; DeviceDisconnected if it is absent, DeviceError if unusable."""
        self._loop = asyncio.get_running_loop()
        try:
            if is_url(self.port):
                self._ser = await _in_thread(self._make, lambda s: s.close(), "serial-open")
            else:
                self._ser = self._make()
                self._identity = _identity(self.port)
        except (serial.SerialException, OSError, ValueError) as e:
            await self.close()
            if getattr(e, "errno", None) in _ABSENT:
                raise DeviceDisconnected(f"{self.source}: no device at {self.port}") from e
            reason = str(e) or type(e).__name__
            if getattr(e, "errno", None) == errno.EACCES:
                reason += " (is this user allowed to use serial ports, e.g. in 'dialout'?)"
            raise DeviceError(f"{self.source}: cannot open {self.port}: {reason}") from e
        self._last_rx = self._loop.time()
        try:
            self._fd = self._ser.fileno()
        except (AttributeError, NotImplementedError, serial.SerialException, OSError):
            self._fd = None
        if self._fd is None:
            # Written through pyserial: a short command may block briefly rather than be
            # dropped (a zero write timeout makes some URL handlers refuse every write).
            self._ser.write_timeout = None
        if self._fd is not None:
            try:
                self._loop.add_reader(self._fd, self._on_readable)
            except NotImplementedError:  # Windows' proactor loop: poll instead
                self._fd = None
                self._ser.write_timeout = None

    def _on_readable(self) -> None:
        assert self._fd is not None
        try:
            data = os.read(self._fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self._fail(f"read error ({e.strerror or e})")
            return
        if not data:
            self._fail("the port was closed or unplugged")
            return
        self._got(data)

    def _got(self, data: bytes) -> None:
        self._buf += data
        self.rx_bytes += len(data)
        assert self._loop is not None
        self._last_rx = self._loop.time()
        self._ready.set()

    def _fail(self, why: str) -> None:
        if self._error is None:
            self._error = why
        if self._fd is not None and self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._fd = None
        self._ready.set()

    def _check(self) -> None:
        """Raises DeviceDisconnected if the port is gone, replaced, or silent too long."""
        assert self._loop is not None
        if self._ser is None:
            raise DeviceDisconnected(f"{self.source}: {self.port} is closed")
        if self._error is None:
            self._check_path()
        if self._error is not None:
            raise DeviceDisconnected(f"{self.source}: lost {self.port}: {self._error}")
        if self.silence_s is not None and self._loop.time() - self._last_rx > self.silence_s:
            raise DeviceDisconnected(
                f"{self.source}: no data from {self.port} for {self.silence_s:g} s")

    def _check_path(self) -> None:
        """Marks the link failed if its path is gone or names another device now."""
        assert self._loop is not None
        self._last_path_check = self._loop.time()
        if self._identity is not None:
            now = _identity(self.port)
            if now is None:
                self._fail("the port disappeared")
            elif now != self._identity:
                self._fail("the port now names another device")

    def _poll(self) -> None:
        assert self._ser is not None
        try:
            data = self._ser.read(65536)
        except (serial.SerialException, OSError) as e:
            self._fail(f"read error ({e})")
            return
        if data:
            self._got(data)

    async def read(self, timeout: float) -> bytes:
        """Bytes received so far, waiting up to `timeout` s for some; b"" if none came."""
        assert self._loop is not None
        deadline = self._loop.time() + timeout
        while True:
            if self._fd is None and self._error is None and self._ser is not None:
                self._poll()
            if self._buf:
                if self._loop.time() - self._last_path_check >= CHECK_S:
                    self._check_path()  # a busy port is checked too
                    if self._error is not None:
                        raise DeviceDisconnected(
                            f"{self.source}: lost {self.port}: {self._error}")
                data = bytes(self._buf)
                self._buf.clear()
                return data
            self._check()
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                return b""
            self._ready.clear()
            wait = min(remaining, CHECK_S if self._fd is not None else POLL_S)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._ready.wait()

    def write(self, data: bytes) -> None:
        """Sends a short command without blocking; a failure is reported by the next read."""
        if self._ser is None or self._error is not None:
            return
        try:
            if self._fd is not None:
                n = os.write(self._fd, data)
                if n < len(data):
                    log.warning("%s: output buffer full; command cut short", self.source)
            else:
                self._ser.write(data)
        except (BlockingIOError, serial.SerialTimeoutException):
            log.warning("%s: output buffer full; command not sent", self.source)
        except (OSError, serial.SerialException) as e:
            self._fail(f"write error ({e})")

    async def close(self) -> None:
        """Stops reading and closes the port; never raises."""
        if self._fd is not None and self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._fd)
        self._fd = None
        ser, self._ser = self._ser, None
        if ser is not None:
            try:
                ser.close()
            except (OSError, serial.SerialException) as e:
                log.debug("%s: closing %s: %s", self.source, self.port, e)
