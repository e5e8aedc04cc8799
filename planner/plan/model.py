"""The plan: for every target, the exact artifacts to install, and why each is there.

Produced by the solver (`planner/solve/`), checked by `planner/plan/check.py` (separate code),
written by the generators. Plain immutable values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from packaging.utils import NormalizedName
from packaging.version import Version

from planner.errors import Location
from planner.index.models import Artifact, BuiltOn
from planner.targets.model import Target

PROJECT = "<project>"  # how the project itself appears in `required_by`


@dataclass(frozen=True)
class Requirer:
    """A requirement on a planned package that holds on its target: who states it, and how."""

    by: str  # a package name, or PROJECT
    requirement: str  # as written (after overrides), without its marker
    via: str | None = None  # for the project's own: "dependencies", "extra cpu", "group dev"
    # Where a local, git or URL package's own pyproject writes it ("https://host/repo@1a2b3c:pyproject.toml:4").
    at: str | None = None


@dataclass(frozen=True)
class PlannedPackage:
    """One package of a target's plan: the version, the index and the artifact to install."""

    name: NormalizedName
    version: Version
    index: str  # index name
    artifact: Artifact
    extras: tuple[NormalizedName, ...] = ()  # extras of this package the plan activates
    required_by: tuple[str, ...] = ()  # package names that require it, or PROJECT; sorted
    requirements: tuple[Requirer, ...] = ()  # the requirements on it that hold; sorted
    # Empty when the target's packages need it; else the dependency groups of the target that
    # bring it in (images leave it out unless their docker table asks for one of them).
    for_groups: tuple[NormalizedName, ...] = ()
    # Set when its metadata came from a PEP 517 build, which ran on this environment.
    metadata_built_on: BuiltOn | None = None

    def built_elsewhere(self, target: Target) -> list[str]:
        """How the build's environment differs from `target`'s (empty: same, or not built)."""
        if self.metadata_built_on is None:
            return []
        return self.metadata_built_on.differs_from(target.environment)



@dataclass(frozen=True)
class Clash:
    """A requirement of a newer version that the plan's version of a package does not satisfy:
    `requirement` (of the newer version) on `package`, which the plan has at `version`; `against`:
    the plan's requirements on that package that admit none of the versions it would need, as
    (requiring package or PROJECT, its version, the requirement)."""

    requirement: str
    package: str
    version: str
    against: tuple[tuple[str, str | None, str], ...] = ()


@dataclass(frozen=True)
class Hold:
    """A direct requirement the plan has below the newest version its target can install, and
    what holds it there: a fact from the solver (`cause`, `by`, ...), worded by planner/explain.

    Causes: `project` / `constraint` (the project's own requirement or constraint excludes the
    newest), `requirement` (a planned package's requirement does), `pin` (kept from the previous
    plan; `by` names the pinned package when it is another one), `pins` (the pins kept together),
    `upgrade` (an --upgrade-package decision), `alignment` (another target of its group cannot
    take it), `resolution` (resolution = "lowest" / "lowest-direct"), `decision` (the version an
    earlier decided package took excludes it), `conflict` (the newest cannot be installed with the
    project's requirements at all)."""

    package: NormalizedName
    version: Version
    newest: Version
    cause: str
    by: str | None = None
    by_version: str | None = None
    requirement: str | None = None
    location: Location | None = None  # where the project's own requirement or constraint is written
    clashes: tuple[Clash, ...] = ()  # decision, pin of another package: what of the newest does not fit
    reason: str = ""  # the words (planner/explain/plan.py)
    facts: tuple[ExplainedFact, ...] = ()  # minimal facts behind `decision` / `conflict`, when worked out


@dataclass(frozen=True)
class SolveStats:
    """Counters of one target's solve, for reports and benchmarks."""

    sat_calls: int = 0
    clauses: int = 0
    variables: int = 0
    expansions: int = 0  # candidates whose dependencies were added
    metadata_fetches: int = 0  # metadata read for this target (cache hits included)
    narrowed: int = 0  # pinned packages solved with only their pinned candidates (the fast path with pins)
    sat_seconds: float = field(default=0.0, compare=False)  # inside the SAT solver (never in outputs)


@dataclass(frozen=True)
class LeftOut:
    """An extra or group a derived target asks for but cannot install there (best effort): the
    plan leaves it out, and says why and how to make that explicit.

    The solver gives the facts (`facts`, `requirements`, `marker`); planner/explain/ words
    `reason` and `fix` from them."""

    kind: str  # "extra" or "group"
    name: str
    reason: str = ""  # the facts that keep it out, in the user's terms
    fix: str = ""  # how to make it explicit: a marker on its requirement, or declared targets
    # The item's requirements among those facts, (text, where), for the marker suggestion.
    requirements: tuple[tuple[str, Location | None], ...] = field(default=(), compare=False)
    # The minimal facts (`planner.encode.formula.Fact`) that keep it out on this target.
    facts: tuple[Any, ...] = field(default=(), compare=False, repr=False)
    # A marker true on the targets that install it and false on those that leave it out (None:
    # no marker tells them apart, or no target installs it).
    marker: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.kind} '{self.name}'"


