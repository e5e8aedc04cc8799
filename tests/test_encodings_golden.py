"""Golden DIMACS of the seed's targets: regenerated, compared, and checked by a second solver."""

from __future__ import annotations

import os

import pytest
from pysat.formula import CNF
from pysat.solvers import Solver

from planner.encode.formula import Formula
from planner.index.auth import CredentialStore
from planner.index.cache import Cache
from planner.index.client import IndexClient
from planner.index.http import Fetcher
from planner.project.loader import load_project
from planner.project.overrides import IndexOverrides, apply_index_overrides
from planner.solve.objective import solve_plan
from planner.solve.provider import IndexProvider
from planner.solve.target_solver import public
from planner.targets.resolve import resolve_targets
from tests.conftest import REPO, SEED

GOLDEN = REPO / "encodings" / "seed-9310"
SECOND_SOLVER = "minisat22"  # a different solver from the one planner uses (glucose4)


@pytest.fixture
def seed_formulas(seed_index_server, tmp_path):
    project = apply_index_overrides(load_project(SEED), IndexOverrides.parse(
        [f"pytorch-cpu={seed_index_server.url('pytorch-cpu')}"], seed_index_server.url("pypi"), SEED))
    formulas: dict[str, Formula] = {}
    # The Python 3.11 targets: on the 3.15 ones torch has no wheel, and their extras are left out.
    targets = [t for t in resolve_targets(project).targets if t.python.short == "3.11"]
    with Fetcher(CredentialStore(project.indexes), backoff=0.0) as fetcher:
        plan = solve_plan(project, targets, IndexProvider(IndexClient(project, fetcher, Cache(tmp_path))),
                          formulas=formulas)
    return plan, formulas


def test_golden_dimacs_match(seed_formulas) -> None:
    _, formulas = seed_formulas
    assert sorted(formulas) == ["linux-x86_64-cpu", "linux-x86_64-gpu", "macos-arm64-cpu", "macos-arm64-gpu"]
    for name, formula in formulas.items():
        text = formula.to_dimacs(f"planner formula of target {name}")
        path = GOLDEN / f"{name}.cnf"
        if os.environ.get("PLANNER_UPDATE_GOLDEN"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        assert path.read_text() == text, f"{path} drifted; rerun with PLANNER_UPDATE_GOLDEN=1 if intended"


def test_second_solver_agrees_and_the_plan_satisfies_the_file(seed_formulas) -> None:
    plan, formulas = seed_formulas
    for target_plan in plan.targets:
        name = target_plan.target.name
        cnf = CNF(from_file=str(GOLDEN / f"{name}.cnf"))
        names = {}
        for line in (GOLDEN / f"{name}.cnf").read_text().splitlines():
            if line.startswith("c var "):
                _, _, number, label = line.split(" ", 3)
                names[label] = int(number)
        planned = {f"{p.name}=={p.version}@{p.index}" for p in target_plan.packages}
        assumptions = []
        for label, var in names.items():
            if "==" in label and "@" in label and " " not in label:  # candidate variables
                assumptions.append(var if label in planned else -var)
        for p in target_plan.packages:
            key = f"{p.name} public=={public(p.version)}"
            if key in names:
                assumptions.append(names[key])
        with Solver(name=SECOND_SOLVER, bootstrap_with=cnf.clauses) as solver:
            assert solver.solve(), name  # same verdict: satisfiable
            assert solver.solve(assumptions=assumptions), f"{name}: the plan does not satisfy its formula"
            # ... and the formula really constrains: dropping a required package breaks it.
            torch = names[next(label for label in planned if label.startswith("torch=="))]
            assert not solver.solve(assumptions=[a for a in assumptions if abs(a) != torch] + [-torch])


def test_a_solve_that_writes_no_formula_keeps_no_clauses_and_plans_the_same(seed_index_server, seed_formulas,
                                                                            tmp_path) -> None:
    """A compile without --emit-cnf hands clauses to the SAT solver and lets them go: the plan and
    its clause counts are those of the solve that kept every clause for the DIMACS files."""
    kept_plan, _ = seed_formulas
    project = apply_index_overrides(load_project(SEED), IndexOverrides.parse(
        [f"pytorch-cpu={seed_index_server.url('pytorch-cpu')}"], seed_index_server.url("pypi"), SEED))
    targets = [t for t in resolve_targets(project).targets if t.python.short == "3.11"]
    with Fetcher(CredentialStore(project.indexes), backoff=0.0) as fetcher:
        plan = solve_plan(project, targets, IndexProvider(IndexClient(project, fetcher, Cache(tmp_path / "other"))))
    for kept, lean in zip(kept_plan.targets, plan.targets, strict=True):
        assert [(p.name, p.version, p.artifact.filename) for p in lean.packages] == \
               [(p.name, p.version, p.artifact.filename) for p in kept.packages]
        assert lean.stats.clauses == kept.stats.clauses > 0


def test_a_formula_that_keeps_no_clauses_hands_the_same_clauses_to_the_solver() -> None:
    from planner.encode.formula import GroupKind

    kept, lean = Formula(), Formula(keep_clauses=False)
    handed: dict[int, list[tuple[int, ...]]] = {0: [], 1: []}
    for side, formula in enumerate((kept, lean)):
        literals = [formula.var(("c", n), f"c{n}") for n in range(12)]
        group = formula.group(GroupKind.AT_MOST_ONE, "one of twelve")
        formula.at_most_one(literals, group)  # a counter encoding (more than the pairwise limit)
        handed[side] += formula.take_new()
        formula.add(literals[:3], formula.group(GroupKind.ROOT, "one of the first three"))
        formula.at_most_one(literals[:3], group)  # pairwise
        handed[side] += formula.take_new()
        assert formula.take_new() == []
    assert handed[0] == handed[1] and len(handed[0]) == kept.clause_count == lean.clause_count
    assert len(kept.clauses) == kept.clause_count and lean.clauses == [] and lean.names == {}
    with pytest.raises(ValueError, match="keep_clauses"):
        lean.to_dimacs()


def test_at_most_one_is_pysats_sequential_counter_clause_for_clause() -> None:
    """`Formula.at_most_one` writes the sequential counter itself: the clauses, their order and
    the auxiliary variables must be those PySAT's `CardEnc` makes (golden formulas and the SAT
    solver's search depend on them), for every size past the pairwise limit."""
    import random

    from pysat.card import CardEnc, EncType
    from pysat.formula import IDPool

    from planner.encode.formula import PAIRWISE_LIMIT, GroupKind

    rng = random.Random(7)
    for size in [*range(PAIRWISE_LIMIT + 1, 80), 200, 517]:
        for keep in (True, False):
            formula = Formula(keep_clauses=keep)
            made = [formula.var(("v", n), f"v{n}") for n in range(size + rng.randrange(40))]
            literals = rng.sample(made, size)
            top = formula.pool.top
            aux = formula.at_most_one(literals, formula.group(GroupKind.AT_MOST_ONE, "one"))
            expected_pool = IDPool(start_from=top + 1)
            expected = CardEnc.atmost(lits=literals, bound=1, vpool=expected_pool, encoding=EncType.seqcounter)
            assert formula.take_new() == [tuple(clause) for clause in expected.clauses]
            assert formula.pool.top == expected_pool.top == top + size - 1
            assert aux == list(range(top + 1, top + size)) and formula.clause_count == len(expected.clauses)
            assert formula.var(("after",), "after") == top + size  # the next variable follows the counter's
