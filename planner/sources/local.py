"""Local distributions: what a local package is, read from disk.

- A workspace member (or the project itself): its pyproject, already loaded and validated, gives
  the metadata directly: `dependencies`, and `optional-dependencies` as `extra == "x"`
  requirements, each with the pyproject line it was written on; when they are dynamic, a build
  gives them.
- A `path` source to a source tree: its `[project]` table read statically
  (`planner/sources/tree_metadata.py`, the reader git and URL trees use too); a dynamic
  version alone is planned as unknown (no build); dynamic dependencies (or no `[project]`, a
  `setup.py` project) need a PEP 517 build (`planner/sources/build.py`), which also gives the
  real version; a failed build leaves the distribution unusable, with the reason.
- A `path` source to a wheel or an sdist file: hashed (sha256), and its METADATA / PKG-INFO read
  with the same readers as an index's artifacts (`planner/index/metadata.py`, `wheel_zip.py`); an
  sdist whose PKG-INFO is not final is built.

A path that does not exist, or a distribution whose name is not the package's, is an input
error naming the source rule (uv fails there too). Nothing read here is trusted: names, versions
and requirements are parsed and checked like an index's.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from planner.errors import InputError, Location
from planner.index.metadata import MetadataError, MetadataNeedsBuild, parse_sdist_metadata, parse_wheel_metadata
from planner.index.models import LOCAL_INDEX, Artifact, ArtifactKind, CoreMetadata, Unusable
from planner.index.wheel_zip import ArchiveError, read_sdist_pkg_info, read_wheel_metadata_file
from planner.project.loader import read_document
from planner.project.model import Dependency, PathSource, Project, WorkspaceSource
from planner.sources.tree_metadata import BUILT_FIELDS, DYNAMIC_VERSION, NeedsBuild, tree_metadata

if TYPE_CHECKING:
    from planner.sources.build import SourceBuilds

_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tgz", ".tar.bz2", ".tar.xz", ".tar")


@dataclass(frozen=True)
class LocalDistribution:
    """One local package as the solver will see it: its artifact and its metadata, or why its
    metadata cannot be known without a build."""

    artifact: Artifact
    metadata: CoreMetadata | Unusable
    source: PathSource | WorkspaceSource
    outside: bool = False  # the path leaves the project folder (named in the summary)


def relative_path(path: Path, root: Path) -> str:
    """`path` from the project folder, POSIX style; `..` parts when it lies outside."""
    return Path(os.path.relpath(path, root)).as_posix()


def member_distribution(project: Project, member: Project, source: WorkspaceSource,
                        builds: SourceBuilds | None = None) -> LocalDistribution:
    """A workspace member (or the root project) as a local source tree; built (`builds`) when
    its dependencies, optional dependencies or requires-python are dynamic."""
    path = relative_path(member.root, project.root)
    version, unusable = _tree_version(member.version, member.dynamic, member.display_path())
    artifact = _directory_artifact(member.name, version, path, source.editable, member.requires_python)
    if member.uv.package is False:
        unusable = (f"{member.display_path()} sets tool.uv.package = false: it is not installed as a package, "
                    "so nothing can depend on it")
    if unusable is not None:
        return LocalDistribution(artifact, Unusable(unusable), source)
    built = [name for name in BUILT_FIELDS if name in member.dynamic]
    if built:
        reason = f"{member.display_path()} lists {' and '.join(built)} as dynamic in [project]"
        metadata = given_or_built(project, builds, member.root, member.name, version, path, reason)
        return LocalDistribution(_with_metadata(artifact, metadata), metadata, source)
    requirements, origins = _requires_dist(member.dependencies, member.optional_dependencies)
    metadata = CoreMetadata(
        name=member.name, version=version, requires_dist=requirements,
        requires_python=str(member.requires_python) if member.requires_python is not None else None,
        provides_extra=tuple(member.optional_dependencies), origins=origins,
    )
    return LocalDistribution(artifact, metadata, source)


def path_distribution(project: Project, source: PathSource, builds: SourceBuilds | None = None) -> LocalDistribution:
    """A `path` source: a source tree, a wheel file or an sdist file (built with `builds` when
    its metadata needs a build)."""
    path = source.path
    shown = relative_path(path, project.root)
    outside = shown.startswith("..")
    if path.is_dir():
        return _tree_distribution(project, source, shown, outside, builds)
    if not path.is_file():
        raise InputError(
            f"the path source for '{source.package}' points to '{source.written}' ({path}), which does not exist",
            location=source.origin,
            fix="correct the path (it is relative to the pyproject that declares it), or check out / build what "
                "should be there")
    name = path.name
    if name.endswith(".whl"):
        return _wheel_distribution(source, shown, outside)
    if name.lower().endswith(_SDIST_SUFFIXES):
        return _sdist_distribution(project, source, shown, outside, builds)
    raise InputError(
        f"the path source for '{source.package}' points to '{source.written}', which is neither a folder, a "
        "wheel (.whl) nor a source distribution (.tar.gz, .zip)",
        location=source.origin, fix="point it at a project folder, a wheel or an sdist")


# -- source trees --------------------------------------------------------------------------------
def _tree_version(version: str | None, dynamic: tuple[str, ...], where: str) -> tuple[Version, str | None]:
    if version is not None:
        return Version(version), None
    if "version" in dynamic:
        return DYNAMIC_VERSION, None  # known after a build; nothing in the plan depends on it
    return DYNAMIC_VERSION, f"{where} sets no project.version and does not list it in project.dynamic"


def _directory_artifact(name: NormalizedName, version: Version, path: str, editable: bool,
                        requires_python: SpecifierSet | None) -> Artifact:
    return Artifact(
        index=LOCAL_INDEX, filename=path, url=path, name=name, version=version, kind=ArtifactKind.DIRECTORY,
        requires_python=str(requires_python) if requires_python is not None else None, path=path,
        editable=editable,
    )


def _requires_dist(dependencies: tuple[Dependency, ...], optional: Mapping[str, tuple[Dependency, ...]],
                   ) -> tuple[tuple[Requirement, ...], tuple[Location | None, ...]]:
    """`[project]` dependencies as core metadata: extras' requirements get `extra == "x"`."""
    requirements: list[Requirement] = []
    origins: list[Location | None] = []
    for dependency in dependencies:
        requirements.append(dependency.requirement)
        origins.append(dependency.origin)
    for extra, items in optional.items():
        for dependency in items:
            requirement = Requirement(str(dependency.requirement))
            condition = f'extra == "{extra}"'
            requirement.marker = Marker(f"({requirement.marker}) and {condition}" if requirement.marker else condition)
            requirements.append(requirement)
            origins.append(dependency.origin)
    return tuple(requirements), tuple(origins)


