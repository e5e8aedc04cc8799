"""`planner why`, `planner why-not` and `planner tree`: why a package is in a target's plan at its
version, why a version is not, and the plan's requirement tree (registers itself on `app`).

By default they answer from the written plan (`plan.json` in the output folder: no network, no
solving; planner/explain/written.py) and say when it is stale. `--fresh` solves again, as
`planner compile` would now (its pins and cut-offs included), and answers with minimal facts
(planner/explain/why.py). Without a written plan they solve.
"""

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
    ProjectArgument,
    RefreshOption,
    _select_targets,
    app,
    reports_errors,
)
from planner.cli.console import Output

ProjectOption = Annotated[Path, typer.Option("--project", "-p", metavar="PATH", help="The project directory or its pyproject.toml (default: the nearest one in the current folder or a parent).")]
OutputOption = Annotated[Path | None, typer.Option(
    "-o", "--output", metavar="DIR", help="The output folder holding the plan (default: output/ beside the pyproject).")]
FreshOption = Annotated[bool, typer.Option(
    "--fresh", help="Solve again (network and cache, as planner compile would now) instead of reading the plan.")]
TargetsOption = Annotated[list[str] | None, typer.Option("--target", "-t", metavar="NAME", help="Only these targets (repeatable).")]


TimeoutOption = Annotated[float | None, typer.Option(
    "--timeout", envvar="PLANNER_TIMEOUT", metavar="SECONDS",
    help="With --fresh: stop solving after SECONDS (exit 2).")]
ExplainBudgetOption = Annotated[float | None, typer.Option(
    "--explain-budget", envvar="PLANNER_EXPLAIN_BUDGET", metavar="SECONDS",
    help="With --fresh: time one explanation may search (default 5).")]


def _written(ctx: typer.Context, project: Path, targets: list[str], index: list[str] | None, default_index: str | None,
             output_dir: Path | None) -> Any:
    """(loaded project, chosen targets, the written plan or None, `locate`, the plan settings it
    records), warning when stale."""
    from planner.cli.lifecycle import apply_settings, options_from_words
    from planner.cli.workspace import load_targets
    from planner.generate.context import output_context
    from planner.generate.outputs import PLAN_FILE, stale_reason
    from planner.previous.written import read_written_plan

    output: Output = ctx.obj
    loaded = load_targets(project, index or [], default_index)
    for warning in loaded.warnings:
        output.warning(str(warning))
    chosen = _select_targets(loaded.targets, targets)
    out = output_dir or loaded.project.root / "output"
    path = out / PLAN_FILE
    if not path.is_file():
        output.info(f"no plan in {out} (planner compile writes it): solving now")
        return loaded, chosen, None, {}, []
    plan = read_written_plan(path)
    selection = [t for t in plan.inputs.get("targets", []) if isinstance(t, str)] if isinstance(plan.inputs.get("targets"), list) else []
    words = [w for w in plan.inputs.get("settings", []) if isinstance(w, str)] if isinstance(plan.inputs.get("settings"), list) else []
    try:
        settled, settings = apply_settings(loaded.project, options_from_words(words))
        context = output_context(settled, loaded.declared or loaded.project, loaded.overrides.urls,
                                 loaded.overrides.default_url, selection, settings)
        reason = stale_reason(out, context)
    except Exception as exc:  # noqa: BLE001 - an unreadable record makes the plan stale, nothing worse
        reason = f"its recorded settings cannot be read ({exc})"
    if reason is not None:
        output.warning(f"the plan in {out} is stale ({reason}): the answer describes the written plan; "
                       "run planner compile, or pass --fresh")
    return loaded, chosen, plan, _locations(loaded.project), words


def _locations(project: Any) -> dict[tuple[str, str, str], str]:
    """Where requirements are written, read now: (PROJECT, package, via) for the project's own
    (via "dependencies", "extra X", "group G", or "packages" for a workspace member the target
    installs) and (local package, package, "") for a member's -> "pyproject.toml:LINE"."""
    from planner.previous.written import PROJECT

    def where(origin: Any) -> str | None:
        if origin is None or origin.line is None:
            return None
        return f"{getattr(origin, 'shown', None) or origin.file.name}:{origin.line}"

    def requirements(owner: Any) -> list[tuple[str, Any]]:
        found = [("dependencies", d) for d in owner.dependencies]
        found += [(f"extra {extra}", d) for extra, deps in owner.optional_dependencies.items() for d in deps]
        found += [(f"group {group}", d) for group, deps in owner.dependency_groups.items() for d in deps]
        return found

    out: dict[tuple[str, str, str], str] = {}
    for via, dependency in requirements(project):
        if (at := where(dependency.origin)) is not None:
            out.setdefault((PROJECT, dependency.name, via), at)
    for member in getattr(project, "members", ()):
        if (at := where(member.origin)) is not None:
            out.setdefault((PROJECT, member.name, "packages"), at)
        for _, dependency in requirements(member):
            if (at := where(dependency.origin)) is not None:
                out.setdefault((member.name, dependency.name, ""), at)
    return out


