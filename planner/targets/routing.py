"""Index routing: for (package, target), the index or ordered indexes it may come from.

uv's semantics (docs/uv-compat.md):
- a `[tool.uv.sources]` entry applies on a target when its `marker` is true there and its
  `extra` / `group` (if any) is active there; the package then comes from that index only;
- otherwise the package comes from the non-explicit indexes in declaration order, then the
  default index (the one marked `default = true`, else PyPI); explicit indexes serve only the
  packages routed to them;
- `index-strategy` says how those indexes combine (first-index: the first that has the package);
- `exclude-newer` (or the package's `exclude-newer-package`) hides files uploaded after a cut-off.
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

Git and URL packages (`git` / `url` sources, and requirements written with a URL, `name @ url`)
come from no index either: their route names the source (`Route.direct`). Which source wins:
a URL in `override-dependencies`; else the `[tool.uv.sources]` entries that apply (index, path,
git or url: two that disagree are an error); else a URL written in a requirement (as uv, one
per package wherever it appears, under the requirement's marker); else the indexes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from planner.errors import InputError
from planner.project.model import (
    DirectSource,
    GitSource,
    Index,
    IndexSource,
    IndexStrategy,
    LocalSource,
    PathSource,
    Project,
    SourceDeclaration,
    UrlSource,
    WorkspaceSource,
)
from planner.targets.model import Target


@dataclass(frozen=True)
class Route:
    package: NormalizedName
    indexes: tuple[Index, ...]  # in priority order
    strategy: IndexStrategy  # how several indexes combine; irrelevant for one
    source: IndexSource | None = None  # the source entry that decided, if any
    cutoff: datetime | None = None  # files uploaded later do not exist (exclude-newer)
    # Files an earlier plan installed, (index, version text, file name): candidate selection
    # keeps such a file when it still fits, instead of the best-ranked one (the solver sets it).
    prefer: tuple[tuple[str, str, str], ...] = ()
    # The one version whose candidates are wanted (the solver's fast path with pins); None: all.
    only: Version | None = None
    local: LocalSource | None = None  # a local package: where it comes from (then no indexes)
    # `find-links` locations consulted beside `indexes`, whatever the strategy (none when a
    # source entry decided).
    alongside: tuple[Index, ...] = ()
    direct: DirectSource | None = None  # a git or URL package: where it comes from (then no indexes)

    @property
    def index_names(self) -> tuple[str, ...]:
        return tuple(index.name for index in self.indexes)

    @property
    def allowed_index_names(self) -> tuple[str, ...]:
        """Every index a candidate of this route may come from."""
        return self.index_names + tuple(index.name for index in self.alongside)

    def describe(self) -> str:
        if self.direct is not None:
            return describe_direct(self.direct)
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


def describe_direct(source: DirectSource) -> str:
    """`git https://host/repo at tag 'v1' (source rule at pyproject.toml:12)`, credentials hidden."""
    what = f"git {source.reference}" if isinstance(source, GitSource) else f"the URL {source.reference.display_url}"
    rule = {SourceDeclaration.TABLE: "source rule", SourceDeclaration.REQUIREMENT: "requirement",
            SourceDeclaration.OVERRIDE: "override"}[source.declared]
    return f"{what} ({rule} at {source.origin})" if source.origin is not None else what


def source_applies(source: IndexSource | LocalSource | DirectSource, target: Target) -> bool:
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
    configured = project.uv.cutoff(name)
    cutoff = configured.timestamp if configured is not None else None  # (a span: once resolved)
    declared = [s for s in (*project.uv.local_sources.get(name, ()), *project.uv.direct_sources.get(name, ()),
                            *project.uv.sources.get(name, ())) if source_applies(s, target)]
    overrides = [s for s in declared if getattr(s, "declared", None) is SourceDeclaration.OVERRIDE]
    tables = [s for s in declared if getattr(s, "declared", SourceDeclaration.TABLE) is SourceDeclaration.TABLE]
    written = [s for s in declared if getattr(s, "declared", None) is SourceDeclaration.REQUIREMENT]
    for chosen in (overrides, tables, written):
        if chosen:
            return _routed(project, target, name, chosen, cutoff)
    default = project.default_index
    indexes = tuple(i for i in project.indexes
                    if not i.explicit and not i.find_links and i.name != default.name) + (default,)
    return Route(name, indexes, project.uv.index_strategy, alongside=project.find_links, cutoff=cutoff)


def _what(source: IndexSource | LocalSource | DirectSource) -> str:
    if isinstance(source, IndexSource):
        return f"index '{source.index}'"
    if isinstance(source, PathSource):
        return f"the path '{source.written}'"
    if isinstance(source, (GitSource, UrlSource)):
        return describe_direct(source).split(" (", 1)[0]
    return source.describe()


def _same_place(one: IndexSource | LocalSource | DirectSource, other: IndexSource | LocalSource | DirectSource) -> bool:
    if isinstance(one, IndexSource) and isinstance(other, IndexSource):
        return one.index == other.index
    if isinstance(one, PathSource) and isinstance(other, PathSource):
        return one.path == other.path
    if isinstance(one, (GitSource, UrlSource)) and type(one) is type(other):
        return one.reference == other.reference  # type: ignore[union-attr]
    return False


def _routed(project: Project, target: Target, name: NormalizedName,
            applicable: list[IndexSource | LocalSource | DirectSource], cutoff: datetime | None = None) -> Route:
    """The route of the sources that apply on `target` (all of one kind of declaration); two
    that lead to different places are an error naming both."""
    chosen = applicable[0]
    for other in applicable[1:]:
        if not _same_place(chosen, other):
            raise InputError(
                f"on target '{target.name}', two sources for '{name}' apply and disagree: "
                f"{_what(chosen)} (at {chosen.origin}) and {_what(other)}",
                location=other.origin,
                fix="make their marker/extra/group conditions exclusive",
            )
    if isinstance(chosen, IndexSource):
        return Route(name, (project.index(chosen.index),), project.uv.index_strategy, chosen, cutoff=cutoff)
    if isinstance(chosen, (GitSource, UrlSource)):
        return Route(name, (), project.uv.index_strategy, direct=chosen)
    return Route(name, (), project.uv.index_strategy, local=chosen)


def source_routed_packages(project: Project) -> tuple[NormalizedName, ...]:
    return tuple(dict.fromkeys((*project.uv.sources, *project.uv.local_sources, *project.uv.direct_sources)))


def routing_table(project: Project, targets: Iterable[Target]) -> dict[str, dict[NormalizedName, Route]]:
    """Routes of every package that has a source rule, per target (also validates them)."""
    return {
        target.name: {package: route(project, target, package) for package in source_routed_packages(project)}
        for target in targets
    }
