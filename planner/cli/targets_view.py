"""Rendering of `planner targets` as a table or JSON."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich import box
from rich.table import Table

from planner.cli.console import Output
from planner.cli.workspace import LoadedTargets
from planner.errors import format_key
from planner.project.model import Index
from planner.targets.model import Target
from planner.project.model import GitSource, PathSource, UrlSource, WorkspaceSource
from planner.targets.routing import Route


def _activated(target: Target) -> str:
    parts = [f"extra {e}" for e in target.extras] + [f"group {g}" for g in target.groups]
    return ", ".join(parts) or "-"


def _routes_text(routes: dict[str, Route]) -> str:
    by_index: dict[str, list[str]] = defaultdict(list)
    for package, route in routes.items():
        by_index[_where(route)].append(package)
    return "; ".join(f"{', '.join(packages)} -> {index}" for index, packages in by_index.items()) or "-"


def _where(route: Route) -> str:
    """Where a routed package comes from: its indexes, or its local, git or URL source."""
    if isinstance(route.direct, GitSource):
        return f"git {route.direct.reference}"
    if isinstance(route.direct, UrlSource):
        return f"url {route.direct.reference.display_url}"
    if isinstance(route.local, WorkspaceSource):
        return "workspace"
    if isinstance(route.local, PathSource):
        return f"path {route.local.written}"
    return " > ".join(route.index_names)


def _shows_packages(loaded: LoadedTargets) -> bool:
    """The packages column is shown for workspaces and projects installed as a package."""
    return bool(loaded.project.members) or loaded.project.is_package


def targets_text(loaded: LoadedTargets, output: Output) -> None:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    packages = _shows_packages(loaded)
    columns = ["target", "platform", "python", "accelerator", *(["packages"] if packages else []),
               "extras / groups", "index routing"]
    for column in columns:
        table.add_column(column, no_wrap=column not in ("index routing", "packages"), overflow="fold")
    for target in loaded.targets:
        table.add_row(
            target.name,
            target.platform.name,
            target.python.short,
            str(target.accelerator) if target.accelerator is not None else "-",
            *([", ".join(target.packages) or "-"] if packages else []),
            _activated(target),
            _routes_text(loaded.routes[target.name]),
        )
    output.out.print(table)
    indexes = ", ".join(f"{index.name} ({', '.join([index.display_url, *_index_roles(index)])})"
                        for index in loaded.project.indexes)
    output.text(f"indexes: {indexes}")
    project = loaded.project
    if project.members:
        root = "virtual root" if project.virtual else f"root {project.name}" + ("" if project.is_package else " (no package)")
        members = ", ".join(f"{m.name} ({m.root.relative_to(project.root).as_posix()}"
                            + ("" if m.is_package else ", no package") + ")" for m in project.members)
        output.text(f"workspace: {root}; members: {members}")
    if loaded.derived:
        output.text("targets derived by the default rule (no [tool.planner.targets]; see docs/targets.md):")
        for note in loaded.notes:
            output.text(f"  {note}")
    for target in loaded.targets:
        output.detail(f"{target.name}: {target.os_floor_text or 'no OS floor'}, {len(target.tags)} wheel tags, "
                      f"best {target.tags[0]}; markers: "
                      + ", ".join(f"{k}={v!r}" for k, v in target.environment.items()))


def _index_roles(index: Index) -> list[str]:
    roles = ["find-links"] if index.find_links else ["flat"] if index.is_flat else []
    roles += [role for role, on in (("explicit", index.explicit), ("default", index.default)) if on]
    return roles + ([f"member {index.member}"] if index.member else [])


def _route_json(route: Route) -> dict[str, Any]:
    data: dict[str, Any] = {
        "indexes": [{"name": index.name, "url": index.display_url} for index in route.indexes],
        "alongside": [{"name": index.name, "url": index.display_url} for index in route.alongside],
        "strategy": route.strategy.value,
        "source": None,
    }
    rule = route.source or route.local or route.direct
    if rule is not None and rule.origin is not None:
        data["source"] = {
            "file": str(rule.origin.file),
            "line": rule.origin.line,
            "key": format_key(rule.origin.key),
        }
    if route.local is not None:
        data["local"] = {"kind": "workspace" if isinstance(route.local, WorkspaceSource) else "path",
                         "path": getattr(route.local, "written", None), "editable": route.local.editable}
    if isinstance(route.direct, GitSource):
        reference = route.direct.reference
        data["git"] = {"url": reference.display_url, "ref_kind": reference.ref.kind.value, "ref": reference.ref.name,
                       "subdirectory": reference.subdirectory, "declared": route.direct.declared.value}
    elif isinstance(route.direct, UrlSource):
        reference = route.direct.reference
        data["url"] = {"url": reference.display_url, "filename": reference.filename, "kind": reference.kind.value,
                       "sha256": reference.sha256, "declared": route.direct.declared.value}
    return data


def target_json(target: Target) -> dict[str, Any]:
    from planner.generate.plan_json import target_definition

    return {**target_definition(target), "wheel_tags": [str(tag) for tag in target.tags]}


def targets_json(loaded: LoadedTargets) -> dict[str, Any]:
    project = loaded.project
    return {
        "project": {
            "name": project.name,
            "virtual": project.virtual,
            "package": project.is_package,
            "members": [{"name": m.name, "pyproject": m.display_path(), "package": m.is_package}
                        for m in project.members],
            "pyproject": str(project.pyproject),
            "requires_python": str(project.requires_python) if project.requires_python else None,
        },
        "derived": loaded.derived,
        "derivation": list(loaded.notes),
        "indexes": [
            {"name": i.name, "url": i.display_url, "explicit": i.explicit, "default": i.default,
             "format": i.format.value, "find_links": i.find_links, "member": i.member}
            for i in project.indexes
        ],
        "targets": [
            {**target_json(target), "routes": {p: _route_json(r) for p, r in loaded.routes[target.name].items()}}
            for target in loaded.targets
        ],
        "warnings": [str(w) for w in loaded.warnings],
    }
