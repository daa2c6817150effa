"""Fixtures for the central station: a real Mosquitto (see tests/central/broker.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.central.broker import Mosquitto, missing


@pytest.fixture(scope="session")
def mosquitto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One broker per test process: TLS, password file for room-1..room-4 and board, the
    shipped ACL, persistence in a private directory."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def mosquitto(mosquitto_server: Mosquitto) -> Mosquitto:
    """The running broker, with no retained room state left from an earlier test."""
    if mosquitto_server.proc is None:  # a test stopped it
        mosquitto_server.start()
    mosquitto_server.clear_retained()
    return mosquitto_server
