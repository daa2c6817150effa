"""PROVISIONAL (board branch): replaced by the room engineer's module on merge."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    host: str
    port: int
    tls: bool
    ca: Path | None
    user: str | None
    password: str | None


def add_broker_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker", metavar="URL")
    p.add_argument("--broker-ca", type=Path)
    p.add_argument("--broker-user")
    p.add_argument("--broker-password-file", type=Path)
    p.add_argument("--insecure", action="store_true")


def broker_config(args: argparse.Namespace, default_user: str | None = None) -> BrokerConfig:
    u = urlsplit(args.broker)
    password = os.environ.get("VIGIL_MQTT_PASSWORD")
    if args.broker_password_file:
        password = args.broker_password_file.read_text().strip()
    return BrokerConfig(u.hostname or "", u.port or 1883, u.scheme == "mqtts", args.broker_ca,
                        args.broker_user or default_user, password)
