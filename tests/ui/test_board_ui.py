"""The board at 1920x1080 with 12 rooms, fed through its bridge with contract payloads, in
four states (all well, a HIGH alarm, an acknowledged alarm, a room offline), with pixel
checks; also 32 rooms. `VIGIL_SCREENSHOTS=1` writes docs/screenshots/board-*.png."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QWidget

from alarms.model import Priority
from monitor.central.board_model import BoardModel
from monitor.central.board_text import alarm_text
from tests.central.board_payloads import T0, alarm, alarms, numerics, received, status
from tests.helpers.paths import REPO
from tests.helpers.qt import share_of, to_array
from ui.board.bridge import BoardBridge
from ui.board.window import BoardWindow
from ui.flash import FlashClock
from ui.theme import ALARM_COLOURS, STALE, vital_colour

# (phase, minutes since the dose) by room number modulo 4
PHASES = {1: ("BASELINE", None), 2: ("DOSING", 5), 3: ("PEAK", 28), 0: ("RECOVERY", 55)}


@pytest.fixture
def shots_dir(tmp_path: Path) -> Path:
    """docs/screenshots/ with VIGIL_SCREENSHOTS=1 (as for the dashboard's), else tmp_path."""
    return REPO / "docs" / "screenshots" if os.environ.get("VIGIL_SCREENSHOTS") else tmp_path


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


def open_board(qtbot, rooms: int = 12):
    clock = Clock()
    flash_t = [0.1]  # a lit phase of every flash
    bridge = BoardBridge()
    model = BoardModel()
    win = BoardWindow(model, bridge, now=clock, flash=FlashClock(lambda: flash_t[0]))
    qtbot.addWidget(win)
    win.resize(1920, 1080)
    win.show()
    qtbot.waitExposed(win)
    for k in range(1, rooms + 1):
        room = f"room-{k}"
        phase, minutes = PHASES[k % 4]
        dose = None if minutes is None else T0 - (minutes + k) * 60
        due = () if dose is None else (
            (("BP ~40 min", dose + 40 * 60),) if minutes < 40 else (("2-h minimum", dose + 7200),))
        bridge.sink(received("status", status(room, T0 - 1, phase=phase, dose_start=dose,
                                              next_due=due), T0 - 1))
        bridge.sink(received("numerics", numerics(room, T0, hr=70 + k, spo2=96), T0))
        bridge.sink(received("alarms", alarms(room, T0 - 1, 1), T0))
    return win, bridge, clock, flash_t


def shot(win: BoardWindow, qtbot) -> np.ndarray:
    win.flash.refresh()
    win.redraw()
    qtbot.wait(10)
    return to_array(win.grab().toImage())


def region(img: np.ndarray, win: QWidget, w: QWidget, frac=(0, 0, 1, 1)) -> np.ndarray:
    tl = w.mapTo(win, QPoint(0, 0))
    x0, y0 = tl.x() + int(w.width() * frac[0]), tl.y() + int(w.height() * frac[1])
    x1, y1 = tl.x() + int(w.width() * frac[2]), tl.y() + int(w.height() * frac[3])
    return img[y0:y1, x0:x1]


BAND = (0.05, 0.18, 0.95, 0.3)  # the alarm band of a tile
NUMS = (0.03, 0.34, 0.97, 0.88)  # HR, SpO2, NIBP


def keep_alive(bridge: BoardBridge, clock: Clock, rooms, except_=()) -> None:
    for k in rooms:
        room = f"room-{k}"
        if room not in except_:
            bridge.sink(received("numerics", numerics(room, clock.t, hr=70 + k), clock.t))


def test_all_well(qtbot, shots_dir):
    win, _bridge, _clock, _ = open_board(qtbot)
    img = shot(win, qtbot)
    assert len(win.tiles) == 12
    for tile in win.tiles.values():
        assert share_of(region(img, win, tile), ALARM_COLOURS[Priority.HIGH]) == 0
        assert share_of(region(img, win, tile), ALARM_COLOURS[Priority.MEDIUM]) == 0
        assert share_of(region(img, win, tile, NUMS), vital_colour("hr")) > 0.005  # live HR
    # Readable at 3 m on a 24" 1080p screen: 16' of arc is 14 mm, 51 px (clinical §10).
    for tile in win.tiles.values():
        assert tile.cap_px["hr"] >= 51 and tile.cap_px["spo2"] >= 51, tile.cap_px
    win.grab().save(str(shots_dir / "board-normal.png"))


def test_high_alarm_flashes_in_red_and_sounds(qtbot, shots_dir):
    win, bridge, clock, flash_t = open_board(qtbot)
    bridge.sink(received("alarms", alarms("room-3", T0, 2, alarm(
        "spo2-critical", "SpO2 LOW 84", "HIGH")), T0))
    img = shot(win, qtbot)
    band = region(img, win, win.tiles["room-3"], BAND)
    lit = share_of(band, ALARM_COLOURS[Priority.HIGH])
    assert lit > 0.5  # lit: the band is red
    for name, tile in win.tiles.items():
        if name != "room-3":
            assert share_of(region(img, win, tile), ALARM_COLOURS[Priority.HIGH]) == 0
    assert win.model.sounding(clock.t, win.sound) is Priority.HIGH
    win.grab().save(str(shots_dir / "board-high.png"))
    flash_t[0] = 0.3  # the dark half of the 2 Hz flash
    img = shot(win, qtbot)
    band = region(img, win, win.tiles["room-3"], BAND)
    assert share_of(band, ALARM_COLOURS[Priority.HIGH]) < lit / 2  # dark: outline and text


def test_acknowledged_alarm_is_steady_and_marked(qtbot, shots_dir):
    win, bridge, clock, flash_t = open_board(qtbot)
    bridge.sink(received("alarms", alarms("room-3", T0, 2, alarm(
        "spo2-critical", "SpO2 LOW 84", "HIGH", acknowledged=True)), T0))
    lit = shot(win, qtbot)
    flash_t[0] = 0.3
    dark = shot(win, qtbot)
    tile = win.tiles["room-3"]
    for img in (lit, dark):  # steady: the same in both flash phases
        share = share_of(region(img, win, tile, BAND), ALARM_COLOURS[Priority.HIGH])
        assert 0.01 < share < 0.3  # outlined and its text red, never filled
    assert np.array_equal(region(lit, win, tile), region(dark, win, tile))
    assert alarm_text(tile.view.worst, tile.view) == "*** SpO2 LOW 84 ✓ ACK"
    assert win.model.sounding(clock.t, win.sound) is None  # acknowledged: silent
    flash_t[0] = 0.1
    win.grab().save(str(shots_dir / "board-acknowledged.png"))


def test_room_offline_within_5_s(qtbot, shots_dir):
    win, bridge, clock, _ = open_board(qtbot)
    for step in range(1, 5):  # room-5 goes quiet; the others go on at 1 Hz
        clock.t = T0 + step
        keep_alive(bridge, clock, range(1, 13), except_=("room-5",))
        img = shot(win, qtbot)
        offline = not win.tiles["room-5"].view.online
        assert offline == (step > 3)  # the board's own clock: no message for 3 s
    tile = win.tiles["room-5"]
    assert tile.view.worst.board and tile.view.worst.priority is Priority.MEDIUM
    assert share_of(region(img, win, tile, BAND), ALARM_COLOURS[Priority.MEDIUM]) > 0.5
    assert share_of(region(img, win, tile, NUMS), ALARM_COLOURS[Priority.MEDIUM]) > 0.01
    assert share_of(region(img, win, tile, NUMS), vital_colour("hr")) == 0  # no last value
    other = win.tiles["room-6"]
    assert share_of(region(img, win, other, NUMS), vital_colour("hr")) > 0.005
    assert win.model.sounding(clock.t, win.sound) is Priority.MEDIUM
    win.grab().save(str(shots_dir / "board-offline.png"))


def test_32_rooms_fit_and_stay_legible(qtbot, shots_dir):
    win, _bridge, _clock, _ = open_board(qtbot, rooms=32)
    img = shot(win, qtbot)
    sizes = {(t.width(), t.height()) for t in win.tiles.values()}
    assert min(w for w, _ in sizes) > 220 and min(h for _, h in sizes) > 160
    for tile in win.tiles.values():
        assert share_of(region(img, win, tile, NUMS), vital_colour("hr")) > 0.002
        assert share_of(region(img, win, tile, NUMS), STALE) < 0.02
    win.grab().save(str(shots_dir / "board-32.png"))


@pytest.mark.parametrize("sound", [(), (Priority.HIGH,)])
def test_board_sound_setting(qtbot, sound):
    win, bridge, clock, _ = open_board(qtbot, rooms=2)
    bridge.sink(received("alarms", alarms("room-1", T0, 2, alarm(
        "hr-high", "HR HIGH 131", "MEDIUM", vital="hr")), T0))
    assert win.model.sounding(clock.t, sound) is None


def test_a_tile_opens_the_rooms_last_30_minutes_and_its_acknowledgements(qtbot, shots_dir):
    sent: list[tuple[str, str]] = []
    win, bridge, clock, _ = open_board(qtbot, rooms=2)
    win._acknowledge = lambda room, aid: sent.append((room, aid)) or True
    for s in range(1, 120):
        clock.t = T0 + s
        spo2 = 96 if s < 90 else 96 - (s - 90) / 2.5  # a desaturation over the last 30 s
        bridge.sink(received("numerics", numerics("room-2", clock.t, hr=60 + s % 20,
                                                  spo2=round(spo2)), clock.t))
    bridge.sink(received("alarms", alarms("room-2", clock.t, 2, alarm(
        "spo2-critical", "SpO2 LOW 84", "HIGH")), clock.t))
    win.redraw()
    tile = win.tiles["room-2"]
    qtbot.mouseClick(tile, Qt.MouseButton.LeftButton)
    detail = win.detail
    assert detail is not None and detail.room == "room-2"
    x, y = detail.curves["hr"].getData()
    assert len(x) == 120 and y[-1] == 60 + 119 % 20 and -2.1 < x[0] < -1.9  # minutes
    assert "SpO2 LOW 84" in detail.events.item(0).text()
    detail.resize(1100, 760)
    detail.grab().save(str(shots_dir / "board-room.png"))
    button = detail._buttons["spo2-critical"]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert sent == [("room-2", "spo2-critical")]
    assert win.model.view("room-2", clock.t).ack_note.startswith("acknowledgement sent")
    win._acknowledge = lambda room, aid: False  # the link is down
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert win.model.view("room-2", clock.t).ack_note.startswith("acknowledgement not sent")
    detail.close()
