"""The project model: what a pyproject declares, validated and normalised, as immutable values.

Names of packages, extras and groups are normalised (PEP 503 / PEP 685 / PEP 735) once, here;
every later stage compares normalised names only. Every user-written fact keeps its `Location`
so that explanations can point at the pyproject line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from planner.errors import Diagnostic, KeyPath, Location
from planner.project.cutoffs import ExcludeNewer
from planner.project.references import GitReference, UrlReference

PYPI_NAME = "pypi"
PYPI_URL = "https://pypi.org/simple"


def frozen_mapping(data: Mapping[Any, Any] | None = None) -> Mapping[Any, Any]:
    return MappingProxyType(dict(data or {}))


class IndexStrategy(StrEnum):
    """uv's `index-strategy`: how candidates are gathered across the (non-explicit) indexes."""

    FIRST_INDEX = "first-index"  # only the first index that has the package at all
    UNSAFE_FIRST_MATCH = "unsafe-first-match"  # per version, the first index that has it
    UNSAFE_BEST_MATCH = "unsafe-best-match"  # every index, best version wins (pip-like)


class PrereleaseMode(StrEnum):
    """uv's `prerelease` setting."""

    DISALLOW = "disallow"
    ALLOW = "allow"
    IF_NECESSARY = "if-necessary"
    EXPLICIT = "explicit"
    IF_NECESSARY_OR_EXPLICIT = "if-necessary-or-explicit"  # uv's default


class Resolution(StrEnum):
    """uv's `resolution`: which of the versions a requirement allows is preferred."""

    HIGHEST = "highest"  # the newest (the default)
    LOWEST = "lowest"  # the lowest, for every package
    LOWEST_DIRECT = "lowest-direct"  # the lowest for the project's direct requirements, the newest for the rest
class IndexFormat(StrEnum):
    """uv's `format` of an index: a Simple Repository API, or a flat page or folder of files."""

    SIMPLE = "simple"  # PEP 503 / PEP 691: one page per project
    FLAT = "flat"  # pip's find-links: one HTML page of links, or a local folder, listing every file


class ConflictKind(StrEnum):
    EXTRA = "extra"
    GROUP = "group"
    PACKAGE = "package"  # a workspace member: targets may not install two members of one set


@dataclass(frozen=True, order=True)
class ConflictItem:
    """One member of a conflict set: an extra or a dependency group of the project, or a
    workspace member (`{ package = "api" }`)."""

    kind: ConflictKind
    name: NormalizedName

    def __str__(self) -> str:
        return f"{self.kind.value} '{self.name}'"


@dataclass(frozen=True)
class ConflictSet:
    """`tool.uv.conflicts` entry: no two members may be active on the same target."""

    items: tuple[ConflictItem, ...]
    origin: Location

    def __str__(self) -> str:
        return "{" + ", ".join(str(item) for item in self.items) + "}"


@dataclass(frozen=True)
class Dependency:
    """A requirement as the user wrote it, with where it was written."""

    requirement: Requirement
    origin: Location

    @property
    def name(self) -> NormalizedName:
        from packaging.utils import canonicalize_name

        return canonicalize_name(self.requirement.name)

    def __str__(self) -> str:
        return str(self.requirement)


@dataclass(frozen=True)
class Index:
    """A package index (`[[tool.uv.index]]`, or the implicit PyPI default)."""

    name: str
    url: str
    explicit: bool = False
    default: bool = False
    origin: Location | None = None  # None: not written in the pyproject (implicit PyPI)
    format: IndexFormat = IndexFormat.SIMPLE
    # A `[tool.uv] find-links` location (named `find-links-N`): never part of a route's index
    # order; its files are candidates beside those of the indexes (see targets/routing.py).
    find_links: bool = False
    # The workspace member whose `[[tool.uv.index]]` declares it (None: the root). As in uv,
    # such an index serves only the packages that member's sources route to it, so it is
    # loaded as explicit whatever it says.
    member: str | None = None

    @property
    def is_flat(self) -> bool:
        return self.format is IndexFormat.FLAT

    @property
    def display_url(self) -> str:
        from planner.urls import redact_url

        return redact_url(self.url)


