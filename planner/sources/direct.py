"""Git and URL packages as the solver sees them: one artifact each, and its metadata.

`DirectSources` turns a `GitSource` (its ref resolved to a commit with the real git, the commit
fetched once into the cache: planner/sources/git.py) or a `UrlSource` (the file downloaded once,
hashed and checked: url.py) into a `DirectDistribution`, once per run: one `Artifact` (a `vcs`
artifact pinned to the commit, or the wheel / sdist with its sha256) and its `CoreMetadata`. A
tree or archive whose metadata needs a build is built (`builds`: the commit's tree copied out of
the cache, keyed `git:<commit>[:<subdirectory>]`; an archive by its sha256), which also gives a
dynamic version; without a builder, or when the build fails, it is `Unusable` with the reason.
`planner/sources/provider.py` puts them in front of the indexes, so the solver never knows where a package comes from.

Everything that goes wrong is the user's to fix, so it is an `InputError` (exit 2) located at the
source rule or requirement in the pyproject, with the fix: an unknown ref, an unreachable or
access-denied repository, a missing subdirectory, a URL that serves no distribution, a sha256
that does not match, a distribution of another project. A broken `pyproject.toml` inside the
repository or archive is named by its own file, key and line, and the fix names the source.

Pinned commits: `git_pins` maps `git_pin_key(reference)` to a commit an earlier plan resolved
that reference to; such a reference keeps its commit (the remote is not asked where a branch
points now). The lock lifecycle passes the previous plan's commits, and none on upgrade. A pinned
commit that neither the cache nor the repository has any more (a rewritten branch) is given up:
the ref is resolved again and `warn` says so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from planner.errors import InputError
from planner.index.http import Fetcher
from planner.index.models import GIT_INDEX, URL_INDEX, Artifact, ArtifactKind, CoreMetadata, GitCommit, Unusable
from planner.project.model import DirectSource, GitSource, Project, UrlSource
from planner.project.references import DistributionKind, GitReference, GitRefKind
from planner.sources.git import GitError, GitMissingCommit, GitSources, git_version, normalized_url
from planner.sources.tree_metadata import DYNAMIC_VERSION, NeedsBuild
from planner.sources.url import DownloadedDistribution, UrlSourceError, UrlSources
from planner.targets.routing import describe_direct
from planner.urls import redact_text, strip_userinfo

if TYPE_CHECKING:
    from planner.sources.build import SourceBuilds

GitPinKey = tuple[str, str, str | None]


def git_pin_key(reference: GitReference) -> GitPinKey:
    """What a pinned commit is remembered by: the repository (normalized URL) and the ref as
    written (a subdirectory does not change which commit a ref names)."""
    return (normalized_url(reference.url), reference.ref.kind.value, reference.ref.name)


@dataclass(frozen=True)
class DirectDistribution:
    """A git or URL package as the solver sees it."""

    artifact: Artifact
    metadata: CoreMetadata | Unusable
    source: DirectSource
    # Its metadata needs a build: runs it (the builder, once per key) and gives the distribution
    # with the built metadata and version. None: the metadata above is final.
    build: Callable[[], DirectDistribution] | None = field(default=None, compare=False, repr=False)


class DirectSources:
    """Resolves the project's git and URL sources; one per run (a context manager).

    `cache_dir` is planner's cache folder (None: a temporary one, `--no-cache`). Creating it for
    a project with a git source checks that the `git` command works (GitUnavailable, exit 2)."""

    def __init__(self, project: Project, fetcher: Fetcher | None, cache_dir: Path | None, *, offline: bool = False,
                 git_pins: Mapping[GitPinKey, str] | None = None, environ: Mapping[str, str] | None = None,
                 builds: SourceBuilds | None = None, warn: Callable[[str], None] | None = None) -> None:
        if project.uses_git:
            git_version()  # start-up check: a clear message now, not in the middle of a solve
        self.project = project
        self._fetcher = fetcher
        self._cache_dir = cache_dir
        self._offline = offline
        self._environ = environ
        self.builds = builds  # checkouts and archives whose metadata needs a build
        self.git_pins: Mapping[GitPinKey, str] = MappingProxyType(dict(git_pins or {}))
        self._warn = warn
        self._git: GitSources | None = None
        self._urls: UrlSources | None = None
        self._found: dict[DirectSource, DirectDistribution] = {}
        self._lock = threading.Lock()  # targets are solved side by side; git runs one at a time

    def close(self) -> None:
        for opened in (self._git, self._urls):
            if opened is not None:
                opened.close()

    def __enter__(self) -> DirectSources:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def distributions(self) -> list[DirectDistribution]:
        """Every git and URL package read so far (for summaries, and the commits to keep)."""
        with self._lock:
            return list(self._found.values())

    def distribution(self, source: DirectSource) -> DirectDistribution:
        """The distribution behind `source`, read once per run."""
        with self._lock:
            found = self._found.get(source)
            if found is None:
                found = self._git_package(source) if isinstance(source, GitSource) else self._url_package(source)
                self._found[source] = found
        if found.build is None:
            return found
        built = found.build()  # outside the lock: other sources are read meanwhile
        with self._lock:
            if self._found[source].build is not None:
                self._found[source] = built
            return self._found[source]

    # -- git --------------------------------------------------------------------------------------
    def _git_sources(self) -> GitSources:
        if self._git is None:
            self._git = GitSources(self._cache_dir, offline=self._offline, environ=self._environ)
        return self._git

    def _git_package(self, source: GitSource) -> DirectDistribution:
        reference = source.reference
        git = self._git_sources()
        pinned = self.git_pins.get(git_pin_key(reference))
        try:
            try:
                resolved = git.resolve(reference, pinned=pinned)
            except GitMissingCommit:
                if pinned is None:
                    raise
                resolved = git.resolve(reference)
                if self._warn is not None:
                    self._warn(f"{source.package} ({source.origin}): the previous plan's commit {pinned} is no longer "
                               f"in {reference.display_url}; {reference.ref} was resolved again, to {resolved.commit}")
            metadata = git.metadata(resolved)
        except GitError as exc:
            raise _located(source, str(exc), exc.fix, _git_key(source, exc)) from None
        except InputError as exc:  # the repository's own pyproject.toml is broken
            raise _in_tree(source, exc) from None
        commit = resolved.commit
        repository = strip_userinfo(reference.url)
        version = _version(metadata)
        artifact = Artifact(
            index=GIT_INDEX, filename=f"{repository.rstrip('/').rsplit('/', 1)[-1]}@{commit[:12]}",
            url=reference.pep508_url(commit), name=source.package, version=version, kind=ArtifactKind.VCS,
            requires_python=metadata.requires_python if isinstance(metadata, CoreMetadata) else None,
            git=GitCommit(repository, reference.ref.name if reference.ref.kind is not GitRefKind.DEFAULT else None,
                          commit),
            subdirectory=reference.subdirectory,
        )
        found = DirectDistribution(artifact, self._usable(source, metadata, f"commit {commit[:12]} of"), source)
        if isinstance(metadata, NeedsBuild):
            label = f"{repository}@{commit[:12]}" + (f"#subdirectory={reference.subdirectory}"
                                                     if reference.subdirectory else "")

            def checkout() -> Path:
                from planner.sources.build import BuildFailed

                with self._lock:  # git runs one command at a time
                    try:
                        return git.checkout(resolved).project
                    except GitError as exc:
                        raise BuildFailed(f"{label}: cannot check it out to build it ({exc.problem})") from None

            key = f"git:{commit}" + (f":{reference.subdirectory}" if reference.subdirectory else "")
            return self._with_build(found, lambda builds, stated: builds.tree(
                checkout, key, source.package, stated, label, metadata.reason, copy=True))
        return found

    # -- URLs -------------------------------------------------------------------------------------
    def _url_sources(self) -> UrlSources:
        if self._urls is None:
            if self._fetcher is None:
                raise InputError("URL sources need the network client, and none was given")
            self._urls = UrlSources(self._fetcher, self._cache_dir, offline=self._offline)
        return self._urls

    def _url_package(self, source: UrlSource) -> DirectDistribution:
        urls = self._url_sources()
        try:
            found: DownloadedDistribution = urls.fetch(source.reference)
            metadata = urls.metadata(found, expected_name=source.package)
        except UrlSourceError as exc:
            raise _located(source, str(exc), exc.fix, "url") from None
        except InputError as exc:  # the archive's own pyproject.toml is broken
            raise _in_tree(source, exc) from None
        reference = source.reference
        version = reference.version if reference.kind.value == "wheel" and reference.version else _version(metadata)
        if version == DYNAMIC_VERSION and reference.version is not None:
            version = reference.version  # an sdist's file name says it
        artifact = found.artifact(URL_INDEX, source.package, version)
        artifact = replace(artifact, subdirectory=reference.subdirectory,
                           requires_python=metadata.requires_python if isinstance(metadata, CoreMetadata) else None)
        distribution = DirectDistribution(artifact, self._usable(source, metadata, "the file at"), source)
        if isinstance(metadata, NeedsBuild) and found.kind is not DistributionKind.WHEEL:
            label = strip_userinfo(reference.url)
            return self._with_build(distribution, lambda builds, stated: builds.sdist(
                found.path, found.sha256, found.filename, source.package, stated, label, metadata.reason,
                subdirectory=reference.subdirectory))
        return distribution

    def _with_build(self, found: DirectDistribution,
                    build: Callable[[SourceBuilds, str | None], CoreMetadata | Unusable]) -> DirectDistribution:
        """`found` (unusable: it needs a build) with the build that completes it, when this run
        builds; `[[tool.uv.dependency-metadata]]` for the package stands in without a build."""
        stated = found.artifact.version if found.artifact.version != DYNAMIC_VERSION else None
        given = self.project.uv.build.metadata_for(found.source.package, stated or DYNAMIC_VERSION)
        if given is not None:
            metadata = CoreMetadata(found.source.package, given.version or stated or DYNAMIC_VERSION,
                                    given.requires_dist, given.requires_python, given.provides_extra)
            return replace(found, artifact=_built_artifact(found.artifact, metadata), metadata=metadata)
        builds = self.builds
        if builds is None:
            return found

        def run() -> DirectDistribution:
            metadata = build(builds, str(stated) if stated else None)
            if isinstance(metadata, CoreMetadata):
                return replace(found, artifact=_built_artifact(found.artifact, metadata), metadata=metadata, build=None)
            return replace(found, metadata=Unusable(f"{describe_direct(found.source)}: {metadata.reason}"), build=None)

        return replace(found, build=run)

    # -- both -------------------------------------------------------------------------------------
    def _usable(self, source: DirectSource, metadata: CoreMetadata | NeedsBuild, what: str) -> CoreMetadata | Unusable:
        if isinstance(metadata, NeedsBuild):
            return Unusable(f"{what} {describe_direct(source)}: {metadata}")
        if metadata.name != source.package:
            where = describe_direct(source).split(" (", 1)[0]  # the location is the error's own
            raise InputError(f"{where} holds the project '{metadata.name}', not '{source.package}'",
                             location=source.locate("subdirectory" if isinstance(source, GitSource) else "url"),
                             fix=f"point the source of {source.package} at its own project (another subdirectory "
                                 f"or repository), or require '{metadata.name}'")
        return metadata


def undeclared_url(metadata: CoreMetadata, project: Project) -> str | None:
    """Why `metadata` cannot be used when it requires a package by URL the project does not
    declare (uv refuses such a transitive URL too), else None. A URL the project declares for
    the package (or a local package of that name) is what planner takes, wherever it appears."""
    declared: set[NormalizedName] = {*project.uv.direct_sources, *project.uv.local_sources, *project.local_projects}
    for requirement in metadata.requires_dist:
        if requirement.url and canonicalize_name(requirement.name) not in declared:
            name = canonicalize_name(requirement.name)
            return redact_text(
                f"it requires {name} from the URL {requirement.url}, which the project does not declare (planner "
                f"takes a package from a URL only when the project names it: add \"{name} @ {requirement.url}\" to "
                f"the project's dependencies, or a [tool.uv.sources] entry for {name})")
    return None


def _built_artifact(artifact: Artifact, metadata: CoreMetadata) -> Artifact:
    """The artifact with what its built (or given) metadata says: version, Requires-Python."""
    return replace(artifact, version=metadata.version,
                   requires_python=metadata.requires_python or artifact.requires_python)


def _version(metadata: CoreMetadata | NeedsBuild) -> Version:
    if isinstance(metadata, CoreMetadata):
        return metadata.version
    return metadata.version or DYNAMIC_VERSION


def _git_key(source: GitSource, error: GitError) -> str:
    """The key of the source table the error is about (the ref, the subdirectory or the URL)."""
    if "subdirectory" in error.problem or "has no directory" in error.problem:
        return "subdirectory"
    if error.problem.startswith(("it has no ", "the commit prefix")) and source.reference.ref.kind is not GitRefKind.DEFAULT:
        return source.reference.ref.kind.value
    return "git"


def _located(source: DirectSource, problem: str, fix: str | None, key: str) -> InputError:
    return InputError(f"{source.package}: {problem}", location=source.locate(key), fix=fix)


def _in_tree(source: DirectSource, error: InputError) -> InputError:
    where = f"the source at {source.origin}" if source.origin is not None else "its source"
    fix = (error.fix + "; or " if error.fix else "") + f"point {where} at another ref or file"
    return InputError(f"{source.package}: {error.problem}", location=error.location or source.origin, fix=fix)


__all__ = ["DirectDistribution", "DirectSources", "GitPinKey", "git_pin_key", "undeclared_url"]
