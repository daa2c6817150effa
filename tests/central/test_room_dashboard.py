"""The session-room dashboard publishes too: the same options as `record`, the same sink."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.central.broker import REPO, Mosquitto, subscriber
from tests.central.room import validate

pytestmark = pytest.mark.slow


def test_the_dashboard_publishes_its_room(mosquitto: Mosquitto, tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "VIGIL_MQTT_PASSWORD": mosquitto.passwords["room-4"],
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    with subscriber(mosquitto, "vigil/room-4/#") as board, \
            open(tmp_path / "stderr", "wb") as err:
        dash = subprocess.Popen(
            [sys.executable, str(REPO / "main.py"), "dashboard", "--no-dialog",
             "--no-watchdog", "--db", str(tmp_path / "v.db"), "--room", "room-4",
             "--broker", mosquitto.url, "--broker-ca", str(mosquitto.ca),
             "--central-patient", "initials", "--patient", "Jane Doe"],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            online = board.wait_for(lambda m: m.topic == "vigil/room-4/status"
                                    and json.loads(m.payload)["online"], 30)
            session = validate(online)["session"]
            assert isinstance(session, dict) and session["patient"] == "JD"
            numerics = board.wait_for(lambda m: m.topic == "vigil/room-4/numerics"
                                      and bool(json.loads(m.payload)["values"]), 15)
            assert {v["vital"] for v in validate(numerics)["values"]  # type: ignore[attr-defined]
                    } >= {"hr", "spo2"}
        finally:
            dash.terminate()
            code = dash.wait(30)
        closed = board.wait_for(lambda m: m.topic == "vigil/room-4/status"
                                and not json.loads(m.payload)["online"], 10)
    assert validate(closed)["reason"] == "closed"
    log = (tmp_path / "stderr").read_text(errors="replace")
    assert "Jane" not in log and mosquitto.passwords["room-4"] not in log, log
    assert code in (0, 1), log
