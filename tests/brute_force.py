"""A brute-force reference for the plan: every valid installation set, then the objective as filters.

Written independently of `planner.solve` and `planner.encode` (no SAT, no lazy expansion): it
shares only the project model, the targets, and the candidates each target may install
(`MemoryProvider.candidates`, i.e. routing + `select_candidates`) and their metadata.

Per target:

1. `TargetUniverse` re-derives the rules the plan must obey: the root requirements (project
   dependencies, the target's extras and groups, the project's own `demo[x]` references, markers
   evaluated on the target), `override-dependencies`, `constraint-dependencies`, the pre-release
   policy and yanked versions (admissible only when the project's own requirements, constraints
   or overrides pin them with ==).
2. `solutions` enumerates every assignment "package -> one admissible candidate, or absent" that
   is *valid*: each root requirement and each requirement of an installed candidate that is active
   (its marker holds on the target with no extra or with an extra requested of that package) is
   satisfied, and every installed package is reachable from the project through active
   requirements. The search only branches on packages that an active requirement already forces,
   and drops a branch as soon as a forced requirement is violated; both prunings are exact
   (requirements only become active, never inactive, as packages are added), so the result is
   every valid assignment, each once. `solutions(..., naive=True)` checks the full product of
   options instead, for small universes, to test that claim.

Then `optimum` applies the definition of `planner/solve/objective.py` by filtering these solution
sets, level by level, per alignment group:

0. upgrades (`upgrade`, in order): as 2., but only for these packages, each as soon as it is
   forced (a direct requirement at once);
1. keep: each target keeps the solutions that move the fewest pins (a pin whose candidate is
   admissible moves when the solution installs its package at another candidate);
2. repeatedly the undecided package that the decisions so far force some target to install with
   the least (rank in `prefer-newest`, depth, name); the first public version (the group's earlier
   aligned version first, then newest first among the admissible ones, or lowest first) that every
   target needing the package still has a solution for, else each target's own first; then each
   target's first exact candidate in the same direction.
What is left of each target's set must be one solution.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from planner.index.models import Candidate
from planner.previous.model import Pins
from planner.project.model import PrereleaseMode, Project, Resolution
from planner.solve.memory import MemoryProvider
from planner.targets.model import Target
from planner.targets.routing import route

Solution = Mapping[NormalizedName, Candidate]
Installed = dict[str, tuple[str, str]]  # name -> (version, index)


class Unsat:
    """No valid installation set exists on the target."""

    def __repr__(self) -> str:
        return "UNSAT"


UNSAT = Unsat()


def public(version: Version) -> Version:
    return Version(version.public)


def _holds(marker: Marker | None, target: Target, extra: str = "") -> bool:
    if marker is None:
        return True
    return marker.evaluate({**target.environment, "extra": extra})


@dataclass(frozen=True)
class Dep:
    """A requirement of a candidate (after overrides): active when `marker` holds with no extra,
    or with one of the extras requested of its package."""

    marker: Marker | None  # the marker as the package wrote it
    requirement: Requirement  # what must hold (an override may have replaced it)

    @property
    def name(self) -> NormalizedName:
        return canonicalize_name(self.requirement.name)

    @property
    def extras(self) -> frozenset[str]:
        return frozenset(canonicalize_name(e) for e in self.requirement.extras)


class TargetUniverse:
    """Everything the enumeration needs about one target, derived from the plain rules."""

    def __init__(self, project: Project, target: Target, provider: MemoryProvider, pins: Pins | None = None):
        self.project = project
        self.target = target
        self.provider = provider
        self.pins = dict(pins or {})
        self.roots: list[Requirement] = [r for raw in self._root_requirements() for r in self._override(raw)]
        self._found: dict[NormalizedName, tuple[Candidate, ...]] = {}
        self._admissible: dict[NormalizedName, tuple[Candidate, ...]] = {}
        self._deps: dict[tuple[NormalizedName, str, str], tuple[Dep, ...]] = {}

    # -- rules ------------------------------------------------------------------------------------
    def _root_requirements(self) -> list[Requirement]:
        project, target = self.project, self.target
        extras = set(target.extras)
        while True:  # the project's own `demo[x]` requirements activate extra x
            declared = list(project.dependencies)
            for extra in sorted(extras):
                declared += project.optional_dependencies.get(extra, ())
            for group in target.groups:
                declared += project.dependency_groups.get(group, ())
            active = [d.requirement for d in declared if _holds(d.requirement.marker, target)]
            more = {canonicalize_name(e) for r in active if canonicalize_name(r.name) == project.name for e in r.extras}
            if more <= extras:
                return [r for r in active if canonicalize_name(r.name) != project.name]
            extras |= more

    def _override(self, requirement: Requirement) -> list[Requirement]:
        """An `override-dependencies` entry for the package replaces the requirement (keeping its
        extras); overrides whose marker is false on the target replace it with nothing."""
        name = canonicalize_name(requirement.name)
        overrides = [o.requirement for o in self.project.uv.overrides if o.name == name]
        if not overrides:
            return [requirement]
        out = []
        for override in overrides:
            if _holds(override.marker, self.target):
                replaced = Requirement(str(override))
                replaced.marker = None
                replaced.extras = set(replaced.extras) | set(requirement.extras)
                out.append(replaced)
        return out

    def _first_party(self, name: NormalizedName) -> list[Requirement]:
        """The project's own requirements on `name` that apply on the target: root requirements
        (after overrides), constraints and overrides. They may pin a yanked version with == and
        make pre-releases explicit."""
        out = [r for r in self.roots if canonicalize_name(r.name) == name]
        for dependency in (*self.project.uv.constraints, *self.project.uv.overrides):
            if dependency.name == name and _holds(dependency.requirement.marker, self.target):
                out.append(dependency.requirement)
        return out

    def _pinned(self, candidate: Candidate) -> bool:
        for requirement in self._first_party(candidate.name):
            for spec in requirement.specifier:
                if spec.operator in ("==", "===") and "*" not in spec.version and \
                        Version(spec.version) in (candidate.version, public(candidate.version)):
                    return True
        return False

    def _explicit_prerelease(self, name: NormalizedName) -> bool:
        return any(r.specifier.prereleases for r in self._first_party(name))

    def _admits(self, candidate: Candidate, stable_exists: bool) -> bool:
        if candidate.yanked and not self._pinned(candidate):
            return False
        if candidate.version.is_prerelease:
            mode = self.project.uv.prerelease
            explicit = self._explicit_prerelease(candidate.name)
            if mode is PrereleaseMode.DISALLOW:
                return False
            if mode is PrereleaseMode.EXPLICIT and not explicit:
                return False
            if mode is PrereleaseMode.IF_NECESSARY and stable_exists:
                return False
            if mode is PrereleaseMode.IF_NECESSARY_OR_EXPLICIT and stable_exists and not explicit:
                return False
        for constraint in self.project.uv.constraints:
            if constraint.name == candidate.name and _holds(constraint.requirement.marker, self.target):
                if not constraint.requirement.specifier.contains(candidate.version, prereleases=True):
                    return False
        return True

    # -- data -------------------------------------------------------------------------------------
    def found(self, name: NormalizedName) -> tuple[Candidate, ...]:
        if name not in self._found:
            decided = route(self.project, self.target, name)
            pin = self.pins.get(name)
            if pin is not None and pin.filename:  # the file a pin names is chosen while it fits
                indexes = [pin.index] if pin.index else list(decided.index_names)
                decided = replace(decided, prefer=tuple((i, str(pin.version), pin.filename) for i in indexes))
            self._found[name] = tuple(self.provider.routed_candidates(decided, self.target).candidates)
        return self._found[name]

    def pinned(self, name: NormalizedName) -> set[tuple[str, Version, str]] | None:
        """The admissible candidates a pin keeps (None: no pin, or its candidate is gone)."""
        pin = self.pins.get(name)
        if pin is None:
            return None
        kept = {(c.name, c.version, c.index) for c in self.admissible(name)
                if c.version == pin.version and (pin.index is None or c.index == pin.index)}
        return kept or None

    def moved(self, solution: Solution) -> int:
        """How many keepable pins the solution moves."""
        count = 0
        for name in self.pins:
            kept = self.pinned(name)
            if kept is not None and name in solution and (name, solution[name].version, solution[name].index) not in kept:
                count += 1
        return count

    def admissible(self, name: NormalizedName) -> tuple[Candidate, ...]:
        """Newest version first, then index order (as `select_candidates` orders them)."""
        if name not in self._admissible:
            found = self.found(name)
            stable_exists = any(not c.version.is_prerelease for c in found)
            self._admissible[name] = tuple(c for c in found if self._admits(c, stable_exists))
        return self._admissible[name]

    def deps(self, candidate: Candidate) -> tuple[Dep, ...]:
        key = (candidate.name, str(candidate.version), candidate.index)
        if key not in self._deps:
            metadata = self.provider.metadata([candidate.artifact])[candidate.artifact]
            self._deps[key] = tuple(Dep(raw.marker, r) for raw in metadata.requires_dist for r in self._override(raw))
        return self._deps[key]

    def active(self, dep: Dep, extras: Iterable[str]) -> bool:
        return _holds(dep.marker, self.target) or any(_holds(dep.marker, self.target, e) for e in extras)

    # -- the closure of an assignment ------------------------------------------------------------
    def closure(self, assignment: Solution) -> tuple[set[NormalizedName], list[Requirement], dict[NormalizedName, set[str]]]:
        """Least fixpoint from the roots: the installed packages reached through active
        requirements, every active requirement met on the way (naming installed or not), and the
        extras those requirements ask of each reached package."""
        reached: set[NormalizedName] = set()
        extras: dict[NormalizedName, set[str]] = {}
        while True:
            requirements = list(self.roots)
            for name in reached:
                for dep in self.deps(assignment[name]):
                    if self.active(dep, extras[name]):
                        requirements.append(dep.requirement)
            grown = False
            for requirement in requirements:
                name = canonicalize_name(requirement.name)
                if name not in assignment:
                    continue
                wanted = {canonicalize_name(e) for e in requirement.extras}
                if name not in reached:
                    reached.add(name)
                    extras[name] = set()
                    grown = True
                if not wanted <= extras[name]:
                    extras[name] |= wanted
                    grown = True
            if not grown:
                return reached, requirements, extras

    def valid(self, assignment: Solution) -> bool:
        reached, requirements, _ = self.closure(assignment)
        if reached != set(assignment):
            return False
        for requirement in requirements:
            chosen = assignment.get(canonicalize_name(requirement.name))
            if chosen is None or not requirement.specifier.contains(chosen.version, prereleases=True):
                return False
        return True

    # -- enumeration -------------------------------------------------------------------------------
    def solutions(self, naive: bool = False) -> list[dict[NormalizedName, Candidate]]:
        if naive:
            return self._all_assignments()
        out: list[dict[NormalizedName, Candidate]] = []
        self._search({}, out)
        return out

    def _search(self, assignment: dict[NormalizedName, Candidate], out: list[dict[NormalizedName, Candidate]]) -> None:
        _, requirements, _ = self.closure(assignment)
        missing: dict[NormalizedName, list[Requirement]] = {}
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            chosen = assignment.get(name)
            if chosen is None:
                missing.setdefault(name, []).append(requirement)
            elif not requirement.specifier.contains(chosen.version, prereleases=True):
                return  # a forced requirement fails; adding packages never lifts it
        if not missing:
            assert self.valid(assignment)
            out.append(dict(assignment))
            return
        name = min(missing)
        for candidate in self.admissible(name):
            if all(r.specifier.contains(candidate.version, prereleases=True) for r in missing[name]):
                assignment[name] = candidate
                self._search(assignment, out)
                del assignment[name]

    def universe(self) -> list[NormalizedName]:
        """Every package an index lists or a requirement names."""
        names = {name for (_, name) in self.provider.releases}
        names |= {canonicalize_name(r.name) for r in self.roots}
        while True:
            more = {dep.name for name in names for c in self.admissible(name) for dep in self.deps(c)} - names
            if not more:
                return sorted(names)
            names |= more

    def _all_assignments(self) -> list[dict[NormalizedName, Candidate]]:
        names = self.universe()
        options = [[None, *self.admissible(name)] for name in names]
        out = []
        for combination in itertools.product(*options):
            assignment = {name: c for name, c in zip(names, combination) if c is not None}
            if self.valid(assignment):
                out.append(assignment)
        return out

    def count_assignments(self) -> int:
        total = 1
        for name in self.universe():
            total *= 1 + len(self.admissible(name))
        return total

    # -- what the decisions force -----------------------------------------------------------------
    def forced(self, decided: Mapping[NormalizedName, Candidate]) -> dict[NormalizedName, int]:
        """Undecided packages that the roots and the decided candidates' active requirements force,
        with their depth: the fewest requirement edges from the project (an edge activated by an
        extra counts from the nearest requirement that asks for that extra)."""
        depth: dict[NormalizedName, int] = {}  # nearest requirement naming the package
        extra_depth: dict[tuple[NormalizedName, str], int] = {}  # nearest one asking for the extra
        while True:  # shortest paths by relaxation (Bellman-Ford; the graphs are tiny)
            edges = [(r, 1) for r in self.roots]
            for name, candidate in decided.items():
                if name not in depth:
                    continue
                for dep in self.deps(candidate):
                    at = [depth[name]] if _holds(dep.marker, self.target) else []
                    at += [d for (n, e), d in extra_depth.items() if n == name and _holds(dep.marker, self.target, e)]
                    if at:
                        edges.append((dep.requirement, min(at) + 1))
            changed = False
            for requirement, d in edges:
                name = canonicalize_name(requirement.name)
                if d < depth.get(name, d + 1):
                    depth[name] = d
                    changed = True
                for extra in requirement.extras:
                    key = (name, canonicalize_name(extra))
                    if d < extra_depth.get(key, d + 1):
                        extra_depth[key] = d
                        changed = True
            if not changed:
                return {name: d for name, d in depth.items() if name not in decided}


@dataclass
class _TargetState:
    universe: TargetUniverse
    solutions: list[dict[NormalizedName, Candidate]]
    decided: dict[NormalizedName, Candidate]

    @property
    def name(self) -> str:
        return self.universe.target.name


def alignment_groups(names: Sequence[str], pythons: Mapping[str, str], mode: str) -> list[list[str]]:
    if mode == "per-target":
        return [[n] for n in names]
    if mode == "all":
        return [list(names)] if names else []
    if mode != "per-python":
        raise ValueError(mode)
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(pythons[n], []).append(n)
    return list(groups.values())


@dataclass(frozen=True)
class Order:
    """`[tool.planner] prefer-newest` and `resolution`: the order and direction of decisions."""

    prefer_newest: tuple[str, ...] = ()
    resolution: Resolution = Resolution.HIGHEST
    direct: frozenset[str] = frozenset()

    @classmethod
    def of(cls, project: Project) -> Order:
        direct = {d.name for d in project.dependencies}
        direct |= {d.name for ds in project.optional_dependencies.values() for d in ds}
        direct |= {d.name for ds in project.dependency_groups.values() for d in ds}
        return cls(tuple(project.planner.prefer_newest), project.uv.resolution, frozenset(direct - {project.name}))

    def rank(self, name: str) -> int:
        return self.prefer_newest.index(name) if name in self.prefer_newest else len(self.prefer_newest)

    def lowest(self, name: str) -> bool:
        if name in self.prefer_newest:
            return False
        return self.resolution is Resolution.LOWEST or (self.resolution is Resolution.LOWEST_DIRECT and name in self.direct)


def _own_versions(s: _TargetState, name: NormalizedName, lowest: bool) -> list[Version]:
    return sorted({public(c.version) for c in s.universe.admissible(name)}, reverse=not lowest)


def _keep(s: _TargetState) -> None:
    fewest = min(s.universe.moved(x) for x in s.solutions)
    s.solutions = [x for x in s.solutions if s.universe.moved(x) == fewest]


def _descend(states: list[_TargetState], order: Order = Order(), aligned: dict[NormalizedName, Version] | None = None,
             only: Sequence[NormalizedName] | None = None) -> None:
    """Decide forced packages in order; `only`: just these, in this order (the upgrades)."""
    aligned = {} if aligned is None else aligned
    while True:
        forced = {s.name: s.universe.forced(s.decided) for s in states}
        pending: dict[NormalizedName, int] = {}
        for names in forced.values():
            for name, d in names.items():
                pending[name] = min(d, pending.get(name, d))
        if only is not None:
            pending = {n: d for n, d in pending.items() if n in only}
        if not pending:
            return
        if only is not None:
            name = min(pending, key=list(only).index)
        else:
            name = min(pending, key=lambda n: (order.rank(n), pending[n], n))
        needing = [s for s in states if name in forced[s.name]]
        for s in needing:  # forced means: every remaining solution installs it
            assert all(name in solution for solution in s.solutions), (s.name, name)
        lowest = order.lowest(name)

        def feasible(s: _TargetState, version: Version) -> bool:
            return any(public(solution[name].version) == version for solution in s.solutions)

        versions = sorted({public(c.version) for s in needing for c in s.universe.admissible(name)}, reverse=not lowest)
        if name in aligned:
            versions = [aligned[name]] + [v for v in versions if v != aligned[name]]
        common = next((v for v in versions if all(feasible(s, v) for s in needing)), None)
        if common is not None:
            aligned.setdefault(name, common)
        for s in needing:
            version = common if common is not None else next(v for v in _own_versions(s, name, lowest) if feasible(s, v))
            s.solutions = [x for x in s.solutions if public(x[name].version) == version]
            builds = [c for c in s.universe.admissible(name) if public(c.version) == version]
            if lowest:  # lowest build first; one version's candidates keep their index order
                builds = sorted(builds, key=lambda c: c.version)
            chosen = next(c for c in builds if any(x[name] == c for x in s.solutions))
            s.solutions = [x for x in s.solutions if x[name] == chosen]
            s.decided[name] = chosen


def installed(solution: Solution) -> Installed:
    """What a plan must match: each installed package's version and index."""
    return {name: (str(c.version), c.index) for name, c in sorted(solution.items())}


