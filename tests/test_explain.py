"""Unit tests of the explainer: why / why-not, divergence and held-back reasons, JSON documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.explain.document import divergence_document, unsatisfiable_document, why_document, why_not_document
from planner.explain.plan import explain_plan
from planner.explain.why import why, why_not
from planner.project.loader import load_project
from planner.solve.memory import MemoryProvider, Release
from planner.solve import objective
from planner.solve.target_solver import TargetSolver
from planner.targets.resolve import resolve_targets

TWO_MACS = '''
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["torchvision"]

[tool.planner.targets.linux]
platform = "linux-x86_64"
python = "3.11"

[tool.planner.targets.intel-mac]
platform = "macos-x86_64"
python = "3.11"
'''
LINUX, OLD_MAC, ARM_MAC = "cp311-cp311-manylinux_2_17_x86_64", "cp311-none-macosx_10_9_x86_64", "cp311-none-macosx_11_0_arm64"
UNIVERSE = {"pypi": [
    Release("torch", "2.2.2", tag=LINUX), Release("torch", "2.2.2", tag=OLD_MAC),
    Release("torch", "2.5.1", tag=LINUX), Release("torch", "2.5.1", tag=ARM_MAC),
    Release("torchvision", "0.17.2", ("torch==2.2.2",)), Release("torchvision", "0.20.1", ("torch==2.5.1",)),
]}


def solve_plan(project, targets, provider, alignment="per-python"):  # type: ignore[no-untyped-def]
    """The plan as compile has it: solved, then worded and explained."""
    return explain_plan(project, objective.solve_plan(project, targets, provider, alignment), provider)


@pytest.fixture
def universe(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text(TWO_MACS, encoding="utf-8")
    project = load_project(tmp_path)
    targets = resolve_targets(project).targets
    return project, targets, MemoryProvider(project, UNIVERSE)


def test_divergence_names_the_forcing_fact(universe) -> None:
    project, targets, provider = universe
    plan = solve_plan(project, targets, provider, "per-target")
    divergent = {d.package: d for d in plan.divergences}
    torch = divergent["torch"]
    assert torch.reason.startswith("intel-mac cannot take torch 2.5.1: torch 2.5.1 on pypi: no wheel for macosx_13_0_x86_64/cp311")
    assert [f.labels for f in torch.facts] == [("artifact torch 2.5.1 pypi",)]
    labels = {label for fact in divergent["torchvision"].facts for label in fact.labels}
    assert labels == {"dependency torchvision 0.20.1 torch==2.5.1", "artifact torch 2.5.1 pypi"}
    document = divergence_document(divergent["torch"])
    assert document["choices"] == {"linux": "2.5.1 [pypi]", "intel-mac": "2.2.2 [pypi]"}
    assert document["facts"][0]["kind"] == "artifact" and json.dumps(document)


def test_held_back_reason_names_the_other_target(universe) -> None:
    project, targets, provider = universe
    plan = solve_plan(project, targets, provider)  # per-python: linux is held back to align
    [held] = [h for h in plan.held_back if h.package == "torchvision"]
    assert held.target == "linux" and "intel-mac cannot take torchvision 0.20.1" in held.reason
    assert "no wheel for macosx_13_0_x86_64/cp311" in held.reason


def test_why_and_why_not(universe) -> None:
    project, targets, provider = universe
    plan = solve_plan(project, targets, provider, "per-target")
    answers = {a.target: a for a in why(project, plan, provider, "torch")}
    assert answers["linux"].newest and answers["linux"].version == "2.5.1"
    mac = answers["intel-mac"]
    assert mac.chains == (("torchvision (pyproject.toml:6)", "torchvision 0.17.2 requires torch==2.2.2"),)
    assert [r.version for r in mac.newer] == ["2.5.1"]
    assert "no wheel for macosx_13_0_x86_64/cp311" in mac.newer[0].text
    assert why_document(mac)["newer"][0]["facts"][0]["kind"] == "artifact"

    mac_target = next(t for t in targets if t.name == "intel-mac")
    answer = why_not(project, plan, provider, "torchvision", "0.20.1", mac_target)
    assert answer.planned == "0.17.2"
    assert [f.text for f in answer.reason.facts] == [
        "torchvision 0.20.1 requires torch==2.5.1",
        "torch 2.5.1 on pypi: no wheel for macosx_13_0_x86_64/cp311 (available: macosx_11_0_arm64, manylinux_2_17_x86_64)",
    ]
    assert why_not_document(answer)["planned"] == "0.17.2"
    missing = why_not(project, plan, provider, "torch", "9.0", mac_target)
    assert missing.reason.note == "torch 9.0 is not on pypi (it has 2.2.2, 2.5.1)"


def test_unsatisfiable_document(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(TWO_MACS.replace('["torchvision"]', '["torchvision==0.20.1"]'))
    project = load_project(tmp_path)
    plan = solve_plan(project, resolve_targets(project).targets, MemoryProvider(project, UNIVERSE))
    [unsat] = plan.unsatisfiable
    document = unsatisfiable_document(unsat)
    assert document["target"] == "intel-mac" and document["complete"] is True
    assert [f["kind"] for f in document["facts"]] == ["requirement", "dependency", "artifact"]
    assert document["facts"][0]["location"] == {"file": "pyproject.toml", "line": 6, "key": "project.dependencies[0]"}
    assert document["fixes"][0]["changes"][0]["kind"] == "relax-requirement"
    assert "the plan then takes torchvision 0.17.2" in document["fixes"][0]["text"]
    json.dumps(document)


def test_normal_formula_has_no_selectors(universe) -> None:
    project, targets, provider = universe
    plain = TargetSolver(project, targets[0], provider)
    explaining = TargetSolver(project, targets[0], provider, explain=True)
    assert plain.solve() and explaining.solve()
    assert not plain.formula.selectors and "fact:" not in plain.formula.to_dimacs()
    assert explaining.formula.selectors


class _BrokenMetadata(MemoryProvider):
    """A provider whose metadata of one version cannot be used (an sdist needing a build, say)."""

    def metadata(self, artifacts):  # type: ignore[no-untyped-def]
        from planner.solve.provider import Unusable

        out = dict(super().metadata(artifacts))
        for artifact in artifacts:
            if artifact.name == "torchvision" and str(artifact.version) == "0.20.1":
                out[artifact] = Unusable("its metadata cannot be read")
        return out


def test_unusable_version_is_a_fact(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(TWO_MACS.replace('["torchvision"]', '["torchvision==0.20.1"]'))
    project = load_project(tmp_path)
    linux = next(t for t in resolve_targets(project).targets if t.name == "linux")
    plan = solve_plan(project, [linux], _BrokenMetadata(project, UNIVERSE))
    [unsat] = plan.unsatisfiable
    labels = {label for fact in unsat.explanation.facts for label in fact.labels}
    assert labels == {"requirement torchvision==0.20.1", "unusable torchvision 0.20.1"}
    assert "cannot be used: its metadata cannot be read" in unsat.message




WIDE = '''
[project]
name = "wide"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["sdk", "core<2"]

[tool.planner.targets.linux]
platform = "linux-x86_64"
python = "3.11"
'''
# sdk needs core>=2, which the project forbids; core 2.0 pulls in twenty packages, each with two
# versions and a dependency of its own.
WIDE_UNIVERSE = {"pypi": [
    Release("sdk", "1.0", ("core>=2",)), Release("core", "1.0"),
    Release("core", "2.0", tuple(f"dep{i}" for i in range(20))),
    *(Release(f"dep{i}", v, (f"leaf{i}",)) for i in range(20) for v in ("1.0", "2.0")),
    *(Release(f"leaf{i}", "1.0") for i in range(20)),
]}


def test_a_minimal_set_leaves_out_what_its_checks_expand(tmp_path: Path) -> None:
    """Checking that `core<2` is needed (by dropping it) gives a model that reaches and expands
    core 2.0's twenty dependencies; their facts stay out of the set instead of joining the facts
    still to check, so each of the three facts costs one solve."""
    from planner.solve.mus import minimal_core

    (tmp_path / "pyproject.toml").write_text(WIDE, encoding="utf-8")
    project = load_project(tmp_path)
    [target] = resolve_targets(project).targets
    solver = TargetSolver(project, target, MemoryProvider(project, WIDE_UNIVERSE), explain=True)
    core = minimal_core(solver, budget=3, deadline=float("inf"))
    assert core is not None and core.complete
    assert sorted(f.text for f in core.facts) == [
        "sdk 1.0 requires core>=2", "the project requires core<2 (dependencies)", "the project requires sdk (dependencies)"]
