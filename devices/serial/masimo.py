"""`masimo:PORT[@BAUD]`: Masimo Radical-7, Rad-8, Radical-5; serial "ASCII 1" mode, 9600 8N1."""

from __future__ import annotations

from devices.serial.driver import Parser, SerialDriver
from devices.serial.masimo_protocol import DEFAULT_BAUD, MasimoParser


class MasimoDriver(SerialDriver):
    name = "Masimo"
    default_baud = DEFAULT_BAUD
    setup_hint = "is the oximeter on, and its serial output set to ASCII 1 at 9600 baud?"

    def new_parser(self) -> Parser:
        return MasimoParser()
