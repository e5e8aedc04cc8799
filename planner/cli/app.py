"""The `planner` command line.

Conventions for every command: exit 0 on success, 1 when a target has no plan (or outputs are
stale under `--check`), 2 on bad input or usage, 3 on an internal error; data on stdout,
diagnostics on stderr; `NO_COLOR` disables colour; `-q` keeps only errors and warnings, `-v` adds detail.
Heavy modules are imported inside commands so that `planner --help` stays fast.
"""

from __future__ import annotations

import functools
import inspect
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from planner import __version__
from planner.cli.console import Output
from planner.errors import ExitCode, PlannerError, Terminated

app = typer.Typer(
    name="planner",
    help="Compile a pyproject into proven, per-target build plans (lock, requirements, Dockerfile).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])

# typer prints an argument's Python type after its name in help (`SPEC <list[str]>`): the name
# and its help say what to type, a Python type says nothing to a user.
typer.core.TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign,assignment]


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def _version(value: bool) -> None:
    if value:
        print(f"planner {__version__}")
        raise typer.Exit()


@dataclass(frozen=True)
class SharedOptions:
    """The options every command takes, before or after its name (`planner -q compile` and
    `planner compile -q` alike, as uv accepts them). A command that has no use for one accepts
    it and ignores it (`planner targets --offline`: targets makes no request)."""

    quiet: bool = False
    verbose: int = 0
    project: Path | None = None
    output_format: OutputFormat | None = None
    index: tuple[str, ...] = ()
    default_index: str | None = None
    cache_dir: Path | None = None
    no_cache: bool = False
    refresh: bool = False
    offline: bool = False


QuietOption = Annotated[bool, typer.Option("-q", "--quiet", help="Print errors and warnings only.")]
VerboseOption = Annotated[int, typer.Option(
    "-v", "--verbose", count=True, show_default=False,
    help="More detail: the full plan, phases and times (-vv: more).")]
ProjectOption = Annotated[Path | None, typer.Option(
    "--project", "-p", metavar="PATH",
    help="The project directory or its pyproject.toml (default: the nearest pyproject.toml "
         "in the current folder or a parent).")]
IndexOption = Annotated[
    list[str] | None,
    typer.Option("--index", metavar="[NAME=]URL",
                 help="NAME=URL: read the index NAME from URL (a declared index is replaced; an undeclared "
                      "NAME, or a bare URL, is added with the highest priority). Repeatable."),
]
DefaultIndexOption = Annotated[
    str | None,
    typer.Option("--default-index", metavar="URL", envvar="PLANNER_DEFAULT_INDEX",
                 help="Replace the default index (PyPI, or the index marked default = true)."),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="Output format: text or json.")]
GlobalFormatOption = Annotated[OutputFormat | None, typer.Option("--format", help="Output format: text or json.")]
CacheDirOption = Annotated[
    Path | None,
    typer.Option("--cache-dir", metavar="DIR", envvar="PLANNER_CACHE_DIR",
                 help="Cache folder (default: the user cache dir)."),
]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")]
RefreshOption = Annotated[bool, typer.Option("--refresh", help="Revalidate every cached page and metadata.")]
OfflineOption = Annotated[bool, typer.Option("--offline", help="Use only the cache; make no request.")]
TargetOption = Annotated[list[str] | None, typer.Option(
    "--target", "-t", metavar="NAME", help="Only these targets (repeatable).")]


@app.callback()
def _global_options(
    ctx: typer.Context,
    quiet: QuietOption = False,
    verbose: VerboseOption = 0,
    project: ProjectOption = None,
    output_format: GlobalFormatOption = None,
    index: IndexOption = None,
    default_index: DefaultIndexOption = None,
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
    refresh: RefreshOption = False,
    offline: OfflineOption = False,
    version: Annotated[bool | None, typer.Option("--version", callback=_version, is_eager=True,
                                                 help="Print the version and exit.")] = None,
) -> None:
    ctx.obj = SharedOptions(quiet, verbose, project, output_format, tuple(index or ()), default_index, cache_dir,
                            no_cache, refresh, offline)


# The shared options a command is given when it does not declare them itself (name -> annotation).
_SHARED_PARAMETERS: dict[str, Any] = {
    "quiet": (QuietOption, False),
    "verbose": (VerboseOption, 0),
    "output_format": (FormatOption, OutputFormat.TEXT),
    "index": (IndexOption, None),
    "default_index": (DefaultIndexOption, None),
    "cache_dir": (CacheDirOption, None),
    "no_cache": (NoCacheOption, False),
    "refresh": (RefreshOption, False),
    "offline": (OfflineOption, False),
}


