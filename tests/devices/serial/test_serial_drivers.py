"""The serial drivers against fake devices on real pty pairs (and a TCP socket), run by the
real SessionRuntime on its device-io thread. Waits are on messages, with deadlines."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alarms.engine import AlarmEngine
from alarms.model import AlarmKind, Priority
from alarms.presets import PRESETS
from devices.serial.contec_protocol import KEEP_ALIVE, START
from devices.serial.driver import SerialDriver
from devices.spec import create_driver, parse_spec
from monitor.clock import ScaledClock
from monitor.messages import (
    Condition,
    DeviceCondition,
    DeviceState,
    DeviceStatus,
    Message,
    Numerics,
    Waveform,
)
from monitor.runtime import SessionRuntime
from tests.devices.serial.serial_frames import (
    PtyDevice,
    contec_legacy,
    contec_v7,
    masimo_line,
    nonin2_packet,
    nonin8_packet,
)
from tests.helpers.sinks import Collector
from tests.helpers.waiting import until

WAIT_S = 10.0  # deadline for events that normally take well under a second


def has_values(**expected: float) -> Callable[[Message], bool]:
    return lambda m: isinstance(m, Numerics) and all(
        m.get(k) == v for k, v in expected.items())


def condition(cond: Condition, active: bool = True) -> Callable[[Message], bool]:
    return lambda m: (isinstance(m, DeviceCondition) and m.condition is cond
                      and m.active is active)


def status(state: DeviceState) -> Callable[[Message], bool]:
    return lambda m: isinstance(m, DeviceStatus) and m.state is state


class Session:
    def __init__(self, spec: str, **overrides: Any) -> None:
        clock = ScaledClock()
        self.driver = create_driver(parse_spec(spec), "dev", clock)
        assert isinstance(self.driver, SerialDriver)
        for key, value in overrides.items():
            setattr(self.driver, key, value)
        self.sink = Collector()
        self.runtime = SessionRuntime([self.driver], clock, [self.sink], duration_s=120)

    def __enter__(self) -> Session:
        self.runtime.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.runtime.stop()


@pytest.fixture
def pty_devices() -> Iterator[list[PtyDevice]]:
    made: list[PtyDevice] = []
    yield made
    for dev in made:
        dev.unplug()


@pytest.fixture
def new_pty(pty_devices: list[PtyDevice]) -> Callable[[], PtyDevice]:
    def make() -> PtyDevice:
        dev = PtyDevice()
        pty_devices.append(dev)
        return dev
    return make


def _fds_on(*paths: str) -> list[str]:
    """This process's descriptors open on `paths` (counting them all would also count what
    a leftover thread of an earlier test opens or closes meanwhile)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed since the listing
            continue
        if target.removesuffix(" (deleted)") in paths:  # the pty is gone once unplugged
            found.append(f"{fd} -> {target}")
    return found


# -- Masimo -------------------------------------------------------------------------------


def test_masimo_values_no_finger_and_back(new_pty: Callable[[], PtyDevice]) -> None:
    dev = new_pty()
    phase = ["normal"]
    lines = {"normal": masimo_line(98, 72), "no_finger": masimo_line(None, None, exc=0x1),
             "low_perf": masimo_line(95, 130, exc=0x804, model="radical7")}
    dev.play(0.05, lambda k: lines[phase[0]])
    with Session(f"masimo:{dev.path}") as s:
        s.sink.wait_for(has_values(spo2=98.0, pr=72.0))
        phase[0] = "no_finger"
        i, _, msg = s.sink.wait_for(condition(Condition.SENSOR_OFF))
        assert isinstance(msg, DeviceCondition) and msg.detail == "no sensor connected"
        phase[0] = "low_perf"
        j, _, _ = s.sink.wait_for(condition(Condition.SENSOR_OFF, active=False), after=i)
        s.sink.wait_for(has_values(spo2=95.0, pr=130.0), after=j)
        s.sink.wait_for(condition(Condition.LOW_PERFUSION), after=i)
        during = s.sink.since(i)[:j - i]
        assert all(m.values == () for m in during if isinstance(m, Numerics))
        assert any(isinstance(m, Numerics) for m in during)  # reporting, so not stale