def _tree_distribution(project: Project, source: PathSource, shown: str, outside: bool,
                       builds: SourceBuilds | None) -> LocalDistribution:
    pyproject = source.path / "pyproject.toml"
    empty = _directory_artifact(source.package, DYNAMIC_VERSION, shown, source.editable, None)
    if not pyproject.is_file():
        if (source.path / "setup.py").is_file() or (source.path / "setup.cfg").is_file():
            built = given_or_built(project, builds, source.path, source.package, None, shown,
                                   f"{shown} has no pyproject.toml (a setup.py project)")
            return LocalDistribution(_with_metadata(empty, built), built, source, outside)
        raise InputError(f"the path source for '{source.package}' points to '{source.written}', a folder with no "
                         "pyproject.toml or setup.py", location=source.origin,
                         fix="point it at the folder of a Python project")
    metadata = tree_metadata(read_document(pyproject, f"{shown}/pyproject.toml"))
    if metadata.name is not None and metadata.name != source.package:
        raise InputError(f"the path source for '{source.package}' points to '{source.written}', whose project is "
                         f"named '{metadata.name}'", location=source.origin,
                         fix=f"point the source of {source.package} at its own folder, or require '{metadata.name}'")
    if isinstance(metadata, NeedsBuild):
        artifact = _directory_artifact(source.package, metadata.version or DYNAMIC_VERSION, shown, source.editable, None)
        built = given_or_built(project, builds, source.path, source.package, metadata.version or DYNAMIC_VERSION, shown,
                               f"{shown}/pyproject.toml: {metadata.reason}")
        return LocalDistribution(_with_metadata(artifact, built), built, source, outside)
    requires_python = SpecifierSet(metadata.requires_python) if metadata.requires_python else None
    artifact = _directory_artifact(metadata.name, metadata.version, shown, source.editable, requires_python)
    return LocalDistribution(artifact, metadata, source, outside)


def given_or_built(project: Project, builds: SourceBuilds | None, tree: Path, name: NormalizedName,
                   version: Version | None, label: str, reason: str) -> CoreMetadata | Unusable:
    """The metadata of a source tree that needs a build: `[[tool.uv.dependency-metadata]]` when
    the project states it (no build), else built by `builds` (its key a hash of the tree's
    files), else unusable with the reason. `version`: what the tree states (DYNAMIC_VERSION or
    None when it does not): the build must give that one, and gives the real one otherwise."""
    stated = version if version is not None and version != DYNAMIC_VERSION else None
    given = project.uv.build.metadata_for(name, stated or DYNAMIC_VERSION)
    if given is not None:
        return CoreMetadata(name, given.version or stated or DYNAMIC_VERSION, given.requires_dist,
                            given.requires_python, given.provides_extra)
    if builds is None:
        return Unusable(f"its metadata needs a build ({reason}), and this command builds nothing")
    from planner.sources.build import tree_key

    return builds.tree(tree, lambda: tree_key(tree), name, str(stated) if stated else None, label, reason)


