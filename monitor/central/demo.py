"""`python main.py board --demo N`: a private Mosquitto and N simulated rooms, for a newcomer.

The broker listens on a free loopback port only, with TLS, a CA, a server certificate and a
password per user made for this run by the shipped docs/central/make-certs.sh (rooms
room-1..room-N and the board), the shipped ACL (docs/central/acl) and no anonymous access:
the set-up a clinic runs, on one computer. Each room is a real `main.py record --device
sim:... --room room-k --broker ...` process, so the demo runs the same publisher a clinic
runs; the rooms differ in scenario, dose time and speed, so they are soon in different
phases and some alarm.
Everything (rooms, broker, the temporary directory with the passwords and the rooms'
stores) is stopped and removed on exit.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from monitor.central.config import BrokerConfig, add_broker_arguments, broker_config

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
ACL = REPO / "docs" / "central" / "acl"
MAKE_CERTS = REPO / "docs" / "central" / "make-certs.sh"
MAIN = REPO / "main.py"
READY_S = 10.0
STOP_S = 5.0
# (scenario, dose start in session s, speed): baseline; dosing; alarms within a minute or
# two; peak and recovery within a minute at a trainer's speed.
ROOM_PLANS = (
    ("normal", 600.0, 1.0),
    ("normal", 20.0, 1.0),
    ("desaturation", 30.0, 4.0),
    ("hypertensive-surge", 60.0, 30.0),
    ("bradycardia", 30.0, 4.0),
    ("normal", 60.0, 60.0),
)


class DemoError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if found is None:
        raise DemoError("the demo needs Mosquitto (Debian: apt-get install mosquitto)")
    return found


class Demo:
    """A context manager: the broker and the rooms run inside the `with`."""

    def __init__(self, rooms: int, speed_scale: float = 1.0) -> None:
        self.rooms = rooms
        self.speed_scale = speed_scale
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.broker: subprocess.Popen[bytes] | None = None
        self.room_procs: list[subprocess.Popen[bytes]] = []
        self.port = 0
        self.passwords: dict[str, str] = {}
        self.ca: Path | None = None
        self._log = Path()
        self.board_config: BrokerConfig

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"

    def __enter__(self) -> Demo:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, _t: type[BaseException] | None, _e: BaseException | None,
                 _tb: TracebackType | None) -> None:
        self.stop()

    def _start(self) -> None:
        binary = mosquitto_binary()
        self._tmp = tempfile.TemporaryDirectory(prefix="vigil-demo-")
        tmp = Path(self._tmp.name)
        certs = tmp / "certs"
        made = subprocess.run(["sh", str(MAKE_CERTS), str(certs), str(self.rooms)],
                              capture_output=True, text=True, timeout=60)
        if made.returncode != 0:
            raise DemoError(f"{MAKE_CERTS.name} failed: {made.stderr.strip()}")
        pairs = (line.split(" ", 1) for line in
                 (certs / "passwords.txt").read_text().splitlines() if line)
        self.passwords = dict(pairs)
        self.ca = certs / "ca.crt"
        self.port = free_port()
        conf = tmp / "mosquitto.conf"
        conf.write_text(f"per_listener_settings false\nuser {getpass.getuser()}\n"
                        f"listener {self.port} 127.0.0.1\ncafile {self.ca}\n"
                        f"certfile {certs / 'server.crt'}\nkeyfile {certs / 'server.key'}\n"
                        f"allow_anonymous false\npassword_file {certs / 'passwd'}\n"
                        f"acl_file {ACL}\npersistence false\nmessage_size_limit 65536\n"
                        f"log_dest file {tmp / 'mosquitto.log'}\nlog_type error\n")
        self._log = tmp / "mosquitto.stderr"
        with open(self._log, "wb") as err:
            self.broker = subprocess.Popen([binary, "-c", str(conf)], stdin=subprocess.DEVNULL,
                                           stdout=err, stderr=err)
        self._wait_ready()
        board_pw = tmp / "board.password"
        board_pw.write_text(self.passwords["board"])
        board_pw.chmod(0o600)
        parser = argparse.ArgumentParser()
        add_broker_arguments(parser)
        config = broker_config(parser.parse_args(
            ["--broker", self.url, "--broker-ca", str(self.ca), "--broker-user", "board",
             "--broker-password-file", str(board_pw)]))
        assert config is not None
        self.board_config = config
        for k in range(1, self.rooms + 1):
            self.room_procs.append(self._room(k, tmp))

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_S
        while time.monotonic() < deadline:
            assert self.broker is not None
            if self.broker.poll() is not None:
                why = self._log.read_text(errors="replace").strip().splitlines()[-1:]
                raise DemoError(f"mosquitto exited with status {self.broker.returncode}: "
                                f"{' '.join(why)}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise DemoError(f"mosquitto did not listen on port {self.port} within {READY_S:g} s")

    def _room(self, k: int, tmp: Path) -> subprocess.Popen[bytes]:
        scenario, dose, speed = ROOM_PLANS[(k - 1) % len(ROOM_PLANS)]
        room = f"room-{k}"
        env = dict(os.environ, VIGIL_MQTT_PASSWORD=self.passwords[room])
        cmd = [sys.executable, str(MAIN), "record", "--device",
               f"sim:{scenario}?dose={dose:g}&seed={k}", "--duration", str(8 * 3600),
               "--speed", f"{speed * self.speed_scale:g}", "--db",
               str(tmp / f"{room}.sqlite3"), "--room", room, "--broker", self.url,
               "--broker-ca", str(self.ca), "--allow-remote-ack"]
        return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        """Rooms first (SIGTERM: they close cleanly), then the broker, then the files."""
        for p in self.room_procs:
            if p.poll() is None:
                p.terminate()
        for p in [*self.room_procs, *([self.broker] if self.broker else [])]:
            if p is self.broker and p.poll() is None:
                p.terminate()
            try:
                p.wait(STOP_S)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.room_procs = []
        self.broker = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
