"""Shared command set-up: load the project, apply overrides, make targets concrete."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from planner.errors import Diagnostic, InputError
from planner.project.loader import find_pyproject, load_project
from planner.project.model import Project, frozen_mapping
from planner.project.overrides import IndexOverrides, apply_index_overrides
from planner.targets.model import Target
from planner.targets.resolve import resolve_targets
from planner.targets.routing import Route, routing_table

if TYPE_CHECKING:
    from planner.index.client import IndexClient
    from planner.solve.provider import IndexProvider
    from planner.sources.direct import GitPinKey
    from planner.sources.provider import LocalSourcesProvider


@dataclass(frozen=True)
class LoadedTargets:
    project: Project
    targets: tuple[Target, ...]
    derived: bool
    routes: dict[str, dict[str, Route]]  # target name -> package -> route (source-routed only)
    warnings: tuple[Diagnostic, ...]
    declared: Project | None = None  # the project as written, before command-line index overrides
    overrides: IndexOverrides = IndexOverrides()
    notes: tuple[str, ...] = ()  # how the default rule applied (derived targets)


def discover_pyproject(path: Path) -> Path:
    """The pyproject.toml a command works on, found as uv finds it: `path` itself when it is the
    file, else the first of the folder and its parents that holds one (`.`: the current folder)."""
    if path.is_file() or path.name == "pyproject.toml":
        return find_pyproject(path)
    if not path.is_dir():
        raise InputError(f"no such folder: {path}", fix="pass the project's directory or its pyproject.toml")
    start = path.resolve()
    looked = []
    for folder in (start, *start.parents):
        looked.append(folder)
        if (folder / "pyproject.toml").is_file():
            return _workspace_root_of(folder) or folder / "pyproject.toml"
    raise InputError(f"no pyproject.toml in {start} or any parent folder (looked in "
                     f"{', '.join(str(f) for f in looked)})",
                     fix="run planner in the project's folder or a subfolder, or pass -p/--project PATH")


def _workspace_root_of(member: Path) -> Path | None:
    """The pyproject.toml of the workspace whose members include the folder `member`, as uv
    finds it: the nearest parent folder with a `[tool.uv.workspace]` table decides (its
    `members` globs match `member` and its `exclude` globs do not); None when there is none, or
    when it leaves `member` out (then `member` is a project of its own)."""
    for folder in member.parents:
        candidate = folder / "pyproject.toml"
        if not candidate.is_file():
            continue
        try:
            workspace = tomllib.loads(candidate.read_text(encoding="utf-8")).get("tool", {}).get("uv", {}).get("workspace")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
            return None  # a broken file up there is no workspace planner can use: stay with the member
        if not isinstance(workspace, dict):
            continue

        def matched(key: str) -> bool:
            patterns = workspace.get(key, [])
            if not isinstance(patterns, list):
                return False
            for pattern in patterns:
                try:
                    if isinstance(pattern, str) and member in {p.resolve() for p in folder.glob(pattern)}:
                        return True
                except (ValueError, OSError):  # a pattern the loader will name as an error
                    continue
            return False

        return candidate if matched("members") and not matched("exclude") else None
    return None


def load_targets(path: Path, index_options: list[str], default_index: str | None) -> LoadedTargets:
    pyproject = discover_pyproject(path)
    overrides = IndexOverrides.parse(index_options, default_index, Path.cwd())
    declared = load_project(pyproject)
    project = resolve_spans(apply_index_overrides(declared, overrides))
    resolved = resolve_targets(project)
    return LoadedTargets(
        project=project,
        targets=resolved.targets,
        derived=resolved.derived,
        routes=routing_table(project, resolved.targets),
        warnings=project.warnings + resolved.warnings,
        declared=declared,
        overrides=overrides,
        notes=resolved.notes,
    )


def resolve_spans(project: Project) -> Project:
    """exclude-newer spans resolved against the clock (a compile resolves them again, reusing the
    timestamp its previous outputs recorded)."""
    from dataclasses import replace
    from datetime import UTC, datetime

    uv = project.uv
    if uv.exclude_newer is None and not uv.exclude_newer_package:
        return project
    now = datetime.now(UTC)
    return replace(project, uv=replace(
        uv, exclude_newer=uv.exclude_newer.resolved(now) if uv.exclude_newer else None,
        exclude_newer_package=frozen_mapping({
            name: None if cutoff is None else cutoff.resolved(now) for name, cutoff in uv.exclude_newer_package.items()})))


@dataclass(frozen=True)
class CacheOptions:
    cache_dir: Path | None = None
    no_cache: bool = False
    refresh: bool = False
    offline: bool = False


def target_platforms(targets: Iterable[Target]) -> frozenset[str]:
    """The platform tags of `targets`' wheel tags: a wheel for none of them installs nowhere."""
    return frozenset(tag.platform for target in targets for tag in target.tags)


