"""Minimal unsatisfiable sets of facts over the explaining formula, with lazy expansion.

The explaining `TargetSolver` guards each user-level fact's clauses with a selector. A core is
read from the solver under assumptions (one selector per fact), then shrunk by deletion: drop
facts, solve again; if the rest has no model, the new core refines the set (clause-set
refinement), else a fact dropped is needed. Facts are dropped in halving chunks (half of what is
left, then a quarter, ... down to one), so a core of a thousand index facts around a conflict
of three user facts shrinks in a few solves rather than one per fact; a fact is kept only when
dropping it alone leaves a model. Every check is a full lazy solve: a model counts only once
every selected, reachable candidate is expanded, so facts that expansion creates (a newly
selected version's requirements) take part, and the result is minimal for the full formula.
Dropping facts only removes clauses, so one deletion pass suffices (monotone).

Facts the user can edit are tried for deletion last, so that among the minimal sets the one
found leans on what the user wrote rather than on what the indexes publish.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import time

from planner.encode.formula import Fact
from planner.solve import limits
from planner.solve.target_solver import FactKey, TargetSolver

DEFAULT_BUDGET = 400  # lazy solves one shrinking may spend


@dataclass(frozen=True)
class Core:
    facts: tuple[Fact, ...]  # in the order the formula created them
    complete: bool  # False: the budget ran out; the facts conflict but may not be minimal


def minimal_core(solver: TargetSolver, assumptions: Sequence[int] = (),
                 keep: Callable[[Fact], bool] = lambda fact: True,
                 excluded: Iterable[FactKey] = (), budget: int = DEFAULT_BUDGET,
                 deadline: float | None = None) -> Core | None:
    """A minimal set of facts that, with `assumptions`, has no model; None when it has one.

    `excluded` facts are switched off throughout (a fix being explored); facts for which
    `keep` is false are switched off too (they are not user-level facts of this question).
    Past `deadline` (`time.monotonic()`; default: now + the explanation budget) or `budget`
    solves, the set found so far is returned, marked incomplete: it conflicts, a smaller set may."""
    if deadline is None:
        deadline = time.monotonic() + limits.explain_seconds()
    limits.note(f"explaining target '{solver.target.name}'")
    formula = solver.formula
    removed: set[FactKey] = set(excluded)
    removed |= {key for key, fact in formula.facts.items() if not keep(fact)}

    def on(key: FactKey) -> bool:
        return key not in removed and keep(formula.facts[key])

    if solver.solve(assumptions, facts=on):
        return None
    necessary: set[FactKey] = set()
    _refine(solver, removed, necessary)
    calls = 0
    chunk = 0  # facts dropped at once; 0: start again from half of what is pending
    while True:
        pending = [k for k in formula.facts if k not in removed and k not in necessary]
        if not pending:
            break
        if calls >= budget or time.monotonic() > deadline:
            return Core(_facts(solver, removed), complete=False)
        # Index facts first, the user's own facts last (they stay in the set when either would do).
        # stable: in the formula's order within each kind
        pending.sort(key=lambda k: formula.facts[k].relaxable)
        chunk = min(chunk or max(1, len(pending) // 2), len(pending))
        dropped = pending[:chunk]
        removed.update(dropped)
        calls += 1
        existing = set(formula.facts)
        if solver.solve(assumptions, facts=on):
            # The set without `dropped` was UNSAT before this solve expanded anything; the facts
            # that expansion just made stay off: with them off, the formula says what it said
            # then (their candidates were unexpanded), so the set is still UNSAT. Left on, every
            # check would add the facts of what its model reached, and the set would grow.
            removed.update(key for key in formula.facts if key not in existing)
            removed.difference_update(dropped)
            if chunk == 1:
                necessary.add(dropped[0])
                chunk = 0
            else:  # one of them is needed: try fewer at once
                chunk //= 2
        else:  # none of them is needed
            _refine(solver, removed, necessary)
    return Core(_facts(solver, removed), complete=True)


def _refine(solver: TargetSolver, removed: set[FactKey], necessary: set[FactKey]) -> None:
    """Facts switched on but outside the solver's last core are not needed: drop them."""
    core = solver.core()
    for key in solver.formula.facts:
        if key not in core and key not in necessary:
            removed.add(key)


def _facts(solver: TargetSolver, removed: set[FactKey]) -> tuple[Fact, ...]:
    return tuple(fact for key, fact in solver.formula.facts.items() if key not in removed)
