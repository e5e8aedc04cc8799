"""Core metadata of a source tree read from its static `pyproject.toml` `[project]` table, or the
reason it needs a build to be known. One reader for every tree planner meets: a `path` source's
folder, a git commit's (sub)directory, a source archive from a URL.

The file is parsed with the loader's located TOML reader, so a broken field is an `InputError`
naming the file, the key and the line (for a file inside a git commit or an archive, `shown` says
which); every field is type-checked and parsed with `packaging`: the tree is untrusted (a
repository's committed files, a downloaded archive). PEP 621 rules: `name` is always static; a
`version` listed in `dynamic` is known only after a build, and the tree is planned without one
(`DYNAMIC_VERSION`, which outputs never write); `dependencies`, `optional-dependencies` or
`requires-python` listed in `dynamic` make the tree's requirements unknown until its build backend
runs: the answer is then `NeedsBuild`, and the caller builds it (planner/sources/build.py). Each requirement keeps the
line it was written on (`CoreMetadata.origins`), so explanations can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidName, NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from planner.errors import InputError, KeyPath, Location
from planner.index.models import CoreMetadata
from planner.project.loader import parse_document
from planner.project.markers import marker_problem
from planner.project.reader import DocumentReader
from planner.project.references import requirement_as_uv_reads

MAX_PYPROJECT_BYTES = 1024 * 1024
BUILD_FILES = ("setup.py", "setup.cfg")
# The version of a tree whose version is dynamic (known only after a build): a local label no
# index version carries. Outputs write no version for it.
DYNAMIC_VERSION = Version("0+dynamic")
# Fields of [project] whose being dynamic leaves the plan's inputs unknown until a build.
BUILT_FIELDS = ("dependencies", "optional-dependencies", "requires-python")


class TreeMetadataError(InputError):
    """A tree whose metadata is unusable (not only unknown), located in its own pyproject."""


@dataclass(frozen=True)
class NeedsBuild:
    """The tree's metadata is only known after a PEP 517 build; `reason` says why, shortly."""

    reason: str  # e.g. "[project] lists dependencies as dynamic"
    # What the tree says of itself when it says it statically (for messages and artifacts).
    name: NormalizedName | None = field(default=None, compare=False)
    version: Version | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"its metadata needs a build ({self.reason})"


def static_metadata(pyproject: bytes | None, *, file: Path, shown: str,
                    build_files: tuple[str, ...] = ()) -> CoreMetadata | NeedsBuild:
    """The metadata the bytes of a tree's `pyproject.toml` declare (None: the tree has none).

    `file` and `shown` name the file in messages; `build_files` are the names of `BUILD_FILES`
    the tree has beside it (a tree without pyproject.toml and without them is no Python project).
    """
    where = Location(file, (), None, shown)
    if pyproject is None:
        if build_files:
            return NeedsBuild(f"no pyproject.toml, only {' and '.join(build_files)}")
        raise TreeMetadataError("no pyproject.toml, setup.py or setup.cfg: this is not a Python project",
                                location=where, fix="point the source at the folder of a Python project")
    if len(pyproject) > MAX_PYPROJECT_BYTES:
        raise TreeMetadataError(f"pyproject.toml is implausibly large ({len(pyproject)} bytes)", location=where,
                                fix="point the source at a Python project")
    return tree_metadata(parse_document(pyproject, file, shown))


