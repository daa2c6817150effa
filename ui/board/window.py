"""The board window: a header and a grid of every room seen, redrawn on a timer.

Payloads arrive through the bridge into the `BoardModel`; a 100 ms timer asks the model for
each room's view and repaints the tiles whose content changed (so a room that goes quiet
turns offline within OFFLINE_AFTER_S + 0.1 s without any message arriving). The board sounds
the worst unacknowledged alarm the site lets it sound (`--board-sound`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from alarms.model import Priority
from monitor.central import board_text as bt
from monitor.central.board_model import BoardModel, LinkState, Received, RoomAlarm
from ui.audio import AlarmAudio
from ui.board.bridge import BoardBridge
from ui.board.detail import RoomDetail
from ui.board.tile import RoomTile
from ui.flash import FlashClock
from ui.theme import ALARM_COLOURS, STYLESHEET, TEXT_DIM, named

REDRAW_MS = 100
Acknowledge = Callable[[str, str], bool]  # (room, alarm id) -> sent


def grid_columns(n: int, aspect: float = 16 / 9) -> int:
    """Columns for n tiles on a screen of `aspect`, tiles about 1.4 times wider than high."""
    if n <= 1:
        return 1
    return max(1, min(n, math.ceil(math.sqrt(n * aspect / 1.4))))


class BoardWindow(QWidget):
    def __init__(self, model: BoardModel, bridge: BoardBridge,
                 now: Callable[[], float] = time.time,
                 acknowledge: Acknowledge | None = None,
                 audio: AlarmAudio | None = None,
                 sound: Iterable[Priority] = (Priority.HIGH, Priority.MEDIUM),
                 title: str = "Vigil central station",
                 flash: FlashClock | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model, self.now, self._acknowledge = model, now, acknowledge
        self.audio, self.sound = audio, frozenset(sound)
        self.setWindowTitle(title)
        self.setStyleSheet(STYLESHEET)
        self.flash = flash or FlashClock(parent=self)
        self.flash.changed.connect(self.redraw)
        self.tiles: dict[str, RoomTile] = {}
        self.detail: RoomDetail | None = None
        self.on_painted: Callable[[str, float], None] | None = None  # bench hook

        root = QVBoxLayout(self)
        root.setContentsMargins(8, 6, 8, 8)
        root.setSpacing(6)
        header = QHBoxLayout()
        self.title = named(QLabel(title), "patient")
        self.link_label = named(QLabel(""), "audio")
        self.audio_label = named(QLabel(""), "audio")
        self.clock_label = named(QLabel(""), "header")
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.link_label)
        header.addSpacing(24)
        header.addWidget(self.audio_label)
        header.addSpacing(24)
        header.addWidget(self.clock_label)
        root.addLayout(header)
        self.empty = named(QLabel("waiting for rooms…"), "headerDim")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        root.addWidget(self.empty, 1)
        self.grid = QGridLayout()
        self.grid.setSpacing(8)
        root.addLayout(self.grid, 100)

        bridge.received.connect(self.on_received)
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()

    def on_received(self, event: Received | LinkState) -> None:
        self.model.ingest(event)

    def _layout_tiles(self) -> None:
        names = self.model.names
        for name in names:
            if name not in self.tiles:
                tile = RoomTile(name, self.flash.is_on, self)
                tile.clicked.connect(self.open_room)
                self.tiles[name] = tile
        cols = grid_columns(len(names))
        for i, name in enumerate(names):
            self.grid.addWidget(self.tiles[name], i // cols, i % cols)
        for c in range(cols):
            self.grid.setColumnStretch(c, 1)
        for r in range(math.ceil(len(names) / cols)):
            self.grid.setRowStretch(r, 1)
        self.empty.setVisible(not names)

    def redraw(self) -> None:
        now = self.now()
        if len(self.tiles) != len(self.model.names):
            self._layout_tiles()
        flashing = False
        views = self.model.views(now)
        for view in views:
            tile = self.tiles[view.room]
            before = tile.painted_numerics_t
            tile.set_view(view, now)
            flashing = flashing or tile.flashing() in (Priority.HIGH, Priority.MEDIUM)
            if self.on_painted is not None and view.numerics_t != before \
                    and view.numerics_t is not None:
                tile.repaint()  # the bench measures to the pixels, not to the request
                self.on_painted(view.room, view.numerics_t)
        link = self.model.link
        if link is not None and not link.connected:
            on = self.flash.is_on(Priority.MEDIUM)
            self.link_label.setText(f"** BROKER LINK DOWN: {link.detail}")
            colour = ALARM_COLOURS[Priority.MEDIUM].name() if on else TEXT_DIM.name()
            self.link_label.setStyleSheet(f"color: {colour};")
            flashing = True
        else:
            self.link_label.setText("")
        self.flash.set_running(flashing)
        sounding = self.model.sounding(now, self.sound, views)
        if self.audio is not None:
            if self.audio.sounding != sounding:
                self.audio.set_sounding(sounding)
            if not self.audio.output.available():
                self.audio_label.setText("NO AUDIO: alarms visual only")
                self.audio_label.setStyleSheet(
                    f"color: {ALARM_COLOURS[Priority.MEDIUM].name()};")
            else:
                self.audio_label.setText(self._sound_text())
                self.audio_label.setStyleSheet(f"color: {TEXT_DIM.name()};")
        else:
            self.audio_label.setText(self._sound_text())
        self.clock_label.setText(bt.clock(now))

    def _sound_text(self) -> str:
        if not self.sound:
            return "board sound off"
        return "sounds " + " + ".join(p.name for p in sorted(self.sound, reverse=True))

    def open_room(self, room: str) -> None:
        if self.detail is not None:
            self.detail.close()
        self.detail = RoomDetail(self.model, room, self.now, self.acknowledge, self)
        self.detail.show()

    def acknowledge(self, room: str, alarm: RoomAlarm) -> None:
        """The board's own alarm is acknowledged here; a room's is asked of the room."""
        if alarm.board:
            self.model.acknowledge_offline(room)
        elif self._acknowledge is not None:
            if self._acknowledge(room, alarm.id):
                self.model.ack_sent(room, alarm.id, self.now())
            else:
                self.model.ack_not_sent(room, self.now())
        self.redraw()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_F11:
            self.setWindowState(self.windowState() ^ Qt.WindowState.WindowFullScreen)
        else:
            super().keyPressEvent(event)
