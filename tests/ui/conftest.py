"""UI test fixtures: offscreen Qt, the dashboard rig with fakes at its edges."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_fakes import Rig, make_rig

# The offscreen platform warns on every top-level window; it says nothing about Vigil.
_OFFSCREEN_NOISE = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(_OFFSCREEN_NOISE)


@pytest.fixture
def rig(qtbot, tmp_path: Path) -> Iterator[Rig]:
    r = make_rig(tmp_path)
    qtbot.addWidget(r.window)
    r.window.show()
    qtbot.waitExposed(r.window)
    r.window.start()
    try:
        yield r
    finally:
        r.window.close()
        r.io.stop()
