"""Regression guard for the PySide6 6.12.0 / CPython 3.11 crash.

PySide6 6.12.0 drops a reference to None on every Qt call that returns nothing; on 3.11,
where None is not immortal, the process aborts with `Fatal Python error: none_dealloc`
after a few thousand calls (a pyqtgraph plot repainting for a second). pyproject pins
PySide6 < 6.12 for Python < 3.12; this test fails the moment a bump breaks that.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

CALLS = 10_000


def test_ten_thousand_qt_calls_returning_none_survive() -> None:
    code = (
        "import sys\n"
        "from PySide6.QtGui import QPen, QGuiApplication\n"
        "app = QGuiApplication([])\n"
        "pen = QPen()\n"
        "before = sys.getrefcount(None)\n"
        f"for _ in range({CALLS}):\n"
        "    pen.setWidth(1)\n"
        "print(sys.getrefcount(None) - before)\n"
    )
    # A subprocess: the failure mode is an abort that would take pytest down with it.
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={"QT_QPA_PLATFORM": "offscreen",
                                            "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert "none_dealloc" not in proc.stderr
    leaked = int(proc.stdout.strip().splitlines()[-1])
    assert leaked > -CALLS // 2, f"None lost {-leaked} references over {CALLS} calls"


def test_installed_pyside_respects_the_pin() -> None:
    major, minor = (int(x) for x in version("PySide6_Essentials").split(".")[:2])
    if sys.version_info < (3, 12):
        assert (6, 8) <= (major, minor) < (6, 12)
