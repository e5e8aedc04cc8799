"""A real open-source uv workspace (tests/fixtures/data/mcp-python-sdk, its pyproject files kept
byte for byte; README there) loaded and planned: against a loopback index of stand-in wheels, one
per package the workspace names, at a version its requirements admit; and, opt-in (`-m live`),
against real PyPI. Every plan passes the independent checker, the project and its members are
local packages (the index's same-named releases are never taken), and derived targets activate
the workspace's default groups (dev, docs)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from planner.cli.workspace import CacheOptions, load_targets, open_index_client
from planner.index.models import LOCAL_INDEX
from planner.plan.check import check_target_plan
from planner.project.model import Project
from planner.solve.objective import solve_plan
from planner.solve.provider import IndexProvider
from planner.sources.provider import with_local_sources
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import write_index
from tests.fixtures.wheels import build_wheel

DATA = Path(__file__).parent / "fixtures" / "data" / "mcp-python-sdk"
MEMBERS = {"mcp-conformance-auth-client", "mcp-simple-auth-client", "mcp-simple-chatbot", "mcp-everything-server",
           "mcp-simple-auth", "mcp-simple-pagination", "mcp-simple-prompt", "mcp-simple-tool", "mcp-snippets"}


def _stand_ins(project: Project) -> list:
    """One dependency-free wheel per third-party package the workspace names, at a version every
    requirement on it admits; plus releases named like the local packages, which must never be taken."""
    specifiers: dict[str, list[SpecifierSet]] = {}
    extras: dict[str, set[str]] = {}
    for local in (project, *project.members):
        every = [*local.dependencies, *(d for ds in local.optional_dependencies.values() for d in ds),
                 *(d for ds in local.dependency_groups.values() for d in ds)]
        for dependency in every:
            if dependency.name in project.local_projects:
                continue
            specifiers.setdefault(dependency.name, []).append(dependency.requirement.specifier)
            extras.setdefault(dependency.name, set()).update(dependency.requirement.extras)
    wheels = []
    for name, specs in sorted(specifiers.items()):
        mentioned = sorted({Version(s.version) for spec in specs for s in spec if "*" not in s.version} | {Version("1.0")})
        version = next(v for v in reversed(mentioned) if all(spec.contains(v, prereleases=True) for spec in specs))
        wheels.append(build_wheel(name, str(version), extras=sorted(extras[name])))
    wheels += [build_wheel(name, "99.0") for name in ("mcp-python-sdk", "mcp-simple-tool")]
    return [w.fixture_file() for w in wheels]


def _solve_and_check(project_dir: Path, index_url: str | None, cache: Path, everything: bool = False):
    loaded = load_targets(project_dir, [], index_url)
    targets = loaded.targets
    if everything:  # a target that installs every member, as `uv sync --all-packages`
        targets = tuple(dataclasses.replace(t, packages=tuple(loaded.project.local_projects)) for t in targets)
    with open_index_client(loaded, CacheOptions(cache_dir=cache)) as client:
        provider = with_local_sources(loaded.project, IndexProvider(client))
        plan = solve_plan(loaded.project, targets, provider)
        assert not plan.unsatisfiable, [u.message for u in plan.unsatisfiable]
        for target_plan in plan.targets:
            assert check_target_plan(loaded.project, target_plan, lambda a: provider.metadata([a])[a]) == []
    return loaded, plan


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("real-workspace")
    shutil.copytree(DATA, root / "project")
    return root


def test_real_workspace_loads_with_its_members_and_default_groups(workspace) -> None:
    loaded = load_targets(workspace / "project", [], None)
    project = loaded.project
    assert project.name == "mcp-python-sdk" and project.is_package and not project.virtual
    assert {m.name for m in project.members} == MEMBERS
    assert str(project.requires_python) == ">=3.10"
    assert [(t.name, t.python.short, t.groups, t.packages) for t in loaded.targets] == [
        ("linux-x86_64", "3.10", ("dev", "docs"), ("mcp-python-sdk",)),
        ("linux-x86_64-py315", "3.15", ("dev", "docs"), ("mcp-python-sdk",)),
        ("macos-arm64", "3.10", ("dev", "docs"), ("mcp-python-sdk",)),
        ("macos-arm64-py315", "3.15", ("dev", "docs"), ("mcp-python-sdk",))]


def test_real_workspace_plans_against_stand_in_wheels(workspace) -> None:
    project = load_targets(workspace / "project", [], None).project
    write_index(workspace / "index", _stand_ins(project))
    with IndexServer({"pypi": workspace / "index"}) as server:
        _, plan = _solve_and_check(workspace / "project", server.url("pypi"), workspace / "cache")
        for target_plan in plan.targets:
            root = target_plan.get("mcp-python-sdk")
            assert root is not None and root.index == LOCAL_INDEX and str(root.version) == "0.0.0"
            assert root.extras == ("rich",)
            assert not MEMBERS & {p.name for p in target_plan.packages}  # members are not the root's dependencies
            assert target_plan.get("pytest").for_groups == ("dev",)
        _, everything = _solve_and_check(workspace / "project", server.url("pypi"), workspace / "cache", everything=True)
        for target_plan in everything.targets:
            local = {p.name for p in target_plan.packages if p.index == LOCAL_INDEX}
            assert local == MEMBERS | {"mcp-python-sdk"}
            assert "mcp-simple-tool" in target_plan.get("mcp-python-sdk").required_by
        assert not server.requests("/pypi/simple/mcp-python-sdk")


@pytest.mark.live
def test_real_workspace_plans_against_pypi(workspace) -> None:
    _, plan = _solve_and_check(workspace / "project", None, workspace / "live-cache", everything=True)
    for target_plan in plan.targets:
        assert canonicalize_name("mcp-python-sdk") in {p.name for p in target_plan.packages if p.index == LOCAL_INDEX}
        assert target_plan.get("pydantic") is not None
