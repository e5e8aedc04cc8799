"""A growing CNF formula whose clauses belong to labelled groups (the user-level facts).

Each clause is stored with the group it encodes ("project requires torch==2.5.1 via extra cpu",
"torchvision 0.20.1 requires torch==2.5.1", ...). Variables carry readable names. The formula
only grows (lazy expansion appends clauses), so a solver can take the new clauses incrementally
(`take_new`), and the whole can be written as commented DIMACS for any SAT solver to check.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from pysat.formula import IDPool

from planner.errors import Location

# Up to this many literals, "at most one" is written pairwise; above, a sequential counter
# (linear in size, with auxiliary variables) keeps large candidate sets small.
PAIRWISE_LIMIT = 6


class GroupKind(StrEnum):
    ROOT = "root"  # a requirement of the project on this target
    AT_MOST_ONE = "at-most-one"  # one version per package
    DEPENDENCY = "dependency"  # a requirement of a selected candidate
    EXTRA = "extra"  # a package extra needs its package
    CONSTRAINT = "constraint"  # tool.uv.constraint-dependencies
    PRERELEASE = "prerelease"  # pre-release policy excludes a candidate
    YANKED = "yanked"  # yanked and not pinned
    UNUSABLE = "unusable"  # its dependencies cannot be known (an sdist needing a build, bad metadata)
    ACCELERATOR = "accelerator"  # the build carries a runtime the target's stated accelerator cannot run
    DECISION = "decision"  # auxiliary definitions for the objective (not a user fact)


class FactKind(StrEnum):
    """The kinds of user-level facts an explanation is made of (see docs/explanations.md)."""

    REQUIREMENT = "requirement"  # the project requires it (dependencies, an extra, a group)
    DEPENDENCY = "dependency"  # a package version requires it (the index's metadata)
    CONSTRAINT = "constraint"  # tool.uv.constraint-dependencies
    OVERRIDE = "override"  # tool.uv.override-dependencies
    SOURCE = "source"  # a tool.uv.sources rule routes the package to an index
    ARTIFACT = "artifact"  # no file of a version fits the target (tags, Requires-Python)
    YANKED = "yanked"  # the index yanked the version
    PRERELEASE = "prerelease"  # the pre-release policy excludes the version
    UNUSABLE = "unusable"  # the version's dependencies cannot be read
    ACCELERATOR = "accelerator"  # the build's runtime does not fit the target's stated accelerator


# Facts the user can change in the pyproject; the others are what the indexes publish.
RELAXABLE_KINDS = frozenset({FactKind.REQUIREMENT, FactKind.CONSTRAINT, FactKind.OVERRIDE, FactKind.SOURCE,
                             FactKind.PRERELEASE})


@dataclass(frozen=True)
class Fact:
    """A user-level fact that clauses stand for, with what an explanation needs to say about it.

    `key` identifies the fact across clauses (one selector literal per fact in explaining mode);
    the other fields are for rendering: the package it is about, the version, index, requirement
    and who states it (`parent`: a package name or the project), and `via` (dependencies, an
    extra, a group)."""

    key: tuple[Hashable, ...]
    kind: FactKind
    text: str
    location: Location | None = None
    package: str | None = None
    version: str | None = None
    index: str | None = None
    requirement: str | None = None
    parent: str | None = None
    via: str | None = None

    @property
    def relaxable(self) -> bool:
        return self.kind in RELAXABLE_KINDS

    @property
    def label(self) -> str:
        """A short, stable name: `requirement b>=2`, `dependency a 1.0 b<1.5`, `artifact torch
        2.5.1 pypi`, `source torch pytorch-cpu`, ... (what test expectations list)."""
        kind = self.kind
        if kind is FactKind.REQUIREMENT:
            return f"requirement {self.requirement}"
        if kind is FactKind.DEPENDENCY:
            return f"dependency {self.parent} {self.version} {self.requirement}"
        if kind in (FactKind.CONSTRAINT, FactKind.OVERRIDE):
            return f"{kind.value} {self.requirement}"
        if kind is FactKind.SOURCE:
            return f"source {self.package} {self.index}"
        if kind in (FactKind.ARTIFACT, FactKind.ACCELERATOR):
            return f"{kind.value} {self.package} {self.version} {self.index}"
        return f"{kind.value} {self.package} {self.version}"

    def __str__(self) -> str:
        return f"{self.text} ({self.location})" if self.location else self.text


@dataclass(frozen=True)
class Group:
    id: int
    kind: GroupKind
    text: str
    location: Location | None = None
    facts: tuple[Fact, ...] = field(default=(), compare=False)  # what guards its clauses when explaining

    def __str__(self) -> str:
        return f"{self.text} ({self.location})" if self.location else self.text


def _sequential_counter(literals: list[int], pool: IDPool) -> tuple[list[tuple[int, ...]], list[int]]:
    """"At most one of `literals`" (more than two) as the sequential counter (Sinz 2005) that
    PySAT's `CardEnc.atmost(..., bound=1, encoding=EncType.seqcounter)` makes: the same clauses in
    the same order, over auxiliary variables s1..s(n-1) taken next from `pool`; returns the
    clauses and the auxiliary variables (in order of first use). Written out because PySAT's
    wrapper costs more than the encoding on the thousands of small sets a compile makes."""
    top = max(pool.top, max(abs(literal) for literal in literals))
    count = len(literals)
    aux = list(range(top + 1, top + count))
    pool.top = top + count - 1  # (the pool hands out no occupied ranges here: none are ever set)
    clauses: list[tuple[int, ...]] = [(-literals[0], aux[0])]
    for i in range(1, count - 1):
        before, here, literal = aux[i - 1], aux[i], literals[i]
        clauses += ((-before, here), (-literal, -before), (-literal, here))
    clauses.append((-literals[-1], -aux[-1]))
    return clauses, aux


class Formula:
    """`selectors=True` (explaining): every clause of a group with facts gets `¬s` for the selector
    `s` of each of its facts, so that solving under assumptions switches facts on and off and
    cores name facts."""

    def __init__(self, selectors: bool = False, keep_clauses: bool = True) -> None:
        """`keep_clauses=False`: clauses are held only until `take_new` hands them to a solver,
        and variables keep no names (a compile that writes no DIMACS needs neither again; they
        are a large share of a big project's memory); `clauses` and `names` then stay empty and
        `clause_count` still counts."""
        self.pool = IDPool()
        self.names: dict[int, str] = {}
        self.groups: list[Group] = []
        self.clauses: list[tuple[tuple[int, ...], int]] = []  # (clause, group id)
        self.keep_clauses = keep_clauses
        self.clause_count = 0
        self._given = 0  # clauses already handed to a solver
        self._unkept: list[tuple[int, ...]] = []  # without keep_clauses: those not handed yet
        self.with_selectors = selectors
        self.facts: dict[tuple[Hashable, ...], Fact] = {}  # in order of creation
        self.selectors: dict[tuple[Hashable, ...], int] = {}  # fact key -> selector variable
        self.fact_of_selector: dict[int, tuple[Hashable, ...]] = {}

    # -- variables and groups -------------------------------------------------------------------
    def var(self, key: Hashable, name: str) -> int:
        var = self.pool.id(key)
        if self.keep_clauses:
            self.names.setdefault(var, name)
        return var

    def has_var(self, key: Hashable) -> bool:
        return key in self.pool.obj2id

    def group(self, kind: GroupKind, text: str, location: Location | None = None,
              facts: Iterable[Fact] = ()) -> Group:
        group = Group(len(self.groups), kind, text, location, tuple(facts))
        self.groups.append(group)
        return group

    def selector(self, fact: Fact) -> int:
        """The selector literal of `fact` (created, and the fact recorded, on first use)."""
        if fact.key not in self.selectors:
            var = self.var(("fact", fact.key), f"fact:{fact.text}")
            self.selectors[fact.key] = var
            self.fact_of_selector[var] = fact.key
            self.facts[fact.key] = fact
        return self.selectors[fact.key]

    # -- clauses --------------------------------------------------------------------------------
    def add(self, clause: Iterable[int], group: Group) -> None:
        literals = tuple(clause)
        if self.with_selectors and group.facts:
            literals += tuple(-self.selector(fact) for fact in group.facts)
        self.clause_count += 1
        if self.keep_clauses:
            self.clauses.append((literals, group.id))
        else:
            self._unkept.append(literals)

    def at_most_one(self, literals: list[int], group: Group) -> list[int]:
        """Add "at most one of `literals`"; returns the auxiliary variables it introduced."""
        if len(literals) <= 1:
            return []
        if len(literals) <= PAIRWISE_LIMIT:
            for i, first in enumerate(literals):
                for second in literals[i + 1:]:
                    self.add((-first, -second), group)
            return []
        clauses, aux = _sequential_counter(literals, self.pool)
        if self.keep_clauses:
            name = f"aux:{group.text}"
            for var in aux:
                self.names.setdefault(var, name)
        if self.with_selectors and group.facts:
            for clause in clauses:
                self.add(clause, group)
        elif self.keep_clauses:
            self.clauses.extend((clause, group.id) for clause in clauses)
            self.clause_count += len(clauses)
        else:
            self._unkept.extend(clauses)
            self.clause_count += len(clauses)
        return aux

    def take_new(self) -> list[tuple[int, ...]]:
        """Clauses added since the last call, for an incremental solver."""
        if not self.keep_clauses:
            new, self._unkept = self._unkept, []
            return new
        new = [clause for clause, _ in self.clauses[self._given:]]
        self._given = len(self.clauses)
        return new

    @property
    def num_vars(self) -> int:
        return self.pool.top

    # -- output ---------------------------------------------------------------------------------
    def to_dimacs(self, title: str = "") -> str:
        """Commented DIMACS: `c var N name` for every variable, `c group G kind: text` before
        the clauses of each group (clauses sorted by group, so the file reads fact by fact)."""
        if not self.keep_clauses:
            raise ValueError("a formula made with keep_clauses=False cannot be written as DIMACS")
        lines = [f"c {line}" for line in title.splitlines()]
        lines.append(f"p cnf {self.num_vars} {len(self.clauses)}")
        for var in range(1, self.num_vars + 1):
            lines.append(f"c var {var} {self.names.get(var, 'aux')}")
        by_group: dict[int, list[tuple[int, ...]]] = {}
        for clause, group_id in self.clauses:
            by_group.setdefault(group_id, []).append(clause)
        for group in self.groups:
            if group.id not in by_group:
                continue
            where = f" [{group.location}]" if group.location else ""
            lines.append(f"c group {group.id} {group.kind.value}: {group.text}{where}")
            lines.extend(" ".join(str(lit) for lit in clause) + " 0" for clause in by_group[group.id])
        return "\n".join(lines) + "\n"
