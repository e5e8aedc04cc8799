"""`planner why` and `planner why-not`: requirement chains to a planned package, why its version,
and the minimal reason a version is not in the plan.

Chains are paths in the plan's requirement graph (networkx) from the project to the package,
each step the requirement as written (the project's line, or the requiring version's metadata).
"Why this version" asks, for each newer version, the explaining formula whether the target could
take it: if not, the minimal facts that exclude it (a core with "PACKAGE is at VERSION" as a hard
assumption); if it could, the objective held it back (alignment with other targets, or an earlier
decision), which the plan records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from planner.encode.formula import GroupKind
from planner.solve.mus import minimal_core
from planner.explain.render import merge, versions_text, where
from planner.plan.model import PROJECT, ExplainedFact, Plan, TargetPlan
from planner.project.model import Project
from planner.solve.provider import Provider, Unusable
from planner.solve.target_solver import TargetSolver, bare, public
from planner.targets.model import Target
from planner.targets.routing import route

MAX_CHAINS = 3
MAX_NEWER = 3  # newer versions explained one by one (the rest are summarised)


@dataclass(frozen=True)
class VersionReason:
    """Why `package` is not at `version` on a target: the facts, or a note (objective, absence)."""

    version: str
    facts: tuple[ExplainedFact, ...] = ()
    note: str = ""

    @property
    def text(self) -> str:
        return self.note or "; ".join(f.text for f in self.facts)


@dataclass(frozen=True)
class WhyAnswer:
    target: str
    package: NormalizedName
    version: str | None  # the planned version; None: not in this target's plan
    chains: tuple[tuple[str, ...], ...] = ()  # each a list of steps from the project
    newest: bool = False  # the newest version the target's indexes offer
    newer: tuple[VersionReason, ...] = ()  # why each newer version is not taken
    note: str = ""
    # Where a package from no index comes from ("from git https://... at tag 'v1' (source rule at
    # pyproject.toml:12), commit 1a2b..."); empty for index packages.
    origin: str = ""

    def lines(self) -> list[str]:
        if self.version is None:
            return [f"{self.target}: {self.package} is not in the plan" + (f" ({self.note})" if self.note else "")]
        out = [f"{self.target}: {self.package} {self.version}"]
        if self.origin:
            out.append(f"  {self.origin}")
        for chain in self.chains:
            out.append("  required by: " + " -> ".join(chain))
        if self.newest:
            out.append("  the newest version the target can install")
        for reason in self.newer:
            out.append(f"  not {reason.version}: {reason.text}")
        if self.note:
            out.append(f"  {self.note}")
        return out


@dataclass(frozen=True)
class WhyNotAnswer:
    target: str
    package: NormalizedName
    version: str
    planned: str | None  # the version the plan has, if any
    reason: VersionReason
    in_plan: bool = False  # `version` is the planned one

    def lines(self) -> list[str]:
        if self.in_plan:
            return [f"{self.target}: {self.package} {self.version} is in the plan ({self.package} {self.planned})"]
        head = f"{self.target}: {self.package} {self.version} is not in the plan"
        if self.planned is not None:
            head += f" (it has {self.planned})"
        out = [head + ":"]
        if self.reason.facts:
            out += [f"  {n}. {fact.text}" for n, fact in enumerate(self.reason.facts, 1)]
        if self.reason.note:
            out.append(f"  {self.reason.note}")
        return out


# -- chains -------------------------------------------------------------------------------------
def _graph(target_plan: TargetPlan) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_node(PROJECT)
    for package in target_plan.packages:
        for parent in package.required_by:
            graph.add_edge(parent, package.name)
    return graph


def chains(project: Project, target_plan: TargetPlan, provider: Provider, name: NormalizedName,
           limit: int = MAX_CHAINS) -> tuple[tuple[str, ...], ...]:
    graph = _graph(target_plan)
    if name not in graph:
        return ()
    solver = TargetSolver(project, target_plan.target, provider)
    out = []
    paths = nx.shortest_simple_paths(graph, PROJECT, name)
    for path in paths:
        out.append(tuple(_step(project, target_plan, provider, solver, parent, child)
                         for parent, child in zip(path, path[1:], strict=False)))
        if len(out) >= limit:
            break
    return tuple(out)


def _step(project: Project, target_plan: TargetPlan, provider: Provider, solver: TargetSolver,
          parent: str, child: str) -> str:
    if parent == PROJECT:
        for edge in solver.roots:
            if edge.name == child:
                fact = edge.group.facts[0]
                via = {"dependencies": "", "packages": "a package the target installs, "}.get(
                    str(fact.via), f"{fact.via}, ")
                return f"{fact.requirement} ({via}{where(fact.location)})"
        return child
    planned = target_plan.get(parent)
    if planned is None:
        return child
    metadata = provider.metadata([planned.artifact])[planned.artifact]
    if isinstance(metadata, Unusable):
        return f"{parent} {planned.version} requires {child}"
    target = target_plan.target
    for position, requirement in enumerate(metadata.requires_dist):
        # The line that applies here: torch lists sympy==1.12.1 for Python 3.8 and 1.13.1 after.
        applies = requirement.marker is None or target.evaluate(requirement.marker, frozenset(planned.extras))
        if canonicalize_name(requirement.name) == child and applies:
            # A local package's requirement: where its pyproject says it.
            origin = metadata.origins[position] if metadata.origins else None
            said = f" ({where(origin)})" if origin is not None else ""
            return f"{parent} {planned.version} requires {bare(requirement)}{said}"
    return f"{parent} {planned.version} requires {child}"


# -- versions -----------------------------------------------------------------------------------
def _version_literal(solver: TargetSolver, name: NormalizedName, version: Version) -> int | None:
    """A literal "`name` is installed at `version`" over every variable the explaining formula has
    for it (also versions without a fitting file, and other indexes' behind a source rule)."""
    package = solver._package(name)
    exact = version.local is not None
    matching = [v for c, v in package.vars if (c.version == version if exact else public(c.version) == version)]
    if not matching:
        return None
    key = ("at", name, str(version))
    if not solver.formula.has_var(key):
        var = solver.formula.var(key, f"{name} at {version}")
        solver.formula.add([-var] + matching, solver.formula.group(GroupKind.DECISION, f"{name} is at {version}"))
    return solver.formula.var(key, "")


def version_reason(project: Project, target: Target, provider: Provider, name: NormalizedName,
                   version: Version, plan: Plan | None = None,
                   given: Sequence[tuple[NormalizedName, str | None]] = ()) -> VersionReason:
    """The minimal reason `target` cannot have `name` at `version` (or what held it back).
    `given`: packages at versions assumed as well (the decisions that came first)."""
    solver = TargetSolver(project, target, provider, explain=True)
    literal = _version_literal(solver, name, version)
    if literal is None:
        indexes = " > ".join(solver.packages[name].found.indexes_consulted)
        offered = [str(c.version) for c, _ in solver.packages[name].vars]
        has = f" (it has {versions_text(offered)})" if offered else ""
        return VersionReason(str(version), note=f"{name} {version} is not on {indexes}{has}")
    assumed = [literal]
    for other, other_version in given:
        try:
            other_literal = _version_literal(solver, other, Version(str(other_version)))
        except InvalidVersion:
            other_literal = None
        if other_literal is not None:
            assumed.append(other_literal)
    core = minimal_core(solver, assumed)
    if core is not None:
        return VersionReason(str(version), tuple(merge(core.facts, solver, name)))
    if plan is not None:
        for target_plan in plan.targets:
            if target_plan.target.name != target.name:
                continue
            for hold in target_plan.holds:
                if hold.package == name and hold.reason:
                    return VersionReason(str(version), note=f"{target.name} could install {name} {version} alone; "
                                                            f"the plan holds it back: {hold.reason}")
        for held in plan.held_back:
            if held.package == name and held.target == target.name:
                return VersionReason(str(version), note=f"held back to stay aligned with other targets: {held.reason}")
    return VersionReason(str(version), note=(
        f"{target.name} could install {name} {version} alone; the decisions the plan takes before {name} "
        "(newest first, direct requirements before transitive ones) leave no room for it"))


def why(project: Project, plan: Plan, provider: Provider, package: str, targets: Sequence[str] = ()) -> list[WhyAnswer]:
    name = canonicalize_name(package)
    out = []
    for target_plan in plan.targets:
        target = target_plan.target
        if targets and target.name not in targets:
            continue
        planned = target_plan.get(name)
        if planned is None:
            out.append(WhyAnswer(target.name, name, None, note="nothing on this target requires it"))
            continue
        decided = route(project, target, name)
        if decided.direct is not None or decided.local is not None:  # one candidate: its source says why
            commit = f", commit {planned.artifact.git.commit}" if planned.artifact.git is not None else ""
            out.append(WhyAnswer(target.name, name, str(planned.version), chains(project, target_plan, provider, name),
                                 origin=f"from {decided.describe()}{commit}"))
            continue
        solver = TargetSolver(project, target, provider, explain=True)
        offered = sorted({public(c.version) for c, _ in solver._package(name).vars}, reverse=True)
        newer = [v for v in offered if v > public(planned.version)]
        reasons = tuple(version_reason(project, target, provider, name, v, plan) for v in newer[:MAX_NEWER])
        note = f"{len(newer) - MAX_NEWER} more newer versions not shown" if len(newer) > MAX_NEWER else ""
        out.append(WhyAnswer(target.name, name, str(planned.version),
                             chains(project, target_plan, provider, name), not newer, reasons, note))
    return out


def why_not(project: Project, plan: Plan, provider: Provider, package: str, version: str | None,
            target: Target) -> WhyNotAnswer:
    """Why `package` at `version` (None: at the newest version the target's indexes offer, when
    newer than the planned one) is not in `target`'s plan."""
    name = canonicalize_name(package)
    planned = None
    for target_plan in plan.targets:
        if target_plan.target.name == target.name:
            found = target_plan.get(name)
            planned = str(found.version) if found is not None else None
    if version is None:
        if planned is None:
            return WhyNotAnswer(target.name, name, "", None, VersionReason("", note=f"nothing on {target.name} requires {name}"))
        solver = TargetSolver(project, target, provider, explain=True)
        offered = sorted({public(c.version) for c, _ in solver._package(name).vars}, reverse=True)
        if not offered or offered[0] <= public(Version(planned)):
            return WhyNotAnswer(target.name, name, planned, planned, VersionReason(planned), in_plan=True)
        version = str(offered[0])
    try:
        wanted = Version(version)
    except InvalidVersion:
        raise ValueError(f"'{version}' is not a version") from None
    if planned is not None and (Version(planned) == wanted or (wanted.local is None and public(Version(planned)) == wanted)):
        return WhyNotAnswer(target.name, name, version, planned, VersionReason(version), in_plan=True)
    if planned is None and target.name in {t.target.name for t in plan.targets}:
        return WhyNotAnswer(target.name, name, version, None,
                            VersionReason(version, note=f"nothing on {target.name} requires {name}"))
    reason = version_reason(project, target, provider, name, wanted, plan)
    if not reason.facts and planned is not None and wanted < Version(planned):
        reason = VersionReason(version, note=f"the plan takes a newer version, {planned} (newest first)")
    return WhyNotAnswer(target.name, name, version, planned, reason)