def test_masimo_unmarked_zero_is_an_artefact_not_a_device_condition(
        new_pty: Callable[[], PtyDevice]) -> None:
    # SPO2=000% is not the dashes Masimo uses for "no value": the oximeter did not mark it,
    # so by the one validity rule it is an artefact, raised by the alarm engine.
    dev = new_pty()
    dev.play(0.05, lambda k: masimo_line(0, 72))
    with Session(f"masimo:{dev.path}") as s:
        i, _, first = s.sink.wait_for(has_values(spo2=0.0, pr=72.0))
        s.sink.wait_for(has_values(spo2=0.0, pr=72.0), after=i + 1)
        msgs = s.sink.since(0)
    assert not [m for m in msgs if isinstance(m, DeviceCondition)]
    engine = AlarmEngine(PRESETS["iv-ketamine"])
    for m in msgs:
        engine(m)
    engine.tick(first.t_s + 10.5)  # past the artefact rule's 10 s delay
    shown = [(a.key, a.kind, a.priority) for a in engine.snapshot().alarms]
    assert shown == [("spo2-invalid:dev", AlarmKind.TECHNICAL, Priority.LOW)]


def test_no_data_explains_the_device_setup(new_pty: Callable[[], PtyDevice]) -> None:
    dev = new_pty()  # present but silent, as a Rad-8 left in its default ASCII 2 mode
    with Session(f"masimo:{dev.path}", first_data_s=0.3) as s:
        _, _, msg = s.sink.wait_for(status(DeviceState.DISCONNECTED))
        assert isinstance(msg, DeviceStatus) and "ASCII 1" in msg.detail


def test_absent_port_is_disconnected() -> None:
    with Session("masimo:/dev/vigil-no-such-port@9600") as s:
        _, _, msg = s.sink.wait_for(status(DeviceState.DISCONNECTED))
        assert isinstance(msg, DeviceStatus) and "no device at" in msg.detail


def test_unplug_is_disconnected_within_2s_and_reconnects(
        new_pty: Callable[[], PtyDevice], tmp_path: Path) -> None:
    """The port disappears (a USB adapter pulled), then a device returns at the same path."""
    first = new_pty()
    first.play(0.05, lambda k: masimo_line(97, 70))
    port = tmp_path / "ttyVIGIL0"  # a stable name, as udev gives: re-pointed on return
    port.symlink_to(first.path)
    with Session(f"masimo:{port}") as s:
        s.sink.wait_for(has_values(spo2=97.0))
        unplugged = time.monotonic()
        first.unplug()
        i, t, msg = s.sink.wait_for(status(DeviceState.DISCONNECTED))
        assert t - unplugged < 2.0, msg
        second = new_pty()
        second.play(0.05, lambda k: masimo_line(91, 66))
        tmp = tmp_path / "new-link"
        tmp.symlink_to(second.path)
        tmp.replace(port)
        j, _, _ = s.sink.wait_for(status(DeviceState.STREAMING), after=i)
        s.sink.wait_for(has_values(spo2=91.0, pr=66.0), after=j)
        replaced = time.monotonic()
        second.unplug()  # the replacement goes too: still detected
        _, t2, _ = s.sink.wait_for(status(DeviceState.DISCONNECTED), after=j)
        assert t2 - replaced < 2.0
    assert not [t for t in threading.enumerate() if t.name == "serial-open"]
    # both fake devices are closed; the driver must have closed its ends too
    assert not _fds_on(first.path, second.path), "the driver left a file descriptor open"


def test_path_repointed_to_another_device_is_a_disconnection(
        new_pty: Callable[[], PtyDevice], tmp_path: Path) -> None:
    a, b = new_pty(), new_pty()
    a.play(0.05, lambda k: masimo_line(97, 70))
    b.play(0.05, lambda k: masimo_line(92, 61))
    port = tmp_path / "ttyVIGIL1"
    port.symlink_to(a.path)
    with Session(f"masimo:{port}") as s:
        s.sink.wait_for(has_values(spo2=97.0))
        tmp = tmp_path / "new-link"
        tmp.symlink_to(b.path)
        moved = time.monotonic()
        tmp.replace(port)
        i, t, _ = s.sink.wait_for(status(DeviceState.DISCONNECTED))
        assert t - moved < 2.0
        s.sink.wait_for(has_values(spo2=92.0), after=i)


def test_silent_device_goes_stale_then_disconnected(new_pty: Callable[[], PtyDevice]) -> None:
    dev = new_pty()
    dev.play(0.05, lambda k: masimo_line(97, 70) if k < 5 else None)  # then silence
    with Session(f"masimo:{dev.path}", stale_after_s=0.5, silence_s=1.5) as s:
        i, _, _ = s.sink.wait_for(status(DeviceState.STALE))
        _, _, msg = s.sink.wait_for(status(DeviceState.DISCONNECTED), after=i)
        assert isinstance(msg, DeviceStatus) and "no data" in msg.detail