@dataclass(frozen=True)
class IndexSource:
    """One `[tool.uv.sources]` entry routing a package to a named index under conditions."""

    package: NormalizedName
    index: str
    marker: Marker | None = None
    extra: NormalizedName | None = None
    group: NormalizedName | None = None
    origin: Location | None = None

    def describe(self) -> str:
        conditions = []
        if self.marker is not None:
            conditions.append(f"marker {self.marker}")
        if self.extra is not None:
            conditions.append(f"extra '{self.extra}'")
        if self.group is not None:
            conditions.append(f"group '{self.group}'")
        when = f" when {' and '.join(conditions)}" if conditions else ""
        return f"{self.package} from index '{self.index}'{when}"


class SourceDeclaration(StrEnum):
    """Where a source that is no index was declared (it decides which wins, see targets/routing.py)."""

    TABLE = "source"  # a [tool.uv.sources] entry
    REQUIREMENT = "requirement"  # `name @ url` in dependencies, an extra, a group or a constraint
    OVERRIDE = "override"  # `name @ url` in override-dependencies: replaces every other source


@dataclass(frozen=True)
class DependencyMetadata:
    """`[[tool.uv.dependency-metadata]]`: a package's metadata written in the pyproject, used
    instead of the artifacts' (no download, no build)."""

    name: NormalizedName
    version: Version | None  # None: every version of the package
    requires_dist: tuple[Requirement, ...] = ()
    requires_python: str | None = None
    provides_extra: tuple[NormalizedName, ...] = ()
    origin: Location | None = None


@dataclass(frozen=True)
class BuildSettings:
    """uv's build settings (`[tool.uv]`): what planner's metadata builds may do and get."""

    no_build: bool = False
    no_build_package: tuple[NormalizedName, ...] = ()
    # no-build-isolation(-package): builds in the environment being installed, which planner
    # cannot make; such a package is never built (refused_build says why)
    no_isolation: bool = False
    no_isolation_package: tuple[NormalizedName, ...] = ()
    # extra-build-dependencies with match-runtime = true: the build needs the planned runtime's
    # version, which a metadata build (made while solving) cannot know; never built either
    match_runtime: tuple[NormalizedName, ...] = ()
    dependency_metadata: tuple[DependencyMetadata, ...] = ()
    constraints: tuple[Dependency, ...] = ()  # build-constraint-dependencies
    extra_dependencies: Mapping[NormalizedName, tuple[Dependency, ...]] = field(default_factory=frozen_mapping)
    variables: Mapping[NormalizedName, Mapping[str, str]] = field(default_factory=frozen_mapping)  # extra-build-variables
    config_settings: Mapping[str, str | tuple[str, ...]] = field(default_factory=frozen_mapping)
    config_settings_package: Mapping[NormalizedName, Mapping[str, str | tuple[str, ...]]] = field(
        default_factory=frozen_mapping)
    locations: Mapping[str, Location] = field(default_factory=frozen_mapping)  # setting -> where written

    def no_build_setting(self, package: NormalizedName) -> str | None:
        """The setting that forbids building `package` ("tool.uv.no-build-package"), or None."""
        if self.no_build:
            return "tool.uv.no-build"
        if package in self.no_build_package:
            return "tool.uv.no-build-package"
        return None

    def refused_build(self, package: NormalizedName) -> str | None:
        """Why planner will not build `package`'s metadata, naming the setting (and its line), or
        None. no-build / no-build-package forbid it; no-build-isolation(-package) ask for a build
        inside the environment being installed, which planner cannot make: it builds in isolated
        environments only."""
        forbidden = self.no_build_setting(package)
        if forbidden is not None:
            return f"{forbidden}{self._at(forbidden)} forbids building it"
        if package in self.match_runtime:
            return (f"tool.uv.extra-build-dependencies{self._at('tool.uv.extra-build-dependencies')} asks its build "
                    "to match the runtime's versions (match-runtime = true), which planner cannot do (metadata is "
                    "built while solving, before the plan fixes them); give its metadata with "
                    "[[tool.uv.dependency-metadata]]")
        key = "tool.uv.no-build-isolation" if self.no_isolation else \
            "tool.uv.no-build-isolation-package" if package in self.no_isolation_package else None
        if key is None:
            return None
        return (f"{key}{self._at(key)} asks to build it without build isolation, which planner cannot do (it builds "
                "metadata in isolated environments only); give its metadata with [[tool.uv.dependency-metadata]]")

    def _at(self, setting: str) -> str:
        where = self.locations.get(setting.rpartition(".")[2])
        return f" ({where.file.name}:{where.line})" if where is not None and where.line else ""

    def metadata_for(self, package: NormalizedName, version: Version) -> DependencyMetadata | None:
        """The dependency-metadata entry for this version: an exact one first, then one without
        a version (uv's order)."""
        general = None
        for entry in self.dependency_metadata:
            if entry.name != package:
                continue
            if entry.version is None:
                general = general or entry
            elif entry.version == version:
                return entry
        return general

    def config_for(self, package: NormalizedName) -> Mapping[str, str | tuple[str, ...]]:
        """config-settings, with config-settings-package's entries for `package` winning."""
        return frozen_mapping({**self.config_settings, **self.config_settings_package.get(package, {})})


