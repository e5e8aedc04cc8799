"""Value types of the index stage: what an index lists, what a target can install, and why not.

These are pure data shared by the parsers (`simple.py`), candidate selection (`candidates.py`),
metadata reading (`metadata.py`) and the network client (`client.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, parse_tag
from packaging.utils import NormalizedName
from packaging.version import Version

from planner.errors import Location


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class MetadataCopy:
    """A copy of a file's core metadata that an index keeps beside its pages instead of at the
    PEP 658 place (the file URL + ".metadata"): a `planner mirror` whose file URLs lead upstream
    (docs/mirror.md). `url` is absolute; `hashes` may be empty (then nothing can be verified)."""

    url: str
    hashes: Mapping[str, str]


class ArtifactKind(StrEnum):
    WHEEL = "wheel"
    SDIST = "sdist"
    DIRECTORY = "directory"  # a local source tree (planner/sources/); never on an index
    VCS = "vcs"  # a git commit's tree (planner/sources/git.py); never on an index


# The index names of distributions that come from no index (planner/sources/): local source
# trees and files, git commits, and files at URLs. No `[[tool.uv.index]]` name can be spelt so.
LOCAL_INDEX = "<local>"
GIT_INDEX = "<git>"
URL_INDEX = "<url>"
DIRECT_INDEXES = (GIT_INDEX, URL_INDEX)


def offered_by(index: str) -> str:
    """How messages say where a candidate comes from: `on pypi`, `from git`, `from its URL`."""
    return {GIT_INDEX: "from git", URL_INDEX: "from its URL"}.get(index, f"on {index}")


@dataclass(frozen=True)
class GitCommit:
    """Where a git package's tree is: the repository (its URL without credentials), the ref as
    written (None: the default branch) and the full commit id it resolved to."""

    repository: str
    requested: str | None
    commit: str


@dataclass(frozen=True)
class Artifact:
    """One file an index lists for a project (PEP 503/691, with PEP 592/658/700 fields)."""

    index: str  # index name (as in the project model)
    filename: str  # decoded file name, as listed
    url: str  # absolute URL (credentials never included)
    name: NormalizedName
    version: Version
    kind: ArtifactKind
    tags: frozenset[Tag] = frozenset()  # empty for sdists
    hashes: Mapping[str, str] = field(default_factory=_empty)  # algorithm -> lowercase hex
    requires_python: str | None = None  # raw specifier text as the index gave it
    yanked: str | None = None  # None: not yanked; "": yanked without a reason; else the reason
    size: int | None = None
    upload_time: str | None = None
    # PEP 658/714: None: not advertised; {}: advertised without hashes; else hashes of the file.
    core_metadata: Mapping[str, str] | None = None
    # Read instead of the PEP 658 file when set (the index lists its own copy of the metadata).
    metadata_copy: MetadataCopy | None = None
    # Local distributions (index LOCAL_INDEX): the path from the project root (POSIX, may start
    # with ".."), and whether the source asks for an editable install (source trees only).
    path: str | None = None
    editable: bool = False
    # Git packages (index GIT_INDEX): the commit; git and URL packages: where the project lies
    # inside the repository or source archive.
    git: GitCommit | None = None
    subdirectory: str | None = None

    def __hash__(self) -> int:
        # The mapping fields are not hashable; (index, url) identifies an artifact on its own.
        return hash((self.index, self.url))

    @property
    def sha256(self) -> str | None:
        return self.hashes.get("sha256")

    @property
    def is_local(self) -> bool:
        return self.index == LOCAL_INDEX

    @property
    def is_direct(self) -> bool:
        """A git commit or a file at a URL (a `git` / `url` source, or `name @ url`)."""
        return self.index in DIRECT_INDEXES

    @property
    def is_yanked(self) -> bool:
        return self.yanked is not None

    @property
    def metadata_url(self) -> str:
        if self.metadata_copy is not None:
            return self.metadata_copy.url
        return self.url.split("#", 1)[0] + ".metadata"

    @property
    def metadata_hashes(self) -> Mapping[str, str] | None:
        """Hashes of the metadata file at `metadata_url`; None when the index offers none."""
        if self.metadata_copy is not None:
            return self.metadata_copy.hashes
        return self.core_metadata

    def requires_python_specifier(self) -> SpecifierSet | None:
        if not self.requires_python:
            return None
        return SpecifierSet(self.requires_python)


@dataclass(frozen=True)
class SkippedFile:
    """A listed file planner could not use at all (its name does not parse, say)."""

    filename: str
    reason: str


# A file as a row of plain values (see `FileTable`); positions in the tuple:
_FILENAME, _URL, _VERSION, _KIND, _TAG_KEY, _HASHES, _REQUIRES_PYTHON, _YANKED, _SIZE, _UPLOAD_TIME, \
    _CORE_METADATA, _METADATA_COPY = range(12)
Row = tuple[Any, ...]


@lru_cache(maxsize=None)
def parse_version(text: str) -> Version:
    """One `Version` per distinct string: pages of one run repeat the same few thousand."""
    return Version(text)


_VERSION_TEXTS: dict[int, tuple[Version, str]] = {}


def version_text(version: Version) -> str:
    """`str(version)`, remembered per object (`str` rebuilds the text on every call). By identity,
    not equality: `1.0` and `1.0.0` are equal versions with different texts."""
    entry = _VERSION_TEXTS.get(id(version))
    if entry is None or entry[0] is not version:
        entry = _VERSION_TEXTS[id(version)] = (version, str(version))
    return entry[1]


@lru_cache(maxsize=None)
def tags_of(tag_key: str) -> frozenset[Tag]:
    """The tags of a wheel's `python-abi-platform` name part; one shared set per distinct part
    (thousands of files share a few: pages stay small in memory, and selection ranks each once)."""
    return frozenset(parse_tag(tag_key))


def wheel_tag_key(filename: str) -> str:
    """`torch-2.5.1-cp311-cp311-linux_x86_64.whl` -> `cp311-cp311-linux_x86_64`."""
    return "-".join(filename[: -len(".whl")].split("-")[-3:])


def _pairs(mapping: Mapping[str, str] | None) -> tuple[tuple[str, str], ...] | None:
    return None if mapping is None else tuple(mapping.items())


def file_row(filename: str, url: str, version_text: str, kind: ArtifactKind, tag_key: str,
             hashes: Mapping[str, str], requires_python: str | None, yanked: str | None, size: int | None,
             upload_time: str | None, core_metadata: Mapping[str, str] | None,
             metadata_copy: MetadataCopy | None) -> Row:
    """A file as a `FileTable` row; `tag_key` is a wheel's tag part (`wheel_tag_key`), "" for an sdist."""
    return (filename, url, version_text, kind.value, tag_key, tuple(hashes.items()), requires_python, yanked,
            size, upload_time, _pairs(core_metadata),
            None if metadata_copy is None else (metadata_copy.url, tuple(metadata_copy.hashes.items())))


