"""Shared command set-up: load the project, apply overrides, make targets concrete."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from planner.errors import Diagnostic
from planner.project.loader import find_pyproject, load_project
from planner.project.model import Project
from planner.project.overrides import IndexOverrides, apply_index_overrides
from planner.targets.model import Target
from planner.targets.resolve import resolve_targets
from planner.targets.routing import Route, routing_table


@dataclass(frozen=True)
class LoadedTargets:
    project: Project
    targets: tuple[Target, ...]
    derived: bool
    routes: dict[str, dict[str, Route]]  # target name -> package -> route (source-routed only)
    warnings: tuple[Diagnostic, ...]


def load_targets(path: Path, index_options: list[str], default_index: str | None) -> LoadedTargets:
    pyproject = find_pyproject(path)
    overrides = IndexOverrides.parse(index_options, default_index, Path.cwd())
    project = apply_index_overrides(load_project(pyproject), overrides)
    resolved = resolve_targets(project)
    return LoadedTargets(
        project=project,
        targets=resolved.targets,
        derived=resolved.derived,
        routes=routing_table(project, resolved.targets),
        warnings=project.warnings + resolved.warnings,
    )
