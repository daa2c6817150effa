"""The UI learns what a source can do from the Protocols in ui/sources.py, never by probing
it: no `hasattr` anywhere under ui/ (mypy then checks every source against its Protocol)."""

from __future__ import annotations

import ast
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "ui"


def test_no_module_of_the_ui_probes_its_sources_with_hasattr() -> None:
    found = []
    modules = sorted(UI.glob("*.py"))
    assert len(modules) > 10  # the UI is there to be read
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "hasattr"):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []
