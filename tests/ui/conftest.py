"""UI test fixtures: offscreen Qt, the dashboard rig with fakes at its edges."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_fakes import Rig, shown_rig

# The offscreen platform warns on every top-level window; it says nothing about Vigil.
_OFFSCREEN_NOISE = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(_OFFSCREEN_NOISE)


@pytest.fixture
def shots_dir(tmp_path: Path) -> Path:
    """Where a test saves its screenshots: docs/screenshots/ with VIGIL_SCREENSHOTS=1 (for
    the README), else the test's own directory."""
    if os.environ.get("VIGIL_SCREENSHOTS"):
        out = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
        out.mkdir(parents=True, exist_ok=True)
        return out
    return tmp_path


@pytest.fixture
def rig(qtbot, tmp_path: Path) -> Iterator[Rig]:
    with shown_rig(qtbot, tmp_path) as r:
        yield r