def _with_shared_options(command: Callable[..., Any]) -> tuple[inspect.Signature, set[str], str | None]:
    """The command's signature with every shared option it lacks added (as keyword parameters),
    the names added, and how it takes the project: "argument" (a positional path, plus -p), "option"
    (-p/--project) or None (added as -p/--project)."""
    signature = inspect.signature(command, eval_str=True)
    parameters = list(signature.parameters.values())
    names = {p.name for p in parameters}
    added: set[str] = set()
    project_kind = None
    if "project" in names:
        project = signature.parameters["project"]
        metadata = getattr(project.annotation, "__metadata__", ())
        project_kind = "argument" if any(isinstance(m, typer.models.ArgumentInfo) for m in metadata) else "option"
    extra = dict(_SHARED_PARAMETERS)
    if project_kind == "argument":
        extra["project_option"] = (ProjectOption, None)
    elif project_kind is None:
        extra["project"] = (ProjectOption, None)
    for name, (annotation, default) in extra.items():
        if name not in names:
            parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                                annotation=annotation))
            added.add(name)
    return signature.replace(parameters=parameters), added, project_kind


def _merged(shared: SharedOptions, kwargs: dict[str, Any], added: set[str], project_kind: str | None) -> SharedOptions:
    """The shared options given before and after the command's name, as one: flags either place,
    -v counted over both, --index from both, a value after the name over one before it; two
    different projects are an error."""
    from planner.errors import InputError

    def take(name: str) -> Any:
        return kwargs.pop(name) if name in added else kwargs.get(name)

    command_format = take("output_format")
    projects = []
    if project_kind == "argument":
        positional = kwargs.get("project")
        projects = [p for p in (positional if positional != Path(".") else None, take("project_option"),
                                shared.project) if p is not None]
    else:
        given = take("project")
        projects = [p for p in (given if given != Path(".") else None, shared.project) if p is not None]
    if len({Path(p).resolve() for p in projects}) > 1:
        raise InputError(f"two projects given: {projects[0]} and {projects[1]}",
                         fix="give the project once (a path, or -p/--project)")
    project = projects[0] if projects else None
    merged = SharedOptions(
        quiet=bool(take("quiet")) or shared.quiet,
        verbose=int(take("verbose") or 0) + shared.verbose,
        project=project,
        output_format=(command_format if command_format not in (None, OutputFormat.TEXT) else shared.output_format)
        or OutputFormat.TEXT,
        index=(*shared.index, *(take("index") or ())),
        default_index=take("default_index") or shared.default_index,
        cache_dir=take("cache_dir") or shared.cache_dir,
        no_cache=bool(take("no_cache")) or shared.no_cache,
        refresh=bool(take("refresh")) or shared.refresh,
        offline=bool(take("offline")) or shared.offline,
    )
    # What the command declares itself it receives merged.
    values = {"output_format": merged.output_format, "index": list(merged.index) or None,
              "default_index": merged.default_index, "cache_dir": merged.cache_dir, "no_cache": merged.no_cache,
              "refresh": merged.refresh, "offline": merged.offline, "project": project or Path(".")}
    for name, value in values.items():
        if name in kwargs:
            kwargs[name] = value
    return merged


def reports_errors(command: F) -> F:
    """Give a command the shared options (`SharedOptions`), and turn planner's errors into a
    message and an exit code; never show a user a traceback.

    The wrapped command must take `ctx: typer.Context`; it finds its `Output` in `ctx.obj`.
    """
    signature, added, project_kind = _with_shared_options(command)

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = kwargs.get("ctx")
        shared = ctx.obj if ctx is not None and isinstance(ctx.obj, SharedOptions) else SharedOptions()
        output = Output(quiet=bool(kwargs.get("quiet") or shared.quiet),
                        verbose=int(kwargs.get("verbose") or 0) + shared.verbose)
        try:
            merged = _merged(shared, kwargs, added, project_kind)
            output = Output(quiet=merged.quiet, verbose=merged.verbose)
            if ctx is not None:
                ctx.obj = output
            result = command(*args, **kwargs)
            output.flush()  # a reader that went away is noticed here, not by click (exit 1)
            return result
        except PlannerError as exc:
            output.error(exc.render())
            raise typer.Exit(int(exc.exit_code)) from None
        except typer.Exit:
            output.flush()
            raise
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (`Terminated`): temporary files are gone
            terminated = isinstance(exc, Terminated)
            output.error("terminated (SIGTERM)" if terminated else "interrupted")
            raise typer.Exit(int(ExitCode.TERMINATED if terminated else ExitCode.INTERRUPTED)) from None
        except Exception as exc:  # a bug: say so plainly, keep the details for -v
            from planner.urls import redact_text

            output.error(f"internal error: {type(exc).__name__}: {redact_text(str(exc))}\n"
                         "  this is a bug in planner; rerun with -v to see where it happened")
            if output.verbose:
                output.diagnostic(redact_text("".join(traceback.format_exception(exc))))
            raise typer.Exit(int(ExitCode.INTERNAL)) from None

    wrapper.__signature__ = signature  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


