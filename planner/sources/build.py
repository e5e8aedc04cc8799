"""PEP 517 metadata builds: the core metadata of a source tree, obtained the way installers do.

Given a source tree (an unpacked sdist; later a local tree or a git checkout) and a cache key that
names its content (an artifact's sha256, a commit id, a content hash of a tree: `tree_key`),
`MetadataBuilder.build_tree` (`build_sdist` for an sdist archive)

1. reads `[build-system]` from the tree's `pyproject.toml` (none: `setuptools>=40.8.0` and the
   legacy setuptools backend, as pip does);
2. makes an isolated build environment with uv (`uv venv`, `uv pip install`), whose
   `build-system.requires` (plus `tool.uv.extra-build-dependencies`, under
   `build-constraint-dependencies`) come from the project's own indexes only: index URLs and
   credentials travel in the environment, never on a command line, and every pip and uv
   configuration file or variable of the user is shut out;
3. asks the backend with `pyproject_hooks` (with `config-settings` and, in its environment,
   `extra-build-variables`): `get_requires_for_build_wheel` (installed too), then
   `prepare_metadata_for_build_wheel`, or `build_wheel` when the backend lacks that hook, whose
   wheel's `METADATA` is read;
4. validates the metadata (`planner.index.metadata.parse_core_metadata`) and records it, with the
   environment it was built on (interpreter, platform), as a data-only JSON record in the cache.

Builds have a time limit (`PLANNER_BUILD_TIMEOUT`, seconds, default 300, for the whole build)
and run a few at a time (`PLANNER_BUILD_JOBS`, default 2); one build per key however many
callers ask for it at once. A failed build raises `BuildFailed` whose reason ends with the
backend's last output lines (never a traceback). Failures are recorded too (a rerun, offline
or not, does not build again; `refresh=True` does), except time-outs, which a rerun may not
meet. When builds cannot run here at all (no uv, a full disk), `BuildsUnavailable` stops the run
(exit 2) instead of planning around the packages it could not build.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import tomllib
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement

from planner.errors import ExitCode, PlannerError
from planner.index.metadata import MetadataError, parse_core_metadata
from planner.index.models import BuiltOn, CoreMetadata, Unusable
from planner.project.model import Project

if TYPE_CHECKING:
    from packaging.utils import NormalizedName

    from planner.index.auth import CredentialStore

__all__ = [
    "BuildFailed",
    "BuildIndex",
    "BuildOptions",
    "BuildResult",
    "BuildStats",
    "BuildTimedOut",
    "BuildsUnavailable",
    "MetadataBuilder",
    "NotBuiltOffline",
    "SourceBuilds",
    "build_options",
    "build_settings_from_environment",
    "current_environment",
    "remove_stale_build_folders",
    "tree_key",
    "unpack_sdist",
]

RECORD_FORMAT = "planner-build-1"
DEFAULT_REQUIRES = ("setuptools>=40.8.0",)
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"
DEFAULT_TIMEOUT = 300.0
DEFAULT_JOBS = 2
TAIL_LINES = 6  # of the backend's output, in a failure's reason
_LINE_CHARS = 240
_MAX_METADATA_BYTES = 16 * 1024 * 1024
_MAX_PYPROJECT_BYTES = 4 * 1024 * 1024
_MAX_UNPACKED_BYTES = 4 * 1024 * 1024 * 1024
_MAX_MEMBERS = 200_000
_BACKEND_RE = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?$")


# -- values ---------------------------------------------------------------------------------------
def _frozen(data: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class BuildIndex:
    """An index build requirements may come from. `url` may carry credentials (user info): it
    is only ever handed to uv through its environment."""

    name: str
    url: str = field(repr=False)

    @property
    def public_url(self) -> str:
        from planner.urls import strip_userinfo

        return strip_userinfo(self.url)


@dataclass(frozen=True)
class BuildOptions:
    """What the project says about building one package: its indexes (in priority order, the
    default last), uv's index strategy, and `tool.uv` build settings that apply to it."""

    indexes: tuple[BuildIndex, ...]
    index_strategy: str = "first-index"
    extra_requires: tuple[str, ...] = ()  # tool.uv.extra-build-dependencies
    constraints: tuple[str, ...] = ()  # tool.uv.build-constraint-dependencies
    config_settings: Mapping[str, str | tuple[str, ...]] = field(default_factory=_frozen)
    variables: Mapping[str, str] = field(default_factory=_frozen)  # tool.uv.extra-build-variables

    def secrets(self) -> tuple[str, ...]:
        """The credentials in the index URLs, to hide from any text shown (user names too)."""
        from urllib.parse import unquote, urlsplit

        found = []
        for index in self.indexes:
            parts = urlsplit(index.url)
            if parts.username:
                found.append(unquote(parts.username))
            if parts.password:
                found += [unquote(parts.password), parts.password]
        return tuple(found)

    def fingerprint(self) -> str:
        """Everything that can change what a build produces (credentials excluded)."""
        data = {
            "indexes": [[i.name, i.public_url] for i in self.indexes],
            "strategy": self.index_strategy,
            "extra": list(self.extra_requires),
            "constraints": list(self.constraints),
            "config": {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(self.config_settings.items())},
            "variables": dict(sorted(self.variables.items())),
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def build_options(project: Project, package: NormalizedName, credentials: CredentialStore) -> BuildOptions:
    """How to build `package`'s metadata for `project`: its indexes in uv's order (explicit ones
    serve only packages routed to them, so no build requirement), credentials in their URLs (for
    uv's environment only), and the `tool.uv` build settings that apply to it."""
    from urllib.parse import quote, urlsplit, urlunsplit

    from planner.index.auth import split_userinfo

    indexes = []
    for index in project.indexes:
        if index.explicit:
            continue
        url, inline = split_userinfo(index.url)
        creds = inline or credentials.for_url(url)
        if creds is not None:
            parts = urlsplit(url)
            userinfo = quote(creds.username, safe="") + (f":{quote(creds.password, safe='')}" if creds.password else "")
            url = urlunsplit((parts.scheme, f"{userinfo}@{parts.netloc}", parts.path, parts.query, parts.fragment))
        indexes.append(BuildIndex(index.name, url))
    build = project.uv.build
    return BuildOptions(
        indexes=tuple(indexes),
        index_strategy=project.uv.index_strategy.value,
        extra_requires=tuple(str(d.requirement) for d in build.extra_dependencies.get(package, ())),
        constraints=tuple(str(d.requirement) for d in build.constraints),
        config_settings=build.config_for(package),
        variables=build.variables.get(package, {}),
    )


class SourceBuilds:
    """Metadata builds for the distributions that come from no index: local source trees (path
    sources, workspace members), git checkouts and sdist files (path and URL sources). One per
    run, around the run's `MetadataBuilder` (shared with the index provider: one build per key).

    Each method answers the metadata, or `Unusable` with the reason (a build that failed, or a
    setting that refuses it); offline without a record of the build it raises `OfflineMiss`.
    `[[tool.uv.dependency-metadata]]` is the caller's to check first: it needs no build."""

    def __init__(self, builder: MetadataBuilder, project: Project, credentials: CredentialStore | None) -> None:
        self.builder = builder
        self.project = project
        self.credentials = credentials

    def options(self, name: NormalizedName) -> BuildOptions:
        from planner.index.auth import CredentialStore

        return build_options(self.project, name, self.credentials or CredentialStore(self.project.indexes))

    def tree(self, tree: Path | Callable[[], Path], key: str | Callable[[], str], name: NormalizedName,
             version: str | None, label: str, reason: str, *, copy: bool = False) -> CoreMetadata | Unusable:
        """A source tree's metadata by a build. `key` names its content (`tree_key`, or
        `git:<commit>[:<subdirectory>]`); `version`: the one it states (None when dynamic)."""
        return self._run(name, label, reason, lambda: self.builder.build_tree(
            tree, key() if callable(key) else key, self.options(name), expected_name=name, expected_version=version,
            label=label, copy=copy))

    def sdist(self, path: Path, sha256: str, filename: str, name: NormalizedName, version: str | None, label: str,
              reason: str, *, subdirectory: str | None = None) -> CoreMetadata | Unusable:
        """An sdist file's (or source archive's) metadata by a build; the file stays where it is."""
        key = f"sha256:{sha256}" + (f":{subdirectory}" if subdirectory else "")
        return self._run(name, label, reason, lambda: self.builder.build_sdist(
            key, lambda: path, filename, self.options(name), expected_name=name, expected_version=version,
            subdirectory=subdirectory, owned=False))

    def _run(self, name: NormalizedName, label: str, reason: str,
             build: Callable[[], BuildResult]) -> CoreMetadata | Unusable:
        from planner.index.client import OfflineMiss

        refused = self.project.uv.build.refused_build(name)
        if refused is not None:
            return Unusable(f"its metadata needs a build ({reason}), and {refused}")
        try:
            return build().metadata
        except BuildFailed as exc:
            return Unusable(f"its metadata needs a build ({reason}), which failed: {exc}")
        except NotBuiltOffline:
            raise OfflineMiss(f"metadata of {label}, built from its source (it needs a build: {reason})") from None


def current_environment() -> BuiltOn:
    """The environment builds run in: this interpreter and machine."""
    return BuiltOn(
        python_version=platform.python_version(),
        implementation=sys.implementation.name,
        sys_platform=sys.platform,
        machine=platform.machine(),
    )


@dataclass(frozen=True)
class BuildResult:
    metadata: CoreMetadata  # with `built_on` set
    metadata_file: bytes  # METADATA as the backend wrote it
    hook: str  # prepare_metadata_for_build_wheel or build_wheel
    from_cache: bool = False


class BuildFailed(Exception):
    """A build that gave no metadata. `reason` is one line for an explanation; `tail` holds the
    backend's last output lines (tracebacks left out)."""

    def __init__(self, reason: str, tail: tuple[str, ...] = (), *, recorded: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tail = tail
        self.recorded = recorded  # whether a rerun may reuse this failure

    def __str__(self) -> str:
        if not self.tail:
            return self.reason
        return f"{self.reason}: " + " | ".join(self.tail)


class BuildTimedOut(BuildFailed):
    pass


class BuildsUnavailable(PlannerError):
    """Builds cannot run on this machine at all (no uv, no disk space, no environment can be
    made): the run stops with this error rather than plan around packages it could not build."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix

    def render(self) -> str:
        return f"{self}\n  fix: {self.fix}"


class NotBuiltOffline(Exception):
    """Offline, and no record of this build is in the cache."""


@dataclass
class BuildStats:
    builds: int = 0  # builds run (successful or not)
    from_cache: int = 0  # results (metadata or a recorded failure) read from the cache
    failures: int = 0
    seconds: float = 0.0  # spent building
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: float) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


def build_settings_from_environment(environ: Mapping[str, str] | None = None) -> tuple[float, int]:
    """(`PLANNER_BUILD_TIMEOUT`, `PLANNER_BUILD_JOBS`), validated; ValueError names the variable."""
    environ = os.environ if environ is None else environ
    raw_timeout = environ.get("PLANNER_BUILD_TIMEOUT", "").strip()
    raw_jobs = environ.get("PLANNER_BUILD_JOBS", "").strip()
    try:
        timeout = float(raw_timeout) if raw_timeout else DEFAULT_TIMEOUT
        if not 0 < timeout <= 86_400:
            raise ValueError
    except ValueError:
        raise ValueError(f"PLANNER_BUILD_TIMEOUT={raw_timeout!r}: expected seconds, more than 0 and at most 86400") from None
    try:
        jobs = int(raw_jobs) if raw_jobs else DEFAULT_JOBS
        if not 1 <= jobs <= 64:
            raise ValueError
    except ValueError:
        raise ValueError(f"PLANNER_BUILD_JOBS={raw_jobs!r}: expected a whole number from 1 to 64") from None
    return timeout, jobs


# -- the builder ----------------------------------------------------------------------------------
_UV_LOOKUP = threading.Lock()  # see `MetadataBuilder._uv_binary`


class MetadataBuilder:
    """Builds metadata, at most `jobs` at a time, each key once, cached under `cache_dir`."""

    def __init__(self, cache_dir: Path | None, *, offline: bool = False, refresh: bool = False,
                 timeout: float = DEFAULT_TIMEOUT, jobs: int = DEFAULT_JOBS, uv: str | None = None,
                 python: str | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.cache_dir = cache_dir / "builds" if cache_dir is not None else None
        self.offline = offline
        self.refresh = refresh
        self.timeout = timeout
        self.python = python or sys.executable
        self.environment = current_environment()
        self.stats = BuildStats()
        self._uv = uv
        self._environ = dict(os.environ if environ is None else environ)
        self._slots = threading.BoundedSemaphore(jobs)
        self._guard = threading.Lock()
        self._inflight: dict[str, Future[BuildResult]] = {}
        self._done: dict[str, BuildResult | BuildFailed] = {}
        remove_stale_build_folders()

    # -- public ---------------------------------------------------------------------------------
    def build_tree(self, tree: Path | Callable[[], Path], key: str, options: BuildOptions, *,
                   expected_name: str | None = None, expected_version: str | None = None, label: str | None = None,
                   copy: bool = False) -> BuildResult:
        """The metadata of the source tree at `tree` (or that `tree()` makes, called only when a
        build runs), whose content `key` names. `copy`: build a copy in the build's folder (a
        checkout in the cache stays untouched); else the backend runs in the tree itself, as pip
        and uv build local trees (a version plugin there finds the repository around it)."""
        def work() -> BuildResult:
            path = tree() if callable(tree) else tree
            return self._build(path, options, expected_name, expected_version, label or path.name, copy=copy)

        return self._once(key, options, expected_name, expected_version, work)

    def build_sdist(self, key: str, fetch: Callable[[], Path], filename: str, options: BuildOptions, *,
                    expected_name: str | None = None, expected_version: str | None = None,
                    subdirectory: str | None = None, owned: bool = True) -> BuildResult:
        """The metadata of an sdist (or any source archive, with the project in `subdirectory`):
        from the cache when built before, else `fetch()` (a path to the verified archive; removed
        afterwards when `owned`) is unpacked and built."""
        def work() -> BuildResult:
            archive = fetch()
            try:
                with _BuildFolder("sdist") as folder:
                    tree = unpack_sdist(archive, Path(folder), filename)
                    if subdirectory:
                        tree = _inside(tree, subdirectory, filename)
                    return self._build(tree, options, expected_name, expected_version, filename)
            finally:
                if owned:
                    archive.unlink(missing_ok=True)

        return self._once(key, options, expected_name, expected_version, work)

    # -- once per key ---------------------------------------------------------------------------
    def _record_key(self, key: str, options: BuildOptions) -> str:
        env = self.environment
        text = "\0".join((RECORD_FORMAT, key, options.fingerprint(), env.implementation,
                          env.python_version, env.sys_platform, env.machine))
        return hashlib.sha256(text.encode()).hexdigest()

    def _once(self, key: str, options: BuildOptions, expected_name: str | None, expected_version: str | None,
              work: Callable[[], BuildResult]) -> BuildResult:
        record_key = self._record_key(key, options)
        with self._guard:
            done = self._done.get(record_key)
            future = self._inflight.get(record_key)
            owner = done is None and future is None
            if owner:
                future = self._inflight[record_key] = Future()
        if done is not None:
            if isinstance(done, BuildFailed):
                raise done
            return done
        if not owner:
            assert future is not None
            return future.result()  # the build another caller runs (its failure is raised here too)
        assert future is not None
        try:
            result = self._cached_or_built(record_key, key, options, expected_name, expected_version, work)
        except BuildFailed as exc:
            with self._guard:
                self._done[record_key] = exc
                self._inflight.pop(record_key, None)
            future.set_exception(exc)
            raise
        except BaseException as exc:
            with self._guard:
                self._inflight.pop(record_key, None)
            future.set_exception(exc)
            raise
        with self._guard:
            self._done[record_key] = result
            self._inflight.pop(record_key, None)
        future.set_result(result)
        return result

    def _cached_or_built(self, record_key: str, key: str, options: BuildOptions, expected_name: str | None,
                         expected_version: str | None, work: Callable[[], BuildResult]) -> BuildResult:
        if not self.refresh:
            cached = self._read_record(record_key, key, options, expected_name, expected_version)
            if cached is not None:
                self.stats.add(from_cache=1)
                if isinstance(cached, BuildFailed):
                    raise cached
                return cached
        if self.offline:
            raise NotBuiltOffline(key)
        with self._slots:
            started = time.monotonic()
            try:
                try:
                    result = work()
                except OSError as exc:  # a full disk, a folder that cannot be made: not the package's fault
                    raise BuildsUnavailable(f"a metadata build cannot run on this machine: {exc.strerror or exc}",
                                            "free disk space (or point TMPDIR and --cache-dir elsewhere)") from None
            except BuildFailed as exc:
                self.stats.add(builds=1, failures=1, seconds=time.monotonic() - started)
                if exc.recorded:
                    self._write_record(record_key, key, options, failure=exc)
                raise
            self.stats.add(builds=1, seconds=time.monotonic() - started)
        self._write_record(record_key, key, options, result=result)
        return result

    # -- one build ------------------------------------------------------------------------------
    def _build(self, tree: Path, options: BuildOptions, expected_name: str | None, expected_version: str | None,
               label: str, *, copy: bool = False) -> BuildResult:
        from pyproject_hooks import BackendUnavailable, BuildBackendHookCaller, HookMissing

        _quiet_backend_warnings()
        deadline = time.monotonic() + self.timeout
        requires, backend, backend_path = read_build_system(tree)
        config = {k: list(v) if isinstance(v, tuple) else v for k, v in options.config_settings.items()} or None
        # Everything a build makes (the environment, uv's downloads for it, a copied tree, the
        # metadata) lives in this one folder, removed when the build ends however it ends: at
        # most `jobs` of them exist at once, whatever a run builds (docs/builds.md).
        with _BuildFolder("build") as work_dir:
            work = Path(work_dir)
            if copy:
                tree = _copy_tree(tree, work / "source" / (tree.name or "tree"))
            python = self._make_environment(work, label, deadline)
            self._install(python, work, [*requires, *options.extra_requires], options, label, deadline, "build-system.requires")
            runner = _HookRunner(self._hook_environ(options, python, work), deadline, label, self.timeout,
                                 options.secrets())
            caller = BuildBackendHookCaller(str(tree), backend, backend_path, runner=runner, python_executable=str(python))
            try:
                more = [r for r in caller.get_requires_for_build_wheel(config) if r not in requires]
                if more:
                    self._install(python, work, more, options, label, deadline, "get_requires_for_build_wheel")
                metadata_dir = work / "metadata"
                metadata_dir.mkdir()
                try:
                    name = caller.prepare_metadata_for_build_wheel(str(metadata_dir), config, _allow_fallback=False)
                    hook = "prepare_metadata_for_build_wheel"
                    data = _read_metadata_dir(metadata_dir, name, label)
                except HookMissing:
                    wheel_dir = work / "wheel"
                    wheel_dir.mkdir()
                    hook = "build_wheel"
                    name = caller.build_wheel(str(wheel_dir), config)
                    data = _read_wheel_metadata(wheel_dir, name, label)
            except BackendUnavailable as exc:
                raise BuildFailed(f"{label}: its build backend '{backend}' cannot be imported",
                                  _clean_tail(str(getattr(exc, "message", "") or exc).splitlines())) from None
            except (KeyError, ValueError, OSError) as exc:  # a hook that answered nonsense
                raise BuildFailed(f"{label}: the build backend gave no usable answer ({exc})") from None
        try:
            metadata = parse_core_metadata(data, origin=f"metadata built from {label}")
        except MetadataError as exc:
            raise BuildFailed(str(exc)) from None
        _check_identity(metadata, expected_name, expected_version, label)
        metadata = _with_built_on(metadata, self.environment)
        return BuildResult(metadata, data, hook)

    def _base_environ(self) -> dict[str, str]:
        """This process's environment without any pip or uv setting (the user's configuration
        would add indexes, constraints or find-links that the project does not name)."""
        drop = ("PIP_", "UV_", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_PREFIX", "__PYVENV_LAUNCHER__")
        env = {k: v for k, v in self._environ.items() if not k.startswith(drop)}
        env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
        return env

    def _uv_environ(self, options: BuildOptions | None, work: Path) -> dict[str, str]:
        env = self._base_environ()
        env.update(UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS="1")
        # uv's downloads for this build stay in the build's folder and go with it: a run that
        # builds many releases (each installing its own torch) never piles them up.
        env["UV_CACHE_DIR"] = str(work / "uv-cache")
        env["TMPDIR"] = str(work)
        if options is not None and options.indexes:
            *others, default = options.indexes
            env["UV_DEFAULT_INDEX"] = default.url
            if others:
                env["UV_INDEX"] = " ".join(f"{i.name}={i.url}" for i in others)
            env["UV_INDEX_STRATEGY"] = options.index_strategy
        return env

    def _hook_environ(self, options: BuildOptions, python: Path, work: Path) -> dict[str, str]:
        """For the backend: legacy `setup_requires` fetching goes through pip, so pip gets the
        project's indexes too (and nothing else); its temporary files go in the build's folder."""
        env = self._base_environ()
        env["TMPDIR"] = str(work)
        if options.indexes:
            *others, default = options.indexes
            env["PIP_INDEX_URL"] = default.url
            if others:
                env["PIP_EXTRA_INDEX_URL"] = " ".join(i.url for i in others)
        env["PATH"] = os.pathsep.join([str(python.parent), env.get("PATH", "")])
        env.update(options.variables)
        return env

    def _uv_binary(self) -> str:
        # Once, and never by two build threads at a time: `find_uv_bin` reads `sysconfig`, whose
        # first use fills its table while another thread may already see it half-filled
        # (`get_config_var("EXE")` then answers None).
        with _UV_LOOKUP:
            if self._uv is None:
                try:
                    from uv import find_uv_bin

                    self._uv = find_uv_bin()
                except (ImportError, FileNotFoundError):
                    self._uv = shutil.which("uv") or ""
        if not self._uv:
            raise BuildsUnavailable("uv, which planner makes build environments with, is not installed",
                                    "pip install uv (a dependency of planner)")
        return self._uv

    def _make_environment(self, work: Path, label: str, deadline: float) -> Path:
        venv = work / "env"
        argv = [self._uv_binary(), "venv", "--quiet", "--no-project", "--python", self.python, str(venv)]
        code, tail = _run(argv, self._uv_environ(None, work), work, deadline)
        if code == _TIMED_OUT:
            raise BuildTimedOut(f"{label}: making the build environment took longer than {self.timeout:g} s",
                                recorded=False)
        if code != 0:
            shown = " | ".join(_clean_tail(tail))
            raise BuildsUnavailable(f"uv could not make a build environment for {label}" + (f": {shown}" if shown else ""),
                                    f"check that uv runs with the interpreter {self.python}")
        python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        return python

    def _install(self, python: Path, work: Path, requirements: list[str], options: BuildOptions, label: str,
                 deadline: float, what: str) -> None:
        if not requirements:
            return
        for text in requirements:
            try:
                Requirement(text)
            except InvalidRequirement as exc:
                raise BuildFailed(f"{label}: {what} holds an invalid requirement {text!r} ({exc})") from None
        listing = work / f"requires-{len(list(work.glob('requires-*')))}.txt"
        listing.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        argv = [self._uv_binary(), "pip", "install", "--quiet", "--python", str(python), "-r", str(listing)]
        if options.constraints:
            constraints = work / "build-constraints.txt"
            constraints.write_text("\n".join(options.constraints) + "\n", encoding="utf-8")
            argv += ["--constraint", str(constraints)]
        code, tail = _run(argv, self._uv_environ(options, work), work, deadline)
        if code == _TIMED_OUT:
            raise BuildTimedOut(f"{label}: installing its {what} took longer than {self.timeout:g} s", recorded=False)
        if code != 0:
            shown = ", ".join(requirements)
            raise BuildFailed(f"{label}: installing its {what} ({shown}) failed", _clean_tail(tail, options.secrets()))

    # -- records --------------------------------------------------------------------------------
    def _record_path(self, record_key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / record_key[:2] / f"{record_key}.json"

    def _write_record(self, record_key: str, key: str, options: BuildOptions, *, result: BuildResult | None = None,
                      failure: BuildFailed | None = None) -> None:
        path = self._record_path(record_key)
        if path is None:
            return
        env = self.environment
        payload: dict[str, Any] = {
            "format": RECORD_FORMAT, "key": key, "options": options.fingerprint(),
            "environment": {"python_version": env.python_version, "implementation": env.implementation,
                            "sys_platform": env.sys_platform, "machine": env.machine},
        }
        if result is not None:
            payload.update(outcome="metadata", hook=result.hook, metadata=result.metadata_file.decode("utf-8", "replace"))
        elif failure is not None:
            payload.update(outcome="failed", reason=failure.reason, tail=list(failure.tail))
        body = json.dumps(payload, sort_keys=True)
        document = json.dumps({"sha256": hashlib.sha256(body.encode()).hexdigest(), "record": payload}, sort_keys=True)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(document)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            pass  # a cache that cannot be written costs a build next time, nothing else

    def _read_record(self, record_key: str, key: str, options: BuildOptions, expected_name: str | None,
                     expected_version: str | None) -> BuildResult | BuildFailed | None:
        """The recorded outcome, or None when there is none or it does not check out (then the
        build runs again: nothing in the cache is trusted unchecked)."""
        path = self._record_path(record_key)
        if path is None:
            return None
        try:
            with path.open("rb") as handle:
                raw = handle.read(_MAX_METADATA_BYTES * 2 + 1)
            document = json.loads(raw)
            record = document["record"]
            if not isinstance(record, dict) or len(raw) > _MAX_METADATA_BYTES * 2:
                return None
            body = json.dumps(record, sort_keys=True)
            if document.get("sha256") != hashlib.sha256(body.encode()).hexdigest():
                return None
            if record.get("format") != RECORD_FORMAT or record.get("key") != key \
                    or record.get("options") != options.fingerprint():
                return None
            env = record["environment"]
            built_on = BuiltOn(python_version=_text(env["python_version"]), implementation=_text(env["implementation"]),
                               sys_platform=_text(env["sys_platform"]), machine=_text(env["machine"]))
            if record.get("outcome") == "failed":
                tail = tuple(_text(line) for line in record.get("tail", []))
                return BuildFailed(_text(record["reason"]), tail)
            if record.get("outcome") != "metadata" or record.get("hook") not in ("prepare_metadata_for_build_wheel",
                                                                              "build_wheel"):
                return None
            data = _text(record["metadata"]).encode("utf-8")
            metadata = parse_core_metadata(data, expected_name=expected_name, expected_version=expected_version)
        except (OSError, ValueError, KeyError, TypeError):  # MetadataError and JSON errors are ValueErrors
            return None
        return BuildResult(_with_built_on(metadata, built_on), data, record["hook"], from_cache=True)


def _check_identity(metadata: CoreMetadata, expected_name: str | None, expected_version: str | None,
                    label: str) -> None:
    """A build must give the project and version it was asked for (vllm built for CPU calls
    itself `0.33.0+cpu`): pip and uv refuse to install such a build, so planner cannot plan it."""
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    name_ok = expected_name is None or canonicalize_name(expected_name) == metadata.name
    version_ok = expected_version is None or Version(expected_version) == metadata.version
    if not (name_ok and version_ok):
        wanted = f"{expected_name or metadata.name} {expected_version or metadata.version}"
        raise BuildFailed(f"{label}: the build says it is {metadata.name} {metadata.version}, not {wanted} "
                          "(installers refuse such a build)")


_QUIETED = False


def _quiet_backend_warnings() -> None:
    """pyproject_hooks re-raises a backend's warnings (deprecations in setup.py, say) as Python
    warnings in this process; they would reach the user's terminal as noise. Once per process."""
    global _QUIETED
    if not _QUIETED:
        import warnings

        from pyproject_hooks import BuildBackendWarning

        warnings.filterwarnings("ignore", category=BuildBackendWarning)
        _QUIETED = True


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _with_built_on(metadata: CoreMetadata, built_on: BuiltOn) -> CoreMetadata:
    from dataclasses import replace

    return replace(metadata, built_on=built_on)


