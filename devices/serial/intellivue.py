"""`intellivue:PORT[@BAUD]`: Philips IntelliVue MP/MX "Data Export" on the MIB/RS232 port.

115200 baud 8N1 (or 19200, as set on the monitor), no flow control. Vigil associates,
answers the monitor's MDS report, polls numerics (HR, SpO2, pulse rate, NBP) about once a
second, keeps the link alive, and releases it on close. An abort, a refusal or 5 s of
silence ends the link; the runtime reconnects, which associates again.
"""

from __future__ import annotations

from devices.multiparam.intellivue.session import IntelliVueSession
from devices.multiparam.ports import INTELLIVUE
from devices.serial.monitor_driver import MonitorDriver


class IntelliVueDriver(MonitorDriver):
    name = "IntelliVue"
    line = INTELLIVUE
    # Two association requests 2 s apart, with the abort of a stale association between.
    answer_s = 5.0
    setup_hint = ("is the monitor on, the cable in its MIB/RS232 port, and Data Export set "
                  "to this speed (Fix 115200 or Fix 19200)?")

    def new_session(self) -> IntelliVueSession:
        return IntelliVueSession()
