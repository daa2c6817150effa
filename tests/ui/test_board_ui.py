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
from monitor.central.board_text import alarm_text, value_text
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
        bridge.sink(received("numerics", room_numerics(k, T0), T0))
        bridge.sink(received("alarms", alarms(room, T0 - 1, 1), T0))
    return win, bridge, clock, flash_t


STALE_ROOM = 7  # its oximeter's value is 45 s old: dashes and "stale 45 s", never a number


def room_numerics(k: int, t: float, spo2: float | None = None) -> dict:
    """Coherent numerics for room-k: HR, SpO2 and NIBP that differ from room to room, NIBP
    taken 1 to 14 minutes ago, and room-7's SpO2 stale."""
    nibp = (112 + 3 * (k % 9), 70 + 2 * (k % 7), 86 + 2 * (k % 8))
    if k == STALE_ROOM and spo2 is None:
        return numerics(f"room-{k}", t, hr=70 + k, spo2=95, spo2_state="stale",
                        spo2_t=t - 45, nibp=nibp, nibp_t=t - 60 * (1 + k % 14))
    return numerics(f"room-{k}", t, hr=70 + k, spo2=spo2 if spo2 is not None else 95 + k % 4,
                    nibp=nibp, nibp_t=t - 60 * (1 + k % 14))


def desaturate_room_3(bridge: BoardBridge, acknowledged: bool = False) -> None:
    """Room-3's SpO2 falls to 84 and the room raises its HIGH alarm: the number on the tile
    and the alarm text agree."""
    bridge.sink(received("numerics", room_numerics(3, T0, spo2=84), T0))
    bridge.sink(received("alarms", alarms("room-3", T0, 2, alarm(
        "spo2-critical", "SpO2 LOW 84", "HIGH", acknowledged=acknowledged)), T0))


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


def ink_height(pixels: np.ndarray, vital: str) -> int:
    """How many pixel rows, top to bottom, the vital's colour covers: its digits' height."""
    target = vital_colour(vital)
    rgb = np.array([target.red(), target.green(), target.blue()])
    rows = np.flatnonzero((np.abs(pixels - rgb).max(axis=-1) <= 40).any(axis=1))
    return int(rows[-1] - rows[0] + 1) if len(rows) else 0


def keep_alive(bridge: BoardBridge, clock: Clock, rooms, except_=()) -> None:
    for k in rooms:
        room = f"room-{k}"
        if room not in except_:
            bridge.sink(received("numerics", room_numerics(k, clock.t), clock.t))


def test_all_well(qtbot, shots_dir):
    win, _bridge, _clock, _ = open_board(qtbot)
    img = shot(win, qtbot)
    assert len(win.tiles) == 12
    for tile in win.tiles.values():
        assert share_of(region(img, win, tile), ALARM_COLOURS[Priority.HIGH]) == 0
        assert share_of(region(img, win, tile), ALARM_COLOURS[Priority.MEDIUM]) == 0
        assert share_of(region(img, win, tile, NUMS), vital_colour("hr")) > 0.005  # live HR
    # Readable at 3 m on a 24" 1080p screen: 16' of arc is 14 mm, 51 px (clinical §10).
    # NIBP too (issue #13), measured as the painter's font and as the digits' ink on the
    # screen. The phase, in the band an alarm would take, is as large as the tile's width
    # allows: "RECOVERY +59 min" at 51 px would need 760 px; it gets 27 (16′ at 1.6 m).
    for tile in win.tiles.values():
        assert min(tile.cap_px[k] for k in ("hr", "spo2", "sbp")) >= 51, tile.cap_px
        assert ink_height(region(img, win, tile, (0.0, 0.42, 0.5, 0.7)), "hr") >= 51
        assert ink_height(region(img, win, tile, (0.25, 0.66, 1.0, 0.93)), "sbp") >= 51
        assert tile.cap_px["phase"] >= 27, tile.cap_px
    # The stale SpO2 is dashes and its age, in grey: no cyan digits, unlike its neighbours.
    stale = win.tiles[f"room-{STALE_ROOM}"]
    assert stale.view.reading("spo2").state == "stale"
    spo2_half = (0.5, 0.34, 0.97, 0.66)
    assert share_of(region(img, win, stale, spo2_half), vital_colour("spo2")) == 0
    assert share_of(region(img, win, stale, spo2_half), STALE) > 0.01
    assert share_of(region(img, win, win.tiles["room-6"], spo2_half),
                    vital_colour("spo2")) > 0.02
    win.grab().save(str(shots_dir / "board-normal.png"))


