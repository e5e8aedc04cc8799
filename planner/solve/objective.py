"""The objective: aligned, then newest — a lexicographic descent over decisions (encodings/SPEC.md).

Targets are split into alignment groups (`per-python`: targets sharing a Python minor;
`per-target`: each alone; `all`). Within a group, packages are decided one at a time. The next
package is the undecided one that the decisions so far force some target to install (a root
requirement, or a requirement of a decided candidate) with the least (depth from the project,
name): direct requirements first. This order depends only on earlier decisions, never on the
model a SAT solver happens to return. For a package:

1. **aligned**: the newest public version (local labels ignored, so `2.5.1+cpu` aligns with
   `2.5.1`) that every target of the group installing the package can take, given the decisions
   already made, is fixed on all of them;
2. **diverged**: when no such version exists, each target takes its own newest feasible version,
   and the divergence is recorded with the fact that prevented the common one;
3. then, within the public version, each target takes its newest candidate (local label, index).

Every decision is a SAT call under assumptions on the target's incremental solver, so the result
is the lexicographic optimum of (aligned?, version) per package in that order. A target held
below the newest version it could take alone is recorded with the target that held it back.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Sequence
from dataclasses import replace

from packaging.utils import NormalizedName
from packaging.version import Version

from planner.encode.formula import Formula
from planner.plan.model import Divergence, ExplainedFact, HeldBack, LeftOut, Plan, Unsatisfiable
from planner.project.model import ALIGNMENT_MODES, Project
from planner.solve.best_effort import settle
from planner.solve.provider import Provider
from planner.solve.target_solver import TargetSolver, public
from planner.targets.model import Target
from planner.targets.routing import route



def alignment_groups(solvers: Sequence[TargetSolver], mode: str) -> list[list[TargetSolver]]:
    if mode == "per-target":
        return [[s] for s in solvers]
    if mode == "all":
        return [list(solvers)] if solvers else []
    groups: dict[str, list[TargetSolver]] = defaultdict(list)
    for solver in solvers:
        groups[solver.target.python.short].append(solver)
    return list(groups.values())


class _GroupDescent:
    def __init__(self, group: list[TargetSolver]):
        self.group = group
        self.aligned: dict[NormalizedName, Version] = {}
        self.reasons: dict[NormalizedName, str] = {}
        self.held_back: list[HeldBack] = []

    def run(self) -> None:
        while True:
            per_target = {s.target.name: s.pending() for s in self.group}
            pending: dict[NormalizedName, int] = {}
            for names in per_target.values():
                for name, depth in names.items():
                    pending[name] = min(depth, pending.get(name, depth))
            if not pending:
                return
            name = min(pending, key=lambda n: (pending[n], n))
            needing = [s for s in self.group if name in per_target[s.target.name]]
            self._decide(name, needing)
            # Every model installs `name`, so some version of it is feasible: a target left
            # without a decision means an inconsistent encoding (fail, never loop on it).
            undecided = [s.target.name for s in needing if name not in s.decided]
            if undecided:
                raise AssertionError(f"no feasible version of {name} on {', '.join(undecided)}, "
                                     "though every model installs it")

    def _decide(self, name: NormalizedName, needing: list[TargetSolver]) -> None:
        versions = sorted({v for s in needing for v in s.admissible_versions(name)}, reverse=True)
        if name in self.aligned:  # targets joining later try the group's version first
            versions = [self.aligned[name]] + [v for v in versions if v != self.aligned[name]]
        newest_alone: dict[str, Version] = {}
        failures: dict[Version, list[str]] = {}
        chosen = None
        for version in versions:
            failed = []
            for solver in needing:
                literal = solver.public_literal(name, version)
                excluded = solver.excluded_by(name, version) if literal is not None else None
                if literal is None:
                    failed.append(solver.why_no_candidate(name, version))
                elif excluded is not None:
                    failed.append(f"{excluded.group.text} on {solver.target.name}")
                elif solver.feasible(literal):
                    newest_alone.setdefault(solver.target.name, version)
                else:
                    failed.append(f"{name} {version} does not fit the other choices on {solver.target.name}")
            if not failed:
                chosen = version
                break
            failures[version] = failed
        if chosen is not None:
            self.aligned.setdefault(name, chosen)
            for solver in needing:
                solver.fix(solver.public_literal(name, chosen))  # type: ignore[arg-type]
                self._newest_candidate(solver, name, chosen)
                alone = newest_alone.get(solver.target.name)
                if alone is not None and alone > chosen:
                    self.held_back.append(HeldBack(name, solver.target.name, chosen, alone,
                                                   "; ".join(failures.get(alone, []))))
            return
        for solver in needing:  # no common version: each target its own newest
            for version in solver.admissible_versions(name):
                literal = solver.public_literal(name, version)
                if literal is not None and solver.excluded_by(name, version) is None and solver.feasible(literal):
                    solver.fix(literal)
                    self._newest_candidate(solver, name, version)
                    break
        if versions:
            self.reasons[name] = "; ".join(failures.get(versions[0], []))

    @staticmethod
    def _newest_candidate(solver: TargetSolver, name: NormalizedName, version: Version) -> None:
        for _, var in solver.candidates_with_public(name, version):
            if solver.feasible(var):
                solver.decide(name, var)
                return
        raise AssertionError(f"{name} {version} was feasible but none of its candidates is")


def solve_plan(project: Project, targets: Sequence[Target], provider: Provider, alignment: str = "per-python",
               formulas: dict[str, Formula] | None = None, explain: bool = True, best_effort: bool = True) -> Plan:
    """The plan of every target; `formulas`, when given, receives each target's final formula.

    A target without a plan gets an explanation (planner/explain/: minimal facts, checked fixes)
    unless `explain` is false (the explainer itself checks fixes this way). With `best_effort`, a
    derived target leaves out the extras and groups it cannot install (planner/solve/best_effort.py);
    checking a fix turns it off, so that a fix never works by leaving something out."""
    if alignment not in ALIGNMENT_MODES:
        raise ValueError(f"unknown alignment mode {alignment!r}")
    solvers: list[TargetSolver] = []
    unsatisfiable: list[Unsatisfiable] = []
    first = _first_models(project, targets, provider)
    left_out: dict[str, tuple[LeftOut, ...]] = {}
    if best_effort:
        first, left_out = settle(project, first, provider)
    for solver, solvable in first:
        target = solver.target
        if solvable:
            solvers.append(solver)
        elif explain:
            from planner.explain.unsat import unsatisfiable as explained

            unsatisfiable.append(explained(project, target, provider))
        else:
            detail = solver.root_problem()
            message = f"target '{target.name}' has no plan" + (f": {detail}" if detail else
                                                               ": its requirements cannot all hold together")
            unsatisfiable.append(Unsatisfiable(target, message))
    reasons: dict[NormalizedName, str] = {}
    held: list[HeldBack] = []
    for group in alignment_groups(solvers, alignment):
        descent = _GroupDescent(group)
        descent.run()
        for name, reason in descent.reasons.items():
            reasons.setdefault(name, reason)
        held.extend(descent.held_back)
    if explain:
        held = [_explained_hold(project, solvers, h) for h in held]
    plans = tuple(replace(s.plan(), left_out=left_out[s.target.name]) if left_out.get(s.target.name) else s.plan()
                  for s in solvers)
    if formulas is not None:
        formulas.update((s.target.name, s.formula) for s in solvers)
    return Plan(
        targets=plans,
        unsatisfiable=tuple(unsatisfiable),
        divergences=tuple(_divergences(project, solvers, reasons, alignment, provider if explain else None)),
        held_back=tuple(sorted(held, key=lambda h: (h.package, h.target))),
        alignment=alignment,
    )


def _first_models(project: Project, targets: Sequence[Target], provider: Provider) -> list[tuple[TargetSolver, bool]]:
    """Each target's solver after its first solve. Targets are independent until the objective
    aligns them, so where the provider waits on the network (`parallel`), they are solved side by
    side and their downloads overlap. The result does not depend on it: each solver numbers its
    own variables, and pages and metadata are the same whoever asks first."""
    def first(target: Target) -> tuple[TargetSolver, bool]:
        solver = TargetSolver(project, target, provider)
        return solver, solver.solve()

    if len(targets) < 2 or not getattr(provider, "parallel", False):
        return [first(target) for target in targets]
    with ThreadPoolExecutor(max_workers=min(len(targets), 4), thread_name_prefix="planner-target") as pool:
        return list(pool.map(first, targets))


def _explained_hold(project: Project, solvers: list[TargetSolver], held: HeldBack) -> HeldBack:
    """Replace "does not fit the other choices on T" by the minimal facts that keep T from it."""
    from dataclasses import replace

    from planner.explain.why import version_reason

    parts = []
    for part in held.reason.split("; "):
        marker = " does not fit the other choices on "
        if marker in part:
            name = part.split(marker)[1]
            solver = next((s for s in solvers if s.target.name == name), None)
            if solver is not None:
                reason = version_reason(project, solver.target, solver.provider, held.package, held.newest)
                if reason.facts:
                    part = f"{name} cannot take {held.package} {held.newest}: {reason.text}"
        parts.append(part)
    return replace(held, reason="; ".join(parts))


def _divergences(project: Project, solvers: list[TargetSolver], reasons: dict[NormalizedName, str],
                 alignment: str, provider: Provider | None = None) -> list[Divergence]:
    """Packages whose public version, or whose build (local label, index), differs by target."""
    by_package: dict[NormalizedName, list[tuple[TargetSolver, object]]] = defaultdict(list)
    for solver in solvers:
        for name, (candidate, _) in solver.reach.chosen.items():
            by_package[name].append((solver, candidate))
    out: list[Divergence] = []
    for name in sorted(by_package):
        entries = by_package[name]
        publics = {public(c.version) for _, c in entries}  # type: ignore[attr-defined]
        builds = {(str(c.version), c.index) for _, c in entries}  # type: ignore[attr-defined]
        if len(builds) <= 1:
            continue
        choices = tuple((s.target.name, f"{c.version} [{c.index}]") for s, c in entries)  # type: ignore[attr-defined]
        if len(publics) > 1:
            reason = reasons.get(name) or _python_reason(entries, alignment) or "no common version fits every target"
            facts: tuple[ExplainedFact, ...] = ()
            python_split = len({s.target.python.short for s, _ in entries}) > 1 and alignment == "per-python"
            if provider is not None and not python_split:
                forced = _forcing_facts(project, provider, name, entries)
                if forced is not None:
                    mode = " (alignment = \"per-target\")" if alignment == "per-target" else ""
                    reason, facts = forced[0] + mode, forced[1]
            out.append(Divergence(name, "version", choices, reason, facts))
            continue
        reason, facts = _build_reason(project, name, entries)
        out.append(Divergence(name, "artifact", choices, reason, facts))
    return out


def _forcing_facts(project: Project, provider: Provider, name: NormalizedName,
                   entries) -> tuple[str, tuple[ExplainedFact, ...]] | None:  # type: ignore[no-untyped-def]
    """For each target below the newest version another target took: the minimal facts that
    keep it from that version ("no wheel of torch 2.6.0 for macosx_13_0_x86_64/cp311 ...")."""
    from planner.explain.why import version_reason

    best = max(public(c.version) for _, c in entries)
    parts: list[str] = []
    facts: list[ExplainedFact] = []
    for solver, candidate in entries:
        if public(candidate.version) == best:
            continue
        reason = version_reason(project, solver.target, provider, name, best)
        if not reason.facts:
            continue
        parts.append(f"{solver.target.name} cannot take {name} {best}: {reason.text}")
        facts.extend(f for f in reason.facts if f not in facts)
    if not parts:
        return None
    return "; ".join(parts), tuple(facts)


def _python_reason(entries, alignment: str) -> str | None:  # type: ignore[no-untyped-def]
    pythons = {s.target.python.short for s, _ in entries}
    if len(pythons) > 1 and alignment == "per-python":
        return "targets on different Python versions are aligned separately (alignment = \"per-python\")"
    if alignment == "per-target":
        return "each target takes its own newest (alignment = \"per-target\")"
    return None


def _build_reason(project: Project, name: NormalizedName,
                  entries) -> tuple[str, tuple[ExplainedFact, ...]]:  # type: ignore[no-untyped-def]
    parts, facts = [], []
    for solver, candidate in entries:
        decided = route(project, solver.target, name)
        if decided.source is not None:
            text = (f"the source rule at {decided.source.origin} routes {name} on {solver.target.name} "
                    f"to {decided.source.index}, which publishes {candidate.version}")
            parts.append(text)
            facts.append(ExplainedFact("source", text, decided.source.origin, name, True,
                                       (f"source {name} {decided.source.index}",)))
    if parts:
        return "; ".join(parts), tuple(facts)
    indexes = sorted({c.index for _, c in entries})
    if len(indexes) > 1:
        return (f"{name} comes from different indexes ({', '.join(indexes)}) under the index strategy "
                f"\"{project.uv.index_strategy.value}\"", ())
    return "the indexes publish different builds of this version for these targets", ()
