"""Make a project's targets concrete: the declared ones, or derived defaults (docs/targets.md).

Derivation rule when `[tool.planner.targets]` is absent:
- platforms `linux-x86_64` and `macos-arm64`, plus every platform an `environments` or
  `required-environments` marker names, minus those `environments` excludes;
- Pythons, per platform: the lowest and the newest stable CPython that `requires-python` admits
  (planner/targets/pythons.py holds the releases), plus any `environments` names, each inside
  `environments`;
- per platform and Python, one target per maximal conflict-free combination of the extras and
  groups that platform can run (an extra named for, or routed to, CUDA or ROCm is not derived on
  macOS), named `<platform>` when nothing conflicts, else `<platform>-<conflicting members it
  activates>`, with `-py<XY>` for every Python but the lowest;
- the accelerator a target states comes from an index its extras route to, or their names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from planner.errors import Diagnostic, InputError, Location
from planner.project.model import ConflictItem, ConflictKind, DockerSettings, Project, TargetSpec
from planner.project.reader import did_you_mean
from planner.targets.model import Accelerator, AcceleratorKind, PythonVersion, Target, marker_environment
from planner.targets.platforms import DEFAULT_PLATFORMS, PLATFORMS, OperatingSystem, Platform
from planner.targets.pythons import CPYTHON_RELEASES, NEWEST_STABLE, release_date
from planner.targets.runtimes import accelerator_in_name
from planner.targets.tags import wheel_tags

# CPython minors considered when deriving a target's Python (lowest admitted wins).
KNOWN_PYTHON_MINORS = tuple((3, minor) for minor in range(8, 21))
FALLBACK_PYTHON = PythonVersion(3, 12)
_GPU_WORDS = ("gpu",)


@dataclass(frozen=True)
class ResolvedTargets:
    targets: tuple[Target, ...]
    derived: bool
    warnings: tuple[Diagnostic, ...] = ()
    notes: tuple[str, ...] = ()  # how the default rule applied to this project (derived targets)

    def __iter__(self):
        return iter(self.targets)

    def __len__(self) -> int:
        return len(self.targets)

    def by_name(self, name: str) -> Target:
        for target in self.targets:
            if target.name == name:
                return target
        raise KeyError(name)


def resolve_targets(project: Project) -> ResolvedTargets:
    if project.planner.targets:
        warnings: list[Diagnostic] = []
        targets = tuple(_declared_target(project, spec, warnings) for spec in project.planner.targets)
        return ResolvedTargets(targets, derived=False, warnings=tuple(warnings))
    targets, notes = _derived_targets(project)
    return ResolvedTargets(targets, derived=True, notes=notes)


# -- Python versions --------------------------------------------------------------------------
def lowest_admitted_micro(specifiers: SpecifierSet | None, major: int, minor: int) -> int | None:
    """The lowest `micro` such that `major.minor.micro` satisfies `specifiers`, if any does."""
    if specifiers is None:
        return 0
    for micro in range(0, 100):
        if specifiers.contains(Version(f"{major}.{minor}.{micro}"), prereleases=True):
            return micro
    return None


def default_python(project: Project) -> PythonVersion:
    if project.requires_python is None:
        return FALLBACK_PYTHON
    for major, minor in KNOWN_PYTHON_MINORS:
        micro = lowest_admitted_micro(project.requires_python, major, minor)
        if micro is not None:
            return PythonVersion(major, minor, micro)
    raise InputError(
        f"requires-python '{project.requires_python}' admits no CPython from "
        f"3.{KNOWN_PYTHON_MINORS[0][1]} to 3.{KNOWN_PYTHON_MINORS[-1][1]}",
        location=project.locate(("project", "requires-python")),
        fix='widen it, e.g. requires-python = ">=3.11"',
    )


# -- declared targets -------------------------------------------------------------------------
def _declared_target(project: Project, spec: TargetSpec, warnings: list[Diagnostic]) -> Target:
    platform = PLATFORMS.get(spec.platform)
    if platform is None:
        hint = did_you_mean(spec.platform, PLATFORMS)
        raise InputError(
            f"target '{spec.name}': unknown platform '{spec.platform}'",
            location=spec.locate("platform"),
            fix=(hint + " " if hint else "") + f"use one of: {', '.join(PLATFORMS)}",
        )
    python = _declared_python(project, spec)
    accelerator = _declared_accelerator(spec, platform)
    os_floor = _declared_os_floor(spec, platform)
    packages = spec.packages if spec.packages is not None else default_packages(project)
    _check_conflicts(project, spec.name, spec.extras, spec.groups, spec.locate, packages)
    if spec.docker.origin is not None and platform.os is not OperatingSystem.LINUX:
        warnings.append(Diagnostic(
            f"target '{spec.name}' runs on {platform.name}; no container runs there, so its docker "
            "settings are ignored", spec.docker.origin))
    target = _make_target(spec.name, platform, python, accelerator, spec.extras, spec.groups,
                          os_floor, spec.docker, derived=False, origin=spec.origin, packages=packages)
    if accelerator is not None:
        target = replace(target, accelerator_origin=spec.locate("accelerator"))
    _check_environments(project, target, spec.locate("platform"))
    return target


def _declared_python(project: Project, spec: TargetSpec) -> PythonVersion:
    if spec.python is None:
        return default_python(project)
    try:
        python = PythonVersion.parse(spec.python)
    except ValueError as exc:
        raise InputError(f"target '{spec.name}': {exc}", location=spec.locate("python"),
                         fix='write python = "3.11"') from None
    if python.major != 3 or (python.major, python.minor) < (3, 8):
        raise InputError(f"target '{spec.name}': Python {python} is not supported", location=spec.locate("python"),
                         fix='use CPython 3.8 or newer, e.g. python = "3.11"')
    if spec.python.count(".") == 2:
        admitted = project.requires_python is None or project.requires_python.contains(
            Version(python.full), prereleases=True)
    else:
        micro = lowest_admitted_micro(project.requires_python, python.major, python.minor)
        admitted = micro is not None
        if micro:
            python = PythonVersion(python.major, python.minor, micro)
    if not admitted:
        raise InputError(
            f"target '{spec.name}': Python {spec.python} is outside the project's requires-python "
            f"'{project.requires_python}'",
            location=spec.locate("python"),
            fix=f"use a Python that '{project.requires_python}' admits, or widen project.requires-python",
        )
    return python


def _declared_accelerator(spec: TargetSpec, platform: Platform) -> Accelerator | None:
    if spec.accelerator is None:
        return None  # states none: the plan may carry any runtime (and the summary says which)
    try:
        accelerator = Accelerator.parse(spec.accelerator)
    except ValueError:
        raise InputError(
            f"target '{spec.name}': unknown accelerator '{spec.accelerator}'",
            location=spec.locate("accelerator"),
            fix='use "cpu", "cuda<version>" (e.g. "cuda12.4"), "rocm<version>", "xpu" or "mps"',
        ) from None
    if not accelerator.runs_on(platform.os):
        raise InputError(
            f"target '{spec.name}': accelerator '{accelerator}' does not exist on {platform.name}",
            location=spec.locate("accelerator"),
            fix="use \"mps\" or \"cpu\" on macOS" if platform.os is OperatingSystem.MACOS else 'use "cpu" or a GPU of that OS',
        )
    return accelerator


def _declared_os_floor(spec: TargetSpec, platform: Platform) -> tuple[int, int] | None:
    for key, os in (("manylinux", OperatingSystem.LINUX), ("macos", OperatingSystem.MACOS)):
        value = getattr(spec, key)
        if value is not None and platform.os is not os:
            raise InputError(f"target '{spec.name}': '{key}' applies to {os.value} platforms, not {platform.name}",
                             location=spec.locate(key), fix=f"remove {key} from this target")
    if spec.manylinux is not None:
        # Bounded: one wheel tag per glibc minor from this one down to 2.5 (or 2.17).
        match = re.fullmatch(r"(?:manylinux_?)?(\d{1,3})[._](\d{1,3})", spec.manylinux.strip())
        if not match or int(match.group(1)) != 2 or not 5 <= int(match.group(2)) <= 99:
            raise InputError(f"target '{spec.name}': '{spec.manylinux}' is not a glibc version",
                             location=spec.locate("manylinux"),
                             fix='give the oldest glibc the target runs, e.g. manylinux = "2.28"')
        return (int(match.group(1)), int(match.group(2)))
    if spec.macos is not None:
        # Bounded: packaging lists a tag per macOS minor (10.x) or major (11+) below this one.
        match = re.fullmatch(r"(\d{1,3})(?:\.(\d{1,3}))?", spec.macos.strip())
        if not match or not 10 <= int(match.group(1)) <= 30 or int(match.group(2) or 0) > 99:
            raise InputError(f"target '{spec.name}': '{spec.macos}' is not a macOS version",
                             location=spec.locate("macos"), fix='give the oldest macOS the target runs, e.g. macos = "13.0"')
        major, minor = int(match.group(1)), int(match.group(2) or 0)
        if platform.arch == "arm64" and major < 11:
            raise InputError(f"target '{spec.name}': macOS on arm64 starts at 11.0", location=spec.locate("macos"),
                             fix='use macos = "11.0" or later')
        return (major, minor)
    return platform.default_os_floor


def default_packages(project: Project) -> tuple[NormalizedName, ...]:
    """The local packages a target installs unless it says (`packages`): the root project, or
    every workspace member under a virtual root (uv: `uv sync` / `uv sync --all-packages`)."""
    if project.virtual:
        return tuple(member.name for member in project.members)
    return (project.name,)


def _check_conflicts(project: Project, name: str, extras: Iterable[str], groups: Iterable[str],
                     locate: Callable[[str], Location], packages: Iterable[str] = ()) -> None:
    """No target may activate two members of one conflict set; the error points at the target's
    `extras` (or `groups`, `packages`) key and names where the conflict was declared."""
    active = ({ConflictItem(ConflictKind.EXTRA, e) for e in extras} | {ConflictItem(ConflictKind.GROUP, g) for g in groups}
              | {ConflictItem(ConflictKind.PACKAGE, p) for p in packages})  # type: ignore[arg-type]
    for conflict in project.uv.conflicts:
        clashing = [item for item in conflict.items if item in active]
        if len(clashing) > 1:
            where = f" (declared at {conflict.origin})" if conflict.origin else ""
            key = {ConflictKind.EXTRA: "extras", ConflictKind.GROUP: "groups"}.get(clashing[-1].kind, "packages")
            raise InputError(
                f"target '{name}' activates {' and '.join(str(i) for i in clashing)}, which tool.uv.conflicts "
                f"declares conflicting{where}",
                location=locate(key),
                fix="activate at most one of them per target, and declare one target for each",
            )


def _check_environments(project: Project, target: Target, location: Location | None) -> None:
    if project.uv.environments and not any(target.evaluate(m) for m in project.uv.environments):
        listed = "; ".join(str(m) for m in project.uv.environments)
        raise InputError(
            f"target '{target.name}' ({target.platform.name}, Python {target.python}) is outside "
            f"tool.uv.environments ({listed})",
            location=location,
            fix="add an environment marker that covers it, or change the target",
        )


def _make_target(name: str, platform: Platform, python: PythonVersion, accelerator: Accelerator | None,
                 extras: Sequence[str], groups: Sequence[str], os_floor: tuple[int, int] | None,
                 docker: DockerSettings, *, derived: bool, origin: Location | None,
                 packages: Sequence[NormalizedName] = ()) -> Target:
    return Target(
        name=name,
        platform=platform,
        python=python,
        accelerator=accelerator,
        extras=tuple(extras),
        groups=tuple(groups),
        os_floor=os_floor,
        docker=docker,
        derived=derived,
        environment=marker_environment(platform, python),
        tags=wheel_tags(platform, python.minor_tuple, os_floor),
        origin=origin,
        packages=tuple(packages),
    )


# -- derived targets --------------------------------------------------------------------------
def conflict_free_combinations(project: Project,
                               items: Sequence[ConflictItem] | None = None) -> list[tuple[ConflictItem, ...]]:
    """Every maximal set of `items` (default: the project's extras, default groups and default
    packages, `derivable_items`) with no two members in one conflict set.

    Maximal independent sets of the conflict graph are the maximal cliques of its complement.
    Order: by the position of the members in the pyproject (extras first, then groups, packages).
    Derived targets activate uv's `default-groups` (default: `dev`), not every group, as
    `uv sync` does; extras of workspace members count like the root's.
    """
    items = derivable_items(project) if items is None else list(items)
    if not project.uv.conflicts:  # the common case: one combination, all of them
        return [tuple(items)]
    import networkx as nx  # imported here: it is slow to import and only conflicts need it

    graph = nx.Graph()
    graph.add_nodes_from(items)
    for conflict in project.uv.conflicts:
        members = [item for item in conflict.items if item in graph]  # (groups not by default: out)
        for i, first in enumerate(members):
            for second in members[i + 1:]:
                graph.add_edge(first, second)
    order = {item: n for n, item in enumerate(items)}
    combos = [tuple(sorted(clique, key=order.__getitem__)) for clique in nx.find_cliques(nx.complement(graph))]
    if not items:
        combos = [()]
    return sorted(combos, key=lambda combo: [order[item] for item in combo])


def derivable_items(project: Project) -> list[ConflictItem]:
    """What derived targets may activate: the extras (the root's and the workspace members'),
    uv's `default-groups` (not every group, as `uv sync`) and the default packages."""
    extras = dict.fromkeys(e for p in (project, *project.members) for e in p.extras)
    return [ConflictItem(ConflictKind.EXTRA, e) for e in extras] + [
        ConflictItem(ConflictKind.GROUP, g) for g in project.uv.default_groups
    ] + [ConflictItem(ConflictKind.PACKAGE, p) for p in default_packages(project)]  # type: ignore[arg-type]


