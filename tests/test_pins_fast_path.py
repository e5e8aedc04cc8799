"""The fast path with pins (encodings/SPEC.md, "The fast path with pins"): a re-compile whose pins
all stand solves with each pinned package the project does not require directly narrowed to its
pinned candidate; where that could answer differently from the full solve, the full solve runs.
Either way the plan is the full solve's, to the last refusal and hold."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

from planner.plan.model import Plan, SolveStats
from planner.previous.model import Pin
from planner.project.loader import load_project
from planner.solve.memory import MemoryProvider, Release
from planner.solve.objective import solve_plan
from planner.targets.resolve import resolve_targets

UNIVERSE = {"pypi": [
    Release("app", "1.0", ("lib>=1",)), Release("app", "2.0", ("lib>=1",)),
    Release("lib", "1.0"), Release("lib", "2.0"),
    Release("extra-tool", "1.0"),
    Release("needs-new-lib", "1.0", ("lib>=2",)),
    Release("newer-needs-lib", "1.0"), Release("newer-needs-lib", "2.0", ("lib>=2",)),
    Release("needs-new-app", "1.0", ("app>=2",)),
]}


def _project(tmp_path: Path, dependencies: list[str], *, targets: tuple[str, ...] = ("lin",), more: str = ""):
    platforms = {"lin": "linux-x86_64", "mac": "macos-arm64"}
    text = "\n".join([
        "[project]", 'name = "demo"', 'version = "0.1"', 'requires-python = ">=3.11"',
        f"dependencies = {dependencies!r}".replace("'", '"'), more,
        *(line for name in targets for line in
          (f"[tool.planner.targets.{name}]", f'platform = "{platforms[name]}"', 'python = "3.11"')),
    ]) + "\n"
    (tmp_path / "pyproject.toml").write_text(text)
    project = load_project(tmp_path)
    return project, resolve_targets(project).targets, MemoryProvider(project, UNIVERSE)


def _pins(**versions: str) -> dict[str, Pin]:
    return {name: Pin(name, Version(version), "pypi") for name, version in versions.items()}  # type: ignore[misc]


def _versions(plan: Plan, target: str = "lin") -> dict[str, str]:
    return {p.name: str(p.version) for p in plan.for_target(target).packages}


def _same_as_full(plan: Plan, project, targets, provider, previous) -> None:  # type: ignore[no-untyped-def]
    """The plan is the full solve's, every part of it (the solving counters aside)."""
    full = solve_plan(project, targets, provider, previous=previous, narrow=False)
    assert full.pin_solve == ""

    def bare(p: Plan) -> Plan:
        return replace(p, targets=tuple(replace(t, stats=SolveStats()) for t in p.targets))

    assert bare(plan) == bare(full)


def test_a_dependency_added_beside_standing_pins_is_solved_with_the_pins_narrowed(tmp_path: Path) -> None:
    project, targets, provider = _project(tmp_path, ["app", "extra-tool"])
    previous = {"lin": _pins(app="1.0", lib="1.0")}
    plan = solve_plan(project, targets, provider, previous=previous)
    _same_as_full(plan, project, targets, provider, previous)
    assert plan.pin_solve == "narrowed"
    # lib, which only app requires, had its pinned candidate alone (app, a direct requirement, all of its)
    assert plan.for_target("lin").stats.narrowed == 1
    assert _versions(plan) == {"app": "1.0", "lib": "1.0", "extra-tool": "1.0"}
    # app is held by its pin (named as such), as the full solve says
    assert [(h.package, h.cause) for h in plan.for_target("lin").holds] == [("app", "pin")]


def test_a_new_dependency_that_needs_a_pinned_package_to_move_falls_back_to_the_full_solve(tmp_path: Path) -> None:
    project, targets, provider = _project(tmp_path, ["app", "needs-new-lib"])
    previous = {"lin": _pins(app="1.0", lib="1.0")}
    plan = solve_plan(project, targets, provider, previous=previous)
    _same_as_full(plan, project, targets, provider, previous)
    assert plan.pin_solve == "full: a target has no plan with its pins kept"
    assert plan.for_target("lin").stats.narrowed == 0
    assert _versions(plan) == {"app": "1.0", "lib": "2.0", "needs-new-lib": "1.0"}