def _origins(loaded: Any, chosen: Any, package: str) -> dict[tuple[str, str], str]:
    """(target, package) -> where a local, git or URL package comes from, read from the pyproject now."""
    from packaging.utils import canonicalize_name

    from planner.targets.routing import route

    name = canonicalize_name(package)
    out = {}
    for target in chosen:
        decided = route(loaded.project, target, name)
        if decided.direct is not None or decided.local is not None:
            out[(target.name, name)] = f"from {decided.describe()}"
    return out


def _print_written(output: Output, output_format: OutputFormat, answer: Any) -> None:
    """An answer read from the written plan: its JSON document, or its lines."""
    if output_format is OutputFormat.JSON:
        output.json(answer.data)
    else:
        for line in answer.lines:
            output.text(line)


def _fresh(ctx: typer.Context, loaded: Any, output_dir: Path | None, options: Any, body: Any,
           words: list[str], timeout: float | None = None, explain_seconds: float | None = None) -> Any:
    """Solve as compile would (the plan settings, pins and cut-offs of the written outputs), then
    answer; `timeout` and `explain_seconds` bound the solve and each explanation as in compile."""
    from planner.solve.limits import checked_seconds, explain_budget, time_limit

    limit, budget = checked_seconds(timeout, "--timeout"), checked_seconds(explain_seconds, "--explain-budget")
    with time_limit(limit), explain_budget(budget):
        return _fresh_answer(ctx, loaded, output_dir, options, body, words)


def _fresh_answer(ctx: typer.Context, loaded: Any, output_dir: Path | None, options: Any, body: Any,
                  words: list[str]) -> Any:
    from dataclasses import replace

    from planner.cli.lifecycle import LifecycleOptions, apply_settings, options_from_words, prepare
    from planner.cli.workspace import open_index_client, open_sources, target_platforms
    from planner.explain.plan import explain_plan
    from planner.generate.context import published_index_urls
    from planner.solve.objective import solve_plan

    output: Output = ctx.obj
    out = output_dir or loaded.project.root / "output"
    try:
        recorded = options_from_words(words)
    except ValueError:
        recorded = LifecycleOptions()
    settled, _ = apply_settings(loaded.project, recorded)
    prepared = prepare(settled, loaded.targets, out, published_index_urls(settled, loaded.declared or settled),
                       LifecycleOptions())
    for warning in prepared.warnings:
        output.warning(str(warning))
    # Alignment couples the targets of a group: solve them all, answer for the chosen ones.
    settled_loaded = replace(loaded, project=prepared.project)
    with open_index_client(settled_loaded, options, platforms=target_platforms(loaded.targets),
                           warn=output.warning) as client, \
            open_sources(settled_loaded, options, client, git_pins=prepared.git_pins,
                         warn=output.warning) as provider:
        plan = solve_plan(prepared.project, loaded.targets, provider, prepared.project.planner.alignment,
                          previous=prepared.pins)
        plan = explain_plan(prepared.project, plan, provider, minimal=False)
        return body(prepared.project, plan, provider)


@reports_errors
def why_command(
    ctx: typer.Context,
    package: Annotated[str, typer.Argument(metavar="PACKAGE", help="The package.")],
    project: ProjectOption = Path("."),
    target: TargetsOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
    output_dir: OutputOption = None,
    fresh: FreshOption = False,
    index: IndexOption = None,
    default_index: DefaultIndexOption = None,
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
    refresh: RefreshOption = False,
    offline: OfflineOption = False,
    timeout: TimeoutOption = None,
    explain_budget: ExplainBudgetOption = None,
) -> None:
    """Why PACKAGE is in each target's plan: requirement chains, and why that version."""
    from planner.cli.workspace import CacheOptions

    output: Output = ctx.obj
    loaded, chosen, written, locate, words = _written(ctx, project, target or [], index, default_index, output_dir)
    if written is not None and not fresh:
        from planner.explain.written import why

        _print_written(output, output_format, why(written, package, [t.name for t in chosen], locate,
                                                  _origins(loaded, chosen, package)))
        return

    from planner.explain.document import why_document
    from planner.explain.why import why as why_fresh

    def body(settled: Any, plan: Any, provider: Any) -> None:
        answers = why_fresh(settled, plan, provider, package, [t.name for t in chosen])
        for unsat in plan.unsatisfiable:
            if unsat.target.name in {t.name for t in chosen}:
                output.warning(f"target '{unsat.target.name}' has no plan (run planner compile for why)")
        if output_format is OutputFormat.JSON:
            output.json({"package": package, "targets": [why_document(a) for a in answers]})
            return
        for answer in answers:
            for line in answer.lines():
                output.text(line)

    _fresh(ctx, loaded, output_dir, CacheOptions(cache_dir, no_cache, refresh, offline), body, words,
           timeout, explain_budget)


