"""A growing CNF formula whose clauses belong to labelled groups (the user-level facts).

Each clause is stored with the group it encodes ("project requires torch==2.5.1 via extra cpu",
"torchvision 0.20.1 requires torch==2.5.1", ...). Variables carry readable names. The formula
only grows (lazy expansion appends clauses), so a solver can take the new clauses incrementally
(`take_new`), and the whole can be written as commented DIMACS for any SAT solver to check.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from pysat.card import CardEnc, EncType
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
    DECISION = "decision"  # auxiliary definitions for the objective (not a user fact)


@dataclass(frozen=True)
class Group:
    id: int
    kind: GroupKind
    text: str
    location: Location | None = None

    def __str__(self) -> str:
        return f"{self.text} ({self.location})" if self.location else self.text


class Formula:
    def __init__(self) -> None:
        self.pool = IDPool()
        self.names: dict[int, str] = {}
        self.groups: list[Group] = []
        self.clauses: list[tuple[tuple[int, ...], int]] = []  # (clause, group id)
        self._given = 0  # clauses already handed to a solver

    # -- variables and groups -------------------------------------------------------------------
    def var(self, key: Hashable, name: str) -> int:
        var = self.pool.id(key)
        self.names.setdefault(var, name)
        return var

    def has_var(self, key: Hashable) -> bool:
        return key in self.pool.obj2id

    def group(self, kind: GroupKind, text: str, location: Location | None = None) -> Group:
        group = Group(len(self.groups), kind, text, location)
        self.groups.append(group)
        return group

    # -- clauses --------------------------------------------------------------------------------
    def add(self, clause: Iterable[int], group: Group) -> None:
        self.clauses.append((tuple(clause), group.id))

    def at_most_one(self, literals: list[int], group: Group) -> list[int]:
        """Add "at most one of `literals`"; returns the auxiliary variables it introduced."""
        if len(literals) <= 1:
            return []
        if len(literals) <= PAIRWISE_LIMIT:
            for i, first in enumerate(literals):
                for second in literals[i + 1:]:
                    self.add((-first, -second), group)
            return []
        encoded = CardEnc.atmost(lits=literals, bound=1, vpool=self.pool, encoding=EncType.seqcounter)
        given = {abs(literal) for literal in literals}
        aux: list[int] = []
        for clause in encoded.clauses:
            for literal in clause:
                if abs(literal) not in given and abs(literal) not in aux:
                    aux.append(abs(literal))
                    self.names.setdefault(abs(literal), f"aux:{group.text}")
            self.add(clause, group)
        return aux

    def take_new(self) -> list[list[int]]:
        """Clauses added since the last call, for an incremental solver."""
        new = [list(clause) for clause, _ in self.clauses[self._given:]]
        self._given = len(self.clauses)
        return new

    @property
    def num_vars(self) -> int:
        return self.pool.top

    # -- output ---------------------------------------------------------------------------------
    def to_dimacs(self, title: str = "") -> str:
        """Commented DIMACS: `c var N name` for every variable, `c group G kind: text` before
        the clauses of each group (clauses sorted by group, so the file reads fact by fact)."""
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
