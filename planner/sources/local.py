"""Local distributions: what a local package is, read from disk.

- A workspace member (or the project itself): its pyproject, already loaded and validated, gives
  the metadata directly: `dependencies`, and `optional-dependencies` as `extra == "x"`
  requirements, each with the pyproject line it was written on.
- A `path` source to a source tree: its `[project]` table read statically
  (`planner/sources/tree_metadata.py`, the reader git and URL trees use too); a dynamic
  version is planned as unknown, dynamic dependencies (or no `[project]`, a `setup.py`
  project) need a PEP 517 build, which planner does not do yet: the distribution is then
  unusable, with that reason.
- A `path` source to a wheel or an sdist file: hashed (sha256), and its METADATA / PKG-INFO read
  with the same readers as an index's artifacts (`planner/index/metadata.py`, `wheel_zip.py`).

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
from planner.sources.tree_metadata import DYNAMIC_VERSION, NeedsBuild, tree_metadata

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


def member_distribution(project: Project, member: Project, source: WorkspaceSource) -> LocalDistribution:
    """A workspace member (or the root project) as a local source tree."""
    path = relative_path(member.root, project.root)
    version, unusable = _tree_version(member.version, member.dynamic, member.display_path())
    artifact = _directory_artifact(member.name, version, path, source.editable, member.requires_python)
    if member.uv.package is False:
        unusable = (f"{member.display_path()} sets tool.uv.package = false: it is not installed as a package, "
                    "so nothing can depend on it")
    if unusable is not None:
        return LocalDistribution(artifact, Unusable(unusable), source)
    requirements, origins = _requires_dist(member.dependencies, member.optional_dependencies)
    metadata = CoreMetadata(
        name=member.name, version=version, requires_dist=requirements,
        requires_python=str(member.requires_python) if member.requires_python is not None else None,
        provides_extra=tuple(member.optional_dependencies), origins=origins,
    )
    return LocalDistribution(artifact, metadata, source)


def path_distribution(project: Project, source: PathSource) -> LocalDistribution:
    """A `path` source: a source tree, a wheel file or an sdist file."""
    path = source.path
    shown = relative_path(path, project.root)
    outside = shown.startswith("..")
    if path.is_dir():
        return _tree_distribution(project, source, shown, outside)
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
        return _sdist_distribution(source, shown, outside)
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


def _tree_distribution(project: Project, source: PathSource, shown: str, outside: bool) -> LocalDistribution:
    pyproject = source.path / "pyproject.toml"
    empty = _directory_artifact(source.package, DYNAMIC_VERSION, shown, source.editable, None)
    if not pyproject.is_file():
        if (source.path / "setup.py").is_file() or (source.path / "setup.cfg").is_file():
            return LocalDistribution(empty, Unusable(f"{shown} has no pyproject.toml (a setup.py project): its metadata "
                                                     "needs a build, which planner does not do yet"), source, outside)
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
        return LocalDistribution(artifact, Unusable(f"{shown}/pyproject.toml: {metadata}"), source, outside)
    requires_python = SpecifierSet(metadata.requires_python) if metadata.requires_python else None
    artifact = _directory_artifact(metadata.name, metadata.version, shown, source.editable, requires_python)
    return LocalDistribution(artifact, metadata, source, outside)


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


def _sdist_distribution(source: PathSource, shown: str, outside: bool) -> LocalDistribution:
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
        metadata = Unusable(str(exc))
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
