"""One room process, two sessions (the dashboard's next session starts before the previous one
stops): the room stays online on the board, and the alarm set's seq keeps rising."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

from alarms.engine import AlarmEngine
from alarms.presets import preset
from monitor.central.config import BrokerConfig, RoomConfig
from monitor.central.publisher import NUMERICS_QUEUE, CentralPublisher
from monitor.central.room_state import SessionMarks
from monitor.live import LiveState
from monitor.session import DoseProtocol, Patient
from tests.central.broker import Mosquitto, subscriber
from tests.central.room import validate


def _publisher(broker: Mosquitto, session_id: int) -> CentralPublisher:
    config = RoomConfig("room-2", BrokerConfig(broker.host, broker.port, True, Path(broker.ca),
                                               "room-2", broker.passwords["room-2"]))
    marks = SessionMarks(session_id, Patient(), DoseProtocol(), preset(None), time.time())
    engine = AlarmEngine(preset(None), wall0=time.time())
    return CentralPublisher(config, LiveState(), engine, marks, lambda: 0.0,
                            lambda t: marks.start_wall + t)


async def _until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_the_next_session_keeps_the_room_online(mosquitto: Mosquitto) -> None:
    async def run() -> None:
        first, second = _publisher(mosquitto, 1), _publisher(mosquitto, 2)
        a = first.start()
        await _until(lambda: first.connected)
        b = second.start()
        await _until(lambda: second.connected)
        a.cancel()  # the previous session stops after the next one started
        await asyncio.gather(a, return_exceptions=True)
        await asyncio.sleep(0)
        b.cancel()
        await asyncio.gather(b, return_exceptions=True)

    with subscriber(mosquitto, "vigil/room-2/#") as board:
        asyncio.run(run())
        board.wait_for(lambda m: m.topic == "vigil/room-2/status"
                       and not json.loads(m.payload)["online"])
    statuses = [validate(m) for m in board.on("vigil/room-2/status")]
    closed = [s for s in statuses if not s["online"]]
    assert len(closed) == 1 and closed[0]["session"]["id"] == 2  # type: ignore[index]
    assert statuses[-1] == closed[0]  # nothing from the first session after it
    seqs = [json.loads(m.payload)["seq"] for m in board.on("vigil/room-2/alarms")]
    assert len(seqs) >= 2 and seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_a_slow_broker_drops_old_numerics_but_keeps_the_latest_alarm_set(
        mosquitto: Mosquitto) -> None:
    """Nothing is sent here (no connection): what waits for the broker stays bounded."""
    pub = _publisher(mosquitto, 3)
    for _ in range(NUMERICS_QUEUE + 3):
        pub._queue_numerics()
    assert len(pub._numerics) == NUMERICS_QUEUE and pub.dropped == 3
    pub._refresh_alarms(force=True)
    pub.alarms.set_central_link(False)  # a transition: the waiting set is replaced
    pub._refresh_alarms()
    waiting = json.loads(pub._alarms or b"{}")
    assert [a["text"] for a in waiting["alarms"]] == ["central station link down"]