def _row(artifact: Artifact) -> Row:
    return file_row(artifact.filename, artifact.url, str(artifact.version), artifact.kind,
                    wheel_tag_key(artifact.filename) if artifact.kind is ArtifactKind.WHEEL else "",
                    artifact.hashes, artifact.requires_python, artifact.yanked, artifact.size,
                    artifact.upload_time, artifact.core_metadata, artifact.metadata_copy)


class FileTable(Sequence[Artifact]):
    """A page's files as rows of plain values, each made an `Artifact` on first use.

    A project page can list tens of thousands of files (torch, numpy) while a target installs
    one per version: rows load from the parsed-page cache an order of magnitude faster than
    objects, and candidate selection reads the few fields it needs from the rows
    (`version_groups`, `kind`, `tags`, `requires_python`, `yanked`, `filename`)."""

    __slots__ = ("index", "name", "rows", "_artifacts", "_groups", "_newest_first", "_shapes")

    def __init__(self, index: str, name: NormalizedName, rows: tuple[Row, ...],
                 artifacts: Sequence[Artifact | None] | None = None) -> None:
        self.index = index
        self.name = name
        self.rows = rows
        self._artifacts: list[Artifact | None] = list(artifacts) if artifacts is not None else [None] * len(rows)
        self._groups: dict[Version, list[int]] | None = None
        self._newest_first: list[tuple[Version, list[int]]] | None = None
        self._shapes: dict[tuple[str | None, str | None], list[tuple[Version, int]]] | None = None

    @classmethod
    def of(cls, artifacts: Sequence[Artifact]) -> FileTable:
        if isinstance(artifacts, FileTable):
            return artifacts
        index = artifacts[0].index if artifacts else ""
        name = artifacts[0].name if artifacts else NormalizedName("")
        return cls(index, name, tuple(_row(a) for a in artifacts), artifacts)

    # -- Sequence[Artifact] --------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, position):  # type: ignore[no-untyped-def,override]
        if isinstance(position, slice):
            return tuple(self[i] for i in range(*position.indices(len(self.rows))))
        artifact = self._artifacts[position]
        if artifact is None:
            artifact = self._artifacts[position] = self._artifact(self.rows[position])
        return artifact

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (self[i] for i in range(len(self.rows)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FileTable):
            return self.rows == other.rows
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.rows)

    def __repr__(self) -> str:
        return f"FileTable({self.index!r}, {self.name!r}, {len(self.rows)} files)"

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (FileTable, (self.index, self.name, self.rows))  # rows only: the compact form

    def _artifact(self, row: Row) -> Artifact:
        copy = row[_METADATA_COPY]
        core = row[_CORE_METADATA]
        return Artifact(
            index=self.index, filename=row[_FILENAME], url=row[_URL], name=self.name,
            version=parse_version(row[_VERSION]), kind=ArtifactKind(row[_KIND]),
            tags=tags_of(row[_TAG_KEY]) if row[_TAG_KEY] else frozenset(),
            hashes=MappingProxyType(dict(row[_HASHES])), requires_python=row[_REQUIRES_PYTHON],
            yanked=row[_YANKED], size=row[_SIZE], upload_time=row[_UPLOAD_TIME],
            core_metadata=None if core is None else MappingProxyType(dict(core)),
            metadata_copy=None if copy is None else MetadataCopy(copy[0], MappingProxyType(dict(copy[1]))),
        )

    # -- what candidate selection reads, without making artifacts -------------------------------
    def version_groups(self) -> dict[Version, list[int]]:
        """Row positions per version, in page order (computed once)."""
        if self._groups is None:
            by_text: dict[str, list[int]] = {}
            for position, row in enumerate(self.rows):
                by_text.setdefault(row[_VERSION], []).append(position)
            groups = {parse_version(text): positions for text, positions in by_text.items()}
            if len(groups) < len(by_text):  # "1.0" and "1.0.0" are one version: keep page order
                groups = {}
                for position, row in enumerate(self.rows):
                    groups.setdefault(parse_version(row[_VERSION]), []).append(position)
            self._groups = groups
        return self._groups

    def newest_first(self) -> list[tuple[Version, list[int]]]:
        """`version_groups` as (version, rows), newest version first (sorted once)."""
        if self._newest_first is None:
            self._newest_first = sorted(self.version_groups().items(), key=lambda item: item[0], reverse=True)
        return self._newest_first

    def shapes(self) -> dict[tuple[str | None, str | None], list[tuple[Version, int]]]:
        """(version, row) of the files per (Requires-Python text, wheel tag part or None for an
        sdist), in page order: what decides whether a file fits a target.

        A page repeats a few hundred such keys over thousands of files: a target decides each
        key once, then visits only the files that fit it (computed once, shared by every target)."""
        if self._shapes is None:
            shapes: dict[tuple[str | None, str | None], list[tuple[Version, int]]] = {}
            rows = self.rows
            for version, positions in self.version_groups().items():
                for position in positions:
                    row = rows[position]
                    key = (row[_REQUIRES_PYTHON], row[_TAG_KEY] if row[_KIND] == "wheel" else None)
                    found = shapes.get(key)
                    if found is None:
                        shapes[key] = [(version, position)]
                    else:
                        found.append((version, position))
            self._shapes = shapes
        return self._shapes

    def is_wheel(self, position: int) -> bool:
        return self.rows[position][_KIND] == "wheel"

    def tags(self, position: int) -> frozenset[Tag]:
        artifact = self._artifacts[position]
        if artifact is not None:
            return artifact.tags
        key = self.rows[position][_TAG_KEY]
        return tags_of(key) if key else frozenset()

    def filename(self, position: int) -> str:
        return self.rows[position][_FILENAME]  # type: ignore[no-any-return]

    def requires_python(self, position: int) -> str | None:
        return self.rows[position][_REQUIRES_PYTHON]  # type: ignore[no-any-return]

    def yanked(self, position: int) -> str | None:
        return self.rows[position][_YANKED]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ProjectPage:
    """Everything one index lists for one project (`artifacts` is kept as a `FileTable`)."""

    index: str
    url: str  # the page URL (redacted for display by callers)
    project: NormalizedName
    artifacts: Sequence[Artifact]
    skipped: tuple[SkippedFile, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "artifacts", FileTable.of(self.artifacts))

    @property
    def files(self) -> FileTable:
        return self.artifacts  # type: ignore[return-value]

    @property
    def versions(self) -> tuple[Version, ...]:
        return tuple(sorted(self.files.version_groups(), reverse=True))


