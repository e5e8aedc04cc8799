"""A real uv workspace (virtual root, three members, path sources to a wheel file and an sdist
file, a dev group) compiled against a loopback index, its plan checked by the independent checker,
and its outputs installed by the tools a user would run: pip and uv from the requirements files,
uv from the PEP 751 lock, each into a fresh virtual environment, with the members importable and
the app's console script running. (The image of the same workspace is built in
tests/test_docker_build.py.)"""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.app import app
from planner.cli.workspace import CacheOptions, load_targets, open_index_client
from planner.plan.check import check_target_plan
from planner.solve.objective import solve_plan
from planner.solve.provider import IndexProvider
from planner.sources.provider import with_local_sources
from tests.fixtures.index_server import IndexServer
from tests.fixtures.workspace_project import write_workspace
from tests.test_dockerfile import hadolint_findings
from tests.test_generate_install import _clean_env, _installed, _uv, _venv, on_linux_target

runner = CliRunner()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("workspace")
    project = root / "project"
    write_workspace(project, root / "indexes")
    with IndexServer({"pypi": root / "indexes" / "pypi"}) as server:
        result = runner.invoke(app, ["compile", str(project), "--default-index", server.url("pypi"),
                                     "--cache-dir", str(root / "cache")])
        assert result.exit_code == 0, result.output
        yield project, server, root / "cache"


def _plan(project: Path) -> dict[str, dict]:
    document = json.loads((project / "output" / "plan.json").read_text())
    return {p["name"]: p for p in document["targets"][0]["packages"]}


def test_local_packages_are_planned_from_their_trees_and_files_never_from_the_index(workspace) -> None:
    project, server, _ = workspace
    plan = _plan(project)
    assert {name: p["version"] for name, p in plan.items()} == {
        "app": "0.2.0", "core": "1.1.0", "helpers": "0.0.3", "libwheel": "1.0", "libsdist": "1.0",
        "alpha": "1.5", "beta": "2.1", "checker": "3.0", "gamma": "0.1"}
    assert plan["app"]["artifact"] == {**plan["app"]["artifact"], "kind": "directory", "path": "packages/app",
                                       "editable": True, "sha256": None}
    assert plan["libwheel"]["artifact"]["kind"] == "wheel"
    assert plan["libwheel"]["artifact"]["path"] == "vendor/libwheel-1.0-py3-none-any.whl"
    assert len(plan["libsdist"]["artifact"]["sha256"]) == 64
    assert plan["checker"]["required_by"] == ["<project>"]  # the dev group
    # The index's `core` and `app` were never even asked for.
    assert not server.requests("/pypi/simple/core") and not server.requests("/pypi/simple/app")


def test_every_plan_passes_the_independent_checker(workspace) -> None:
    project, server, cache = workspace
    loaded = load_targets(project, [], server.url("pypi"))
    with open_index_client(loaded, CacheOptions(cache_dir=cache)) as client:
        provider = with_local_sources(loaded.project, IndexProvider(client))
        plan = solve_plan(loaded.project, loaded.targets, provider)
        for target_plan in plan.targets:
            assert check_target_plan(loaded.project, target_plan, lambda a: provider.metadata([a])[a]) == []


def test_lock_names_local_packages_by_path_relative_to_the_lock(workspace) -> None:
    project, _, _ = workspace
    lock = tomllib.loads((project / "output" / "pylock.toml").read_text())
    by_name = {p["name"]: p for p in lock["packages"]}
    assert by_name["app"]["directory"] == {"path": "../packages/app", "editable": True}
    assert by_name["libwheel"]["archive"]["path"] == "../vendor/libwheel-1.0-py3-none-any.whl"
    assert set(by_name["libsdist"]["archive"]["hashes"]) == {"sha256"}
    assert "index" not in by_name["core"] and "wheels" not in by_name["core"]
    local = (project / "output" / "linux" / "local-packages.txt").read_text().split()
    assert [w for w in local if w.startswith(("-e", "./"))] == ["-e", "./packages/app", "-e", "./packages/core",
                                                               "-e", "./packages/helpers"]
    hashed = (project / "output" / "linux" / "requirements.txt").read_text()
    assert "./vendor/libwheel-1.0-py3-none-any.whl \\\n    --hash=sha256:" in hashed
    assert "packages/" not in hashed.split("--index-url")[1]  # no source tree in the hash-checked file


