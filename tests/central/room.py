"""A real room for the central-station tests: `main.py record` publishing to the broker."""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import jsonschema

from tests.central.broker import REPO, Mosquitto, Received
from tests.helpers.waiting import until

SCHEMAS = REPO / "docs" / "central"


def validate(m: Received) -> dict[str, object]:
    """The message as JSON, checked against the shipped schema of its topic."""
    kind = m.topic.rsplit("/", 1)[1]
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
    d: dict[str, object] = json.loads(m.payload)
    jsonschema.Draft202012Validator(schema).validate(d)
    return d


class Room:
    """`python main.py record ... --room NAME --broker URL` as a child process."""

    def __init__(self, broker: Mosquitto, tmp: Path, room: str, device: str, *,
                 speed: float = 1, duration: float = 3600, extra: tuple[str, ...] = (),
                 password_file: bool = False, url: str | None = None,
                 password: str | None = None) -> None:
        self.db = tmp / f"{room}.db"
        self.stderr_path = tmp / f"{room}.stderr"
        self.stdout_path = tmp / f"{room}.stdout"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("VIGIL_MQTT_PASSWORD", None)
        args = [sys.executable, str(REPO / "main.py"), "record", "--device", device,
                "--duration", f"{duration:g}", "--speed", f"{speed:g}", "--db", str(self.db),
                "--live", "--room", room, "--broker", url or broker.url,
                "--broker-ca", str(broker.ca), *extra]
        self.password = password or broker.passwords[room]
        if password_file:
            pw = tmp / f"{room}.password"
            pw.write_text(self.password + "\n")
            pw.chmod(0o600)
            args += ["--broker-password-file", str(pw)]
        else:
            env["VIGIL_MQTT_PASSWORD"] = self.password
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(args, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def wait_output(self, text: str, timeout: float = 20.0, where: str = "stderr") -> None:
        deadline = time.monotonic() + timeout
        read = self.stderr if where == "stderr" else self.stdout
        while text not in read():
            if self.proc.poll() is not None:
                raise AssertionError(f"room exited {self.proc.returncode} before {text!r}: "
                                     f"{self.stderr()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in the room's {where} after {timeout} s: "
                                     f"{read()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def longest_gap(self) -> float:
        """The longest gap between the HR samples the room stored (session seconds)."""
        times = [float(t) for (t,) in self.query(  # type: ignore[arg-type]
            "SELECT t_s FROM samples WHERE vital = 'hr' ORDER BY t_s")]
        return max((b - a for a, b in itertools.pairwise(times)), default=float("inf"))

    def query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Read the room's store while it records (read-only; never changes it)."""
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()


def poll(cond: Callable[[], bool], timeout: float, what: str) -> None:
    """`until` with the argument order these tests read best in."""
    until(cond, what, timeout)
