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
    """A table, one row per target; when the table is wider than the terminal (or COLUMNS), one
    block per target instead, its lines wrapped at the width (never a column one letter wide)."""
    packages = _shows_packages(loaded)
    columns = ["target", "platform", "python", "accelerator", *(["packages"] if packages else []),
               "extras / groups", "index routing"]
    rows = [[
        target.name,
        target.platform.name,
        target.python.short,
        str(target.accelerator) if target.accelerator is not None else "-",
        *([", ".join(target.packages) or "-"] if packages else []),
        _activated(target),
        _routes_text(loaded.routes[target.name]),
    ] for target in loaded.targets]
    width = output.out.width
    natural = sum(max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(columns)) \
        + 3 * (len(columns) - 1)
    if rows and natural > width:
        _stacked(columns, rows, output, width)
    else:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
        for column in columns:
            table.add_column(column, no_wrap=True)
        for row in rows:
            table.add_row(*row)
        output.out.print(table)
    indexes = [f"{index.name} ({', '.join([index.display_url, *_index_roles(index)])})"
               for index in loaded.project.indexes]
    if len("indexes: " + ", ".join(indexes)) <= width:
        output.text(f"indexes: {', '.join(indexes)}")
    else:
        output.text("indexes:")
        for index in indexes:
            _wrapped(f"  {index}", output, width)
    project = loaded.project
    if project.members:
        root = "virtual root" if project.virtual else f"root {project.name}" + ("" if project.is_package else " (no package)")
        members = ", ".join(f"{m.name} ({m.root.relative_to(project.root).as_posix()}"
                            + ("" if m.is_package else ", no package") + ")" for m in project.members)
        _wrapped(f"workspace: {root}; members: {members}", output, width)
    if loaded.derived:
        _wrapped("targets derived by the default rule (no [tool.planner.targets]; see docs/targets.md):", output, width)
        for note in loaded.notes:
            _wrapped(f"  {note}", output, width)
    for target in loaded.targets:
        output.detail(f"{target.name}: {target.os_floor_text or 'no OS floor'}, {len(target.tags)} wheel tags, "
                      f"best {target.tags[0]}; markers: "
                      + ", ".join(f"{k}={v!r}" for k, v in target.environment.items()))


def _stacked(columns: list[str], rows: list[list[str]], output: Output, width: int) -> None:
    """Each target as a block: its name and machine on one line, the other columns below it."""
    for row in rows:
        fields = dict(zip(columns, row, strict=True))
        _wrapped(f"{fields['target']}: {fields['platform']}, Python {fields['python']}, {fields['accelerator']}",
                 output, width)
        for column in columns[4:]:
            _wrapped(f"  {column}: {fields[column]}", output, width)


def _wrapped(line: str, output: Output, width: int) -> None:
    """`line` wrapped at `width` at spaces, its continuation lines indented under it."""
    import textwrap

    indent = " " * (len(line) - len(line.lstrip()) + 4)
    for part in textwrap.wrap(line, width=width, subsequent_indent=indent, break_long_words=False,
                              break_on_hyphens=False) or [line]:
        output.text(part)


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
