"""`planner compile`: prove a plan for every target and write it (registers itself on `app`)."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from planner.errors import ExitCode

if TYPE_CHECKING:
    from planner.encode.formula import Formula


UpgradeOption = Annotated[bool, typer.Option(
    "--upgrade", "-U", help="Allow every package to move: keep none of the previous plan's pins.")]
UpgradePackageOption = Annotated[list[str] | None, typer.Option(
    "--upgrade-package", "-P", metavar="NAME[==VERSION]",
    help="Allow NAME to move (to the newest version, or within the given bounds); repeatable.")]
ExcludeNewerOption = Annotated[str | None, typer.Option(
    "--exclude-newer", metavar="WHEN",
    help="Leave out files uploaded after WHEN: a timestamp, a date, or a span such as '7 days' "
         "(replaces tool.uv.exclude-newer).")]
ExcludeNewerPackageOption = Annotated[list[str] | None, typer.Option(
    "--exclude-newer-package", metavar="NAME=WHEN",
    help="The same for one package ('false': no cut-off for it); repeatable.")]
ResolutionOption = Annotated[str | None, typer.Option(
    "--resolution", metavar="STRATEGY",
    help="highest (default), lowest, or lowest-direct (replaces tool.uv.resolution).")]


@reports_errors
def compile_command(
    ctx: typer.Context,
    project: ProjectArgument = Path("."),
    output_dir: Annotated[Path | None, typer.Option("-o", "--output", metavar="DIR", help="Output folder (default: output/ beside the pyproject).")] = None,
    target: Annotated[list[str] | None, typer.Option("--target", "-t", metavar="NAME", help="Only these targets (repeatable).")] = None,
    emit_cnf: Annotated[Path | None, typer.Option("--emit-cnf", metavar="DIR", help="Write each target's formula as commented DIMACS.")] = None,
    output_format: FormatOption = OutputFormat.TEXT,
    index: IndexOption = None,
    default_index: DefaultIndexOption = None,
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
    refresh: RefreshOption = False,
    offline: OfflineOption = False,
    fetch_missing_hashes: Annotated[bool, typer.Option(
        "--fetch-missing-hashes",
        help="Download artifacts whose index publishes no sha256 and pin the hash of the bytes received.")] = False,
    stats_file: Annotated[Path | None, typer.Option(
        "--stats", envvar="PLANNER_STATS", metavar="FILE",
        help="Write counters and phase times of this run as JSON (for benchmarks).")] = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Write nothing, no network; exit 1 if any output is missing or stale, 0 if all are current.")] = False,
    upgrade: UpgradeOption = False,
    upgrade_package: UpgradePackageOption = None,
    exclude_newer: ExcludeNewerOption = None,
    exclude_newer_package: ExcludeNewerPackageOption = None,
    resolution: ResolutionOption = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Solve and print what would change; write nothing.")] = False,
    locked: Annotated[bool, typer.Option(
        "--locked", help="Solve; exit 1 with what would change if the outputs are not what this compile writes.")] = False,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", envvar="PLANNER_TIMEOUT", metavar="SECONDS",
        help="Stop solving after SECONDS (exit 2, nothing written).")] = None,
    show_plan: Annotated[bool, typer.Option(
        "--show-plan", help="Print every target's packages (the full plan), not only what changed.")] = False,
    explain_budget: Annotated[float | None, typer.Option(
        "--explain-budget", envvar="PLANNER_EXPLAIN_BUDGET", metavar="SECONDS",
        help="Time one explanation may search for the smallest conflict and its fixes (default 5).")] = None,
) -> None:
    """Compile the project: a proven plan for every target; writes pylock.toml, plan.json and,
    per target, requirements.txt and a Dockerfile (Linux) to output/. The previous plan's pins are
    kept unless --upgrade / --upgrade-package; what changed is printed per target."""
    from planner.cli.lifecycle import LifecycleOptions, apply_settings, prepare
    from planner.cli.workspace import CacheOptions, load_targets, open_index_client, target_platforms
    from planner.generate.context import output_context
    from planner.generate.files import write_outputs
    from planner.generate.outputs import PLAN_FILE, previous_outputs, render_outputs, stale_reason

    from planner.cli.run_stats import PhaseClock, TimedProvider, gc_document, stats_document, write_stats

    output: Any = ctx.obj  # (an Output)
    if sum((check, dry_run, locked)) > 1:
        from planner.errors import InputError

        raise InputError("--check, --dry-run and --locked exclude each other", fix="pass one of them")
    clock = PhaseClock()
    with clock.phase("load"):
        loaded = load_targets(project, index or [], default_index)
    for warning in loaded.warnings:
        output.warning(str(warning))
    chosen = _select_targets(loaded.targets, target or [])
    out = output_dir or loaded.project.root / "output"
    options = LifecycleOptions(upgrade, tuple(upgrade_package or ()), exclude_newer, tuple(exclude_newer_package or ()),
                               resolution)
    settled, settings = apply_settings(loaded.project, options)
    context = output_context(settled, loaded.declared or loaded.project, loaded.overrides.urls,
                             loaded.overrides.default_url, list(target or []), settings, output_dir=out,
                             recorded=["--fetch-missing-hashes"] if fetch_missing_hashes else [])
    if check:
        reason = stale_reason(out, context)
        if reason is not None:
            output.error(f"outputs are stale: {reason}; run: {context.command} (in {loaded.project.root})")
            raise typer.Exit(int(ExitCode.UNSATISFIABLE))
        output.info(f"outputs in {out} are current")
        return
    writes = not (dry_run or locked)
    _check_destinations(out, emit_cnf if writes else None, stats_file if writes else None)
    unchanged = None  # inputs as the previous compile left them: its plan stands (planner/cli/unchanged.py)
    if writes and emit_cnf is None and output_format is OutputFormat.TEXT and not (
            upgrade or upgrade_package or refresh or no_cache or output.verbose
            or settled.uv.upgrade or settled.uv.upgrade_package):
        from planner.cli.unchanged import UnchangedInputs

        unchanged = UnchangedInputs.for_compile(settled, context, out, cache_dir, offline,
                                                {"fetch-missing-hashes": fetch_missing_hashes},
                                                stats_file=stats_file, loaded_quietly=not loaded.warnings)
        if unchanged.stands(context, output, f"outputs in {_shown(out)} unchanged"):
            if stats_file is not None:
                write_stats(stats_file, {"phases_seconds": {k: round(v, 4) for k, v in clock.phases.items()},
                                         "gc": gc_document(clock), "unchanged": True, "targets": {}})
            return
        unchanged.snapshot(settled)
        output = unchanged.counting(output)
    prepared = prepare(settled, chosen, out, context.index_urls, options)
    for warning in prepared.warnings:
        output.warning(str(warning))
    # The solver is imported once it is needed: --check, above, runs without it (and a cold compile
    # starts its first downloads before it is loaded, below).
    from dataclasses import replace

    from planner.cli.workspace import open_sources
    from planner.solve.limits import checked_seconds, explain_budget as explanation_budget, time_limit

    # A compile makes millions of objects that live to its end (page rows, candidates, clauses)
    # and next to no cyclic garbage: collecting cost a sixth of its CPU and freed nothing (peak
    # RSS measured the same with and without, benchmarks/README.md). The process ends with it.
    gc.freeze()
    gc.disable()

    limit, budget = checked_seconds(timeout, "--timeout"), checked_seconds(explain_budget, "--explain-budget")
    context = replace(context, project=prepared.project)
    # Kept only to be written: a formula's clauses are a large share of a big project's memory.
    formulas: dict[str, Formula] | None = {} if emit_cnf is not None else None
    cache_options = CacheOptions(cache_dir, no_cache, refresh, offline)
    settled_loaded = _with_project(loaded, prepared.project)
    with open_index_client(settled_loaded, cache_options, platforms=target_platforms(loaded.targets),
                           warn=output.warning, log_request=output.detail if output.verbose > 1 else None,
                           start=lambda client: client.start_with_roots(
                               chosen, lambda target: not prepared.pins.get(target.name))) as client, \
            open_sources(settled_loaded, cache_options, client, git_pins=prepared.git_pins,
                         warn=output.warning) as provider:
        from planner.explain.plan import explain_plan  # (the solver's modules load while the first pages download)
        from planner.plan.changes import plan_changes
        from planner.solve.objective import solve_plan

        # The time limit and the explanation budget cover the explanations too.
        def counts() -> str:
            pages = client.stats.pages_fetched + client.stats.pages_revalidated + client.stats.pages_from_cache
            builder = getattr(provider, "builder", None)
            builds = builder.stats.builds if builder is not None else 0
            return (f"{_count(pages, 'page')}, {sum(client.stats.metadata.values())} metadata"
                    + (f", {_count(builds, 'build')}" if builds else ""))

        with output.progress(f"compiling {_count(len(chosen), 'target')}", counts), clock.phase("solve"), \
                time_limit(limit), \
                explanation_budget(budget):
            timed = TimedProvider(provider, clock)
            plan = solve_plan(prepared.project, chosen, timed, prepared.project.planner.alignment, formulas,
                              previous=prepared.pins, upgrade=prepared.upgrade)
            plan = explain_plan(prepared.project, plan, timed)
        if fetch_missing_hashes and not plan.unsatisfiable:
            plan = _fetch_missing_hashes(plan, client, offline, output)
    _index_warnings(plan, output)
    for message in _unsatisfiable_messages(plan.unsatisfiable):
        output.error(message)
    if formulas is not None and writes:
        files = {f"{name}.cnf": formula.to_dimacs(f"planner formula of target {name}").encode()
                 for name, formula in formulas.items()}
        for path in write_outputs(emit_cnf, files):
            output.detail(f"wrote {path}")
    if plan.unsatisfiable:
        if output_format is OutputFormat.JSON:
            from planner.generate.plan_json import plan_document

            output.json(plan_document(prepared.project, plan, context.index_urls))
        raise typer.Exit(int(ExitCode.UNSATISFIABLE))  # nothing written: a partial plan is no plan
    for warning in _build_settings_not_in_outputs(prepared.project, plan):
        output.warning(warning)
    previous = prepared.previous.targets if prepared.previous is not None else None
    changes = plan_changes(previous, plan, [t.name for t in chosen])
    with clock.phase("generate"):
        outputs = render_outputs(context, plan)
    if dry_run or locked:
        _print_changes(changes, output, output_format, outputs.files.get(PLAN_FILE))
        if locked:
            reason = _locked_reason(out, outputs.files, prepared.previous is not None, bool(changes))
            if reason is not None:
                output.error(f"outputs in {out} would change: {reason}; run: {context.command} (in {loaded.project.root})")
                raise typer.Exit(int(ExitCode.UNSATISFIABLE))
            output.info(f"outputs in {out} are what this compile writes")
        return
    with clock.phase("write"):
        written = write_outputs(out, outputs.files, remove=previous_outputs(out), last=PLAN_FILE)
    if unchanged is not None:
        said = _Lines()  # what a compile of the same inputs prints once this plan is the previous one
        _report_with_notes(plan, [], True, False, said, prepared.project.default_index.name, outputs.notes, provider)
        unchanged.remember(client, plan, said.lines, None if output.quiet else f"outputs in {_shown(out)} unchanged")
    if stats_file is not None:
        write_stats(stats_file, stats_document(clock, client, plan, provider.builder))
    if output_format is OutputFormat.JSON:
        document = json.loads(outputs.files[PLAN_FILE])
        if prepared.previous is not None:
            document["changes"] = _changes_document(changes)
        output.json(document)
    elif not output.quiet:
        _report_with_notes(plan, changes, prepared.previous is not None, show_plan or output.verbose > 0, output,
                           prepared.project.default_index.name, outputs.notes, provider)
    for path in written:
        output.detail(f"wrote {path}")
    if written:
        output.info(f"wrote {_count(len(written), 'file')} to {_shown(out)}")
    else:
        output.info(f"outputs in {_shown(out)} unchanged")
    if output.verbose:
        _run_details(stats_document(clock, client, plan, provider.builder), output)


def _unsatisfiable_messages(unsatisfiable: Any) -> list[str]:
    """One message per distinct explanation: targets whose facts and fixes read the same are
    named together above them, not explained once each."""
    import re

    by_body: dict[str, list[str]] = {}
    for unsat in unsatisfiable:
        head, _, body = unsat.message.partition("\n")
        by_body.setdefault(body, []).append(head)
    messages = []
    for body, heads in by_body.items():
        if len(heads) == 1:
            messages.append(f"{heads[0]}\n{body}")
            continue
        named = [re.sub(r"^target ('.*') has no plan \((.*)\):$", r"\1 (\2)", head) for head in heads]
        messages.append(f"{len(heads)} targets have no plan, for the same reasons:\n"
                        + "\n".join(f"  target {name}" for name in named) + "\n"
                        + body.replace("for this target", "for these targets"))
    return messages


def _count(n: int, noun: str) -> str:
    """`1 package`, `2 packages`."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when below it."""
    import os

    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def _report(plan: Any, changes: Any, had_previous: bool, show_plan: bool, output: Output, default_index: str) -> None:
    """What a compile prints on stdout: what changed (a first compile: each target's size), or that
    nothing did; the full listing with --show-plan / -v; then the differences between targets."""
    if had_previous and changes:
        _print_changes(changes, output, OutputFormat.TEXT, None)
    elif had_previous:
        sizes = sorted(len(t.packages) for t in plan.targets)
        size = _count(sizes[0], "package") if sizes[0] == sizes[-1] else f"{sizes[0]} to {sizes[-1]} packages"
        output.text(f"plan unchanged: {_count(len(plan.targets), 'target')}, {size} each"
                    if len(plan.targets) > 1 else f"plan unchanged: 1 target, {size}")
    if show_plan or not had_previous:
        _summary(plan, output, default_index, listing=show_plan)
    else:
        _sections(plan, output)


