"""Where the board's network thread meets the GUI: each validated payload (or link change)
becomes a queued signal on the GUI thread. Only frozen dataclasses cross."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from monitor.central.board_model import LinkState, Received


class BoardBridge(QObject):
    """Created on the GUI thread; `sink` is called on the device-io thread."""

    received = Signal(object)  # Received | LinkState

    def sink(self, event: Received | LinkState) -> None:
        self.received.emit(event)