def derived_python_candidates(project: Project) -> tuple[list[PythonVersion], str | None]:
    """The released CPython minors a derived target may use (each at the lowest micro
    `requires-python` admits), oldest first, and a note when the rule had to fall back."""
    specifiers = project.requires_python
    if specifiers is None:  # (the loader warns) from 3.12 to the newest stable
        return [PythonVersion(*minor) for minor in CPYTHON_RELEASES if minor >= FALLBACK_PYTHON.minor_tuple], None
    admitted = []
    for major, minor in CPYTHON_RELEASES:
        micro = lowest_admitted_micro(specifiers, major, minor)
        if micro is not None:
            admitted.append(PythonVersion(major, minor, micro))
    if admitted:
        return admitted, None
    python = default_python(project)  # a future CPython, or an input error naming requires-python
    newest = ".".join(map(str, NEWEST_STABLE))
    return [python], (f"Python {python}: requires-python '{specifiers}' admits no CPython released up to "
                      f"{newest} (the newest planner knows), so the lowest later minor it admits")


_PYTHON_IN_MARKER = re.compile(r"""python(?:_full)?_version\s*[<>=!~]{1,3}\s*["'](\d+)\.(\d+)""")
_PYTHON_IN_MARKER_REVERSED = re.compile(r"""["'](\d+)\.(\d+)[\d.]*["']\s*[<>=!~]{1,3}\s*python(?:_full)?_version""")


def pythons_named(marker: Marker) -> set[tuple[int, int]]:
    """The CPython minors a marker names (`python_version >= '3.12'` names 3.12)."""
    text = str(marker)
    found = _PYTHON_IN_MARKER.findall(text) + _PYTHON_IN_MARKER_REVERSED.findall(text)
    return {(int(major), int(minor)) for major, minor in found}


def _in_environments(project: Project, platform: Platform, python: PythonVersion) -> bool:
    environment = marker_environment(platform, python)
    return not project.uv.environments or any(m.evaluate(environment) for m in project.uv.environments)


def _derived_pythons(project: Project, platform: Platform,
                     candidates: Sequence[PythonVersion]) -> list[tuple[PythonVersion, str]]:
    """The Pythons of `platform`'s derived targets, with why each: the lowest and the newest
    candidate inside `tool.uv.environments`, and every candidate those environments name."""
    inside = [python for python in candidates if _in_environments(project, platform, python)]
    if not inside:
        return []
    chosen: dict[PythonVersion, str] = {}
    for python in inside:  # named by an environment that holds for it on this platform
        environment = marker_environment(platform, python)
        if any(python.minor_tuple in pythons_named(m) and m.evaluate(environment) for m in project.uv.environments):
            chosen[python] = "named by tool.uv.environments"
    lowest, newest = inside[0], inside[-1]
    chosen[lowest] = "the lowest CPython requires-python admits" + (" here" if project.uv.environments else "")
    if newest != lowest:
        stable = newest.minor_tuple == NEWEST_STABLE
        chosen[newest] = ("the newest stable CPython" if stable else "the newest CPython requires-python admits") + (
            f", released {release_date(newest.minor_tuple)}" if stable else "")
    return sorted(chosen.items())


def _item_location(project: Project, item: ConflictItem) -> Location:
    """Where an extra or group is written: its first requirement's line, else its table."""
    if item.kind is ConflictKind.EXTRA:
        table, members = ("project", "optional-dependencies"), project.optional_dependencies.get(item.name, ())
    else:
        table, members = ("dependency-groups",), project.dependency_groups.get(item.name, ())
    return members[0].origin if members else project.locate((*table, item.name))


@dataclass(frozen=True)
class _ItemAccelerator:
    """What an extra or group says about the accelerator, and why (for notes and messages)."""

    accelerator: Accelerator | None  # None with `gpu`: a GPU, which one depends on the platform
    reason: str
    origin: Location | None


def _item_accelerator(project: Project, item: ConflictItem, platform: Platform,
                      python: PythonVersion) -> _ItemAccelerator | None:
    """An index a source rule routes to when `item` is active (the build the plan will take),
    else the item's own name (`cu124`, `rocm6.2`, `cpu`, `gpu`)."""
    environment = marker_environment(platform, python)
    for package, sources in project.uv.sources.items():
        for source in sources:
            active = source.extra == item.name if item.kind is ConflictKind.EXTRA else source.group == item.name
            if not active or (source.marker is not None and not source.marker.evaluate(environment)):
                continue
            index = project.index(source.index)
            found = accelerator_in_name(index.name) or accelerator_in_name(index.url)
            if found is not None:
                return _ItemAccelerator(found, f"{item} routes {package} to index '{index.name}'", source.origin)
    found = accelerator_in_name(item.name)
    if found is not None:
        return _ItemAccelerator(found, f"{item} is named for it", _item_location(project, item))
    if item.name in _GPU_WORDS:
        return _ItemAccelerator(None, f"{item} is named for a GPU", _item_location(project, item))
    return None


