"""The devices panel: what is connected, how it is doing, and connecting or disconnecting one.

Each device shows its link status (connecting, streaming, stale, disconnected), its signal
(the conditions it reports, or the vitals it is giving now) and its battery. The nurse can
connect a simulator, a serial device (kind and port from the ports the computer has) or a
BLE device found by a scan, and disconnect one (two taps, so a brushed button cannot end
the monitoring of a patient). Every slow step (the BLE scan, closing a driver) runs on the
device-io thread; the GUI learns of the result through a queued signal.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from alarms.model import Priority
from devices.base import SpecError
from devices.sim.scenarios import SCENARIOS
from devices.spec import serial_schemes
from monitor.live import LiveState
from monitor.messages import DeviceState, Numerics
from monitor.runtime import IoThread
from monitor.vitals import VITALS
from ui.bridge import Bridge
from ui.theme import ALARM_COLOURS, TEXT, TEXT_DIM, named

log = logging.getLogger(__name__)

SCAN_TIMEOUT_S = 8.0
REFRESH_MS = 500
DISARM_MS = 5000  # an armed "confirm disconnect" falls back after this
BAUDS = ("default", "1200", "2400", "4800", "9600", "19200", "38400", "57600", "115200")
WARN = ALARM_COLOURS[Priority.MEDIUM]  # a device problem, as the header shows it
COLUMNS = ("Device", "Connected as", "Status", "Signal", "Battery", "")

Scan = Callable[[float], Awaitable[Sequence[Any]]]  # -> devices.ble.scan.FoundDevice list


class Recorder(Protocol):
    """What the panel needs of `monitor.recorder.SessionRecorder`."""

    def devices(self) -> dict[str, str]: ...

    def connect_device(self, text: str) -> str: ...

    def disconnect_device(self, source: str, user: str = ""
                          ) -> concurrent.futures.Future[None]: ...


async def ble_scan(timeout: float) -> Sequence[Any]:
    """`devices.ble.scan.scan`, imported when first used (bleak loads only for BLE)."""
    from devices.ble.scan import scan
    return await scan(timeout)


def scan_error_text(e: BaseException) -> str:
    """Why the scan failed, in words for whoever sets the computer up."""
    if isinstance(e, ImportError):
        return ("Bluetooth is not available: the bleak package is not installed "
                "(pip install bleak).")
    from devices.ble.scan import explain_unavailable
    return f"Bluetooth scan failed: {explain_unavailable(e)}."


def list_serial_ports() -> list[tuple[str, str]]:
    """(device path, description) of the serial ports the computer has now."""
    from serial.tools import list_ports
    return sorted((p.device, p.description or "") for p in list_ports.comports())


class DeviceControl:
    """The panel's handle on the session: the recorder's device calls, and the BLE scan run
    on the device-io loop (never on the GUI thread)."""

    def __init__(self, recorder: Recorder, io: IoThread, scan: Scan = ble_scan,
                 ports: Callable[[], list[tuple[str, str]]] = list_serial_ports) -> None:
        self.recorder = recorder
        self.io = io
        self._scan = scan
        self.ports = ports

    def devices(self) -> dict[str, str]:
        return self.recorder.devices()

    def connect(self, text: str) -> str:
        return self.recorder.connect_device(text)

    def disconnect(self, source: str, user: str) -> concurrent.futures.Future[None]:
        return self.recorder.disconnect_device(source, user)

    def scan(self, timeout: float = SCAN_TIMEOUT_S) -> concurrent.futures.Future[Any]:
        async def run() -> Sequence[Any]:
            return await self._scan(timeout)
        return self.io.submit(run())


class _Relay(QObject):
    """Hands a future's outcome to the GUI thread (the signal is queued there)."""

    done = Signal(object, object, object)  # tag, result, exception

    def watch(self, future: concurrent.futures.Future[Any], tag: object) -> None:
        def finished(f: concurrent.futures.Future[Any]) -> None:
            exc = f.exception() if not f.cancelled() else concurrent.futures.CancelledError()
            self.done.emit(tag, None if exc else f.result(), exc)
        future.add_done_callback(finished)


