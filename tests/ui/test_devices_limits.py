"""The devices panel and the alarm-limits dialog, on a real session (simulator, recorder,
alarm engine, store) and, for hardware the test machine lacks, a recorder stand-in."""

from __future__ import annotations

import concurrent.futures
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget
from ui_fakes import FakeAudioOutput

from alarms.log import limit_changes
from devices.ble.scan import FoundDevice
from devices.spec import parse_spec
from monitor.live import LiveState
from monitor.messages import (
    Battery,
    Condition,
    DeviceCondition,
    DeviceState,
    DeviceStatus,
    Numerics,
)
from monitor.recorder import RecordingPlan
from monitor.runtime import IoThread
from monitor.store import SessionStore
from ui.app import DashboardSession
from ui.bridge import Bridge
from ui.dashboard import DashboardWindow
from ui.devices_panel import DeviceControl, DevicesPanel
from ui.limits_dialog import WARN


def pixels(widget: QWidget, within: QWidget | None = None) -> np.ndarray:
    """RGB pixels of `widget`, or of the part of it `within` covers."""
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(h, img.bytesPerLine() // 4, 4)
    rgb = arr[:, :w, 2::-1].astype(int)
    if within is None:
        return rgb
    p = within.mapTo(widget, QPoint(0, 0))
    return rgb[p.y():p.y() + within.height(), p.x():p.x() + within.width()]


def share(rgb: np.ndarray, colour, tol: int = 40) -> float:
    target = np.array([colour.red(), colour.green(), colour.blue()])
    return float((np.abs(rgb - target).max(axis=-1) <= tol).mean())


@contextmanager
def live_session(qtbot, tmp_path: Path, scenario: str = "normal"
                 ) -> Iterator[tuple[DashboardSession, DashboardWindow]]:
    """A real dashboard session on the simulator at 20x real time."""
    plan = RecordingPlan((parse_spec(f"sim:{scenario}?seed=4"),), 3600.0, 20.0)
    with SessionStore(tmp_path / "vigil.sqlite3") as store:
        session = DashboardSession(store, plan)
        settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
        window = DashboardWindow(session.sources(), FakeAudioOutput(), settings)
        window.resize(1920, 1080)
        qtbot.addWidget(window)
        window.closing.connect(session.stop)
        session.start()
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(window.isActiveWindow, timeout=5000)  # shortcuts need it active
        window.start()
        try:
            yield session, window
        finally:
            for dialog in (window.devices_panel, window.limits_dialog):
                if dialog is not None:
                    dialog.close()
            window.close()


def row_of(panel: DevicesPanel, source: str) -> int | None:
    for row in range(panel.table.rowCount()):
        item = panel.table.item(row, 0)
        if item is not None and item.text() == source:
            return row
    return None


def cell(panel: DevicesPanel, source: str, col: int) -> str:
    row = row_of(panel, source)
    item = None if row is None else panel.table.item(row, col)
    return "" if item is None else item.text()


def test_connect_a_simulator_then_disconnect_it_without_an_alarm(qtbot, tmp_path, shots_dir):
    with live_session(qtbot, tmp_path) as (session, window):
        qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
        panel = window.devices_panel
        qtbot.waitExposed(panel)
        qtbot.waitUntil(lambda: cell(panel, "sim", 2) == "streaming", timeout=5000)
        panel.scenario.setCurrentIndex(panel.scenario.findData("desaturation"))
        qtbot.mouseClick(panel.sim_button, Qt.MouseButton.LeftButton)
        assert "sim-2" in panel.message.text()
        qtbot.waitUntil(lambda: cell(panel, "sim-2", 2) == "streaming", timeout=5000)
        qtbot.waitUntil(lambda: cell(panel, "sim-2", 3).startswith("OK: "), timeout=5000)
        assert "SpO2" in cell(panel, "sim-2", 3)
        assert cell(panel, "sim-2", 1) == "sim:desaturation"
        assert cell(panel, "sim-2", 4) == "unknown"  # the simulator reports no battery
        qtbot.waitUntil(lambda: "sim-2: streaming" in window.device_label.text(), timeout=5000)
        panel.resize(1200, 700)
        panel.grab().save(str(shots_dir / "devices.png"))
        shot = pixels(panel, panel.table)
        assert share(shot, WARN) == 0  # every device streaming: nothing in yellow

        row = row_of(panel, "sim-2")
        button = panel.table.cellWidget(row, 5)
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # arms
        assert button.text() == "Tap again to disconnect"
        assert "sim-2" in session.recorder.devices()
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: row_of(panel, "sim-2") is None, timeout=5000)
        assert panel.message.text() == "sim-2 disconnected."
        qtbot.waitUntil(lambda: "sim-2" not in window.device_label.text(), timeout=5000)
        assert set(session.recorder.devices()) == {"sim"}
        # Past the link-lost confirmation delay: still no alarm about sim-2.
        t0 = session.recorder.clock.now()
        qtbot.waitUntil(lambda: session.recorder.clock.now() > t0 + 15, timeout=5000)
        assert not any("sim-2" in a.key for a in session.recorder.alarms.snapshot().alarms)
        assert not any("sim-2" in a.message
                       for a in window.banner.alarms + window.strip.alarms)
        panel.close()
        qtbot.mouseClick(window.device_label, Qt.MouseButton.LeftButton)  # tap the header
        assert window.devices_panel is panel and panel.isVisible()
    with SessionStore(tmp_path / "vigil.sqlite3", read_only=True) as store:
        assert set(store.devices(1)) == {"sim", "sim-2"}
        assert not any(e.alarm is not None and "sim-2" in e.alarm.key
                       and e.event.value == "start" for e in store.alarm_events(1))


