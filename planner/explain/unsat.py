"""Why a target has no plan: a minimal set of facts, what they come to, and checked fixes."""

from __future__ import annotations

import time

from planner.explain.fixes import fixes as find_fixes
from planner.solve.mus import minimal_core
from planner.explain.render import conclusion, merge, message
from planner.plan.model import Explanation, Unsatisfiable
from planner.project.model import Project
from planner.solve import limits
from planner.solve.provider import Provider
from planner.solve.target_solver import TargetSolver
from planner.targets.model import Target


def explain_target(project: Project, target: Target, provider: Provider, with_fixes: bool = True) -> Explanation | None:
    """The explanation of `target`'s unsatisfiability; None if it has a plan after all."""
    # One time budget for the smallest set and its fixes (--explain-budget): past it, the best
    # set so far is shown (marked possibly not minimal) with the fixes verified by then.
    deadline = time.monotonic() + limits.explain_seconds()
    solver = TargetSolver(project, target, provider, explain=True)
    core = minimal_core(solver, deadline=deadline)
    if core is None:
        return None
    fixes = find_fixes(solver, project, target, provider, core.facts, deadline=deadline) if with_fixes else ()
    return Explanation(target.name, tuple(merge(core.facts, solver)), conclusion(core.facts, solver), fixes, core.complete)


def unsatisfiable(project: Project, target: Target, provider: Provider) -> Unsatisfiable:
    """The `Unsatisfiable` entry of a target without a plan, its message the rendered explanation."""
    explanation = explain_target(project, target, provider)
    if explanation is None:  # cannot happen for a target the solver found unsatisfiable
        return Unsatisfiable(target, f"target '{target.name}' has no plan: its requirements cannot all hold together")
    return Unsatisfiable(target, message(target, explanation), explanation)
