"""Index routing: for (package, target), the index or ordered indexes it may come from.

uv's semantics (docs/uv-compat.md):
- a `[tool.uv.sources]` entry applies on a target when its `marker` is true there and its
  `extra` / `group` (if any) is active there; the package then comes from that index only;
- otherwise the package comes from the non-explicit indexes in declaration order, then the
  default index (the one marked `default = true`, else PyPI); explicit indexes serve only the
  packages routed to them;
- `index-strategy` says how those indexes combine (first-index: the first that has the package);
- `find-links` locations are no part of that order: their files are candidates beside those of
  the indexes (`Route.alongside`), as pip and uv merge them, but never for a package a source
  entry routes (that package comes from its index only).

Unlike uv, a source applies to the package wherever it appears in the dependency graph, not only
where the project names it directly: a package pinned to an explicit index never comes from
another one.

Local packages come from no index: a workspace member (whatever requires it, even without a
`{ workspace = true }` entry: a local package is never taken from an index), or a package whose
`path` source applies on the target. Their route has no indexes and names the local source;
`planner/sources/` gives their one candidate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from packaging.utils import NormalizedName, canonicalize_name

from planner.errors import InputError
from planner.project.model import Index, IndexSource, IndexStrategy, LocalSource, PathSource, Project, WorkspaceSource
from planner.targets.model import Target


@dataclass(frozen=True)
class Route:
    package: NormalizedName
    indexes: tuple[Index, ...]  # in priority order
    strategy: IndexStrategy  # how several indexes combine; irrelevant for one
    source: IndexSource | None = None  # the source entry that decided, if any
    local: LocalSource | None = None  # a local package: where it comes from (then no indexes)
    # `find-links` locations consulted beside `indexes`, whatever the strategy (none when a
    # source entry decided).
    alongside: tuple[Index, ...] = ()

    @property
    def index_names(self) -> tuple[str, ...]:
        return tuple(index.name for index in self.indexes)

    @property
    def allowed_index_names(self) -> tuple[str, ...]:
        """Every index a candidate of this route may come from."""
        return self.index_names + tuple(index.name for index in self.alongside)

    def describe(self) -> str:
        if isinstance(self.local, WorkspaceSource):
            return "the workspace member"
        if isinstance(self.local, PathSource):
            where = f" (source rule at {self.local.origin})" if self.local.origin else ""
            return f"the path '{self.local.written}'{where}"
        names = " > ".join(self.index_names)
        if self.source is not None:
            return f"{names} (source rule at {self.source.origin})" if self.source.origin else names
        if len(self.indexes) > 1:
            names = f"{names} ({self.strategy.value})"
        if self.alongside:
            names += f", with {', '.join(index.name for index in self.alongside)}"
        return names


def source_applies(source: IndexSource | LocalSource, target: Target) -> bool:
    if source.extra is not None and source.extra not in target.extras:
        return False
    if source.group is not None and source.group not in target.groups:
        return False
    return source.marker is None or target.evaluate(source.marker)


def route(project: Project, target: Target, package: str) -> Route:
    name = canonicalize_name(package)
    if name in project.local_projects:
        declared = [s for s in project.uv.local_sources.get(name, ()) if isinstance(s, WorkspaceSource)]
        return Route(name, (), project.uv.index_strategy,
                     local=declared[0] if declared else WorkspaceSource(name))
    applicable = [s for s in project.uv.sources.get(name, ()) if source_applies(s, target)]
    paths = [s for s in project.uv.local_sources.get(name, ()) if source_applies(s, target)]
    if paths:
        chosen_path = paths[0]
        for other_source in (*paths[1:], *applicable):
            if not isinstance(other_source, PathSource) or other_source.path != chosen_path.path:
                what = (f"index '{other_source.index}'" if isinstance(other_source, IndexSource)
                        else other_source.describe())
                raise InputError(
                    f"on target '{target.name}', two sources for '{name}' apply and disagree: "
                    f"the path '{chosen_path.written}' (at {chosen_path.origin}) and {what}",
                    location=other_source.origin,
                    fix="make their marker/extra/group conditions exclusive",
                )
        return Route(name, (), project.uv.index_strategy, local=chosen_path)
    if applicable:
        chosen = applicable[0]
        for other in applicable[1:]:
            if other.index != chosen.index:
                raise InputError(
                    f"on target '{target.name}', two sources for '{name}' apply and disagree: "
                    f"index '{chosen.index}' (at {chosen.origin}) and index '{other.index}'",
                    location=other.origin,
                    fix="make their marker/extra/group conditions exclusive",
                )
        return Route(name, (project.index(chosen.index),), project.uv.index_strategy, chosen)
    default = project.default_index
    indexes = tuple(i for i in project.indexes
                    if not i.explicit and not i.find_links and i.name != default.name) + (default,)
    return Route(name, indexes, project.uv.index_strategy, alongside=project.find_links)


def source_routed_packages(project: Project) -> tuple[NormalizedName, ...]:
    return tuple(dict.fromkeys((*project.uv.sources, *project.uv.local_sources)))


def routing_table(project: Project, targets: Iterable[Target]) -> dict[str, dict[NormalizedName, Route]]:
    """Routes of every package that has a source rule, per target (also validates them)."""
    return {
        target.name: {package: route(project, target, package) for package in source_routed_packages(project)}
        for target in targets
    }
