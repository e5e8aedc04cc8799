"""The lock lifecycle around a solve: command-line settings, the previous outputs' pins and
cut-offs, upgrades; shared by `planner compile` and `planner why --fresh`.

- `--exclude-newer`, `--exclude-newer-package` and `--resolution` replace the pyproject's
  settings for the run and are part of the outputs' fingerprint and recorded command.
- The previous outputs (planner/previous/read.py) give each target's pins, kept unless
  `--upgrade` (`tool.uv.upgrade`) drops them all or `--upgrade-package NAME[SPEC]`
  (`tool.uv.upgrade-package`) drops NAME's; a SPEC bounds NAME for this run, as a constraint.
- An exclude-newer span is resolved against the clock, or to the timestamp the previous outputs
  recorded for the same span (so a later compile reproduces the plan) unless an upgrade is asked.
- A git source keeps the commit the previous plan resolved its ref to (a branch moves only on
  `--upgrade`, or `--upgrade-package` naming the package), when the plan names the same
  repository and ref as the pyproject does now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from planner.errors import Diagnostic, InputError, Location
from planner.previous.model import Pins, PreviousPlan
from planner.previous.read import read_previous
from planner.project.cutoffs import EXAMPLES, CutoffError, ExcludeNewer, RecordedCutoff, parse_exclude_newer
from planner.project.model import Dependency, GitSource, Project, Resolution, frozen_mapping
from planner.targets.model import Target
from planner.urls import strip_userinfo

if TYPE_CHECKING:
    from planner.sources.direct import GitPinKey


@dataclass(frozen=True)
class LifecycleOptions:
    upgrade: bool = False
    upgrade_packages: tuple[str, ...] = ()
    exclude_newer: str | None = None
    exclude_newer_package: tuple[str, ...] = ()
    resolution: str | None = None


@dataclass(frozen=True)
class Prepared:
    """What a solve needs besides the targets and the provider."""

    project: Project  # cut-offs resolved, upgrade bounds added as constraints
    previous: PreviousPlan | None
    pins: Mapping[str, Pins]  # per target, the pins to keep
    upgrade: tuple[NormalizedName, ...]  # decided before the pins are kept
    warnings: tuple[Diagnostic, ...] = field(default=())
    git_pins: Mapping[GitPinKey, str] = field(default_factory=frozen_mapping)  # git refs kept at their commit


def apply_settings(project: Project, options: LifecycleOptions) -> tuple[Project, list[str]]:
    """The project with the command line's plan settings, and those settings as canonical words."""
    words: list[str] = []
    uv = project.uv
    if options.resolution is not None:
        try:
            resolution = Resolution(options.resolution)
        except ValueError:
            raise InputError(f"--resolution {options.resolution}: not a resolution strategy",
                             fix=f"use one of: {', '.join(r.value for r in Resolution)}") from None
        uv = replace(uv, resolution=resolution)
        words += ["--resolution", resolution.value]
    if options.exclude_newer is not None:
        uv = replace(uv, exclude_newer=_cutoff("--exclude-newer", options.exclude_newer))
        words += ["--exclude-newer", options.exclude_newer]
    if options.exclude_newer_package:
        per_package = dict(uv.exclude_newer_package)
        for item in options.exclude_newer_package:
            name, sep, value = item.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise InputError(f"--exclude-newer-package {item}: expected NAME=DATE",
                                 fix="write e.g. --exclude-newer-package torch=2024-06-01 (or torch=false)")
            package = _package_name("--exclude-newer-package", name)
            per_package[package] = None if value.strip().lower() == "false" else _cutoff("--exclude-newer-package", value)
        uv = replace(uv, exclude_newer_package=frozen_mapping(per_package))
        words += [w for item in sorted(options.exclude_newer_package) for w in ("--exclude-newer-package", item)]
    return replace(project, uv=uv), words


def options_from_words(words: Sequence[str]) -> LifecycleOptions:
    """The settings `apply_settings` wrote as words (as plan.json records them), read back."""
    values: dict[str, list[str]] = {}
    items = list(words)
    if len(items) % 2:
        raise ValueError("an option without its value")
    for option, value in zip(items[::2], items[1::2], strict=True):
        if option not in ("--resolution", "--exclude-newer", "--exclude-newer-package"):
            raise ValueError(f"unknown option {option!r}")
        values.setdefault(option, []).append(value)
    single = {k: v[-1] for k, v in values.items()}
    return LifecycleOptions(exclude_newer=single.get("--exclude-newer"),
                            exclude_newer_package=tuple(values.get("--exclude-newer-package", ())),
                            resolution=single.get("--resolution"))


