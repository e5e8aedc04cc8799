"""One target's incremental encoding and SAT solving, with lazy metadata (encodings/SPEC.md).

Variables: one per candidate (package, version, index) the solving reaches (a package's newest
FIRST_CHUNK at first, older ones a chunk at a time behind tail literals; see `_materialize`);
one per requested package extra; auxiliary ones for "at most one" and for the objective's
public-version choices. Clauses are added as the solver needs them:

- when a package is first required: its candidates, "at most one", and unit clauses for
  candidates the pre-release policy, yanking or a constraint excludes (and so for each chunk);
- when a candidate is selected in a model and reachable from the project: its dependencies.

`solve(assumptions)` repeats solve -> expand the newly selected, reachable candidates -> solve
until every selected reachable candidate is expanded. Such a model, with unreachable candidates
set false, satisfies the full formula (every clause of an unexpanded candidate is falsified only
if that candidate is true); an UNSAT answer on the partial formula is UNSAT of the full one,
because the full formula only has more clauses.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version
from pysat.solvers import Solver

from planner.encode.formula import Fact, FactKind, Formula, Group, GroupKind
from planner.errors import Location
from planner.index.models import (Artifact, ArtifactKind, Candidate, CandidateSet, CoreMetadata, RejectionKind,
                                  offered_by, version_text)
from planner.plan.model import PROJECT, Hold, PlannedPackage, Requirer, SolveStats, TargetPlan
from planner.previous.model import Pin, Pins
from planner.solve import limits
from planner.project.model import Dependency, PrereleaseMode, Project
from planner.solve.provider import Provider, Unusable
from planner.targets.model import Target
from planner.targets.routing import Route, route
from planner.memo import PerObject
from planner.urls import redact_text
from planner.targets.runtimes import Runtime, runtime_of, runtime_problem

FactKey = tuple[Hashable, ...]
_UNSEEN = object()


def bare(requirement: Requirement) -> str:
    """A requirement as a user reads it in an explanation: no marker."""
    return _bare(str(requirement))


@lru_cache(maxsize=4096)
def _bare(text: str) -> str:
    copy = Requirement(text)
    copy.marker = None
    return redact_text(str(copy))  # a requirement's URL may hold credentials

# `str(specifier)`, made once per object (requirements are shared).
_specifier_key: PerObject[SpecifierSet, str] = PerObject(str, limit=1 << 16)

# A requirement as written in a clause group's text (credentials redacted). Metadata parsing hands
# out one object per distinct Requires-Dist line, shared by the versions that repeat it: the text
# is made once per object.
_requirement_text: PerObject[Requirement, str] = PerObject(lambda r: redact_text(str(r)), limit=1 << 16)


def constraint_source(dependency: Dependency) -> str:
    """How a constraint is named in an explanation: the pyproject's constraint-dependencies, or
    the command-line option that set it for this run (`--upgrade-package torch==2.6`)."""
    option = dependency.origin.file.name
    return option if option.startswith("--") else "constraint-dependencies has"


_canonical = lru_cache(maxsize=None)(canonicalize_name)  # the same few thousand names, again and again

SOLVER = "glucose4"  # incremental, with assumptions and phase setting
# Candidates of a package that get variables when it is first required (newest first); the
# others get theirs, a chunk at a time, when the solving reaches them (`_materialize`).
FIRST_CHUNK = 32


def public(version: Version) -> Version:
    """The version without its local label: `2.5.1+cpu` -> `2.5.1` (aligned with each other)."""
    return version if version.local is None else _without_local(version)  # (most have none: no hashing)


@lru_cache(maxsize=65536)
def _without_local(version: Version) -> Version:
    return Version(version.public)


@dataclass(frozen=True)
class Edge:
    """A requirement that must hold when `parent` (None: the project) and `guard` are true."""

    parent: int | None
    parent_name: str  # a package name or PROJECT
    guard: int | None  # the variable of the parent's extra this requirement depends on
    guard_extra: str | None
    requirement: Requirement
    name: NormalizedName
    group: Group
    via: str | None = None  # root requirements: "dependencies", "extra x", "group g", "packages"

    @cached_property
    def extras(self) -> frozenset[NormalizedName]:
        """The extras the requirement asks of `name`, normalized (read on every model)."""
        return frozenset(canonicalize_name(e) for e in self.requirement.extras)


@dataclass
class PackageVars:
    name: NormalizedName
    found: CandidateSet
    # Candidates with a variable, newest first: a prefix of `found.candidates` (explaining: all
    # of them, then other indexes' candidates and placeholders for versions without a file).
    vars: list[tuple[Candidate, int]]
    admissible: list[int] = field(default_factory=list)  # positions in `found.candidates`
    # When `admissible` is every position but these (only yanking and pre-releases excluded):
    # targets that share the candidate list and these share `by_public` too.
    excluded: frozenset[int] | None = None
    # Lazy variables (see `TargetSolver._materialize`): `tail` means "one of the candidates
    # without a variable" (None once every candidate has one); `spec_tails[s]` holds the literal
    # "one of those that specifier `s` admits", and the positions `s` admits.
    tail: int | None = None
    spec_tails: dict[str, tuple[int, list[int]]] = field(default_factory=dict)
    # Specifier text -> (how many candidates had a variable, the variables it admits among them).
    literals: dict[str, tuple[int, list[int]]] = field(default_factory=dict)
    _satisfying: dict[str, list[int]] = field(default_factory=dict)
    _admitted: dict[str, list[int]] = field(default_factory=dict)
    _by_public: dict[Version, list[int]] | None = None

    @property
    def materialized(self) -> int:
        """How many of `found.candidates` have a variable."""
        return min(len(self.vars), len(self.found.candidates))

    def admissible_candidates(self) -> list[Candidate]:
        return [self.found.candidates[position] for position in self.admissible]

    def by_public(self) -> dict[Version, list[int]]:
        """Admissible candidates' positions per public version (local labels dropped), newest first."""
        if self._by_public is None:
            self._by_public = _index_of(self.found.candidates).by_public(self.admissible, self.excluded)
        return self._by_public

    def admitted(self, specifier: SpecifierSet) -> list[int]:
        """The positions in `found.candidates` of the candidates whose version `specifier` admits
        (pre-releases included: the policy is applied per candidate), in order; computed once per
        distinct specifier, and only over the versions the specifier's bounds leave."""
        key = _specifier_key(specifier)
        found = self._admitted.get(key)
        if found is None:
            found = self._admitted[key] = _index_of(self.found.candidates).admitted(key, specifier)
        return found

    def satisfying(self, specifier: SpecifierSet) -> list[int]:
        """Explaining (every candidate has a variable): the variables of the `vars` whose version
        `specifier` admits, other indexes' candidates and placeholders included, in `vars` order."""
        key = str(specifier)
        found = self._satisfying.get(key)
        if found is None:
            count = len(self.found.candidates)
            found = self._satisfying[key] = [self.vars[p][1] for p in self.admitted(specifier)] + [
                var for candidate, var in self.vars[count:] if specifier.contains(candidate.version, prereleases=True)]
        return found


class _CandidateIndex:
    """What depends only on a package's candidate list, worked out once for every target that
    shares the list (targets that decide alike on a page get the same candidates object): the
    versions in ascending order, each candidate's public version, whether a stable version exists,
    and the positions each specifier admits."""

    def __init__(self, candidates: Sequence[Candidate]):
        self.candidates = candidates
        versions = [candidate.version for candidate in candidates]
        # Candidates come newest first (`select_candidates`): then ascending order is the reverse,
        # checked in one pass instead of sorting (equal versions' order does not matter to
        # `admitted`, which sorts the positions it returns).
        self.newest_first = all(versions[i] >= versions[i + 1] for i in range(len(versions) - 1))
        if self.newest_first:
            self.order = list(range(len(versions) - 1, -1, -1))
        else:
            self.order = sorted(range(len(versions)), key=versions.__getitem__)
        self.ascending = [versions[i] for i in self.order]
        self.publics = [public(version) for version in versions]
        self.stable_exists = any(not version.is_prerelease for version in versions)
        # Positions of the candidates a policy may exclude (yanked, pre-release), ascending.
        self.suspects = [i for i, candidate in enumerate(candidates) if candidate.yanked or versions[i].is_prerelease]
        self._admitted: dict[str, list[int]] = {}
        self._by_public: dict[frozenset[int], dict[Version, list[int]]] = {}

    def by_public(self, admissible: Sequence[int], excluded: frozenset[int] | None) -> dict[Version, list[int]]:
        """The `admissible` positions per public version, in order (shared by `excluded`)."""
        found = self._by_public.get(excluded) if excluded is not None else None
        if found is None:
            found = {}
            publics = self.publics
            for position in admissible:
                found.setdefault(publics[position], []).append(position)
            if excluded is not None:
                self._by_public[excluded] = found
        return found

    def admitted(self, key: str, specifier: SpecifierSet) -> list[int]:
        found = self._admitted.get(key)
        if found is None:
            versions, order = self.ascending, self.order
            low, high = version_window(specifier, versions)
            found = self._admitted[key] = sorted(order[i] for i in range(low, high)
                                                 if _contains(key, specifier, versions[i]))
        return found


# Per candidate list (targets that decide alike on a page share it).
_index_of: PerObject[Sequence[Candidate], _CandidateIndex] = PerObject(_CandidateIndex, limit=1 << 14)


# Whether a specifier (by its text) admits a version, shared by every target of the run: each
# target asks the same of the same packages' versions, which are the same objects (parsed once
# per index page). Kept by object (and the object with it, so that its id cannot be reused:
# hashing a Version is slow); bounded: cleared when full.
_CONTAINS: dict[tuple[str, int], tuple[Version, bool]] = {}
_CONTAINS_LIMIT = 1 << 18