class RejectionKind(StrEnum):
    TAGS = "tags"  # no wheel tag the target accepts
    REQUIRES_PYTHON = "requires-python"
    YANKED = "yanked"
    NO_ARTIFACT = "no-artifact"  # neither a fitting wheel nor an sdist


@dataclass(frozen=True)
class Rejection:
    """Why an artifact (or a whole version) cannot serve a target; kept for explanations."""

    index: str
    version: Version
    filename: str | None
    kind: RejectionKind
    detail: str

    def __str__(self) -> str:
        return self.detail


@dataclass(frozen=True)
class Candidate:
    """A (package, version, index) a target could install, with the artifact it would install."""

    name: NormalizedName
    version: Version
    index: str
    artifact: Artifact  # the best-ranked fitting wheel, else the sdist
    yanked: bool = False  # admissible only when pinned with == / ===

    @property
    def key(self) -> tuple[NormalizedName, Version, str]:
        return (self.name, self.version, self.index)


def _no_rejections() -> tuple[Rejection, ...]:
    return ()


@dataclass(frozen=True)
class CandidateSet:
    """The candidates of one package on one target, newest first, plus every rejection."""

    name: NormalizedName
    candidates: tuple[Candidate, ...]
    indexes_consulted: tuple[str, ...]  # in order; with first-index, where the search stopped
    # Works the rejections out: only explanations read them, so they are not built before.
    explain_rejections: Callable[[], tuple[Rejection, ...]] = field(default=_no_rejections, compare=False,
                                                                    repr=False)

    @cached_property
    def rejections(self) -> tuple[Rejection, ...]:
        return self.explain_rejections()


