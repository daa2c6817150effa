"""The transport's paths not covered by the pty tests: ports without a file descriptor
(polled), URLs opened in a short-lived thread, and a cancelled open."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from devices.base import DeviceError
from devices.serial.transport import SerialLink


def test_loop_url_is_polled_and_echoes() -> None:
    async def run() -> bytes:
        link = SerialLink("loop://", "dev", baudrate=9600)
        await link.open()
        try:
            link.write(b"\x7d\x81\xa1")
            got = b""
            for _ in range(20):  # 20 reads of up to 0.25 s, returning as soon as data is in
                got += await link.read(0.25)
                if len(got) >= 3:
                    break
            return got
        finally:
            await link.close()
    assert asyncio.run(run()) == b"\x7d\x81\xa1"
    assert not [t for t in threading.enumerate() if t.name == "serial-open"]


def test_refused_url_is_a_device_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    # the port is closed again: nothing listens there

    async def run() -> None:
        await SerialLink(f"socket://127.0.0.1:{port}", "dev", baudrate=9600).open()
    with pytest.raises(DeviceError, match=f"127.0.0.1:{port}"):
        asyncio.run(run())


def test_cancelled_url_open_leaves_no_thread_or_port() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    gate = threading.Event()
    real_make = SerialLink._make

    def slow_make(self: SerialLink):  # type: ignore[no-untyped-def]
        gate.wait(5)  # an open that takes a while, e.g. a slow network
        return real_make(self)

    async def run() -> None:
        link = SerialLink(f"socket://127.0.0.1:{port}", "dev", baudrate=9600)
        link._make = slow_make.__get__(link)  # type: ignore[method-assign]
        task = asyncio.create_task(link.open())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    try:
        asyncio.run(run())
        gate.set()
        opener = [t for t in threading.enumerate() if t.name == "serial-open"]
        for t in opener:
            t.join(5)
        assert not any(t.is_alive() for t in opener)
        server.settimeout(5)
        conn, _ = server.accept()  # the late open connected, then closed its port
        with conn:
            conn.settimeout(5)
            assert conn.recv(1) == b""
    finally:
        server.close()
