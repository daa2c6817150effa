"""End to end over D-Bus: unmodified bleak (BlueZ backend) against BlueZoo, a mock BlueZ,
on a private dbus-daemon, with Heart Rate, Pulse Oximeter and Blood Pressure peripherals
served by bluez-peripheral (ble_peripheral.py). No radio, no root, no system bus.

BlueZoo (GPL-2.0) runs only as a separate process here; nothing of it is imported.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devices.spec import parse_spec
from monitor.messages import (
    Condition,
    DeviceCondition,
    DeviceState,
    DeviceStatus,
    Message,
    Numerics,
)
from monitor.recorder import RecordingPlan, SessionRecorder
from monitor.store import SessionStore

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
CENTRAL = "00:00:00:00:00:01"
HR, PLX, BP, STRAP = ("00:00:00:00:00:02", "00:00:00:00:00:03", "00:00:00:00:00:04",
                      "00:00:00:00:00:05")
START_TIMEOUT_S = 20.0


@dataclass
class Zoo:
    bus_address: str
    peripheral: subprocess.Popen[str]
    log_dir: Path

    def spec(self, address: str) -> str:
        return f"ble:{address}?adapter=hci0"  # BlueZoo's adapter 0 is the central


def _executable(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The process's next stdout line, or '' after `timeout` s (a thread does the read)."""
    assert proc.stdout is not None
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return out[0].strip() if out else ""


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zoo]:
    dbus_daemon, bluezoo = shutil.which("dbus-daemon"), _executable("bluezoo")
    if dbus_daemon is None:
        pytest.skip("needs dbus-daemon (Debian package dbus-daemon; scripts/bootstrap.sh "
                    "installs it)")
    if bluezoo is None:
        pytest.skip("needs BlueZoo (pip install -e '.[test]')")
    pytest.importorskip("bluez_peripheral", reason="needs bluez-peripheral (the test extra)")
    log_dir = tmp_path_factory.mktemp("bluezoo")
    procs: list[subprocess.Popen[str]] = []
    logs = [open(log_dir / "bluezoo.log", "w"), open(log_dir / "periph.log", "w")]  # noqa: SIM115
    try:
        bus = subprocess.Popen([dbus_daemon, "--session", "--nofork", "--print-address=1"],
                               stdout=subprocess.PIPE, text=True)
        procs.append(bus)
        address = _read_line(bus, START_TIMEOUT_S)
        assert address.startswith("unix:"), f"dbus-daemon printed {address!r}"
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": address}
        procs.append(subprocess.Popen(
            [bluezoo, "--auto-enable", "--scan-interval", "1",
             *(arg for a in (CENTRAL, HR, PLX, BP, STRAP) for arg in ("-a", a))],
            env=env, stdout=logs[0], stderr=subprocess.STDOUT, text=True))
        periph = subprocess.Popen(
            [sys.executable, str(HERE / "ble_peripheral.py"), f"central={CENTRAL}",
             f"hr={HR}", f"plx={PLX}", f"bp={BP}", f"hr={STRAP}"],
            env=env, stdout=subprocess.PIPE, stderr=logs[1], text=True)
        procs.append(periph)
        ready = _read_line(periph, START_TIMEOUT_S)
        assert ready == "READY", (f"peripherals did not start: "
                                  f"{(log_dir / 'periph.log').read_text()[-2000:]}")
        yield Zoo(address, periph, log_dir)
    finally:
        for proc in reversed(procs):  # by PID, newest first
            _stop(proc)
        for log in logs:
            log.close()