def test_high_alarm_flashes_in_red_and_sounds(qtbot, shots_dir):
    win, bridge, clock, flash_t = open_board(qtbot)
    desaturate_room_3(bridge)
    img = shot(win, qtbot)
    band = region(img, win, win.tiles["room-3"], BAND)
    lit = share_of(band, ALARM_COLOURS[Priority.HIGH])
    assert lit > 0.5  # lit: the band is red
    tile = win.tiles["room-3"]
    assert value_text(tile.view, "spo2") == "84"  # the number agrees with the alarm
    # The band's colour and flashing are seen at 4 m (IEC 60601-1-8 6.3.2.2.1); its text,
    # as wide as a 4-column tile allows, is 16' of arc at 2 m (clinical.md §10), twice the
    # 1 m the standard asks for the condition (6.3.2.2.2).
    assert tile.cap_px["alarm"] >= 33, tile.cap_px
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
    desaturate_room_3(bridge, acknowledged=True)
    lit = shot(win, qtbot)
    flash_t[0] = 0.3
    dark = shot(win, qtbot)
    tile = win.tiles["room-3"]
    for img in (lit, dark):  # steady: the same in both flash phases
        share = share_of(region(img, win, tile, BAND), ALARM_COLOURS[Priority.HIGH])
        assert 0.01 < share < 0.3  # outlined and its text red, never filled
    assert np.array_equal(region(lit, win, tile), region(dark, win, tile))
    assert alarm_text(tile.view.worst) == "*** SpO2 LOW 84 ✓ ACK"
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
    for name, tile in win.tiles.items():
        assert share_of(region(img, win, tile, NUMS), vital_colour("hr")) > 0.002
        stale = share_of(region(img, win, tile, NUMS), STALE)
        assert stale > 0.02 if name == f"room-{STALE_ROOM}" else stale < 0.02, (name, stale)
    win.grab().save(str(shots_dir / "board-32.png"))


@pytest.mark.parametrize("sound", [(), (Priority.HIGH,)])
def test_board_sound_setting(qtbot, sound):
    win, bridge, clock, _ = open_board(qtbot, rooms=2)
    bridge.sink(received("alarms", alarms("room-1", T0, 2, alarm(
        "hr-high", "HR HIGH 131", "MEDIUM", vital="hr")), T0))
    assert win.model.sounding(clock.t, sound) is None


SECONDS = 1800  # the detail view's 30 minutes


def test_a_tile_opens_the_rooms_last_30_minutes_and_its_acknowledgements(qtbot, shots_dir):
    sent: list[tuple[str, str]] = []
    win, bridge, clock, _ = open_board(qtbot, rooms=2)
    win._acknowledge = lambda room, aid: sent.append((room, aid)) or True
    # 30 minutes at 1 Hz: HR drifting 74-79, NIBP every 5 minutes rising with the dose,
    # and a desaturation to 84 over the last 30 s, as the room's HIGH alarm says.
    for s in range(1, SECONDS + 1):
        clock.t = T0 + s
        left = SECONDS - s
        spo2 = 96 if left >= 30 else 84 + left * 0.4
        hr = 74 + (s // 97) % 6 + (6 if left < 30 else 0)
        nibp_at = s - s % 300
        nibp = (118 + nibp_at // 100, 76 + nibp_at // 300, 90 + nibp_at // 200)
        bridge.sink(received("numerics", numerics(
            "room-2", clock.t, hr=hr, spo2=round(spo2), nibp=nibp, nibp_t=T0 + nibp_at),
            clock.t))
    bridge.sink(received("status", status("room-2", clock.t, phase="PEAK",
                                          dose_start=T0 - 10 * 60), clock.t))
    bridge.sink(received("alarms", alarms("room-2", clock.t, 2, alarm(
        "spo2-critical", "SpO2 LOW 84", "HIGH", onset=clock.t - 2)), clock.t))
    win.redraw()
    tile = win.tiles["room-2"]
    qtbot.mouseClick(tile, Qt.MouseButton.LeftButton)
    detail = win.detail
    assert detail is not None and detail.room == "room-2"
    x, y = detail.curves["hr"].getData()
    assert len(x) == SECONDS + 1 and y[-1] == 74 + (SECONDS // 97) % 6 + 6  # and T0's
    assert x[0] == -30 and x[-1] == 0  # minutes before the last message
    x, y = detail.curves["sbp"].getData()
    assert len(x) == SECONDS // 300 + 1 and y[-1] == 118 + SECONDS // 100  # each reading once
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
