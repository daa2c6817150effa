"""An MLLP client on the device-io loop: one message at a time, each waiting for its ACK.

Framing and the stream are the `hl7` package's (`hl7.mllp`); this adds the address, the
timeouts and what a failure means: any error closes the connection, and the caller resends
the same message (same MSH-10) later.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hl7.mllp import InvalidBlockError, open_hl7_connection

from monitor.hl7.messages import Ack, AckError, control_id_of, parse_ack


@dataclass(frozen=True, slots=True)
class MllpAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"mllp://{self.host}:{self.port}"


def parse_mllp_url(text: str) -> MllpAddress:
    """`mllp://HOST:PORT`; ValueError saying what is wrong otherwise."""
    try:
        url = urlsplit(text)
        port = url.port
    except ValueError as e:
        raise ValueError(f"{text!r}: {e}; expected mllp://HOST:PORT") from None
    if url.scheme != "mllp" or not url.hostname or port is None or url.path not in ("", "/"):
        raise ValueError(f"{text!r} is not an MLLP address; expected mllp://HOST:PORT "
                         "(e.g. mllp://interface-engine.clinic.local:2575)")
    return MllpAddress(url.hostname, port)


CLOSE_TIMEOUT_S = 1.0


class DeliveryError(Exception):
    """No usable answer: the receiver is down, the connection broke, or no ACK in time."""


class MllpClient:
    def __init__(self, address: MllpAddress, ack_timeout_s: float = 10.0,
                 connect_timeout_s: float = 5.0) -> None:
        self.address = address
        self.ack_timeout_s = ack_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._reader: Any = None  # hl7.mllp.HL7StreamReader (the package is untyped)
        self._writer: Any = None

    async def send(self, message: str) -> Ack:
        """Sends `message` and returns its ACK; DeliveryError if none came.

        One deadline covers writing the message and reading its ACK: a receiver that
        accepts the connection but never reads, or answers only with ACKs of other
        messages, is given up on in `ack_timeout_s` like one that never answers."""
        expected = control_id_of(message)
        try:
            if self._writer is None:
                self._reader, self._writer = await asyncio.wait_for(
                    open_hl7_connection(self.address.host, self.address.port),
                    self.connect_timeout_s)
            async with asyncio.timeout(self.ack_timeout_s):
                self._writer.writeblock(message.encode("ascii"))
                await self._writer.drain()
                while True:
                    block = await self._reader.readblock()
                    ack = parse_ack(block.decode("ascii", "replace"))
                    if ack.control_id == expected:  # a late ACK of an earlier try is skipped
                        return ack
        except (OSError, TimeoutError, EOFError, asyncio.IncompleteReadError, AckError,
                InvalidBlockError, ValueError) as e:
            self._abort()
            what = "no ACK in time" if isinstance(e, TimeoutError) else str(e) or type(
                e).__name__
            raise DeliveryError(f"{self.address}: {what}") from e

    def _abort(self) -> None:
        """Drops the connection at once: what is unsent is resent on the next one, and a
        receiver that stopped reading cannot hold the close up."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.transport.abort()

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:  # a receiver that stopped reading cannot hold the close up either
                await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT_S)
            except (OSError, TimeoutError):
                writer.transport.abort()
