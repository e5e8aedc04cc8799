"""Derived targets cover the supported Pythons and are best effort; declared targets are strict.

A vllm-style project (an extra whose package has Linux wheels only) against loopback indexes of
small real wheels: the derived macOS targets leave the extra out and say why and how to make it
explicit, in the summary, plan.json, pylock.toml and requirements.txt; the lock installs each
target (packaging's PEP 751 reader for every target, a real `uv pip install` on this machine's);
declared targets keep their all-or-nothing guarantee, with the platform marker and the OS floor
among the fixes.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tomllib

import pytest
from packaging.pylock import Pylock
from typer.testing import CliRunner

from planner.cli.app import app
from planner.project.loader import load_project
from planner.solve.memory import MemoryProvider, Release
from planner.explain.plan import explain_plan
from planner.solve.objective import solve_plan
from planner.targets.resolve import resolve_targets
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import write_index
from tests.fixtures.wheels import build_wheel
from tests.test_generate_install import _clean_env, _installed, _uv, _venv

runner = CliRunner()
LINUX = "py3-none-manylinux_2_28_x86_64"

PYPROJECT = """\
[project]
name = "llmserve"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["webkit>=1"]

[project.optional-dependencies]
serve = ["vllm>=0.6"]

[dependency-groups]
dev = ["testkit"]
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("best-effort")
    files = [
        build_wheel("webkit", "1.2", ["anyio-lite"]).fixture_file(),
        build_wheel("anyio-lite", "4.0").fixture_file(),
        build_wheel("vllm", "0.6.3", ["kernels"], tag=LINUX).fixture_file(),
        build_wheel("kernels", "1.0", tag=LINUX).fixture_file(),
        build_wheel("testkit", "8.0").fixture_file(),
    ]
    write_index(root / "pypi", files)
    with IndexServer({"pypi": root / "pypi"}) as server:
        project = root / "project"
        project.mkdir()
        (project / "pyproject.toml").write_text(PYPROJECT)
        result = runner.invoke(app, ["compile", str(project), "--default-index", server.url("pypi"),
                                     "--cache-dir", str(root / "cache")])
        assert result.exit_code == 0, result.output
        yield project, result


def test_derived_targets_leave_out_what_their_platform_cannot_install(served) -> None:
    project, result = served
    document = json.loads((project / "output" / "plan.json").read_text())
    plans = {t["target"]["name"]: t for t in document["targets"]}
    assert list(plans) == ["linux-x86_64", "linux-x86_64-py315", "macos-arm64", "macos-arm64-py315"]
    for name in ("linux-x86_64", "linux-x86_64-py315"):
        assert {p["name"] for p in plans[name]["packages"]} == {"webkit", "anyio-lite", "vllm", "kernels", "testkit"}
        assert plans[name]["left_out"] == []
    for name in ("macos-arm64", "macos-arm64-py315"):
        assert {p["name"] for p in plans[name]["packages"]} == {"webkit", "anyio-lite", "testkit"}
        assert plans[name]["target"]["extras"] == [] and plans[name]["target"]["groups"] == ["dev"]
        (left,) = plans[name]["left_out"]
        assert (left["kind"], left["name"]) == ("extra", "serve")
        assert "vllm 0.6.3 on pypi: no wheel for macosx_13_0_arm64/cp3" in left["reason"]
        assert "available: manylinux_2_28_x86_64" in left["reason"]
        assert left["fix"] == ("to make it explicit, add the marker `; sys_platform == 'linux'` to vllm>=0.6 "
                               "(pyproject.toml:8), or declare the targets you need under [tool.planner.targets] "
                               "(declared targets are strict)")
    out = result.stdout
    assert "macos-arm64 (macos-arm64, Python 3.11, no accelerator stated): 3 packages, no GPU runtime" in out
    assert "  left out: extra 'serve': vllm 0.6.3 on pypi: no wheel for macosx_13_0_arm64/cp311" in out
    requirements = (project / "output" / "macos-arm64" / "requirements.txt").read_text()
    assert "# Left out: extra 'serve' cannot be installed on this target: vllm 0.6.3" in requirements


def test_the_lock_covers_every_python_and_says_what_was_left_out(served) -> None:
    project, _ = served
    text = (project / "output" / "pylock.toml").read_text()
    lock = Pylock.from_dict(tomllib.loads(text))
    data = tomllib.loads(text)
    assert [str(m) for m in lock.environments] == [
        'sys_platform == "linux" and platform_machine == "x86_64" and python_version == "3.11"',
        'sys_platform == "linux" and platform_machine == "x86_64" and python_version == "3.15"',
        'sys_platform == "darwin" and platform_machine == "arm64" and python_version == "3.11"',
        'sys_platform == "darwin" and platform_machine == "arm64" and python_version == "3.15"']
    assert data["extras"] == ["serve"]  # the macOS targets still accept --extra serve
    markers = {p["name"]: p.get("marker") for p in data["packages"]}
    assert markers["vllm"] == 'sys_platform == "linux"' and markers["webkit"] is None
    targets = {t["name"]: t for t in data["tool"]["planner"]["targets"]}
    assert targets["macos-arm64"]["extras"] == ["serve"]
    assert targets["macos-arm64"]["left-out"][0]["extra"] == "serve"
    assert "sys_platform == 'linux'" in targets["macos-arm64"]["left-out"][0]["fix"]
    # Each target, as an installer sees it with its flags, selects exactly its plan.
    plans = {t["target"]["name"]: {p["name"]: p["version"] for p in t["packages"]}
             for t in json.loads((project / "output" / "plan.json").read_text())["targets"]}
    for target in resolve_targets(load_project(project)).targets:
        selected = {package.name: str(package.version) for package, _ in lock.select(
            environment=dict(target.environment), tags=list(target.tags), extras=["serve"], dependency_groups=["dev"])}
        assert selected == plans[target.name], target.name


