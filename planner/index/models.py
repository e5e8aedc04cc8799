"""Value types of the index stage: what an index lists, what a target can install, and why not.

These are pure data shared by the parsers (`simple.py`), candidate selection (`candidates.py`),
metadata reading (`metadata.py`) and the network client (`client.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName
from packaging.version import Version


def _empty() -> Mapping[str, str]:
    from types import MappingProxyType

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

    def __hash__(self) -> int:
        # The mapping fields are not hashable; (index, url) identifies an artifact on its own.
        return hash((self.index, self.url))

    @property
    def sha256(self) -> str | None:
        return self.hashes.get("sha256")

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


@dataclass(frozen=True)
class ProjectPage:
    """Everything one index lists for one project."""

    index: str
    url: str  # the page URL (redacted for display by callers)
    project: NormalizedName
    artifacts: tuple[Artifact, ...]
    skipped: tuple[SkippedFile, ...] = ()

    @property
    def versions(self) -> tuple[Version, ...]:
        return tuple(sorted({a.version for a in self.artifacts}, reverse=True))


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


@dataclass(frozen=True)
class CandidateSet:
    """The candidates of one package on one target, newest first, plus every rejection."""

    name: NormalizedName
    candidates: tuple[Candidate, ...]
    rejections: tuple[Rejection, ...]
    indexes_consulted: tuple[str, ...]  # in order; with first-index, where the search stopped


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


class MetadataSource(StrEnum):
    """How a metadata file was obtained (the tests assert each path is taken)."""

    PEP658 = "pep658"
    RANGE = "range"
    DOWNLOAD = "download"
    SDIST = "sdist"
    CACHE = "cache"