@dataclass
class StandIn:
    """A recorder for hardware this machine lacks: records what the panel asks for."""

    connected: list[str]
    running: dict[str, str] = field(default_factory=dict)
    closing: dict[str, concurrent.futures.Future[None]] = field(default_factory=dict)

    def devices(self) -> dict[str, str]:
        return dict(self.running)

    def connect_device(self, text: str) -> str:
        parse_spec(text)  # the real SPEC check
        self.connected.append(text)
        return f"dev-{len(self.connected)}"

    def disconnect_device(self, source: str, user: str = ""
                          ) -> concurrent.futures.Future[None]:
        del self.running[source]  # KeyError as the recorder's
        future = self.closing[source] = concurrent.futures.Future()
        return future


@contextmanager
def stand_in_panel(qtbot, scan=None, live: LiveState | None = None, bridge: Bridge | None = None
                   ) -> Iterator[tuple[DevicesPanel, StandIn, IoThread]]:
    io = IoThread().start()
    recorder = StandIn([])
    kw = {"scan": scan} if scan is not None else {}
    control = DeviceControl(recorder, io, ports=lambda: [("/dev/ttyUSB0", "FT232R USB UART")],
                            **kw)
    panel = DevicesPanel(control, live or LiveState(), bridge or Bridge(), lambda: 10.0,
                         "nurse")
    qtbot.addWidget(panel)
    panel.show()
    try:
        yield panel, recorder, io
    finally:
        panel.close()
        io.stop()


def test_ble_scan_without_bleak_says_so(qtbot, monkeypatch):
    monkeypatch.setitem(sys.modules, "bleak", None)  # as if bleak were not installed
    monkeypatch.delitem(sys.modules, "devices.ble.scan", raising=False)
    with stand_in_panel(qtbot) as (panel, _rec, _io):
        assert "nothing is being monitored" in panel.message.text()
        qtbot.mouseClick(panel.scan_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.scan_button.isEnabled(), timeout=5000)
        assert panel.message.text() == ("Bluetooth is not available: the bleak package is "
                                        "not installed (pip install bleak).")
        assert panel.ble_list.count() == 0


def test_ble_scan_runs_on_the_device_thread_and_explains_a_missing_dbus(qtbot):
    threads: list[str] = []

    async def no_dbus(timeout: float):
        threads.append(threading.current_thread().name)
        raise FileNotFoundError("/run/dbus/system_bus_socket")

    with stand_in_panel(qtbot, no_dbus) as (panel, _rec, _io):
        panel.start_scan()
        assert not panel.scan_button.isEnabled()  # one scan at a time
        qtbot.waitUntil(lambda: panel.scan_button.isEnabled(), timeout=5000)
        assert threads == ["device-io"]
        assert "D-Bus cannot be reached" in panel.message.text()