def test_a_new_dependency_that_moves_a_direct_requirement_falls_back_to_the_full_solve(tmp_path: Path) -> None:
    """Direct requirements are never narrowed (what holds them back reads their other versions):
    app's pin has a keep literal, as in the full solve, and the fewest pins move there."""
    project, targets, provider = _project(tmp_path, ["app", "needs-new-app"])
    previous = {"lin": _pins(app="1.0", lib="1.0")}
    plan = solve_plan(project, targets, provider, previous=previous)
    _same_as_full(plan, project, targets, provider, previous)
    assert plan.pin_solve == "full: some pin cannot be kept"
    assert _versions(plan) == {"app": "2.0", "lib": "1.0", "needs-new-app": "1.0"}


def test_a_new_dependency_held_back_by_a_narrowed_pin_falls_back_to_the_full_solve(tmp_path: Path) -> None:
    """The newest newer-needs-lib needs lib 2: the pin on lib holds it at 1.0. The full solve
    names that pin; the narrowed formula cannot tell a pin from a conflict there."""
    project, targets, provider = _project(tmp_path, ["app", "newer-needs-lib"])
    previous = {"lin": _pins(app="1.0", lib="1.0")}
    plan = solve_plan(project, targets, provider, previous=previous)
    _same_as_full(plan, project, targets, provider, previous)
    assert plan.pin_solve == "full: a pin or a conflict holds newer-needs-lib back on lin"
    assert _versions(plan)["newer-needs-lib"] == "1.0"
    hold = next(h for h in plan.for_target("lin").holds if h.package == "newer-needs-lib")
    assert (hold.cause, hold.by) == ("pin", "lib")


def test_a_pin_the_new_requirements_exclude_is_planned_afresh_on_the_fast_path(tmp_path: Path) -> None:
    """A constraint now excludes lib 1.0: that pin no longer stands (no keep literal, in both
    paths), lib is decided in full, and the other pins stay narrowed."""
    project, targets, provider = _project(tmp_path, ["app"], more='[tool.uv]\nconstraint-dependencies = ["lib>=2"]')
    previous = {"lin": _pins(app="1.0", lib="1.0")}
    plan = solve_plan(project, targets, provider, previous=previous)
    _same_as_full(plan, project, targets, provider, previous)
    assert plan.pin_solve == "narrowed"
    assert plan.for_target("lin").stats.narrowed == 0
    assert _versions(plan) == {"app": "1.0", "lib": "2.0"}


def test_pins_at_other_versions_on_aligned_targets_fall_back_to_the_full_solve(tmp_path: Path) -> None:
    """lin and mac align (one Python) but their pins of lib differ: deciding lib tries the
    versions the other target keeps, which narrowed candidates lack."""
    project, targets, provider = _project(tmp_path, ["app"], targets=("lin", "mac"))
    previous = {"lin": _pins(app="1.0", lib="1.0"), "mac": _pins(app="1.0", lib="2.0")}
    plan = solve_plan(project, targets, provider, previous=previous)
    _same_as_full(plan, project, targets, provider, previous)
    assert plan.pin_solve.startswith("full: lib is not kept at one version")
    assert (_versions(plan, "lin")["lib"], _versions(plan, "mac")["lib"]) == ("1.0", "2.0")
    assert [d.package for d in plan.divergences] == ["lib"]


def test_no_fast_path_without_pins_with_upgrades_or_when_the_formula_is_written(tmp_path: Path) -> None:
    project, targets, provider = _project(tmp_path, ["app", "extra-tool"])
    previous = {"lin": _pins(app="1.0", lib="1.0")}
    assert solve_plan(project, targets, provider).pin_solve == ""
    upgraded = solve_plan(project, targets, provider, previous={"lin": _pins(app="1.0")},
                          upgrade=[canonicalize_name("lib")])
    assert upgraded.pin_solve == "" and _versions(upgraded)["lib"] == "2.0"
    formulas: dict = {}
    written = solve_plan(project, targets, provider, "per-python", formulas, previous=previous)
    assert written.pin_solve == "" and written.for_target("lin").stats.narrowed == 0 and formulas
