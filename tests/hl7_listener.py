"""A real MLLP listener on loopback for the HL7 tests: an asyncio server (the `hl7`
package's MLLP streams) on a thread of its own, recording every message it gets in order
and answering AA, AE, AR, garbage, or nothing at all."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from hl7.mllp import start_hl7_server
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from monitor.hl7.messages import ack, control_id_of


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def validated(text: str) -> object:
    """The message parsed by hl7apy against the v2.6 structures; fails if it is not valid."""
    msg = parse_message(text.replace("\n", "\r"), validation_level=VALIDATION_LEVEL.STRICT,
                        find_groups=True)
    assert msg.validate() is True
    return msg


class Listener:
    def __init__(self, port: int | None = None, answer: str | None = "AA") -> None:
        self.port = port or free_port()
        self.answer = answer  # None: never answers; "garbage": a block that is no HL7
        self.received: list[str] = []
        self.delay_s = 0.0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="mllp-listener",
                                        daemon=True)
        self._thread.start()
        self._lock = threading.Lock()
        self._writers: set[object] = set()

    def _run(self, coro: object) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)  # type: ignore[arg-type]

    async def _client(self, reader: object, writer: object) -> None:
        self._writers.add(writer)
        try:
            while True:
                block = await reader.readblock()  # type: ignore[attr-defined]
                text = block.decode("ascii")
                with self._lock:
                    self.received.append(text)
                if self.delay_s:  # a slow receiver: the ACK comes this much later
                    await asyncio.sleep(self.delay_s)
                if self.answer == "garbage":  # framed, but no HL7 at all
                    writer.writeblock(b"<html>502 Bad Gateway</html>")  # type: ignore[attr-defined]
                    await writer.drain()  # type: ignore[attr-defined]
                elif self.answer is not None:
                    writer.writeblock(ack(text, self.answer, "test").encode())  # type: ignore[attr-defined]
                    await writer.drain()  # type: ignore[attr-defined]
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()  # type: ignore[attr-defined]

    def start(self) -> Listener:
        async def start() -> asyncio.Server:
            return await start_hl7_server(self._client, "127.0.0.1", self.port)
        self._server = self._run(start())  # type: ignore[assignment]
        return self

    def stop(self) -> None:
        """Stops listening and drops every connection (a receiver going down)."""
        server, self._server = self._server, None
        if server is not None:
            async def stop() -> None:
                server.close()
                for w in list(self._writers):  # Python 3.11 has no close_clients()
                    w.transport.abort()  # type: ignore[attr-defined]
                await server.wait_closed()
            self._run(stop())

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def messages(self) -> list[str]:
        with self._lock:
            return list(self.received)

    def ids(self) -> list[str]:
        return [control_id_of(m) for m in self.messages()]

    def wait_for(self, done: Callable[[list[str]], bool], timeout: float = 20.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.messages()
            if done(got):
                return got
            time.sleep(0.02)
        raise AssertionError(f"listener: condition not met in {timeout} s; got {len(got)} "
                             "messages")


def in_order_once(ids: list[str]) -> list[str]:
    """The distinct ids in order of arrival; fails if an id came back after a later one
    (a resend is only ever the message just tried again)."""
    distinct: list[str] = []
    for cid in ids:
        if distinct and cid == distinct[-1]:
            continue  # the same message resent (no ACK reached Vigil): harmless by MSH-10
        assert cid not in distinct, f"{cid} arrived again after later messages: {ids}"
        distinct.append(cid)
    return distinct


def outbox(db: Path, state: str | None = None) -> list[str]:
    """Control ids in the outbox in delivery order (read-only, beside the recording)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute("SELECT control_id FROM hl7_outbox WHERE channel = 'pcd01'"
                            + ("" if state is None else " AND state = ?") + " ORDER BY id",
                            () if state is None else (state,)).fetchall()
    except sqlite3.OperationalError:  # not migrated yet
        return []
    finally:
        conn.close()
    return [r[0] for r in rows]