@dataclass(frozen=True)
class PathSource:
    """`{ path = "...", editable = ... }`: a source tree, a wheel file or an sdist file on disk
    (also `name @ file:///path/to/tree`, `declared` then says so).

    `path` is absolute (resolved against the pyproject that declares it); `written` is the text
    as written, for messages. Whether the path exists is checked when its metadata is needed.
    """

    package: NormalizedName
    path: Path
    written: str
    editable: bool = False
    marker: Marker | None = None
    extra: NormalizedName | None = None
    group: NormalizedName | None = None
    origin: Location | None = None
    declared: SourceDeclaration = SourceDeclaration.TABLE

    def describe(self) -> str:
        return f"{self.package} from the path '{self.written}'" + (" (editable)" if self.editable else "")


@dataclass(frozen=True)
class WorkspaceSource:
    """`{ workspace = true }`: the package is a member of this workspace (always a local tree).
    Also stands for a member required without such an entry (`origin` None)."""

    package: NormalizedName
    editable: bool = True  # uv installs workspace members editable unless told otherwise
    marker: Marker | None = None
    extra: NormalizedName | None = None
    group: NormalizedName | None = None
    origin: Location | None = None

    def describe(self) -> str:
        return f"{self.package} from the workspace"


LocalSource = PathSource | WorkspaceSource


@dataclass(frozen=True)
class GitSource:
    """A package from a git repository: `{ git = "...", rev | tag | branch = "...", subdirectory =
    "..." }`, or a `name @ git+https://...` requirement (`declared`). The ref is resolved to a
    commit when the package is needed (planner/sources/git.py)."""

    package: NormalizedName
    reference: GitReference
    marker: Marker | None = None
    extra: NormalizedName | None = None
    group: NormalizedName | None = None
    origin: Location | None = None  # the source table, or the requirement
    declared: SourceDeclaration = SourceDeclaration.TABLE
    # Where each key of the source table was written (`git`, `tag`, `subdirectory`, ...), so that
    # an error about the ref points at the ref.
    key_locations: Mapping[str, Location] = field(default_factory=frozen_mapping, compare=False)

    def describe(self) -> str:
        return f"{self.package} from git {self.reference}"

    def locate(self, key: str) -> Location | None:
        return self.key_locations.get(key, self.origin)


@dataclass(frozen=True)
class UrlSource:
    """A package from a wheel or source archive at a URL: `{ url = "...", subdirectory = "..." }`,
    or a `name @ https://...` requirement (`declared`)."""

    package: NormalizedName
    reference: UrlReference
    marker: Marker | None = None
    extra: NormalizedName | None = None
    group: NormalizedName | None = None
    origin: Location | None = None
    declared: SourceDeclaration = SourceDeclaration.TABLE
    key_locations: Mapping[str, Location] = field(default_factory=frozen_mapping, compare=False)

    def describe(self) -> str:
        return f"{self.package} from the URL {self.reference.display_url}"

    def locate(self, key: str) -> Location | None:
        return self.key_locations.get(key, self.origin)


# Sources of distributions found neither on an index nor on this machine.
DirectSource = GitSource | UrlSource