@dataclass(frozen=True)
class BuiltOn:
    """The environment a PEP 517 metadata build ran in (`planner/sources/build.py`): a backend
    may compute dependencies from it, so a target on another one may get other dependencies."""

    python_version: str  # "3.11.7"
    implementation: str  # "cpython"
    sys_platform: str  # "linux"
    machine: str  # "x86_64"

    def describe(self) -> str:
        return f"Python {self.python_version} on {self.sys_platform} {self.machine}"

    def differs_from(self, environment: Mapping[str, str]) -> list[str]:
        """What differs from a target's marker environment: "Python 3.12", "darwin", "arm64"."""
        out = []
        python = ".".join(self.python_version.split(".")[:2])
        if environment.get("python_version") not in (None, python):
            out.append(f"Python {environment['python_version']}")
        if environment.get("sys_platform") not in (None, self.sys_platform):
            out.append(environment["sys_platform"])
        if environment.get("platform_machine") not in (None, self.machine):
            out.append(environment["platform_machine"])
        return out


@dataclass(frozen=True)
class CoreMetadata:
    """The parts of a distribution's core metadata the compiler needs."""

    name: NormalizedName
    version: Version
    requires_dist: tuple[Requirement, ...]
    requires_python: str | None
    provides_extra: tuple[NormalizedName, ...]
    dynamic: tuple[str, ...] = ()  # sdists only: fields a build may change
    # As the file declared it ("2.4"); None when absent. Left out of equality so that the same
    # dependencies read from differently produced files compare equal.
    metadata_version: str | None = field(default=None, compare=False)
    # Where each of `requires_dist` was written, when it comes from a pyproject the user edits
    # (a local package's): same length as `requires_dist`, else empty.
    origins: tuple[Location | None, ...] = field(default=(), compare=False)
    # Set when the metadata comes from a PEP 517 build rather than a file an index published.
    built_on: BuiltOn | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Unusable:
    """Why an artifact's dependencies cannot be known (an sdist or source tree that needs a
    build, bad metadata): the solver then leaves that candidate out instead of failing the run."""

    reason: str


class MetadataSource(StrEnum):
    """How a metadata file was obtained (the tests assert each path is taken)."""

    PEP658 = "pep658"
    RANGE = "range"
    DOWNLOAD = "download"
    SDIST = "sdist"
    CACHE = "cache"