def _on_platform(said: _ItemAccelerator, platform: Platform) -> Accelerator:
    """A generic GPU (`gpu`) is Apple's on macOS and CUDA elsewhere."""
    if said.accelerator is not None:
        return said.accelerator
    return Accelerator(AcceleratorKind.MPS if platform.os is OperatingSystem.MACOS else AcceleratorKind.CUDA)


def _combo_accelerator(said: dict[ConflictItem, _ItemAccelerator], platform: Platform,
                       distinguishing: Sequence[ConflictItem],
                       combo: Sequence[ConflictItem]) -> tuple[Accelerator | None, Location | None]:
    """The accelerator a derived target states: what its first distinguishing extra or group says,
    else what all of its other extras and groups agree on; None when they say nothing."""
    for item in distinguishing:
        if item in said:
            return _on_platform(said[item], platform), said[item].origin
    others = {(_on_platform(said[item], platform), said[item].origin) for item in combo if item in said}
    if len({accelerator for accelerator, _ in others}) == 1:
        return sorted(others, key=str)[0]
    return None, None


_MACHINE_VARIABLES = ("platform_machine", "platform.machine")


def platforms_named(marker: Marker, pythons: Sequence[PythonVersion]) -> list[Platform]:
    """The known platforms an `environments` / `required-environments` marker names: those it
    holds for (at one of `pythons`), when it says anything about the platform. A marker that
    names machines (`platform_machine == 'aarch64'`) names each platform it holds for; one that
    names an operating system only (`sys_platform == 'linux'`) names that system's first
    platform in the table (linux-x86_64, macos-arm64, windows-x86_64)."""
    holds = [platform for platform in PLATFORMS.values()
             if any(marker.evaluate(marker_environment(platform, python)) for python in pythons)]
    if len(holds) == len(PLATFORMS):
        return []  # (no platform, or every one: it names none)
    if any(variable in str(marker) for variable in _MACHINE_VARIABLES):
        return holds
    first_of_os: dict[OperatingSystem, Platform] = {}
    for platform in holds:
        first_of_os.setdefault(platform.os, platform)
    return list(first_of_os.values())


def _derived_platforms(project: Project, pythons: Sequence[PythonVersion]) -> dict[Platform, str]:
    """The platforms of derived targets, each with why: the defaults, then every platform a
    `tool.uv.environments` or `required-environments` marker names (uv locks for those)."""
    chosen = {PLATFORMS[name]: "a default platform" for name in DEFAULT_PLATFORMS}
    for setting, markers in (("environments", project.uv.environments),
                             ("required-environments", project.uv.required_environments)):
        for marker in markers:
            for platform in platforms_named(marker, pythons):
                chosen.setdefault(platform, f"named by tool.uv.{setting}")
    return chosen


