"""Data flows one way: the stages that find and solve a plan never import the stages that word,
write or print it (docs/architecture.md). Imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import planner

PACKAGE = Path(planner.__file__).parent
LOWER = ("project", "targets", "index", "sources", "previous", "encode", "solve", "plan")
HIGHER = ("explain", "generate", "cli")


def _imported_stages(path: Path) -> set[str]:
    stages = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
            [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        stages |= {name.split(".")[1] for name in names if name.startswith("planner.")}
    return stages


def test_lower_stages_never_import_higher_ones() -> None:
    wrong = {f"{path.relative_to(PACKAGE.parent)} imports planner.{stage}"
             for folder in LOWER for path in sorted((PACKAGE / folder).rglob("*.py"))
             for stage in _imported_stages(path) & set(HIGHER)}
    assert sorted(wrong) == []
    # The check reads real imports: the explainer does import the solver.
    assert "solve" in _imported_stages(PACKAGE / "explain" / "plan.py")
