"""What the solver asks of the outside world, as a small interface (resolvelib's model).

The solver never touches the network: it asks a `Provider` for the candidates of a package on a
target and for the core metadata of the artifacts it selects. `IndexProvider` answers from the
index client (network and cache); tests answer from memory (`planner/solve/memory.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from packaging.utils import NormalizedName

from planner.index.client import IndexClient, MetadataUnavailable
from planner.index.models import Artifact, CandidateSet, CoreMetadata, Unusable
from planner.targets.model import Target
from planner.targets.routing import Route

__all__ = ["IndexProvider", "Provider", "Unusable"]


class Provider(Protocol):
    def candidates(self, package: NormalizedName, target: Target) -> CandidateSet: ...

    def routed_candidates(self, decided: Route, target: Target) -> CandidateSet:
        """The candidates of `decided.package` along `decided` (the solver routes with its own
        project, so that a changed project can be solved against the same provider)."""
        ...

    def metadata(self, artifacts: Sequence[Artifact]) -> Mapping[Artifact, CoreMetadata | Unusable]:
        """Core metadata of each artifact (fetched in parallel where the provider can)."""
        ...

    def prefetch(self, routes: Sequence[Route]) -> None:
        """A hint: the candidates along these routes will be asked for soon (optional)."""
        ...


class IndexProvider:
    def __init__(self, client: IndexClient):
        self.client = client

    @property
    def parallel(self) -> bool:
        """Worth solving targets side by side: answers may wait on the network."""
        return not self.client.offline

    def candidates(self, package: NormalizedName, target: Target) -> CandidateSet:
        return self.client.candidates(package, target)

    def routed_candidates(self, decided: Route, target: Target) -> CandidateSet:
        """The candidates along any route (explanations ask where a package would come from
        without a source rule); `candidates` is this along the project's route."""
        return self.client.route_candidates(decided, target)

    def prefetch(self, routes: Sequence[Route]) -> None:
        self.client.prefetch_pages(routes)

    def metadata(self, artifacts: Sequence[Artifact]) -> Mapping[Artifact, CoreMetadata | Unusable]:
        def one(artifact: Artifact) -> CoreMetadata | Unusable:
            try:
                return self.client.metadata(artifact).metadata
            except MetadataUnavailable as exc:
                return Unusable(str(exc))

        if len(artifacts) <= 1 or self.client.offline:  # offline: from the cache, nothing to overlap
            return {a: one(a) for a in artifacts}
        with ThreadPoolExecutor(max_workers=self.client.max_workers, thread_name_prefix="planner-meta") as pool:
            return dict(zip(artifacts, pool.map(one, artifacts), strict=True))
