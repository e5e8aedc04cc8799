"""The `planner` command line.

Conventions for every command: exit 0 on success, 1 when a target has no plan (or outputs are
stale under `--check`), 2 on bad input or usage, 3 on an internal error; data on stdout,
diagnostics on stderr; `NO_COLOR` disables colour; `-q` keeps only errors, `-v` adds detail.
Heavy modules are imported inside commands so that `planner --help` stays fast.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
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


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def _version(value: bool) -> None:
    if value:
        print(f"planner {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    ctx: typer.Context,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print errors only.")] = False,
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, help="More detail (repeat for more).")] = 0,
    version: Annotated[bool | None, typer.Option("--version", callback=_version, is_eager=True,
                                                 help="Print the version and exit.")] = None,
) -> None:
    ctx.obj = Output(quiet=quiet, verbose=verbose)


def reports_errors(command: F) -> F:
    """Turn planner's errors into a message and an exit code; never show a user a traceback.

    The wrapped command must take `ctx: typer.Context` (it carries the `Output`).
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = kwargs.get("ctx")
        output: Output = (ctx.obj if ctx is not None else None) or Output()
        try:
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

    return wrapper  # type: ignore[return-value]


ProjectArgument = Annotated[
    Path,
    typer.Argument(help="The project directory or its pyproject.toml.", show_default=True),
]
IndexOption = Annotated[
    list[str] | None,
    typer.Option("--index", metavar="NAME=URL", help="Use URL for the index NAME (repeatable; 'pypi' for PyPI)."),
]
DefaultIndexOption = Annotated[
    str | None,
    typer.Option("--default-index", metavar="URL", envvar="PLANNER_DEFAULT_INDEX",
                 help="Replace the default index (PyPI, or the index marked default = true)."),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]
CacheDirOption = Annotated[
    Path | None,
    typer.Option("--cache-dir", envvar="PLANNER_CACHE_DIR", help="Cache folder (default: the user cache dir)."),
]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")]
RefreshOption = Annotated[bool, typer.Option("--refresh", help="Revalidate every cached page and metadata.")]
OfflineOption = Annotated[bool, typer.Option("--offline", help="Use only the cache; make no request.")]


@app.command()
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


@app.command()
@reports_errors
def candidates(
    ctx: typer.Context,
    packages: Annotated[list[str], typer.Argument(help="Package names.")],
    project: Annotated[Path, typer.Option("--project", "-p", help="The project directory or its pyproject.toml.")] = Path("."),
    target: Annotated[list[str] | None, typer.Option("--target", "-t", help="Only these targets (repeatable).")] = None,
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
    with open_index_client(loaded, options, platforms=target_platforms(loaded.targets), warn=output.warning) as client:
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
