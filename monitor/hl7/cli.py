"""The HL7 options of `record` and `dashboard`, and the feed's part in a CLI recording.

The feed itself is imported only when `--hl7` is given: every other command starts as fast
as before.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from monitor.hl7 import DEFAULT_PERIOD_S, DOWN_AFTER_S
from monitor.runtime import IoThread

if TYPE_CHECKING:
    from monitor.hl7.feed import FeedConfig, Hl7Feed
    from monitor.hl7.mllp import MllpAddress
    from monitor.recorder import SessionRecorder

DRAIN_S = 10.0  # at the end of a `record`, wait this long for the receiver to catch up


def _mllp(text: str) -> MllpAddress:
    from monitor.hl7.mllp import parse_mllp_url
    try:
        return parse_mllp_url(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_hl7_options(sp: argparse.ArgumentParser, seconds: Callable[[str], float]) -> None:
    """The options; `seconds` is the command line's own positive-number type."""
    g = sp.add_argument_group("HL7 feed to the clinic's record (IHE PCD-01 / PCD-04, MLLP)")
    g.add_argument("--hl7", type=_mllp, metavar="mllp://HOST:PORT",
                   help="send the vitals as HL7 v2.6 ORU^R01 to this interface engine")
    g.add_argument("--hl7-period", type=seconds, default=DEFAULT_PERIOD_S, metavar="S",
                   help=f"seconds between vitals messages (default {DEFAULT_PERIOD_S:g}); "
                   "an NIBP reading or a score is sent at once")
    g.add_argument("--hl7-deidentify", action="store_true",
                   help="PID carries the session's pseudonym, not the patient id")
    g.add_argument("--hl7-alerts", type=_mllp, metavar="mllp://HOST:PORT",
                   help="send alarms as PCD-04 ORU^R40 to this alarm manager")
    # Tests shorten the 5 min after which a silent receiver is "EHR feed down".
    g.add_argument("--hl7-down-after", type=seconds, default=DOWN_AFTER_S,
                   help=argparse.SUPPRESS)


def hl7_config(args: argparse.Namespace) -> FeedConfig | None:
    vitals, alerts = getattr(args, "hl7", None), getattr(args, "hl7_alerts", None)
    if vitals is None and alerts is None:
        return None
    from monitor.hl7.feed import FeedConfig
    return FeedConfig(vitals, alerts, args.hl7_period, args.hl7_deidentify,
                      args.hl7_down_after)


def report_left(left: int) -> None:
    """Says, at the end of a session, how many messages wait for the next feed."""
    if left:
        print(f"vigil: {left} HL7 message(s) not yet acknowledged; kept in the store, the "
              "next feed on it delivers them", file=sys.stderr, flush=True)


class FeedRun:
    """A CLI recording's feed: its own IoThread (so that the loop outlives the session's
    devices), and at the end a bounded wait for the queue to drain, then the loop stops.
    What is left stays queued in the store for the next feed on it."""

    def __init__(self, config: FeedConfig | None) -> None:
        self.config = config
        self.io = IoThread() if config is not None else None
        self.feed: Hl7Feed | None = None

    def attach(self, recorder: SessionRecorder) -> None:
        if self.config is not None:
            from monitor.hl7.feed import attach_feed
            self.feed = attach_feed(recorder, self.config)

    def __enter__(self) -> FeedRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.io is None:
            return
        try:
            if self.feed is not None and self.io.running and exc_type is None:
                left = self.io.submit(self.feed.drain(DRAIN_S)).result(DRAIN_S + 5)
                report_left(left)
        finally:
            self.io.stop()  # cancels the feed's task, which closes its outbox