def _contains(key: str, specifier: SpecifierSet, version: Version) -> bool:
    found = _CONTAINS.get((key, id(version)))
    if found is None or found[0] is not version:
        if len(_CONTAINS) >= _CONTAINS_LIMIT:
            _CONTAINS.clear()
        found = _CONTAINS[(key, id(version))] = (version, specifier.contains(version, prereleases=True))
    return found[1]


def version_window(specifier: SpecifierSet, ascending: Sequence[Version]) -> tuple[int, int]:
    """A slice [low, high) of the sorted `ascending` versions outside of which `specifier` admits
    none: bounds from its >=, >, <=, <, == and ~= clauses, found by bisection. (A superset: the
    caller still checks each version inside; local labels and pre-release rules stay exact.)"""
    low, high = 0, len(ascending)
    for spec in specifier:
        operator, text = spec.operator, spec.version
        if operator in ("!=", "===") or text.endswith(".*"):
            continue
        try:
            bound = Version(text)
        except InvalidVersion:
            continue
        if operator in (">=", ">", "~="):
            low = max(low, bisect_left(ascending, bound))
        elif operator == "<":
            high = min(high, bisect_left(ascending, bound))
        elif operator in ("<=", "=="):
            if operator == "==":
                low = max(low, bisect_left(ascending, bound))
            end = bisect_right(ascending, bound)
            if bound.local is None:  # `<=1.0` and `==1.0` admit 1.0+cpu, sorted right after 1.0
                while end < len(ascending) and public(ascending[end]) <= bound:
                    end += 1
            high = min(high, end)
    return low, max(low, high)


@dataclass
class Reach:
    """The part of a model reachable from the project: the plan it stands for."""

    chosen: dict[NormalizedName, tuple[Candidate, int]] = field(default_factory=dict)
    extras: dict[NormalizedName, set[str]] = field(default_factory=dict)
    in_tail: list[NormalizedName] = field(default_factory=list)  # chosen among candidates without variables