def test_masimo_over_a_pyserial_socket_url() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    done = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while not done.wait(0.05):
                conn.sendall(masimo_line(96, 88))
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with Session(f"masimo:socket://127.0.0.1:{port}") as s:
            s.sink.wait_for(has_values(spo2=96.0, pr=88.0))
            closed = time.monotonic()
            done.set()
            thread.join(5)
            _, t, _ = s.sink.wait_for(status(DeviceState.DISCONNECTED))
            assert t - closed < 2.0
    finally:
        done.set()
        server.close()


# -- Nonin --------------------------------------------------------------------------------


def test_nonin2_values_pleth_and_sensor_alarm(new_pty: Callable[[], PtyDevice]) -> None:
    dev = new_pty()
    phase = ["normal"]
    packets = {"normal": nonin2_packet(72, 97),
               # finger removed: SNSA set while the device still holds its last values
               "removed": nonin2_packet(72, 97, status=0x88)}
    dev.play(0.05, lambda k: packets[phase[0]])
    with Session(f"nonin:{dev.path}") as s:
        s.sink.wait_for(has_values(spo2=97.0, pr=72.0))
        _, _, wave = s.sink.wait_for(lambda m: isinstance(m, Waveform))
        assert isinstance(wave, Waveform) and wave.rate_hz == 75.0 and len(wave.values) == 25
        phase[0] = "removed"
        i, _, _ = s.sink.wait_for(condition(Condition.SENSOR_OFF))
        s.sink.wait_for(lambda m: isinstance(m, Numerics), after=i + 1)
        later = s.sink.since(i)
        assert all(m.values == () for m in later if isinstance(m, Numerics))
        assert not any(isinstance(m, Waveform) for m in later[1:])


def test_nonin8_at_another_baud(new_pty: Callable[[], PtyDevice]) -> None:
    dev = new_pty()
    dev.play(0.05, lambda k: nonin8_packet(150, 95))
    with Session(f"nonin:{dev.path}@19200") as s:
        s.sink.wait_for(has_values(spo2=95.0, pr=150.0))
        assert s.driver.link is not None and s.driver.link.baudrate == 19200


# -- Contec -------------------------------------------------------------------------------


def test_contec_v7_start_keep_alive_values_and_finger_out(
        new_pty: Callable[[], PtyDevice]) -> None:
    dev = new_pty()
    phase = ["normal"]

    def produce(k: int) -> bytes:
        if START not in dev.read_commands():
            return b""  # a V7 device sends nothing until told to start
        if phase[0] == "normal":
            return contec_v7(pr=135, spo2=94, pleth=k % 100) * 3
        return contec_v7(pr=0, spo2=0, pleth=0x40, flags2=0x80) * 3
    dev.play(0.05, produce)
    with Session(f"contec:{dev.path}", keep_alive_s=0.2) as s:
        s.sink.wait_for(has_values(spo2=94.0, pr=135.0))
        _, _, wave = s.sink.wait_for(lambda m: isinstance(m, Waveform))
        assert isinstance(wave, Waveform) and wave.rate_hz == 60.0
        phase[0] = "finger_out"
        i, _, _ = s.sink.wait_for(condition(Condition.NO_FINGER))
        s.sink.wait_for(lambda m: isinstance(m, Numerics), after=i + 1)
        assert all(m.values == () for m in s.sink.since(i) if isinstance(m, Numerics))
        until(lambda: dev.read_commands().count(KEEP_ALIVE) >= 2, "no keep-alive sent", WAIT_S)
        sent = dev.read_commands()
        assert sent.startswith(START)
        assert len(sent) == 9 * (1 + sent.count(KEEP_ALIVE))  # nothing else is sent


def test_contec_legacy_detected_and_no_keep_alive(new_pty: Callable[[], PtyDevice]) -> None:
    dev = new_pty()
    dev.play(0.02, lambda k: contec_legacy(pr=200, spo2=97, pleth=k % 100) * 2)
    with Session(f"contec:{dev.path}@19200", keep_alive_s=0.05) as s:
        s.sink.wait_for(has_values(spo2=97.0, pr=200.0))
        n = len(s.sink.items)
        s.sink.wait_for(lambda m: isinstance(m, Numerics), after=n)  # a second later
        assert dev.read_commands() == b""  # the old protocol needs no START or keep-alive


def test_contec_spec_rejects_other_baud_rates() -> None:
    from devices.base import SpecError
    with pytest.raises(SpecError, match="115200"):
        parse_spec("contec:/dev/ttyUSB0@9600")
