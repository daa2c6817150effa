"""`export --format hl7`: a session's PCD-01 messages as an HL7 batch file.

FHS, BHS, the messages, BTS with the message count, FTS; segments end with CR, as over
MLLP. A session fed live (`--hl7`) gets the messages exactly as queued (same MSH-10, so a
receiver that also got them over MLLP drops the duplicates). A session recorded without the
feed, or a de-identified export, gets them rebuilt from the store by the same builder the
feed uses, every `period_s` of session time: the messages the feed would have sent. Rebuilt
messages have ids `<session>-B<n>`; de-identified ones carry the pseudonym (PID-3 and the
ids) and the dates shifted as in the other de-identified exports.
"""

from __future__ import annotations

import dataclasses
import heapq
import time
from collections.abc import Iterator
from typing import IO

from monitor.atomic import ExportError
from monitor.hl7 import DEFAULT_PERIOD_S
from monitor.hl7.builder import Builder, MessageList
from monitor.hl7.messages import SEGMENT_END, Party, dtm, host_eui64
from monitor.hl7.outbox import Channel, session_messages
from monitor.messages import Condition, DeviceCondition, DeviceState, DeviceStatus, Message
from monitor.reports.deidentify import pseudonym, wall_shift_s
from monitor.resume import history
from monitor.store import SessionStore


def _device_messages(store: SessionStore, session_id: int) -> Iterator[Message]:
    """The stored device statuses and conditions (staleness and conditions need them)."""
    for t_s, t_wall, source, kind, code, active, vital, _, detail in store.device_events(
            session_id):
        if kind == "status" and code in DeviceState.__members__.values():
            yield DeviceStatus(source, t_wall, t_s, DeviceState(code), detail)
        elif kind == "condition" and code in Condition.__members__.values():
            yield DeviceCondition(source, t_wall, t_s, Condition(code), bool(active), vital,
                                  detail)


def rebuild(store: SessionStore, session_id: int, period_s: float = DEFAULT_PERIOD_S,
            deidentify: bool = False) -> list[str]:
    """The session's PCD-01 messages, built from the store as the live feed builds them."""
    session = store.load_session(session_id)
    shift = wall_shift_s(session.uuid) if deidentify else 0.0
    who = pseudonym(session.uuid) if deidentify or not session.patient.identifier \
        else session.patient.identifier
    prefix = who if deidentify else session.uuid.replace("-", "")[:12].upper()
    queue = MessageList(f"{prefix}-B")
    wall0 = session.start_wall + shift
    builder = Builder(queue, Party(who, host_eui64()), (Channel.PCD01,),
                      lambda t: wall0 + t, wall0)
    stream = heapq.merge(history(store, session_id), _device_messages(store, session_id),
                         key=lambda m: m.t_s)
    # As live: a tick comes before the data of its instant, and none at the session's end.
    end = (session.end_wall - session.start_wall if session.end_wall is not None
           else float("inf"))
    k, last = 1, 0.0
    for msg in stream:
        while k * period_s <= msg.t_s and k * period_s < end:
            builder.tick(k * period_s)
            k += 1
        builder(dataclasses.replace(msg, t_wall=msg.t_wall + shift))
        last = msg.t_s
    while k * period_s < min(end, last + period_s):
        builder.tick(k * period_s)
        k += 1
    return queue.messages


def write_batch(store: SessionStore, session_id: int, out: IO[str], *,
                deidentify: bool = False) -> int:
    """Writes the batch file; returns the number of messages. ExportError for a session
    with nothing measured to send."""
    messages = [] if deidentify else session_messages(store.path, session_id, Channel.PCD01)
    if not messages:
        messages = rebuild(store, session_id, deidentify=deidentify)
    if not messages:
        raise ExportError(f"session {session_id} has no measured values: no HL7 message")
    sender = f"VIGIL^{host_eui64()}^EUI-64"
    now = dtm(time.time())
    out.write(f"FHS|^~\\&|{sender}||||{now}{SEGMENT_END}")
    out.write(f"BHS|^~\\&|{sender}||||{now}{SEGMENT_END}")
    for m in messages:
        out.write(m)
    out.write(f"BTS|{len(messages)}{SEGMENT_END}FTS|1{SEGMENT_END}")
    return len(messages)
