"""An in-memory provider: index universes written as data (scenario files, property tests).

Candidates go through the same routing (`route`) and selection (`select_candidates`) as real
index pages, so a scenario exercises everything but the network.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.tags import parse_tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from planner.index.candidates import select_candidates
from planner.index.models import Artifact, ArtifactKind, CandidateSet, CoreMetadata, ProjectPage
from planner.project.model import Project
from planner.targets.model import Target
from planner.targets.routing import Route, route


@dataclass(frozen=True)
class Release:
    """One file of a package version on an index: a wheel with `tag`, or an sdist (`tag=None`)."""

    name: str
    version: str
    requires_dist: tuple[str, ...] = ()
    tag: str | None = "py3-none-any"
    requires_python: str | None = None
    yanked: bool = False

    @property
    def filename(self) -> str:
        stem = f"{canonicalize_name(self.name).replace('-', '_')}-{self.version}"
        return f"{stem}-{self.tag}.whl" if self.tag else f"{stem}.tar.gz"

    def artifact(self, index: str) -> Artifact:
        url = f"memory://{index}/{self.filename}"
        return Artifact(
            index=index,
            filename=self.filename,
            url=url,
            name=canonicalize_name(self.name),
            version=Version(self.version),
            kind=ArtifactKind.WHEEL if self.tag else ArtifactKind.SDIST,
            tags=frozenset(parse_tag(self.tag)) if self.tag else frozenset(),
            hashes={"sha256": hashlib.sha256(url.encode()).hexdigest()},
            requires_python=self.requires_python,
            yanked="" if self.yanked else None,
        )

    def metadata(self) -> CoreMetadata:
        requirements = tuple(Requirement(r) for r in self.requires_dist)
        extras = sorted({canonicalize_name(e) for r in requirements for e in _marker_extras(r)})
        return CoreMetadata(
            name=canonicalize_name(self.name),
            version=Version(self.version),
            requires_dist=requirements,
            requires_python=self.requires_python,
            provides_extra=tuple(extras),  # type: ignore[arg-type]
        )


def _marker_extras(requirement: Requirement) -> list[str]:
    text = str(requirement.marker) if requirement.marker else ""
    out = []
    for part in text.split("extra == ")[1:]:
        out.append(part.split('"')[1] if part.startswith('"') else part.split("'")[1])
    return out


class MemoryProvider:
    def __init__(self, project: Project, indexes: Mapping[str, Iterable[Release]]):
        self.project = project
        self.releases: dict[tuple[str, NormalizedName], list[Release]] = {}
        for index, releases in indexes.items():
            for release in releases:
                self.releases.setdefault((index, canonicalize_name(release.name)), []).append(release)
        self._by_artifact: dict[tuple[str, str], Release] = {}
        self.metadata_calls = 0
        self._metadata: dict[tuple[str, str], CoreMetadata] = {}
        self._selected: dict[tuple[object, ...], CandidateSet] = {}  # candidate selection is pure: reuse it

    def candidates(self, package: NormalizedName, target: Target) -> CandidateSet:
        return self.routed_candidates(route(self.project, target, package), target)

    def routed_candidates(self, decided: Route, target: Target) -> CandidateSet:
        """The candidates along `decided` (any route, not only the project's: explanations ask
        where a package would come from without a source rule)."""
        key = (decided.package, decided.index_names, decided.strategy, target.platform.name, target.python.full,
               target.os_floor, decided.cutoff, decided.prefer, decided.only)
        if key not in self._selected:
            self._selected[key] = self._select(decided, target)
        return self._selected[key]

    def _select(self, decided: Route, target: Target) -> CandidateSet:
        package = decided.package
        pages = []
        for index in decided.indexes:
            artifacts = []
            for release in self.releases.get((index.name, package), []):
                artifact = release.artifact(index.name)
                self._by_artifact[(index.name, artifact.url)] = release
                artifacts.append(artifact)
            pages.append(ProjectPage(index.name, f"memory://{index.name}/{package}/", package, tuple(artifacts)))
        return select_candidates(pages, target, decided.strategy, cutoff=decided.cutoff, prefer=decided.prefer,
                                 only=decided.only)

    def metadata(self, artifacts: Sequence[Artifact]) -> Mapping[Artifact, CoreMetadata]:
        self.metadata_calls += len(artifacts)
        out = {}
        for artifact in artifacts:
            key = (artifact.index, artifact.url)
            if key not in self._metadata:
                self._metadata[key] = self._by_artifact[key].metadata()
            out[artifact] = self._metadata[key]
        return out