def _spec(spec: str) -> tuple[str, str | None]:
    """`torch` or `torch==2.6.0` -> (name, version or None)."""
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    from planner.errors import InputError

    name, sep, version = spec.partition("==")
    try:
        canonicalize_name(name.strip(), validate=True)
        if sep:
            Version(version.strip())
    except (InvalidVersion, ValueError):
        raise InputError(f"'{spec}' is not PACKAGE or PACKAGE==VERSION", fix="write e.g. torch or torch==2.6.0") from None
    return name.strip(), (version.strip() if sep else None)


@reports_errors
def why_not_command(
    ctx: typer.Context,
    spec: Annotated[str, typer.Argument(metavar="PACKAGE[==VERSION]",
                                        help="The package, and a version (default: a newer one than planned).")],
    target: TargetsOption = None,
    project: ProjectOption = Path("."),
    output_format: FormatOption = OutputFormat.TEXT,
    output_dir: OutputOption = None,
    fresh: FreshOption = False,
    index: IndexOption = None,
    default_index: DefaultIndexOption = None,
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
    refresh: RefreshOption = False,
    offline: OfflineOption = False,
    timeout: TimeoutOption = None,
    explain_budget: ExplainBudgetOption = None,
) -> None:
    """Why PACKAGE (at VERSION, or newer than planned) is not in the plan of each target."""
    from planner.cli.workspace import CacheOptions

    output: Output = ctx.obj
    name, version = _spec(spec)
    loaded, chosen, written, _, words = _written(ctx, project, target or [], index, default_index, output_dir)
    if written is not None and not fresh:
        from planner.explain.written import why_not

        _print_written(output, output_format, why_not(written, name, version, [t.name for t in chosen]))
        return

    from planner.explain.document import why_not_document
    from planner.explain.why import why_not as why_not_fresh

    def body(settled: Any, plan: Any, provider: Any) -> None:
        # Each target as solved (a derived one may have left an extra out: docs/targets.md).
        solved = {t.target.name: t.target for t in plan.targets}
        answers = [why_not_fresh(settled, plan, provider, name, version, solved.get(t.name, t)) for t in chosen]
        if output_format is OutputFormat.JSON:
            documents = [why_not_document(a) for a in answers]
            output.json(documents[0] if len(documents) == 1 else {"package": name, "targets": documents})
            return
        for answer in answers:
            for line in answer.lines():
                output.text(line)

    _fresh(ctx, loaded, output_dir, CacheOptions(cache_dir, no_cache, refresh, offline), body, words,
           timeout, explain_budget)


@reports_errors
def tree_command(
    ctx: typer.Context,
    project: ProjectArgument = Path("."),
    target: TargetsOption = None,
    invert: Annotated[str | None, typer.Option(
        "--invert", metavar="NAME", help="Show what requires NAME, up to the project.")] = None,
    depth: Annotated[int, typer.Option("--depth", "-d", min=0, metavar="N", help="Maximum depth of the tree.")] = 255,
    output_format: FormatOption = OutputFormat.TEXT,
    output_dir: OutputOption = None,
    index: IndexOption = None,
    default_index: DefaultIndexOption = None,
) -> None:
    """Each target's requirement tree, read from the written plan."""
    from planner.errors import InputError
    from planner.explain.written import tree

    output: Output = ctx.obj
    loaded, chosen, written, _, _ = _written(ctx, project, target or [], index, default_index, output_dir)
    if written is None:
        raise InputError("planner tree reads the written plan, and there is none yet",
                         fix="run planner compile first")
    _print_written(output, output_format,
                   tree(written, [t.name for t in chosen], invert, depth, loaded.project.default_index.name))


app.command(name="why", short_help="Why a package is in each target's plan.")(why_command)
app.command(name="why-not", short_help="Why a package (or a version) is not in the plan.")(why_not_command)
app.command(name="tree", short_help="Each target's requirement tree.")(tree_command)
