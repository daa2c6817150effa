"""The Contec start/keep-alive timing, without a port or a clock (the driver's pty tests
prove the bytes reach a device)."""

from __future__ import annotations

from devices.serial.contec_protocol import KEEP_ALIVE, START
from devices.serial.contec_session import ContecSession


def test_v7_is_started_then_kept_alive_every_period() -> None:
    s = ContecSession(keep_alive_s=5.0)
    assert s.start(100.0, v7=True) == START
    assert s.next_due(100.0) == 105.0
    assert s.poll(104.99, v7=True) == b""
    assert s.poll(105.0, v7=True) == KEEP_ALIVE
    assert s.poll(105.1, v7=True) == b""  # once per period, however often the driver reads
    assert s.next_due(106.0) == 110.0
    assert s.poll(112.5, v7=True) == KEEP_ALIVE  # late reads: counted from when it was sent
    assert s.next_due(112.5) == 117.5


def test_the_older_protocol_is_sent_nothing() -> None:
    s = ContecSession(keep_alive_s=5.0)
    assert s.start(0.0, v7=False) == b""
    assert [s.poll(t, v7=False) for t in (5.0, 10.0, 15.0)] == [b"", b"", b""]
    assert s.next_due(15.0) == 20.0


def test_a_reopened_port_starts_again() -> None:
    s = ContecSession(keep_alive_s=5.0)
    s.start(0.0, v7=True)
    assert s.start(3.0, v7=True) == START  # e.g. after the device went silent
    assert s.poll(7.0, v7=True) == b""
    assert s.poll(8.0, v7=True) == KEEP_ALIVE


def test_next_due_is_never_in_the_past() -> None:
    s = ContecSession(keep_alive_s=5.0)
    s.start(0.0, v7=True)
    assert s.next_due(9.0) == 9.0  # overdue: the driver reads without waiting
