"""The architecture's hard lines, checked on every run."""

from __future__ import annotations

import importlib
import pkgutil
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LINTER = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACTS = LINTER["contracts"]
LAYERS = next(c for c in CONTRACTS if c["type"] == "layers")["layers"]


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_import_contracts_hold() -> None:
    """import-linter: the core imports no Qt, and the layers hold (pyproject.toml)."""
    proc = _lint_imports(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken" in proc.stdout


def test_every_module_has_a_layer() -> None:
    """A module in no layer is unchecked: each root package, and each module of monitor/
    (split between the ground and the composition), is in exactly one layer."""
    placed = [m for layer in LAYERS for m in re.split(r"[|:]", layer)]
    placed = [m.strip() for m in placed if m.strip()]
    assert len(placed) == len(set(placed)), "a module is in two layers"
    roots = sorted(p.parent.name for p in REPO.glob("*/__init__.py") if p.parent.name != "tests")
    assert sorted(LINTER["root_packages"]) == roots
    import monitor
    expected = {f"monitor.{m.name}" for m in pkgutil.iter_modules(monitor.__path__)}
    # A package of monitor/ may be split between layers (monitor.central: its payloads are
    # ground, its publisher composition): then each of its modules is placed.
    for m in pkgutil.iter_modules(monitor.__path__):
        name = f"monitor.{m.name}"
        if m.ispkg and any(p.startswith(name + ".") for p in placed):
            package = importlib.import_module(name)
            expected.remove(name)
            expected |= {f"{name}.{s.name}" for s in pkgutil.iter_modules(package.__path__)}
    expected |= set(roots) - {"monitor"}
    assert set(placed) == expected, "place the new module in a layer in pyproject.toml"


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    """The contracts can fail: a copy of the code with imports that go up is refused."""
    for name in (*LINTER["root_packages"], "pyproject.toml"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, tmp_path / name)
    upward = {"alarms/log.py": "monitor.store",       # alarms on the composition
              "devices/base.py": "monitor.runtime",   # a driver on the runtime
              "devices/replay.py": "alarms.model",    # one sibling on the other
              "monitor/clock.py": "alarms.model",     # the ground on alarms
              "monitor/vitals.py": "monitor.validity",  # inside the ground, upward
              "monitor/recorder.py": "ui.theme"}      # the composition on the UI
    for path, target in upward.items():
        with (tmp_path / path).open("a") as f:
            f.write(f"\nimport {target}\n")
    proc = _lint_imports(tmp_path)
    assert proc.returncode != 0, proc.stdout
    for path, target in upward.items():
        importer = path.removesuffix(".py").replace("/", ".")
        assert re.search(rf"^- {re.escape(importer)} -> {re.escape(target)} ", proc.stdout,
                         re.M), f"{importer} -> {target} not refused:\n{proc.stdout}"


def test_core_runs_without_qt_loaded() -> None:
    code = ("import sys, pkgutil, importlib\n"
            "import monitor, alarms, devices\n"
            "for pkg in (monitor, alarms, devices):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "        importlib.import_module(m.name)\n"
            "import main\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'ui')]\n"
            "print(bad)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_ruff_clean() -> None:
    proc = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout
