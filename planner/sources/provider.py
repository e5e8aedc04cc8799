"""Local packages in front of any index provider: one provider interface for the solver.

`LocalSourcesProvider(project, inner)` answers for packages whose route is local (a workspace
member, the project itself, a `path` source that applies on the target) with exactly one
candidate, the local distribution, and never asks `inner` about them; everything else goes to
`inner` (the index client's provider, or an in-memory one in tests). The solver cannot tell the
difference: it sees candidates and metadata (`planner/solve/provider.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from packaging.utils import NormalizedName

from planner.index.candidates import select_candidates
from planner.index.models import LOCAL_INDEX, Artifact, CandidateSet, CoreMetadata, ProjectPage, Unusable
from planner.project.model import PathSource, Project, WorkspaceSource
from planner.sources.local import LocalDistribution, member_distribution, path_distribution
from planner.targets.model import Target
from planner.targets.routing import Route, route


class LocalSourcesProvider:
    def __init__(self, project: Project, inner: Any):
        self.project = project
        self.inner = inner
        self._read: dict[object, LocalDistribution] = {}
        self._by_artifact: dict[tuple[str, str], LocalDistribution] = {}
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
            if found is None:
                if isinstance(source, WorkspaceSource):
                    member = self.project.local_projects[source.package]
                    found = member_distribution(self.project, member, source)
                else:
                    found = path_distribution(self.project, source)
                self._read[key] = found
                self._by_artifact[(found.artifact.index, found.artifact.url)] = found
            return found

    def distributions(self) -> list[LocalDistribution]:
        """Every local distribution read so far (for the summary: paths outside the project)."""
        with self._lock:
            return list(self._read.values())

    def candidates(self, package: NormalizedName, target: Target) -> CandidateSet:
        return self.routed_candidates(route(self.project, target, package), target)

    def routed_candidates(self, decided: Route, target: Target) -> CandidateSet:
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
        remote = [r for r in routes if r.local is None]
        if prefetch is not None and len(remote) > 1:
            prefetch(remote)

    def metadata(self, artifacts: Sequence[Artifact]) -> Mapping[Artifact, CoreMetadata | Unusable]:
        local = [a for a in artifacts if a.index == LOCAL_INDEX]
        out: dict[Artifact, CoreMetadata | Unusable] = {}
        remote = [a for a in artifacts if a.index != LOCAL_INDEX]
        if remote:
            out.update(self.inner.metadata(remote))
        for artifact in local:
            with self._lock:
                found = self._by_artifact[(artifact.index, artifact.url)]
            out[artifact] = found.metadata
        return out


def with_local_sources(project: Project, inner: Any) -> LocalSourcesProvider:
    """`inner` with the project's local packages in front (idempotent)."""
    if isinstance(inner, LocalSourcesProvider):
        return inner
    return LocalSourcesProvider(project, inner)
