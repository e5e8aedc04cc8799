"""`planner why`, `why-not` and `tree` answered from the written plan (`plan.json`), with no
network and no solving: requirement chains and trees come from the requirements the plan
records on each package; "why not newer" from the direct requirements it records as held below
their newest version, and from the recorded requirements whose specifier excludes a version.

Answers never contradict the plan they read. What the plan cannot tell (a newer version of a
transitive package that no recorded requirement excludes) is said so, with `--fresh` (solve
again) as the way to find out. Light on purpose: no solver, no index client is imported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from planner.previous.written import PROJECT, WrittenPackage, WrittenPlan, WrittenTarget

MAX_CHAINS = 3


@dataclass(frozen=True)
class Answer:
    """Lines of text, and the same as data for `--format json`."""

    lines: tuple[str, ...]
    data: dict


# -- chains -------------------------------------------------------------------------------------
def _graph(target: WrittenTarget) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_node(PROJECT)
    for package in target.packages.values():
        for parent in package.required_by:
            graph.add_edge(parent, package.name)
    return graph


def _step(target: WrittenTarget, parent: str, child: NormalizedName, locate: Mapping[tuple[str, str, str], str]) -> str:
    package = target.packages[child]
    for requirement in package.requirements:
        if requirement.by != parent:
            continue
        if parent == PROJECT:
            via = requirement.via or "dependencies"
            said = {"dependencies": "", "packages": "a package the target installs, "}.get(via, f"{via}, ")
            inner = f"{said}{locate.get((PROJECT, child, via), '')}".rstrip(", ")
            return f"{requirement.requirement}" + (f" ({inner})" if inner else "")
        at = requirement.at or locate.get((parent, child, ""))
        said = f" ({at})" if at else ""
        return f"{parent} {target.packages[NormalizedName(parent)].version} requires {requirement.requirement}{said}" \
            if parent in target.packages else f"{parent} requires {requirement.requirement}{said}"
    return child if parent == PROJECT else f"{parent} requires {child}"


def chains(target: WrittenTarget, name: NormalizedName, locate: Mapping[tuple[str, str, str], str],
           limit: int = MAX_CHAINS) -> list[tuple[str, ...]]:
    graph = _graph(target)
    if name not in graph or not nx.has_path(graph, PROJECT, name):
        return []
    out = []
    for path in nx.shortest_simple_paths(graph, PROJECT, name):
        out.append(tuple(_step(target, parent, child, locate) for parent, child in zip(path, path[1:], strict=False)))
        if len(out) >= limit:
            break
    return out


# -- why ----------------------------------------------------------------------------------------
def _targets(plan: WrittenPlan, names: Sequence[str]) -> list[WrittenTarget]:
    return [t for name, t in plan.targets.items() if not names or name in names]


def _direct(package: WrittenPackage) -> bool:
    return any(r.by == PROJECT for r in package.requirements)


def why(plan: WrittenPlan, package: str, targets: Sequence[str], locate: Mapping[tuple[str, str, str], str],
        origins: Mapping[tuple[str, str], str] | None = None) -> Answer:
    """`origins`: (target, package) -> where a package from no index comes from ("from git ...
    (source rule at pyproject.toml:12)"), read from the pyproject now; the commit is the plan's."""
    name = canonicalize_name(package)
    lines: list[str] = []
    data = []
    for target in _targets(plan, targets):
        planned = target.packages.get(name)
        if planned is None:
            lines.append(f"{target.name}: {name} is not in the plan (nothing on this target requires it)")
            data.append({"target": target.name, "package": name, "version": None, "chains": [], "held": None})
            continue
        found = chains(target, name, locate)
        lines.append(f"{target.name}: {name} {planned.version}")
        origin = (origins or {}).get((target.name, name))
        if origin:
            origin += f", commit {planned.commit}" if planned.commit else ""
            lines.append(f"  {origin}")
        lines += ["  required by: " + " -> ".join(chain) for chain in found]
        hold = target.holds.get(name)
        if hold is not None:
            lines.append(f"  not {hold.newest} (the newest {target.name} could install): {hold.reason}")
        elif _direct(planned) and not origin:
            lines.append(f"  the newest version {target.name} could install when the plan was made")
        data.append({"target": target.name, "package": name, "version": str(planned.version),
                     "chains": [list(c) for c in found],
                     "held": None if hold is None else {"newest": str(hold.newest), "cause": hold.cause,
                                                        "reason": hold.reason}})
    return Answer(tuple(lines), {"package": name, "targets": data})


# -- why-not ------------------------------------------------------------------------------------
def why_not(plan: WrittenPlan, package: str, version: str | None, targets: Sequence[str]) -> Answer:
    """Why `package` (at `version`, or at a newer version than planned) is not in each target's plan."""
    name = canonicalize_name(package)
    wanted = Version(version) if version is not None else None
    lines: list[str] = []
    data = []
    for target in _targets(plan, targets):
        head, reasons = _why_not_one(plan, target, name, wanted)
        lines.append(head)
        lines += [f"  {n}. {r}" for n, r in enumerate(reasons, 1)]
        planned = target.packages.get(name)
        data.append({"target": target.name, "package": name, "version": version,
                     "planned": None if planned is None else str(planned.version), "text": head, "reasons": reasons})
    return Answer(tuple(lines), {"package": name, "version": version, "targets": data})


def _why_not_one(plan: WrittenPlan, target: WrittenTarget, name: NormalizedName,
                 wanted: Version | None) -> tuple[str, list[str]]:
    planned = target.packages.get(name)
    label = f"{name} {wanted}" if wanted is not None else name
    if planned is None:
        return f"{target.name}: {label} is not in the plan: nothing on {target.name} requires {name}", []
    have = planned.version
    hold = target.holds.get(name)
    if wanted is not None and (wanted == have or (wanted.local is None and Version(have.public) == wanted)):
        return f"{target.name}: {name} {wanted} is in the plan ({name} {have})", []
    if wanted is None:  # a bare name: why not newer than planned
        if hold is not None:
            return f"{target.name}: {name} is at {have}, not at its newest {hold.newest}:", [hold.reason]
        if _direct(planned):
            return (f"{target.name}: {name} is at {have}, the newest version {target.name} could install when "
                    "the plan was made", [])
        return (f"{target.name}: {name} is at {have}; the requirements on it in the plan:",
                [_requirement_text(target, r) for r in planned.requirements]
                + ["(the plan records no newer version for it: run with --fresh to compare with the indexes)"])
    head = f"{target.name}: {name} {wanted} is not in the plan (it has {have}):"
    excluding = [r for r in planned.requirements if not r.specifier.contains(wanted, prereleases=True)]
    if excluding:
        return head, [f"{_requirement_text(target, r)}, which excludes {wanted}" for r in excluding]
    if wanted < have:
        if plan.resolution != "highest":
            return head, [f"resolution = \"{plan.resolution}\" decided {name}"]
        return head, [f"the plan takes a newer version, {have} (newest first)"]
    if hold is not None:
        if wanted > hold.newest:
            return head, [f"{name} {wanted} is not one {target.name} could install when the plan was made "
                          f"(the newest was {hold.newest}: not published then, no fitting file, or after the "
                          "exclude-newer cut-off)"]
        return head, [hold.reason]
    if _direct(planned):
        return head, [f"{name} {have} was the newest version {target.name} could install when the plan was made; "
                      f"{wanted} was not published then, has no file for {target.name}, or is after the "
                      "exclude-newer cut-off (run with --fresh to ask the indexes)"]
    return head, ["no requirement the plan records excludes it: the decisions taken before it, or its own "
                  "requirements, keep it out (run with --fresh for the minimal reason)"]


def _requirement_text(target: WrittenTarget, requirement) -> str:  # type: ignore[no-untyped-def]
    if requirement.by == PROJECT:
        if requirement.via == "packages":
            return f"the target installs {requirement.requirement}"
        via = "" if requirement.via in (None, "dependencies") else f" ({requirement.via})"
        return f"the project requires {requirement.requirement}{via}"
    parent = target.packages.get(NormalizedName(requirement.by))
    version = f" {parent.version}" if parent is not None else ""
    return f"{requirement.by}{version} requires {requirement.requirement}"


# -- tree ---------------------------------------------------------------------------------------
def tree(plan: WrittenPlan, targets: Sequence[str], invert: str | None = None, depth: int = 255,
         default_index: str | None = None) -> Answer:
    """Each target's requirement tree, as `uv tree` draws it (`(*)`: shown above already);
    `invert`: the packages requiring NAME, up to the project."""
    lines: list[str] = []
    data = []
    for target in _targets(plan, targets):
        graph = _graph(target)
        lines.append(f"{target.name}")
        seen: set[str] = set()
        rows: list[dict] = []
        if invert is not None:
            name = canonicalize_name(invert)
            if name not in target.packages:
                lines.append(f"  ({name} is not in the plan of {target.name})")
                data.append({"target": target.name, "tree": []})
                continue
            roots = [name]
            children = lambda node: sorted(p for p in graph.predecessors(node))  # noqa: E731
        else:
            roots = sorted(graph.successors(PROJECT))
            children = lambda node: sorted(graph.successors(node))  # noqa: E731
        for position, root in enumerate(roots):
            _draw(target, root, children, "", position == len(roots) - 1, 1, depth, seen, lines, rows,
                  default_index, top=True)
        if any(row.get("repeated") for row in rows):
            lines.append("(*) Package tree already displayed")
        data.append({"target": target.name, "tree": rows})
    return Answer(tuple(lines), {"targets": data})


def _label(target: WrittenTarget, node: str, default_index: str | None) -> str:
    if node == PROJECT:
        return "(the project)"
    package = target.packages[NormalizedName(node)]
    extras = f"[{','.join(package.extras)}]" if package.extras else ""
    index = "" if default_index is None or package.index == default_index else f" [{package.index}]"
    return f"{package.name}{extras} v{package.version}{index}"


def _draw(target, node, children, prefix, last, level, depth, seen, lines, rows, default_index, top=False) -> None:  # type: ignore[no-untyped-def]
    branch = "└── " if last else "├── "
    kids = [] if level >= depth else children(node)
    repeated = node in seen and bool(kids)
    lines.append(f"{prefix}{branch}{_label(target, node, default_index)}" + (" (*)" if repeated else ""))
    rows.append({"package": node, "level": level, "repeated": repeated})
    if repeated:
        return
    seen.add(node)
    extension = "    " if last else "│   "
    for position, kid in enumerate(kids):
        _draw(target, kid, children, prefix + extension, position == len(kids) - 1, level + 1, depth, seen, lines,
              rows, default_index)