def _report_with_notes(plan: Any, changes: Any, had_previous: bool, show_plan: bool, output: Any,
                       default_index: str, notes: Any, provider: Any) -> None:
    _report(plan, changes, had_previous, show_plan, output, default_index)
    for note in notes:
        output.text(note)
    for found in provider.distributions():
        if found.outside:
            output.text(f"{found.artifact.name} comes from '{found.artifact.path}', outside the project folder "
                        f"(source rule at {found.source.origin}): the outputs need it at that place")


class _Lines:
    """Collects the lines a report would print on stdout."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def text(self, message: str) -> None:
        self.lines.append(message)


def _run_details(stats: dict[str, Any], output: Output) -> None:
    """-v: time per phase and what the indexes and the cache answered."""
    order = ["load", "fetch", "encode", "sat", "generate", "write"]
    timed = sorted(stats["phases_seconds"].items(), key=lambda item: (order + [item[0]]).index(item[0]))
    phases = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in timed)
    output.detail(f"phases: {phases}")
    http, pages, builds = stats["http"], stats["pages"], stats["builds"]
    output.detail(f"index pages: {pages['fetched']} fetched, {pages['revalidated']} revalidated, "
                  f"{pages['from_cache']} from the cache; {_count(http['requests'], 'request')}, "
                  f"{http['not_modified']} not modified, {http['retries']} retried")
    if stats["metadata"]:
        output.detail("metadata: " + ", ".join(f"{key} {value}" for key, value in sorted(stats["metadata"].items())))
    if builds["run"] or builds["from_cache"] or builds["failed"]:
        output.detail(f"metadata builds: {builds['run']} run, {builds['from_cache']} from the cache, "
                      f"{builds['failed']} failed ({builds['seconds']:.1f} s)")


def _with_project(loaded: Any, project: Any) -> Any:
    from dataclasses import replace

    return replace(loaded, project=project)


def _index_warnings(plan: Any, output: Output) -> None:
    for index in plan.undated:
        output.warning(f"index '{index}' gives no upload time (PEP 700) for some of its files: exclude-newer "
                       "treats them as not published (exempt a package with [tool.uv] exclude-newer-package "
                       "= { name = false })")
    changed = sorted({entry for t in plan.targets for entry in t.changed_files})
    for package, filename, index in changed:
        output.warning(f"index '{index}' now lists {filename} ({package}) with another sha256 than the previous plan "
                       "recorded: the outputs pin the new hash; check why the file changed")


def _print_changes(changes: Any, output: Output, output_format: OutputFormat, plan_file: bytes | None) -> None:
    if output_format is OutputFormat.JSON:
        document = json.loads(plan_file) if plan_file is not None else {}
        document["changes"] = _changes_document(changes)
        output.json(document)
        return
    for target_changes in changes:
        for line in target_changes.lines():
            output.text(line)


def _changes_document(changes: Any) -> list[dict[str, Any]]:
    return [{"target": t.target, "status": t.status,
             "changes": [{"kind": c.kind, "package": c.package, "old": c.old, "new": c.new} for c in t.changes]}
            for t in changes]


def _locked_reason(out: Path, files: Any, had_previous: bool, changed: bool) -> str | None:
    """Why the outputs on disk are not what this compile writes (plan.json's reports aside: its
    reasons and held-back entries follow the indexes and the pyproject's line numbers)."""
    from planner.generate.outputs import PLAN_FILE, read_output

    if not had_previous:
        return f"there are no previous outputs in {out}"
    if changed:
        return "the plan changes (above)"
    for relative, data in sorted(files.items()):
        if relative == PLAN_FILE:
            continue
        held = read_output(out, relative)  # never through a link: a link is not planner's output
        if held is None:
            return f"{out / relative} is missing"
        if held != data:
            return f"{out / relative} would be rewritten"
    if read_output(out, PLAN_FILE) is None:
        return f"{out / PLAN_FILE} is missing"
    return None


def _check_destinations(out: Path, emit_cnf: Path | None, stats_file: Path | None) -> None:
    """Refuse unusable destinations before any work (the root folder, a file for a folder, a
    folder for a file, links): one message, exit 2, rather than after a long solve."""
    from planner.generate.files import check_output_file, check_output_folder

    check_output_folder(out)
    if emit_cnf is not None:
        check_output_folder(emit_cnf, "--emit-cnf")
    if stats_file is not None:
        check_output_file(stats_file, "--stats")


def _fetch_missing_hashes(plan: Any, client: Any, offline: bool, output: Output) -> Any:
    """Hash the bytes of each artifact whose index gives no sha256 (see generate/hashing.py)."""
    from planner.errors import InputError
    from planner.generate.hashing import unhashed_artifacts, with_hashes

    missing = unhashed_artifacts(plan)
    if missing and offline:
        raise InputError(f"--fetch-missing-hashes must download {missing[0].filename}, and --offline forbids it",
                         fix="run once without --offline")
    hashed = with_hashes(plan, client.artifact_sha256)  # the warnings come once the bytes are here
    for artifact in missing:
        output.warning(f"index '{artifact.index}' publishes no sha256 for {artifact.filename}: "
                       "pinned to the hash of the bytes downloaded now")
    return hashed


def _build_settings_not_in_outputs(project: Any, plan: Any) -> list[str]:
    """tool.uv build settings that apply to an sdist the plan installs: planner's metadata build
    honoured them, the installer reading the generated files will not (docs/builds.md)."""
    from planner.index.models import ArtifactKind

    build = project.uv.build
    names = sorted({p.name for t in plan.targets for p in t.packages if p.artifact.kind is ArtifactKind.SDIST})
    out = []
    for name in names:
        settings = [key for key, applies in (
            ("extra-build-dependencies", name in build.extra_dependencies),
            ("extra-build-variables", name in build.variables),
            ("build-constraint-dependencies", bool(build.constraints)),
            ("config-settings", bool(build.config_settings)),
            ("config-settings-package", name in build.config_settings_package)) if applies]
        if settings:
            out.append(f"{name} is installed from its sdist, and tool.uv.{', tool.uv.'.join(settings)} "
                       "applied to its metadata build; the generated requirements files and Dockerfiles do not "
                       "pass them on to pip or uv (give them to the installer yourself)")
    return out


def _summary(plan: Any, output: Output, default_index: str, listing: bool = True) -> None:
    """Per target a line (its size and GPU runtime) and what it left out; with `listing`, its
    packages; then the differences between targets (`_sections`)."""
    from planner.plan.runtime import carried_runtime

    for target_plan in plan.targets:
        target = target_plan.target
        output.text(f"{target.name} ({target.platform.name}, Python {target.python}, {target.accelerator_text}): "
                    f"{_count(len(target_plan.packages), 'package')}, {carried_runtime(target_plan).describe()}")
        for item in target_plan.left_out:
            output.text(f"  left out: {item}: {item.reason}")
            output.text(f"    {item.fix}")
        for package in target_plan.packages if listing else ():
            where = "" if package.index == default_index else f"  [{package.index}]"
            if package.artifact.is_local:
                where = f"  [{package.artifact.path}{', editable' if package.artifact.editable else ''}]"
            elif package.artifact.git is not None:
                where = f"  [git {package.artifact.git.repository}@{package.artifact.git.commit[:12]}" + (
                    f"#{package.artifact.subdirectory}]" if package.artifact.subdirectory else "]")
            elif package.artifact.is_direct:
                where = f"  [url {package.artifact.url}]"
            version = "" if package.version.local == "dynamic" else f" {package.version}"
            extras = f"[{','.join(package.extras)}]" if package.extras else ""
            output.text(f"  {package.name}{extras}{version}{where}")
    _sections(plan, output)


def _sections(plan: Any, output: Output) -> None:
    """Differences between targets, packages held back to align, direct requirements held back."""
    from planner.explain.plan import shown_holds

    if plan.divergences:
        output.text("differences between targets:")
        for divergence in plan.divergences:
            choices = ", ".join(f"{t}: {v}" for t, v in divergence.choices)
            output.text(f"  {divergence.package} ({divergence.kind}): {choices}")
            output.text(f"    because {divergence.reason}")
    elsewhere = [(target_plan.target, package) for target_plan in plan.targets for package in target_plan.packages
                 if package.built_elsewhere(target_plan.target)]
    if elsewhere:
        output.text("metadata built on another environment than the target's (a build may compute other "
                    "dependencies there; uv has the same limit):")
        for target, package in elsewhere:
            built = package.metadata_built_on
            output.text(f"  {package.name} {package.version} on {target.name}: built on {built.describe()}, "
                        f"the target has {', '.join(package.built_elsewhere(target))}")
    if plan.held_back:
        output.text("held back to keep targets aligned:")
        for held in plan.held_back:
            output.text(f"  {held.package} {held.version} on {held.target} (could take {held.newest} alone): {held.reason}")
    holds = [(t.target.name, h) for t in plan.targets for h in shown_holds(t) if h.cause != "alignment"]
    if holds:
        output.text("direct requirements below their newest version:")
        for target, hold in holds:
            output.text(f"  {hold.package} {hold.version} on {target} (newest {hold.newest}): {hold.reason}")
    kept = sorted({h.package for t in plan.targets for h in t.holds if h.cause == "pin" and h.by in (None, h.package)})
    if kept:
        output.text(f"{_count(len(kept), 'direct requirement')} kept below their newest version from the previous plan "
                    f"({', '.join(kept[:5])}{', ...' if len(kept) > 5 else ''}); planner compile -U (or -P NAME) "
                    "upgrades them")


app.command(name="compile", short_help="Prove a plan per target; write lock, requirements, Dockerfiles.")(compile_command)
