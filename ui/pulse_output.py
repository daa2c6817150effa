"""Alarm bursts through the PulseAudio server (or PipeWire's pulse server) with libpulse-simple.

Why not QtMultimedia: with a real server, Qt 6.11's PulseAudio backend does not notice the
server dying (the sink stays Active with NoError), gives up reconnecting after one try 3 s later,
and then aborts the whole process in libpulse (`Assertion 'c' failed ... pa_context_get_state`)
at the next sink start. A monitor must neither go silent without saying so nor crash, so the
bursts go through libpulse directly, from one worker thread that owns the connection:

- a burst is written in 50 ms pieces; a newer burst flushes the rest and starts at once;
- while idle the connection is probed every 0.25 s (a dead server fails the probe at once);
- a failed stream is replaced at once, and a burst that failed goes on on the new one;
  only when no new stream can be had is the output unavailable; then a connection is tried
  every second for as long as it takes, so sound that returns is used again;
- the GUI thread polls the worker's state every 0.1 s and emits `availabilityChanged`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)

PROBE_S = 0.25  # how often an idle connection is checked
RECONNECT_S = 1.0  # how often a lost server is tried again
CHUNK_S = 0.05  # a burst is written in pieces this long, so a newer one can cut in
TARGET_S = 0.25  # the server-side buffer: room for the GUI thread holding the GIL a while
POLL_MS = 100  # how often the GUI thread looks at the worker's state

_PA_SAMPLE_S16LE = 3
_PA_STREAM_PLAYBACK = 1
_UNSET = 0xFFFFFFFF
_NO_LATENCY = 2**64 - 1  # pa_simple_get_latency's (pa_usec_t) -1


class _SampleSpec(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("rate", ctypes.c_uint32),
                ("channels", ctypes.c_uint8)]


class _BufferAttr(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32)
                for name in ("maxlength", "tlength", "prebuf", "minreq", "fragsize")]


def load_libpulse_simple() -> ctypes.CDLL | None:
    """libpulse-simple (Debian: libpulse0), or None where it is not installed."""
    name = ctypes.util.find_library("pulse-simple") or "libpulse-simple.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    err = ctypes.POINTER(ctypes.c_int)
    lib.pa_simple_new.restype = ctypes.c_void_p
    lib.pa_simple_new.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int,
                                  ctypes.c_char_p, ctypes.c_char_p,
                                  ctypes.POINTER(_SampleSpec), ctypes.c_void_p,
                                  ctypes.POINTER(_BufferAttr), err]
    lib.pa_simple_write.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, err]
    lib.pa_simple_flush.argtypes = [ctypes.c_void_p, err]
    lib.pa_simple_get_latency.restype = ctypes.c_uint64
    lib.pa_simple_get_latency.argtypes = [ctypes.c_void_p, err]
    lib.pa_simple_free.argtypes = [ctypes.c_void_p]
    lib.pa_strerror.restype = ctypes.c_char_p
    lib.pa_strerror.argtypes = [ctypes.c_int]
    return lib


class _Connection:
    """One playback stream (mono int16) to the default server and sink."""

    def __init__(self, lib: ctypes.CDLL, rate: int) -> None:
        self._lib = lib
        self.rate = rate
        self.error = ""
        err = ctypes.c_int(0)
        spec = _SampleSpec(_PA_SAMPLE_S16LE, rate, 1)
        target = round(TARGET_S * rate) * 2
        attr = _BufferAttr(_UNSET, target, _UNSET, _UNSET, _UNSET)
        self._handle = lib.pa_simple_new(None, b"Vigil", _PA_STREAM_PLAYBACK, None,
                                         b"alarm", ctypes.byref(spec), None,
                                         ctypes.byref(attr), ctypes.byref(err))
        if not self._handle:
            self.error = self._strerror(err)

    def _strerror(self, err: ctypes.c_int) -> str:
        return (self._lib.pa_strerror(err.value) or b"?").decode(errors="replace")

    @property
    def ok(self) -> bool:
        return bool(self._handle)

    def _check(self, failed: bool, err: ctypes.c_int) -> bool:
        if failed:
            self.error = self._strerror(err)
        return not failed

    def write(self, data: bytes) -> bool:
        err = ctypes.c_int(0)
        return self._check(self._lib.pa_simple_write(self._handle, data, len(data),
                                                     ctypes.byref(err)) < 0, err)

    def flush(self) -> bool:
        err = ctypes.c_int(0)
        return self._check(self._lib.pa_simple_flush(self._handle, ctypes.byref(err)) < 0,
                           err)

    def alive(self) -> bool:
        err = ctypes.c_int(0)
        latency = self._lib.pa_simple_get_latency(self._handle, ctypes.byref(err))
        return self._check(latency == _NO_LATENCY, err)

    def close(self) -> None:
        if self._handle:
            self._lib.pa_simple_free(self._handle)
            self._handle = None


class PulseAudioOutput(QObject):
    """Plays int16 mono PCM on the sound server's default sink; says when it cannot."""

    availabilityChanged = Signal(bool)

    def __init__(self, lib: ctypes.CDLL, rate: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lib = lib
        self._rate = rate
        self._cond = threading.Condition()
        self._pending: bytes | None = None
        self._closing = False
        self._conn: _Connection | None = None
        self._up = self._connect()  # at once, so the first answer to available() is true
        self._reported = self._up
        self._thread = threading.Thread(target=self._run, name="alarm-audio", daemon=True)
        self._thread.start()
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._report)
        self._poll.start()

    def available(self) -> bool:
        return self._reported

    def play(self, pcm: np.ndarray, rate: int) -> None:
        if rate != self._rate:
            raise ValueError(f"the output plays {self._rate} Hz, not {rate} Hz")
        with self._cond:
            self._pending = pcm.astype("<i2").tobytes()
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(5)
        self._poll.stop()

    def _report(self) -> None:
        up = self._up
        if up != self._reported:
            self._reported = up
            if up:
                log.warning("alarm audio: sound output is back")
            self.availabilityChanged.emit(up)

    # --- the worker thread ----------------------------------------------------------------

    def _connect(self) -> bool:
        conn = _Connection(self._lib, self._rate)
        if conn.ok:
            self._conn = conn
            return True
        return False

    def _recover(self) -> bool:
        """The stream failed: a new one at once (the server may have dropped only the stream);
        the output is unavailable only if that fails too."""
        why = self._conn.error if self._conn is not None else "closed"
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._connect():
            log.warning("alarm audio: the stream failed (%s); reconnected", why)
            return True
        if self._up:
            log.error("alarm audio: sound output lost (%s)", why)
        self._up = False
        return False

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._closing and self._pending is None:
                    self._cond.wait(PROBE_S if self._conn is not None else RECONNECT_S)
                if self._closing:
                    break
                burst, self._pending = self._pending, None
            if self._conn is None:
                self._up = self._connect()
                if not self._up:
                    continue  # the burst is dropped: the scheduler starts the next on time
            assert self._conn is not None  # (re)made by _connect() above
            if burst is None:
                if not self._conn.alive():
                    self._recover()
            else:
                failed_at = self._write(burst)
                if failed_at is not None and self._recover():
                    # the rest of the burst on the new stream, from what the server had queued
                    # (lost with the old stream), so the burst keeps its pulses and rhythm
                    resume = max(0, failed_at - round(TARGET_S * self._rate) * 2)
                    if self._write(burst, resume) is not None:
                        self._recover()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _write(self, burst: bytes, start: int = 0) -> int | None:
        """Writes the burst from byte `start` in pieces; stops early (flushing what is queued)
        when a newer burst is waiting, which then plays next. None when done, else the byte
        offset where the stream failed."""
        assert self._conn is not None
        piece = round(CHUNK_S * self._rate) * 2
        start -= start % 2
        for offset in range(start, len(burst), piece):
            if self._pending is not None or self._closing:
                return None if self._conn.flush() else offset
            if not self._conn.write(burst[offset:offset + piece]):
                return offset
        return None


def pulse_output(rate: int, parent: QObject | None = None) -> PulseAudioOutput | None:
    """The PulseAudio output, or None where libpulse-simple is not installed."""
    lib = load_libpulse_simple()
    return PulseAudioOutput(lib, rate, parent) if lib is not None else None
