"""Serial line settings of each monitor's interface, and the check of a SPEC's @BAUD."""

from __future__ import annotations

from dataclasses import dataclass

from devices.base import SpecError


@dataclass(frozen=True, slots=True)
class LineSettings:
    baudrates: tuple[int, ...]  # the first is the default
    parity: str  # pyserial's PARITY_* letter
    rtscts: bool
    bytesize: int = 8
    stopbits: int = 1

    def baud(self, spec_text: str, requested: str | None) -> int:
        """The baud rate for a SPEC's `@BAUD` option (None: the default); SpecError if unusable."""
        if requested is None:
            return self.baudrates[0]
        try:
            baud = int(requested)
        except ValueError:
            raise SpecError(f"device {spec_text!r}: baud rate {requested!r} is not a number"
                            ) from None
        if baud not in self.baudrates:
            raise SpecError(f"device {spec_text!r}: {baud} baud is not available on this "
                            f"interface; use {' or '.join(map(str, self.baudrates))}")
        return baud


# IntelliVue MIB/RS232: Fix 115200 or Fix 19200, 8N1, no flow control (PIPG p.22, p.30).
INTELLIVUE = LineSettings((115200, 19200), "N", rtscts=False)
# S/5 computer interface: 19200 8E1 with RTS/CTS; "cannot be changed" (S5CI p.3).
# CARESCAPE software v3+ may run 115200 (reference §B.1).
DATEX = LineSettings((19200, 115200), "E", rtscts=True)