@contextmanager
def open_index_client(loaded: LoadedTargets, options: CacheOptions, *, platforms: frozenset[str] | None = None,
                      warn: Callable[[str], None] | None = None,
                      log_request: Callable[[str], None] | None = None,
                      start: Callable[[IndexClient], None] | None = None) -> Iterator[IndexClient]:
    """An index client for the run: one connection pool, the shared on-disk cache. `platforms`
    (`target_platforms`) lets it leave out wheels no target can install; `warn` hears of
    unusable files; `log_request` of every HTTP response (`-vv`); `start` is called with the
    client as soon as it exists (to start downloads while the rest of the run loads)."""
    from planner.index.auth import CredentialStore
    from planner.index.cache import Cache, default_cache_dir
    from planner.index.client import IndexClient
    from planner.index.http import Fetcher

    if options.no_cache and options.offline:
        raise InputError("--offline needs the cache; it cannot be combined with --no-cache",
                         fix="drop one of the two options")
    cache = Cache(None if options.no_cache else (options.cache_dir or default_cache_dir()))
    with Fetcher(CredentialStore(loaded.project.indexes)) as fetcher:
        fetcher.on_request = log_request
        client = IndexClient(loaded.project, fetcher, cache, offline=options.offline, refresh=options.refresh,
                             platforms=platforms, warn=warn)
        try:
            if start is not None:
                start(client)
            yield client
        finally:
            client.close()


def index_provider(client: IndexClient, options: CacheOptions) -> IndexProvider:
    """The solver's provider for a run: the index client, and a metadata builder for sdists whose
    metadata needs a PEP 517 build (`PLANNER_BUILD_TIMEOUT`, `PLANNER_BUILD_JOBS`)."""
    from planner.solve.provider import IndexProvider
    from planner.sources.build import MetadataBuilder, build_settings_from_environment

    try:
        timeout, jobs = build_settings_from_environment()
    except ValueError as exc:
        raise InputError(str(exc), fix="unset the variable or give it a valid value") from None
    builder = MetadataBuilder(client.cache.root, offline=options.offline, refresh=options.refresh,
                              timeout=timeout, jobs=jobs)
    return IndexProvider(client, builder)


@contextmanager
def open_sources(loaded: LoadedTargets, options: CacheOptions, client: IndexClient, *,
                 git_pins: Mapping[GitPinKey, str] | None = None,
                 warn: Callable[[str], None] | None = None) -> Iterator[LocalSourcesProvider]:
    """What the solver asks for candidates and metadata: the project's local, git and URL
    packages in front of the indexes, all built by one metadata builder when their metadata
    needs a build. Checks at once that `git` works when a git source is used. `git_pins`: the
    commits an earlier plan resolved git refs to, kept (planner/cli/lifecycle.py); `warn` hears
    of a kept commit the repository no longer has."""
    from planner.index.cache import default_cache_dir
    from planner.sources.build import SourceBuilds
    from planner.sources.direct import DirectSources
    from planner.sources.provider import with_local_sources

    cache_dir = None if options.no_cache else (options.cache_dir or default_cache_dir())
    indexes = index_provider(client, options)
    assert indexes.builder is not None
    builds = SourceBuilds(indexes.builder, loaded.project, client.fetcher.credentials)
    with DirectSources(loaded.project, client.fetcher, cache_dir, offline=options.offline, builds=builds,
                       git_pins=git_pins, warn=warn) as direct:
        yield with_local_sources(loaded.project, indexes, direct, builds)