@dataclass(frozen=True)
class UvSettings:
    """The `[tool.uv]` settings planner honours (uv's semantics, see docs/uv-compat.md)."""

    # As written, in order, then the `find-links` locations; PyPI is added by `Project.indexes`.
    indexes: tuple[Index, ...] = ()
    sources: Mapping[NormalizedName, tuple[IndexSource, ...]] = field(default_factory=frozen_mapping)
    index_strategy: IndexStrategy = IndexStrategy.FIRST_INDEX
    prerelease: PrereleaseMode = PrereleaseMode.IF_NECESSARY_OR_EXPLICIT
    environments: tuple[Marker, ...] = ()
    required_environments: tuple[Marker, ...] = ()
    constraints: tuple[Dependency, ...] = ()
    overrides: tuple[Dependency, ...] = ()
    conflicts: tuple[ConflictSet, ...] = ()
    # Groups a plain `uv sync` installs; uv's default is "dev" when the project has it.
    default_groups: tuple[NormalizedName, ...] = ()
    resolution: Resolution = Resolution.HIGHEST
    # Files uploaded after the cut-off do not exist for the plan (project/cutoffs.py); per package,
    # `exclude-newer-package` overrides it (None: `false`, the package has no cut-off).
    exclude_newer: ExcludeNewer | None = None
    exclude_newer_package: Mapping[NormalizedName, ExcludeNewer | None] = field(default_factory=frozen_mapping)
    # `upgrade = true` / `upgrade-package = [...]`: as `--upgrade` / `--upgrade-package` on every compile.
    upgrade: bool = False
    upgrade_package: tuple[Dependency, ...] = ()

    def cutoff(self, package: NormalizedName) -> ExcludeNewer | None:
        """The cut-off that applies to `package`, if any."""
        if package in self.exclude_newer_package:
            return self.exclude_newer_package[package]
        return self.exclude_newer
    # Sources that are no index: `path` and `workspace` entries, per package (like `sources`).
    local_sources: Mapping[NormalizedName, tuple[LocalSource, ...]] = field(default_factory=frozen_mapping)
    # `git` and `url` entries, and direct references written in requirements (`name @ url`).
    direct_sources: Mapping[NormalizedName, tuple[DirectSource, ...]] = field(default_factory=frozen_mapping)
    # `tool.uv.package`: None when not written (then `[build-system]` decides, as in uv).
    package: bool | None = None
    build: BuildSettings = field(default_factory=BuildSettings)


@dataclass(frozen=True)
class DockerSettings:
    """`[tool.planner.targets.<name>.docker]`: settings for the target's Dockerfile."""

    base_image: str | None = None
    debian_suite: str | None = None
    origin: Location | None = None
    # The image of the build stage, when it is not the base image (one with git or compilers).
    build_base_image: str | None = None
    # What the container runs; None: the project's only console script, else `python`.
    command: tuple[str, ...] | None = None
    # Dependency groups the image installs (images get none unless asked for).
    groups: tuple[NormalizedName, ...] = ()


@dataclass(frozen=True)
class TargetSpec:
    """A target as declared in `[tool.planner.targets.<name>]`, before it is made concrete."""

    name: str
    platform: str
    python: str | None
    accelerator: str | None
    extras: tuple[NormalizedName, ...]
    groups: tuple[NormalizedName, ...]
    manylinux: str | None
    macos: str | None
    docker: DockerSettings
    origin: Location
    packages: tuple[NormalizedName, ...] | None = None  # local packages it installs; None: default
    key_locations: Mapping[str, Location] = field(default_factory=frozen_mapping)

    def locate(self, key: str) -> Location:
        """Where `key` of this target was written (the table itself when the key is absent)."""
        return self.key_locations.get(key, self.origin)


ALIGNMENT_MODES = ("per-python", "per-target", "all")


@dataclass(frozen=True)
class PlannerSettings:
    """`[tool.planner]`."""

    targets: tuple[TargetSpec, ...] = ()
    # Which targets must share versions: "per-python" (targets with one Python minor), "per-target"
    # (none: each its own newest) or "all" (every target). See planner/solve/objective.py.
    alignment: str = "per-python"
    # Packages decided first, in this order, each at the newest version it can have (before
    # every other package; the default order is direct requirements first, by name).
    prefer_newest: tuple[NormalizedName, ...] = ()


@dataclass(frozen=True)
class Workspace:
    """`[tool.uv.workspace]`: the members' globs, as written, and where."""

    members: tuple[str, ...]
    exclude: tuple[str, ...]
    origin: Location


