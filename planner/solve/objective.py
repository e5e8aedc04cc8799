"""The objective: a lexicographic optimum over decisions (encodings/SPEC.md, "Objective").

Targets are split into alignment groups (`per-python`: targets sharing a Python minor;
`per-target`: each alone; `all`). Within a group, in this order of priority:

0. **upgrades** (`--upgrade-package`, in the order given): each named package that every plan
   installs (a direct requirement, or one the upgrades decided first require) is decided as in
   2. below, before any pin is kept, so that it takes its newest version and the pins it
   conflicts with move. (Its own pin is not kept; an upgraded package that only some plans
   install is decided in 2., as far as the kept pins allow.)
1. **keep**: per target, as many of the previous plan's pins as possible hold (a pin holds when
   its package is at the pinned candidate, or not installed). When all can, all are fixed; when a
   conflict forbids it, the fewest pins move: the least number is found by an implicit
   hitting-set search over unsatisfiable cores (each core names pins that cannot all hold; a
   minimum hitting set of the cores found so far is tried next, until it solves), and then "at
   most that many pins move" is a cardinality constraint for the rest of the descent.
2. **aligned, then newest**: packages are decided one at a time. The next is the undecided one
   that the decisions so far force some target to install (a root requirement, or a requirement
   of a decided candidate) with the least (position in `[tool.planner] prefer-newest`, depth from
   the project, name): listed packages first, then direct requirements. For it:
   a. **aligned**: the newest public version (local labels ignored, so `2.5.1+cpu` aligns with
      `2.5.1`) that every target of the group installing the package can take, given the
      decisions already made, is fixed on all of them;
   b. **diverged**: when no such version exists, each target takes its own newest feasible one,
      and the refusals that prevented a common version are recorded;
   c. then, within the public version, each target takes its newest candidate (local label, index).
   With `resolution = "lowest"` (every package) or `"lowest-direct"` (the project's direct
   requirements), "newest" reads "lowest" for those packages, except the ones `prefer-newest` lists.

Every decision is a SAT call under assumptions on the target's incremental solver. The order of
decisions depends only on earlier decisions, never on the model a SAT solver happens to return.

The solver returns facts (refusals, holds, divergences); planner/explain/ words them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from operator import itemgetter

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from pysat.card import CardEnc, EncType
from pysat.examples.hitman import Hitman

from planner.encode.formula import Formula, GroupKind
from planner.plan.model import PROJECT, Clash, Divergence, HeldBack, Hold, LeftOut, Plan, Refusal, Unsatisfiable
from planner.previous.model import Pins
from planner.project.model import ALIGNMENT_MODES, Project, Resolution
from planner.solve.best_effort import settle
from planner.solve.provider import Provider
from planner.solve.target_solver import Edge, Reach, TargetSolver, bare, public
from planner.targets.model import Target
from planner.threads import map_in_threads



def alignment_groups(solvers: Sequence[TargetSolver], mode: str) -> list[list[TargetSolver]]:
    if mode == "per-target":
        return [[s] for s in solvers]
    if mode == "all":
        return [list(solvers)] if solvers else []
    groups: dict[str, list[TargetSolver]] = defaultdict(list)
    for solver in solvers:
        groups[solver.target.python.short].append(solver)
    return list(groups.values())


@dataclass(frozen=True)
class Preferences:
    """The order of decisions and the direction each package is decided in."""

    prefer_newest: tuple[NormalizedName, ...]
    resolution: Resolution
    direct: frozenset[NormalizedName]

    @classmethod
    def of(cls, project: Project) -> Preferences:
        return cls(project.planner.prefer_newest, project.uv.resolution, project.direct_names)

    def rank(self, name: NormalizedName) -> int:
        """Packages `prefer-newest` lists come first, in its order."""
        return self.prefer_newest.index(name) if name in self.prefer_newest else len(self.prefer_newest)

    def lowest(self, name: NormalizedName) -> bool:
        """Is `name` decided lowest version first?"""
        if name in self.prefer_newest:
            return False
        return self.resolution is Resolution.LOWEST or (self.resolution is Resolution.LOWEST_DIRECT and name in self.direct)


_DEPTH_THEN_NAME = itemgetter(1, 0)  # of a (name, depth) pair


class _GroupDescent:
    def __init__(self, group: list[TargetSolver], preferences: Preferences):
        self.group = group
        self.preferences = preferences
        self.aligned: dict[NormalizedName, Version] = {}
        self.refusals: dict[NormalizedName, tuple[Refusal, ...]] = {}
        self.held_back: list[HeldBack] = []
        self.bound: dict[str, int] = {}  # target -> how many pins may move (after the keep level)
        self.moves: dict[str, int] = defaultdict(int)  # target -> pins moved by decisions so far
        self.decided_at: dict[tuple[str, NormalizedName], int] = {}  # (target, package) -> len(fixed) before
        self.lowest_first: set[NormalizedName] = set()

    # -- level 1: keep --------------------------------------------------------------------------
    def keep(self, solver: TargetSolver) -> None:
        """As many pins as possible hold (see the module docstring); sets `bound`."""
        literals = {name: literal for name, literal in solver.keep.items() if name not in solver.restricted}
        if not literals:
            return
        if solver.solve([*solver.fixed, *literals.values()]):
            for literal in literals.values():
                solver.fix_restriction(literal)
            return
        by_literal = {literal: name for name, literal in literals.items()}
        with Hitman(htype="sorted") as hitman:
            while True:
                core = sorted(by_literal[lit] for lit in solver.last_core if lit in by_literal)
                if not core:  # the decisions before this level alone cannot hold: a bug
                    raise AssertionError(f"{solver.target.name}: no plan without the pins, though it had one")
                hitman.hit(core)
                released = set(hitman.get())
                if solver.solve([*solver.fixed, *(lit for name, lit in literals.items() if name not in released)]):
                    break
        bound = len(released)
        formula = solver.formula
        selector = formula.var(("keep-bound",), f"at most {bound} pins of the previous plan move")
        group = formula.group(GroupKind.DECISION, f"at most {bound} pins of the previous plan move")
        encoded = CardEnc.atmost(lits=[-lit for lit in sorted(literals.values())], bound=bound, vpool=formula.pool,
                                 encoding=EncType.seqcounter)
        for clause in encoded.clauses:
            formula.add((-selector, *clause), group)
        solver.fix(selector)
        self.bound[solver.target.name] = bound

    # -- levels 0 and 2: the descent -----------------------------------------------------------
    def run(self, only: Sequence[NormalizedName] | None = None) -> None:
        """Decide the pending packages in order; `only`: just these, in this order (the upgrades,
        each as soon as the decisions make it pending)."""
        rank = self.preferences.rank
        while True:
            per_target = {s.target.name: s.pending() for s in self.group}
            pending: dict[NormalizedName, int] = {}
            for names in per_target.values():  # (each package's least depth over the targets)
                if not pending:
                    pending.update(names)
                    continue
                for name, depth in names.items():
                    known = pending.get(name)
                    if known is None or depth < known:
                        pending[name] = depth
            if only is not None:
                pending = {name: depth for name, depth in pending.items() if name in only}
            if not pending:
                return
            if only is not None:
                name = min(pending, key=list(only).index)
            elif not self.preferences.prefer_newest:  # (the same order, without a key function per package)
                name = min(pending.items(), key=_DEPTH_THEN_NAME)[0]
            else:
                name = min(pending, key=lambda n: (rank(n), pending[n], n))
            needing = [s for s in self.group if name in per_target[s.target.name]]
            for solver in needing:
                self.decided_at[(solver.target.name, name)] = len(solver.fixed)
                self._settle_pin(solver, name)
            self._decide(name, needing)
            # Every model installs `name`, so some version of it is feasible: a target left
            # without a decision means an inconsistent encoding (fail, never loop on it).
            undecided = [s.target.name for s in needing if name not in s.decided]
            if undecided:
                raise AssertionError(f"no feasible version of {name} on {', '.join(undecided)}, "
                                     "though every model installs it")
            for solver in needing:
                self._count_move(solver, name)

    def _settle_pin(self, solver: TargetSolver, name: NormalizedName) -> None:
        """Under a move budget, a pinned package that cannot move keeps its pin (one SAT call
        instead of one per newer version)."""
        if name in solver.keep and name not in solver.restricted and not solver.feasible(solver.moved_literal(name)):
            solver.fix_restriction(solver.keep[name])

    def _count_move(self, solver: TargetSolver, name: NormalizedName) -> None:
        target = solver.target.name
        if target not in self.bound or name not in solver.keep or solver.is_kept(name):
            return
        self.moves[target] += 1
        if self.moves[target] >= self.bound[target]:  # the budget is spent: every other pin holds
            for other, literal in solver.keep.items():
                if other not in solver.decided and other not in solver.restricted:
                    solver.fix_restriction(literal)

    def _decide(self, name: NormalizedName, needing: list[TargetSolver]) -> None:
        lowest = self.preferences.lowest(name)
        if lowest:
            self.lowest_first.add(name)
        versions = _versions_in_order(needing, name, lowest)
        if name in self.aligned:  # targets joining later try the group's version first
            versions = [self.aligned[name]] + [v for v in versions if v != self.aligned[name]]
        first_feasible: dict[str, Version] = {}
        # (a refusal for want of a candidate is worded when read: that reads the page's rejections)
        failures: dict[Version, list[Refusal | Callable[[], Refusal]]] = {}
        chosen = None
        for version in versions:
            failed: list[Refusal | Callable[[], Refusal]] = []
            for solver in needing:
                target = solver.target.name
                allowed = solver.restricted.get(name)
                literal = solver.public_literal(name, version)
                excluded = solver.excluded_by(name, version) if literal is not None else None
                if literal is None:  # (checked first: the same reason a compile without pins gives)
                    failed.append(partial(_unavailable, solver, target, name, version))
                elif excluded is not None:
                    failed.append(Refusal(target, version, "excluded", excluded.group.text))
                elif allowed is not None and version not in allowed:
                    failed.append(Refusal(target, version, "kept", ", ".join(str(v) for v in sorted(allowed))))
                elif solver.feasible(literal):
                    first_feasible.setdefault(target, version)
                else:
                    failed.append(Refusal(target, version, "infeasible"))
            if not failed:
                chosen = version
                break
            failures[version] = failed
        if chosen is not None:
            self.aligned.setdefault(name, chosen)
            for solver in needing:
                solver.fix(solver.public_literal(name, chosen))  # type: ignore[arg-type]
                self._best_candidate(solver, name, chosen, lowest)
                alone = first_feasible.get(solver.target.name)
                if not lowest and alone is not None and alone > chosen:
                    self.held_back.append(HeldBack(name, solver.target.name, chosen, alone,
                                                   refusals=_worded(failures.get(alone, []))))
            return
        for solver in needing:  # no common version: each target its own best
            allowed = solver.restricted.get(name)
            for version in sorted(solver.admissible_versions(name), reverse=not lowest):
                if allowed is not None and version not in allowed:
                    continue
                literal = solver.public_literal(name, version)
                if literal is not None and solver.excluded_by(name, version) is None and solver.feasible(literal):
                    solver.fix(literal)
                    self._best_candidate(solver, name, version, lowest)
                    break
        if versions:
            self.refusals[name] = _worded(failures.get(versions[0], []))

    @staticmethod
    def _best_candidate(solver: TargetSolver, name: NormalizedName, version: Version, lowest: bool) -> None:
        candidates = solver.candidates_with_public(name, version)
        if lowest:  # the lowest build first; candidates of one version keep their index order
            candidates = sorted(candidates, key=lambda pair: pair[0].version)
        for _, var in candidates:
            if solver.feasible(var):
                solver.decide(name, var)
                return
        raise AssertionError(f"{name} {version} was feasible but none of its candidates is")


class _Widen(Exception):
    """The fast path with pins cannot answer (the reason); the full solve does."""


def _unavailable(solver: TargetSolver, target: str, name: NormalizedName, version: Version) -> Refusal:
    return Refusal(target, version, *solver.refusal(name, version))


def _worded(refusals: Sequence[Refusal | Callable[[], Refusal]]) -> tuple[Refusal, ...]:
    return tuple(r if isinstance(r, Refusal) else r() for r in refusals)


def _versions_in_order(needing: list[TargetSolver], name: NormalizedName, lowest: bool) -> list[Version]:
    """The public versions any of `needing` can take, newest first (`lowest`: oldest first). Most
    often every target has the same ones, already in order: then no sort is needed."""
    lists = [s.admissible_versions(name) for s in needing]
    first = lists[0]
    if all(other == first for other in lists[1:]) and all(s.versions_newest_first(name) for s in needing):
        return first[::-1] if lowest else first  # (equal lists: the set below keeps the first one's objects)
    return sorted({v for versions in lists for v in versions}, reverse=not lowest)


def solve_plan(project: Project, targets: Sequence[Target], provider: Provider, alignment: str = "per-python",
               formulas: dict[str, Formula] | None = None, *, previous: Mapping[str, Pins] | None = None,
               upgrade: Sequence[NormalizedName] = (), best_effort: bool = True, narrow: bool = True) -> Plan:
    """The plan of every target; `formulas`, when given, receives each target's final formula
    (without it, the formulas keep no clauses once the SAT solvers have them).

    `previous`: per target name, the pins of the previous plan to keep; `upgrade`: packages to
    decide first, at their newest (their pins should not be in `previous`). A target without a
    plan gets a short message; planner/explain/plan.py replaces it by the explanation, and words
    divergences and holds. With `best_effort`, a derived target leaves out the extras and groups it
    cannot install (planner/solve/best_effort.py); checking a fix turns it off, so that a fix never
    works by leaving something out.

    With pins and no upgrade, the fast path is tried first (`narrow`; encodings/SPEC.md, "The
    fast path with pins"): the pinned packages the project does not require directly have only
    their pinned candidates. When every pin is kept and nothing in the answer could depend on
    their other versions, that is the plan the full solve gives; otherwise the full solve runs."""
    if alignment not in ALIGNMENT_MODES:
        raise ValueError(f"unknown alignment mode {alignment!r}")
    reason = ""
    if narrow and not upgrade and formulas is None and previous and any(previous.values()):
        try:
            return replace(_solve_plan(project, targets, provider, alignment, None, previous, upgrade, best_effort,
                                       narrow=True), pin_solve="narrowed")
        except _Widen as widen:
            reason = f"full: {widen}"
    plan = _solve_plan(project, targets, provider, alignment, formulas, previous, upgrade, best_effort, narrow=False)
    return replace(plan, pin_solve=reason) if reason else plan


def _solve_plan(project: Project, targets: Sequence[Target], provider: Provider, alignment: str,
                formulas: dict[str, Formula] | None, previous: Mapping[str, Pins] | None,
                upgrade: Sequence[NormalizedName], best_effort: bool, narrow: bool) -> Plan:
    """`solve_plan`; `narrow`: the fast path with pins, which raises `_Widen` where it cannot answer."""
    solvers: list[TargetSolver] = []
    unsatisfiable: list[Unsatisfiable] = []
    undated: set[str] = set()
    first = _first_models(project, targets, provider, previous or {}, keep_clauses=formulas is not None,
                          narrow=narrow)
    if narrow and not all(solvable for _, solvable in first):
        raise _Widen("a target has no plan with its pins kept")
    left_out: dict[str, tuple[LeftOut, ...]] = {}
    if best_effort:
        first, left_out = settle(project, first, provider)
    for solver, solvable in first:
        target = solver.target
        undated |= solver.undated()
        if solvable:
            solvers.append(solver)
            continue
        detail = solver.root_problem()
        message = f"target '{target.name}' has no plan" + (f": {detail}" if detail else
                                                           ": its requirements cannot all hold together")
        unsatisfiable.append(Unsatisfiable(target, message))
    preferences = Preferences.of(project)
    refusals: dict[NormalizedName, tuple[Refusal, ...]] = {}
    held: list[HeldBack] = []
    holds: dict[str, tuple[Hold, ...]] = {}
    for group in alignment_groups(solvers, alignment):
        descent = _GroupDescent(group, preferences)
        if upgrade:
            descent.run(only=list(upgrade))
        for solver in group:
            descent.keep(solver)
        if narrow and descent.bound:
            raise _Widen("some pin cannot be kept")
        descent.run()
        if narrow:
            _narrowed_alike(group)
        for name, found in descent.refusals.items():
            refusals.setdefault(name, found)
        held.extend(descent.held_back)
        for solver in group:
            holds[solver.target.name] = _direct_holds(solver, descent, frozenset(upgrade))
            if narrow:
                _holds_without_pins(solver, holds[solver.target.name])
    if narrow and any(refusal.kind == "excluded" for found in (*refusals.values(), *(h.refusals for h in held))
                      for refusal in found):
        raise _Widen("a refusal names the first requirement that excludes a version")
    plans = tuple(replace(s.plan(holds.get(s.target.name, ())), left_out=left_out.get(s.target.name, ()))
                  for s in solvers)
    if formulas is not None:
        formulas.update((s.target.name, s.formula) for s in solvers)
    return Plan(
        targets=plans,
        unsatisfiable=tuple(unsatisfiable),
        divergences=tuple(_divergences(solvers, refusals)),
        held_back=tuple(sorted(held, key=lambda h: (h.package, h.target))),
        alignment=alignment,
        undated=tuple(sorted(undated | {i for s in solvers for i in s.undated()})),
    )


def _first_models(project: Project, targets: Sequence[Target], provider: Provider,
                  previous: Mapping[str, Pins], keep_clauses: bool, narrow: bool = False,
                  ) -> list[tuple[TargetSolver, bool]]:
    """Each target's solver after its first solve. Targets are independent until the objective
    aligns them, so where the provider waits on the network (`parallel`), they are solved side by
    side and their downloads overlap. The result does not depend on it: each solver numbers its
    own variables, and pages and metadata are the same whoever asks first."""
    def first(target: Target) -> tuple[TargetSolver, bool]:
        solver = TargetSolver(project, target, provider, previous=previous.get(target.name),
                              keep_clauses=keep_clauses, narrow=narrow)
        return solver, solver.solve()

    if len(targets) < 2 or not getattr(provider, "parallel", False):
        return [first(target) for target in targets]
    return map_in_threads(first, targets, min(len(targets), 4), "planner-target")


# -- the fast path with pins: where its answer could differ from the full solve's -----------------
def _narrowed_alike(group: Sequence[TargetSolver]) -> None:
    """Every target of the group that plans a narrowed package keeps it at one and the same
    version: then the full solve, deciding it, refuses every other version on every target and
    reports none of those refusals. Otherwise a target that decides it afresh, or keeps another
    version, would have met versions the narrowed candidates lack."""
    for solver in group:
        for name in solver.narrowed:
            if name not in solver.reach.chosen:
                continue
            kept = solver.restricted.get(name)
            if any(name in other.reach.chosen and other.restricted.get(name) != kept for other in group):
                raise _Widen(f"{name} is not kept at one version by every target aligned with {solver.target.name}")


def _holds_without_pins(solver: TargetSolver, holds: Sequence[Hold]) -> None:
    """What holds a direct requirement back, found by `_blocking`, is the full solve's when it is a
    decision after the keep level: the formulas agree under the kept pins. A pin or a conflict
    found there may be a narrowed pin (the full formula frees it); the newest version's
    requirements are those of the one of its builds the solving read, when it has one."""
    for hold in holds:
        name = hold.package
        if name in solver.previous and solver.is_kept(name) and name in solver.restricted:
            continue  # (a kept pin, named without `_blocking`)
        if hold.cause in ("pin", "conflict"):
            raise _Widen(f"a pin or a conflict holds {name} back on {solver.target.name}")
        if hold.cause == "decision" and len(solver.candidates_with_public(name, hold.newest)) > 1:
            raise _Widen(f"{name} {hold.newest} has several builds on {solver.target.name}")


# -- what holds direct requirements back ----------------------------------------------------------
def _direct_holds(solver: TargetSolver, descent: _GroupDescent, upgraded: frozenset[NormalizedName]) -> tuple[Hold, ...]:
    """Each direct requirement of the target below the newest version it can install, with the
    fact that holds it (`Hold`). Cheap causes are read off the plan; the others are found by
    solving again with a growing prefix of the decisions taken before the package's own."""
    target = solver.target.name
    saved = solver.reach
    edges = solver.active_edges()
    aligned = {h.package for h in descent.held_back if h.target == target}
    out: list[Hold] = []
    for name in sorted({edge.name for edge in solver.roots}):
        chosen = saved.chosen.get(name)
        newest = solver.newest_admissible(name)
        if chosen is None or newest is None or public(chosen[0].version) >= newest:
            continue
        version = chosen[0].version
        builds = solver.public_builds(name, newest)
        hold = _requirement_hold(solver, name, version, newest, builds, edges.get(name, []))
        # A kept pin is named as such without asking whether the newest could be installed with the
        # rest (that proof can explore far beyond the plan and its metadata on every re-compile);
        # only the newest's own metadata is read: when none of its builds can be used, the hold is
        # a conflict, as a compile without the pin finds it.
        if hold is None and name in solver.previous and solver.is_kept(name) and name in solver.restricted:
            cause = "conflict" if solver.unusable_public(name, newest) else "pin"
            hold = Hold(name, version, newest, cause)
        if hold is None and name in aligned:
            hold = Hold(name, version, newest, "alignment")
        if hold is None and name in descent.lowest_first:
            hold = Hold(name, version, newest, "resolution")
        if hold is None:
            hold = _blocking(solver, name, version, newest, descent.decided_at.get((target, name), len(solver.fixed)),
                             upgraded, saved)
            solver.reach = saved
        out.append(hold)
    return tuple(out)


def _requirement_hold(solver: TargetSolver, name: NormalizedName, version: Version, newest: Version,
                      builds: Sequence[Version], edges: Sequence[Edge]) -> Hold | None:
    """The project's requirement, a constraint, or a planned package's requirement that admits
    no build of `newest`."""
    def excludes(specifier) -> bool:  # type: ignore[no-untyped-def]
        return not any(specifier.contains(build, prereleases=True) for build in builds)

    own = [e for e in edges if e.parent is None and excludes(e.requirement.specifier)]
    if own:
        return Hold(name, version, newest, "project", PROJECT, None, bare(own[0].requirement),
                    own[0].group.location)
    for constraint in solver.constraints_on(name):
        if excludes(constraint.requirement.specifier):
            return Hold(name, version, newest, "constraint", PROJECT, None, bare(constraint.requirement),
                        constraint.origin)
    for edge in sorted((e for e in edges if e.parent is not None), key=lambda e: (e.parent_name, str(e.requirement))):
        if edge.parent_name != name and excludes(edge.requirement.specifier):
            parent = solver.reach.chosen.get(NormalizedName(edge.parent_name))
            by_version = str(parent[0].version) if parent else None
            return Hold(name, version, newest, "requirement", edge.parent_name, by_version, bare(edge.requirement))
    return None


_CORE_STEPS = 6  # cores followed in `_blocking` before bisecting


def _blocking(solver: TargetSolver, name: NormalizedName, version: Version, newest: Version, at: int,
              upgraded: frozenset[NormalizedName], plan: Reach) -> Hold:
    """The earliest assumption of the decisions taken before `name`'s own that rules `newest` out,
    with the newest version's requirements that the plan's versions do not satisfy (`clashes`)."""
    literal = solver.public_literal(name, newest)
    prefix = solver.fixed[:at]
    if literal is None or solver.solve([*prefix, literal]):
        return Hold(name, version, newest, "decision")  # (cannot happen: the descent tried it)
    # The answer is the least `high` with solve(prefix[:high] + [literal]) UNSAT: one, since a
    # longer prefix only removes models. Each UNSAT answer's core bounds it (it lies within the
    # prefix up to the core's last decision), and most often that last decision is the one: the
    # prefix just before it is SAT. So cores are followed down a few times (each call near the
    # plan, cheap), then bisection takes over, from an unconstrained solve (far from the plan).
    high = len(prefix)
    for _ in range(_CORE_STEPS):
        core = solver.last_core
        high = max((i + 1 for i in range(high) if prefix[i] in core), default=0)
        if high == 0:  # the newest version alone cannot be installed
            return Hold(name, version, newest, "conflict")
        if solver.solve([*prefix[:high - 1], literal]):
            low = high - 1
            break
        high -= 1
    else:
        if not solver.solve([literal]):
            return Hold(name, version, newest, "conflict")
        low = 0
    solver.reach = plan  # (the newest version's requirements as the first model with it read them)
    clashes = _clashes(solver, name, newest)
    while high - low > 1:
        middle = (low + high) // 2
        if solver.solve([*prefix[:middle], literal]):
            low = middle
        else:
            high = middle
    blocking = prefix[high - 1]
    restricted = solver.restriction_of(blocking)
    if restricted is not None:  # a kept pin
        other = restricted[0]
        return Hold(name, version, newest, "pin", other, solver.previous[other].describe(), clashes=clashes)
    owner = solver.owner_of(blocking)
    if owner is None:
        return Hold(name, version, newest, "pins", clashes=clashes)  # the budget of moves the keep level set
    other, other_version = owner
    return Hold(name, version, newest, "upgrade" if other in upgraded else "decision", other, str(other_version),
                clashes=clashes)


def _clashes(solver: TargetSolver, name: NormalizedName, newest: Version) -> tuple[Clash, ...]:
    """The requirements of `name` at `newest` (from its metadata, when the solving read it) that the
    plan's version of the package they name does not satisfy, each with the plan's requirements on
    that package that admit none of the versions it would need."""
    edges = solver.active_edges()
    plan = solver.reach.chosen
    out: list[Clash] = []
    for requirement in solver.expanded_requirements(name, newest):
        other = canonicalize_name(requirement.name)
        chosen = plan.get(other)
        if chosen is None or requirement.specifier.contains(chosen[0].version, prereleases=True):
            continue
        wanted = [v for v in solver.admissible_versions(other) if requirement.specifier.contains(v, prereleases=True)]
        against = tuple(sorted({
            (e.parent_name, str(plan[NormalizedName(e.parent_name)][0].version) if e.parent_name in plan else None,
             bare(e.requirement))
            for e in edges.get(other, ())
            if not any(e.requirement.specifier.contains(v, prereleases=True) for v in wanted)}))
        out.append(Clash(bare(requirement), other, str(chosen[0].version), against))
    return tuple(out)


# -- divergences ----------------------------------------------------------------------------------
def _divergences(solvers: list[TargetSolver], refusals: Mapping[NormalizedName, tuple[Refusal, ...]]) -> list[Divergence]:
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
        kind = "version" if len(publics) > 1 else "artifact"
        out.append(Divergence(name, kind, choices, refusals=refusals.get(name, ()) if kind == "version" else ()))
    return out
