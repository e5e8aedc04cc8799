"""Facts in the user's terms: merged lines in chain order, a conclusion, the message text.

Lines name pyproject locations (`pyproject.toml:12`), extras, groups, indexes and versions;
never a solver variable, a marker, or a list of every version (ranges instead). Facts of one
shape are merged: "a 1.0, 2.0 require b<1.5", "torch 2.3.0 … 2.5.1 (4 versions) on pypi: no
wheel for macosx_10_12_x86_64/cp311". The chain follows the requirement graph (networkx) from
the project: facts about packages nearer the project first.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from planner.encode.formula import Fact, FactKind
from planner.errors import Location
from planner.index.models import offered_by
from planner.plan.model import PROJECT, ExplainedFact, Explanation, Fix
from planner.solve.target_solver import TargetSolver
from planner.targets.model import Target

if TYPE_CHECKING:  # imported when a conflict is explained: a compile with plans needs none of it
    import networkx as nx

MAX_LISTED = 3  # versions listed one by one before a range is shown


def where(location: Location | None) -> str:
    """`pyproject.toml:12` (the file and line; the key path is in the JSON)."""
    if location is None:
        return ""
    name = location.shown or location.file.name  # a member's pyproject by its path in the workspace
    return f"{name}:{location.line}" if location.line is not None else name


def _version_key(text: str | None) -> tuple[int, Version | str]:
    try:
        return (0, Version(str(text)))
    except InvalidVersion:
        return (1, str(text))


def versions_text(versions: Sequence[str]) -> str:
    ordered = sorted(set(versions), key=_version_key)
    if len(ordered) <= MAX_LISTED:
        return ", ".join(ordered)
    return f"{ordered[0]} … {ordered[-1]} ({len(ordered)} versions)"


def _subject(fact: Fact) -> str:
    return str(fact.package)


def _graph(facts: Sequence[Fact]) -> nx.DiGraph:
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_node(PROJECT)
    for fact in facts:
        if fact.kind in (FactKind.REQUIREMENT, FactKind.DEPENDENCY) and fact.package:
            graph.add_edge(fact.parent or PROJECT, fact.package)
        elif fact.package:
            graph.add_node(fact.package)
    return graph


def _chain_order(graph: nx.DiGraph, last: str | None) -> dict[str, int]:
    """Depth-first order of the packages from the project, the package where the conflict lands
    visited last (so the chain reads from the project towards the clash)."""
    order: dict[str, int] = {}

    def visit(node: str) -> None:
        order[node] = len(order)
        for child in sorted(graph.successors(node)):
            if child not in order and child != last:
                visit(child)

    visit(PROJECT)
    for node in sorted(graph.nodes, key=str):  # facts about packages no requirement reaches
        if node not in order and node != last:
            visit(node)
    if last is not None:
        order[last] = len(order)
    return order


def merge(facts: Sequence[Fact], solver: TargetSolver | None = None, subject: str | None = None) -> list[ExplainedFact]:
    """The facts as lines: merged by shape, in chain order (towards `subject`, by default the
    package where the facts clash)."""
    graph = _graph(facts)
    depth = _chain_order(graph, subject or conflict_package(facts))
    far = len(depth) + 1
    buckets: dict[tuple[object, ...], list[Fact]] = defaultdict(list)
    for fact in facts:
        if fact.kind is FactKind.DEPENDENCY:
            key: tuple[object, ...] = (fact.kind, fact.parent, fact.requirement, fact.via)
        elif fact.kind is FactKind.ARTIFACT:
            key = (fact.kind, fact.package, fact.index, _artifact_shape(fact.text))
        elif fact.kind is FactKind.ACCELERATOR:
            key = (fact.kind, fact.package, fact.index, fact.text.partition(": ")[2])
        elif fact.kind in (FactKind.YANKED, FactKind.PRERELEASE, FactKind.UNUSABLE):
            key = (fact.kind, fact.package, fact.index if fact.kind is not FactKind.PRERELEASE else None)
        else:
            key = (fact.key,)
        buckets[key].append(fact)
    order = {FactKind.REQUIREMENT: 0, FactKind.DEPENDENCY: 1, FactKind.OVERRIDE: 2, FactKind.CONSTRAINT: 3,
             FactKind.SOURCE: 4, FactKind.ARTIFACT: 5, FactKind.YANKED: 6, FactKind.PRERELEASE: 7,
             FactKind.UNUSABLE: 8, FactKind.ACCELERATOR: 9}
    lines = []
    for group in buckets.values():
        first = group[0]
        package = _subject(first)
        parent_depth = depth.get(first.parent or PROJECT, far) if first.kind in (
            FactKind.REQUIREMENT, FactKind.DEPENDENCY) else far
        sort_key = (depth.get(package, far), package, order[first.kind] > 1, parent_depth, order[first.kind],
                    first.text)
        lines.append((sort_key, _line(group, solver)))
    return [line for _, line in sorted(lines, key=lambda pair: pair[0])]


def _artifact_shape(text: str) -> str:
    """`no wheel for linux_aarch64/cp311 (fastlib 2.0 on pypi has: …)` -> the part before the
    version-specific parenthesis, plus what follows it (same shape, same line)."""
    head, _, rest = text.partition(" (")
    tail = rest.partition(")")[2]
    return head + tail


def _available(text: str) -> str:
    match = re.search(r" has: ([^)]*)\)", text)
    return match.group(1) if match else ""


def _line(group: list[Fact], solver: TargetSolver | None) -> ExplainedFact:
    first = group[0]
    kind = first.kind
    location = first.location
    labels = tuple(sorted(f.label for f in group))
    at = where(location)
    relaxable = first.relaxable
    if kind is FactKind.REQUIREMENT:
        via = first.via or "dependencies"
        if via == "packages":  # a local package the target installs
            text = f"the target installs {first.requirement} ({at})"
        else:
            who = "the project" if via == "dependencies" else f"the project's {via}"
            text = f"{who} requires {first.requirement} ({at})"
    elif kind is FactKind.DEPENDENCY:
        versions = [str(f.version) for f in group]
        every = _every_version(solver, str(first.parent), versions)
        verb = "requires" if len(set(versions)) == 1 else "require"
        extra = f" with its extra '{first.via}'" if first.via else ""
        if every and len(set(versions)) > 1:
            text = f"every available version of {first.parent} ({versions_text(versions)}){extra} requires {first.requirement}"
        else:
            text = f"{first.parent} {versions_text(versions)}{extra} {verb} {first.requirement}"
        if location is not None:  # a local package's requirement: its pyproject line
            text += f" ({at})"
        text += _built_elsewhere(solver, str(first.parent), versions)
    elif kind is FactKind.ARTIFACT and _python_only(first.text):
        spec, python = _python_only(first.text)  # type: ignore[misc]
        count = len({f.version for f in group})
        versions = versions_text([str(f.version) for f in group])
        verb = "requires" if count == 1 else "require"
        text = f"{first.package} {versions} {offered_by(str(first.index))} {verb} Python {spec}; the target has Python {python}"
    elif kind is FactKind.ARTIFACT:
        versions = versions_text([str(f.version) for f in group])
        head, _, rest = first.text.partition(" (")
        tail = rest.partition(")")[2]
        available = _available(first.text)
        text = (f"{first.package} {versions} {offered_by(str(first.index))}: {head}"
                + (f" (available: {available})" if available else "") + tail)
    elif kind is FactKind.YANKED:
        versions = [str(f.version) for f in group]
        verb = "is" if len(versions) == 1 else "are"
        text = f"{first.package} {versions_text(versions)} on {first.index} {verb} yanked (usable only when pinned with ==)"
    elif kind is FactKind.PRERELEASE:
        versions = [str(f.version) for f in group]
        mode = first.text.rpartition("prerelease = ")[2]
        noun = "a pre-release" if len(versions) == 1 else "pre-releases"
        verb = "is" if len(versions) == 1 else "are"
        text = f"{first.package} {versions_text(versions)} {verb} {noun}, excluded by prerelease = {mode}" + (
            f" ({at})" if at else " (uv's default policy)")
    elif kind is FactKind.UNUSABLE:
        text = first.text
    elif kind is FactKind.ACCELERATOR:
        versions = versions_text([str(f.version) for f in group])
        text = f"{first.package} {versions} on {first.index}: {first.text.partition(': ')[2]}" + (f" ({at})" if at else "")
    elif kind is FactKind.SOURCE:
        text = f"{first.text} ({at})" + _index_has(solver, first)
    else:
        text = f"{first.text} ({at})" if at else first.text
    return ExplainedFact(kind.value, text, location, first.package, relaxable, labels)


def _python_only(text: str) -> tuple[str, str] | None:
    """(specifier, Python) when a version's only problem is its Requires-Python."""
    match = re.match(r"requires-python (.+?) excludes Python (\S+) \(", text)  # every file excluded so
    if match is not None:
        return match.group(1), match.group(2)
    match = re.search(r"requires-python (.+) excludes Python (\S+)$", text)
    if match is None or _available(text) not in ("any", ""):
        return None
    return match.group(1), match.group(2)


