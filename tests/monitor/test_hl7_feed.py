"""The feed's delivery against a real MLLP listener on loopback: AA moves on, AE is kept
for review, no answer is retried (same MSH-10), a receiver silent too long is the LOW
technical condition "EHR feed down"; and only measured, current values are ever sent."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from alarms.engine import AlarmEngine
from alarms.model import AlarmKind, Priority
from alarms.presets import preset
from monitor.hl7.feed import FeedConfig, Hl7Feed
from monitor.hl7.messages import Party, control_id_of
from monitor.hl7.mllp import MllpAddress
from monitor.hl7.outbox import Channel, Outbox, session_messages
from monitor.messages import Condition, DeviceCondition, Message, Numerics, TimelineMark
from monitor.runtime import IoThread
from monitor.session import DoseProtocol, Patient
from monitor.store import SessionStore
from tests.helpers.waiting import until
from tests.hl7_listener import Listener, in_order_once, validated

WALL0 = 1_795_000_000.0


@dataclass
class Rig:
    feed: Hl7Feed
    io: IoThread
    db: Path
    sid: int

    def send(self, msg: Message) -> None:
        self.io.call(lambda: self.feed(msg))

    def rows(self) -> list[tuple[str, str, str | None, str | None, int]]:
        with sqlite3.connect(self.db) as c:
            return c.execute("SELECT control_id, state, ack_code, ack_text, attempts FROM "
                             "hl7_outbox ORDER BY id").fetchall()


@pytest.fixture
def rig_factory(db_path: Path) -> Iterator[Callable[..., Rig]]:
    made: list[Rig] = []

    def make(port: int, run: bool = True, on_down: Callable[[bool], None] = lambda d: None,
             **config: object) -> Rig:
        with SessionStore(db_path) as store:
            sid = store.create_session(Patient("MRN-1"), DoseProtocol(), None, WALL0)
            uuid = store.load_session(sid).uuid
        config.setdefault("vitals", MllpAddress("127.0.0.1", port))  # type: ignore[arg-type]
        cfg = FeedConfig(**config)  # type: ignore[arg-type]
        feed = Hl7Feed(cfg, Outbox(db_path, sid, uuid), Party("MRN-1", "0123456789ABCDEF"),
                       lambda t: WALL0 + t, WALL0, on_down)
        io = IoThread().start()
        if run:
            io.submit(feed.run())
        rig = Rig(feed, io, db_path, sid)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.io.stop()
        rig.feed.outbox.close()


def nibp(t: float, sbp: float, dbp: float, mean: float) -> Numerics:
    return Numerics("cuff", WALL0 + t, t, (("sbp", sbp), ("dbp", dbp), ("map", mean)))


def test_aa_delivers_each_message_once_in_order(rig_factory: Callable[..., Rig]) -> None:
    listener = Listener().start()
    try:
        rig = rig_factory(listener.port)
        for i in range(5):
            rig.send(nibp(10.0 * i, 120 + i, 80, 93))
        got = listener.wait_for(lambda m: len(m) >= 5)
        for m in got:
            validated(m)
        rows = rig.rows()
        assert [control_id_of(m) for m in got] == [r[0] for r in rows]
        deadline = time.monotonic() + 5
        while any(r[1] != "accepted" for r in rig.rows()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [r[1:4] for r in rig.rows()] == [("accepted", "AA", "test")] * 5
        assert ["|120|" in got[0], "|124|" in got[4]] == [True, True]
    finally:
        listener.close()


def test_ae_is_kept_for_review_and_the_feed_moves_on(rig_factory: Callable[..., Rig]
                                                      ) -> None:
    listener = Listener(answer="AE").start()
    try:
        rig = rig_factory(listener.port)
        for i in range(3):
            rig.send(nibp(10.0 * i, 120, 80, 93))
        listener.wait_for(lambda m: len(m) >= 3)
        deadline = time.monotonic() + 5
        while rig.feed.queued() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [r[1:] for r in rig.rows()] == [("error", "AE", "test", 1)] * 3
        assert len(listener.messages()) == 3  # an AE is not resent
    finally:
        listener.close()


def test_no_answer_is_retried_with_the_same_id(rig_factory: Callable[..., Rig]) -> None:
    listener = Listener(answer=None).start()
    try:
        rig = rig_factory(listener.port, ack_timeout_s=0.2, backoff_max_s=0.2)
        for i in range(3):
            rig.send(nibp(10.0 * i, 120, 80, 93))
        first = rig.rows()[0][0]
        listener.wait_for(lambda m: [control_id_of(x) for x in m].count(first) >= 2)
        assert set(listener.ids()) == {first}  # nothing overtakes the unanswered one
        listener.answer = "AA"
        listener.wait_for(lambda m: len(set(control_id_of(x) for x in m)) >= 3)
        assert in_order_once(listener.ids()) == [r[0] for r in rig.rows()]
    finally:
        listener.close()


def test_receiver_down_is_a_low_technical_condition(rig_factory: Callable[..., Rig]) -> None:
    engine = AlarmEngine(preset(None), wall0=WALL0)
    listener = Listener()  # not listening yet
    rig = rig_factory(listener.port, down_after_s=0.5,
                      on_down=lambda d: engine.system_condition("ehr-feed-down", d),
                      backoff_max_s=0.2)
    try:
        rig.send(nibp(0.0, 120, 80, 93))

        def feed_down() -> list[tuple[AlarmKind, Priority]]:
            return [(a.kind, a.priority) for a in engine.snapshot().alarms
                    if a.condition == "EHR feed down"]

        deadline = time.monotonic() + 10
        while not feed_down() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert feed_down() == [(AlarmKind.TECHNICAL, Priority.LOW)]
        listener.start()
        listener.wait_for(lambda m: len(m) >= 1)
        deadline = time.monotonic() + 10
        while feed_down() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert feed_down() == []
    finally:
        listener.close()


def test_a_receiver_answering_garbage_is_down_and_loses_nothing(
        rig_factory: Callable[..., Rig]) -> None:
    """A proxy or a misconfigured port answering with something that is no ACK: the message
    is neither taken as answered nor dropped, and the feed is "down" as if silent."""
    engine = AlarmEngine(preset(None), wall0=WALL0)
    listener = Listener(answer="garbage").start()
    rig = rig_factory(listener.port, down_after_s=0.5, backoff_max_s=0.2,
                      on_down=lambda d: engine.system_condition("ehr-feed-down", d))
    try:
        for i in range(2):
            rig.send(nibp(10.0 * i, 120 + i, 80, 93))
        first = rig.rows()[0][0]

        def down() -> bool:
            return any(a.condition == "EHR feed down" for a in engine.snapshot().alarms)

        until(down, "EHR feed down under garbage answers")
        listener.wait_for(lambda m: len(m) >= 2)  # resent after its back-off
        assert set(listener.ids()) == {first}  # nothing overtakes it
        assert [r[1] for r in rig.rows()] == ["queued", "queued"]
        listener.answer = "AA"
        until(lambda: not rig.feed.queued() and not down(), "delivered, feed up again")
        assert in_order_once(listener.ids()) == [r[0] for r in rig.rows()]
        assert [r[1:3] for r in rig.rows()] == [("accepted", "AA")] * 2
    finally:
        listener.close()


def test_only_measured_current_values_are_sent(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(9, run=False)  # nothing delivered: what is queued is what counts

    def sent() -> list[str]:
        return session_messages(rig.db, rig.sid, Channel.PCD01)

    rig.send(Numerics("sim", WALL0, 0.0, (("hr", 72.0),)))
    rig.send(Numerics("sim", WALL0 + 35, 35.0, (("spo2", 0.0), ("rr", 14.0), ("pr", 70.0))))
    rig.send(DeviceCondition("sim", WALL0 + 36, 36.0, Condition.SENSOR_OFF, True, "pr"))
    rig.io.call(lambda: rig.feed.tick(40.0))
    [msg] = sent()
    validated(msg)
    obx = [s.split("|") for s in msg.split("\r") if s.startswith("OBX|")]
    # HR is 40 s old (stale), SpO2 0 is an artefact, PR is under a probe-off condition.
    assert [(r[3].split("^")[1], r[5]) for r in obx[1:]] == [("MDC_RESP_RATE", "14")]
    rig.send(nibp(50.0, 80, 120, 90))  # SYS < DIA: an invalid reading, no numbers
    rig.send(nibp(60.0, 0, 0, 0))
    assert len(sent()) == 1
    rig.send(nibp(70.0, 118, 76, 90))
    rig.send(TimelineMark("nurse", WALL0 + 80, 80.0, "sedation",
                          (("scale", "moaas"), ("score", 4.0)), 1))
    rig.send(TimelineMark("nurse", WALL0 + 81, 81.0, "note", (("text", "x"),), 2))
    nibp_msg, score_msg = sent()[1:]
    assert [s.split("|")[5] for s in nibp_msg.split("\r") if s.startswith("OBX|2")] == ["118"]
    assert "VGL-MOAAS^MOAA/S^99VGL|" in score_msg and "|4|" in score_msg
    assert len(sent()) == 3


def test_an_alarm_life_as_pcd04(rig_factory: Callable[..., Rig]) -> None:
    """The real engine's events for one SpO2 alarm: start, the rise to HIGH, the
    acknowledgement and the end, each an ORU^R40 on the alerts channel, in that order."""
    listener = Listener().start()
    try:
        rig = rig_factory(1, vitals=None, alerts=MllpAddress("127.0.0.1", listener.port))
        engine = AlarmEngine(preset(None), wall0=WALL0)
        engine.add_listener(rig.feed.alert)

        def spo2(t: float, value: float) -> None:
            msg = Numerics("sim", WALL0 + t, t, (("spo2", value),))
            rig.io.call(lambda: engine(msg))

        t = 0.0
        for value, seconds in ((97, 5), (87, 30), (82, 30)):
            for _ in range(seconds):
                spo2(t, value)
                t += 1
        engine.acknowledge(user="nurse", t_s=t)
        for _ in range(30):
            spo2(t, 97)
            t += 1
        engine.tick(t)
        got = listener.wait_for(lambda m: any("|end|" in x for x in m))
    finally:
        listener.close()

    def attr(m: str, name: str) -> str:
        return next(s.split("|")[5] for s in m.split("\r") if f"^{name}^" in s)

    steps = [(attr(m, "MDC_ATTR_EVENT_PHASE"), attr(m, "MDC_ATTR_ALARM_PRIORITY"),
              attr(m, "MDC_ATTR_ALARM_INACTIVATION_STATE")) for m in got
             if "MDC_PULS_OXIM_SAT_O2" in m]
    assert steps[0] == ("start", "PM", "enabled")
    assert ("update", "PH", "enabled") in steps
    assert ("update", "PH", "alert-acknowledged") in steps
    assert steps[-1][0] == "end"
    assert [s[0] for s in steps].index("end") == len(steps) - 1
    for m in got:
        validated(m)
        assert m.split("|")[8] == "ORU^R40^ORU_R01"
