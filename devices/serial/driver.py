"""The part every serial oximeter driver shares: open the port, wait for the device to talk,
parse what arrives, and hand frames to `Oximetry` for the clinical rules.

`connect()` returns only once the device has sent a frame Vigil can read, so "streaming"
means data is flowing, and a device that is off, or set to another output mode, shows as
"connecting" and then "disconnected" with a hint at the device-side set-up.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar, Protocol

import serial

from devices.base import DeviceDisconnected, Driver
from devices.serial.oximetry import OximeterReading, Oximetry
from devices.serial.transport import SerialLink
from devices.spec import DeviceSpec
from monitor.clock import SessionClock
from monitor.messages import Message


class NoData(DeviceDisconnected):
    """The port opened but the device sent nothing Vigil could read."""


class Parser(Protocol):
    frames: int
    errors: int

    def feed(self, data: bytes) -> Sequence[Any]: ...


class SerialDriver(Driver):
    """Base for `masimo:`, `nonin:` and `contec:` (SPEC target: a device path or pyserial URL)."""

    name: ClassVar[str]  # the device family, for messages
    default_baud: ClassVar[int]
    parity: ClassVar[str] = serial.PARITY_NONE
    setup_hint: ClassVar[str] = ""  # what to check on the device when nothing arrives
    stale_after_s = 3.0  # three missed 1-Hz reports
    silence_s: ClassVar[float] = 10.0  # no byte this long: the port is reopened
    first_data_s: ClassVar[float] = 3.0  # connect() waits this long for a readable frame
    numerics_period_s: ClassVar[float] = 0.0  # at most one Numerics per period (0: every report)
    pleth_hz: ClassVar[float | None] = None
    pleth_chunk: ClassVar[int] = 25
    hold_s: ClassVar[float] = 0.0  # a condition ends after this long unreported
    read_slice_s: ClassVar[float] = 1.0

    def __init__(self, spec: DeviceSpec, source: str, clock: SessionClock) -> None:
        super().__init__(source, spec.text, clock)
        self.port = spec.target
        self.baud = spec.baud or self.default_baud
        self.oximetry = Oximetry(source, self.numerics_period_s, self.pleth_hz, self.pleth_chunk,
                                 self.hold_s)
        self.link: SerialLink | None = None
        self.parser: Parser | None = None
        self._pending: list[Any] = []

    @abstractmethod
    def new_parser(self) -> Parser:
        """A fresh parser for a new connection (nothing carries over from the old one)."""

    def reading(self, frame: Any) -> OximeterReading:
        reading: OximeterReading = frame.reading()
        return reading

    def on_open(self, link: SerialLink) -> None:
        """Called once the port is open (e.g. to send a start command)."""

    def after_read(self, link: SerialLink) -> None:
        """Called after every read while streaming (e.g. to send a keep-alive)."""

    def next_read_s(self) -> float:
        return self.read_slice_s

    async def connect(self) -> None:
        await self.open_port(self.baud, self.parity)
        await self.await_first_frame(self.first_data_s)

    async def open_port(self, baud: int, parity: str) -> None:
        await self.close()
        self.link = SerialLink(self.port, self.source, baudrate=baud, parity=parity,
                               silence_s=self.silence_s)
        self.parser = self.new_parser()
        self._pending = []
        self.oximetry.drop_pleth()
        await self.link.open()
        self.on_open(self.link)

    async def await_first_frame(self, within_s: float) -> None:
        link, parser = self.link, self.parser
        assert link is not None and parser is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while not self._pending:
            remaining = deadline - loop.time()
            if remaining <= 0:
                hint = f"; {self.setup_hint}" if self.setup_hint else ""
                raise NoData(f"{self.source}: no {self.name} data on {self.port} at "
                             f"{link.baudrate} baud within {within_s:g} s{hint}")
            self._pending = list(parser.feed(await link.read(min(remaining, 0.5))))
            self.after_read(link)

    async def stream(self) -> AsyncIterator[Message]:
        link, parser = self.link, self.parser
        assert link is not None and parser is not None, "connect() first"
        frames: Sequence[Any] = self._pending
        self._pending = []
        clock = self.clock
        while True:
            if frames:
                t = clock.now()
                wall = clock.wall(t)
                for frame in frames:
                    for msg in self.oximetry.update(self.reading(frame), t, wall):
                        yield msg
            frames = parser.feed(await link.read(self.next_read_s()))
            self.after_read(link)

    async def close(self) -> None:
        link, self.link = self.link, None
        if link is not None:
            await link.close()