def prepare(project: Project, targets: Sequence[Target], out_dir: Path, index_urls: Mapping[str, str],
            options: LifecycleOptions, now: datetime | None = None) -> Prepared:
    """Read the previous outputs, resolve the cut-offs, work out pins and upgrades."""
    previous = read_previous(out_dir, project, targets, index_urls)
    upgrade_all = options.upgrade or project.uv.upgrade
    upgrades = [*project.uv.upgrade_package, *(_upgrade(text) for text in options.upgrade_packages)]
    names = tuple(dict.fromkeys(d.name for d in upgrades))
    bounds = tuple(d for d in upgrades if d.requirement.specifier)
    moving = upgrade_all or bool(names)
    plan = previous.plan
    resolved = _resolve_cutoffs(project, plan, now or datetime.now(UTC), fresh=moving)
    if bounds:
        resolved = replace(resolved, uv=replace(resolved.uv, constraints=(*resolved.uv.constraints, *bounds)))
    pins: dict[str, Pins] = {}
    if plan is not None and not upgrade_all:
        for target in targets:
            pins[target.name] = frozen_mapping({n: p for n, p in plan.pins(target.name).items() if n not in names})
    git_pins = _git_pins(project, plan, names) if plan is not None and not upgrade_all else {}
    warnings = list(previous.warnings)
    if plan is not None:
        known = {n for t in plan.targets.values() for n in t}
        unknown = [n for n in names if n not in known]
        if unknown and not upgrade_all:
            warnings.append(Diagnostic(f"--upgrade-package {', '.join(unknown)}: not in the previous plan "
                                       f"({plan.source.name}); planned as any new requirement"))
    return Prepared(resolved, plan, frozen_mapping(pins), names, tuple(warnings), frozen_mapping(git_pins))


def _git_pins(project: Project, plan: PreviousPlan, upgraded: Sequence[NormalizedName]) -> dict[GitPinKey, str]:
    """The previous plan's commit of each git source whose package, repository and ref it records
    as the pyproject writes them now (a changed ref, or another repository, resolves afresh)."""
    from planner.project.references import GitRefKind
    from planner.sources.direct import git_pin_key
    from planner.sources.git import normalized_url  # (imported here: --check needs none of it)

    recorded = {(pin.name, normalized_url(strip_userinfo(pin.repository)), pin.requested): pin.commit
                for pin in plan.git}
    out: dict[GitPinKey, str] = {}
    for name, sources in project.uv.direct_sources.items():
        if name in upgraded:
            continue
        for source in sources:
            if not isinstance(source, GitSource):
                continue
            reference = source.reference
            requested = None if reference.ref.kind is GitRefKind.DEFAULT else reference.ref.name
            commit = recorded.get((name, normalized_url(strip_userinfo(reference.url)), requested))
            if commit is not None:
                out.setdefault(git_pin_key(reference), commit)
    return out


def _resolve_cutoffs(project: Project, plan: PreviousPlan | None, now: datetime, fresh: bool) -> Project:
    """Spans made timestamps: the previous outputs' for the same span, unless `fresh`."""
    def recorded(found: RecordedCutoff | None) -> RecordedCutoff | None:
        return None if fresh or plan is None else found

    uv = project.uv
    exclude_newer = uv.exclude_newer
    if exclude_newer is not None:
        exclude_newer = exclude_newer.resolved(now, recorded(plan.exclude_newer if plan else None))
    per_package = {
        name: None if cutoff is None else cutoff.resolved(now, recorded(plan.exclude_newer_package.get(name) if plan else None))
        for name, cutoff in uv.exclude_newer_package.items()}
    return replace(project, uv=replace(uv, exclude_newer=exclude_newer, exclude_newer_package=frozen_mapping(per_package)))


def _cutoff(option: str, value: str) -> ExcludeNewer:
    try:
        return parse_exclude_newer(value, Location(Path(option)))
    except CutoffError as exc:
        raise InputError(f"{option} {value}: {exc}", fix=f"give {EXAMPLES}") from None


def _package_name(option: str, text: str) -> NormalizedName:
    try:
        return canonicalize_name(text.strip(), validate=True)
    except ValueError:
        raise InputError(f"{option} {text}: not a package name", fix="give a name such as torch") from None


def _upgrade(text: str) -> Dependency:
    """`--upgrade-package NAME[SPEC]`: the package, and a bound on it for this run."""
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        raise InputError(f"--upgrade-package {text}: expected NAME or NAME==VERSION (a PEP 508 requirement)",
                         fix="write e.g. -P torch or -P torch==2.6.0") from None
    if requirement.url or requirement.marker is not None or requirement.extras:
        raise InputError(f"--upgrade-package {text}: only a name and a version specifier are allowed",
                         fix="write e.g. -P torch or -P 'torch>=2.6,<3'")
    return Dependency(requirement, Location(Path("--upgrade-package")))