def _with_metadata(artifact: Artifact, metadata: CoreMetadata | Unusable) -> Artifact:
    """A tree's artifact with what its built metadata says: the version (a dynamic one becomes
    the real one) and Requires-Python."""
    if not isinstance(metadata, CoreMetadata):
        return artifact
    artifact = replace(artifact, version=metadata.version)
    return _with_requires_python(artifact, metadata.requires_python) if metadata.requires_python else artifact


# -- files -----------------------------------------------------------------------------------------
def _file_artifact(source: PathSource, shown: str, kind: ArtifactKind, name: NormalizedName, version: Version,
                   data: bytes, tags: frozenset[Tag] = frozenset()) -> Artifact:
    return Artifact(
        index=LOCAL_INDEX, filename=source.path.name, url=shown, name=name, version=version, kind=kind, tags=tags,
        hashes={"sha256": hashlib.sha256(data).hexdigest()}, size=len(data), path=shown,
    )


def _read(source: PathSource) -> bytes:
    try:
        return source.path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read '{source.written}' (the path source for '{source.package}'): {exc.strerror}",
                         location=source.origin, fix="check that the file is readable") from None


def _check_name(source: PathSource, name: NormalizedName) -> None:
    if name != source.package:
        raise InputError(f"the path source for '{source.package}' points to '{source.written}', a distribution of "
                         f"'{name}'", location=source.origin,
                         fix=f"point the source of {source.package} at one of its own files")


def _wheel_distribution(source: PathSource, shown: str, outside: bool) -> LocalDistribution:
    try:
        name, version, _build, tags = parse_wheel_filename(source.path.name)
    except (InvalidWheelFilename, InvalidVersion) as exc:
        raise InputError(f"the path source for '{source.package}' points to '{source.written}', which is not a valid "
                         f"wheel file name ({exc})", location=source.origin, fix="keep the wheel's name as built") from None
    _check_name(source, name)
    data = _read(source)
    artifact = _file_artifact(source, shown, ArtifactKind.WHEEL, name, version, data, frozenset(tags))
    try:
        metadata: CoreMetadata | Unusable = parse_wheel_metadata(read_wheel_metadata_file(io.BytesIO(data), source.path.name),
                                                                 source.path.name)
    except (MetadataError, ArchiveError) as exc:
        metadata = Unusable(str(exc))
    if isinstance(metadata, CoreMetadata) and metadata.requires_python:
        artifact = _with_requires_python(artifact, metadata.requires_python)
    return LocalDistribution(artifact, metadata, source, outside)


def _sdist_distribution(project: Project, source: PathSource, shown: str, outside: bool,
                        builds: SourceBuilds | None) -> LocalDistribution:
    try:
        name, version = parse_sdist_filename(source.path.name)
    except (InvalidSdistFilename, InvalidVersion) as exc:
        raise InputError(f"the path source for '{source.package}' points to '{source.written}', which is not a "
                         f"standard sdist file name ({exc})", location=source.origin,
                         fix="keep the sdist's name as built (name-version.tar.gz)") from None
    _check_name(source, name)
    data = _read(source)
    artifact = _file_artifact(source, shown, ArtifactKind.SDIST, name, version, data)
    try:
        metadata: CoreMetadata | Unusable = parse_sdist_metadata(read_sdist_pkg_info(io.BytesIO(data), source.path.name),
                                                                 source.path.name)
    except MetadataNeedsBuild as exc:
        given = project.uv.build.metadata_for(name, version)
        if given is not None:
            metadata = CoreMetadata(name, version, given.requires_dist, given.requires_python, given.provides_extra)
        elif builds is None:
            metadata = Unusable(str(exc))
        else:
            metadata = builds.sdist(source.path, artifact.hashes["sha256"], source.path.name, name, str(version), shown,
                                    exc.reason)
    except (MetadataError, ArchiveError) as exc:
        metadata = Unusable(str(exc))
    if isinstance(metadata, CoreMetadata) and metadata.requires_python:
        artifact = _with_requires_python(artifact, metadata.requires_python)
    return LocalDistribution(artifact, metadata, source, outside)


def _with_requires_python(artifact: Artifact, text: str) -> Artifact:
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        return artifact
    return replace(artifact, requires_python=text)