@dataclass(frozen=True)
class Project:
    """A loaded, validated pyproject: the root project, or one workspace member (`members` of
    the root). A virtual workspace root (no `[project]`) has `virtual` set and is named after
    its folder."""

    pyproject: Path
    name: NormalizedName
    version: str | None
    requires_python: SpecifierSet | None
    dependencies: tuple[Dependency, ...]
    optional_dependencies: Mapping[NormalizedName, tuple[Dependency, ...]]
    dependency_groups: Mapping[NormalizedName, tuple[Dependency, ...]]
    uv: UvSettings
    planner: PlannerSettings
    warnings: tuple[Diagnostic, ...] = ()
    pypi_url: str = PYPI_URL  # the implicit default index; `--default-index` replaces it
    # Where project-wide settings were written, for messages about them (see `locate`).
    locations: Mapping[KeyPath, Location] = field(default_factory=frozen_mapping)
    # A hash of what plans depend on in the pyproject: its parsed, normalised content without
    # comments, formatting and descriptive fields (project/fingerprint.py).
    fingerprint: str = ""
    virtual: bool = False  # a workspace root without [project]
    has_build_system: bool = False
    scripts: Mapping[str, str] = field(default_factory=frozen_mapping)  # [project.scripts]
    dynamic: tuple[str, ...] = ()  # project.dynamic
    workspace: Workspace | None = None  # root only
    members: tuple[Project, ...] = ()  # root only: workspace members other than the root, by name
    # Where [project] (or, virtual, the file) starts: local packages are named by it in messages.
    origin: Location | None = None
    # How messages name this pyproject ("packages/api/pyproject.toml"); None: the root's.
    shown: str | None = None

    def locate(self, key: KeyPath) -> Location:
        return self.locations.get(tuple(key), Location(self.pyproject, tuple(key), shown=self.shown))

    @property
    def is_package(self) -> bool:
        """Whether the project itself is built and installed (uv: `tool.uv.package`, else the
        presence of `[build-system]`). A virtual root never is."""
        if self.virtual:
            return False
        if self.uv.package is not None:
            return self.uv.package
        return self.has_build_system

    @cached_property
    def local_projects(self) -> Mapping[NormalizedName, Project]:
        """The root (unless virtual) and every workspace member, by name."""
        out: dict[NormalizedName, Project] = {} if self.virtual else {self.name: self}
        out.update((member.name, member) for member in self.members)
        return MappingProxyType(out)

    @property
    def uses_git(self) -> bool:
        """Whether any source of the project (or workspace) is a git repository."""
        return any(isinstance(s, GitSource) for entries in self.uv.direct_sources.values() for s in entries)

    def display_path(self) -> str:
        """The pyproject's path as messages show it."""
        return self.shown or self.pyproject.name

    @property
    def root(self) -> Path:
        return self.pyproject.parent

    @cached_property
    def direct_names(self) -> frozenset[NormalizedName]:
        """Every package a requirement of the project names (dependencies, extras, groups)."""
        everything = [*self.dependencies, *(d for ds in self.optional_dependencies.values() for d in ds),
                      *(d for ds in self.dependency_groups.values() for d in ds)]
        return frozenset(d.name for d in everything if d.name != self.name)

    @property
    def extras(self) -> tuple[NormalizedName, ...]:
        return tuple(self.optional_dependencies)

    @property
    def groups(self) -> tuple[NormalizedName, ...]:
        return tuple(self.dependency_groups)

    @cached_property
    def indexes(self) -> tuple[Index, ...]:
        """Every index in priority order as uv uses it: declared ones first, the default last.

        uv puts indexes marked `default = true` after all others, and PyPI is the default unless
        one is marked. Explicit indexes are in the list too; routing decides who may use them.
        """
        declared = [i for i in self.uv.indexes if not i.default]
        defaults = [i for i in self.uv.indexes if i.default]
        if defaults:
            return (*declared, defaults[0])
        return (*declared, Index(name=PYPI_NAME, url=self.pypi_url, default=True))

    @property
    def find_links(self) -> tuple[Index, ...]:
        """The `find-links` locations, in the order written."""
        return tuple(index for index in self.uv.indexes if index.find_links)

    def index(self, name: str) -> Index:
        for candidate in self.indexes:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def default_index(self) -> Index:
        return self.indexes[-1]
