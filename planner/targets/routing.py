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
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from packaging.utils import NormalizedName, canonicalize_name

from planner.errors import InputError
from planner.project.model import Index, IndexSource, IndexStrategy, Project
from planner.targets.model import Target


@dataclass(frozen=True)
class Route:
    package: NormalizedName
    indexes: tuple[Index, ...]  # in priority order
    strategy: IndexStrategy  # how several indexes combine; irrelevant for one
    source: IndexSource | None = None  # the source entry that decided, if any
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
        names = " > ".join(self.index_names)
        if self.source is not None:
            return f"{names} (source rule at {self.source.origin})" if self.source.origin else names
        if len(self.indexes) > 1:
            names = f"{names} ({self.strategy.value})"
        if self.alongside:
            names += f", with {', '.join(index.name for index in self.alongside)}"
        return names


def source_applies(source: IndexSource, target: Target) -> bool:
    if source.extra is not None and source.extra not in target.extras:
        return False
    if source.group is not None and source.group not in target.groups:
        return False
    return source.marker is None or target.evaluate(source.marker)


def route(project: Project, target: Target, package: str) -> Route:
    name = canonicalize_name(package)
    applicable = [s for s in project.uv.sources.get(name, ()) if source_applies(s, target)]
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
    return tuple(project.uv.sources)


def routing_table(project: Project, targets: Iterable[Target]) -> dict[str, dict[NormalizedName, Route]]:
    """Routes of every package that has a source rule, per target (also validates them)."""
    return {
        target.name: {package: route(project, target, package) for package in source_routed_packages(project)}
        for target in targets
    }