def tree_metadata(reader: DocumentReader) -> CoreMetadata | NeedsBuild:
    """The metadata a parsed `pyproject.toml` declares in `[project]`, or why it needs a build."""
    table = reader.get(("project",))
    if table is None:
        return NeedsBuild("pyproject.toml has no [project] table, so its build backend decides the metadata")
    reader.table(("project",))
    dynamic = reader.string_array(("project", "dynamic"), '["version"]')
    if "name" in dynamic:
        reader.fail(("project", "dynamic"), "project.name may not be dynamic (PEP 621)",
                    "write project.name in the pyproject and remove it from project.dynamic")
    raw_name = reader.string(("project", "name"), required=True, example='"my-lib"')
    try:
        name = canonicalize_name(raw_name, validate=True)  # type: ignore[arg-type]
    except InvalidName:
        reader.fail(("project", "name"), f"'{raw_name}' is not a valid project name",
                    "use letters, digits, '-', '_' and '.', starting and ending with a letter or digit")
    raw_version = reader.string(("project", "version"), example='"1.0"')
    if raw_version is not None:
        try:
            version = Version(raw_version)
        except InvalidVersion:
            reader.fail(("project", "version"), f"'{raw_version}' is not a PEP 440 version", 'e.g. version = "0.1.0"')
    elif "version" in dynamic:
        version = DYNAMIC_VERSION  # known after a build; nothing the plan installs depends on it
    else:
        reader.fail(("project",), "[project] has no version and does not list it in project.dynamic",
                    'add version = "..." to [project], or list "version" in project.dynamic')
    built = [field for field in BUILT_FIELDS if field in dynamic]
    if built:
        return NeedsBuild(f"[project] lists {' and '.join(built)} as dynamic", name, version)
    requires_python = None
    text = reader.string(("project", "requires-python"), example='">=3.11"')
    if text is not None:
        try:
            SpecifierSet(text)
        except InvalidSpecifier:
            reader.fail(("project", "requires-python"), f"invalid version specifier '{text}'",
                        'e.g. requires-python = ">=3.11"')
        requires_python = text.strip() or None
    requirements: list[Requirement] = []
    origins: list[Location | None] = []
    for n, raw in enumerate(reader.array(("project", "dependencies"), '["numpy>=1.26"]')):
        path: KeyPath = ("project", "dependencies", n)
        requirements.append(_requirement(reader, path, raw))
        origins.append(reader.location(path))
    extras: list[NormalizedName] = []
    for raw_extra in reader.table(("project", "optional-dependencies"), example='{ fast = ["numpy"] }'):
        base: KeyPath = ("project", "optional-dependencies", raw_extra)
        try:
            extra = canonicalize_name(raw_extra, validate=True)  # type: ignore[arg-type]
        except InvalidName:
            reader.fail(base, f"'{raw_extra}' is not a valid extra name", "use letters, digits, '-', '_' and '.'")
        if extra in extras:
            reader.fail(base, f"extra '{raw_extra}' is declared twice (names are compared normalised)",
                        "merge the two lists under one name")
        extras.append(extra)
        for n, raw in enumerate(reader.array(base, '["numpy"]')):
            requirements.append(_with_extra(_requirement(reader, (*base, n), raw), extra))
            origins.append(reader.location((*base, n)))
    return CoreMetadata(name=name, version=version, requires_dist=tuple(requirements), requires_python=requires_python,
                        provides_extra=tuple(extras), origins=tuple(origins))


def _requirement(reader: DocumentReader, path: KeyPath, raw: object) -> Requirement:
    text = reader.expect(path, raw, str, '"numpy>=1.26"')
    try:
        requirement = requirement_as_uv_reads(text)
    except InvalidRequirement as exc:
        reader.fail(path, f"invalid requirement '{text}': {str(exc).splitlines()[0] if str(exc) else 'it does not parse'}",
                    'write a PEP 508 requirement, e.g. "numpy>=1.26"')
    if requirement.marker is not None:
        problem = marker_problem(requirement.marker)
        if problem is not None:
            reader.fail(path, f"the marker of requirement '{text}' cannot be evaluated: {problem}",
                        "write a PEP 508 marker, e.g. \"numpy>=1.26; python_version >= '3.11'\"")
    return requirement


def _with_extra(requirement: Requirement, extra: NormalizedName) -> Requirement:
    """`requirement` as core metadata lists an optional dependency: with `extra == "<name>"`."""
    conditioned = Requirement(str(requirement))
    condition = f'extra == "{extra}"'
    conditioned.marker = Marker(f"({requirement.marker}) and {condition}" if requirement.marker else condition)
    return conditioned