def _check_environment(python: Path, project: Path) -> None:
    expected = {name: p["version"] for name, p in _plan(project).items()}
    assert _installed(python) == expected
    run = subprocess.run([str(python.parent / "app-run")], capture_output=True, text=True, cwd=python.parent)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["app", "core", "helpers", "2.1", "1.0", "1.0", "1.5"]


@on_linux_target
@pytest.mark.parametrize("tool", ["pip", "uv"])
def test_requirements_files_install_the_target_exactly(workspace, tmp_path, tool: str) -> None:
    project, _, _ = workspace
    python = _venv(tmp_path / "venv", with_pip=tool == "pip")
    folder = "output/linux"
    if tool == "pip":
        steps = [[str(python), "-m", "pip", "install", "--require-hashes", "--no-deps", "-r", f"{folder}/requirements.txt"],
                 [str(python), "-m", "pip", "install", "--no-deps", "-r", f"{folder}/local-packages.txt"]]
    else:
        steps = [[_uv(), "pip", "install", "--python", str(python), "--require-hashes", "--no-deps",
                  "-r", f"{folder}/requirements.txt"],
                 [_uv(), "pip", "install", "--python", str(python), "--no-deps", "-r", f"{folder}/local-packages.txt"]]
    for step in steps:  # as the files' headers say: from the project folder
        result = subprocess.run(step, capture_output=True, text=True, cwd=project, env=_clean_env(tmp_path))
        assert result.returncode == 0, result.stderr
    _check_environment(python, project)


@on_linux_target
def test_uv_installs_the_target_from_the_pylock(workspace, tmp_path) -> None:
    project, _, _ = workspace
    python = _venv(tmp_path / "venv", with_pip=False)
    result = subprocess.run([_uv(), "pip", "install", "--python", str(python), "-r", "output/pylock.toml",
                             "--group", "dev"], capture_output=True, text=True, cwd=project, env=_clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    _check_environment(python, project)


def test_image_leaves_the_dev_group_out_and_runs_the_app(workspace, tmp_path) -> None:
    project, _, _ = workspace
    image = (project / "output" / "linux" / "image-requirements.txt").read_text()
    assert "checker==" not in image and "gamma==" not in image and "alpha==1.5" in image
    dockerfile = (project / "output" / "linux" / "Dockerfile").read_text()
    assert "COPY output/linux/image-requirements.txt /tmp/requirements.txt" in dockerfile
    assert "COPY packages/app /src/packages/app" in dockerfile and "-e" not in dockerfile.split("FROM")[1]
    assert 'CMD ["app-run"]' in dockerfile
    assert hadolint_findings(dockerfile, tmp_path) == []
    ignore = (project / "output" / "linux" / "Dockerfile.dockerignore").read_text().splitlines()
    assert "**/.venv" in ignore and "output/" in ignore and "!output/linux/image-requirements.txt" in ignore


def test_why_names_local_packages_with_their_pyproject_lines(workspace) -> None:
    project, server, cache = workspace
    result = runner.invoke(app, ["why", "beta", "-p", str(project), "-t", "linux", "--default-index",
                                 server.url("pypi"), "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert ("required by: app (a package the target installs, packages/app/pyproject.toml:2) -> app 0.2.0 requires "
            "core (packages/app/pyproject.toml:6) -> core 1.1.0 requires beta (packages/core/pyproject.toml:6)") in text
