"""Rendering of `planner targets` as a table or JSON."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich import box
from rich.table import Table

from planner.cli.console import Output
from planner.cli.workspace import LoadedTargets
from planner.errors import format_key
from planner.targets.model import Target
from planner.targets.routing import Route


def _activated(target: Target) -> str:
    parts = [f"extra {e}" for e in target.extras] + [f"group {g}" for g in target.groups]
    return ", ".join(parts) or "-"


def _routes_text(routes: dict[str, Route]) -> str:
    by_index: dict[str, list[str]] = defaultdict(list)
    for package, route in routes.items():
        by_index[" > ".join(route.index_names)].append(package)
    return "; ".join(f"{', '.join(packages)} -> {index}" for index, packages in by_index.items()) or "-"


def targets_text(loaded: LoadedTargets, output: Output) -> None:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for column in ("target", "platform", "python", "accelerator", "extras / groups", "index routing"):
        table.add_column(column, no_wrap=column != "index routing", overflow="fold")
    for target in loaded.targets:
        table.add_row(
            target.name,
            target.platform.name,
            target.python.short,
            str(target.accelerator) if target.accelerator is not None else "-",
            _activated(target),
            _routes_text(loaded.routes[target.name]),
        )
    output.out.print(table)
    indexes = ", ".join(
        f"{index.name} ({index.display_url}{', explicit' if index.explicit else ''}{', default' if index.default else ''})"
        for index in loaded.project.indexes
    )
    output.text(f"indexes: {indexes}")
    if loaded.derived:
        output.text("targets derived by the default rule (no [tool.planner.targets]; see docs/targets.md):")
        for note in loaded.notes:
            output.text(f"  {note}")
    for target in loaded.targets:
        output.detail(f"{target.name}: {target.os_floor_text or 'no OS floor'}, {len(target.tags)} wheel tags, "
                      f"best {target.tags[0]}; markers: "
                      + ", ".join(f"{k}={v!r}" for k, v in target.environment.items()))


def _route_json(route: Route) -> dict[str, Any]:
    data: dict[str, Any] = {
        "indexes": [{"name": index.name, "url": index.display_url} for index in route.indexes],
        "strategy": route.strategy.value,
        "source": None,
    }
    if route.source is not None and route.source.origin is not None:
        data["source"] = {
            "file": str(route.source.origin.file),
            "line": route.source.origin.line,
            "key": format_key(route.source.origin.key),
        }
    return data


def target_json(target: Target) -> dict[str, Any]:
    from planner.generate.plan_json import target_definition

    return {**target_definition(target), "wheel_tags": [str(tag) for tag in target.tags]}


def targets_json(loaded: LoadedTargets) -> dict[str, Any]:
    project = loaded.project
    return {
        "project": {
            "name": project.name,
            "pyproject": str(project.pyproject),
            "requires_python": str(project.requires_python) if project.requires_python else None,
        },
        "derived": loaded.derived,
        "derivation": list(loaded.notes),
        "indexes": [
            {"name": i.name, "url": i.display_url, "explicit": i.explicit, "default": i.default}
            for i in project.indexes
        ],
        "targets": [
            {**target_json(target), "routes": {p: _route_json(r) for p, r in loaded.routes[target.name].items()}}
            for target in loaded.targets
        ],
        "warnings": [str(w) for w in loaded.warnings],
    }