@pytest.mark.skipif(not (sys.platform == "linux" and platform.machine() == "x86_64" and sys.version_info[:2] == (3, 11)),
                    reason="a real install of the linux-x86_64 / Python 3.11 target needs such a machine")
def test_uv_installs_the_lock_on_this_machine(served, tmp_path) -> None:
    project, _ = served
    python = _venv(tmp_path / "venv", with_pip=False)
    result = subprocess.run([_uv(), "pip", "install", "--python", str(python), "-r",
                             str(project / "output" / "pylock.toml"), "--extra", "serve", "--group", "dev"],
                            capture_output=True, text=True, env=_clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    plan = json.loads((project / "output" / "plan.json").read_text())["targets"][0]
    assert _installed(python) == {p["name"]: p["version"] for p in plan["packages"]}


# -- declared targets are strict; fixes --------------------------------------------------------------
UNIVERSE = {"pypi": [
    Release("webkit", "1.2"),
    Release("vllm", "0.6.3", tag=LINUX),
    Release("fastkern", "2.0", tag="py3-none-manylinux_2_34_x86_64"),
    Release("fastkern", "1.0", tag="py3-none-manylinux_2_17_x86_64"),
]}


def _plan(write_project, text: str):
    project = load_project(write_project(text))
    provider = MemoryProvider(project, UNIVERSE)
    return explain_plan(project, solve_plan(project, resolve_targets(project).targets, provider), provider)


def test_declared_targets_stay_strict_and_the_fix_is_the_platform_marker(write_project) -> None:
    plan = _plan(write_project, PYPROJECT.replace('dependencies = ["webkit>=1"]', 'dependencies = ["webkit"]')
                 .replace('[dependency-groups]\ndev = ["testkit"]\n', "") + """
[tool.planner.targets.linux]
platform = "linux-x86_64"
python = "3.11"
extras = ["serve"]

[tool.planner.targets.mac]
platform = "macos-arm64"
python = "3.11"
extras = ["serve"]
""")
    assert [t.target.name for t in plan.targets] == ["linux"]
    (unsat,) = plan.unsatisfiable
    assert unsat.target.name == "mac" and unsat.target.extras == ("serve",)
    fixes = [fix.text for fix in unsat.explanation.fixes]
    assert "add the marker `; sys_platform == 'linux'` to vllm>=0.6 (pyproject.toml:8)" in fixes
    marker_fix = next(f for f in unsat.explanation.fixes if f.changes[0].kind == "add-marker")
    edited, _ = marker_fix.applied
    assert str(edited.optional_dependencies["serve"][0].requirement) == 'vllm>=0.6; sys_platform == "linux"'


def test_a_derived_target_whose_own_dependencies_cannot_install_has_no_plan(write_project) -> None:
    plan = _plan(write_project, """
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["vllm"]
""")
    assert sorted(u.target.name for u in plan.unsatisfiable) == ["macos-arm64", "macos-arm64-py315"]
    fixes = [fix.text for fix in plan.unsatisfiable[0].explanation.fixes]
    assert "add the marker `; sys_platform == 'linux'` to vllm (pyproject.toml:5)" in fixes


@pytest.mark.parametrize("declared", [True, False])
def test_a_newer_wheel_suggests_raising_the_manylinux_floor(write_project, declared: bool) -> None:
    targets = """
[tool.planner.targets.linux]
platform = "linux-x86_64"
python = "3.11"
""" if declared else ""
    plan = _plan(write_project, f"""
[project]
name = "demo"
version = "0.1.0"
requires-python = "==3.11.*"
dependencies = ["fastkern>=2"]
{targets}""")
    unsat = next(u for u in plan.unsatisfiable if u.target.platform.name == "linux-x86_64")
    floor = [fix for fix in unsat.explanation.fixes if fix.changes[0].kind == "raise-os-floor"]
    assert floor, unsat.message
    if declared:
        assert floor[0].text.startswith('set manylinux = "2.34" for target \'linux\'')
    else:
        assert floor[0].text.startswith('declare target \'linux-x86_64\' under [tool.planner.targets] with manylinux = "2.34"')
    assert "(the wheel it needs is built for glibc 2.34)" in floor[0].text
    _, moved = floor[0].applied
    assert moved.os_floor == (2, 34)


@pytest.mark.parametrize(("python", "target"), [("3.11", "linux-x86_64"), ("3.15", "linux-x86_64-py315")])
def test_uv_installs_the_lock_for_every_derived_python(served, tmp_path, python: str, target: str) -> None:
    """uv installs for another Python into a folder (`--target`, `--python-version`): the lock
    installs on each Python the derived targets cover, and on those only."""
    project, _ = served
    folder = tmp_path / "site"
    command = [_uv(), "pip", "install", "--target", str(folder), "--python-version", python,
               "--python-platform", "x86_64-manylinux_2_28", "-r", str(project / "output" / "pylock.toml"),
               "--extra", "serve", "--group", "dev"]
    result = subprocess.run(command, capture_output=True, text=True, env=_clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    stems = [path.name.removesuffix(".dist-info").split("-") for path in folder.glob("*.dist-info")]
    installed = {name.replace("_", "-"): version for name, version in stems}
    plans = {t["target"]["name"]: {p["name"]: p["version"] for p in t["packages"]}
             for t in json.loads((project / "output" / "plan.json").read_text())["targets"]}
    assert installed == plans[target]
    between = subprocess.run([*command[:6], "3.13", *command[7:]], capture_output=True, text=True,
                             env=_clean_env(tmp_path))
    assert between.returncode != 0 and "not supported by the lockfile" in between.stderr
