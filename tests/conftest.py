"""Shared fixtures. Qt runs offscreen; core tests never create a QApplication."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.paths import MIMIC_CSV
from tests.pulse import PulseServer, missing_binaries

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def mimic_csv() -> Path:
    """The real MIMIC-II recording beside the repository; the test skips without it."""
    if not MIMIC_CSV.is_file():
        pytest.skip(f"needs the shared recording {MIMIC_CSV} (../shared is not beside the "
                    "repository here)")
    return MIMIC_CSV


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "vigil.sqlite3"


_OUR_THREADS = ("device-io", "store-writer")


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fails a test that leaves the device thread or a store writer running."""
    before = {t.ident for t in threading.enumerate()}
    yield
    leaked = [t.name for t in threading.enumerate()
              if t.ident not in before and t.name in _OUR_THREADS and t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"


@pytest.fixture
def pulse_server() -> Iterator[PulseServer]:
    """A started private PulseAudio server with the null sink `vigil_test` (tests/pulse.py);
    stopped after the test. Skips only when not root and PulseAudio is not installed."""
    if (missing := missing_binaries()) and os.geteuid() != 0:
        pytest.skip(f"needs {missing} (scripts/bootstrap.sh installs them as root)")
    server = PulseServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()