class ClickableLabel(QLabel):
    """A label that opens something when tapped (the header's device status)."""

    clicked = Signal()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mouseReleaseEvent(event)


def _condition_text(condition: str, vital: str) -> str:
    words = condition.replace("_", " ")
    return f"{VITALS[vital].label} {words}" if vital in VITALS else words


class DevicesPanel(QDialog):
    """Lists the session's devices and connects or disconnects them (see the module)."""

    deviceRemoved = Signal(str)  # after the driver is closed
    deviceAdded = Signal(str)

    def __init__(self, control: DeviceControl, live: LiveState, bridge: Bridge,
                 now_s: Callable[[], float], user: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Vigil: devices")
        self.control = control
        self.live = live
        self.now_s = now_s
        self.user = user
        self._armed: str | None = None
        self._removing: dict[str, str] = {}  # source -> SPEC, until its driver is closed
        self.found: list[Any] = []
        self._relay = _Relay(self)
        # Queued even when the future is already done (its callback then runs right here).
        self._relay.done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)
        self._seen: dict[str, dict[str, float]] = {}  # source -> vital -> last t_s
        self._build()
        bridge.deviceChanged.connect(lambda _m: self.refresh())
        bridge.numericsArrived.connect(self._on_numerics)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self._disarm = QTimer(self)
        self._disarm.setSingleShot(True)
        self._disarm.setInterval(DISARM_MS)
        self._disarm.timeout.connect(self._cancel_arm)
        self.refresh_ports()
        self.refresh()

    # -- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        self.setMinimumSize(1100, 640)
        outer = QVBoxLayout(self)
        outer.setSpacing(12)
        outer.addWidget(named(QLabel("Devices in this session"), "header"))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setStyleSheet("QTableWidget { font-size: 20px; }"
                                 "QTableWidget::item { padding: 0 10px; }"
                                 "QHeaderView::section { font-size: 18px; padding: 4px; }")
        head = self.table.horizontalHeader()
        for i in range(len(COLUMNS)):
            head.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(5, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(5, 320)  # room for "Tap again to disconnect"
        self.table.verticalHeader().setDefaultSectionSize(52)
        outer.addWidget(self.table, 1)

        outer.addWidget(named(QLabel("Connect another device"), "header"))
        self.tabs = QTabWidget()
        self.tabs.setStyleSheet("QTabBar::tab { font-size: 20px; padding: 8px 18px; }"
                                "QComboBox, QListWidget, QLabel { font-size: 20px; }")
        self.tabs.addTab(self._sim_tab(), "Simulator")
        self.tabs.addTab(self._serial_tab(), "Serial")
        self.tabs.addTab(self._ble_tab(), "Bluetooth")
        self.tabs.setMaximumHeight(200)
        outer.addWidget(self.tabs)
        self.message = named(QLabel(""), "headerDim")
        self.message.setWordWrap(True)
        outer.addWidget(self.message)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        outer.addLayout(row)

    def _sim_tab(self) -> QWidget:
        w = QWidget()
        row = QHBoxLayout(w)
        self.scenario = QComboBox()
        for name, sc in SCENARIOS.items():
            self.scenario.addItem(f"{name}: {sc.description}", name)
        self.sim_button = QPushButton("Connect simulator")
        self.sim_button.clicked.connect(
            lambda: self.connect_spec(f"sim:{self.scenario.currentData()}"))
        row.addWidget(QLabel("Scenario"))
        row.addWidget(self.scenario, 1)
        row.addWidget(self.sim_button)
        return w

    def _serial_tab(self) -> QWidget:
        w = QWidget()
        row = QHBoxLayout(w)
        self.serial_kind = QComboBox()
        self.serial_kind.addItems(list(serial_schemes()))
        self.port = QComboBox()
        self.port.setEditable(True)  # a port the system does not list can be typed
        self.port.setMinimumWidth(300)
        self.baud = QComboBox()
        self.baud.addItems(list(BAUDS))
        rescan = QPushButton("Refresh ports")
        rescan.clicked.connect(self.refresh_ports)
        self.serial_button = QPushButton("Connect")
        self.serial_button.clicked.connect(self._connect_serial)
        for label, widget in (("Kind", self.serial_kind), ("Port", self.port),
                              ("Baud", self.baud)):
            row.addWidget(QLabel(label))
            row.addWidget(widget, 1 if widget is self.port else 0)
        row.addWidget(rescan)
        row.addWidget(self.serial_button)
        return w

    def _ble_tab(self) -> QWidget:
        w = QWidget()
        col = QVBoxLayout(w)
        row = QHBoxLayout()
        self.scan_button = QPushButton(f"Scan for {SCAN_TIMEOUT_S:g} s")
        self.scan_button.clicked.connect(self.start_scan)
        self.ble_button = QPushButton("Connect selected")
        self.ble_button.setEnabled(False)
        self.ble_button.clicked.connect(self._connect_ble)
        row.addWidget(self.scan_button)
        row.addStretch(1)
        row.addWidget(self.ble_button)
        col.addLayout(row)
        self.ble_list = QListWidget()
        self.ble_list.setMinimumHeight(90)
        self.ble_list.currentRowChanged.connect(
            lambda r: self.ble_button.setEnabled(r >= 0 and not self._scanning))
        col.addWidget(self.ble_list)
        self._scanning: bool = False
        return w

    # -- state ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-reads the devices, their status, conditions and battery."""
        devices = {**self._removing, **self.control.devices()}
        snap = self.live.snapshot(self.now_s())
        if self.table.rowCount() != len(devices):
            self.table.setRowCount(len(devices))
        for row, (source, spec) in enumerate(sorted(devices.items())):
            state = snap.devices.get(source)
            conditions = [_condition_text(c, v) for s, c, v in snap.conditions if s == source]
            if conditions:
                signal, signal_bad = ", ".join(conditions), True
            else:
                giving = self._giving(source, snap.t_s)
                signal = f"OK: {', '.join(giving)}" if giving else "no values yet"
                signal_bad = False
            battery = snap.battery.get(source)
            removing = source in self._removing
            status = "disconnecting" if removing else (str(state) if state else "starting")
            bad = state is not DeviceState.STREAMING or removing
            cells = (source, spec, status, signal,
                     "unknown" if battery is None else f"{battery:.0f} %")
            for col, text in enumerate(cells):
                self._cell(row, col, text, (col == 2 and bad) or (col == 3 and signal_bad))
            self._disconnect_button(row, source, removing)
        if not devices:
            self._say("No device is connected: nothing is being monitored.", warn=True)

    def _on_numerics(self, msg: Numerics) -> None:
        seen = self._seen.setdefault(msg.source, {})
        for key, _ in msg.values:  # in the device's order: the panel lists them so
            if key in msg.measured:
                seen[key] = msg.t_s

    def _giving(self, source: str, now: float) -> list[str]:
        """The vitals this device gave valid values of recently (NIBP: ever)."""
        out = []
        for key, t in self._seen.get(source, {}).items():
            limit = VITALS[key].stale_after_s
            if limit is None or now - t <= limit:
                out.append(VITALS[key].label)
        return out

    def _cell(self, row: int, col: int, text: str, warn: bool) -> None:
        item = self.table.item(row, col)
        if item is None:
            item = QTableWidgetItem()
            self.table.setItem(row, col, item)
        if item.text() != text:
            item.setText(text)
        colour = WARN if warn else (TEXT if col != 1 else TEXT_DIM)
        if item.foreground().color() != colour:
            item.setForeground(QColor(colour))

    def _disconnect_button(self, row: int, source: str, removing: bool) -> None:
        button = self.table.cellWidget(row, 5)
        if not isinstance(button, QPushButton) or button.property("source") != source:
            button = QPushButton()
            button.setProperty("source", source)
            button.clicked.connect(lambda _c=False, s=source: self.disconnect_source(s))
            self.table.setCellWidget(row, 5, button)
        text = ("Tap again to disconnect" if self._armed == source else "Disconnect")
        if button.text() != text:
            button.setText(text)
        button.setEnabled(not removing)

    def _say(self, text: str, warn: bool = False) -> None:
        self.message.setText(text)
        colour = WARN.name() if warn else TEXT_DIM.name()
        self.message.setStyleSheet(f"color: {colour}; font-size: 20px;")

    # -- commands ------------------------------------------------------------------------

    def connect_spec(self, text: str) -> str | None:
        """Connects the device `text` names; the message says what happened."""
        try:
            source = self.control.connect(text)
        except (SpecError, RuntimeError) as e:
            self._say(f"Cannot connect: {e}", warn=True)
            return None
        self._say(f"Connecting {text} as {source}.")
        self.deviceAdded.emit(source)
        self.refresh()
        return source

    def _connect_serial(self) -> None:
        port = self.port.currentData() or self.port.currentText().strip()
        if not port:
            self._say("Pick or type the serial port the device is plugged into.", warn=True)
            return
        baud = self.baud.currentText()
        suffix = "" if baud == "default" else f"@{baud}"
        self.connect_spec(f"{self.serial_kind.currentText()}:{port}{suffix}")

    def refresh_ports(self) -> None:
        try:
            ports = self.control.ports()
        except (ImportError, OSError) as e:
            self._say(f"Cannot list the serial ports: {e}", warn=True)
            ports = []
        self.port.clear()
        for device, description in ports:
            self.port.addItem(f"{device}  {description}".strip(), device)

    def start_scan(self) -> None:
        """Scans for BLE devices on the device-io thread (the GUI stays responsive)."""
        self._scanning = True
        self.scan_button.setEnabled(False)
        self.ble_button.setEnabled(False)
        self.ble_list.clear()
        self._say(f"Scanning for Bluetooth devices ({SCAN_TIMEOUT_S:g} s)...")
        self._relay.watch(self.control.scan(SCAN_TIMEOUT_S), "scan")

    def _connect_ble(self) -> None:
        row = self.ble_list.currentRow()
        if 0 <= row < len(self.found):
            self.connect_spec(f"ble:{self.found[row].address}")

    def disconnect_source(self, source: str) -> None:
        """First tap arms, the second (within 5 s) disconnects."""
        if self._armed != source:
            self._armed = source
            self._disarm.start()
            self._say(f"Tap again to disconnect {source}: its alarms stop with it.", warn=True)
            self.refresh()
            return
        self._cancel_arm()
        spec = self.control.devices().get(source, "")
        try:
            future = self.control.disconnect(source, self.user)
        except (KeyError, RuntimeError):
            self._say(f"{source} is no longer connected.")
            return
        self._removing[source] = spec
        self._say(f"Disconnecting {source}...")
        self._relay.watch(future, ("remove", source))
        self.refresh()

    def _cancel_arm(self) -> None:
        self._disarm.stop()
        if self._armed is not None:
            self._armed = None
            self.refresh()

    def _on_done(self, tag: object, result: object, exc: BaseException | None) -> None:
        if tag == "scan":
            self._scanning = False
            self.scan_button.setEnabled(True)
            if exc is not None:
                self._say(scan_error_text(exc), warn=True)
                return
            # `result` is typed object (one callback for every job); a scan's is scan()'s
            # list of found devices, or None.
            self.found = list(result or ())  # type: ignore[call-overload]
            for d in self.found:
                profiles = ", ".join(d.profiles) or "no vital-sign profile advertised"
                rssi = "" if d.rssi is None else f"  {d.rssi} dBm"
                item = QListWidgetItem(f"{d.name or 'unnamed'}  {d.address}  ({profiles})"
                                       f"{rssi}")
                self.ble_list.addItem(item)
            self._say(f"{len(self.found)} Bluetooth device(s) found." if self.found else
                      "No Bluetooth device found: is it switched on and close by?",
                      warn=not self.found)
        elif isinstance(tag, tuple) and tag[0] == "remove":
            source = str(tag[1])
            self._removing.pop(source, None)
            if exc is not None:
                log.error("disconnecting %s failed: %s", source, exc)
                self._say(f"Disconnecting {source} failed: {exc}", warn=True)
            else:
                self._say(f"{source} disconnected.")
                self.deviceRemoved.emit(source)
            self.refresh()

    def closeEvent(self, event: Any) -> None:
        self._timer.stop()
        self._disarm.stop()
        super().closeEvent(event)