def _built_elsewhere(solver: TargetSolver | None, package: str, versions: Sequence[str]) -> str:
    """A note when those versions' metadata came from a build on another environment than the
    target's: a build may compute other dependencies there (docs/builds.md)."""
    if solver is None or package not in solver.packages:
        return ""
    for version in sorted(set(versions)):
        try:
            found = solver.candidates_with_public(package, Version(version))  # type: ignore[arg-type]
        except InvalidVersion:
            continue
        for _, var in found:
            metadata = solver.metadata.get(var)
            built = metadata.built_on if metadata is not None else None
            if built is not None and built.differs_from(solver.target.environment):
                return (f" (metadata built on {built.describe()}; the target has "
                        f"{', '.join(built.differs_from(solver.target.environment))})")
    return ""


def _every_version(solver: TargetSolver | None, package: str, versions: Sequence[str]) -> bool:
    if solver is None or package not in solver.packages:
        return False
    known = {str(c.version) for c in solver.packages[package].admissible_candidates()}  # type: ignore[index]
    return bool(known) and known <= set(versions)


def _index_has(solver: TargetSolver | None, fact: Fact) -> str:
    if solver is None or fact.package not in solver.packages:
        return ""
    found = solver.packages[fact.package].found  # type: ignore[index]
    versions = [str(c.version) for c in found.candidates if c.index == fact.index]
    listed = {r.version for r in found.rejections if r.index == fact.index}
    if not versions and not listed:
        return f", which has no {fact.package}"
    if not versions:
        return f", which has no {fact.package} that fits the target"
    return f", which has {fact.package} {versions_text(versions)}"


