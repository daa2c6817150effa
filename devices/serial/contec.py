"""`contec:PORT[@BAUD]`: Contec CMS50D+ / CMS50E / CMS50F, protocol V7.0 or the older 5-byte one.

Without `@BAUD` the driver tries V7.0 at 115200 8N1 (sending START), then the older
protocol at 19200 8O1, and stays with whichever answers. V7.0 devices stop sending unless
the host repeats KEEP_ALIVE every 5 s. XON/XOFF, which the old protocol names, is left off:
with it the tty would swallow data bytes 0x11 and 0x13 as flow control.
"""

from __future__ import annotations

import asyncio

import serial

from devices.base import SpecError
from devices.serial.contec_protocol import (
    KEEP_ALIVE_S,
    LEGACY_BAUD,
    PLETH_HZ,
    V7_BAUD,
    ContecParser,
    ContecProtocol,
)
from devices.serial.contec_session import ContecSession
from devices.serial.driver import NoData, Parser, SerialDriver
from devices.serial.transport import SerialLink
from devices.spec import DeviceSpec
from monitor.clock import SessionClock

_SETTINGS = {V7_BAUD: serial.PARITY_NONE, LEGACY_BAUD: serial.PARITY_ODD}


class ContecDriver(SerialDriver):
    name = "Contec"
    default_baud = V7_BAUD
    setup_hint = "is the oximeter on, with a finger in it, and its USB cable plugged in?"
    silence_s = 3.0  # V7 stops when a keep-alive is missed; reopening restarts it
    first_data_s = 2.0
    numerics_period_s = 1.0  # 60 reports a second
    pleth_hz = PLETH_HZ
    pleth_chunk = 15
    hold_s = 1.0  # flags come 3 (Nonin) or 60 (Contec) times a second
    keep_alive_s = KEEP_ALIVE_S

    def __init__(self, spec: DeviceSpec, source: str, clock: SessionClock) -> None:
        super().__init__(spec, source, clock)
        self._bauds = [spec.baud] if spec.baud else [V7_BAUD, LEGACY_BAUD]
        self.session = ContecSession(self.keep_alive_s)

    @staticmethod
    def check_spec(spec: DeviceSpec) -> None:
        if spec.baud is not None and spec.baud not in _SETTINGS:
            raise SpecError(f"device {spec.text!r}: a Contec oximeter talks at {V7_BAUD} "
                            f"(protocol V7.0) or {LEGACY_BAUD} baud (older firmware), "
                            f"not {spec.baud}")

    def new_parser(self) -> Parser:
        return ContecParser()

    async def connect(self) -> None:
        tried = []
        for baud in list(self._bauds):
            await self.open_port(baud, _SETTINGS[baud])
            try:
                await self.await_first_frame(self.first_data_s)
            except NoData:
                tried.append(str(baud))
                continue
            if self._bauds[0] != baud:  # try the one that worked first next time
                self._bauds.remove(baud)
                self._bauds.insert(0, baud)
            return
        raise NoData(f"{self.source}: no Contec data on {self.port} at "
                     f"{' or '.join(tried)} baud; {self.setup_hint}")

    def _v7(self, link: SerialLink) -> bool:
        protocol = getattr(self.parser, "protocol", None)
        return protocol is ContecProtocol.V7 or (
            protocol is None and link.baudrate != LEGACY_BAUD)

    def on_open(self, link: SerialLink) -> None:
        self.session = ContecSession(self.keep_alive_s)  # the class's, or a test's override
        if out := self.session.start(asyncio.get_running_loop().time(), self._v7(link)):
            link.write(out)

    def after_read(self, link: SerialLink) -> None:
        if out := self.session.poll(asyncio.get_running_loop().time(), self._v7(link)):
            link.write(out)

    def next_read_s(self) -> float:
        now = asyncio.get_running_loop().time()
        return min(self.read_slice_s, self.session.next_due(now) - now)
