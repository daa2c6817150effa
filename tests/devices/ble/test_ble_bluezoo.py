"""End to end over D-Bus: unmodified bleak (BlueZ backend) against BlueZoo, a mock BlueZ,
on a private dbus-daemon, with Heart Rate, Pulse Oximeter and Blood Pressure peripherals
served by bluez-peripheral (ble_peripheral.py). No radio, no root, no system bus.

Faults, through the real `main.py record`: a strap that leaves and comes back (twice), a
cuff's connect-send-hang-up cycles, a cuff that must be paired. BlueZoo 1.0.2 cannot
export a device's GATT objects twice, so a device that comes back registers its GATT
database anew and the central forgets it when it goes (see ble_peripheral.py); bleak and
Vigil's driver are used as they are.

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
    Battery,
    DeviceState,
    DeviceStatus,
    Message,
    Numerics,
)
from monitor.recorder import RecordingPlan, SessionRecorder
from monitor.store import SessionStore
from tests.helpers.paths import REPO
from tests.helpers.processes import OutputLines, end_process
from tests.helpers.sinks import Collector
from tests.store_probe import wait_count

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
CENTRAL = "00:00:00:00:00:01"
HR, PLX, BP, STRAP = ("00:00:00:00:00:02", "00:00:00:00:00:03", "00:00:00:00:00:04",
                      "00:00:00:00:00:05")
# Each used by one test only: a fresh device for each fault.
ROAMER, OMRON, BONDED = "00:00:00:00:00:06", "00:00:00:00:00:07", "00:00:00:00:00:08"
START_TIMEOUT_S = 20.0
WAIT_S = 30.0


@dataclass
class Zoo:
    bus_address: str
    peripheral: subprocess.Popen[str]
    log_dir: Path
    output: OutputLines | None = None

    def spec(self, address: str) -> str:
        return f"ble:{address}?adapter=hci0"  # BlueZoo's adapter 0 is the central

    def command(self, text: str) -> None:
        """Tells the peripherals what to do (see ble_peripheral.py: leave, measure)."""
        assert self.peripheral.stdin is not None
        self.peripheral.stdin.write(text + "\n")
        self.peripheral.stdin.flush()


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
             *(arg for a in (CENTRAL, HR, PLX, BP, STRAP, ROAMER, OMRON, BONDED)
              for arg in ("-a", a))],
            env=env, stdout=logs[0], stderr=subprocess.STDOUT, text=True))
        periph = subprocess.Popen(
            [sys.executable, str(HERE / "ble_peripheral.py"), f"central={CENTRAL}",
             f"hr={HR}", f"plx={PLX}", f"bp={BP}", f"hr={STRAP}", f"strap={ROAMER}",
             f"cuff={OMRON}", f"bonded={BONDED}"],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=logs[1], text=True)
        procs.append(periph)
        ready = _read_line(periph, START_TIMEOUT_S)
        assert ready == "READY", (f"peripherals did not start: "
                                  f"{(log_dir / 'periph.log').read_text()[-2000:]}")
        yield Zoo(address, periph, log_dir, OutputLines(periph.stdout, WAIT_S))
    finally:
        for proc in reversed(procs):  # by PID, newest first
            end_process(proc, timeout=5)
        for log in logs:
            log.close()


@pytest.fixture
def system_bus(zoo: Zoo, monkeypatch: pytest.MonkeyPatch) -> Zoo:
    """bleak finds "the system bus" (BlueZoo's private one) through this variable."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", zoo.bus_address)
    return zoo


def _has(key: str) -> Callable[[Message], bool]:
    return lambda m: isinstance(m, Numerics) and key in m.keys()  # noqa: SIM118 - Numerics.keys() is no dict


def test_session_records_hr_spo2_and_bp_from_ble_peripherals(system_bus: Zoo,
                                                             db_path: Path) -> None:
    specs = tuple(parse_spec(system_bus.spec(a)) for a in (HR, PLX, BP))
    seen = Collector(timeout=20.0)
    with SessionStore(db_path) as store:
        recorder = SessionRecorder(store, RecordingPlan(specs, 60.0), sinks=[seen])
        recorder.start()
        try:
            for key in ("hr", "spo2", "sbp"):
                seen.wait_for(_has(key))
            seen.wait_for(lambda m: isinstance(m, Battery) and m.percent == 15.0)
        finally:
            recorder.stop()
        sid = recorder.session_id
        samples = {(vital, source): value
                   for _t, _w, vital, value, source, _f in store.iter_samples(sid)}
        assert samples[("hr", "ble")] == 72.0
        assert samples[("spo2", "ble-2")] == 97.0 and samples[("pr", "ble-2")] == 72.0
        assert (samples[("sbp", "ble-3")], samples[("dbp", "ble-3")],
                samples[("map", "ble-3")], samples[("pr", "ble-3")]) == (120.0, 80.0, 93.0, 64.0)
        events = store.device_events(sid)
        assert any(e[2] == "ble" and e[3] == "battery" and e[7] == 15.0 for e in events)
        # The level alone: the engine's battery-low rule judges it (one alarm, not two).
        assert not any(e[3] == "condition" and e[4] == "low_battery" for e in events)
        assert store.devices(sid) == {"ble": specs[0].text, "ble-2": specs[1].text,
                                      "ble-3": specs[2].text}


def test_dropped_link_is_disconnected_within_2_s(system_bus: Zoo, db_path: Path) -> None:
    spec = parse_spec(system_bus.spec(STRAP))
    seen = Collector(timeout=20.0)
    with SessionStore(db_path) as store:
        recorder = SessionRecorder(store, RecordingPlan((spec,), 60.0), sinks=[seen])
        recorder.start()
        try:
            seen.wait_for(_has("hr"))
            mark = len(seen.items)
            dropped = time.monotonic()
            os.kill(system_bus.peripheral.pid, signal.SIGUSR1)  # the strap leaves
            _, gone, _ = seen.wait_for(lambda m: isinstance(m, DeviceStatus)
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


# -- faults, end to end through `main.py record` -------------------------------------------


def _record(zoo: Zoo, db: Path, address: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "record", "--device", zoo.spec(address),
         "--duration", "300", "--db", str(db)],
        env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": zoo.bus_address}, cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _end(proc: subprocess.Popen[str]) -> str:
    """Ctrl+C (the session ends as completed); returns stderr."""
    _, err = end_process(proc, signal.SIGINT, WAIT_S)
    assert proc.returncode == 0, err
    return err


def _statuses(store: SessionStore, sid: int) -> list[tuple[float, str, str]]:
    """(t_wall, state, detail) of every device status, in order."""
    return [(e[1], e[4], e[8]) for e in store.device_events(sid) if e[3] == "status"]


LINK_LOST = "SELECT COUNT(*) FROM device_events WHERE code = 'disconnected' AND detail LIKE " \
            "'%link lost%'"
STREAMING = "SELECT COUNT(*) FROM device_events WHERE code = 'streaming'"


def test_strap_that_walks_away_and_comes_back_is_reconnected_each_time(
        zoo: Zoo, tmp_path: Path) -> None:
    """Twice out of range and back: each loss shows within 2 s, each return reconnects
    (unmodified bleak, through BlueZoo) and heart rates flow again."""
    db = tmp_path / "vigil.sqlite3"
    assert zoo.output is not None
    proc = _record(zoo, db, ROAMER)
    left: list[float] = []
    try:
        for n in (1, 2, 3):
            wait_count(db, STREAMING, proc, f"streaming #{n}", need=n, timeout=WAIT_S)
            wait_count(db, "SELECT COUNT(*) FROM samples WHERE vital = 'hr' AND t_wall > "
                           "(SELECT MAX(t_wall) FROM device_events WHERE code = 'streaming')",
                       proc, f"heart rates on connection #{n}", need=3, timeout=WAIT_S)
            if n == 3:
                break
            left.append(time.time())
            zoo.command(f"leave {ROAMER} 2")
            wait_count(db, LINK_LOST, proc, f"loss #{n}", need=n, timeout=WAIT_S)
            zoo.output.wait_for(f"BACK {ROAMER}")
    finally:
        _end(proc)
    with SessionStore(db, read_only=True) as store:
        [session] = store.list_sessions()
        statuses = _statuses(store, session.id)
    lost = [wall for wall, state, detail in statuses
            if state == "disconnected" and "link lost" in detail]
    assert len(lost) == 2 and all(0 <= g - t < 2.0 for g, t in zip(lost, left, strict=True))
    assert [state for _, state, _ in statuses].count("streaming") == 3


def test_cuff_connect_send_disconnect_cycles_record_each_reading_once(
        zoo: Zoo, tmp_path: Path) -> None:
    """A cuff that connects after each of three measurements, hands over every reading it
    holds (the older ones again) and hangs up: each reading is recorded once."""
    db = tmp_path / "vigil.sqlite3"
    assert zoo.output is not None
    proc = _record(zoo, db, OMRON)
    try:
        wait_count(db, "SELECT COUNT(*) FROM device_events WHERE code = 'connecting'", proc,
                   "Vigil looking for the cuff", timeout=WAIT_S)
        zoo.command(f"measure {OMRON} 3")
        zoo.output.wait_for(f"DONE {OMRON} 3", timeout=60)
        wait_count(db, LINK_LOST, proc, "three hang-ups", need=3, timeout=WAIT_S)
    finally:
        _end(proc)
    sent = [tuple(float(v) for v in line.split()[2:]) for line in zoo.output.lines
            if line.startswith(f"SENT {OMRON} ")]
    assert len(sent) == 6  # 1, then 1 and 2, then 1, 2 and 3
    with SessionStore(db, read_only=True) as store:
        [session] = store.list_sessions()
        readings: dict[float, dict[str, float]] = {}
        for t, _w, vital, value, _src, _f in store.iter_samples(session.id):
            assert vital not in readings.setdefault(t, {}), f"{vital} twice at {t}"
            readings[t][vital] = value
        statuses = [state for _, state, _ in _statuses(store, session.id)]
    recorded = [(r["sbp"], r["dbp"], r["map"], r["pr"]) for _, r in sorted(readings.items())]
    assert recorded == list(dict.fromkeys(sent))  # each reading once, in the order taken
    assert statuses.count("streaming") == 3  # one connection per measurement


def test_cuff_that_must_be_paired_says_so_and_retries_with_back_off(
        zoo: Zoo, tmp_path: Path) -> None:
    db = tmp_path / "vigil.sqlite3"
    proc = _record(zoo, db, BONDED)
    try:
        wait_count(db, "SELECT COUNT(*) FROM device_events WHERE code = 'disconnected' AND "
                       "detail LIKE '%must be paired%'", proc, "three attempts", need=3,
                   timeout=WAIT_S)
    finally:
        err = _end(proc)
    with SessionStore(db, read_only=True) as store:
        [session] = store.list_sessions()
        statuses = _statuses(store, session.id)
        events = store.device_events(session.id)
        alarms = {e.alarm.message for e in store.alarm_events(session.id) if e.alarm}
        samples = list(store.iter_samples(session.id))
    states = [state for _, state, _ in statuses]
    failed = [detail for _, state, detail in statuses if state == "disconnected"]
    assert states[:6] == ["connecting", "disconnected"] * 3  # never "streaming"
    assert all("must be paired" in d and "'P'" in d for d in failed[:3]), failed
    [pairing] = [e for e in events if e[3] == "condition" and e[4] == "pairing_required"]
    assert pairing[5] == 1 and "must be paired" in pairing[8]  # shown once, and it stays
    assert any("pairing required" in m for m in alarms), alarms
    assert "must be paired" in err  # the log says so too
    # Back-off, not a retry every second: the pause after each failure grows (1 s, 2 s).
    pauses = [statuses[i + 1][0] - statuses[i][0] for i in (1, 3)]
    assert pauses[1] > pauses[0] + 0.5, pauses
    assert samples == []
