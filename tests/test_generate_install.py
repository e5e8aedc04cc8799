"""The generated lock and requirements files, checked by the tools a user would run: packaging's
PEP 751 reader selects each target's exact artifacts, and real pip and uv install exactly the plan
on this machine's Linux target from loopback fixture indexes."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.pylock import Pylock
from typer.testing import CliRunner

from planner.cli.app import app
from planner.cli.workspace import load_targets
from tests.fixtures.index_server import IndexServer
from tests.fixtures.service_project import service_indexes, service_pyproject

runner = CliRunner()

# Real installs need this machine to be one of the targets: Linux x86_64 with CPython 3.11.
on_linux_target = pytest.mark.skipif(
    not (sys.platform == "linux" and platform.machine() == "x86_64" and sys.version_info[:2] == (3, 11)),
    reason="installs for the linux-x86_64 / Python 3.11 targets need such a machine")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    root = tmp_path_factory.mktemp("service")
    with IndexServer(service_indexes(root / "indexes")) as server:
        project = root / "project"
        project.mkdir()
        (project / "pyproject.toml").write_text(service_pyproject(server.url("special")))
        result = runner.invoke(app, ["compile", str(project), "--default-index", server.url("pypi"),
                                     "--cache-dir", str(root / "cache")])
        assert result.exit_code == 0, result.output
        yield project, server


def _plan(project: Path) -> dict[str, dict[str, dict]]:
    document = json.loads((project / "output" / "plan.json").read_text())
    return {t["target"]["name"]: {p["name"]: p for p in t["packages"]} for t in document["targets"]}


def test_pylock_selects_exactly_each_targets_artifacts(service) -> None:
    project, _ = service
    lock = Pylock.from_dict(tomllib.loads((project / "output" / "pylock.toml").read_text()))
    plans = _plan(project)
    for target in load_targets(project, [], None).targets:
        selected = {
            package.name: (str(package.version), artifact.name)
            for package, artifact in lock.select(environment=dict(target.environment), tags=list(target.tags),
                                                 extras=list(target.extras), dependency_groups=list(target.groups))
        }
        expected = {name: (p["version"], p["artifact"]["filename"]) for name, p in plans[target.name].items()}
        assert selected == expected, target.name
    assert plans["linux-cpu"]["engine"]["version"] == "1.0+cpu"
    assert plans["linux-gpu"]["engine"]["version"] == "1.0"
    assert "booster" in plans["linux-gpu"] and "booster" not in plans["linux-cpu"]


def test_pylock_markers_are_short_and_name_no_foreign_environment(service) -> None:
    project, _ = service
    lock = tomllib.loads((project / "output" / "pylock.toml").read_text())
    markers = {(p["name"], p["version"]): p.get("marker") for p in lock["packages"]}
    assert markers[("alpha", "2.0")] is None  # every target
    assert markers[("booster", "1.0")] == '"gpu" in extras'
    assert markers[("engine", "1.0+cpu")] == '"cpu" in extras'
    assert all(len(m or "") < 80 for m in markers.values())
    assert len(lock["environments"]) == 2
    assert lock["tool"]["planner"]["inputs-hash"].startswith("sha256:")


def _venv(path: Path, with_pip: bool) -> Path:
    args = [sys.executable, "-m", "venv", str(path)] + ([] if with_pip else ["--without-pip"])
    subprocess.run(args, check=True, capture_output=True)
    return path / "bin" / "python"


def _installed(python: Path) -> dict[str, str]:
    code = ("import importlib.metadata as m, json; print(json.dumps({d.metadata['Name'].lower(): d.version "
            "for d in m.distributions() if d.metadata['Name'].lower() not in ('pip', 'setuptools')}))")
    # Run outside the checkout: its planner.egg-info would count as installed.
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True,
                         cwd=python.parent).stdout
    return json.loads(out)


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    assert Path(found).exists(), "uv is a test dependency (pip install -e '.[test]')"
    return found


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """No user pip/uv configuration (this machine's pip config adds extra indexes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", UV_CACHE_DIR=str(tmp_path / "uv-cache"),
               PIP_CACHE_DIR=str(tmp_path / "pip-cache"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


@on_linux_target
def test_pip_installs_exactly_the_requirements_of_a_target(service, tmp_path) -> None:
    project, server = service
    python = _venv(tmp_path / "venv", with_pip=True)
    requirements = project / "output" / "linux-cpu" / "requirements.txt"
    server.reset_log()
    subprocess.run([str(python), "-m", "pip", "install", "--require-hashes", "--no-deps", "--only-binary=:all:",
                    "-r", str(requirements)], check=True, capture_output=True, env=_clean_env(tmp_path))
    expected = {name: p["version"] for name, p in _plan(project)["linux-cpu"].items()}
    assert _installed(python) == expected
    # The routed package came from its own index: its name was never asked of the default one.
    assert not server.requests("/pypi/simple/engine")
    assert server.requests("/special/files/engine-1.0%2Bcpu")


@on_linux_target
def test_uv_installs_exactly_the_requirements_of_a_target(service, tmp_path) -> None:
    project, server = service
    python = _venv(tmp_path / "venv", with_pip=False)
    requirements = project / "output" / "linux-gpu" / "requirements.txt"
    subprocess.run([_uv(), "pip", "install", "--python", str(python), "--require-hashes", "--no-deps",
                    "-r", str(requirements)], check=True, capture_output=True, env=_clean_env(tmp_path))
    expected = {name: p["version"] for name, p in _plan(project)["linux-gpu"].items()}
    assert _installed(python) == expected


@on_linux_target
@pytest.mark.parametrize(("extra", "target"), [("cpu", "linux-cpu"), ("gpu", "linux-gpu")])
def test_uv_installs_exactly_a_target_from_the_pylock(service, tmp_path, extra: str, target: str) -> None:
    project, _ = service
    python = _venv(tmp_path / "venv", with_pip=False)
    result = subprocess.run([_uv(), "pip", "install", "--python", str(python), "-r",
                             str(project / "output" / "pylock.toml"), "--extra", extra],
                            capture_output=True, text=True, env=_clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    expected = {name: p["version"] for name, p in _plan(project)[target].items()}
    assert _installed(python) == expected
