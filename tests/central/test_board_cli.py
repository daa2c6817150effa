"""`main.py board`'s arguments: a bad one exits 2 with a message naming it, before any window
or connection (the same broker rules as the rooms: monitor/central/config.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers.paths import REPO


@pytest.mark.parametrize(("args", "says"), [
    ([], "needs --broker"),
    (["--broker", "mqtt://10.1.2.3:1883"], "unencrypted"),
    (["--broker", "http://127.0.0.1:1883"], "mqtt:// or mqtts://"),
    (["--broker", "mqtts://127.0.0.1:8883", "--broker-ca", "/nonexistent/ca.crt"],
     "--broker-ca /nonexistent/ca.crt"),
    (["--broker", "mqtts://127.0.0.1:8883", "--broker-password-file", "/nonexistent/pw"],
     "--broker-password-file /nonexistent/pw"),
    (["--broker", "mqtts://127.0.0.1:8883", "--demo", "2"], "not both"),
    (["--demo", "0"], "1 to 32"),
    (["--demo", "33"], "1 to 32"),
    (["--board-sound", "loud", "--demo", "1"], "high,medium, high or none"),
])
def test_bad_board_arguments_exit_2(args: list[str], says: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_MQTT_PASSWORD"}
    proc = subprocess.run([sys.executable, str(REPO / "main.py"), "board", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2, proc.stderr
    assert says in proc.stderr
