"""`export --format hl7`: a session's PCD-01 messages as an HL7 batch file.

FHS, BHS, the messages exactly as queued for the feed (same MSH-10 ids, so a receiver that
also got them over MLLP can drop the duplicates), BTS with the message count, FTS. Segments
end with CR, as over MLLP.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO

from monitor.atomic import ExportError
from monitor.hl7.messages import SEGMENT_END, dtm, host_eui64
from monitor.hl7.outbox import Channel, session_messages


def write_batch(store_path: Path, session_id: int, out: IO[str]) -> int:
    """Writes the batch file; returns the number of messages. ExportError for a session
    whose vitals were never fed (recorded without --hl7)."""
    messages = session_messages(store_path, session_id, Channel.PCD01)
    if not messages:
        raise ExportError(f"session {session_id} has no HL7 messages: it was recorded "
                          "without --hl7 (the batch file holds the messages the feed built)")
    sender = f"VIGIL^{host_eui64()}^EUI-64"
    now = dtm(time.time())
    out.write(f"FHS|^~\\&|{sender}||||{now}{SEGMENT_END}")
    out.write(f"BHS|^~\\&|{sender}||||{now}{SEGMENT_END}")
    for m in messages:
        out.write(m)
    out.write(f"BTS|{len(messages)}{SEGMENT_END}FTS|1{SEGMENT_END}")
    return len(messages)
