"""`planner why` and `planner why-not`: why a package is in a target's plan at its version, and
why a version is not (registers itself on `app`; see planner/explain/why.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from planner.cli.app import (
    CacheDirOption,
    DefaultIndexOption,
    FormatOption,
    IndexOption,
    NoCacheOption,
    OfflineOption,
    OutputFormat,
    RefreshOption,
    _select_targets,
    app,
    reports_errors,
)
from planner.cli.console import Output

ProjectOption = Annotated[Path, typer.Option("--project", "-p", help="The project directory or its pyproject.toml.")]


def _plan(ctx: typer.Context, project: Path, targets: list[str], index: list[str] | None, default_index: str | None,
          options: Any, body: Any) -> Any:
    from planner.cli.workspace import load_targets, open_index_client, open_sources
    from planner.solve.objective import solve_plan

    output: Output = ctx.obj
    loaded = load_targets(project, index or [], default_index)
    for warning in loaded.warnings:
        output.warning(str(warning))
    chosen = _select_targets(loaded.targets, targets)
    # Alignment couples the targets of a group: solve them all, answer for the chosen ones.
    with open_index_client(loaded, options) as client, open_sources(loaded, options, client) as provider:
        plan = solve_plan(loaded.project, loaded.targets, provider, loaded.project.planner.alignment, explain=False)
        return body(loaded, chosen, plan, provider)


@reports_errors
def why_command(
    ctx: typer.Context,
    package: Annotated[str, typer.Argument(help="The package.")],
    project: ProjectOption = Path("."),
    target: Annotated[list[str] | None, typer.Option("--target", "-t", help="Only these targets (repeatable).")] = None,
    output_format: FormatOption = OutputFormat.TEXT,
    index: IndexOption = None,
    default_index: DefaultIndexOption = None,
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
    refresh: RefreshOption = False,
    offline: OfflineOption = False,
) -> None:
    """Why PACKAGE is in each target's plan: requirement chains, and why that version."""
    from planner.cli.workspace import CacheOptions
    from planner.explain.document import why_document
    from planner.explain.why import why

    output: Output = ctx.obj

    def body(loaded: Any, chosen: Any, plan: Any, provider: Any) -> None:
        answers = why(loaded.project, plan, provider, package, [t.name for t in chosen])
        for unsat in plan.unsatisfiable:
            if unsat.target.name in {t.name for t in chosen}:
                output.warning(f"target '{unsat.target.name}' has no plan (run planner compile for why)")
        if output_format is OutputFormat.JSON:
            output.json({"package": package, "targets": [why_document(a) for a in answers]})
            return
        for answer in answers:
            for line in answer.lines():
                output.text(line)

    _plan(ctx, project, target or [], index, default_index, CacheOptions(cache_dir, no_cache, refresh, offline), body)


@reports_errors
def why_not_command(
    ctx: typer.Context,
    spec: Annotated[str, typer.Argument(metavar="PACKAGE==VERSION", help="The package and version, e.g. torch==2.6.0.")],
    target: Annotated[str, typer.Option("--target", "-t", help="The target.")],
    project: ProjectOption = Path("."),
    output_format: FormatOption = OutputFormat.TEXT,
    index: IndexOption = None,
    default_index: DefaultIndexOption = None,
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
    refresh: RefreshOption = False,
    offline: OfflineOption = False,
) -> None:
    """The minimal reason PACKAGE==VERSION is not in the plan of a target."""
    from packaging.version import InvalidVersion, Version

    from planner.cli.workspace import CacheOptions
    from planner.errors import InputError
    from planner.explain.document import why_not_document
    from planner.explain.why import why_not

    output: Output = ctx.obj
    name, sep, version = spec.partition("==")
    try:
        if not sep or not name.strip():
            raise InvalidVersion(spec)
        Version(version.strip())
    except InvalidVersion:
        raise InputError(f"'{spec}' is not PACKAGE==VERSION", fix="write e.g. torch==2.6.0") from None

    def body(loaded: Any, chosen: Any, plan: Any, provider: Any) -> None:
        # The target as solved (a derived one may have left an extra out: docs/targets.md).
        solved = next((t.target for t in plan.targets if t.target.name == chosen[0].name), chosen[0])
        answer = why_not(loaded.project, plan, provider, name.strip(), version.strip(), solved)
        if output_format is OutputFormat.JSON:
            output.json(why_not_document(answer))
            return
        for line in answer.lines():
            output.text(line)

    _plan(ctx, project, [target], index, default_index, CacheOptions(cache_dir, no_cache, refresh, offline), body)


app.command(name="why")(why_command)
app.command(name="why-not")(why_not_command)
