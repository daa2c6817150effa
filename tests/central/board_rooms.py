"""N simulated rooms publishing to a broker at 1 Hz, as a separate process (for the board's
end-to-end tests and its benchmark): each room its status and alarms once (retained, QoS 1)
and its numerics every second (QoS 0), with `t` the wall time of the publish, so that a
board on the same machine measures publish-to-painted latency against it.

    python tests/central/board_rooms.py --port P --rooms N --seconds S [--ca FILE]
        [--user-prefix room-] [--password-env VIGIL_MQTT_PASSWORDS]

Passwords come from the environment (one JSON object user -> password), never the command
line. It prints "ready" once every room is connected, then "done N" with the messages sent.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.central.board_payloads import alarms, numerics, status, will


def connect(room: str, port: int, ca: str | None, password: str | None) -> mqtt.Client:
    """As a room connects: its own user, TLS, keep-alive 2 s and the contract's last will."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{room}")
    if password is not None:
        c.username_pw_set(room, password)
    if ca:
        c.tls_set_context(ssl.create_default_context(cafile=ca))
    c.will_set(f"vigil/{room}/status", json.dumps(will(room, time.time())), qos=1,
               retain=True)
    c.connect("127.0.0.1", port, keepalive=2)
    c.loop_start()
    return c


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rooms", type=int, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--ca")
    p.add_argument("--password-env", default="VIGIL_MQTT_PASSWORDS")
    args = p.parse_args()
    passwords = json.loads(os.environ.get(args.password_env, "{}"))
    names = [f"room-{k}" for k in range(1, args.rooms + 1)]
    clients = {n: connect(n, args.port, args.ca, passwords.get(n)) for n in names}
    deadline = time.monotonic() + 10
    while not all(c.is_connected() for c in clients.values()):
        if time.monotonic() > deadline:
            print("not connected", flush=True)
            return 1
        time.sleep(0.01)
    now = time.time()
    for n, c in clients.items():
        c.publish(f"vigil/{n}/status", json.dumps(status(n, now, dose_start=now - 1800)),
                  qos=1, retain=True)
        c.publish(f"vigil/{n}/alarms", json.dumps(alarms(n, now, 1)), qos=1, retain=True)
    print("ready", flush=True)
    sent = 0
    start = time.monotonic()
    k = 0
    while time.monotonic() - start < args.seconds:
        for i, (n, c) in enumerate(clients.items()):
            # spread the rooms over the second, as independent rooms would be
            due = start + k + i / len(clients)
            while (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            c.publish(f"vigil/{n}/numerics", json.dumps(numerics(n, time.time(), hr=60 + k % 30)))
            sent += 1
        k += 1
    for c in clients.values():
        c.loop_stop()
        c.disconnect()
    print(f"done {sent}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