def test_ble_scan_lists_devices_and_connects_the_one_picked(qtbot):
    found = [FoundDevice("AA:BB:CC:DD:EE:01", "Nonin 3150", -60, ("PLX", "Battery")),
             FoundDevice("AA:BB:CC:DD:EE:02", None, -80, ())]

    async def scan(timeout: float):
        return found

    with stand_in_panel(qtbot, scan) as (panel, rec, _io):
        panel.start_scan()
        qtbot.waitUntil(lambda: panel.ble_list.count() == 2, timeout=5000)
        assert panel.ble_list.item(0).text() == ("Nonin 3150  AA:BB:CC:DD:EE:01  "
                                                 "(PLX, Battery)  -60 dBm")
        assert "no vital-sign profile" in panel.ble_list.item(1).text()
        assert not panel.ble_button.isEnabled()
        panel.ble_list.setCurrentRow(0)
        qtbot.mouseClick(panel.ble_button, Qt.MouseButton.LeftButton)
        assert rec.connected == ["ble:AA:BB:CC:DD:EE:01"]


def test_serial_device_from_the_listed_ports(qtbot):
    with stand_in_panel(qtbot) as (panel, rec, _io):
        assert panel.port.currentData() == "/dev/ttyUSB0"
        panel.serial_kind.setCurrentText("nonin")
        panel.baud.setCurrentText("9600")
        qtbot.mouseClick(panel.serial_button, Qt.MouseButton.LeftButton)
        assert rec.connected == ["nonin:/dev/ttyUSB0@9600"]
        panel.port.setEditText("")
        panel.port.setCurrentIndex(-1)
        qtbot.mouseClick(panel.serial_button, Qt.MouseButton.LeftButton)
        assert "Pick or type the serial port" in panel.message.text()
        panel.connect_spec("bogus:1")
        assert panel.message.text().startswith("Cannot connect: device 'bogus:1': unknown kind")
        assert len(rec.connected) == 1


def test_limits_dialog_changes_spo2_low_and_the_engine_logs_it(qtbot, tmp_path, shots_dir):
    with live_session(qtbot, tmp_path) as (session, window):
        engine = session.recorder.alarms
        qtbot.waitUntil(lambda: window.tiles["spo2"].content.limits == "off\n90", timeout=5000)
        qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
        dialog = window.limits_dialog
        qtbot.waitExposed(dialog)
        ids = [r.id for r in dialog.rules]
        assert ids[:2] == ["spo2-low", "spo2-critical"] and "sbp-predose" not in ids
        spin = dialog.spins["spo2-low"]
        assert (spin.minimum(), spin.maximum(), spin.value()) == (30, 100, 90)
        assert dialog.warning.text() == ""
        dialog.set_value("spo2-low", 88)
        assert "SpO2 LOW: 88 % is looser than the preset 90 %" in dialog.warning.text()
        dialog.resize(1560, 800)
        dialog.grab().save(str(shots_dir / "limits.png"))
        assert share(pixels(dialog, dialog.warning), WARN) > 0.01
        assert share(pixels(dialog, spin), WARN) > 0.02
        assert share(pixels(dialog, dialog.spins["hr-high"]), WARN) == 0

        assert dialog.apply() == ["spo2-low"]
        qtbot.waitUntil(lambda: window.tiles["spo2"].content.limits == "off\n88", timeout=5000)
        rule = next(r for r in engine.limit_rules() if r.id == "spo2-low")
        assert rule.limit == 88 and engine.limits_for("spo2") == (88, None)
        assert dialog.apply() == []  # nothing changed since

        dialog.reset_to_preset()
        assert dialog.value("spo2-low") == 90 and dialog.warning.text() == ""
        dialog.set_value("hr-low", 130)  # above the high limit 120
        assert dialog.apply() == []
        assert dialog.warning.text().startswith("Not applied: HR: the low limit 130")
        dialog.set_value("hr-low", 50)
        assert dialog.apply() == ["spo2-low"]  # back to the preset's 90
        qtbot.waitUntil(lambda: window.tiles["spo2"].content.limits == "off\n90", timeout=5000)
    with SessionStore(tmp_path / "vigil.sqlite3", read_only=True) as store:
        changes = limit_changes(store.alarm_events(1))
    assert [(c.rule_id, c.old, c.new, c.user) for c in changes] == [
        ("spo2-low", 90, 88, "unidentified staff"), ("spo2-low", 88, 90, "unidentified staff")]