@pytest.fixture
def system_bus(zoo: Zoo, monkeypatch: pytest.MonkeyPatch) -> Zoo:
    """bleak finds "the system bus" (BlueZoo's private one) through this variable."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", zoo.bus_address)
    return zoo


class Collector:
    """A runtime sink that lets the test wait, with a deadline, for what it expects."""

    def __init__(self) -> None:
        self.messages: list[tuple[float, Message]] = []
        self._changed = threading.Condition()

    def __call__(self, msg: Message) -> None:
        with self._changed:
            self.messages.append((time.monotonic(), msg))
            self._changed.notify_all()

    def wait(self, predicate: Callable[[Message], bool], after: int = 0,
             timeout: float = 20.0) -> float:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for stamp, msg in self.messages[after:]:
                    if predicate(msg):
                        return stamp
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out; got {[m for _, m in self.messages][-10:]}")
                self._changed.wait(left)


def _has(key: str) -> Callable[[Message], bool]:
    return lambda m: isinstance(m, Numerics) and key in m.keys()  # noqa: SIM118 - Numerics.keys() is no dict


def test_session_records_hr_spo2_and_bp_from_ble_peripherals(system_bus: Zoo,
                                                             db_path: Path) -> None:
    specs = tuple(parse_spec(system_bus.spec(a)) for a in (HR, PLX, BP))
    seen = Collector()
    with SessionStore(db_path) as store:
        recorder = SessionRecorder(store, RecordingPlan(specs, 60.0), sinks=[seen])
        recorder.start()
        try:
            for key in ("hr", "spo2", "sbp"):
                seen.wait(_has(key))
            seen.wait(lambda m: isinstance(m, DeviceCondition)
                      and m.condition is Condition.LOW_BATTERY and m.active)
        finally:
            recorder.stop()
        sid = recorder.session_id
        samples = {(vital, source): value
                   for _t, _w, vital, value, source in store.iter_samples(sid)}
        assert samples[("hr", "ble")] == 72.0
        assert samples[("spo2", "ble-2")] == 97.0 and samples[("pr", "ble-2")] == 72.0
        assert (samples[("sbp", "ble-3")], samples[("dbp", "ble-3")],
                samples[("map", "ble-3")], samples[("pr", "ble-3")]) == (120.0, 80.0, 93.0, 64.0)
        events = store.device_events(sid)
        assert any(e[2] == "ble" and e[3] == "battery" and e[7] == 15.0 for e in events)
        assert any(e[2] == "ble" and e[3] == "condition" and e[4] == "low_battery"
                   for e in events)
        assert store.devices(sid) == {"ble": specs[0].text, "ble-2": specs[1].text,
                                      "ble-3": specs[2].text}


def test_dropped_link_is_disconnected_within_2_s(system_bus: Zoo, db_path: Path) -> None:
    spec = parse_spec(system_bus.spec(STRAP))
    seen = Collector()
    with SessionStore(db_path) as store:
        recorder = SessionRecorder(store, RecordingPlan((spec,), 60.0), sinks=[seen])
        recorder.start()
        try:
            seen.wait(_has("hr"))
            mark = len(seen.messages)
            dropped = time.monotonic()
            os.kill(system_bus.peripheral.pid, signal.SIGUSR1)  # the strap leaves
            gone = seen.wait(lambda m: isinstance(m, DeviceStatus)
                             and m.state is DeviceState.DISCONNECTED, after=mark)
            assert gone - dropped < 2.0
        finally:
            recorder.stop()
        codes = [e[4] for e in store.device_events(recorder.session_id) if e[3] == "status"]
        assert codes[:3] == ["connecting", "streaming", "disconnected"]


def test_devices_command_lists_the_peripherals(system_bus: Zoo) -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "main.py"), "devices", "--timeout", "2.5", "--adapter",
         "hci0"], env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": system_bus.bus_address},
        capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("Serial ports")
    rows = {line.split("\t")[0].strip(): line for line in lines if "\t" in line}
    assert HR in rows and PLX in rows and BP in rows, out.stdout
    assert rows[HR].endswith("HR, Battery")
    assert rows[PLX].endswith("PLX") and "Vigil Test Oximeter" in rows[PLX]
    assert rows[BP].endswith("BP")


def test_devices_command_without_bluetooth(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "main.py"), "devices", "--timeout", "1"],
        env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"},
        capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Serial ports (")
    assert "Bluetooth: unavailable: the system D-Bus cannot be reached" in out.stdout
