"""`planner mirror`: write a static simple index of chosen packages (see `planner.mirror`).

The command registers itself on `planner.cli.app.app` when this module is imported (app.py
imports it last), so the two modules can be imported in either order.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from planner.mirror import MirrorReport
    from planner.project.model import Index, Project

SOURCE_INDEX_NAME = "source"


@reports_errors
def mirror_command(
    ctx: typer.Context,
    specs: Annotated[list[str], typer.Argument(
        metavar="SPEC", help="Packages with optional version filters, e.g. 'numpy>=2,<2.3' or 'torch'.")],
    to: Annotated[Path, typer.Option("--to", metavar="DIR", help="The mirror folder (created; an earlier mirror is added to).")],
    from_index: Annotated[str | None, typer.Option(
        "--from-index", metavar="NAME",
        help="Read from the project's index NAME (default: the project's default index). "
             "With --from-url: the name credentials are looked up under.")] = None,
    from_url: Annotated[str | None, typer.Option(
        "--from-url", metavar="URL", help="Read from this simple index URL (or local folder); needs no project.")] = None,
    project: Annotated[Path, typer.Option(
        "--project", "-p", metavar="PATH", help="The project directory or its pyproject.toml (not needed with --from-url).")] = Path("."),
    latest: Annotated[int | None, typer.Option(
        "--latest", min=1, metavar="N", help="Keep only the N newest matching versions of each package.")] = None,
    target: Annotated[list[str] | None, typer.Option(
        "--target", "-t", metavar="NAME", help="Keep only wheels that fit this project target, plus sdists (repeatable).")] = None,
    all_targets: Annotated[bool, typer.Option(
        "--all-targets", help="Keep only wheels that fit one of the project's targets, plus sdists.")] = False,
    files: Annotated[bool, typer.Option(
        "--files", help="Also copy the artifacts (verified by sha256) and link them locally; without it, "
                        "file links are the source index's own (absolute) URLs.")] = False,
    pre: Annotated[bool, typer.Option(
        "--pre", help="Keep pre-releases (default: only when a specifier names one, as PEP 440 says).")] = False,
    files_href: Annotated[str, typer.Option(
        "--files-href", metavar="PREFIX",
        help="Relative URL from a project page to the files folder (.metadata files; artifacts with --files "
             "or --relative-urls); '../../files/' suits a server that maps /<name>/simple/ to DIR and "
             "/<name>/files/ to DIR/files.")] = "../files/",
    relative_urls: Annotated[bool, typer.Option(
        "--relative-urls",
        help="Link files under --files-href even without --files (the artifacts are put there by other "
             "means).")] = False,
    output_format: FormatOption = OutputFormat.TEXT,
    index: IndexOption = None,
    default_index: DefaultIndexOption = None,
    cache_dir: CacheDirOption = None,
    no_cache: NoCacheOption = False,
    refresh: RefreshOption = False,
    offline: OfflineOption = False,
) -> None:
    """Write a static simple index (PEP 691 JSON, PEP 503 HTML, PEP 658 metadata) of SPEC... from an index."""
    from planner.cli.workspace import CacheOptions, LoadedTargets, load_targets, open_index_client, target_platforms
    from planner.errors import InputError
    from planner.mirror import MirrorRequest, mirror

    output: Output = ctx.obj
    requirements = [_requirement(spec) for spec in specs]
    needs_project = from_url is None or bool(target) or all_targets
    loaded = load_targets(project, index or [], default_index) if needs_project else None
    if loaded is not None:
        for warning in loaded.warnings:
            output.detail(f"warning: {warning}")
    if from_url is not None:
        if index or default_index:
            output.detail("note: --index and --default-index do not change --from-url")
        source = _url_index(from_url, from_index)
        client_targets = LoadedTargets(_url_only_project(source), (), False, {}, ())
    else:
        assert loaded is not None
        client_targets = loaded
        source = _project_index(loaded.project, from_index)
    chosen = None
    if loaded is not None and all_targets:
        chosen = list(loaded.targets)
    elif loaded is not None and target:
        chosen = _select_targets(loaded.targets, target)
    request = MirrorRequest(
        packages=requirements,
        latest=latest,
        targets=chosen,
        include_files=files,
        prereleases=True if pre else None,
        files_href=files_href,
        relative_urls=relative_urls,
    )
    options = CacheOptions(cache_dir, no_cache, refresh, offline)
    platforms = target_platforms(chosen) if chosen is not None else None  # unrestricted: every file
    unusable: list[str] = []
    with open_index_client(client_targets, options, platforms=platforms, warn=unusable.append) as client:
        report = mirror(client, source, request, to)
    lines, covered = _per_page(unusable)
    for line in lines:
        output.warning(line)
    _print_report(report, output, output_format is OutputFormat.JSON, covered)
    empty = [p.name for p in report.packages if not p.versions]
    if empty:
        raise InputError(f"nothing mirrored for {', '.join(empty)} from index '{source.name}'",
                         fix="check the package names and version filters against the index")


def _requirement(spec: str):  # type: ignore[no-untyped-def]
    from packaging.requirements import InvalidRequirement, Requirement

    from planner.errors import InputError
    from planner.mirror import check_requirement

    try:
        requirement = Requirement(spec)
    except InvalidRequirement as exc:
        raise InputError(f"'{spec}' is not a package with a version filter ({exc})",
                         fix="write e.g. 'numpy' or 'numpy>=2,<2.3'") from None
    check_requirement(requirement)
    return requirement


def _url_index(raw: str, name: str | None) -> Index:
    from planner.errors import InputError
    from planner.project.model import Index
    from planner.urls import normalize_index_url

    try:
        url = normalize_index_url(raw, Path.cwd())
    except ValueError as exc:
        raise InputError(f"--from-url: invalid index URL: {exc}", fix="give an http(s):// URL or a local path") from None
    label = (name or SOURCE_INDEX_NAME).strip()
    if not label:
        raise InputError("--from-index: the name is empty")
    return Index(name=label, url=url, default=True)


def _project_index(project: Project, name: str | None) -> Index:
    from planner.errors import InputError

    if name is None:
        return project.default_index
    try:
        return project.index(name)
    except KeyError:
        known = ", ".join(i.name for i in project.indexes)
        raise InputError(f"--from-index {name}: the project defines no index named '{name}'",
                         fix=f"use one of: {known}") from None


def _url_only_project(source: Index) -> Project:
    """A stand-in project whose only index is `source` (what the client and credentials need)."""
    from packaging.utils import canonicalize_name

    from planner.project.model import PlannerSettings, Project, UvSettings, frozen_mapping

    return Project(
        pyproject=Path.cwd() / "pyproject.toml",
        name=canonicalize_name("mirror"),
        version=None,
        requires_python=None,
        dependencies=(),
        optional_dependencies=frozen_mapping(),
        dependency_groups=frozen_mapping(),
        uv=UvSettings(indexes=(source,)),
        planner=PlannerSettings(),
    )


def _kib(n: int) -> str:
    return f"{n / 1024:.1f} KiB"


# The index client's warning about a file it leaves out (planner/index/client.py).
_UNUSABLE_RE = re.compile(r"index '(?P<index>[^']*)' lists '(?P<file>[^']*)', which is unusable: (?P<reason>.*); "
                          r"planner leaves it out \((?P<url>[^()]*)\)")
_MORE_RE = re.compile(r"index '(?P<index>[^']*)': (?P<count>\d+) more unusable files on (?P<url>.*)")


def _per_page(warnings: list[str]) -> tuple[list[str], set[str]]:
    """The client's warnings about unusable files as one line per index page (a mirror reads whole
    pages: one line per file would bury the summary), and the names of the pages summed up."""
    pages: dict[tuple[str, str], list[tuple[str, str]]] = {}
    more: dict[tuple[str, str], int] = {}
    lines = []
    for warning in warnings:
        if (match := _UNUSABLE_RE.fullmatch(warning)) is not None:
            pages.setdefault((match["index"], match["url"]), []).append((match["file"], match["reason"]))
        elif (match := _MORE_RE.fullmatch(warning)) is not None:
            more[(match["index"], match["url"])] = int(match["count"])
        else:
            lines.append(warning)
    for (index, url), files in pages.items():
        count = len(files) + more.get((index, url), 0)
        first, reason = files[0]
        lines.append(f"index '{index}': {_count(count, 'listed file')} unusable, left out (first: {first!r}: "
                     f"{reason}) ({url})")
    return lines, {url.rstrip("/").rsplit("/", 1)[-1] for _, url in pages}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _print_report(report: MirrorReport, output: Output, as_json: bool, covered: set[str] = frozenset()) -> None:
    from planner.mirror import UNREADABLE

    for package in report.packages:
        # Per-file notes ("<file>: no metadata file (why)") as one line per package; unreadable
        # files once (the warning about them, above, when there is one).
        per_file = [note for note in package.notes if ": no metadata file (" in note]
        for note in package.notes:
            if note not in per_file and not (UNREADABLE in note and package.name in covered):
                output.info(f"{package.name}: {note}")
        if per_file:
            output.info(f"{package.name}: {_count(len(per_file), 'file')} mirrored without a metadata file "
                        f"(first: {per_file[0]})")
    totals = report.totals
    artifacts = f", {_count(totals['artifact_files'], 'artifact')}" if totals["artifact_files"] else ""
    output.info(
        f"mirrored {_count(totals['packages'], 'package')} from index '{report.index}' ({report.index_url}) "
        f"into {report.out_dir}: {_count(totals['versions'], 'version')}, {_count(totals['files'], 'file')}, "
        f"{_count(totals['metadata_files'], 'metadata file')}{artifacts}, {_kib(totals['bytes'])}; "
        f"{_count(totals['changed'], 'file')} created or changed"
    )
    if as_json:
        output.json(report.to_json())
        return
    for package in report.packages:
        versions = ", ".join(package.versions) if package.versions else "-"
        output.text(f"{package.name}  {versions}  files={len(package.files)} metadata={package.metadata_files} "
                    f"artifacts={package.artifact_files} {_kib(package.bytes)}")


app.command(name="mirror", short_help="Write a static simple index of chosen packages.")(mirror_command)