# -- the tree's build system ----------------------------------------------------------------------
def read_build_system(tree: Path) -> tuple[list[str], str, list[str] | None]:
    """(requires, backend, backend-path) of the tree, with pip's defaults for what is missing."""
    pyproject = tree / "pyproject.toml"
    if not pyproject.is_file():
        if not (tree / "setup.py").is_file() and not (tree / "setup.cfg").is_file():
            raise BuildFailed(f"{tree.name}: neither pyproject.toml nor setup.py: not a Python source tree")
        return list(DEFAULT_REQUIRES), LEGACY_BACKEND, None
    try:
        with pyproject.open("rb") as handle:
            raw = handle.read(_MAX_PYPROJECT_BYTES + 1)
        if len(raw) > _MAX_PYPROJECT_BYTES:
            raise BuildFailed(f"{tree.name}: pyproject.toml is implausibly large")
        document = tomllib.loads(raw.decode("utf-8").removeprefix("\ufeff"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BuildFailed(f"{tree.name}: its pyproject.toml does not parse ({exc})") from None
    table = document.get("build-system")
    if table is None:
        return list(DEFAULT_REQUIRES), LEGACY_BACKEND, None
    if not isinstance(table, dict):
        raise BuildFailed(f"{tree.name}: [build-system] in its pyproject.toml is not a table")
    requires = table.get("requires", list(DEFAULT_REQUIRES))
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise BuildFailed(f"{tree.name}: build-system.requires in its pyproject.toml is not a list of strings")
    backend = table.get("build-backend", LEGACY_BACKEND)
    if not isinstance(backend, str) or not _BACKEND_RE.match(backend.strip()):
        raise BuildFailed(f"{tree.name}: build-system.build-backend {backend!r} is not a module path")
    backend_path = table.get("backend-path")
    if backend_path is not None:
        if not isinstance(backend_path, list) or not all(isinstance(p, str) for p in backend_path):
            raise BuildFailed(f"{tree.name}: build-system.backend-path is not a list of strings")
        root = tree.resolve()
        for entry in backend_path:  # PEP 517: inside the tree
            resolved = (root / entry).resolve()
            if resolved != root and root not in resolved.parents:
                raise BuildFailed(f"{tree.name}: build-system.backend-path {entry!r} leads outside the source tree")
    return list(requires), backend.strip(), backend_path


# -- running processes ----------------------------------------------------------------------------
_TIMED_OUT = -999
# The process groups of the builds running now and the folders they use. Each build runs in its
# own session (so a time-out can kill the whole group), which also shields it from the signal
# that stops planner: `stop_running_builds` kills them and waits for their folders to go.
_LIVE_LOCK = threading.Lock()
_LIVE_GROUPS: set[int] = set()
_LIVE_FOLDERS: set[str] = set()
_STOPPING = threading.Event()


def stop_running_builds(wait: float = 10.0) -> None:
    """Planner is interrupted (Ctrl-C, SIGTERM): kill every build's process group, so no build
    goes on installing into a folder no one removes, and give the builds up to `wait` seconds
    to remove their folders (what is left is removed here). A stopped build records nothing."""
    _STOPPING.set()
    with _LIVE_LOCK:
        groups = list(_LIVE_GROUPS)
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        with _LIVE_LOCK:
            if not _LIVE_FOLDERS:
                return
        time.sleep(0.05)
    with _LIVE_LOCK:
        left = list(_LIVE_FOLDERS)
    for folder in left:
        shutil.rmtree(folder, ignore_errors=True)


class _BuildFolder:
    """`tempfile.TemporaryDirectory` whose folder `stop_running_builds` knows of."""

    def __init__(self, kind: str) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix=_temporary_prefix(kind), ignore_cleanup_errors=True)

    def __enter__(self) -> str:
        name = self._folder.__enter__()
        with _LIVE_LOCK:
            _LIVE_FOLDERS.add(name)
        return name

    def __exit__(self, *exc: object) -> None:
        try:
            self._folder.__exit__(None, None, None)
        finally:
            with _LIVE_LOCK:
                _LIVE_FOLDERS.discard(self._folder.name)


def _run(argv: list[str], env: Mapping[str, str], cwd: Path, deadline: float) -> tuple[int, list[str]]:
    """Run `argv` until it exits or `deadline` passes (then its whole process group is killed).
    Returns (exit code or _TIMED_OUT, the last lines of its output)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return _TIMED_OUT, []
    tail: deque[str] = deque(maxlen=200)
    if _STOPPING.is_set():
        raise BuildFailed("planner was interrupted", recorded=False)
    try:
        process = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        return 127, [f"cannot run {Path(argv[0]).name}: {exc.strerror}"]
    with _LIVE_LOCK:
        _LIVE_GROUPS.add(process.pid)
    if _STOPPING.is_set():  # (stopped between the check above and the start)
        _kill_group(process)

    def read() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            tail.append(raw.decode("utf-8", "replace").rstrip()[:_LINE_CHARS])

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        code = process.wait(timeout=remaining)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        code = _TIMED_OUT
    except BaseException:  # Ctrl-C or SIGTERM while this thread waits: the build goes too
        _kill_group(process)
        raise
    finally:
        with _LIVE_LOCK:
            _LIVE_GROUPS.discard(process.pid)
    reader.join(timeout=5)
    if _STOPPING.is_set():
        raise BuildFailed("planner was interrupted", recorded=False)
    return code, list(tail)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()


class _HookRunner:
    """pyproject_hooks' subprocess runner: the time limit, the environment, the output's tail."""

    def __init__(self, environ: Mapping[str, str], deadline: float, label: str, timeout: float,
                 secrets: tuple[str, ...] = ()) -> None:
        self.environ = environ
        self.deadline = deadline
        self.label = label
        self.timeout = timeout
        self.secrets = secrets

    def __call__(self, cmd: list[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None) -> None:
        env = {**self.environ, **(extra_environ or {})}
        hook = cmd[2] if len(cmd) > 2 else "a hook"
        code, tail = _run(list(cmd), env, Path(cwd or "."), self.deadline)
        if code == _TIMED_OUT:
            raise BuildTimedOut(f"{self.label}: the build backend's {hook} did not finish within {self.timeout:g} s",
                                _clean_tail(tail, self.secrets), recorded=False)
        if code != 0:
            raise BuildFailed(f"{self.label}: the build backend's {hook} failed (exit {code})",
                              _clean_tail(tail, self.secrets))


def _clean_tail(lines: Iterable[str], secrets: Iterable[str] = ()) -> tuple[str, ...]:
    """The last meaningful output lines, tracebacks reduced to their final exception line, with
    URL credentials and every known secret hidden (an installer may quote an index URL)."""
    from planner.urls import redact_text

    hidden = [s for s in secrets if s]
    kept: list[str] = []
    in_traceback = False
    for line in lines:
        if line.startswith("Traceback (most recent call last)"):
            in_traceback = True
            continue
        if in_traceback:
            if line.startswith((" ", "\t")) or not line.strip():
                continue
            in_traceback = False  # the exception line ends the traceback: keep it
        if line.strip():
            kept.append(line.strip())
    out = []
    for line in kept[-TAIL_LINES:]:
        line = redact_text(line)
        for secret in hidden:
            line = line.replace(secret, "***")
        out.append(line)
    return tuple(out)


# -- metadata out of the backend's answers --------------------------------------------------------
def _plain_name(name: object, label: str, what: str) -> str:
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", ".."):
        raise BuildFailed(f"{label}: the build backend named an impossible {what} {name!r}")
    return name


def _read_metadata_dir(folder: Path, name: object, label: str) -> bytes:
    path = folder / _plain_name(name, label, "metadata folder") / "METADATA"
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_METADATA_BYTES + 1)
    except OSError:
        raise BuildFailed(f"{label}: prepare_metadata_for_build_wheel wrote no METADATA") from None
    if len(data) > _MAX_METADATA_BYTES:
        raise BuildFailed(f"{label}: the METADATA the backend wrote is implausibly large")
    return data


def _read_wheel_metadata(folder: Path, name: object, label: str) -> bytes:
    from planner.index.wheel_zip import ArchiveError, read_wheel_metadata_file

    path = folder / _plain_name(name, label, "wheel")
    try:
        with path.open("rb") as handle:
            return read_wheel_metadata_file(handle, path.name)
    except (OSError, ArchiveError) as exc:
        raise BuildFailed(f"{label}: the wheel the backend built has no readable METADATA ({exc})") from None


# -- source trees ---------------------------------------------------------------------------------
_SKIPPED_FOLDERS = frozenset({".git", ".hg", ".svn", "__pycache__", ".tox", ".nox", ".mypy_cache",
                              ".pytest_cache", ".ruff_cache", "node_modules"})


def _skipped(path: Path, top: bool) -> bool:
    """A folder a tree's key and a build's copy leave out: version control, caches, virtual
    environments, and what builds write into a tree (`*.egg-info`; `build/` and `dist/` at its top)."""
    name = path.name
    if not path.is_dir() or path.is_symlink():
        return False
    return (name in _SKIPPED_FOLDERS or name.endswith(".egg-info") or (top and name in ("build", "dist"))
            or (path / "pyvenv.cfg").is_file())


def tree_key(tree: Path) -> str:
    """`tree:<sha256>`: a key for `MetadataBuilder.build_tree` that changes whenever a file of a
    local source tree does (paths, bytes and the executable bit; links by their text, never
    followed). Version-control folders, caches, virtual environments and build outputs
    (`_skipped`) are left out, so a build in the tree does not change its key."""
    digest = hashlib.sha256()
    files = 0
    total = 0
    for folder, subfolders, names in os.walk(tree):
        here = Path(folder)
        subfolders[:] = sorted(d for d in subfolders if not _skipped(here / d, here == tree))
        for name in sorted(names):
            path = here / name
            relative = path.relative_to(tree).as_posix()
            files += 1
            if files > _MAX_MEMBERS:
                raise BuildFailed(f"{tree.name}: more than {_MAX_MEMBERS} files: not a source tree to build")
            if path.is_symlink():
                digest.update(b"L\0" + relative.encode() + b"\0" + os.readlink(path).encode() + b"\0")
                continue
            mode = path.stat().st_mode
            digest.update(b"F\0" + relative.encode() + b"\0" + (b"x" if mode & 0o111 else b"-") + b"\0")
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    total += len(chunk)
                    if total > _MAX_UNPACKED_BYTES:
                        raise BuildFailed(f"{tree.name}: more than {_MAX_UNPACKED_BYTES >> 30} GiB of files")
                    digest.update(chunk)
            digest.update(b"\0")
    digest.update(b"R\0" + _repository_state(tree))
    return f"tree:{digest.hexdigest()}"


def _repository_state(tree: Path) -> bytes:
    """What a version plugin (setuptools-scm, hatch-vcs, uv-dynamic-versioning) reads from the
    git repository around a tree: its HEAD, the commit it points at, and its tags. Read from the
    files, no git run; empty outside a repository. So a new commit or tag builds the tree again."""
    folder = tree.resolve()
    for candidate in (folder, *folder.parents):
        dot_git = candidate / ".git"
        if dot_git.exists():
            break
    else:
        return b""
    if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
        text = dot_git.read_text(errors="replace").strip()
        if not text.startswith("gitdir:"):
            return b""
        dot_git = (candidate / text.removeprefix("gitdir:").strip()).resolve()
    parts: list[bytes] = []
    common = dot_git
    if (dot_git / "commondir").is_file():  # a worktree's refs live in the main repository
        common = (dot_git / (dot_git / "commondir").read_text(errors="replace").strip()).resolve()

    def read(path: Path) -> None:
        try:
            if path.is_file() and path.stat().st_size <= _MAX_PYPROJECT_BYTES:
                name = path.name if path.parent == dot_git else path.relative_to(common).as_posix()
                parts.append(name.encode() + b"\0" + path.read_bytes())
        except (OSError, ValueError):
            pass

    head = dot_git / "HEAD"
    read(head)
    try:
        ref = head.read_text(errors="replace").strip()
    except OSError:
        ref = ""
    if ref.startswith("ref: "):
        read(common / ref.removeprefix("ref: "))
    read(common / "packed-refs")
    tags = common / "refs" / "tags"
    if tags.is_dir():
        for path in sorted(tags.rglob("*"))[:10_000]:
            read(path)
    return b"\0".join(parts)


# -- the build's temporary folders ---------------------------------------------------------------
def _temporary_prefix(kind: str) -> str:
    """`planner-build-<pid>-`: a folder of this process (a killed run's are removed by the next)."""
    return f"planner-{kind}-{os.getpid()}-"


_STALE_RE = re.compile(r"^planner-(?:build|sdist)-(\d+)-")


def remove_stale_build_folders(folder: Path | None = None) -> int:
    """Remove the build folders of planner processes that no longer run (a run killed in the
    middle of a build cannot remove its own). Returns how many were removed."""
    folder = Path(folder or tempfile.gettempdir())
    removed = 0
    try:
        entries = list(folder.iterdir())
    except OSError:
        return 0
    for entry in entries:
        match = _STALE_RE.match(entry.name)
        if match is None or int(match.group(1)) == os.getpid() or _process_alive(int(match.group(1))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive, and not ours to clean up
    return True


def _copy_tree(tree: Path, into: Path) -> Path:
    """A copy of a source tree to build in: regular files and folders, links kept as links,
    without what `tree_key` leaves out (version control, caches, environments, build outputs)."""
    def ignored(folder: str, names: list[str]) -> set[str]:
        here = Path(folder)
        return {n for n in names if _skipped(here / n, here == tree)}

    shutil.copytree(tree, into, symlinks=True, ignore=ignored)
    return into


def _inside(tree: Path, subdirectory: str, filename: str) -> Path:
    root = tree.resolve()
    found = (tree / subdirectory).resolve()
    if found == root or root not in found.parents or not found.is_dir():
        raise BuildFailed(f"{filename}: the archive has no folder '{subdirectory}'")
    return found


# -- sdists ---------------------------------------------------------------------------------------
def unpack_sdist(archive: Path, into: Path, filename: str) -> Path:
    """Unpack an sdist (tar or zip) into `into` and return its source tree (the single top-level
    folder). Members that would land outside `into`, links, devices and archives beyond the size
    or member caps are refused."""
    into.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            _unpack_zip(archive, into, filename)
        else:
            _unpack_tar(archive, into, filename)
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BuildFailed(f"{filename}: cannot unpack the sdist ({exc})") from None
    entries = [p for p in into.iterdir()]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    if (into / "pyproject.toml").is_file() or (into / "setup.py").is_file():
        return into
    raise BuildFailed(f"{filename}: the sdist does not hold one top-level source folder")


def _unpack_tar(archive: Path, into: Path, filename: str) -> None:
    total = 0
    with tarfile.open(archive) as tar:
        members = []
        for count, member in enumerate(tar, start=1):
            if count > _MAX_MEMBERS:
                raise BuildFailed(f"{filename}: the sdist holds more than {_MAX_MEMBERS} files")
            total += max(member.size, 0)
            if total > _MAX_UNPACKED_BYTES:
                raise BuildFailed(f"{filename}: the sdist unpacks to more than {_MAX_UNPACKED_BYTES >> 30} GiB")
            if member.issym() or member.islnk():
                continue  # sdists need no links; never follow one out of the tree
            members.append(member)
        try:
            tar.extractall(into, members=members, filter="data")
        except tarfile.FilterError as exc:
            raise BuildFailed(f"{filename}: the sdist holds an unsafe member ({exc})") from None


def _unpack_zip(archive: Path, into: Path, filename: str) -> None:
    root = into.resolve()
    with zipfile.ZipFile(archive) as zipped:
        infos = zipped.infolist()
        if len(infos) > _MAX_MEMBERS:
            raise BuildFailed(f"{filename}: the sdist holds more than {_MAX_MEMBERS} files")
        if sum(max(i.file_size, 0) for i in infos) > _MAX_UNPACKED_BYTES:
            raise BuildFailed(f"{filename}: the sdist unpacks to more than {_MAX_UNPACKED_BYTES >> 30} GiB")
        for info in infos:
            target = (root / info.filename).resolve()
            if target != root and root not in target.parents:
                raise BuildFailed(f"{filename}: the sdist holds a member outside its folder ({info.filename!r})")
        zipped.extractall(into)

