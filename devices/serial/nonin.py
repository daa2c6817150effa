"""`nonin:PORT[@BAUD]`: Nonin serial data format #2, #7 or #8 (9600 8N1), recognised from the data.

Vigil does not change the device's format (a stored setting that other software on the
same oximeter may rely on); the README says how to select #2.
"""

from __future__ import annotations

from devices.serial.driver import Parser, SerialDriver
from devices.serial.nonin_protocol import DEFAULT_BAUD, FRAMES_PER_PACKET, NoninParser


class NoninDriver(SerialDriver):
    name = "Nonin"
    default_baud = DEFAULT_BAUD
    setup_hint = "is the oximeter on, and set to serial data format 2, 7 or 8 at 9600 baud?"
    numerics_period_s = 1.0  # #2/#7 repeat the values three times a second
    pleth_hz = 75.0
    pleth_chunk = FRAMES_PER_PACKET
    hold_s = 1.0  # flags come 3 (Nonin) or 60 (Contec) times a second

    def new_parser(self) -> Parser:
        return NoninParser()