ProjectArgument = Annotated[
    Path,
    typer.Argument(metavar="PROJECT", show_default=False,
                   help="The project directory or its pyproject.toml (default: the nearest pyproject.toml in "
                        "the current folder or a parent)."),
]


@app.command(short_help="List the targets and where each routed package comes from.")
@reports_errors
def targets(
    ctx: typer.Context,
    project: ProjectArgument = Path("."),
    output_format: FormatOption = OutputFormat.TEXT,
    index: IndexOption = None,
    default_index: DefaultIndexOption = None,
) -> None:
    """List the project's targets and the index each source-routed package comes from."""
    from planner.cli.targets_view import targets_json, targets_text
    from planner.cli.workspace import load_targets

    output: Output = ctx.obj
    loaded = load_targets(project, index or [], default_index)
    for warning in loaded.warnings:
        output.warning(str(warning))
    if output_format is OutputFormat.JSON:
        output.json(targets_json(loaded))
    else:
        targets_text(loaded, output)


@app.command(short_help="Show the installable versions of packages per target.")
@reports_errors
def candidates(
    ctx: typer.Context,
    packages: Annotated[list[str], typer.Argument(metavar="PACKAGE", help="Package names.")],
    project: Annotated[Path, typer.Option("--project", "-p", metavar="PATH", help="The project directory or its pyproject.toml (default: the nearest one in the current folder or a parent).")] = Path("."),
    target: Annotated[list[str] | None, typer.Option("--target", "-t", metavar="NAME", help="Only these targets (repeatable).")] = None,
    deps: Annotated[bool, typer.Option("--deps", help="Also show the dependencies of the newest candidate.")] = False,
    output_format: FormatOption = OutputFormat.TEXT,
    index: IndexOption = None,
    default_index: DefaultIndexOption = None,
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
    refresh: RefreshOption = False,
    offline: OfflineOption = False,
) -> None:
    """Show, per target, the versions of PACKAGES that could be installed and why others cannot."""
    from planner.cli.candidates_view import candidates_report
    from planner.cli.workspace import CacheOptions, index_provider, load_targets, open_index_client, target_platforms

    output: Output = ctx.obj
    loaded = load_targets(project, index or [], default_index)
    for warning in loaded.warnings:
        output.warning(str(warning))
    chosen = _select_targets(loaded.targets, target or [])
    options = CacheOptions(cache_dir, no_cache, refresh, offline)
    with open_index_client(loaded, options, platforms=target_platforms(loaded.targets), warn=output.warning,
                           log_request=output.detail if output.verbose > 1 else None) as client:
        candidates_report(client, packages, chosen, deps, output, output_format is OutputFormat.JSON,
                          index_provider(client, options) if deps else None)


def _select_targets(all_targets, names: list[str]):  # type: ignore[no-untyped-def]
    from planner.errors import InputError

    if not names:
        return list(all_targets)
    known = {t.name: t for t in all_targets}
    for name in names:
        if name not in known:
            raise InputError(f"--target {name}: no such target", fix=f"use one of: {', '.join(known)}")
    return [known[name] for name in names]


def main() -> None:
    import signal

    from planner.cli.console import reader_gone

    terminated: list[int] = []

    def on_sigterm(signum: int, frame: object) -> None:
        terminated.append(signum)
        raise Terminated()

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        app()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        # A SIGTERM outside a command (while parsing options, say) reaches click as Ctrl-C.
        if terminated and code:
            code = int(ExitCode.TERMINATED)
        if code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED):
            _end_interrupted(code)
        sys.exit(code)
    except BrokenPipeError:  # the reader of --help or --version went away: nothing more to say
        reader_gone(sys.stdout)
        sys.exit(0)


def _end_interrupted(code: int, grace: float = 2.0) -> None:
    """End an interrupted run now. Its temporary files are gone (every writer removes its own
    in a `finally`); worker threads may still wait on the network for a whole read timeout, and
    Python would join them before exiting. They get `grace` seconds to finish what they are
    writing (a cache entry, say), then the process ends without them."""
    import os
    import threading
    import time

    # Builds run in sessions of their own (so that a time-out kills a whole group): the signal
    # that stopped planner did not reach them. Kill them, and let their folders go.
    builds = sys.modules.get("planner.sources.build")
    if builds is not None:
        builds.stop_running_builds(wait=grace)
    deadline = time.monotonic() + grace
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


# Commands kept in their own modules register themselves on `app` when imported (last, since
# they use the options above; their heavy imports stay inside the command functions).
import planner.cli.compile_cmd  # noqa: E402, F401  `planner compile`
import planner.cli.mirror_cmd  # noqa: E402, F401  `planner mirror`
import planner.cli.why_cmd  # noqa: E402, F401  `planner why`, `planner why-not`
import planner.cli.detect_cmd  # noqa: E402, F401  `planner detect`
