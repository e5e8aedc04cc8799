"""Core metadata of a source tree (a git checkout, a source archive) read from its static
`pyproject.toml` `[project]` table, or the reason it needs a build to be known.

Pure: bytes in, values out. The tree is untrusted (a repository's committed files, a downloaded
archive): every field is type-checked and parsed with `packaging`, and any problem is a
`TreeMetadataError` naming `where` the file is. PEP 621 rules: `name` is always static; a field
listed in `dynamic` (or absent where a build could fill it, as `version`) is only known after
running the build backend, which planner does not do yet: the answer is then `NeedsBuild`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from planner.index.models import CoreMetadata
from planner.project.markers import marker_problem

MAX_PYPROJECT_BYTES = 1024 * 1024
# Fields of [project] whose being dynamic leaves the plan's inputs unknown until a build.
PLAN_FIELDS = ("version", "dependencies", "optional-dependencies", "requires-python")
_NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
BUILD_FILES = ("setup.py", "setup.cfg")


class TreeMetadataError(ValueError):
    """A source tree whose metadata is unusable (not only unknown): the message names the file."""


@dataclass(frozen=True)
class NeedsBuild:
    """The tree's metadata is only known after a PEP 517 build; `reason` says why, shortly."""

    reason: str  # e.g. "[project] lists version as dynamic"

    def __str__(self) -> str:
        return f"its metadata needs a build ({self.reason}), which planner does not do yet"


def static_metadata(pyproject: bytes | None, *, where: str,
                    build_files: tuple[str, ...] = ()) -> CoreMetadata | NeedsBuild:
    """The metadata `pyproject` (the tree's `pyproject.toml`, None when there is none) declares.

    `build_files` are the names of `BUILD_FILES` the tree has beside it (a tree without
    pyproject.toml and without them is no Python project)."""
    if pyproject is None:
        if build_files:
            return NeedsBuild(f"no pyproject.toml, only {' and '.join(build_files)}")
        raise TreeMetadataError(f"{where}: no pyproject.toml, setup.py or setup.cfg: not a Python project")
    if len(pyproject) > MAX_PYPROJECT_BYTES:
        raise TreeMetadataError(f"{where}: pyproject.toml is implausibly large ({len(pyproject)} bytes)")
    try:
        document = tomllib.loads(pyproject.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError:
        raise TreeMetadataError(f"{where}: pyproject.toml is not valid UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise TreeMetadataError(f"{where}: pyproject.toml is not valid TOML ({exc})") from None
    project = document.get("project")
    if project is None:
        return NeedsBuild("pyproject.toml has no [project] table, so its build backend decides the metadata")
    table = _expect(project, dict, "[project]", where)
    dynamic = [_expect(item, str, f"project.dynamic[{n}]", where)
               for n, item in enumerate(_expect(table.get("dynamic", []), list, "project.dynamic", where))]
    if "name" in dynamic:
        raise TreeMetadataError(f"{where}: project.name may not be dynamic (PEP 621)")
    name = _name(table.get("name"), where)
    unknown = [field for field in PLAN_FIELDS if field in dynamic]
    if "version" not in table and "version" not in unknown:
        raise TreeMetadataError(f"{where}: [project] has no version and does not list it as dynamic")
    if unknown:
        return NeedsBuild(f"[project] lists {', '.join(unknown)} as dynamic")
    version = _version(table["version"], where)
    requires_python = None
    if "requires-python" in table:
        text = _expect(table["requires-python"], str, "project.requires-python", where)
        try:
            SpecifierSet(text)
        except InvalidSpecifier:
            raise TreeMetadataError(f"{where}: project.requires-python '{text}' is not a version specifier") from None
        requires_python = text.strip() or None
    requires = [_requirement(item, f"project.dependencies[{n}]", where)
                for n, item in enumerate(_expect(table.get("dependencies", []), list, "project.dependencies", where))]
    extras: list[NormalizedName] = []
    optional = _expect(table.get("optional-dependencies", {}), dict, "project.optional-dependencies", where)
    for raw_extra, items in optional.items():
        if not _NAME_RE.match(raw_extra):
            raise TreeMetadataError(f"{where}: '{raw_extra}' is not a valid extra name")
        extra = canonicalize_name(raw_extra)
        if extra in extras:
            raise TreeMetadataError(f"{where}: extra '{raw_extra}' is declared twice")
        extras.append(extra)
        key = f"project.optional-dependencies.{raw_extra}"
        for n, item in enumerate(_expect(items, list, key, where)):
            requires.append(_with_extra(_requirement(item, f"{key}[{n}]", where), extra))
    return CoreMetadata(name=name, version=version, requires_dist=tuple(requires), requires_python=requires_python,
                        provides_extra=tuple(extras))


_TYPE_NAMES = {dict: "a table", list: "an array", str: "a string"}


def _expect(value: Any, kind: type, key: str, where: str) -> Any:
    if not isinstance(value, kind):
        raise TreeMetadataError(f"{where}: {key} must be {_TYPE_NAMES[kind]}, not {type(value).__name__}")
    return value


def _name(value: Any, where: str) -> NormalizedName:
    if value is None:
        raise TreeMetadataError(f"{where}: [project] has no name")
    text = _expect(value, str, "project.name", where)
    if not _NAME_RE.match(text):
        raise TreeMetadataError(f"{where}: '{text}' is not a valid project name")
    return canonicalize_name(text)


def _version(value: Any, where: str) -> Version:
    text = _expect(value, str, "project.version", where)
    try:
        return Version(text)
    except InvalidVersion:
        raise TreeMetadataError(f"{where}: project.version '{text}' is not a PEP 440 version") from None


def _requirement(value: Any, key: str, where: str) -> Requirement:
    text = _expect(value, str, key, where)
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        detail = str(exc).splitlines()[0] if str(exc) else "it does not parse"
        raise TreeMetadataError(f"{where}: {key} '{text}' is not a PEP 508 requirement ({detail})") from None
    if requirement.marker is not None:
        problem = marker_problem(requirement.marker)
        if problem is not None:
            raise TreeMetadataError(f"{where}: the marker of {key} '{text}' cannot be evaluated: {problem}")
    return requirement


def _with_extra(requirement: Requirement, extra: NormalizedName) -> Requirement:
    """`requirement` as core metadata lists an optional dependency: with `extra == "<name>"`."""
    conditioned = Requirement(str(requirement))
    condition = f'extra == "{extra}"'
    conditioned.marker = Marker(f"({requirement.marker}) and {condition}" if requirement.marker else condition)
    return conditioned


def describe(metadata: CoreMetadata | NeedsBuild) -> Mapping[str, Any]:
    """A short, data-only summary for reports and tests."""
    if isinstance(metadata, NeedsBuild):
        return {"needs_build": metadata.reason}
    return {"name": metadata.name, "version": str(metadata.version),
            "requires_dist": [str(r) for r in metadata.requires_dist],
            "requires_python": metadata.requires_python, "provides_extra": list(metadata.provides_extra)}
