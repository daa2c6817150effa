"""A real Mosquitto for the central-station tests: TLS, a password file and the shipped ACL.

Certificates and passwords come from the shipped `docs/central/make-certs.sh` (so the tests
also prove the script a clinic runs). The broker listens on a free loopback port, persists to
a private directory (retained messages survive `restart()`), and is ready when a client can
connect, never after a sleep. `Subscriber` collects what a paho client receives, to wait on.
"""

from __future__ import annotations

import contextlib
import getpass
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from tests.helpers.paths import REPO

MOSQUITTO = Path("/usr/sbin/mosquitto")
ACL = REPO / "docs" / "central" / "acl"
MAKE_CERTS = REPO / "docs" / "central" / "make-certs.sh"
ROOMS = ("room-1", "room-2", "room-3", "room-4")
HOST = "127.0.0.1"


def missing() -> str | None:
    """Why the broker cannot run here, or None."""
    if not MOSQUITTO.exists():
        return f"needs Mosquitto at {MOSQUITTO} (Debian package mosquitto; make test installs it)"
    for tool in ("mosquitto_passwd", "openssl"):
        if shutil.which(tool) is None:
            return f"needs {tool} on PATH (Debian packages mosquitto, openssl)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def make_credentials(directory: Path, rooms: int = len(ROOMS)) -> dict[str, str]:
    """Run the shipped script; the {user: password} it wrote to passwords.txt."""
    subprocess.run([str(MAKE_CERTS), str(directory), str(rooms)], check=True,
                   capture_output=True, timeout=60)
    pairs = (line.split(" ", 1) for line in
             (directory / "passwords.txt").read_text().splitlines() if line)
    return {user: password for user, password in pairs}


class Mosquitto:
    """One broker process; `start()`, `stop()`, `restart()` keep the port and the data."""

    def __init__(self, directory: Path,
                 credentials: tuple[Path, dict[str, str]] | None = None) -> None:
        """`credentials`: (certs directory, passwords) of another broker, to reuse."""
        self.dir = directory
        if credentials is None:
            self.certs = directory / "certs"
            self.passwords = make_credentials(self.certs)
        else:
            self.certs, self.passwords = credentials
        self.ca = self.certs / "ca.crt"
        self.host = HOST
        self.port = free_port()
        self.data = directory / "data"
        self.data.mkdir(mode=0o700)
        self.log = directory / "mosquitto.log"
        self.conf = directory / "mosquitto.conf"
        self.conf.write_text(
            f"per_listener_settings false\n"
            f"user {getpass.getuser()}\n"  # run as root, it would switch to `mosquitto`
            f"listener {self.port} {HOST}\n"
            f"cafile {self.ca}\ncertfile {self.certs / 'server.crt'}\n"
            f"keyfile {self.certs / 'server.key'}\n"
            f"allow_anonymous false\npassword_file {self.certs / 'passwd'}\n"
            f"acl_file {ACL}\n"
            f"persistence true\npersistence_location {self.data}/\n"
            f"message_size_limit 65536\n"
            f"log_dest file {self.log}\nlog_type all\nconnection_messages true\n")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtts://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        assert self.proc is None, "already running"
        with open(self.dir / "stderr.txt", "ab") as err:
            self.proc = subprocess.Popen([str(MOSQUITTO), "-c", str(self.conf)],
                                         stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                err = (self.dir / "stderr.txt").read_text(errors="replace")
                self.proc = None
                raise RuntimeError(f"mosquitto exited at start: {err} {self.log_text()}")
            if self.can_connect("board"):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"mosquitto not accepting clients after {timeout} s: "
                                   f"{self.log_text()}")

    def can_connect(self, user: str | None, password: str | None = None, *, tls: bool = True
                    ) -> bool:
        """Whether `user` (None: anonymous) gets a CONNACK success now (a real MQTT connect,
        over TLS unless `tls` is False)."""
        client = self.client(user, password, connect=False, tls=tls)
        try:
            client.connect(self.host, self.port, keepalive=5)
        except OSError:
            return False
        done = threading.Event()
        result: list[bool] = []

        def on_connect(c: mqtt.Client, u: object, f: object, rc: ReasonCode, p: object) -> None:
            result.append(not rc.is_failure)
            done.set()

        def on_disconnect(c: mqtt.Client, u: object, f: object, rc: ReasonCode,
                          p: object) -> None:
            done.set()

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.loop_start()
        try:
            done.wait(5)
        finally:
            client.disconnect()
            client.loop_stop()
        return bool(result and result[0])

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def client(self, user: str | None, password: str | None = None, *, connect: bool = True,
               client_id: str = "", tls: bool = True) -> mqtt.Client:
        """A paho client for `user` (its own password unless given; None: no credentials)."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=mqtt.MQTTv311)
        if tls:
            client.tls_set(ca_certs=str(self.ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if user is not None:
            client.username_pw_set(user, password if password is not None
                                   else self.passwords[user])
        if connect:
            client.connect(self.host, self.port, keepalive=5)
        return client

    def publish(self, user: str, *messages: tuple[str, bytes], retain: bool = False) -> None:
        """Publishes (topic, payload) pairs as `user`, QoS 1, each acknowledged by the broker
        (which does not say whether the ACL let it through: a refused one is dropped)."""
        client = self.client(user)
        client.loop_start()
        try:
            for topic_name, payload in messages:
                client.publish(topic_name, payload, qos=1, retain=retain).wait_for_publish(5)
        finally:
            client.disconnect()
            client.loop_stop()

    def clear_retained(self) -> None:
        """Remove every room's retained status and alarm set (a fresh slate per test)."""
        for room in ROOMS:
            self.publish(room, (f"vigil/{room}/status", b""), (f"vigil/{room}/alarms", b""),
                         retain=True)


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    t: float  # time.time() on arrival


class Subscriber:
    """A connected paho client that keeps every message it receives, to wait on."""

    def __init__(self, broker: Mosquitto, topics: str = "vigil/#", user: str = "board",
                 password: str | None = None) -> None:
        self.messages: list[Received] = []
        self.cond = threading.Condition()
        self.connected = threading.Event()
        self.client = broker.client(user, password, connect=False)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p: (
            c.subscribe(topics, qos=1), self.connected.set())
        self.client.connect(broker.host, broker.port, keepalive=5)
        self.client.loop_start()
        if not self.connected.wait(10):
            self.close()
            raise RuntimeError("subscriber did not connect")

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self.cond:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain),
                                          time.time()))
            self.cond.notify_all()

    def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 10.0,
                 start: int = 0) -> Received:
        """The first message from index `start` that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for m in self.messages[start:]:
                    if predicate(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted({m.topic for m in self.messages})
                    raise AssertionError(f"no matching message in {timeout} s; topics seen: "
                                         f"{seen}")
                self.cond.wait(left)

    def on(self, topic: str) -> list[Received]:
        with self.cond:
            return [m for m in self.messages if m.topic == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextlib.contextmanager
def subscriber(broker: Mosquitto, topics: str = "vigil/#", user: str = "board"
               ) -> Iterator[Subscriber]:
    sub = Subscriber(broker, topics, user)
    try:
        yield sub
    finally:
        sub.close()