def _incoming(facts: Sequence[Fact]) -> tuple[dict[str, list[Fact]], dict[str, list[Fact]]]:
    incoming: dict[str, list[Fact]] = defaultdict(list)
    blockers: dict[str, list[Fact]] = defaultdict(list)
    for fact in facts:
        if not fact.package:
            continue
        if fact.kind in (FactKind.REQUIREMENT, FactKind.DEPENDENCY, FactKind.CONSTRAINT, FactKind.OVERRIDE):
            incoming[fact.package].append(fact)
        else:
            blockers[fact.package].append(fact)
    return incoming, blockers


def conflict_package(facts: Sequence[Fact]) -> str | None:
    """The package where the facts clash: the most distinct requirements and blocking facts."""
    incoming, blockers = _incoming(facts)
    if not incoming:
        return None

    def weight(name: str) -> tuple[int, int, str]:
        specs = {f.requirement for f in incoming[name] if f.requirement and f.requirement != name}
        return (len(specs) + len(blockers.get(name, ())), len(incoming[name]), name)

    return max(incoming, key=weight)


def conclusion(facts: Sequence[Fact], solver: TargetSolver | None = None) -> str:
    """What the facts come to: the package where they meet, and the requirements that clash."""
    incoming, blockers = _incoming(facts)
    if not incoming:
        return "so these facts cannot all hold"

    name = str(conflict_package(facts))
    specs = sorted({str(f.requirement) for f in incoming[name] if f.requirement})
    blocked = blockers.get(name, [])
    if blocked and len(specs) <= 1:
        what = specs[0] if specs else name
        return f"so no version of {name} the target can install satisfies {what}"
    if len(specs) == 2:
        return f"so no version of {name} satisfies both {specs[0]} and {specs[1]}"
    if len(specs) > 2:
        return f"so no version of {name} satisfies all of {', '.join(specs)}"
    offered = _offered(solver, name)
    if specs and offered is not None:
        return f"so nothing satisfies {specs[0]}: {offered}"
    return f"so {name} cannot be installed"


def _offered(solver: TargetSolver | None, name: str) -> str | None:
    """What the target can take of `name`: "pytorch-cpu has torchvision 0.19.0+cpu … 0.20.1+cpu"."""
    if solver is None or name not in solver.packages:
        return None
    found = solver.packages[name].found  # type: ignore[index]
    indexes = " > ".join(found.indexes_consulted) or "its indexes"
    versions = [str(c.version) for c in found.candidates]
    if not versions:
        return f"{indexes} has no {name} for this target"
    return f"{indexes} has {name} {versions_text(versions)}"


def message(target: Target, explanation: Explanation) -> str:
    """The text compile prints for a target without a plan (short: one line per fact)."""
    parts = target.description_parts(accelerator=target.accelerator is not None)
    lines = [f"target '{target.name}' has no plan ({', '.join(parts)}):"]
    lines += [f"  {n}. {fact.text}" for n, fact in enumerate(explanation.facts, 1)]
    lines.append(f"  {explanation.conclusion}")
    if not explanation.complete:
        lines.append("  (possibly not minimal: the search stopped at its budget; these facts conflict, "
                     "a smaller set may exist; --explain-budget SECONDS gives it more time)")
    if explanation.fixes:
        lines.append("  fixes (each checked by solving again):")
        lines += [f"  - {fix.text}" for fix in explanation.fixes]
    return "\n".join(lines)


def fix_lines(fixes: Sequence[Fix]) -> list[str]:
    return [fix.text for fix in fixes]
