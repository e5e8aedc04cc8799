"""What the solver asks of the outside world, as a small interface (resolvelib's model).

The solver never touches the network: it asks a `Provider` for the candidates of a package on a
target and for the core metadata of the artifacts it selects. `IndexProvider` answers from the
index client (network and cache); tests answer from memory (`planner/solve/memory.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName

from planner.index.client import IndexClient, MetadataUnavailable, NeedsBuild
from planner.index.models import Artifact, CandidateSet, CoreMetadata, Unusable
from planner.targets.model import Target
from planner.targets.routing import Route

if TYPE_CHECKING:
    from planner.sources.build import MetadataBuilder

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

    def expect(self, target: Target, wanted: Sequence[tuple[Route, SpecifierSet]]) -> None:
        """A hint: on `target`, the packages along these routes are about to be required with
        these version specifiers; the provider may start reading the metadata of the versions
        they will most likely take (optional)."""
        ...


class IndexProvider:
    """Answers from the index client; an sdist whose metadata needs a PEP 517 build is built by
    `builder` (planner/sources/build.py) when there is one, else it is unusable."""

    def __init__(self, client: IndexClient, builder: MetadataBuilder | None = None):
        self.client = client
        self.builder = builder

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

    def expect(self, target: Target, wanted: Sequence[tuple[Route, SpecifierSet]]) -> None:
        self.client.read_ahead(target, wanted)

    def metadata(self, artifacts: Sequence[Artifact]) -> Mapping[Artifact, CoreMetadata | Unusable]:
        def one(artifact: Artifact) -> CoreMetadata | Unusable:
            try:
                return self.client.metadata(artifact).metadata
            except NeedsBuild as exc:
                return self.built_metadata(artifact, exc)
            except MetadataUnavailable as exc:
                return Unusable(str(exc))

        if len(artifacts) <= 1 or self.client.offline:  # offline: from the cache, nothing to overlap
            return {a: one(a) for a in artifacts}
        with ThreadPoolExecutor(max_workers=self.client.max_workers, thread_name_prefix="planner-meta") as pool:
            return dict(zip(artifacts, pool.map(one, artifacts), strict=True))

    # -- metadata builds --------------------------------------------------------------------------
    def built_metadata(self, artifact: Artifact, needs: NeedsBuild) -> CoreMetadata | Unusable:
        """The metadata of an index sdist that needs a build, built (or why it cannot be had)."""
        from planner.index.client import OfflineMiss
        from planner.sources.build import BuildFailed, NotBuiltOffline, build_options

        project = self.client.project
        refused = project.uv.build.refused_build(artifact.name)
        if refused is not None:  # the solver says so for no-build before asking; other callers may not
            return Unusable(f"its metadata needs a build ({needs.reason}), and {refused}")
        if self.builder is None:
            return Unusable(str(needs))
        key = f"sha256:{artifact.sha256}" if artifact.sha256 else f"url:{artifact.url}"
        try:
            result = self.builder.build_sdist(key, lambda: self.client.download(artifact), artifact.filename,
                                              build_options(project, artifact.name, self.client.fetcher.credentials),
                                              expected_name=artifact.name, expected_version=str(artifact.version))
        except BuildFailed as exc:
            return Unusable(f"its metadata needs a build ({needs.reason}), which failed: {exc}")
        except NotBuiltOffline:
            raise OfflineMiss(f"metadata of {artifact.filename} from index '{artifact.index}', built from the "
                              f"sdist (it needs a build: {needs.reason})") from None
        return result.metadata

