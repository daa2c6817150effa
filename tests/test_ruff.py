"""ruff on the whole tree, with the rules `[tool.ruff]` in pyproject.toml selects."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers.paths import REPO


def test_ruff_clean() -> None:
    # --no-cache: the verdict is on the tree as it is, not on what an earlier run remembered.
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All checks passed" in proc.stdout, proc.stdout
