"""A private, real PulseAudio server for tests: a null sink whose monitor can be recorded.

    server = PulseServer()            # a private directory under /tmp (short socket path)
    server.start()                    # returns once `pactl info` answers
    env = {**os.environ, **server.env}  # give this to a client process (e.g. the dashboard)
    rec = server.record()             # parec on the sink's monitor, into a raw file
    ...
    samples = rec.stop()              # int16 mono at server.rate, as recorded
    server.drop_streams()             # the server drops its clients' playback streams
    server.kill()                     # SIGKILL: the sound server dies under its clients
    server.start()                    # the same socket again
    server.stop()                     # SIGTERM, waits, removes the directory

The `pulse_server` fixture (tests/conftest.py) yields a started server and stops it after the
test. Each server has its own socket, HOME, XDG_RUNTIME_DIR and PULSE_RUNTIME_PATH, so
parallel runs do not meet. As root, `pulseaudio --system=false` only warns; no flags needed.
The null sink has `norewinds=1`: with rewinds, a stream that starts on the idle sink rewinds
silence the monitor had already delivered, and the recording loses up to 2 s of its timeline.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.helpers.processes import end_process

SINK = "vigil_test"
RATE = 48_000
_BINARIES = ("pulseaudio", "pactl", "parec")


def _die_with_parent() -> None:
    """In the child: SIGKILL it when the test process dies (PR_SET_PDEATHSIG), so a test run
    killed midway leaves no daemon behind (it would never exit on its own)."""
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)


def missing_binaries() -> list[str]:
    """The PulseAudio programs this machine lacks (scripts/bootstrap.sh installs them)."""
    return [b for b in _BINARIES if shutil.which(b) is None]


class Recording:
    """parec on the sink's monitor, writing raw s16le mono to `path`."""

    def __init__(self, proc: subprocess.Popen, path: Path, rate: int) -> None:
        self._proc = proc
        self.path = path
        self.rate = rate

    def samples(self) -> np.ndarray:
        """What has been recorded so far (int16)."""
        data = self.path.read_bytes()
        return np.frombuffer(data[:len(data) - len(data) % 2], dtype="<i2")

    def stop(self) -> np.ndarray:
        """Ends the recording (if the server has not already ended it) and returns it."""
        end_process(self._proc, signal.SIGINT, 5.0)
        return self.samples()


class PulseServer:
    """One private `pulseaudio` with a null sink `vigil_test`, the default sink."""

    def __init__(self, directory: Path | None = None, rate: int = RATE) -> None:
        self._own_dir = directory is None
        self.dir = Path(tempfile.mkdtemp(prefix="vigil-pulse-")) if directory is None \
            else directory
        self.rate = rate
        self.socket = self.dir / "native"
        self.log = self.dir / "pulseaudio.log"
        for sub in ("home", "runtime", "state"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / "client.conf").write_text("autospawn = no\n")
        (self.dir / "default.pa").write_text(
            f"load-module module-native-protocol-unix socket={self.socket} auth-anonymous=1\n"
            f"load-module module-cli-protocol-unix socket={self.dir / 'cli'}\n"
            f"load-module module-null-sink sink_name={SINK} rate={rate} channels=1 norewinds=1\n"
            f"set-default-sink {SINK}\n")
        self._proc: subprocess.Popen | None = None
        self._recordings: list[Recording] = []

    @property
    def env(self) -> dict[str, str]:
        """The variables a client needs to use this server, and only this server."""
        return {
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_RUNTIME_PATH": str(self.dir / "runtime"),
            "PULSE_STATE_PATH": str(self.dir / "state"),
            "PULSE_CLIENTCONFIG": str(self.dir / "client.conf"),
            "HOME": str(self.dir / "home"),
            "XDG_RUNTIME_DIR": str(self.dir / "runtime"),
        }

    def _tool_env(self) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **self.env}

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def answers(self) -> bool:
        """Whether `pactl info` gets an answer from the server now."""
        done = subprocess.run(["pactl", "info"], env=self._tool_env(), capture_output=True,
                              timeout=10, check=False)
        return done.returncode == 0

    def start(self, timeout: float = 15.0) -> None:
        """Starts the daemon on the socket and waits until it answers."""
        if self.alive():
            raise RuntimeError("the PulseAudio server is already running")
        if missing := missing_binaries():
            raise RuntimeError(f"missing {missing}: run scripts/bootstrap.sh as root")
        self.socket.unlink(missing_ok=True)
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                ["pulseaudio", "--system=false", "-n", "--daemonize=no",
                 "--exit-idle-time=-1", "--disallow-exit", "--use-pid-file=no",
                 "--realtime=no", "--high-priority=no", "--log-target=stderr",
                 "-F", str(self.dir / "default.pa")],
                env=self._tool_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self._proc.poll() is not None:
                raise RuntimeError(f"pulseaudio exited {self._proc.returncode}: "
                                   f"{self.log.read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"pulseaudio did not answer within {timeout} s")

    def record(self, path: Path | None = None) -> Recording:
        """Records the sink's monitor (s16le, mono, `rate`) to `path` until `stop()` or until
        the server dies. Starts once parec is connected, so nothing played after is lost."""
        path = path or self.dir / f"monitor-{len(self._recordings)}.raw"
        before = self._source_outputs()
        out = path.open("wb")
        proc = subprocess.Popen(
            ["parec", "-d", f"{SINK}.monitor", "--format=s16le", f"--rate={self.rate}",
             "--channels=1", "--latency-msec=20", "--raw"],
            env=self._tool_env(), stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        out.close()
        rec = Recording(proc, path, self.rate)
        self._recordings.append(rec)
        deadline = time.monotonic() + 10
        while self._source_outputs() <= before:  # the monitor stream exists on the server
            if proc.poll() is not None or time.monotonic() > deadline:
                rec.stop()
                raise RuntimeError("parec did not connect to the sink's monitor")
        return rec

    def _source_outputs(self) -> int:
        done = subprocess.run(["pactl", "list", "short", "source-outputs"],
                              env=self._tool_env(), capture_output=True, text=True,
                              timeout=10, check=False)
        return len(done.stdout.splitlines()) if done.returncode == 0 else 0

    def drop_streams(self) -> int:
        """Kills every playback stream on the server (`kill-sink-input` on its command-line
        socket; this pactl has no such command), the server itself staying up: each client
        sees its stream fail. Returns how many."""
        listed = subprocess.run(["pactl", "list", "short", "sink-inputs"], env=self._tool_env(),
                                capture_output=True, text=True, timeout=10, check=True)
        ids = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as cli:
            cli.settimeout(10)
            cli.connect(str(self.dir / "cli"))
            # kill-sink-input answers only on an error; the list after it marks the end
            cli.sendall("".join(f"kill-sink-input {i}\n" for i in ids).encode()
                        + b"list-sink-inputs\n")
            said = b""
            while b"available." not in said and (chunk := cli.recv(4096)):
                said += chunk
        answer = said.decode(errors="replace")
        if not answer.split("\n")[0].endswith("sink input(s) available."):  # an error first
            raise RuntimeError(f"kill-sink-input {ids}: {answer}")
        return len(ids)

    def kill(self) -> None:
        """SIGKILL: the server dies as in a crash (clients are not told); the socket file
        stays behind, as it would."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(10)

    def stop(self) -> None:
        """Ends the recordings and the daemon; removes the private directory if it made it."""
        for rec in self._recordings:
            rec.stop()
        if self._proc is not None:
            end_process(self._proc)
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