def test_a_device_shows_disconnecting_until_its_driver_is_closed(qtbot):
    with stand_in_panel(qtbot) as (panel, rec, _io):
        rec.running["nonin"] = "nonin:/dev/ttyUSB0"
        panel.refresh()
        assert cell(panel, "nonin", 2) == "starting" and cell(panel, "nonin", 4) == "unknown"
        removed: list[str] = []
        panel.deviceRemoved.connect(removed.append)
        panel.disconnect_source("nonin")
        assert rec.closing == {}  # the first tap only arms
        panel.disconnect_source("nonin")
        assert cell(panel, "nonin", 2) == "disconnecting"
        assert not panel.table.cellWidget(0, 5).isEnabled()
        rec.closing["nonin"].set_result(None)  # the device thread closed the driver
        qtbot.waitUntil(lambda: removed == ["nonin"], timeout=5000)
        assert row_of(panel, "nonin") is None
        assert "nothing is being monitored" in panel.message.text()


def test_status_signal_and_battery_of_a_device(qtbot, tmp_path):
    live, bridge = LiveState(), Bridge()
    with stand_in_panel(qtbot, live=live, bridge=bridge) as (panel, rec, _io):
        rec.running["nonin"] = "nonin:/dev/ttyUSB0"
        for msg in (DeviceStatus("nonin", 0, 1, DeviceState.STREAMING),
                    Numerics("nonin", 0, 9, (("spo2", 97.0), ("pr", 72.0))),
                    Battery("nonin", 0, 9, 76.0)):
            live(msg)
            bridge.sink(msg)  # as the runtime hands it over, here on the GUI thread
        qtbot.waitUntil(lambda: cell(panel, "nonin", 3) == "OK: SpO2, PR", timeout=5000)
        assert (cell(panel, "nonin", 2), cell(panel, "nonin", 4)) == ("streaming", "76 %")
        msg = DeviceCondition("nonin", 0, 10, Condition.LOW_PERFUSION, True, "spo2")
        live(msg)
        bridge.sink(msg)
        qtbot.waitUntil(lambda: cell(panel, "nonin", 3) == "SpO2 low perfusion", timeout=5000)
        assert panel.table.item(0, 3).foreground().color() == WARN
        live(DeviceStatus("nonin", 0, 11, DeviceState.STALE))
        panel.refresh()
        assert cell(panel, "nonin", 2) == "stale"
        assert panel.table.item(0, 2).foreground().color() == WARN


def test_header_shows_device_status_and_battery(rig, qtbot):
    rig.feed(DeviceStatus("ble", 0, 1, DeviceState.STREAMING), Battery("ble", 0, 1, 64.0))
    qtbot.waitUntil(lambda: rig.window.device_label.text() == "ble: streaming 64 %",
                    timeout=5000)


def test_limits_dialog_says_each_source_in_a_clinicians_words(qtbot):
    from alarms.presets import preset
    from ui.limits_dialog import LimitEditor, LimitsDialog

    rules = preset("iv-ketamine").limits

    class Engine:
        def limit_rules(self):
            return rules

    dialog = LimitsDialog(LimitEditor(Engine(), rules, lambda *_a: None), "nurse")
    qtbot.addWidget(dialog)
    source_col = dialog.table.columnCount() - 1
    shown = {dialog.table.item(row, 0).text() + " " + dialog.table.item(row, 1).text():
             dialog.table.item(row, source_col).text() for row in range(dialog.table.rowCount())}
    assert shown["SpO2 SpO2 LOW"] == ("Usual monitor alarm (90 %). The 15 s delay avoids most "
                                      "false alarms from brief dips.")
    assert shown["NIBP sys NIBP SYS HIGH"] == ("Common ketamine-clinic trigger: 180/110 mmHg. "
                                               "Judged on each reading.")
    notes = [(k, v) for k, v in shown.items()
             if any(dev in v for dev in ("design choice", "clinical.md", "§", "unverified"))]
    assert shown["HR HR EXTREME LOW"].startswith("Immediate alarm for asystole")
    assert len(shown) == 14 and notes == []
