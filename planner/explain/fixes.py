"""Fixes: minimal correction sets over the facts a user can change, as concrete, checked edits.

Correction sets are found breadth first over the relaxable facts (user requirements, pins,
constraints, overrides, source rules, the pre-release policy; never what the indexes publish):
a set is a correction set when the explaining formula has a model with those facts switched
off; its children add one relaxable fact of the core that blocks it (a hitting-set tree), so
the smallest sets come first and each is subset-minimal. Each set then becomes edits of the
project (`Change`s) and is **verified**: the target is solved again, from scratch, on the edited
project; only edits that yield a plan are shown, with what the plan then takes.

Besides correction sets, facts about artifacts suggest target-level edits, verified the same
way: pinning a yanked version, another Python for the target, dropping the target.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from planner.encode.formula import Fact, FactKind
from planner.errors import Location, PlannerError
from planner.plan.model import Change, Fix, Plan
from planner.index.models import ArtifactKind
from planner.project.model import Dependency, DependencyMetadata, IndexSource, PrereleaseMode, Project, TargetSpec, UrlSource
from planner.project.references import DistributionKind
from planner.solve.provider import Provider
from planner.solve.target_solver import FactKey, TargetSolver, bare
from planner.targets.model import Accelerator, Target
from planner.targets.platforms import OperatingSystem
from planner.targets.pythons import CPYTHON_RELEASES
from planner.targets.routing import route
from planner.targets.runtimes import Runtime
from planner.targets.tags import tags_marker

MAX_FIXES = 4
MAX_SET_SIZE = 2
MAX_NODES = 40  # correction-set candidates tried


@dataclass(frozen=True)
class Edit:
    """A candidate fix before verification: the changes and the project/target they produce."""

    changes: tuple[Change, ...]
    project: Project
    target: Target | None  # None: the target is dropped
    subject: NormalizedName | None = None  # the package whose planned version the result names


def correction_sets(solver: TargetSolver, first_core: Sequence[Fact], limit: int = MAX_FIXES,
                    max_size: int = MAX_SET_SIZE, deadline: float = math.inf) -> list[frozenset[FactKey]]:
    """Subset-minimal sets of relaxable facts whose removal gives the target a model."""
    formula = solver.formula
    found: list[frozenset[FactKey]] = []
    queue: list[tuple[frozenset[FactKey], tuple[FactKey, ...]]] = [
        (frozenset(), tuple(f.key for f in first_core if f.relaxable))]
    seen: set[frozenset[FactKey]] = set()
    nodes = 0
    while queue and len(found) < limit and nodes < MAX_NODES and time.monotonic() < deadline:
        relaxed, blocking = queue.pop(0)
        if len(relaxed) >= max_size:
            continue
        for key in blocking:
            child = relaxed | {key}
            if child in seen or any(done <= child for done in found):
                continue
            seen.add(child)
            nodes += 1
            if solver.solve(facts=lambda k, child=child: k not in child):  # type: ignore[misc]
                found.append(child)
                if len(found) >= limit:
                    break
                continue
            core = solver.core()
            queue.append((child, tuple(k for k in formula.facts if k in core and formula.facts[k].relaxable)))
    return found


# -- concrete edits ---------------------------------------------------------------------------
def _where(location: Location | None) -> str:
    if location is None:
        return ""
    name = location.shown or location.file.name
    return f" ({name}:{location.line})" if location.line is not None else f" ({name})"


def _same(dependency: Dependency, fact: Fact) -> bool:
    return str(dependency.requirement) == fact.key[2] and str(dependency.origin) == fact.key[3]


def _edit_requirements(project: Project, fact: Fact, new: Requirement | None) -> Project:
    def edit(items: tuple[Dependency, ...]) -> tuple[Dependency, ...]:
        out = []
        for dependency in items:
            if _same(dependency, fact):
                if new is None:
                    continue
                dependency = Dependency(new, dependency.origin)
            out.append(dependency)
        return tuple(out)

    return replace(
        project,
        dependencies=edit(project.dependencies),
        optional_dependencies={k: edit(v) for k, v in project.optional_dependencies.items()},
        dependency_groups={k: edit(v) for k, v in project.dependency_groups.items()},
    )


def _unpinned(requirement: Requirement) -> Requirement:
    copy = Requirement(str(requirement))
    copy.specifier = SpecifierSet()
    return copy


def _original_requirement(project: Project, fact: Fact) -> Requirement | None:
    for dependency in (*project.dependencies, *[d for v in project.optional_dependencies.values() for d in v],
                       *[d for v in project.dependency_groups.values() for d in v]):
        if _same(dependency, fact):
            return dependency.requirement
    return None


def _restricted_to_its_wheel(project: Project, target: Target,
                             requirement: Requirement) -> tuple[str, Requirement] | None:
    """A marker for the machines its package's wheel installs on, and `requirement` with it, when
    the package comes from a wheel at a URL that does not fit `target` (the marker fix)."""
    try:
        decided = route(project, target, requirement.name)
    except PlannerError:
        return None
    source = decided.direct
    if not isinstance(source, UrlSource) or source.reference.kind is not DistributionKind.WHEEL:
        return None
    tags = parse_wheel_filename(source.reference.filename)[3]
    marker = tags_marker(tags)
    if marker is None or any(tag in target.tag_ranks for tag in tags):
        return None
    restricted = Requirement(str(requirement))
    restricted.marker = Marker(f"({requirement.marker}) and ({marker})" if requirement.marker else marker)
    return marker, restricted


def _fact_edits(project: Project, target: Target, fact: Fact,
                marker: str | None = None) -> list[tuple[Change, Callable[[Project], Project]]]:
    """The ways to relax one fact, most conservative first. `marker`: the target fails for want
    of a file that fits it, and this marker keeps a requirement off such targets (an edit too)."""
    where = _where(fact.location)
    kind = fact.kind
    if kind is FactKind.REQUIREMENT:
        original = _original_requirement(project, fact)
        if original is None:
            return []
        edits: list[tuple[Change, Callable[[Project], Project]]] = []
        restricted = _restricted_to_its_wheel(project, target, original)
        if restricted is not None:
            wheel_marker, edited = restricted
            edits.append((Change("restrict-requirement", f"install {fact.requirement} only where its wheel fits: add "
                                 f"the marker \"{wheel_marker}\" to the requirement{where}", fact.location),
                          lambda p: _edit_requirements(p, fact, edited)))
        if original.specifier:
            loose = _unpinned(original)
            edits.append((Change("relax-requirement", f"relax {fact.requirement}{where}", fact.location),
                          lambda p: _edit_requirements(p, fact, loose)))
        if marker is not None:
            marked = _with_marker(original, marker)
            edits.append((Change("add-marker", f"add the marker `; {marker}` to {fact.requirement}{where}",
                                 fact.location), lambda p: _edit_requirements(p, fact, marked)))
        in_what = "the dependencies" if fact.via == "dependencies" else str(fact.via)
        edits.append((Change("remove-requirement", f"drop {fact.requirement} from {in_what}{where}", fact.location),
                      lambda p: _edit_requirements(p, fact, None)))
        return edits
    if kind is FactKind.CONSTRAINT:
        return [(Change("remove-constraint", f"remove the constraint {fact.requirement}{where}", fact.location),
                 lambda p: replace(p, uv=replace(p.uv, constraints=tuple(
                     d for d in p.uv.constraints if str(d.origin) != fact.key[2]))))]
    if kind is FactKind.OVERRIDE:
        return [(Change("remove-override", f"remove the override {fact.requirement}{where}", fact.location),
                 lambda p: replace(p, uv=replace(p.uv, overrides=tuple(
                     d for d in p.uv.overrides if str(d.origin) != fact.key[2]))))]
    if kind is FactKind.SOURCE:
        name = canonicalize_name(str(fact.package))

        def unroute(p: Project) -> Project:
            kept = tuple(s for s in p.uv.sources.get(name, ()) if str(s.origin) != fact.key[2])
            sources = {k: v for k, v in p.uv.sources.items() if k != name}
            if kept:
                sources[name] = kept
            return replace(p, uv=replace(p.uv, sources=sources))

        fallback = " > ".join(route(unroute(project), target, name).index_names)
        rule = f"the source rule at {where.strip(' ()')}" if where else "its source rule"
        text = f"route {name} on {target.name} to {fallback} (narrow {rule} so it does not apply there)"
        return [(Change("route-to-default", text, fact.location), unroute)]
    if kind is FactKind.PRERELEASE:
        location = fact.location or project.locate(("tool", "uv"))
        return [(Change("allow-prereleases", f'set prerelease = "allow" in [tool.uv]{_where(fact.location)}', location),
                 lambda p: replace(p, uv=replace(p.uv, prerelease=PrereleaseMode.ALLOW)))]
    return []


def _excluding_marker(project: Project, target: Target, bound: str) -> str | None:
    """The shortest marker false on `target` and the project's targets like it, true on the others:
    alike in platform (`bound` "platform": no wheel for it) or in Python (`bound` "python": wheels
    only for other Pythons)."""
    from planner.targets.resolve import resolve_targets
    from planner.targets.separate import separating_marker

    try:
        others = [t for t in resolve_targets(project).targets if t.name != target.name]
    except PlannerError:
        others = []
    if bound == "python":
        alike = [t for t in others if t.python.minor_tuple == target.python.minor_tuple]
    else:
        alike = [t for t in others if t.platform == target.platform]
    keep = [t for t in others if t not in alike]
    return separating_marker(keep, [target, *alike])


def _with_marker(requirement: Requirement, marker: str) -> Requirement:
    copy = Requirement(str(requirement))
    copy.marker = None
    combined = f"({requirement.marker}) and {marker}" if requirement.marker is not None else marker
    # A space before ';': after a URL, PEP 508 (and packaging) require one.
    return Requirement(f"{copy} ; {combined}")


def _subject(facts: Iterable[Fact]) -> NormalizedName | None:
    for fact in facts:
        if fact.package:
            return canonicalize_name(fact.package)
    return None


def _edits_for(project: Project, target: Target, facts: Sequence[Fact], marker: str | None = None) -> list[Edit]:
    """Every combination of one edit per fact (usually one fact, so a short list)."""
    combos: list[tuple[tuple[Change, ...], Project]] = [((), project)]
    for fact in facts:
        options = _fact_edits(project, target, fact, marker)
        if not options:
            return []
        combos = [(changes + (change,), apply(edited)) for changes, edited in combos for change, apply in options]
    subject = _subject(facts)
    out, seen = [], set()
    for changes, edited in combos:
        texts = tuple(c.text for c in changes)
        if texts not in seen:
            seen.add(texts)
            out.append(Edit(changes, edited, target, subject))
    return out


def target_edits(project: Project, target: Target, facts: Sequence[Fact]) -> list[Edit]:
    """Edits suggested by facts about artifacts: pin a yanked version, another Python, no target."""
    out: list[Edit] = []
    for fact in facts:
        if fact.kind is FactKind.YANKED and fact.package and fact.version:
            pin = Dependency(Requirement(f"{fact.package}=={fact.version}"),
                             project.locate(("tool", "uv", "constraint-dependencies")))
            edited = replace(project, uv=replace(project.uv, constraints=(*project.uv.constraints, pin)))
            text = f"accept the yanked {fact.package} {fact.version}: add \"{fact.package}=={fact.version}\" to constraint-dependencies"
            out.append(Edit((Change("pin-yanked", text, pin.origin),), edited, target, canonicalize_name(fact.package)))
    artifacts = [f for f in facts if f.kind is FactKind.ARTIFACT]
    spec = next((s for s in project.planner.targets if s.name == target.name), None)
    out.extend(_floor_edits(project, target, spec, artifacts))
    out.extend(_accelerator_edits(project, target, spec, facts))
    if artifacts and spec is not None:
        for minor in _pythons_to_try(project, target, artifacts):
            alone = replace(project, planner=replace(project.planner, targets=(replace(spec, python=minor),)))
            try:
                from planner.targets.resolve import resolve_targets

                moved = resolve_targets(alone).by_name(target.name)  # only this target is made again
            except (PlannerError, KeyError):
                continue
            change = Change("set-python", f"set python = \"{minor}\" for target '{target.name}'{_where(spec.locate('python'))}",
                            spec.locate("python"))
            out.append(Edit((change,), project, moved, _subject(artifacts)))
        if len(project.planner.targets) > 1:
            change = Change("drop-target", f"drop target '{target.name}'{_where(spec.origin)} (no build fits it)", spec.origin)
            out.append(Edit((change,), project, None))
    return out


def build_edits(solver: TargetSolver, project: Project, target: Target, facts: Sequence[Fact]) -> list[Edit]:
    """Edits for versions that cannot be used because their metadata cannot be had (a build
    that fails or is forbidden, bad metadata): supply the metadata in the pyproject
    (`[[tool.uv.dependency-metadata]]`, as uv reads it), or take the newest older version that
    has a wheel for the target (no build needed)."""
    out: list[Edit] = []
    for fact in facts:
        if fact.kind is not FactKind.UNUSABLE or not fact.package or not fact.version:
            continue
        name = canonicalize_name(fact.package)
        version = Version(fact.version)
        known = version.local != "dynamic"  # a source tree's dynamic version: no version to name
        where = project.locate(("tool", "uv"))
        given = DependencyMetadata(name=name, version=version if known else None, origin=where)
        build = project.uv.build
        edited = replace(project, uv=replace(project.uv, build=replace(
            build, dependency_metadata=(*build.dependency_metadata, given))))
        pinned_text = f", version = \"{version}\"" if known else ""
        text = (f"declare the metadata of {name}{f' {version}' if known else ''} yourself, so it needs no build: "
                f"[[tool.uv.dependency-metadata]] name = \"{name}\"{pinned_text}, "
                "requires-dist = [its dependencies] in pyproject.toml")
        out.append(Edit((Change("dependency-metadata", text, where),), edited, target, name))
        older = _older_with_wheel(solver, name, version)
        if older is None:
            continue
        pins = [f for f in facts if f.kind is FactKind.REQUIREMENT and f.package
                and canonicalize_name(f.package) == name]
        original = _original_requirement(project, pins[0]) if pins else None
        if pins and original is not None:
            pinned = Requirement(str(original))
            pinned.specifier = SpecifierSet(f"=={older}")
            changed = _edit_requirements(project, pins[0], pinned)
            text = (f"take {name} {older}, the newest older version with a wheel for {target.name}: require "
                    f"\"{pinned}\" instead of {pins[0].requirement}{_where(pins[0].location)}")
            out.append(Edit((Change("older-with-wheel", text, pins[0].location),), changed, target, name))
        else:
            pin = Dependency(Requirement(f"{name}=={older}"), project.locate(("tool", "uv", "constraint-dependencies")))
            changed = replace(project, uv=replace(project.uv, constraints=(*project.uv.constraints, pin)))
            text = (f"take {name} {older}, the newest older version with a wheel for {target.name}: add "
                    f"\"{name}=={older}\" to constraint-dependencies")
            out.append(Edit((Change("older-with-wheel", text, pin.origin),), changed, target, name))
    return out


def _older_with_wheel(solver: TargetSolver, name: NormalizedName, version: Version) -> Version | None:
    package = solver.packages.get(name)
    if package is None:
        return None
    older = [c.version for c in package.admissible_candidates()
             if c.version < version and c.artifact.kind is ArtifactKind.WHEEL]
    return max(older) if older else None


_MANYLINUX_TAG = re.compile(r"manylinux_(\d+)_(\d+)_([a-z0-9_]+)")
_MACOS_TAG = re.compile(r"macosx_(\d+)_(\d+)_([a-z0-9_]+)")


def _floor_edits(project: Project, target: Target, spec: TargetSpec | None, artifacts: Sequence[Fact]) -> list[Edit]:
    """Raise the target's `manylinux` / `macos` floor to what a newer wheel is built for: the
    lowest floor above the target's that some version's wheel for its architecture needs."""
    from planner.targets.resolve import with_os_floor

    os_kind = target.platform.os
    if os_kind is OperatingSystem.LINUX:
        pattern, key, arches = _MANYLINUX_TAG, "manylinux", {target.platform.arch}
    elif os_kind is OperatingSystem.MACOS:
        pattern, key, arches = _MACOS_TAG, "macos", {target.platform.arch, "universal2"}
    else:
        return []
    current = target.os_floor or (0, 0)
    floors = sorted({(int(a), int(b)) for fact in artifacts for a, b, arch in pattern.findall(fact.text)
                     if arch in arches and (int(a), int(b)) > current})
    if not floors:
        return []
    floor = floors[0]
    value = f"{floor[0]}.{floor[1]}"
    raised = with_os_floor(target, floor)
    what = "glibc" if key == "manylinux" else "macOS"
    if spec is not None:
        text = (f"set {key} = \"{value}\" for target '{target.name}'{_where(spec.locate(key))} "
                f"(the wheel it needs is built for {what} {value})")
        change = Change("raise-os-floor", text, spec.locate(key))
    else:
        text = (f"declare target '{target.name}' under [tool.planner.targets] with {key} = \"{value}\" "
                f"(the wheel it needs is built for {what} {value})")
        change = Change("raise-os-floor", text, None)
    return [Edit((change,), project, raised, _subject(artifacts))]


def _accelerator_edits(project: Project, target: Target, spec: TargetSpec | None, facts: Sequence[Fact]) -> list[Edit]:
    """For a build whose runtime the stated accelerator cannot run: route the package that brings
    it to an index of the project that serves the target's accelerator; state the accelerator the
    runtime needs (a declared target)."""
    from planner.targets.resolve import with_accelerator
    from planner.targets.runtimes import accelerator_in_name, runtime_of, runtime_problem

    stated = target.accelerator
    mismatches = [f for f in facts if f.kind is FactKind.ACCELERATOR and f.package and f.version]
    if stated is None or not mismatches:
        return []
    out: list[Edit] = []
    # Route: each package that requires it, from the project down, to a matching index.
    matching = []
    for index in project.indexes:
        said = accelerator_in_name(index.name) or accelerator_in_name(index.url)
        if said is not None and said.kind is stated.kind and (
                said.version is None or runtime_problem(stated, _runtime_for(said)) is None):
            matching.append(index)
    chain = [f.package for f in facts if f.kind is FactKind.REQUIREMENT and f.package]
    chain += [f.parent for f in facts if f.kind is FactKind.DEPENDENCY and f.parent and f.parent != "<project>"]
    for package in dict.fromkeys(canonicalize_name(str(p)) for p in chain):
        for index in matching:
            out.append(_route_edit(project, target, package, index.name))
    # State the runtime's accelerator (declared targets: the user wrote the one they have).
    if spec is not None:
        first = mismatches[0]
        runtime = runtime_of(str(first.package), Version(str(first.version)))
        if runtime is not None and runtime.is_gpu:
            wanted = runtime.accelerator()
            moved = with_accelerator(target, wanted)
            if moved.accelerator is not None and moved.accelerator.runs_on(target.platform.os):
                text = (f"set accelerator = \"{wanted}\" for target '{target.name}'{_where(spec.locate('accelerator'))} "
                        f"(what {first.package} {first.version} needs)")
                subject = canonicalize_name(str(chain[0] if chain else first.package))
                out.append(Edit((Change("set-accelerator", text, spec.locate("accelerator")),), project, moved, subject))
    return out


def _runtime_for(accelerator: Accelerator) -> Runtime:
    from planner.targets.runtimes import Runtime, parse_version

    major, minor = parse_version(accelerator.version)
    return Runtime(accelerator.kind, major, minor, "index")


def _route_edit(project: Project, target: Target, package: NormalizedName, index: str) -> Edit:
    """Route `package` to `index` on `target`: a new source entry (conditioned on the target's
    first extra or group when it has one), in place of the entries that apply there now."""
    from planner.targets.routing import source_applies

    condition: dict[str, str] = {}
    if target.extras:
        condition = {"extra": target.extras[0]}
    elif target.groups:
        condition = {"group": target.groups[0]}
    new = IndexSource(package, index, extra=condition.get("extra"), group=condition.get("group"))  # type: ignore[arg-type]
    current = project.uv.sources.get(package, ())
    replaced = [s for s in current if source_applies(s, target)]
    sources = dict(project.uv.sources)
    sources[package] = (new, *[s for s in current if s not in replaced])
    edited = replace(project, uv=replace(project.uv, sources=sources))
    table = ", ".join([f'index = "{index}"'] + [f'{k} = "{v}"' for k, v in condition.items()])
    instead = f", in place of the rule at {_where(replaced[0].origin).strip(' ()')}" if replaced and replaced[0].origin else ""
    text = f"route {package} to index '{index}' on target '{target.name}': add {{ {table} }} to [tool.uv.sources] {package}{instead}"
    return Edit((Change("route-to-index", text, replaced[0].origin if replaced else None),), edited, target, package)


def _as_pin(edit: Edit, fix: Fix, provider: Provider) -> Fix | None:
    """A relaxed requirement pinned instead to the version the relaxed plan takes (the newest
    whose runtime the accelerator runs): `torch==2.8.0` rather than `torch`. Checked again."""
    if edit.subject is None or edit.target is None or not fix.result:
        return None
    change = edit.changes[0]
    loose = [d for d in _all_dependencies(edit.project) if d.origin == change.location and d.name == edit.subject]
    version = fix.result.rpartition(f"{edit.subject} ")[2].split(" from ")[0]
    if len(loose) != 1 or not version:
        return None
    pinned = Requirement(str(loose[0].requirement))
    pinned.specifier = SpecifierSet(f"=={version}")
    edited = replace(edit.project, **_replaced_dependency(edit.project, loose[0], pinned))
    where = _where(change.location)
    text = f"pin {bare(pinned)}{where} (the newest {pinned.name} whose runtime accelerator {edit.target.accelerator} runs)"
    pinned_fix = verify(Edit((Change("pin-requirement", text, change.location),), edited, edit.target, edit.subject),
                        provider)
    return Fix(pinned_fix.changes, "", applied=pinned_fix.applied) if pinned_fix is not None else None


def _all_dependencies(project: Project) -> list[Dependency]:
    return [*project.dependencies, *[d for v in project.optional_dependencies.values() for d in v],
            *[d for v in project.dependency_groups.values() for d in v]]


def _replaced_dependency(project: Project, old: Dependency, new: Requirement) -> dict[str, object]:
    def edit(items: tuple[Dependency, ...]) -> tuple[Dependency, ...]:
        return tuple(Dependency(new, d.origin) if d is old else d for d in items)

    return {"dependencies": edit(project.dependencies),
            "optional_dependencies": {k: edit(v) for k, v in project.optional_dependencies.items()},
            "dependency_groups": {k: edit(v) for k, v in project.dependency_groups.items()}}


def _pythons_to_try(project: Project, target: Target, artifacts: Sequence[Fact]) -> list[str]:
    minors: list[tuple[int, int]] = []
    for fact in artifacts:
        for major, minor in re.findall(r"cp(\d)(\d+)", fact.text.split("exist only for", 1)[-1]
                                       if "exist only for" in fact.text else ""):
            minors.append((int(major), int(minor)))
        match = re.search(r"requires-python (\S+)", fact.text)
        if match:
            try:
                spec = SpecifierSet(match.group(1))
            except ValueError:
                continue
            minors.extend(m for m in CPYTHON_RELEASES if spec.contains(f"{m[0]}.{m[1]}.0", prereleases=True))
    current = target.python.minor_tuple
    ordered = sorted(set(minors) - {current}, key=lambda m: (abs(m[1] - current[1]), m))
    return [f"{major}.{minor}" for major, minor in ordered[:1]]


def verify(edit: Edit, provider: Provider) -> Fix | None:
    """Solve the target again on the edited project; the fix, with what the plan takes, or None."""
    if edit.target is None:
        return Fix(edit.changes, applied=(edit.project, None))
    from planner.solve.objective import solve_plan

    try:
        plan: Plan = solve_plan(edit.project, [edit.target], provider, "per-target", best_effort=False)
    except PlannerError:
        return None
    if plan.unsatisfiable:
        return None
    result = ""
    planned = plan.targets[0].get(edit.subject) if edit.subject is not None else None
    if planned is not None:
        source = "" if planned.index == edit.project.default_index.name else f" from {planned.index}"
        result = f"the plan then takes {planned.name} {planned.version}{source}"
    return Fix(edit.changes, result, applied=(edit.project, edit.target))


def fixes(solver: TargetSolver, project: Project, target: Target, provider: Provider, core: Sequence[Fact],
          limit: int = MAX_FIXES, deadline: float = math.inf) -> tuple[Fix, ...]:
    """Verified fixes, as many as `limit` and the time before `deadline` allow."""
    out: list[Fix] = []
    seen: set[str] = set()
    sets = correction_sets(solver, core, limit=limit, deadline=deadline)
    candidates: list[Edit] = []
    artifacts = [fact for fact in core if fact.kind is FactKind.ARTIFACT]
    platform_bound = None
    accelerator_bound = any(fact.kind is FactKind.ACCELERATOR for fact in core)
    if artifacts and not accelerator_bound:  # wheels only for other Pythons (or Requires-Python): the Python
        by_python = all("exist only for" in f.text or "requires-python" in f.text for f in artifacts)
        platform_bound = "python" if by_python else "platform"
    marker = _excluding_marker(project, target, platform_bound) if platform_bound and sets else None
    for keys in sets:
        facts = [solver.formula.facts[k] for k in solver.formula.facts if k in keys]
        candidates.extend(_edits_for(project, target, facts, marker))
    candidates.extend(build_edits(solver, project, target, core))
    gentle = {"restrict-requirement": 0, "relax-requirement": 0, "route-to-default": 0, "route-to-index": 0, "allow-prereleases": 0,
              "older-with-wheel": 0, "dependency-metadata": 1,
              "pin-yanked": 1, "add-marker": 1, "raise-os-floor": 1, "set-accelerator": 1}
    suggested = target_edits(project, target, core)
    candidates += [e for e in suggested if e.changes[0].kind in gentle]  # ranked with the others
    candidates.sort(key=lambda edit: (len(edit.changes), max(gentle.get(c.kind, 2) for c in edit.changes)))
    candidates.extend(e for e in suggested if e.changes[0].kind not in gentle)  # another Python, no target
    verified_sets: set[tuple[str, ...]] = set()
    accelerator_core = any(fact.kind is FactKind.ACCELERATOR for fact in core)
    for edit in candidates:
        if len(out) >= limit or time.monotonic() > deadline:
            break
        locations = tuple(str(c.location) for c in edit.changes)
        if locations in verified_sets and edit.changes[0].kind == "remove-requirement":
            continue  # the same facts were already fixed by a gentler edit
        fix = verify(edit, provider)
        if fix is not None and accelerator_core and edit.changes[0].kind == "relax-requirement":
            fix = _as_pin(edit, fix, provider) or fix  # "pin torch==2.8.0": the newest that fits
        if fix is None or fix.text in seen:
            continue
        seen.add(fix.text)
        verified_sets.add(locations)
        out.append(fix)
    return tuple(out)
