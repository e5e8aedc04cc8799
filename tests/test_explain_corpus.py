"""The unsatisfiable corpus (`tests/unsat/`, format in tests/unsat/README.md).

For each case: the target has no plan; its explanation names exactly the expected facts; those
facts are a minimal conflict (checked here by solving again in a fresh explaining solver: all of
them have no model, each subset missing one has one); every fix yields a plan when the target is
solved again on the edited project with a fresh provider; the message is short and speaks the
user's terms.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from planner.explain.plan import explain_plan
from planner.plan.model import Plan
from planner.project.loader import load_project
from planner.solve.memory import MemoryProvider
from planner.solve.objective import solve_plan
from planner.solve.target_solver import TargetSolver
from planner.targets.resolve import resolve_targets
from tests.test_scenarios import _releases

CORPUS = Path(__file__).parent / "unsat"
CASE_KEYS = {"description", "target", "pyproject", "index", "expected"}
EXPECTED_KEYS = {"facts", "fixes", "mentions", "max-lines"}
DEFAULT_MAX_LINES = 14
# Solver-internal spellings that must never reach a message.
INTERNAL = re.compile(r"aux:|fact:|@pypi|==\S+@|\bpublic==|\{sys_platform|extra == ")


def _cases() -> list[Any]:
    paths = sorted(CORPUS.glob("*.toml"))
    assert len(paths) >= 15, "the corpus needs at least 15 cases"
    return [pytest.param(path, id=path.stem) for path in paths]


def _load(path: Path, tmp_path: Path) -> tuple[dict[str, Any], Any, Any, dict[str, Any]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert set(data) <= CASE_KEYS, f"{path.name}: unknown keys {sorted(set(data) - CASE_KEYS)}"
    assert set(data["expected"]) <= EXPECTED_KEYS, f"{path.name}: unknown expected keys"
    (tmp_path / "pyproject.toml").write_text(data["pyproject"], encoding="utf-8")
    project = load_project(tmp_path)
    targets = resolve_targets(project).targets
    indexes = {name: _releases(path, name, raw) for name, raw in data["index"].items()}
    return data, project, targets, indexes


def _solve(project: Any, targets: Any, indexes: Any) -> Plan:
    provider = MemoryProvider(project, indexes)
    return explain_plan(project, solve_plan(project, targets, provider, "per-target"), provider)


@pytest.mark.parametrize("path", _cases())
def test_unsat_case(path: Path, tmp_path: Path) -> None:
    data, project, targets, indexes = _load(path, tmp_path)
    expected = data["expected"]
    target = next(t for t in targets if t.name == data["target"])
    plan = _solve(project, [target], indexes)
    assert [u.target.name for u in plan.unsatisfiable] == [target.name], f"{path.name}: the target has a plan"
    unsat = plan.unsatisfiable[0]
    explanation = unsat.explanation
    assert explanation is not None and explanation.complete

    # 1. exactly the expected facts
    labels = sorted(label for fact in explanation.facts for label in fact.labels)
    assert labels == sorted(expected["facts"]), unsat.message

    # 2. minimal: re-solved in a fresh explaining solver, switching facts on by label
    wanted = set(labels)

    def holds(only: set[str]) -> bool:
        solver = TargetSolver(project, target, MemoryProvider(project, indexes), explain=True)
        return solver.solve(facts=lambda key: solver.formula.facts[key].label in only)

    assert not holds(wanted), f"{path.name}: the facts shown do not conflict"
    for label in labels:
        assert holds(wanted - {label}), f"{path.name}: not minimal, '{label}' is not needed"

    # 3. every fix yields a plan, solved again on the edited project with a fresh provider
    assert explanation.fixes, f"{path.name}: no fix found\n{unsat.message}"
    kinds = {change.kind for fix in explanation.fixes for change in fix.changes}
    missing = set(expected.get("fixes", ())) - kinds
    assert not missing, f"{path.name}: fixes lack {sorted(missing)}\n{unsat.message}"
    for fix in explanation.fixes:
        edited, moved = fix.applied
        if moved is None:  # the target is dropped: nothing left to solve for it
            assert any(c.kind == "drop-target" for c in fix.changes)
            continue
        again = _solve(edited, [moved], indexes)
        assert not again.unsatisfiable, f"{path.name}: fix '{fix.text}' gives no plan"

    # 4. short, in the user's terms
    lines = unsat.message.splitlines()
    assert len(lines) <= expected.get("max-lines", DEFAULT_MAX_LINES), unsat.message
    assert not INTERNAL.search(unsat.message), unsat.message
    for text in expected.get("mentions", ()):
        assert text in unsat.message, f"{path.name}: message lacks {text!r}\n{unsat.message}"
