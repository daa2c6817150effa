"""How a room or the board reaches the broker: the shared command-line options and their rules.

The password never comes from the command line (it would show in `ps` and shell history):
from the environment variable `VIGIL_MQTT_PASSWORD` or a file. Plain `mqtt://` is allowed
only on the loopback interface unless `--insecure` says the site accepts it.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

from monitor.central.payloads import ROOM_RE, valid_room

PASSWORD_ENV: Final = "VIGIL_MQTT_PASSWORD"
KEEPALIVE_S: Final = 2  # the broker fires the last will after 1.5 x this: within ~3 s
BOARD_USER: Final = "board"
DEFAULT_PORTS: Final = {"mqtt": 1883, "mqtts": 8883}

CentralPatient = Literal["none", "initials"]


class BrokerConfigError(ValueError):
    """A broker option that cannot be used; the command exits 2 with this message."""


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    host: str
    port: int
    tls: bool
    ca: Path | None  # the CA that signed the broker's certificate (None: the system's)
    user: str
    password: str | None = field(repr=False)  # never printed or logged
    insecure: bool = False

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class RoomConfig:
    """What a room publishes, and whether it takes acknowledgements from the board."""

    room: str
    broker: BrokerConfig
    allow_remote_ack: bool = False
    patient: CentralPatient = "none"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_broker_url(url: str) -> tuple[bool, str, int]:
    """(tls, host, port) of `mqtt://HOST:PORT` or `mqtts://HOST:PORT`."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise BrokerConfigError(
            f"--broker {url!r}: the scheme must be mqtt:// or mqtts:// (got {parts.scheme!r})")
    if parts.username or parts.password:
        raise BrokerConfigError(f"--broker {url!r}: no user or password in the URL "
                                f"(--broker-user; the password from ${PASSWORD_ENV} or "
                                "--broker-password-file)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BrokerConfigError(f"--broker {url!r}: only mqtt[s]://HOST:PORT")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise BrokerConfigError(f"--broker {url!r}: the port is not a number "
                                "from 1 to 65535") from None
    if not parts.hostname:
        raise BrokerConfigError(f"--broker {url!r}: no host")
    return parts.scheme == "mqtts", parts.hostname, port


def add_broker_arguments(parser: argparse.ArgumentParser) -> None:
    """--broker, --broker-ca, --broker-user, --broker-password-file, --insecure."""
    g = parser.add_argument_group("central station broker")
    g.add_argument("--broker", metavar="URL",
                   help="the MQTT broker: mqtts://HOST:PORT (TLS), or mqtt://HOST:PORT on "
                        "the loopback interface")
    g.add_argument("--broker-ca", metavar="FILE", type=Path,
                   help="the CA certificate that signed the broker's (mqtts://)")
    g.add_argument("--broker-user", metavar="NAME",
                   help="the MQTT user (default: the room name; the board: board)")
    g.add_argument("--broker-password-file", metavar="FILE", type=Path,
                   help=f"a file holding the MQTT password (else ${PASSWORD_ENV}); "
                        "never on the command line")
    g.add_argument("--insecure", action="store_true",
                   help="allow plain mqtt:// to a host that is not on the loopback interface")


def add_room_arguments(parser: argparse.ArgumentParser) -> None:
    """The room's options: the broker's plus --room, --allow-remote-ack, --central-patient."""
    parser.add_argument("--room", metavar="NAME",
                        help="publish this room to the central station (needs --broker)")
    add_broker_arguments(parser)
    parser.add_argument("--allow-remote-ack", action="store_true",
                        help="apply alarm acknowledgements from the central station "
                             "(audio pause is never remote)")
    parser.add_argument("--central-patient", choices=("none", "initials"), default="none",
                        help="what identifies the patient on the central station "
                             "(default none)")


def _password(args: argparse.Namespace) -> str | None:
    path: Path | None = args.broker_password_file
    if path is None:
        return os.environ.get(PASSWORD_ENV) or None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise BrokerConfigError(f"--broker-password-file {path}: cannot read it "
                                f"({e.strerror})") from None
    except UnicodeDecodeError:
        raise BrokerConfigError(f"--broker-password-file {path}: not UTF-8 text") from None
    password = text.rstrip("\r\n")
    if not password:
        raise BrokerConfigError(f"--broker-password-file {path}: the file is empty")
    return password


def broker_config(args: argparse.Namespace, default_user: str = BOARD_USER
                  ) -> BrokerConfig | None:
    """The broker to use from parsed options, None when there is no --broker;
    BrokerConfigError (exit 2) for anything that cannot be used."""
    if args.broker is None:
        for opt in ("broker_ca", "broker_user", "broker_password_file"):
            if getattr(args, opt) is not None:
                raise BrokerConfigError(f"--{opt.replace('_', '-')} needs --broker")
        return None
    tls, host, port = parse_broker_url(args.broker)
    if not tls and not is_loopback(host) and not args.insecure:
        raise BrokerConfigError(
            f"--broker {args.broker}: plain mqtt:// to {host}, which is not this computer, "
            "would send vital signs unencrypted; use mqtts:// (with --broker-ca), or "
            "--insecure if the site accepts it")
    ca: Path | None = args.broker_ca
    if ca is not None and not tls:
        raise BrokerConfigError("--broker-ca needs an mqtts:// broker")
    if ca is not None and not ca.is_file():
        raise BrokerConfigError(f"--broker-ca {ca}: no such file")
    return BrokerConfig(host, port, tls, ca, args.broker_user or default_user,
                        _password(args), bool(args.insecure))


def room_config(args: argparse.Namespace) -> RoomConfig | None:
    """The room's publishing set-up from `add_room_arguments`' options; None when the room
    does not publish; BrokerConfigError (exit 2) for options that do not fit together."""
    room: str | None = args.room
    if room is not None and not valid_room(room):
        raise BrokerConfigError(f"--room {room!r}: a room name is 1-32 letters, digits, "
                                f"'_' or '-' ({ROOM_RE.pattern})")
    if room is None:
        if args.broker is not None:
            raise BrokerConfigError("--broker needs --room NAME (the room to publish as)")
        if args.allow_remote_ack:
            raise BrokerConfigError("--allow-remote-ack needs --room and --broker")
        broker_config(args)  # refuses a lone --broker-ca etc.
        return None
    broker = broker_config(args, default_user=room)
    if broker is None:
        raise BrokerConfigError("--room needs --broker URL")
    return RoomConfig(room, broker, bool(args.allow_remote_ack), args.central_patient)
