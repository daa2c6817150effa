"""The part the two multiparameter monitor drivers share: a sans-I/O session from
`devices.multiparam` run by `devices.multiparam.link` over a `SerialLink`.

One session object lives as long as the driver, across every reconnect, so what it must
remember between links (the last NIBP reading it passed on) survives a cable pulled and
plugged back. The session, not the port, decides when the monitor is silent: its timers
know the protocol's cadence, so the port is opened without a silence limit of its own, and
the runtime's "stale" watchdog is off. A monitor whose numerics are all marked (no sensor
on the patient) sends no number for as long as that lasts, yet its link is sound: stale
would raise a false "device disconnected"; the conditions say what is wrong instead.
`connect()` returns once the monitor answers (association accepted, first record), so
"streaming" means data is flowing; `close()` says goodbye (release, stop) before closing.
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import AsyncIterator
from typing import ClassVar

from devices.base import DeviceDisconnected, DeviceError, Driver
from devices.multiparam.events import Event
from devices.multiparam.link import MonitorSession, establish, pump, release
from devices.multiparam.ports import LineSettings
from devices.serial.transport import SerialLink
from devices.spec import DeviceSpec
from monitor.clock import SessionClock
from monitor.messages import Message


class LinkTransport:
    """`SerialLink` as link.py's byte transport (its `write` is synchronous: it never blocks)."""

    def __init__(self, link: SerialLink) -> None:
        self.link = link

    async def read(self, timeout_s: float) -> bytes:
        return await self.link.read(timeout_s)

    async def write(self, data: bytes) -> None:
        self.link.write(data)


class MonitorDriver(Driver):
    """Base for `intellivue:` and `datex:` (SPEC target: a device path or pyserial URL)."""

    name: ClassVar[str]  # the monitor family, for messages
    line: ClassVar[LineSettings]
    answer_s: ClassVar[float]  # connect() waits this long for the monitor to answer
    setup_hint: ClassVar[str]  # what to check on the monitor when it does not answer
    release_wait_s: ClassVar[float] = 1.0
    stale_after_s = None  # the session's silence timer ends a dead link (see above)

    def __init__(self, spec: DeviceSpec, source: str, clock: SessionClock) -> None:
        super().__init__(source, spec.text, clock)
        self.port = spec.target
        self.baud = self.line.baud(spec.text, spec.options.get("baud"))
        self.session = self.new_session()
        self._link: SerialLink | None = None
        self._transport: LinkTransport | None = None
        self._pending: list[Event] = []

    @classmethod
    def check_spec(cls, spec: DeviceSpec) -> None:
        """A baud rate the monitor's interface cannot run is refused before recording."""
        cls.line.baud(spec.text, spec.options.get("baud"))

    @abstractmethod
    def new_session(self) -> MonitorSession:
        """The protocol session; created once per driver."""

    async def connect(self) -> None:
        await self.close()
        line = self.line
        self._link = SerialLink(self.port, self.source, baudrate=self.baud, parity=line.parity,
                                rtscts=line.rtscts)
        await self._link.open()
        self._transport = LinkTransport(self._link)
        try:
            self._pending = await establish(self.session, self._transport, self.clock,
                                            self.source, self.answer_s)
        except DeviceDisconnected as e:
            if self._link is not None and self._link.rx_bytes == 0:
                raise DeviceDisconnected(f"{self.source}: no answer from the {self.name} on "
                                         f"{self.port} at {self.baud} baud within "
                                         f"{self.answer_s:g} s; {self.setup_hint}") from e
            raise

    async def stream(self) -> AsyncIterator[Message]:
        transport = self._transport
        assert transport is not None, "connect() first"
        pending, self._pending = self._pending, []
        async for msg in pump(self.session, transport, self.clock, self.source, pending):
            yield msg

    async def close(self) -> None:
        link, transport = self._link, self._transport
        self._link = self._transport = None
        if link is None:
            return
        try:
            if transport is not None:
                with contextlib.suppress(DeviceError):  # the port may be gone already
                    await release(self.session, transport, self.clock, self.release_wait_s)
        finally:
            await link.close()