def _derived_targets(project: Project) -> tuple[tuple[Target, ...], tuple[str, ...]]:
    candidates, fallback_note = derived_python_candidates(project)
    notes = [fallback_note] if fallback_note else []
    platforms = _derived_platforms(project, candidates)
    per_platform = {platform: _derived_pythons(project, platform, candidates) for platform in platforms}
    per_platform = {platform: pythons for platform, pythons in per_platform.items() if pythons}
    if not per_platform:
        raise InputError(
            f"tool.uv.environments excludes every platform planner derives ({', '.join(p.name for p in platforms)}) "
            "at every Python requires-python admits",
            location=project.locate(("tool", "uv", "environments")),
            fix="name a platform planner knows in tool.uv.environments "
                f"({', '.join(PLATFORMS)}), or declare the targets you need under [tool.planner.targets.<name>]",
        )
    if list(per_platform) != [PLATFORMS[name] for name in DEFAULT_PLATFORMS]:
        notes.append(_platform_note(platforms, per_platform))
    lowest = min(python for pythons in per_platform.values() for python, _ in pythons)
    notes.extend(_python_notes(project, per_platform))
    conflicting = {item for conflict in project.uv.conflicts for item in conflict.items}
    all_items = derivable_items(project)
    targets: list[Target] = []
    excluded_notes: dict[ConflictItem, tuple[str, list[str]]] = {}
    for platform, pythons in per_platform.items():
        for python, _ in pythons:
            said = {item: found for item in all_items if item.kind is not ConflictKind.PACKAGE
                    and (found := _item_accelerator(project, item, platform, python)) is not None}
            kept = []
            for item in all_items:
                accelerator = _on_platform(said[item], platform) if item in said else None
                if accelerator is not None and not accelerator.runs_on(platform.os):
                    reason, where = excluded_notes.setdefault(item, (f"{said[item].reason} ({accelerator})", []))
                    if platform.name not in where:
                        where.append(platform.name)
                    continue
                kept.append(item)
            for combo in conflict_free_combinations(project, kept):
                distinguishing = [item for item in combo if item in conflicting]
                suffix = "-".join(item.name for item in distinguishing)
                name = f"{platform.name}-{suffix}" if suffix else platform.name
                if python != lowest:
                    name += f"-py{python.major}{python.minor}"
                accelerator, origin = _combo_accelerator(said, platform, distinguishing, combo)
                extras = [i.name for i in combo if i.kind is ConflictKind.EXTRA]
                groups = [i.name for i in combo if i.kind is ConflictKind.GROUP]
                packages = [i.name for i in combo if i.kind is ConflictKind.PACKAGE]
                targets.append(replace(_make_target(
                    name, platform, python, accelerator, extras, groups, platform.default_os_floor, DockerSettings(),
                    derived=True, origin=None, packages=packages), accelerator_origin=origin))
    for item, (reason, where) in excluded_notes.items():
        notes.append(f"{item} is not derived on {', '.join(where)}: {reason}, which "
                     f"{'that platform cannot' if len(where) == 1 else 'those platforms cannot'} run")
    notes.append("an extra or group a derived target cannot install there is left out of that target when "
                 "compiling (best effort, reported); declared targets install all of theirs or have no plan")
    return tuple(targets), tuple(notes)


def _platform_note(platforms: dict[Platform, str], kept: dict[Platform, list]) -> str:
    """Which platforms, and why, when they are not just the defaults."""
    text = ", ".join(f"{platform.name} ({why})" for platform, why in platforms.items() if platform in kept)
    dropped = [platform.name for platform in platforms if platform not in kept]
    return f"platforms: {text}" + (f"; not {', '.join(dropped)}: outside tool.uv.environments" if dropped else "")


def _python_notes(project: Project, per_platform: dict[Platform, list[tuple[PythonVersion, str]]]) -> list[str]:
    """One line per distinct choice of Pythons: which, and why each."""
    lines: dict[str, list[str]] = {}
    for platform, pythons in per_platform.items():
        text = ", ".join(f"{python} ({why})" for python, why in pythons)
        lines.setdefault(text, []).append(platform.name)
    spec = f"requires-python '{project.requires_python}'" if project.requires_python else "no requires-python"
    if len(lines) == 1:
        return [f"Python {next(iter(lines))}; {spec}"]
    return [f"Python on {', '.join(platforms)}: {text}; {spec}" for text, platforms in lines.items()]


# -- variations of a target (checked fixes) ---------------------------------------------------
def with_os_floor(target: Target, floor: tuple[int, int]) -> Target:
    """`target` on another glibc / macOS floor: its wheel tags follow."""
    return replace(target, os_floor=floor, tags=wheel_tags(target.platform, target.python.minor_tuple, floor))


def with_accelerator(target: Target, accelerator: Accelerator | None) -> Target:
    return replace(target, accelerator=accelerator)