@dataclass(frozen=True)
class TargetPlan:
    """One target's plan: the packages it installs.

    `target` is the target as solved; for a derived target that could not install some of its
    extras or groups, without them, and `left_out` says which and why."""

    target: Target
    packages: tuple[PlannedPackage, ...]  # sorted by name
    stats: SolveStats = field(default_factory=SolveStats)
    holds: tuple[Hold, ...] = ()  # direct requirements below their newest version, by package
    # Files of pins an index now lists with another sha256 than the previous plan recorded:
    # (package, file name, index).
    changed_files: tuple[tuple[str, str, str], ...] = ()
    left_out: tuple[LeftOut, ...] = ()

    @property
    def requested_extras(self) -> tuple[str, ...]:
        """The extras the target asks for (its install flags), the left-out ones included."""
        return (*self.target.extras, *(item.name for item in self.left_out if item.kind == "extra"))

    @property
    def requested_groups(self) -> tuple[str, ...]:
        return (*self.target.groups, *(item.name for item in self.left_out if item.kind == "group"))

    @property
    def requested_target(self) -> Target:
        """The target with the extras and groups it asks for: what an installer is told, and what
        tells it apart from the lock's other targets."""
        if not self.left_out:
            return self.target
        from dataclasses import replace

        return replace(self.target, extras=self.requested_extras, groups=self.requested_groups)

    def get(self, name: str) -> PlannedPackage | None:
        for package in self.packages:
            if package.name == name:
                return package
        return None


@dataclass(frozen=True)
class ExplainedFact:
    """One line of an explanation: a user-level fact (or several of one shape, merged: "a 1.0,
    2.0 require b<1.5"), in the user's terms."""

    kind: str  # planner.encode.formula.FactKind value
    text: str  # the line, location included
    location: Location | None = None
    package: str | None = None
    relaxable: bool = False  # the user can change it in the pyproject
    labels: tuple[str, ...] = ()  # the solver facts it stands for (`Fact.label`), for tests and tools


@dataclass(frozen=True)
class Change:
    """One concrete edit of the project or its targets."""

    kind: str  # relax-requirement, pin-requirement, add-marker, remove-requirement, remove-constraint,
    #            remove-override, route-to-default, route-to-index, allow-prereleases, pin-yanked,
    #            set-python, set-accelerator, raise-os-floor, drop-target,
    #            dependency-metadata, older-with-wheel
    text: str
    location: Location | None = None


@dataclass(frozen=True)
class Fix:
    """A minimal correction set, phrased as changes, that was checked by solving again."""

    changes: tuple[Change, ...]
    result: str = ""  # what the target's plan then takes ("torchvision 0.21.0"), when it says something
    # The edited (project, target) the fix was checked on (target None: the target is dropped).
    applied: Any = field(default=None, compare=False, repr=False)

    @property
    def text(self) -> str:
        return "; ".join(change.text for change in self.changes) + (f"; {self.result}" if self.result else "")


@dataclass(frozen=True)
class Explanation:
    """Why a target has no plan: a minimal set of facts (a chain), what it comes to, and fixes."""

    target: str
    facts: tuple[ExplainedFact, ...]
    conclusion: str
    fixes: tuple[Fix, ...] = ()
    complete: bool = True  # False when the search gave up (a budget ran out): the facts still conflict


@dataclass(frozen=True)
class Unsatisfiable:
    """A target without a plan: the message for the user and, when worked out, the explanation."""

    target: Target
    message: str
    explanation: Explanation | None = None


@dataclass(frozen=True)
class Refusal:
    """Why a target could not take a version the objective tried (a fact; explain/ words it).

    Kinds: `unavailable` (no candidate has that version; `detail` says why, in the index's or
    the candidate rules' terms), `excluded` (a requirement the decisions so far force excludes
    it; `detail` is that requirement's fact), `infeasible` (it does not fit the other decisions),
    `kept` (the target keeps another version from the previous plan or an upgrade decision)."""

    target: str
    version: Version
    kind: str
    detail: str = ""


@dataclass(frozen=True)
class Divergence:
    """A package whose version or artifact differs across the targets that install it."""

    package: NormalizedName
    kind: str  # "version" (public versions differ) or "artifact" (same version, other file/index)
    choices: tuple[tuple[str, str], ...]  # (target name, "version [index]")
    reason: str = ""  # the words (planner/explain/plan.py)
    facts: tuple[ExplainedFact, ...] = ()  # the forcing facts behind `reason`, when known
    refusals: tuple[Refusal, ...] = ()  # what kept the targets from a common newest version


@dataclass(frozen=True)
class HeldBack:
    """A package kept below the newest version a target could take alone, to stay aligned."""

    package: NormalizedName
    target: str
    version: Version  # the aligned version it got
    newest: Version  # the newest it could have had alone
    reason: str = ""  # the words (planner/explain/plan.py)
    refusals: tuple[Refusal, ...] = ()  # why the other targets could not take `newest`


@dataclass(frozen=True)
class Plan:
    """What a compile proves: each target's plan, the targets without one, and how the plans differ."""

    targets: tuple[TargetPlan, ...]
    unsatisfiable: tuple[Unsatisfiable, ...] = ()
    divergences: tuple[Divergence, ...] = ()
    held_back: tuple[HeldBack, ...] = ()
    alignment: str = "per-python"
    # Indexes whose files without an upload time were left out under exclude-newer (any target).
    undated: tuple[str, ...] = ()
    # How the previous plan's pins were solved (never in outputs): "" without pins, "narrowed"
    # (the fast path: every pin kept), or "full: <why the fast path could not answer>".
    pin_solve: str = field(default="", compare=False)

    def for_target(self, name: str) -> TargetPlan:
        for plan in self.targets:
            if plan.target.name == name:
                return plan
        raise KeyError(name)
