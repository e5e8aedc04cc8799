"""Derived targets are best effort; declared targets are strict (docs/targets.md).

A derived target activates every extra and group of its combination on its platform and Python.
When it has no plan, each extra and group is tried on its own with the project's dependencies:
one that cannot be installed there even alone (a Linux-only `vllm` extra on macOS, a package with
no wheel for the newest Python) is left out of that target, with the facts that keep it out and
how to make that explicit; the rest must then install together, or the target has no plan as
before. The project's dependencies alone having no plan is never papered over.

Declared targets are never reduced: the user said what each must install.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from planner.encode.formula import FactKind
from planner.plan.model import LeftOut
from planner.project.model import Project
from planner.solve.mus import minimal_core
from planner.solve.provider import Provider
from planner.solve.target_solver import TargetSolver
from planner.targets.model import Target
from planner.targets.separate import separating_marker


def reduce_target(project: Project, target: Target, provider: Provider) -> tuple[Target, tuple[LeftOut, ...]]:
    """`target` without the extras and groups it cannot install even alone, and those, with their facts.
    Unchanged when the project's dependencies alone have no plan there (that is no best effort)."""
    base = replace(target, extras=(), groups=())
    if not (target.extras or target.groups) or not TargetSolver(project, base, provider).solve():
        return target, ()
    kept_extras, kept_groups, left = [], [], []
    for kind, names, kept in (("extra", target.extras, kept_extras), ("group", target.groups, kept_groups)):
        for name in names:
            alone = replace(base, extras=(name,)) if kind == "extra" else replace(base, groups=(name,))
            item = None if TargetSolver(project, alone, provider).solve() else _left_out(project, alone, provider,
                                                                                         kind, name)
            if item is None:
                kept.append(name)
            else:
                left.append(item)
    return replace(target, extras=tuple(kept_extras), groups=tuple(kept_groups)), tuple(left)


def _left_out(project: Project, alone: Target, provider: Provider, kind: str, name: str) -> LeftOut | None:
    """Why `alone` (the project's dependencies plus one extra or group) has no plan, when that is
    a matter of the platform: no file of some version fits it (tags, Python). Anything else (pins
    that clash everywhere, a runtime the stated accelerator rules out) is no best effort: the
    item stays, and the target's own explanation says what is wrong. The facts only:
    planner/explain/ words them."""
    solver = TargetSolver(project, alone, provider, explain=True)
    core = minimal_core(solver)
    kinds = {fact.kind for fact in core.facts} if core is not None else set()
    if FactKind.ARTIFACT not in kinds or FactKind.ACCELERATOR in kinds:
        return None
    assert core is not None
    via = f"{kind} {name}"
    requirements = tuple(dict.fromkeys((str(f.requirement), f.location) for f in core.facts
                                       if f.kind is FactKind.REQUIREMENT and f.via == via))
    return LeftOut(kind, name, requirements=requirements, facts=core.facts)


def separate(settled: Sequence[tuple[Target, tuple[LeftOut, ...]]]) -> dict[str, tuple[LeftOut, ...]]:
    """Each left-out item with the marker that keeps its requirement where it installs (the
    derived targets that activate it and kept it) and off where it does not."""
    out: dict[str, tuple[LeftOut, ...]] = {}
    for target, left in settled:
        items = []
        for item in left:
            keep = [other for other, _ in settled if _activates(other, item)]  # (solved with it)
            drop = [other for other, others_left in settled
                    if any((o.kind, o.name) == (item.kind, item.name) for o in others_left)]
            items.append(replace(item, marker=separating_marker(keep, drop) if keep else None))
        out[target.name] = tuple(items)
    return out


def _activates(target: Target, item: LeftOut) -> bool:
    return item.name in (target.extras if item.kind == "extra" else target.groups)


def settle(project: Project, first: Sequence[tuple[TargetSolver, bool]], provider: Provider,
           ) -> tuple[list[tuple[TargetSolver, bool]], dict[str, tuple[LeftOut, ...]]]:
    """Each target's solver after its first solve, derived targets without a plan reduced (and
    solved again); and per target name, what was left out (facts and markers, not yet worded)."""
    settled: list[tuple[TargetSolver, bool]] = []
    left: list[tuple[Target, tuple[LeftOut, ...]]] = []
    for solver, solvable in first:
        items: tuple[LeftOut, ...] = ()
        if not solvable and solver.target.derived:
            reduced, items = reduce_target(project, solver.target, provider)
            if items:
                solver = TargetSolver(project, reduced, provider, previous=solver.previous or None)
                solvable = solver.solve()
        settled.append((solver, solvable))
        left.append((solver.target, items))
    return settled, separate(left)
