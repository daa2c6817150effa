"""The MLLP client against receivers that misbehave, each a real socket server on loopback:
one that accepts the connection but never reads, one that answers only with ACKs of other
messages, one that sends garbage or an ACK with an unknown code, one whose ACK segments end
with CRLF. Each either gives an answer or a DeliveryError within the ACK time-out (so the
feed retries the same message and, after 5 minutes, says "EHR feed down"): none can hold
the feed, and nothing that is not an ACK is taken as one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from monitor.hl7.messages import Observation, Party, ack, oru_r01, parse_ack
from monitor.hl7.mllp import DeliveryError, MllpAddress, MllpClient

T0 = 1_795_000_000.0
MESSAGE = oru_r01(Party("P-1", "0123456789ABCDEF"), "S-1", T0,
                  [Observation("hr", 61, T0, "sim")])
ACK_TIMEOUT_S = 0.5

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def frame(text: str) -> bytes:
    return b"\x0b" + text.encode("ascii") + b"\x1c\r"


async def against(handler: Handler, message: str = MESSAGE) -> tuple[object, float]:
    """Sends `message` once to a server running `handler`; (the ACK or the error, seconds)."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except ConnectionError:
            pass
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = MllpClient(MllpAddress("127.0.0.1", port), ack_timeout_s=ACK_TIMEOUT_S)
    t = time.monotonic()
    try:
        # The test's own bound, far above the client's: a client that hangs fails here.
        result: object = await asyncio.wait_for(client.send(message), 10 * ACK_TIMEOUT_S)
    except DeliveryError as e:
        result = e
    finally:
        elapsed = time.monotonic() - t
        await asyncio.wait_for(client.close(), 5)
        server.close()
        await server.wait_closed()
    return result, elapsed


def test_a_receiver_that_accepts_but_never_reads_is_given_up_on_in_time() -> None:
    hold = asyncio.Event()

    async def never_reads(reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                          ) -> None:
        await hold.wait()

    # Larger than both sockets' buffers: the write itself cannot complete.
    big = MESSAGE.replace("|sim^", "|" + "s" * 16_000_000 + "^", 1)

    async def run() -> tuple[object, float]:
        try:
            return await against(never_reads, big)
        finally:
            hold.set()

    result, elapsed = asyncio.run(run())
    assert isinstance(result, DeliveryError) and "no ACK in time" in str(result)
    assert elapsed < 3 * ACK_TIMEOUT_S


def test_acks_of_other_messages_do_not_hold_the_feed() -> None:
    other = MESSAGE.replace("|S-1|", "|S-0|")

    async def wrong_ids(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\x1c\r")
        for _ in range(40):  # one every 0.1 s, for 8 ACK time-outs
            writer.write(frame(ack(other)))
            await writer.drain()
            await asyncio.sleep(ACK_TIMEOUT_S / 5)

    result, elapsed = asyncio.run(against(wrong_ids))
    assert isinstance(result, DeliveryError) and "no ACK in time" in str(result)
    assert elapsed < 3 * ACK_TIMEOUT_S


@pytest.mark.parametrize("answer", [b"garbage\x1c\r", b"\x0bnot hl7 at all\x1c\r",
                                    frame("MSH|^~\\&|E\rMSA|ZZ|S-1\r"),
                                    frame("MSH|^~\\&|E\rMSA||S-1\r")])
def test_garbage_or_an_unknown_code_is_not_an_answer(answer: bytes) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\x1c\r")
        writer.write(answer)
        await writer.drain()
        await reader.read()  # until the client drops the connection

    result, elapsed = asyncio.run(against(garbage))
    assert isinstance(result, DeliveryError)  # retried, never marked answered
    assert elapsed < 3 * ACK_TIMEOUT_S


@pytest.mark.parametrize("code", ["AA", "AE"])
def test_an_ack_with_crlf_segments_is_read(code: str) -> None:
    async def crlf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\x1c\r")
        writer.write(frame(ack(MESSAGE, code, "seen").replace("\r", "\r\n")))
        await writer.drain()
        await reader.read()

    result, _ = asyncio.run(against(crlf))
    assert result == parse_ack(ack(MESSAGE, code, "seen"))
    assert getattr(result, "code", None) == code and getattr(result, "control_id",
                                                              None) == "S-1"


def test_a_connection_broken_mid_message_is_a_delivery_error() -> None:
    async def breaks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(100)  # part of the message, then the connection drops

    result, elapsed = asyncio.run(against(breaks))
    assert isinstance(result, DeliveryError) and "no ACK in time" not in str(result)
    assert elapsed < ACK_TIMEOUT_S  # seen at once, not by the time-out
