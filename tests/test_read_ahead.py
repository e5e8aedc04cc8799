"""Metadata read ahead of the solver (`IndexClient.read_ahead`): on a cold cache the client reads
the metadata of the version each newly required package will most likely take first, and follows
what it reads down the tree, so that the solver finds it there; it reads nothing else, and the
solver meets a failure of a read ahead as if it had read the file itself. Plans are the same
with and without it."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from planner.index.http import FetchError
from planner.project.loader import load_project
from planner.project.overrides import IndexOverrides, apply_index_overrides
from planner.targets.resolve import resolve_targets
from planner.targets.routing import route
from tests.fixtures.hostile import compile_cli, snapshot
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import write_index
from tests.fixtures.wheels import build_wheel
from tests.test_index_client import make_client

# alpha: 3.0rc1 (a pre-release), 2.5 (yanked), 2.0 -> gamma; 1.0 -> nothing.
# beta 1.0 -> gamma<2 and, on Windows only, delta. gamma: 2.0 -> epsilon, 1.0. epsilon 1.0.
WHEELS = [
    (build_wheel("alpha", "3.0rc1", ["gamma"]), {}),
    (build_wheel("alpha", "2.5", ["gamma"]), {"yanked": "broken"}),
    (build_wheel("alpha", "2.0", ["gamma"]), {}),
    (build_wheel("alpha", "1.0"), {}),
    (build_wheel("beta", "1.0", ["gamma<2", "delta; sys_platform == 'win32'"]), {}),
    (build_wheel("gamma", "2.0", ["epsilon"]), {}),
    (build_wheel("gamma", "1.0"), {}),
    (build_wheel("delta", "1.0"), {}),
    (build_wheel("epsilon", "1.0"), {}),
]
PYPROJECT = """\
[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.11,<3.12"
dependencies = [{dependencies}]

[tool.planner.targets.linux]
platform = "linux-x86_64"
python = "3.11"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("read-ahead-index")
    write_index(root, [wheel.fixture_file(**fields) for wheel, fields in WHEELS])
    with IndexServer({"pypi": root}) as served:
        served.pep658 = False  # metadata by range requests, as from PyPI today
        yield served


def _project(tmp_path: Path, server: IndexServer, dependencies: str):
    folder = tmp_path / "app"
    folder.mkdir(exist_ok=True)
    (folder / "pyproject.toml").write_text(PYPROJECT.format(dependencies=dependencies))
    project = apply_index_overrides(load_project(folder / "pyproject.toml"),
                                    IndexOverrides.parse([], server.url("pypi"), folder))
    return folder, project


def _wait(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the read-ahead did not finish in time"
        time.sleep(0.01)


def _read(server: IndexServer) -> list[str]:
    """The wheels whose metadata was read (range requests), by file name, in order."""
    return sorted({r.path.rsplit("/", 1)[1] for r in server.log if r.path.endswith(".whl")})


def test_the_version_the_solver_takes_first_is_read_ahead_and_followed(server, tmp_path) -> None:
    server.reset_log()
    _, project = _project(tmp_path, server, '"alpha"')
    target = resolve_targets(project).by_name("linux")
    client = make_client(project, tmp_path / "cache", platforms=frozenset({"linux_x86_64", "any"}))
    try:
        client.read_ahead(target, [(route(project, target, "alpha"), SpecifierSet())])
        _wait(lambda: client.stats.read_ahead == 3)
        time.sleep(0.2)  # (nothing more comes)
        # The newest alpha that is neither a pre-release nor yanked, then down what it requires.
        assert _read(server) == ["alpha-2.0-py3-none-any.whl", "epsilon-1.0-py3-none-any.whl",
                                 "gamma-2.0-py3-none-any.whl"]
        assert client.stats.read_ahead == 3 and client.read_ahead_unused == 3
        requests = len(server.log)
        alpha = next(c for c in client.candidates("alpha", target).candidates if str(c.version) == "2.0")
        assert [r.name for r in client.metadata(alpha.artifact).metadata.requires_dist] == ["gamma"]
        assert len(server.log) == requests  # the solver's ask is answered from what was read ahead
        assert client.read_ahead_unused == 2
        # Once per target and package: asking again reads nothing more.
        client.read_ahead(target, [(route(project, target, "alpha"), SpecifierSet("<2"))])
        time.sleep(0.2)
        assert len(server.log) == requests
    finally:
        client.close()


def test_the_specifier_and_the_targets_markers_steer_what_is_read(server, tmp_path) -> None:
    server.reset_log()
    _, project = _project(tmp_path, server, '"beta", "alpha<2"')
    target = resolve_targets(project).by_name("linux")
    client = make_client(project, tmp_path / "cache", platforms=frozenset({"linux_x86_64", "any"}))
    try:
        client.read_ahead(target, [(route(project, target, "alpha"), SpecifierSet("<2")),
                                   (route(project, target, "beta"), SpecifierSet())])
        _wait(lambda: client.stats.read_ahead == 3)
        time.sleep(0.2)
        # gamma<2 (beta's) takes gamma 1.0; delta is for Windows only.
        assert _read(server) == ["alpha-1.0-py3-none-any.whl", "beta-1.0-py3-none-any.whl",
                                 "gamma-1.0-py3-none-any.whl"]
    finally:
        client.close()


def test_the_solver_meets_the_failure_of_a_read_ahead_once(server, tmp_path) -> None:
    server.reset_log()
    _, project = _project(tmp_path, server, '"alpha"')
    target = resolve_targets(project).by_name("linux")
    client = make_client(project, None, retries=0, platforms=frozenset({"linux_x86_64", "any"}))
    wheel = "/pypi/files/alpha-2.0-py3-none-any.whl"
    server.add_fault(wheel, 503)
    try:
        client.read_ahead(target, [(route(project, target, "alpha"), SpecifierSet())])
        _wait(lambda: server.count(wheel) == 1)
        _wait(lambda: bool(client._read_ahead_failures))
        alpha = next(c for c in client.candidates("alpha", target).candidates if str(c.version) == "2.0")
        with pytest.raises(FetchError, match="HTTP 503"):
            client.metadata(alpha.artifact)
        assert server.count(wheel) == 1  # not read again: the failure the read ahead met
        assert client.metadata(alpha.artifact).metadata.name == "alpha"  # a later ask reads again
    finally:
        client.close()


def test_offline_clients_read_nothing_ahead(server, tmp_path) -> None:
    _, project = _project(tmp_path, server, '"alpha"')
    target = resolve_targets(project).by_name("linux")
    client = make_client(project, tmp_path / "empty-cache", offline=True)
    client.read_ahead(target, [(route(project, target, "alpha"), SpecifierSet())])
    assert client._reader is None and client.stats.read_ahead == 0


def test_plans_are_the_same_with_and_without_read_ahead(server, tmp_path, monkeypatch) -> None:
    folder, _ = _project(tmp_path, server, '"alpha", "alpha<2", "beta"')
    args = ["compile", str(folder), "--default-index", server.url("pypi"), "--no-cache", "-q"]
    stats = tmp_path / "stats.json"
    result = compile_cli([*args, "--stats", str(stats)])
    assert result.exit_code == 0, result.output
    with_read_ahead = snapshot(folder / "output")
    import json

    counted = json.loads(stats.read_text())
    assert set(counted["read_ahead"]) == {"metadata", "unused"}
    assert counted["read_ahead"]["metadata"] <= counted["metadata"]["range"]

    from planner.index.client import IndexClient

    monkeypatch.setattr(IndexClient, "read_ahead", lambda self, target, wanted: None)
    for path in (folder / "output").rglob("*"):
        if path.is_file():
            path.unlink()
    result = compile_cli(args)
    assert result.exit_code == 0, result.output
    assert snapshot(folder / "output") == with_read_ahead


def test_the_projects_own_requirements_start_before_the_solver(server, tmp_path) -> None:
    """`start_with_roots`: the pages of the project's dependencies on each target, and on a target
    solved without previous pins the metadata read ahead from there."""
    _, project = _project(tmp_path, server, '"alpha<2", "beta; sys_platform == \'win32\'"')
    target = resolve_targets(project).by_name("linux")
    for fresh in (False, True):
        server.reset_log()
        client = make_client(project, None, platforms=frozenset({"linux_x86_64", "any"}))
        try:
            client.start_with_roots([target], lambda _: fresh)
            _wait(lambda: client.stats.pages_fetched == 1 and client.stats.read_ahead == int(fresh))
            time.sleep(0.2)
            assert [r.path for r in server.log if "/simple/" in r.path] == ["/pypi/simple/alpha/"]  # beta: Windows
            assert _read(server) == (["alpha-1.0-py3-none-any.whl"] if fresh else [])
        finally:
            client.close()


def test_a_failed_read_ahead_is_not_tried_again_by_another_target(server, tmp_path) -> None:
    """Two targets read the same pure-Python wheel ahead: the second does not read it again
    after the first failed, so the solver meets that failure."""
    server.reset_log()
    _, project = _project(tmp_path, server, '"alpha"')
    target = resolve_targets(project).by_name("linux")
    other = replace(target, name="linux-other")
    client = make_client(project, None, retries=0, platforms=frozenset({"linux_x86_64", "any"}))
    wheel = "/pypi/files/alpha-2.0-py3-none-any.whl"
    server.add_fault(wheel, 503)
    try:
        client.read_ahead(target, [(route(project, target, "alpha"), SpecifierSet())])
        _wait(lambda: bool(client._read_ahead_failures))
        client.read_ahead(other, [(route(project, other, "alpha"), SpecifierSet())])
        _wait(lambda: ("linux-other", "alpha") in client._read_ahead_for)
        time.sleep(0.3)
        assert server.count(wheel) == 1
        alpha = next(c for c in client.candidates("alpha", target).candidates if str(c.version) == "2.0")
        with pytest.raises(FetchError, match="HTTP 503"):
            client.metadata(alpha.artifact)
    finally:
        client.close()
