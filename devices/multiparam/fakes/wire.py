"""A host session and a fake monitor wired back to back, in-process, on a fake clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from devices.multiparam.events import Event


class _Host(Protocol):
    def feed(self, data: bytes, now_s: float) -> list[Event]: ...
    def poll(self, now_s: float) -> bytes: ...


class _Monitor(Protocol):
    def feed(self, data: bytes, now_s: float) -> None: ...
    def poll(self, now_s: float) -> bytes: ...


class BackToBack:
    """Steps both sides every `dt` seconds; `tamper` may alter the monitor's bytes in flight."""

    def __init__(self, host: _Host, monitor: _Monitor, dt: float = 0.05,
                 tamper: Callable[[bytes, float], bytes] | None = None) -> None:
        self.host, self.monitor, self.dt, self.tamper = host, monitor, dt, tamper
        self.now = 0.0
        self.events: list[tuple[float, Event]] = []
        self.host_bytes: list[tuple[float, bytes]] = []

    def run_until(self, t_end: float,
                  at: dict[float, Callable[[float], None]] | None = None) -> None:
        """Runs to `t_end`; `at` maps a time to an action done once when it is reached."""
        pending = sorted((at or {}).items())
        steps = round((t_end - self.now) / self.dt)
        start = self.now
        for i in range(1, steps + 1):
            now = start + i * self.dt
            while pending and pending[0][0] <= now + 1e-9:
                pending.pop(0)[1](now)
            out = self.host.poll(now)
            if out:
                self.host_bytes.append((now, out))
            self.monitor.feed(out, now)
            data = self.monitor.poll(now)
            if self.tamper is not None:
                data = self.tamper(data, now)
            self.events.extend((now, e) for e in self.host.feed(data, now))
            self.now = now

    def of(self, kind: type) -> list[tuple[float, Event]]:
        return [(t, e) for t, e in self.events if isinstance(e, kind)]
