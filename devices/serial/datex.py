"""`datex:PORT[@BAUD]`: GE Datex-Ohmeda S/5 (and CARESCAPE) computer interface, DRI records.

19200 baud 8E1 with RTS/CTS (115200 on CARESCAPE software that offers it). Vigil asks for
displayed values every 5 s (the interface's shortest interval), reads HR, SpO2, pulse rate
and NIBP from them, asks for the NIBP measurement time, and sends the stop request on
close. Two intervals without a record end the link; the runtime reconnects and asks again.
"""

from __future__ import annotations

from devices.multiparam.datex.session import DatexSession
from devices.multiparam.ports import DATEX
from devices.serial.monitor_driver import MonitorDriver


class DatexDriver(MonitorDriver):
    name = "S/5 monitor"
    line = DATEX
    answer_s = 3.0  # the first record follows the request at once
    setup_hint = ("is the monitor on, the cable in its computer-interface port (RS-232, "
                  "19200 8E1, RTS/CTS), and is no other program reading it?")

    def new_session(self) -> DatexSession:
        return DatexSession()