class TargetSolver:
    def __init__(self, project: Project, target: Target, provider: Provider, solver_name: str = SOLVER,
                 explain: bool = False, previous: Pins | None = None, keep_clauses: bool = True,
                 narrow: bool = False):
        """`explain=True` builds the explaining formula (planner/explain/): every user-level fact
        guards its clauses with a selector, and versions the target cannot install (no fitting
        file; another index than a source rule's) get variables that those facts rule out.

        `previous`: the target's pins from the previous plan. Each pin whose candidate is still
        admissible gets a keep literal (`keep`): true, the package is at the pinned candidate or
        not installed (see `_only_literal`); the objective decides which of them hold.

        `narrow`: each pinned package the project does not require directly has only its pinned
        candidates, when one of them is still admissible (`narrowed`; see `_narrowed`): the
        formula is the full one with those pins kept, for the objective's fast path with pins."""
        self.project = project
        self.target = target
        self.provider = provider
        self.explain = explain
        self.previous: dict[NormalizedName, Pin] = {} if explain else dict(previous or {})
        self.keep: dict[NormalizedName, int] = {}  # package -> keep literal (admissible pins only)
        self.unkept: dict[NormalizedName, Pin] = {}  # pins whose candidate is gone or inadmissible
        self.narrowed: set[NormalizedName] = set()  # packages that have only their pinned candidates
        self._narrowing = False  # (switched on after the roots: a direct requirement is never narrowed)
        self._routes: dict[NormalizedName, Route] = {}
        self.changed_files: list[tuple[NormalizedName, str, str]] = []  # (package, file, index): new sha256
        # package -> the public versions it may still take, once a restriction (a kept pin, an
        # upgrade decision) is fixed; and each restriction literal's package and versions.
        self.restricted: dict[NormalizedName, frozenset[Version]] = {}
        self._restrictions: dict[int, tuple[NormalizedName, frozenset[Version]]] = {}
        self._allowed: dict[int, set[int]] = {}  # restriction literal -> the candidate variables it allows
        self._moved: dict[NormalizedName, int] = {}
        self.last_core: set[int] = set()  # after an UNSAT `solve`: the given assumptions in its core
        # (`keep_clauses=False`: the clauses go to the SAT solver only; see `Formula`.)
        self.formula = Formula(selectors=explain, keep_clauses=keep_clauses)
        self.solver = Solver(name=solver_name)
        self.packages: dict[NormalizedName, PackageVars] = {}
        self.edges: dict[int, list[Edge]] = {}  # expanded candidate var -> its requirements
        self.metadata: dict[int, CoreMetadata] = {}
        self.unusable: dict[int, str] = {}  # candidate var -> why its metadata cannot be used
        self.extra_vars: dict[tuple[NormalizedName, str], int] = {}
        self.fixed: list[int] = []  # assumptions of decisions taken (the objective's prefix)
        self.decided: dict[NormalizedName, int] = {}  # package -> the candidate variable fixed
        # The requirements the decisions so far impose (see `pending`), kept up to date as
        # decisions are taken: each requirement's label (depth, path), by package the ones that
        # name it, each package's least label (and per extra: of those asking for it), and the
        # undecided packages with their depth. `_closure_todo`: decided packages to go through.
        self._labels: dict[int, tuple[int, tuple[int, ...]]] = {}  # id(edge) -> label
        self._into: dict[NormalizedName, dict[int, Edge]] = {}
        self._least: dict[NormalizedName, tuple[int, tuple[int, ...]]] = {}
        self._least_extra: dict[NormalizedName, dict[str, tuple[int, tuple[int, ...]]]] = {}
        self._pending_depth: dict[NormalizedName, int] = {}
        self._closure_todo: list[NormalizedName] = []
        self._closure_started = False
        self.reach = Reach()
        self._last_taken: dict[NormalizedName, tuple[Candidate, int]] = {}  # each package's last choice in a model
        self._grown: set[int] = set()  # candidate variables whose requirements grew since the last walk
        # The last walk of `_reachable`: the choice it looked at per package, its plan, and how
        # many requirements of each planned candidate it went through.
        self._walk: tuple[dict[NormalizedName, tuple[Candidate, int] | None], Reach, dict[int, int],
                          dict[NormalizedName, list[Edge]]] | None = None
        self._owner: dict[int, NormalizedName] = {}  # candidate variable -> its package
        self._public_of: dict[int, tuple[NormalizedName, Version]] = {}  # public-version variables
        self.sat_calls = 0
        self.sat_seconds = 0.0
        # Steering (see `solve`): package -> position in its `admissible` list that models are
        # steered to; the packages to steer next (reached by the last model, or new since).
        self._preferred: dict[NormalizedName, int] = {}
        self._to_steer: set[NormalizedName] = set()
        self._steered: dict[NormalizedName, int] = {}  # package -> the variable steered to (0: none left)
        self._order: dict[NormalizedName, int] = {}  # package -> when it was first required
        self._steps_down: dict[NormalizedName, int] = {}
        self._stable_exists: dict[NormalizedName, bool] = {}  # has a candidate that is no pre-release
        self._constraints: dict[NormalizedName, list[Dependency]] = {}  # those that apply on this target
        self.metadata_fetches = 0
        self._phases: list[int] = []
        self._explicit_prerelease: set[NormalizedName] = set()
        self._exact_pins: dict[NormalizedName, set[tuple[str, str]]] = {}  # (operator, version)
        self._runtime_problems: dict[tuple[NormalizedName, Version], tuple[Runtime, str] | None] = {}
        self.roots = self._root_edges()
        self._narrowing = narrow and not explain
        if self.previous:  # every pinned package gets its variables and keep literal up front
            self._prefetch(self.previous)
            for name in sorted(self.previous):
                self._package(name)

    # -- roots ----------------------------------------------------------------------------------
    def _root_dependencies(self) -> list[tuple[Dependency, str]]:
        """The requirements the target starts from, with where they come from: each local
        package it installs (a package is required by name, so its dependencies come from its
        own metadata; a project that is no package stands for its dependencies and the target's
        extras of it), then the target's dependency groups of the root and of those packages."""
        project, target = self.project, self.target
        found: list[tuple[Dependency, str, Project]] = []
        owners: list[Project] = []
        for name in target.packages or (project.name,):
            local = project.local_projects.get(name)
            if local is None:
                continue
            owners.append(local)
            suffix = "" if local is project else f" of {local.name}"
            if local.is_package:
                extras = [e for e in target.extras if e in local.optional_dependencies]
                wanted = Requirement(local.name + (f"[{','.join(extras)}]" if extras else ""))
                found.append((Dependency(wanted, local.origin or local.locate(("project",))), "packages", local))
                continue
            found.extend((d, "dependencies" + suffix, local) for d in local.dependencies)
            found.extend(self._extras_of(local, target.extras, suffix))
        for group in target.groups:
            for owner in {id(p): p for p in (project, *owners)}.values():
                suffix = "" if owner is project else f" of {owner.name}"
                found.extend((d, f"group {group}{suffix}", owner) for d in owner.dependency_groups.get(group, ()))
        out: list[tuple[Dependency, str]] = []
        seen: set[tuple[str, str]] = set()
        expanded = {(owner.name, extra) for owner in owners if not owner.is_package for extra in target.extras}
        while found:
            dependency, via, owner = found.pop(0)
            requirement = dependency.requirement
            if requirement.marker is not None and not target.evaluate(requirement.marker):
                continue
            if dependency.name == owner.name and not owner.is_package:
                # `demo[gpu]` inside demo, a project that is no package: that extra's requirements
                new = [e for e in requirement.extras if (owner.name, canonicalize_name(e)) not in expanded]
                expanded.update((owner.name, canonicalize_name(e)) for e in new)
                found.extend(self._extras_of(owner, new, "" if owner is project else f" of {owner.name}"))
                continue
            key = (str(dependency.requirement), str(dependency.origin))
            if key not in seen:
                seen.add(key)
                out.append((dependency, via))
        return out

    @staticmethod
    def _extras_of(owner: Project, extras: Iterable[str], suffix: str) -> list[tuple[Dependency, str, Project]]:
        """The requirements of `owner`'s extras (those it declares)."""
        out = []
        for extra in extras:
            name = canonicalize_name(extra)
            out.extend((d, f"extra {name}{suffix}", owner) for d in owner.optional_dependencies.get(name, ()))
        return out

    def _root_edges(self) -> list[Edge]:
        edges = []
        for dependency, via in self._root_dependencies():
            for requirement, note, override in self._overridden(dependency.requirement):
                name = canonicalize_name(requirement.name)
                if requirement.specifier.prereleases:
                    self._explicit_prerelease.add(name)
                self._note_pins(name, requirement)
                if requirement.specifier and self._sourced(name):  # the source rule wins (as in `_add_edges`)
                    requirement = _any_version(requirement)
                    note += " (its version bounds yield to the source rule, as in uv)"
                said = (f"target '{self.target.name}' installs {bare(dependency.requirement)}" if via == "packages"
                        else f"the project requires {bare(dependency.requirement)} ({via})")
                fact = Fact(("requirement", via, str(dependency.requirement), str(dependency.origin)),
                            FactKind.REQUIREMENT, said,
                            dependency.origin, package=name, requirement=bare(dependency.requirement),
                            parent=PROJECT, via=via)
                group = self.formula.group(GroupKind.ROOT, f"project requires {redact_text(str(requirement))} via {via}{note}",
                                           dependency.origin, (fact, *self._override_facts(override)))

                edges.append(Edge(None, PROJECT, None, None, requirement, name, group, via))
        # Constraints and overrides are first-party requirements too: a pre-release or an exact
        # pin they name allows that pre-release or yanked version (as uv does).
        for dependency in (*self.project.uv.constraints, *self.project.uv.overrides):
            marker = dependency.requirement.marker
            if marker is not None and not self.target.evaluate(marker):
                continue
            if dependency.requirement.specifier.prereleases:
                self._explicit_prerelease.add(dependency.name)
            self._note_pins(dependency.name, dependency.requirement)
        self._prefetch(edge.name for edge in edges)
        self._expect(edge.requirement for edge in edges)
        for edge in edges:
            self._require(edge)
        return edges

    def _note_pins(self, name: NormalizedName, requirement: Requirement) -> None:
        for spec in requirement.specifier:
            if spec.operator in ("==", "===") and "*" not in spec.version:
                self._exact_pins.setdefault(name, set()).add((spec.operator, spec.version))

    def _pinned(self, name: NormalizedName, version: Version) -> bool:
        """Does a first-party `==` (or `===`) pin name exactly this version (PEP 592)? `==1.0.0`
        pins 1.0 (versions compare as versions), and `==2.5.1` pins `2.5.1+cpu`."""
        for operator, pinned in self._exact_pins.get(name, set()):
            if operator == "===":
                if pinned in (str(version), version.public):
                    return True
            elif Version(pinned) in (version, public(version)):
                return True
        return False

    def _overridden(self, requirement: Requirement) -> list[tuple[Requirement, str, Dependency | None]]:
        """`override-dependencies` replace every requirement on their package."""
        if not self.project.uv.overrides:
            return [(requirement, "", None)]
        name = _canonical(requirement.name)
        overrides = [o for o in self.project.uv.overrides if o.name == name]
        if not overrides:
            return [(requirement, "", None)]
        out = []
        for override in overrides:
            marker = override.requirement.marker
            if marker is None or self.target.evaluate(marker):
                replaced = Requirement(str(override.requirement))
                replaced.marker = None
                replaced.extras = set(requirement.extras) | set(replaced.extras)
                out.append((replaced, f" (override of {requirement} at {override.origin})", override))
        return out

    @staticmethod
    def _override_facts(override: Dependency | None) -> tuple[Fact, ...]:
        if override is None:
            return ()
        text = f"override-dependencies replaces every requirement on {override.name} with {bare(override.requirement)}"
        return (Fact(("override", str(override.requirement), str(override.origin)), FactKind.OVERRIDE, text,
                     override.origin, package=override.name, requirement=bare(override.requirement), parent=PROJECT),)

    # -- packages -------------------------------------------------------------------------------
    def _package(self, name: NormalizedName) -> PackageVars:
        if name in self.packages:
            return self.packages[name]
        decided = self._route(name)
        pin = self.previous.get(name)
        if pin is not None and pin.filename:  # keep choosing the file the previous plan installed
            indexes = [pin.index] if pin.index else list(decided.index_names)
            decided = replace(decided, prefer=tuple((index, str(pin.version), pin.filename) for index in indexes))
        self._constraints[name] = [d for d in self.project.uv.constraints if d.name == name and
                                   (d.requirement.marker is None or self.target.evaluate(d.requirement.marker))]
        found = self._narrowed(decided, pin) if self._narrowing and pin is not None else self._candidates(decided)
        formula = self.formula
        candidates = found.candidates
        # Explaining, every candidate gets a variable; solving, the newest FIRST_CHUNK do, and
        # the rest when a model reaches into them (`_materialize`).
        count = len(candidates) if self.explain or len(candidates) <= FIRST_CHUNK else FIRST_CHUNK
        pairs = [(c, self._candidate_var(c)) for c in candidates[:count]]
        off_route: list[tuple[Candidate, int]] = []
        unfit: list[tuple[Fact, int]] = []
        if self.explain:
            off_route, unfit = self._explaining_vars(name, decided, found, {c.key for c, _ in pairs})
        package = PackageVars(name, found, pairs + off_route)
        if count < len(candidates):
            package.tail = formula.var(("tail", name, count), f"{name}: older than its newest {count} candidates")
        self.packages[name] = package
        self._order[name] = len(self._order)
        self._to_steer.add(name)
        all_vars = [v for _, v in pairs + off_route] + [v for _, v in unfit] + ([package.tail] if package.tail else [])
        aux = formula.at_most_one(all_vars, formula.group(GroupKind.AT_MOST_ONE, f"one version of {name}"))
        self._stable_exists[name] = _index_of(candidates).stable_exists
        if self._constraints[name] or self.target.accelerator is not None:
            for candidate, var in pairs + off_route:
                self._exclude(candidate, var)
            package.admissible = [position for position, candidate in enumerate(candidates) if self._admits(candidate)]
        else:  # (the same, for the common case: only yanked candidates and pre-releases can be excluded)
            suspects = _index_of(candidates).suspects
            for position in suspects[:bisect_left(suspects, count)]:
                self._exclude(*pairs[position])
            for candidate, var in off_route:
                self._exclude(candidate, var)
            excluded = {position for position in suspects
                        if (candidates[position].yanked and self._yank_excludes(candidates[position]))
                        or (candidates[position].version.is_prerelease and self._prerelease_excludes(candidates[position]))}
            package.admissible = [p for p in range(len(candidates)) if p not in excluded] if excluded \
                else list(range(len(candidates)))
            package.excluded = frozenset(excluded)
        # Explaining: a version without a fitting file is a variable ruled out by that fact (it
        # joins the requirements it would satisfy, so a core names it); never expanded.
        package.vars.extend((self._placeholder(name, fact), var) for fact, var in unfit)
        self._owner.update((var, name) for _, var in package.vars)
        for fact, var in unfit:
            formula.add((-var,), formula.group(GroupKind.UNUSABLE, fact.text, facts=(fact,)))
        # Phase hints: models prefer each package's newest candidate, so lazy expansion reads the
        # metadata of versions the objective will keep, not of arbitrary old ones. (Applied once
        # the variables exist in the solver; the objective itself is enforced by assumptions.)
        # The counter's auxiliaries prefer true: "one is taken among the first i" lets the first
        # (newest) candidate be chosen and rules the older ones out, instead of the reverse.
        admissible = [pairs[position][1] for position in package.admissible[:bisect_left(package.admissible, count)]]
        if admissible:
            self._phases.append(admissible[0])
            self._phases.extend(-v for v in admissible[1:])
        if package.tail:
            self._phases.append(-package.tail)
        self._phases.extend(aux)
        if pin is not None:
            self._keep_pin(package, pin)
        return package

    # -- pins and restrictions (the objective's levels before the descent) -----------------------
    def _narrowed(self, decided: Route, pin: Pin) -> CandidateSet:
        """The candidates `pin` names (its version, on its index; selected alone), when one of
        them is admissible; else all of the package's (the pin is not kept: it is planned afresh).
        With the keep literal assumed, the other candidates are false in every model anyway. (Not
        for a pre-release: whether one is admissible depends on the package's other versions.)"""
        if not pin.version.is_prerelease:
            found = self._candidates(replace(decided, only=pin.version))
            kept = tuple(c for c in found.candidates
                         if c.version == pin.version and (pin.index is None or c.index == pin.index))
            if any(self._admits(candidate) for candidate in kept):
                self.narrowed.add(decided.package)
                return replace(found, candidates=kept)
        return self._candidates(decided)

    def _keep_pin(self, package: PackageVars, pin: Pin) -> None:
        """The keep literal of a pin whose candidate is still admissible (else it is `unkept`)."""
        candidates = package.found.candidates
        positions = [p for p in package.admissible if candidates[p].version == pin.version
                     and (pin.index is None or candidates[p].index == pin.index)]
        if not positions:
            self.unkept[package.name] = pin
            return
        for position in positions:
            artifact = candidates[position].artifact
            if pin.sha256 and artifact.filename == pin.filename and artifact.sha256 and artifact.sha256 != pin.sha256:
                self.changed_files.append((package.name, artifact.filename, artifact.index))
        self._preferred[package.name] = package.admissible.index(positions[0])  # steer to the pin
        self._steered.pop(package.name, None)
        self.keep[package.name] = self._only_literal(
            package, positions, ("keep", package.name), f"{package.name}: kept at {pin.describe()}",
            f"keep {package.name} {pin.describe()} from the previous plan")

    def _only_literal(self, package: PackageVars, positions: Sequence[int], key: Hashable, name: str,
                      text: str) -> int:
        """A literal meaning "`package` is at one of the candidates at `positions`, or not
        installed": it excludes every other candidate and the tail (candidates made later imply
        the tail, so they are excluded too)."""
        formula = self.formula
        if formula.has_var(key):
            return formula.var(key, name)
        allowed = {self._var_at(package, p) for p in positions}
        literal = formula.var(key, name)
        group = formula.group(GroupKind.DECISION, text)
        for _, var in package.vars:
            if var not in allowed:
                formula.add((-literal, -var), group)
        if package.tail:
            formula.add((-literal, -package.tail), group)
        versions = frozenset(public(package.found.candidates[p].version) for p in positions)
        self._restrictions[literal] = (package.name, versions)
        self._allowed[literal] = allowed
        return literal

    def moved_literal(self, name: NormalizedName) -> int:
        """A literal: `name` is installed at a candidate its keep literal excludes."""
        if name not in self._moved:
            package = self._package(name)
            allowed = self._allowed[self.keep[name]]
            others = [v for _, v in package.vars if v not in allowed] + ([package.tail] if package.tail else [])
            var = self.formula.var(("moved", name), f"{name}: moved from its pin")
            self.formula.add([-var, *others], self.formula.group(GroupKind.DECISION, f"{name} moves from its pin"))
            self._moved[name] = var
        return self._moved[name]

    def fix_restriction(self, literal: int) -> None:
        """Fix a keep or restriction literal: its package may only take those versions from now on."""
        self.fix(literal)
        name, versions = self._restrictions[literal]
        self.restricted[name] = versions & self.restricted.get(name, versions)

    def restriction_of(self, literal: int) -> tuple[NormalizedName, frozenset[Version]] | None:
        return self._restrictions.get(literal)

    def is_kept(self, name: NormalizedName) -> bool:
        """Is `name`'s pin the candidate the current plan has (or is the package absent)?"""
        pin = self.previous.get(name)
        chosen = self.reach.chosen.get(name)
        if pin is None or chosen is None:
            return True
        candidate = chosen[0]
        return candidate.version == pin.version and (pin.index is None or candidate.index == pin.index)

    def _candidate_var(self, candidate: Candidate) -> int:
        text = version_text(candidate.version)
        formula = self.formula  # (a name only where the formula keeps names: tens of thousands per run)
        return formula.var(("c", candidate.name, text, candidate.index),
                           f"{candidate.name}=={text}@{candidate.index}" if formula.keep_clauses else "")

    def _exclude(self, candidate: Candidate, var: int) -> None:
        """Unit clauses for every policy that rules `candidate` out (solving: the first one)."""
        formula, name = self.formula, candidate.name
        if not (candidate.yanked or candidate.version.is_prerelease or self._constraints[name]
                or self.target.accelerator is not None):
            return  # (the common case: no policy can rule it out)
        # (Solving, one clause says it, and facts are for the explaining formula's selectors:
        # the first reason only, without its fact; explaining, every reason with its fact.)
        reasons = self._inadmissible(candidate, first=not self.explain)
        excluded = self._excluding_constraints(candidate)
        if not self.explain:
            excluded = [] if reasons else excluded[:1]
        for kind, text, fact in reasons:
            formula.add((-var,), formula.group(kind, text, facts=(fact,) if fact is not None else ()))
        for dependency in excluded:
            text = f"constraint {dependency.requirement} excludes {name} {candidate.version}"
            fact = Fact(("constraint", str(dependency.requirement), str(dependency.origin)), FactKind.CONSTRAINT,
                        f"{constraint_source(dependency)} {bare(dependency.requirement)}", dependency.origin,
                        package=name, requirement=bare(dependency.requirement), parent=PROJECT)
            formula.add((-var,), formula.group(GroupKind.CONSTRAINT, text, dependency.origin, (fact,)))

    def _admits(self, candidate: Candidate) -> bool:
        """No policy rules `candidate` out: `_exclude` adds no clause for it."""
        return not (self._yank_excludes(candidate) or self._prerelease_excludes(candidate)
                    or self._excluding_constraints(candidate) or self._runtime_problem(candidate))

    def _runtime_problem(self, candidate: Candidate) -> tuple[Runtime, str] | None:
        """The runtime `candidate` carries and why the target's stated accelerator rules it out
        (planner/targets/runtimes.py); None when it may be installed."""
        accelerator = self.target.accelerator
        if accelerator is None:
            return None
        key = (candidate.name, candidate.version)
        if key not in self._runtime_problems:
            runtime = runtime_of(candidate.name, candidate.version)
            problem = runtime_problem(accelerator, runtime) if runtime is not None else None
            self._runtime_problems[key] = (runtime, problem) if runtime is not None and problem else None
        return self._runtime_problems[key]

    def _yank_excludes(self, candidate: Candidate) -> bool:
        return candidate.yanked and not self._pinned(candidate.name, candidate.version)

    def _prerelease_excludes(self, candidate: Candidate) -> bool:
        if not candidate.version.is_prerelease:
            return False
        explicit = candidate.name in self._explicit_prerelease
        mode = self.project.uv.prerelease
        if mode == PrereleaseMode.ALLOW:
            return False
        if mode == PrereleaseMode.DISALLOW:
            return True
        necessary = not self._stable_exists[candidate.name]
        if mode == PrereleaseMode.EXPLICIT:
            return not explicit
        if mode == PrereleaseMode.IF_NECESSARY:
            return not necessary
        if mode == PrereleaseMode.IF_NECESSARY_OR_EXPLICIT:
            return not (explicit or necessary)
        raise ValueError(f"unknown pre-release mode {mode!r}")

    def _excluding_constraints(self, candidate: Candidate) -> list[Dependency]:
        """The constraints that apply on this target and leave `candidate`'s version out."""
        return [d for d in self._constraints[candidate.name]
                if not d.requirement.specifier.contains(candidate.version, prereleases=True)]

    # Lazy variables. A package with more than FIRST_CHUNK candidates starts with variables for
    # the newest FIRST_CHUNK and a tail literal R ("one of the others") in its "at most one". A
    # requirement's clause lists the variables it admits plus, when some candidate without a
    # variable satisfies it, a literal T_s ("one of those that specifier s admits"), T_s -> R.
    # When a model reaches a package through R, or the objective or steering asks for an older
    # candidate, the next chunk (twice as many) gets variables x: x -> R, R -> (x... or R'),
    # at most one of (x..., R'), R' -> R, and T_s -> (the x that s admits, or T_s'), T_s' -> R'.
    # Every clause that mentions R or T_s keeps its meaning, refined; a model's plan never rests
    # on a tail literal (the model is refined and solved again), so answers are those of the
    # formula with every variable made up front.
    def _materialize(self, package: PackageVars, position: int) -> None:
        """Give variables to the candidates up to `position` (and, chunks doubling, beyond)."""
        start, candidates = package.materialized, package.found.candidates
        if package.tail is None or position < start:
            return
        formula, name, old_tail = self.formula, package.name, package.tail
        end = min(len(candidates), max(position + 1, 2 * start))
        group = formula.group(GroupKind.AT_MOST_ONE, f"one version of {name} (candidates {start + 1}-{end})")
        new = [(c, self._candidate_var(c)) for c in candidates[start:end]]
        tail = formula.var(("tail", name, end), f"{name}: older than its newest {end} candidates") \
            if end < len(candidates) else None
        following = [tail] if tail else []
        for _, var in new:
            formula.add((-var, old_tail), group)
        formula.add([-old_tail, *(var for _, var in new), *following], group)
        if tail:
            formula.add((-tail, old_tail), group)
        aux = formula.at_most_one([var for _, var in new] + following, group)
        package.vars.extend(new)
        package.tail = tail
        self._owner.update((var, name) for _, var in new)
        for candidate, var in new:
            self._exclude(candidate, var)
        for key, (literal, admitted) in list(package.spec_tails.items()):
            inside = [package.vars[p][1] for p in admitted if start <= p < end]
            later = None
            if tail and admitted[-1] >= end:
                later = formula.var(("tail", name, end, key), f"{name}: older than its newest {end}, {key}")
                formula.add((-later, tail), group)
                package.spec_tails[key] = (later, admitted)
            else:
                del package.spec_tails[key]
            formula.add([-literal, *inside, *([later] if later else [])], group)
        self._phases.extend(-var for _, var in new)
        self._phases.extend([-tail] if tail else [])
        self._phases.extend(aux)

    def _var_at(self, package: PackageVars, position: int) -> int:
        """The variable of `found.candidates[position]` (made, with its chunk, when missing)."""
        if position >= len(package.vars):  # (explaining, `vars` holds every candidate and more)
            self._materialize(package, position)
        return package.vars[position][1]

    def _requirement_literals(self, package: PackageVars, specifier: SpecifierSet) -> list[int]:
        """The literals a requirement with `specifier` on `package` is satisfied by."""
        if self.explain:
            return package.satisfying(specifier)
        admitted = package.admitted(specifier)
        count = package.materialized
        key = _specifier_key(specifier)
        known = package.literals.get(key)  # (the same specifier is met again and again)
        if known is None or known[0] != count:
            known = package.literals[key] = (count, [package.vars[p][1] for p in admitted if p < count])
        literals = list(known[1])
        if admitted and admitted[-1] >= count:
            if key not in package.spec_tails:
                literal = self.formula.var(("tail", package.name, count, key),
                                           f"{package.name}: older than its newest {count}, {key}")
                self.formula.add((-literal, package.tail), self.formula.group(
                    GroupKind.AT_MOST_ONE, f"one version of {package.name}"))
                package.spec_tails[key] = (literal, admitted)
            literals.append(package.spec_tails[key][0])
        return literals

    def _candidates(self, decided: Route) -> CandidateSet:
        routed = getattr(self.provider, "routed_candidates", None)
        if routed is None:
            return self.provider.candidates(decided.package, self.target)
        return routed(decided, self.target)  # type: ignore[no-any-return]

    def _explaining_vars(self, name: NormalizedName, decided: Route, found: CandidateSet,
                         known: set[tuple[NormalizedName, Version, str]],
                         ) -> tuple[list[tuple[Candidate, int]], list[tuple[Fact, int]]]:
        """Variables the explaining formula adds for `name`: candidates of the indexes a source
        rule keeps it from (ruled out by that rule), and versions with no file for the target
        (ruled out by that fact)."""
        formula = self.formula
        off_route: list[tuple[Candidate, int]] = []
        sets = [found]
        if decided.source is not None:
            source = decided.source
            unrouted = route(_without_sources(self.project, name), self.target, name)
            other = self._candidates(unrouted)
            sets.append(other)
            where = source.origin
            fact = Fact(("source", name, str(where), source.index), FactKind.SOURCE,
                        f"a source rule routes {name} to index '{source.index}'", where,
                        package=name, index=source.index)
            for candidate in other.candidates:
                if candidate.key in known:
                    continue
                known.add(candidate.key)
                var = formula.var(("c", candidate.name, str(candidate.version), candidate.index),
                                  f"{candidate.name}=={candidate.version}@{candidate.index}")
                off_route.append((candidate, var))
                formula.add((-var,), formula.group(
                    GroupKind.UNUSABLE, f"{name} {candidate.version} on {candidate.index}: {fact.text}",
                    where, (fact,)))
        unfit: list[tuple[Fact, int]] = []
        for found_set in sets:
            for rejection in found_set.rejections:
                if rejection.filename is not None or rejection.kind is not RejectionKind.NO_ARTIFACT:
                    continue
                key = (name, rejection.version, rejection.index)
                if key in known:
                    continue
                known.add(key)
                fact = Fact(("artifact", name, str(rejection.version), rejection.index), FactKind.ARTIFACT,
                            rejection.detail, package=name, version=str(rejection.version), index=rejection.index)
                var = formula.var(("c", name, str(rejection.version), rejection.index),
                                  f"{name}=={rejection.version}@{rejection.index} (no file fits)")
                unfit.append((fact, var))
        return off_route, unfit

    def _placeholder(self, name: NormalizedName, fact: Fact) -> Candidate:
        """A stand-in candidate for a version without a fitting file (explaining only): when a
        model takes it (its fact switched off), it counts as installed with no dependencies."""
        version = Version(str(fact.version))
        artifact = Artifact(str(fact.index), f"{name}-{version}", f"unfit://{fact.index}/{name}/{version}",
                            name, version, ArtifactKind.SDIST)
        candidate = Candidate(name, version, str(fact.index), artifact)
        var = self.formula.var(("c", name, str(version), fact.index), "")
        self.metadata[var] = CoreMetadata(name, version, (), None, ())
        return candidate

    def _inadmissible(self, candidate: Candidate, first: bool = False) -> list[tuple[GroupKind, str, Fact | None]]:
        """Every policy that excludes `candidate` (yanked, pre-release), with its fact; `first`:
        the first one only, without its fact."""
        name, version = candidate.name, candidate.version
        out: list[tuple[GroupKind, str, Fact | None]] = []
        if self._yank_excludes(candidate):
            reason = f" ({candidate.artifact.yanked})" if candidate.artifact.yanked else ""
            fact = None if first else Fact(("yanked", name, str(version), candidate.index), FactKind.YANKED,
                                           f"{name} {version} on {candidate.index} is yanked{reason}",
                                           package=name, version=str(version), index=candidate.index)
            out.append((GroupKind.YANKED, f"{name} {version} on {candidate.index} is yanked and not pinned with ==", fact))
            if first:
                return out
        if self._prerelease_excludes(candidate):
            mode = self.project.uv.prerelease
            fact = None if first else Fact(
                ("prerelease", name, str(version)), FactKind.PRERELEASE,
                f"{name} {version} is a pre-release, and prerelease = \"{mode.value}\"",
                self.project.locations.get(("tool", "uv", "prerelease")),
                package=name, version=str(version), index=candidate.index)
            out.append((GroupKind.PRERELEASE, f"{name} {version} is a pre-release (prerelease = "
                                              f"\"{mode.value}\" and a stable version exists)", fact))
            if first:
                return out
        problem = self._runtime_problem(candidate)
        if problem is not None:
            runtime, why = problem
            target = self.target
            fact = None if first else Fact(
                ("accelerator", name, str(version), candidate.index), FactKind.ACCELERATOR,
                f"{name} {version} on {candidate.index}: {runtime.describe()}, which target '{target.name}' "
                f"(accelerator {target.accelerator}) cannot install: {why}", target.accelerator_origin,
                package=name, version=str(version), index=candidate.index)
            out.append((GroupKind.ACCELERATOR, f"{name} {version} is {runtime.describe()}; accelerator "
                                               f"{target.accelerator}: {why}", fact))
        return out

    def _extra_var(self, name: NormalizedName, extra: str) -> int:
        key = (name, extra)
        if key in self.extra_vars:
            return self.extra_vars[key]
        var = self.formula.var(("x", name, extra), f"{name}[{extra}]")
        self.extra_vars[key] = var
        package = self._package(name)
        self.formula.add([-var] + [v for _, v in package.vars] + ([package.tail] if package.tail else []),
                         self.formula.group(GroupKind.EXTRA, f"{name}[{extra}] needs {name}"))
        # Candidates expanded before this extra was asked for: add their requirements under it.
        for candidate, cvar in package.vars:
            if cvar in self.metadata:
                self._add_edges(candidate, cvar, self.metadata[cvar], only_extra=extra)
        return var

    # -- requirements ---------------------------------------------------------------------------
    def _require(self, edge: Edge) -> None:
        first = edge.name not in self.packages
        package = self._package(edge.name)
        prefix = ([-edge.parent] if edge.parent else []) + ([-edge.guard] if edge.guard else [])
        self.formula.add(prefix + self._requirement_literals(package, edge.requirement.specifier), edge.group)
        if first:  # steer to the newest candidate the requirement that brought the package admits
            admitted = set(package.admitted(edge.requirement.specifier))
            self._preferred[edge.name] = next(
                (i for i, position in enumerate(package.admissible) if position in admitted), 0)
            self._steered.pop(edge.name, None)
        for extra in sorted(edge.requirement.extras):
            self.formula.add(prefix + [self._extra_var(edge.name, canonicalize_name(extra))], edge.group)

    def _add_edges(self, candidate: Candidate, var: int, metadata: CoreMetadata, only_extra: str | None = None) -> None:
        name = candidate.name
        requested = {e for (n, e) in self.extra_vars if n == name}
        # Requirements of extras nobody asked for yet are added by `_extra_var` when asked.
        extras = sorted(requested) if only_extra is None else [only_extra]
        edges = self.edges.setdefault(var, [])
        self._grown.add(var)  # (`_walk_on` goes through requirements added since the last walk)
        origins = metadata.origins  # a local package's: where each requirement was written
        target, shown = self.target, str(candidate.version)
        for position, raw in enumerate(metadata.requires_dist):
            # (Most lines of a package's metadata are for extras nobody asked for, or for other
            # platforms: their marker is answered first, and nothing else is done for them.)
            marker = raw.marker
            if marker is None or target.evaluate(marker):
                if only_extra is not None:
                    continue  # unconditional: added when the candidate was expanded
                guards: list[str | None] = [None]
            else:
                guards = [e for e in extras if target.evaluate_for_extra(marker, e)]
                if not guards:
                    continue
            origin = origins[position] if origins else None
            for requirement, note, override in self._overridden(raw):
                target_name = _canonical(requirement.name)
                if requirement.specifier and self._route(name).local and self._sourced(target_name):
                    # As uv lowers it: a local package's requirement on a package a source rule
                    # sends to a path, member, git or URL becomes that source, version specifier
                    # dropped (a dynamic version is unknown here; uv would build to learn it).
                    requirement = _any_version(requirement)
                    note += " (its version bounds yield to the source rule, as in uv)"
                for extra in guards:
                    if extra is not None and extra not in requested:
                        continue  # nobody asked for this extra yet; `_extra_var` adds it when asked
                    guard = self.extra_vars.get((name, extra)) if extra else None
                    where = f" [extra {extra}]" if extra else ""
                    facts: tuple[Fact, ...] = ()
                    if self.explain:  # (reading requirements again is not free: only when explaining)
                        said = f" ({origin})" if origin is not None else ""
                        fact = Fact(("dependency", name, str(candidate.version), str(raw), extra), FactKind.DEPENDENCY,
                                    f"{name} {_shown_version(candidate)}requires {bare(raw)}"
                                    + (f" (its extra {extra})" if extra else "") + said, origin,
                                    package=target_name, version=str(candidate.version), requirement=bare(raw),
                                    parent=name, via=extra)
                        facts = (fact, *self._override_facts(override))
                    group = self.formula.group(GroupKind.DEPENDENCY,
                                               f"{name} {shown} requires {_requirement_text(requirement)}{where}{note}",
                                               origin, facts=facts)
                    edge = Edge(var, name, guard, extra, requirement, target_name, group)
                    edges.append(edge)
                    self._require(edge)
        if self.decided.get(name) == var:  # new requirements of a decided candidate: `pending` walks them
            self._closure_todo.append(name)

    def _route(self, name: NormalizedName) -> Route:
        """Where `name` comes from on this target (worked out once: asked for every requirement)."""
        if name not in self._routes:
            self._routes[name] = route(self.project, self.target, name)
        return self._routes[name]

    def _sourced(self, name: NormalizedName) -> bool:
        """Whether a source rule sends `name` to a local tree, a git repository or a URL."""
        decided = self._route(name)
        return decided.local is not None or decided.direct is not None

    def _prefetch(self, names: Iterable[NormalizedName]) -> None:
        """Tell the provider which packages are about to be required, so that a cold cache
        downloads their pages together instead of one by one as each is reached."""
        prefetch = getattr(self.provider, "prefetch", None)
        # (a provider whose answers never wait on the network, offline, has nothing to overlap)
        if prefetch is not None and getattr(self.provider, "parallel", True):
            new = [self._route(name) for name in dict.fromkeys(names) if name not in self.packages]
            if len(new) > 1:
                prefetch(new)

    def _expect(self, requirements: Iterable[Requirement]) -> None:
        """Tell the provider the specifiers of packages about to be required, so that it may read
        ahead the metadata of the versions they will most likely take first (a fresh solve only:
        with previous pins, or explaining, the first choices are other ones)."""
        expect = getattr(self.provider, "expect", None)
        if expect is None or self.explain or self.previous:
            return
        wanted: dict[NormalizedName, SpecifierSet] = {}
        for requirement in requirements:
            name = _canonical(requirement.name)
            if name not in self.packages and name not in wanted:
                wanted[name] = requirement.specifier
        if wanted:
            expect(self.target, [(self._route(name), specifier) for name, specifier in wanted.items()])

    def _expand(self, candidates: Sequence[tuple[Candidate, int]]) -> None:
        given = {candidate.artifact: self._given_metadata(candidate) for candidate, _ in candidates}
        asked = [c.artifact for c, _ in candidates if given[c.artifact] is None]
        results: dict[Artifact, CoreMetadata | Unusable] = dict(self.provider.metadata(asked)) if asked else {}
        results.update({artifact: found for artifact, found in given.items() if found is not None})
        self.metadata_fetches += len(candidates)
        packages = self.packages  # (those known need no page: asked first, it spares most marker answers)
        required = [requirement for result in results.values() if isinstance(result, CoreMetadata)
                    for requirement in result.requires_dist
                    if _canonical(requirement.name) not in packages
                    and (requirement.marker is None or self.target.evaluate(requirement.marker))]
        self._prefetch(_canonical(requirement.name) for requirement in required)
        self._expect(required)
        for candidate, var in candidates:
            result = results[candidate.artifact]
            if isinstance(result, Unusable):
                # Its dependencies are unknown: leave the candidate out (it stays unexpanded).
                self.unusable[var] = result.reason
                fact = Fact(("unusable", candidate.name, str(candidate.version), candidate.index), FactKind.UNUSABLE,
                            f"{candidate.name} {_shown_version(candidate)}{offered_by(candidate.index)} cannot be used: "
                            f"{result.reason}",
                            package=candidate.name, version=str(candidate.version), index=candidate.index)
                self.formula.add((-var,), self.formula.group(
                    GroupKind.UNUSABLE, f"{candidate.name} {candidate.version} cannot be used: {result.reason}",
                    facts=(fact,)))
                if self.explain:  # with that fact switched off, it counts as having no dependencies
                    self.metadata[var] = CoreMetadata(candidate.name, candidate.version, (), None, ())
                continue
            self.metadata[var] = result
            self._add_edges(candidate, var, result)

    def _given_metadata(self, candidate: Candidate) -> CoreMetadata | Unusable | None:
        """What the project itself says of a candidate's metadata: `[[tool.uv.dependency-metadata]]`
        gives it (nothing is downloaded or built); `no-build` / `no-build-package` make an sdist
        unusable (installing it would need a build). None: ask the provider."""
        build = self.project.uv.build
        given = build.metadata_for(candidate.name, candidate.version)
        if given is not None:
            return CoreMetadata(candidate.name, candidate.version, given.requires_dist, given.requires_python,
                                given.provides_extra)
        forbidden = build.no_build_setting(candidate.name)
        if forbidden is not None and candidate.artifact.kind is ArtifactKind.SDIST:
            where = build.locations.get(forbidden.rpartition(".")[2])
            at = f" ({where.file.name}:{where.line})" if where is not None and where.line else ""
            return Unusable(f"only an sdist fits this target, and {forbidden}{at} forbids building it")
        return None

    # -- solving --------------------------------------------------------------------------------
    def solve(self, assumptions: Iterable[int] = (), facts: Callable[[FactKey], bool] | None = None) -> bool:
        """SAT with lazy expansion; on SAT `self.reach` is the (fully expanded) plan.

        Explaining: `facts` says which facts hold (default: all); it is asked again after every
        expansion, since expanding creates facts (a new version's requirements)."""
        given = list(assumptions)
        held = {self._owner.get(lit) or self._public_of.get(lit, (None,))[0] or self._restrictions.get(lit, (None,))[0]
                for lit in given}
        while True:
            assumptions = given
            steering: dict[int, NormalizedName] = {}
            if self.explain:
                on = facts or (lambda key: True)
                assumptions = given + [var if on(key) else -var for key, var in self.formula.selectors.items()]
            else:
                steering = self._steering(held)  # (may give variables to older candidates: first)
                assumptions = given + list(steering)
            for clause in self.formula.take_new():
                self.solver.add_clause(clause)
            if self._phases:
                self.solver.set_phases(self._phases)
                self._phases = []
            limits.check(self.target.name, self.sat_calls)  # --timeout, and what the run is busy with
            self.sat_calls += 1
            started = time.perf_counter()
            satisfiable = limits.solve_by_deadline(self.solver, assumptions)  # (interrupted at --timeout)
            model = self.solver.get_model() or [] if satisfiable else []
            self.sat_seconds += time.perf_counter() - started
            if not satisfiable:
                core = set(self.solver.get_core() or ())
                steered = [name for literal, name in steering.items() if literal in core]
                if not steered:
                    self.last_core = core.intersection(given)
                    return False  # the given assumptions themselves cannot hold
                self._step_down(max(steered, key=self._order.__getitem__))
                continue
            reach = self._reachable(model)
            self._to_steer = set(reach.chosen) | set(reach.in_tail)
            if reach.in_tail:  # reached through a tail literal: the next candidates get variables
                for name in reach.in_tail:
                    package = self.packages[name]
                    self._materialize(package, package.materialized)
                continue
            todo = [pair for pair in reach.chosen.values() if pair[1] not in self.metadata]
            assert not [v for _, v in todo if v in self.unusable], "an unusable candidate was selected"
            if not todo:
                self.reach = reach
                return True
            self._expand(sorted(todo, key=lambda pair: pair[1]))

    # Steering: each SAT call also assumes, for the packages the last model reached (and those
    # required since), their preferred candidate -- the newest admissible one at first. When those
    # assumptions make the call UNSAT, the core names some; the one required last steps down to
    # its next older candidate (or is left free when none is left) and the call is repeated. So
    # models walk down from the newest versions, the way the objective will decide them, instead
    # of wherever the SAT solver's heuristics land (often a package's oldest release, whose
    # metadata must then be read, and which the objective undoes version by version). Answers are
    # unchanged: a call is UNSAT only when a core has no steering assumption in it.
    def _steering(self, held: set[NormalizedName | None]) -> dict[int, NormalizedName]:
        steering: dict[int, NormalizedName] = {}
        free = self._to_steer.difference(self.decided, held)  # late in the descent, a few of hundreds
        packages, preferred, steered = self.packages, self._preferred, self._steered
        # (in the order they were first required: the order of `packages`)
        for name in [name for name in packages if name in free] if len(free) * 4 > len(packages) \
                else sorted(free, key=self._order.__getitem__):
            var = steered.get(name)
            if var is None:  # (kept until the preference moves: this runs for hundreds of packages per call)
                package = packages[name]
                position = preferred.get(name, 0)
                var = steered[name] = self._var_at(package, package.admissible[position]) \
                    if position < len(package.admissible) else 0
            if var:
                steering[var] = name
        return steering

    def _step_down(self, name: NormalizedName) -> None:
        # One version at a time at first; a package that keeps failing skips ever more of them
        # (2, 4, ... at a time), so that a long walk costs few calls (the objective still
        # settles each package on its newest feasible version).
        steps = self._steps_down.get(name, 0)
        self._steps_down[name] = steps + 1
        self._preferred[name] = self._preferred.get(name, 0) + (1 << (steps // 4))
        self._steered.pop(name, None)

    def core(self) -> set[FactKey]:
        """After an UNSAT `solve` (explaining): the facts of the solver's core."""
        selectors = self.formula.fact_of_selector
        return {selectors[lit] for lit in self.solver.get_core() or () if lit in selectors}

    def _reachable(self, model: Sequence[int]) -> Reach:
        """`model`: the solver's model, the literal of variable v at position v - 1.

        The plan is the least set closed under the requirements of its candidates, given which
        candidate the model takes of each package. The last walk is reused:
        - when the model takes the same candidates of every package that walk looked at (the
          common case after an expansion: steering keeps them), its plan is still closed except
          under the requirements added since (of the candidates just expanded, or of an extra
          asked for since): the walk goes on from those;
        - when it takes other candidates of a few packages (`changed`), only the part of the
          plan below them can change: what the other packages require is as before. That part
          is dropped and walked again from the requirements on it that come from outside it.
          (The plan is a least fixpoint, so the result is the same set, with the same extras, as
          a walk from the roots; the order of `chosen` may differ, and nothing reads it. A model
          that reaches into a tail is walked from the roots, for the order of `in_tail`.)"""
        walk, self._walk = self._walk, None  # (rebuilt below; none if this walk is interrupted)
        if walk is not None:
            changed = [name for name, selected in walk[0].items() if selected is None or model[selected[1] - 1] < 0]
            if not changed:
                return self._walk_on(model, *walk[:3], walk[3], ())
            below = self._below(walk[1], changed)
            if len(below) * 2 <= len(walk[1].chosen):
                reach = self._walk_on(model, *walk[:3], walk[3], below)
                if not reach.in_tail:
                    return reach
        return self._walk_on(model, {}, Reach(), {}, {}, None)

    def _below(self, plan: Reach, changed: Iterable[NormalizedName]) -> set[NormalizedName]:
        """The packages `changed` reach through `plan`'s requirements (with them): a set no
        requirement of the plan leaves."""
        edges_of, chosen, extras_of = self.edges, plan.chosen, plan.extras
        below: set[NormalizedName] = set()
        stack = list(changed)
        while stack:
            name = stack.pop()
            if name in below:
                continue
            below.add(name)
            selected = chosen.get(name)
            if selected is None:
                continue
            have = extras_of[name]
            for child in edges_of.get(selected[1], ()):
                if (child.guard_extra is None or child.guard_extra in have) and child.name not in below:
                    stack.append(child.name)
        return below

    def _walk_on(self, model: Sequence[int], taken: dict[NormalizedName, tuple[Candidate, int] | None],
                 plan: Reach, walked: dict[int, int], into: dict[NormalizedName, list[Edge]],
                 below: Collection[NormalizedName] | None) -> Reach:
        """Walk the plan of `model` on from the last walk's (`taken`: each package's choice it
        looked at, `plan`, `walked`: how many requirements of each planned candidate it went
        through, `into`: the requirements of the plan on each package), with the packages `below`
        dropped; `below=None`: from the roots."""
        edges_of, packages, size = self.edges, self.packages, len(model)
        last = self._last_taken
        queue: deque[Edge] = deque()
        pop, push = queue.popleft, queue.append
        if below is None:
            self._grown = set()
            reach = plan
            queue.extend(self.roots)
            into = {}
            for edge in self.roots:
                into.setdefault(edge.name, []).append(edge)
        else:
            # (`plan` may be kept as it is, a solver's last plan: copied; each extras set is copied
            # only when it grows, see `owned`)
            reach = Reach(dict(plan.chosen), dict(plan.extras))
            for name in below:
                reach.chosen.pop(name, None)
                reach.extras.pop(name, None)
                selected = taken.pop(name, None)
                if selected is not None:
                    walked.pop(selected[1], None)
                requirements = into.get(name)
                if requirements:  # those from outside `below` still hold: walked again
                    kept = into[name] = [e for e in requirements if e.parent is None or e.parent_name not in below]
                    queue.extend(kept)
        chosen, extras_of, in_tail = reach.chosen, reach.extras, reach.in_tail
        into_get = into.get
        owned: set[NormalizedName] = set()  # packages whose extras set this walk made
        grown, self._grown = self._grown, set()
        if below is not None:  # requirements added since the last walk (`_add_edges`), of planned candidates
            for name, (_, var) in chosen.items() if grown else ():
                if var not in grown:
                    continue
                edges = edges_of.get(var, ())
                start = walked.get(var, 0)
                if len(edges) > start:
                    have = extras_of[name]
                    for child in edges[start:]:
                        if child.guard_extra is None or child.guard_extra in have:
                            into.setdefault(child.name, []).append(child)
                            push(child)
                    walked[var] = len(edges)
        # (Runs once per SAT call over every reached requirement: kept to plain dict and set work.)
        while queue:
            edge = pop()
            name = edge.name
            selected = taken.get(name, _UNSEEN)
            if selected is _UNSEEN:
                # "at most one": a true variable is the only one. Most models keep the last
                # one's choice (steering assumes it), so that one is looked at first.
                selected = last.get(name)
                if selected is None or model[selected[1] - 1] < 0:
                    package = packages[name]
                    selected = next(((c, v) for c, v in package.vars if v <= size and model[v - 1] > 0), None)
                    if selected is None:
                        if package.tail and package.tail <= size and model[package.tail - 1] > 0:
                            in_tail.append(name)  # a candidate without a variable yet
                    else:
                        last[name] = selected
                taken[name] = selected
            if selected is None:
                continue  # an edge whose guard is false in this model, or a package in its tail
            wanted = edge.extras
            if name not in chosen:
                chosen[name] = selected
                have = extras_of[name] = set(wanted)
                owned.add(name)
                walked[selected[1]] = len(edges_of.get(selected[1], ()))
                for child in edges_of.get(selected[1], ()):
                    if child.guard_extra is None or child.guard_extra in have:
                        found = into_get(child.name)  # (every requirement of the plan, for the next walk)
                        if found is None:
                            into[child.name] = [child]
                        else:
                            found.append(child)
                        # (a requirement on a package already in the plan that asks no extra adds nothing)
                        if child.extras or child.name not in chosen:
                            push(child)
            elif wanted:
                have = extras_of[name]
                new = wanted - have
                if new:  # requirements of the extras asked for only now
                    if name in owned:
                        have |= new
                    else:
                        extras_of[name] = have | new
                        owned.add(name)
                    for child in edges_of.get(selected[1], ()):
                        if child.guard_extra in new:
                            into.setdefault(child.name, []).append(child)
                            if child.extras or child.name not in chosen:
                                push(child)
        self._walk = (taken, reach, walked, into)
        return reach

    def required_by(self) -> dict[NormalizedName, set[str]]:
        """Who requires each planned package: the project or the planned packages whose
        requirements (of their planned extras) name it (`pkg[x]` requiring `pkg[y]` is not one)."""
        out: dict[NormalizedName, set[str]] = {}
        chosen = self.reach.chosen
        for edge in self.roots:
            if edge.name in chosen:
                out.setdefault(edge.name, set()).add(edge.parent_name)
        for name, (_, var) in chosen.items():
            extras = self.reach.extras.get(name, set())
            for edge in self.edges.get(var, ()):
                if edge.name in chosen and edge.name != name and (edge.guard_extra is None or edge.guard_extra in extras):
                    out.setdefault(edge.name, set()).add(name)
        return out

    # -- decisions for the objective --------------------------------------------------------------
    def public_literal(self, name: NormalizedName, version: Version) -> int | None:
        """A literal meaning "`name` has public version `version`", or None if no candidate has."""
        matching = [v for _, v in self.candidates_with_public(name, version)]
        if not matching:
            return None
        key = ("pub", name, str(version))
        if not self.formula.has_var(key):
            var = self.formula.var(key, f"{name} public=={version}")
            self.formula.add([-var] + matching, self.formula.group(GroupKind.DECISION, f"{name} takes {version}"))
            self._public_of[var] = (name, version)
        return self.formula.var(key, "")

    def excluded_by(self, name: NormalizedName, version: Version) -> Edge | None:
        """A requirement already forced by the decisions that no candidate of `name` at public
        `version` satisfies: that version is out without asking the solver."""
        package = self._package(name)
        builds = [package.found.candidates[p].version for p in package.by_public().get(version, [])]
        for edge in self.forced(name):
            if not any(edge.requirement.specifier.contains(v, prereleases=True) for v in builds):
                return edge
        return None

    def feasible(self, literal: int) -> bool:
        """Can the decisions so far be extended with `literal`? (keeps the model when yes)"""
        if self._holds_in_reach(literal):
            return True
        return self.solve([*self.fixed, literal])

    def _holds_in_reach(self, literal: int) -> bool:
        """Is `literal` (a candidate or a public-version variable) true in the current plan?"""
        if literal in self._public_of:
            name, version = self._public_of[literal]
            chosen = self.reach.chosen.get(name)
            return chosen is not None and public(chosen[0].version) == version
        name = self._owner.get(literal)
        chosen = self.reach.chosen.get(name) if name is not None else None
        return chosen is not None and chosen[1] == literal

    def fix(self, literal: int) -> None:
        self.fixed.append(literal)

    def decide(self, name: NormalizedName, var: int) -> None:
        """Fix the candidate `var` of `name` (a decision of the objective)."""
        self.fix(var)
        self.decided[name] = var
        self._pending_depth.pop(name, None)
        self._closure_todo.append(name)

    # The closure of the decisions (`pending`): a breadth-first walk from the root requirements
    # through the requirements of decided candidates (those of an extra once some requirement
    # reached asks for it), stopping at undecided packages. Each requirement it reaches has a
    # label (depth, path): the path is the positions taken from the roots (a root's position, then
    # a requirement's position in its parent's list), and the breadth-first order is the order of
    # labels. A decision only adds paths, so labels only appear or get smaller: each decision
    # relaxes the labels below the decided package (and a decided candidate whose requirements
    # grew, an extra asked for later, relaxes its new ones), instead of walking the whole plan.
    def pending(self) -> dict[NormalizedName, int]:
        """Undecided packages every model must install given the decisions so far, with their
        depth from the project. Depends only on the decisions, never on which model the solver
        returned, so the order of decisions (and hence the optimum) is well defined."""
        todo = self._closure_todo
        if not self._closure_started:
            self._closure_started = True
            for position, edge in enumerate(self.roots):
                self._relax(edge, (1, (position,)))
        while todo:
            self._relax_children(todo.pop())
        return dict(self._pending_depth)

    def forced(self, name: NormalizedName) -> list[Edge]:
        """The requirements the decisions so far (as of the last `pending`) impose on the
        undecided `name`, in breadth-first order."""
        into = self._into.get(name)
        if not into:
            return []
        labels = self._labels
        return [into[key] for key in sorted(into, key=labels.__getitem__)]

    def _relax_children(self, name: NormalizedName) -> None:
        least = self._least.get(name)
        if least is None:  # not reached (yet) through the decisions
            return
        least_extra = self._least_extra.get(name, {})
        for position, child in enumerate(self.edges.get(self.decided[name], ())):
            extra = child.guard_extra
            label = least if extra is None else least_extra.get(extra)
            if label is not None:
                self._relax(child, (label[0] + 1, label[1] + (position,)))

    def _relax(self, edge: Edge, label: tuple[int, tuple[int, ...]]) -> None:
        key = id(edge)  # (edges live as long as the solver; hashing one by value is slow)
        old = self._labels.get(key)
        if old is not None and old <= label:
            return
        self._labels[key] = label
        name = edge.name
        into = self._into.get(name)
        if into is None:
            self._into[name] = {key: edge}
        else:
            into[key] = edge
        changed = False
        least = self._least.get(name)
        if least is None or label < least:
            self._least[name] = label
            changed = True
        if edge.extras:
            per_extra = self._least_extra.setdefault(name, {})
            for extra in edge.extras:
                known = per_extra.get(extra)
                if known is None or label < known:
                    per_extra[extra] = label
                    changed = True
        if not changed:
            return
        if name in self.decided:
            self._closure_todo.append(name)
        else:
            self._pending_depth[name] = self._least[name][0]

    def admissible_versions(self, name: NormalizedName) -> list[Version]:
        return list(self._package(name).by_public())

    def versions_newest_first(self, name: NormalizedName) -> bool:
        """Does `admissible_versions(name)` come newest first (its candidates do, as an index's)?"""
        return _index_of(self._package(name).found.candidates).newest_first

    def unusable_public(self, name: NormalizedName, version: Version) -> bool:
        """Is every candidate of `name` at public `version` unusable (its metadata cannot be had: a
        failed build, a forbidden one)? Asks for those candidates' metadata only; the formula is
        left as it is (their requirements are not added, nor the packages they name looked up)."""
        found = self.candidates_with_public(name, version)
        unknown = [candidate for candidate, var in found if var not in self.metadata and var not in self.unusable]
        given = {candidate.artifact: self._given_metadata(candidate) for candidate in unknown}
        asked = [artifact for artifact, result in given.items() if result is None]
        results: dict[Artifact, CoreMetadata | Unusable | None] = dict(given)
        results.update(self.provider.metadata(asked) if asked else {})
        return bool(found) and all(var in self.unusable or isinstance(results.get(candidate.artifact), Unusable)
                                   for candidate, var in found)

    def candidates_with_public(self, name: NormalizedName, version: Version) -> list[tuple[Candidate, int]]:
        package = self._package(name)
        positions = package.by_public().get(version, [])
        return [(package.found.candidates[p], self._var_at(package, p)) for p in positions]

    # -- results --------------------------------------------------------------------------------
    def active_edges(self) -> dict[NormalizedName, list[Edge]]:
        """The requirements that hold in the current plan, by the package they name: the roots,
        and the requirements of each planned candidate (of its planned extras)."""
        out: dict[NormalizedName, list[Edge]] = {}
        for edge in self.roots:
            out.setdefault(edge.name, []).append(edge)
        for name, (_, var) in self.reach.chosen.items():
            extras = self.reach.extras.get(name, set())
            for edge in self.edges.get(var, ()):
                if edge.guard_extra is None or edge.guard_extra in extras:
                    out.setdefault(edge.name, []).append(edge)
        return out

    def _closure(self, roots: Iterable[Edge]) -> set[NormalizedName]:
        """The planned packages `roots` reach through the plan's own requirements (extras
        followed as requested along the way)."""
        chosen, reached, extras = self.reach.chosen, set(), {}
        queue = deque(roots)
        while queue:
            edge = queue.popleft()
            selected = chosen.get(edge.name)
            if selected is None:
                continue
            have = extras.setdefault(edge.name, set())
            new = set(edge.extras) - have
            first = edge.name not in reached
            reached.add(edge.name)
            have |= new
            for child in self.edges.get(selected[1], ()):
                if (first and child.guard_extra is None) or child.guard_extra in new:
                    queue.append(child)
        return reached

    def _group_only(self) -> dict[NormalizedName, tuple[NormalizedName, ...]]:
        """Packages only the target's dependency groups need, with those groups."""
        def in_group(edge: Edge, group: str) -> bool:
            return edge.via is not None and (edge.via == f"group {group}" or edge.via.startswith(f"group {group} of "))

        base = [e for e in self.roots if not any(in_group(e, g) for g in self.target.groups)]
        needed = self._closure(base)
        out: dict[NormalizedName, list[NormalizedName]] = {}
        if len(needed) == len(self.reach.chosen):
            return {}
        for group in self.target.groups:
            for name in self._closure(base + [e for e in self.roots if in_group(e, group)]) - needed:
                out.setdefault(name, []).append(canonicalize_name(group))
        return {name: tuple(groups) for name, groups in out.items()}

    def plan(self, holds: Sequence[Hold] = ()) -> TargetPlan:
        edges = self.active_edges()
        packages = []
        group_only = self._group_only()
        required_by = self.required_by()
        for name in sorted(self.reach.chosen):
            candidate, _ = self.reach.chosen[name]
            requirers = {Requirer(e.parent_name, bare(e.requirement),
                                  e.group.facts[0].via if e.parent is None and e.group.facts else None,
                                  self._written_at(e, name))
                         for e in edges.get(name, ()) if e.parent_name != name}
            metadata = self.metadata.get(self.reach.chosen[name][1])
            packages.append(PlannedPackage(
                name=name,
                version=candidate.version,
                index=candidate.index,
                artifact=candidate.artifact,
                extras=tuple(sorted(self.reach.extras.get(name, ()))),
                required_by=tuple(sorted(required_by.get(name, ()))),
                requirements=tuple(sorted(requirers, key=lambda r: (r.by != PROJECT, r.by, r.requirement, r.via or ""))),
                for_groups=group_only.get(name, ()),
                metadata_built_on=metadata.built_on if metadata is not None else None,
            ))
        stats = SolveStats(sat_calls=self.sat_calls, clauses=self.formula.clause_count,
                           variables=self.formula.num_vars, expansions=len(self.metadata),
                           metadata_fetches=self.metadata_fetches, sat_seconds=self.sat_seconds,
                           narrowed=len(self.narrowed))
        return TargetPlan(self.target, tuple(packages), stats, tuple(holds), tuple(self.changed_files))

    def _written_at(self, edge: Edge, name: NormalizedName) -> str | None:
        """Where the requiring package's own pyproject writes `edge` (local, git and URL packages
        carry where each requirement is written), as `file:line`."""
        metadata = self.metadata.get(edge.parent) if edge.parent is not None else None
        if metadata is None or not metadata.origins:
            return None
        for requirement, origin in zip(metadata.requires_dist, metadata.origins, strict=False):
            if origin is not None and origin.line is not None and _canonical(requirement.name) == name:
                return f"{getattr(origin, 'shown', None) or origin.file.name}:{origin.line}"
        return None

    def undated(self) -> set[str]:
        """Indexes whose files without an upload time the cut-off left out, for any package."""
        return {index for package in self.packages.values() for index in package.found.undated}

    def public_builds(self, name: NormalizedName, version: Version) -> list[Version]:
        """The versions of `name`'s admissible candidates with public version `version`."""
        package = self._package(name)
        return [package.found.candidates[p].version for p in package.by_public().get(version, [])]

    def constraints_on(self, name: NormalizedName) -> list[Dependency]:
        """The constraint-dependencies on `name` that apply on this target."""
        self._package(name)
        return self._constraints[name]

    def owner_of(self, literal: int) -> tuple[NormalizedName, Version] | None:
        """The package and version a decision literal fixes (a candidate or a public version)."""
        if literal in self._public_of:
            return self._public_of[literal]
        name = self._owner.get(literal)
        if name is None:
            return None
        return name, next(c.version for c, v in self.packages[name].vars if v == literal)

    def expanded_requirements(self, name: NormalizedName, version: Version) -> list[Requirement]:
        """The requirements (markers evaluated here, no extra) of the first candidate of `name` at
        public `version` whose metadata the solving has read; none when it read none."""
        for _, var in self.candidates_with_public(name, version):
            metadata = self.metadata.get(var)
            if metadata is not None:
                return [r for r in metadata.requires_dist if r.marker is None or self.target.evaluate(r.marker)]
        return []

    def newest_admissible(self, name: NormalizedName) -> Version | None:
        versions = self._package(name).by_public()
        return max(versions) if versions else None

    def refusal(self, name: NormalizedName, version: Version) -> tuple[str, str]:
        """(kind, detail) of why no admissible candidate of `name` has public version `version`
        on this target: "excluded" by a candidate rule, rejected by the index's files, or absent."""
        package = self._package(name)
        for candidate in package.found.candidates:
            if public(candidate.version) == version:
                return "unavailable", f"{name} {candidate.version} is excluded on {self.target.name} (yanked, pre-release, constraint or accelerator)"
        details = [r.detail for r in package.found.rejections if public(r.version) == version and r.filename is None]
        if details:
            return "unavailable", details[0]
        indexes = ", ".join(package.found.indexes_consulted) or "its indexes"
        return "unavailable", f"{name} {version} is not on {indexes}, where {name} is routed on {self.target.name}"

    def root_problem(self) -> str | None:
        """A root requirement no admissible candidate satisfies (the common, plain cause)."""
        for edge in self.roots:
            package = self._package(edge.name)
            if not any(edge.requirement.specifier.contains(c.version, prereleases=True)
                       for c in package.admissible_candidates()):
                rejections = [r.detail for r in package.found.rejections
                              if edge.requirement.specifier.contains(r.version, prereleases=True) and r.filename is None]
                where = f" ({edge.group.location})" if edge.group.location else ""
                detail = f": {rejections[0]}" if rejections else ""
                indexes = ", ".join(package.found.indexes_consulted)
                return f"nothing on {indexes} satisfies {edge.requirement}{where}{detail}"
        return None


def _shown_version(candidate: Candidate) -> str:
    """`"1.0 "` for a message, or nothing for a local package whose version is dynamic."""
    version = candidate.version
    return "" if version.local == "dynamic" and (candidate.artifact.is_local or candidate.artifact.is_direct) \
        else f"{version} "


def _without_sources(project: Project, name: NormalizedName) -> Project:
    """`project` with no source rule for `name` (where the package would come from without them)."""
    from dataclasses import replace

    sources = {k: v for k, v in project.uv.sources.items() if k != name}
    return replace(project, uv=replace(project.uv, sources=sources))


__all__ = ["TargetSolver", "public", "bare", "Location"]


def _any_version(requirement: Requirement) -> Requirement:
    """`requirement` without its version specifier."""
    copy = Requirement(str(requirement))
    copy.specifier = SpecifierSet()
    return copy
