"""mypy on what `[tool.mypy]` in pyproject.toml names: --strict on the Qt-free core."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from tests.helpers.paths import REPO

CORE = {"monitor.*", "alarms.*", "devices.*"}
# What --strict turns on, per module (mypy 1.x); the global ones are in [tool.mypy].
STRICT_PER_MODULE = {
    "disallow_any_generics": True, "disallow_subclassing_any": True,
    "disallow_untyped_calls": True, "disallow_untyped_defs": True,
    "disallow_incomplete_defs": True, "check_untyped_defs": True,
    "disallow_untyped_decorators": True, "warn_return_any": True,
    "implicit_reexport": False, "strict_equality": True, "extra_checks": True}
STRICT_GLOBAL = ("warn_unused_configs", "warn_redundant_casts", "warn_unused_ignores",
                 "strict_bytes")


def test_core_is_checked_strictly() -> None:
    """The configuration itself: a package or a flag dropped from the core fails here."""
    mypy = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]
    assert {"monitor", "alarms", "devices", "ui", "main.py"} <= set(mypy["files"])
    assert all(mypy.get(flag) is True for flag in STRICT_GLOBAL)
    core = [o for o in mypy["overrides"] if set(o["module"]) >= CORE]
    assert core and all(core[0].get(k) is v for k, v in STRICT_PER_MODULE.items()), core
    for o in mypy["overrides"]:  # no module of ours exempted; untyped libraries only
        assert not o.get("ignore_errors") and not o.get("disable_error_code"), o
        assert not o.get("ignore_missing_imports") or not any(
            m.split(".")[0] in ("monitor", "alarms", "devices", "ui") for m in o["module"]), o


def test_mypy_clean() -> None:
    # The incremental cache (.mypy_cache, ignored by git) makes a re-run take ~2 s.
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
