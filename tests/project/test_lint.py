"""ruff (lint and format), mypy and the import-layer contract are part of the suite, so CI keeps
the tree clean and the imports running one way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "ruff", "check", "."],
        [sys.executable, "-m", "ruff", "format", "--check", "."],
        [sys.executable, "-m", "mypy"],
        [str(Path(sys.executable).with_name("lint-imports"))],
    ],
    ids=["ruff-check", "ruff-format", "mypy", "lint-imports"],
)
def test_tool_is_clean(command: list[str]) -> None:
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_import_cycle_anywhere_in_monitor() -> None:
    """Layers say which way stages import; this also forbids circles inside one package."""
    import grimp

    graph = grimp.build_graph("monitor")
    circles = sorted(
        {
            tuple(sorted((module, imported)))
            for module in graph.modules
            for imported in graph.find_modules_directly_imported_by(module)
            if graph.chain_exists(importer=imported, imported=module)
        }
    )
    assert circles == [], f"modules that import each other, directly or through others: {circles}"


def test_no_module_over_500_lines() -> None:
    """Split by job: a module past 500 lines is doing several (migrations aside)."""
    long = {
        str(path.relative_to(REPO)): n
        for path in (REPO / "monitor").rglob("*.py")
        if "migrations" not in path.parts and (n := len(path.read_text().splitlines())) > 500
    }
    assert long == {}