class Enumerator:
    """Valid solutions of every target, computed once, and the optimum per alignment mode.
    `pins`: per target name, the previous plan's pins; `upgrade`: packages to decide first."""

    def __init__(self, project: Project, targets: Sequence[Target], provider: MemoryProvider, naive: bool = False,
                 pins: Mapping[str, Pins] | None = None, upgrade: Sequence[NormalizedName] = ()):
        self.targets = list(targets)
        self.order = Order.of(project)
        self.upgrade = list(upgrade)
        self.universes = {t.name: TargetUniverse(project, t, provider, (pins or {}).get(t.name)) for t in self.targets}
        self.solutions = {name: u.solutions(naive) for name, u in self.universes.items()}
        self.chosen: dict[tuple[str, str], Solution] = {}  # (mode, target) -> the optimum

    def optimum(self, mode: str) -> dict[str, Installed | Unsat]:
        result: dict[str, Installed | Unsat] = {t.name: UNSAT for t in self.targets if not self.solutions[t.name]}
        sat = [t.name for t in self.targets if self.solutions[t.name]]
        pythons = {t.name: t.python.short for t in self.targets}
        for group in alignment_groups(sat, pythons, mode):
            states = [_TargetState(self.universes[n], list(self.solutions[n]), {}) for n in group]
            aligned: dict[NormalizedName, Version] = {}
            if self.upgrade:
                _descend(states, self.order, aligned, only=self.upgrade)
            for state in states:
                _keep(state)
            _descend(states, self.order, aligned)
            for s in states:
                plans = {tuple(sorted(installed(x).items())) for x in s.solutions}
                assert len(plans) == 1, f"{s.name}: {len(plans)} solutions left after the descent"
                result[s.name] = installed(s.solutions[0])
                self.chosen[(mode, s.name)] = s.solutions[0]
        return {t.name: result[t.name] for t in self.targets}


    def extras(self, mode: str, target: str) -> dict[str, tuple[str, ...]]:
        """The extras requested of each installed package in the optimum (run `optimum` first)."""
        _, _, extras = self.universes[target].closure(self.chosen[(mode, target)])
        return {name: tuple(sorted(wanted)) for name, wanted in sorted(extras.items())}


def optimum(project: Project, targets: Sequence[Target], provider: MemoryProvider, mode: str) -> dict[str, Installed | Unsat]:
    return Enumerator(project, targets, provider).optimum(mode)
