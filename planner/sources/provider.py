"""Local, git and URL packages in front of any index provider: one provider interface for the
solver.

`LocalSourcesProvider(project, inner, direct)` answers for packages whose route is local (a
workspace member, the project itself, a `path` source that applies on the target) or direct (a
`git` or `url` source, a `name @ url` requirement; `direct` reads them) with exactly one
candidate, and never asks `inner` about them; everything else goes to `inner` (the index
client's provider, or an in-memory one in tests). A wheel at a URL is checked against each
target's tags like any index file: a target it does not fit gets no candidate, and an
explained "no plan". A tree, checkout or sdist file whose metadata needs a PEP 517 build is
built (`builds`, planner/sources/build.py). The solver cannot tell the difference: it sees candidates and metadata
(`planner/solve/provider.py`).

Metadata that requires a package by a URL the project does not declare is unusable (uv refuses
such a transitive URL too): planner never installs a URL nobody in the project wrote down.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from packaging.utils import NormalizedName

from planner.index.candidates import select_candidates
from planner.errors import InputError
from planner.index.models import LOCAL_INDEX, Artifact, CandidateSet, CoreMetadata, ProjectPage, Unusable
from planner.project.model import PathSource, Project, WorkspaceSource
from planner.sources.direct import DirectDistribution, DirectSources, undeclared_url
from planner.sources.local import LocalDistribution, member_distribution, path_distribution
from planner.targets.model import Target
from planner.targets.routing import Route, route

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

    from planner.sources.build import SourceBuilds


class LocalSourcesProvider:
    def __init__(self, project: Project, inner: Any, direct: DirectSources | None = None,
                 builds: SourceBuilds | None = None):
        self.project = project
        self.inner = inner
        self.direct = direct
        self.builds = builds  # metadata builds of trees and sdist files that need one
        self._read: dict[object, LocalDistribution] = {}
        self._by_artifact: dict[tuple[str, str], LocalDistribution | DirectDistribution] = {}
        self._lock = threading.Lock()  # targets are solved side by side

    @property
    def parallel(self) -> bool:
        return bool(getattr(self.inner, "parallel", False))

    def __getattr__(self, name: str) -> Any:  # counters and settings of the inner provider
        return getattr(self.inner, name)

    def distribution(self, source: PathSource | WorkspaceSource) -> LocalDistribution:
        """The local distribution behind `source`, read once."""
        key = (type(source).__name__, source.package, getattr(source, "path", None), source.editable)
        with self._lock:
            found = self._read.get(key)
        if found is not None:
            return found
        # Read (and built, when it needs a build) outside the lock: targets solved side by side
        # wait only for their own packages; the builder runs one build per tree however many ask.
        if isinstance(source, WorkspaceSource):
            member = self.project.local_projects[source.package]
            read = member_distribution(self.project, member, source, self.builds)
        else:
            read = path_distribution(self.project, source, self.builds)
        with self._lock:
            found = self._read.setdefault(key, read)
            self._by_artifact[(found.artifact.index, found.artifact.url)] = found
        return found

    def distributions(self) -> list[LocalDistribution]:
        """Every local distribution read so far (for the summary: paths outside the project)."""
        with self._lock:
            return list(self._read.values())

    def candidates(self, package: NormalizedName, target: Target) -> CandidateSet:
        return self.routed_candidates(route(self.project, target, package), target)

    def routed_candidates(self, decided: Route, target: Target) -> CandidateSet:
        if decided.direct is not None:
            if self.direct is None:
                raise InputError(f"{decided.package} comes from {decided.describe()}, and this command reads no git "
                                 "or URL sources", fix="run planner compile")
            remote = self.direct.distribution(decided.direct)
            with self._lock:
                self._by_artifact[(remote.artifact.index, remote.artifact.url)] = remote
            page = ProjectPage(remote.artifact.index, remote.artifact.url, decided.package, (remote.artifact,))
            return select_candidates([page], target, decided.strategy)
        if decided.local is None:
            routed = getattr(self.inner, "routed_candidates", None)
            if routed is None:
                return self.inner.candidates(decided.package, target)  # type: ignore[no-any-return]
            return routed(decided, target)  # type: ignore[no-any-return]
        found = self.distribution(decided.local)
        page = ProjectPage(LOCAL_INDEX, found.artifact.url, decided.package, (found.artifact,))
        return select_candidates([page], target, decided.strategy)

    def prefetch(self, routes: Sequence[Route]) -> None:
        prefetch = getattr(self.inner, "prefetch", None)
        remote = [r for r in routes if r.local is None and r.direct is None]
        if prefetch is not None and len(remote) > 1:
            prefetch(remote)

    def expect(self, target: Target, wanted: Sequence[tuple[Route, SpecifierSet]]) -> None:
        expect = getattr(self.inner, "expect", None)
        remote = [(r, s) for r, s in wanted if r.local is None and r.direct is None]
        if expect is not None and remote:
            expect(target, remote)

    def metadata(self, artifacts: Sequence[Artifact]) -> Mapping[Artifact, CoreMetadata | Unusable]:
        mine = [a for a in artifacts if a.is_local or a.is_direct]
        out: dict[Artifact, CoreMetadata | Unusable] = {}
        indexed = [a for a in artifacts if not (a.is_local or a.is_direct)]
        if indexed:
            out.update(self.inner.metadata(indexed))
        for artifact in mine:
            with self._lock:
                found = self._by_artifact[(artifact.index, artifact.url)]
            out[artifact] = found.metadata
        for artifact, result in out.items():
            if isinstance(result, CoreMetadata) and (reason := undeclared_url(result, self.project)) is not None:
                out[artifact] = Unusable(reason)
        return out


def with_local_sources(project: Project, inner: Any, direct: DirectSources | None = None,
                       builds: SourceBuilds | None = None) -> LocalSourcesProvider:
    """`inner` with the project's local packages (and, given `direct`, its git and URL packages)
    in front (idempotent); `builds` builds the trees and sdist files whose metadata needs it."""
    if isinstance(inner, LocalSourcesProvider):
        return inner
    return LocalSourcesProvider(project, inner, direct, builds)
