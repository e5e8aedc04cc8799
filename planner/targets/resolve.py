"""Make a project's targets concrete: the declared ones, or derived defaults (docs/targets.md).

Derivation rule when `[tool.planner.targets]` is absent:
- platforms `linux-x86_64` and `macos-arm64`, plus any platform a `required-environments` marker
  names, minus those `environments` excludes;
- Python: the lowest CPython minor that `requires-python` admits (3.12 when it is not set);
- one target per platform and maximal conflict-free combination of extras and groups, named
  `<platform>` when nothing conflicts, else `<platform>-<conflicting members it activates>`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from planner.errors import Diagnostic, InputError, Location
from planner.project.model import ConflictItem, ConflictKind, DockerSettings, Project, TargetSpec
from planner.project.reader import did_you_mean
from planner.targets.model import Accelerator, AcceleratorKind, PythonVersion, Target, marker_environment
from planner.targets.platforms import DEFAULT_PLATFORMS, PLATFORMS, OperatingSystem, Platform
from planner.targets.tags import wheel_tags

# CPython minors considered when deriving a target's Python (lowest admitted wins).
KNOWN_PYTHON_MINORS = tuple((3, minor) for minor in range(8, 21))
FALLBACK_PYTHON = PythonVersion(3, 12)
_CUDA_NAME_RE = re.compile(r"cu(?:da)?-?(\d{2,3})")
_GPU_WORDS = ("gpu", "cuda")


@dataclass(frozen=True)
class ResolvedTargets:
    targets: tuple[Target, ...]
    derived: bool
    warnings: tuple[Diagnostic, ...] = ()

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
    return ResolvedTargets(_derived_targets(project), derived=True)


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


def _declared_accelerator(spec: TargetSpec, platform: Platform) -> Accelerator:
    if spec.accelerator is None:
        return Accelerator(AcceleratorKind.CPU)
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
        match = re.fullmatch(r"(?:manylinux_?)?(\d+)[._](\d+)", spec.manylinux.strip())
        if not match or int(match.group(1)) != 2 or int(match.group(2)) < 5:
            raise InputError(f"target '{spec.name}': '{spec.manylinux}' is not a glibc version",
                             location=spec.locate("manylinux"),
                             fix='give the oldest glibc the target runs, e.g. manylinux = "2.28"')
        return (int(match.group(1)), int(match.group(2)))
    if spec.macos is not None:
        match = re.fullmatch(r"(\d+)(?:\.(\d+))?", spec.macos.strip())
        if not match or not 10 <= int(match.group(1)) <= 30:
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


def _make_target(name: str, platform: Platform, python: PythonVersion, accelerator: Accelerator,
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
def conflict_free_combinations(project: Project) -> list[tuple[ConflictItem, ...]]:
    """Every maximal set of extras, default groups and default packages with no two members in
    one conflict set.

    Maximal independent sets of the conflict graph are the maximal cliques of its complement.
    Order: by the position of the members in the pyproject (extras first, then groups, packages).
    Derived targets activate uv's `default-groups` (default: `dev`), not every group, as
    `uv sync` does; extras of workspace members count like the root's.
    """
    extras = dict.fromkeys(e for p in (project, *project.members) for e in p.extras)
    items = [ConflictItem(ConflictKind.EXTRA, e) for e in extras] + [
        ConflictItem(ConflictKind.GROUP, g) for g in project.uv.default_groups
    ] + [ConflictItem(ConflictKind.PACKAGE, p) for p in default_packages(project)]  # type: ignore[arg-type]
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


def _derived_accelerator(platform: Platform, distinguishing: Sequence[ConflictItem]) -> Accelerator:
    """Guess the accelerator from the names of the conflicting extras/groups the target uses."""
    for item in distinguishing:
        name = item.name.lower()
        cuda = _CUDA_NAME_RE.fullmatch(name)
        gpu_like = bool(cuda) or name in _GPU_WORDS or name.startswith("rocm")
        if not gpu_like:
            continue
        if platform.os is OperatingSystem.MACOS:
            return Accelerator(AcceleratorKind.MPS)
        if name.startswith("rocm") and platform.os is OperatingSystem.LINUX:
            digits = name[4:].replace("-", ".").replace("_", ".")
            return Accelerator(AcceleratorKind.ROCM, digits or None)
        if cuda:
            digits = cuda.group(1)
            return Accelerator(AcceleratorKind.CUDA, f"{digits[:-1]}.{digits[-1]}")
        return Accelerator(AcceleratorKind.CUDA)
    return Accelerator(AcceleratorKind.CPU)


def _derived_platforms(project: Project, python: PythonVersion) -> list[Platform]:
    names = list(DEFAULT_PLATFORMS)
    for marker in project.uv.required_environments:
        matching = [p for p in PLATFORMS if marker.evaluate(marker_environment(PLATFORMS[p], python))]
        if matching and not any(p in names for p in matching):
            names.append(matching[0])
    platforms = [PLATFORMS[name] for name in names]
    if project.uv.environments:
        platforms = [
            p for p in platforms
            if any(m.evaluate(marker_environment(p, python)) for m in project.uv.environments)
        ]
        if not platforms:
            raise InputError(
                "tool.uv.environments excludes every default platform "
                f"({', '.join(DEFAULT_PLATFORMS)}) at Python {python}",
                location=project.locate(("tool", "uv", "environments")),
                fix="declare the targets you need under [tool.planner.targets.<name>]",
            )
    return platforms


def _derived_targets(project: Project) -> tuple[Target, ...]:
    python = default_python(project)
    combos = conflict_free_combinations(project)
    conflicting = {item for conflict in project.uv.conflicts for item in conflict.items}
    targets: list[Target] = []
    for platform in _derived_platforms(project, python):
        for combo in combos:
            distinguishing = [item for item in combo if item in conflicting]
            suffix = "-".join(item.name for item in distinguishing)
            name = f"{platform.name}-{suffix}" if suffix else platform.name
            extras = [i.name for i in combo if i.kind is ConflictKind.EXTRA]
            groups = [i.name for i in combo if i.kind is ConflictKind.GROUP]
            packages = [i.name for i in combo if i.kind is ConflictKind.PACKAGE]
            targets.append(_make_target(
                name, platform, python, _derived_accelerator(platform, distinguishing), extras, groups,
                platform.default_os_floor, DockerSettings(), derived=True, origin=None, packages=packages,
            ))
    return tuple(targets)
