"""When a Contec oximeter is told to start and kept talking: a sans-I/O state machine.

Times in, bytes out, as the IntelliVue and S/5 sessions (`devices/multiparam/*/session.py`):
the driver owns the port and the clock, and the timing is tested without either. A V7.0
device sends nothing until START and stops unless KEEP_ALIVE comes every 5 s; the older
protocol needs neither, so nothing is written to it.
"""

from __future__ import annotations

from devices.serial.contec_protocol import KEEP_ALIVE, KEEP_ALIVE_S, START


class ContecSession:
    def __init__(self, keep_alive_s: float = KEEP_ALIVE_S) -> None:
        self.keep_alive_s = keep_alive_s
        self._next_keep_alive = 0.0

    def start(self, now_s: float, v7: bool) -> bytes:
        """What to write once the port is open: START for a V7.0 device."""
        self._next_keep_alive = now_s + self.keep_alive_s
        return START if v7 else b""

    def poll(self, now_s: float, v7: bool) -> bytes:
        """What to write now: KEEP_ALIVE when it is due (for V7.0), else nothing."""
        if now_s < self._next_keep_alive:
            return b""
        self._next_keep_alive = now_s + self.keep_alive_s
        return KEEP_ALIVE if v7 else b""

    def next_due(self, now_s: float) -> float:
        """When `poll` next has something to say (never before `now_s`)."""
        return max(now_s, self._next_keep_alive)
