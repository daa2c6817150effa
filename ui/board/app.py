"""Running the board: the MQTT client on the device-io thread, the window on the GUI thread.

`run_board` is what `python main.py board` calls. The client validates every payload and
hands frozen messages to the bridge; the window redraws on its timer and sounds through the
same alarm audio as the room screen (PulseAudio through libpulse, QtMultimedia otherwise).
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from alarms.model import Priority
from monitor.central.board_client import BoardClient
from monitor.central.board_model import BoardModel
from monitor.central.config import BrokerConfig
from monitor.runtime import IoThread
from ui.audio import AlarmAudio, default_output
from ui.board.bridge import BoardBridge
from ui.board.window import BoardWindow

log = logging.getLogger(__name__)


def run_board(config: BrokerConfig, sound: frozenset[Priority], user: str,
              kiosk: bool = False, title: str = "Vigil central station",
              on_started: Callable[[BoardWindow], None] | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    bridge = BoardBridge()
    io = IoThread()
    client = BoardClient(config, bridge.sink)
    audio = AlarmAudio(default_output()) if sound else None

    def acknowledge(room: str, alarm_id: str) -> bool:
        return client.acknowledge(room, alarm_id, user)

    window = BoardWindow(BoardModel(), bridge, acknowledge=acknowledge, audio=audio,
                         sound=sound, title=title)
    # Ctrl+C and SIGTERM close the board cleanly: Python runs handlers only between
    # bytecodes, so a timer lets it in while Qt's loop runs; the quit is queued, so a signal
    # that comes before the loop starts still ends it. Installed before the network thread
    # starts: a signal in between would leave that thread running and the process hung.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: QTimer.singleShot(0, app.quit))
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    io.start()
    try:
        io.submit(client.run())
        wake.start(200)
        if kiosk:
            window.showFullScreen()
        else:
            window.resize(1920, 1080)
            window.show()
        if on_started is not None:
            on_started(window)
        return app.exec()
    finally:
        wake.stop()
        if audio is not None:
            audio.stop()
        io.stop()
        window.close()
