"""What the solver asks of the outside world, as a small interface (resolvelib's model).

The solver never touches the network: it asks a `Provider` for the candidates of a package on a
target and for the core metadata of the artifacts it selects. `IndexProvider` answers from the
index client (network and cache); tests answer from memory (`planner/solve/memory.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from packaging.utils import NormalizedName

from planner.index.client import IndexClient
from planner.index.models import Artifact, CandidateSet, CoreMetadata
from planner.targets.model import Target


class Provider(Protocol):
    def candidates(self, package: NormalizedName, target: Target) -> CandidateSet: ...

    def metadata(self, artifacts: Sequence[Artifact]) -> Mapping[Artifact, CoreMetadata]:
        """Core metadata of each artifact (fetched in parallel where the provider can)."""
        ...


class IndexProvider:
    def __init__(self, client: IndexClient):
        self.client = client

    def candidates(self, package: NormalizedName, target: Target) -> CandidateSet:
        return self.client.candidates(package, target)

    def metadata(self, artifacts: Sequence[Artifact]) -> Mapping[Artifact, CoreMetadata]:
        results = self.client.metadata_many(artifacts)
        return {artifact: result.metadata for artifact, result in results.items()}
