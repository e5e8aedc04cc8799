"""`planner compile` on packages that ship only sdists whose metadata needs a PEP 517 build.

Real sdists made by the tests (tests/fixtures/sdists.py: setuptools with a dynamic setup.py,
hatchling with a metadata hook, flit, a backend without prepare_metadata_for_build_wheel, a
broken build, a build that hangs) on a loopback index that also holds their backends' wheels.
The backends log each run, so the tests count real builds: one per sdist however many targets
need it, none on a second run, none offline. pip and uv then install a target's plan, building
exactly the planned sdists.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.app import app
from tests.fixtures import sdists
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import write_index
from tests.fixtures.wheels import build_wheel
from tests.test_generate_install import _clean_env, _installed, _uv, _venv, on_linux_target

runner = CliRunner()
# The expectations (gamma computed by dyn's setup.py on Linux; the macOS target flagged as another
# environment) are those of builds on Linux, where CI runs.
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="expectations of builds on Linux")

SDISTS = [
    sdists.setuptools_dynamic("dyn", "1.0", ("beta>=1",), linux_only=("gamma",)),
    sdists.hatchling_hook("hooked", "1.0", ("beta", "gamma>=2")),
    sdists.flit("flitted", "1.0", ("beta<3",)),
    sdists.backend_without_prepare("tiny", "1.0", ("beta",)),
    sdists.broken("broken", "1.0"),
    sdists.hanging("hangs", "1.0"),
    sdists.static("static", "1.0", ("beta<2",)),
    sdists.setuptools_dynamic("plat", "1.0", (), linux_only=("linuxonly",)),
]
WHEELS = [build_wheel("beta", "1.0"), build_wheel("beta", "2.0"), build_wheel("gamma", "2.0"),
          build_wheel("broken", "0.9"), build_wheel("hangs", "0.5"),
          build_wheel("linuxonly", "1.0", tag="py3-none-manylinux_2_17_x86_64")]
BUILT = ["dyn", "hooked", "flitted", "tiny", "broken"]  # the sdists the main project builds

PYPROJECT = """\
    [project]
    name = "app"
    version = "0.1"
    requires-python = ">=3.11"
    dependencies = {dependencies}

    [tool.planner.targets.linux]
    platform = "linux-x86_64"
    python = "3.11"

    [tool.planner.targets.linux-gpu]
    platform = "linux-x86_64"
    python = "3.11"
    accelerator = "cuda12.4"

    [tool.planner.targets.mac]
    platform = "macos-arm64"
    python = "3.11"
    {extra}
"""


@dataclass
class World:
    root: Path
    server: IndexServer
    log: Path

    def project(self, name: str, dependencies: list[str], extra: str = "") -> Path:
        folder = self.root / name
        folder.mkdir(exist_ok=True)
        (folder / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT.format(
            dependencies=json.dumps(dependencies), extra=textwrap.dedent(extra))))
        return folder

    def compile(self, project: Path, *args: str, cache: str = "cache", env: dict[str, str] | None = None):
        stats = project / f"stats-{len(list(project.glob('stats-*')))}.json"
        result = runner.invoke(app, ["compile", str(project), "--default-index", self.server.url("pypi"),
                                     "--cache-dir", str(self.root / cache), "--stats", str(stats), *args],
                               env={sdists.BUILD_LOG_VARIABLE: str(self.log), **(env or {})})
        builds = json.loads(stats.read_text())["builds"] if stats.exists() else None
        return result, builds

    def logged(self) -> list[str]:
        return self.log.read_text().split() if self.log.exists() else []


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("compile-builds")
    files = [*sdists.backend_wheels(), *(s.fixture_file() for s in SDISTS), *(w.fixture_file() for w in WHEELS)]
    write_index(root / "index", files)
    with IndexServer({"pypi": root / "index"}) as server:
        yield World(root, server, root / "build.log")


@dataclass
class Compiled:
    project: Path
    plan: dict
    first: dict  # build counters of the first run
    output: str


@pytest.fixture(scope="module")
def compiled(world: World) -> Compiled:
    project = world.project("main", ["dyn", "hooked", "flitted", "tiny", "broken"])
    result, builds = world.compile(project)
    assert result.exit_code == 0, result.output
    return Compiled(project, json.loads((project / "output" / "plan.json").read_text()), builds, result.output)


def _packages(plan: dict, target: str) -> dict[str, dict]:
    (entry,) = [t for t in plan["targets"] if t["target"]["name"] == target]
    return {p["name"]: p for p in entry["packages"]}


def test_sdists_are_planned_with_the_metadata_their_builds_give(compiled: Compiled) -> None:
    for target in ("linux", "linux-gpu", "mac"):
        packages = _packages(compiled.plan, target)
        versions = {name: p["version"] for name, p in packages.items()}
        # gamma comes from dyn's setup.py (computed on Linux) and from hooked's hatchling hook.
        assert versions == {"dyn": "1.0", "hooked": "1.0", "flitted": "1.0", "tiny": "1.0", "beta": "2.0",
                            "gamma": "2.0", "broken": "0.9"}, target
        assert packages["dyn"]["artifact"]["filename"] == "dyn-1.0.tar.gz"
        assert sorted(packages["gamma"]["required_by"]) == ["dyn", "hooked"]
        assert "metadata_built_on" not in packages["beta"]  # a wheel: its metadata is the index's
    built_on = _packages(compiled.plan, "linux")["dyn"]["metadata_built_on"]
    assert built_on["sys_platform"] == sys.platform and built_on["differs_from_target"] == []
    # Built on this Linux machine: for the macOS target that is another environment, and it says so.
    assert _packages(compiled.plan, "mac")["dyn"]["metadata_built_on"]["differs_from_target"] == ["darwin", "arm64"]
    assert "metadata built on another environment than the target's" in compiled.output
    assert "dyn 1.0 on mac: built on Python" in compiled.output and "the target has darwin, arm64" in compiled.output
    assert "on linux:" not in compiled.output.split("another environment")[1]


def test_one_build_per_sdist_across_targets_and_none_on_a_second_or_offline_run(world: World,
                                                                                compiled: Compiled) -> None:
    # Three targets need each sdist: each was built once (broken's failure included).
    assert compiled.first["run"] == len(BUILT) and compiled.first["failed"] == 1
    assert set(world.logged()) >= {"dyn", "hooked", "tiny", "broken"}  # the backends really ran
    logged = len(world.logged())
    plan_bytes = (compiled.project / "output" / "plan.json").read_bytes()
    again, builds = world.compile(compiled.project)
    assert again.exit_code == 0, again.output
    assert builds["run"] == 0 and builds["from_cache"] == len(BUILT)
    world.server.reset_log()
    offline, builds = world.compile(compiled.project, "--offline")
    assert offline.exit_code == 0, offline.output
    assert builds["run"] == 0 and world.server.count() == 0
    assert len(world.logged()) == logged  # no backend ran again
    assert (compiled.project / "output" / "plan.json").read_bytes() == plan_bytes


def test_offline_without_the_builds_names_what_is_missing(world: World, compiled: Compiled) -> None:
    # The index pages and the sdists' notes are cached, the builds are not (another cache for them).
    project = world.project("offline-miss", ["dyn"])
    result, _ = world.compile(project, "--offline", cache="empty-cache")
    assert result.exit_code == 2
    assert "offline" in result.output


def test_a_pinned_broken_build_is_explained_with_its_output_and_fixes(world: World, compiled: Compiled) -> None:
    project = world.project("pinned-broken", ["broken==1.0"])
    result, builds = world.compile(project)
    assert result.exit_code == 1, result.output
    text = result.output
    assert "broken 1.0 on pypi cannot be used: its metadata needs a build (Metadata-Version 1.0), which failed" in text
    assert "libfoo.h not found" in text and "Traceback" not in text
    assert "[[tool.uv.dependency-metadata]] name = \"broken\", version = \"1.0\"" in text
    assert "take broken 0.9, the newest older version with a wheel for linux" in text
    assert builds is None or builds["run"] == 0  # the failure recorded by the main compile is reused
    assert not (project / "output").exists()


def test_dependency_metadata_replaces_a_build(world: World, compiled: Compiled) -> None:
    project = world.project("declared", ["broken==1.0"], """
        [[tool.uv.dependency-metadata]]
        name = "broken"
        version = "1.0"
        requires-dist = ["beta<2"]
    """)
    result, builds = world.compile(project, cache="declared-cache")
    assert result.exit_code == 0, result.output
    packages = _packages(json.loads((project / "output" / "plan.json").read_text()), "linux")
    assert {n: p["version"] for n, p in packages.items()} == {"broken": "1.0", "beta": "1.0"}
    assert "metadata_built_on" not in packages["broken"]
    assert builds["run"] == 0


def test_no_build_package_makes_sdists_unusable_and_says_which_setting(world: World, compiled: Compiled) -> None:
    project = world.project("no-build", ["dyn"], """
        [tool.uv]
        no-build-package = ["dyn"]
    """)
    result, builds = world.compile(project)
    assert result.exit_code == 1
    assert "dyn 1.0 on pypi cannot be used: only an sdist fits this target, and tool.uv.no-build-package" in result.output
    assert "pyproject.toml:" in result.output


def test_no_build_isolation_package_is_never_built_and_dependency_metadata_stands_in(world: World,
                                                                                     compiled: Compiled) -> None:
    """uv builds such a package inside the environment being installed; planner cannot, so it
    never builds it: pinned, no plan naming the setting and proposing dependency-metadata; with
    that metadata given, the plan holds the sdist and nothing was built."""
    project = world.project("no-isolation", ["dyn==1.0"], """
        [tool.uv]
        no-build-isolation-package = ["dyn"]
    """)
    result, builds = world.compile(project)
    assert result.exit_code == 1, result.output
    assert "tool.uv.no-build-isolation-package (pyproject.toml:" in result.output
    assert "asks to build it without build isolation, which planner cannot do" in result.output
    assert "[[tool.uv.dependency-metadata]] name = \"dyn\"" in result.output
    given = world.project("no-isolation-given", ["dyn==1.0"], """
        [tool.uv]
        no-build-isolation-package = ["dyn"]
        [[tool.uv.dependency-metadata]]
        name = "dyn"
        version = "1.0"
        requires-dist = ["beta>=1"]
    """)
    result, builds = world.compile(given)
    assert result.exit_code == 0, result.output
    packages = _packages(json.loads((given / "output" / "plan.json").read_text()), "linux")
    assert {n: p["version"] for n, p in packages.items()} == {"dyn": "1.0", "beta": "2.0"}
    assert builds["run"] == 0


def test_a_build_that_hangs_is_stopped_and_explained(world: World) -> None:
    project = world.project("hangs", ["hangs"])
    result, builds = world.compile(project, cache="hang-cache", env={"PLANNER_BUILD_TIMEOUT": "3"})
    assert result.exit_code == 0, result.output
    assert {n: p["version"] for n, p in _packages(json.loads((project / "output" / "plan.json").read_text()),
                                                   "linux").items()} == {"hangs": "0.5"}
    assert builds["failed"] == 1
    pinned = world.project("hangs-pinned", ["hangs==1.0"])
    result, _ = world.compile(pinned, cache="hang-cache", env={"PLANNER_BUILD_TIMEOUT": "3"})
    assert result.exit_code == 1
    assert "did not finish within 3 s" in result.output and "never answers" in result.output


def test_requirements_build_exactly_the_planned_sdists(compiled: Compiled) -> None:
    text = (compiled.project / "output" / "linux" / "requirements.txt").read_text()
    assert "#   pip install --require-hashes --no-deps --only-binary=:all: --no-binary dyn,flitted,hooked,tiny " \
           "-r requirements.txt" in text
    assert "#   uv pip install --require-hashes --no-deps --no-binary dyn,flitted,hooked,tiny -r requirements.txt" in text
    dockerfile = (compiled.project / "output" / "linux" / "Dockerfile").read_text()
    assert "--only-binary=:all: --no-binary dyn,flitted,hooked,tiny -r /tmp/requirements.txt" in dockerfile


def _install(argv: list[str], tmp_path: Path) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, env=_clean_env(tmp_path), timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@on_linux_target
def test_pip_installs_the_plan_building_its_sdists(world: World, compiled: Compiled, tmp_path: Path) -> None:
    python = _venv(tmp_path / "venv", with_pip=True)
    header = (compiled.project / "output" / "linux" / "requirements.txt").read_text()
    command = next(line for line in header.splitlines() if line.startswith("#   pip install"))
    options = command.removeprefix("#   pip install ").removesuffix(" -r requirements.txt").split()
    _install([str(python), "-m", "pip", "install", *options, "-r",
              str(compiled.project / "output" / "linux" / "requirements.txt")], tmp_path)
    assert _installed(python) == {n: p["version"] for n, p in _packages(compiled.plan, "linux").items()}


@on_linux_target
def test_uv_installs_the_plan_building_its_sdists(world: World, compiled: Compiled, tmp_path: Path) -> None:
    python = _venv(tmp_path / "venv", with_pip=False)
    header = (compiled.project / "output" / "linux" / "requirements.txt").read_text()
    command = next(line for line in header.splitlines() if line.startswith("#   uv pip install"))
    options = command.removeprefix("#   uv pip install ").removesuffix(" -r requirements.txt").split()
    _install([_uv(), "pip", "install", "--python", str(python), *options, "-r",
              str(compiled.project / "output" / "linux" / "requirements.txt")], tmp_path)
    assert _installed(python) == {n: p["version"] for n, p in _packages(compiled.plan, "linux").items()}



def test_build_settings_reach_the_build_and_the_summary_says_outputs_lack_them(world: World,
                                                                               compiled: Compiled) -> None:
    project = world.project("settings", ["dyn"], """
        [tool.uv]
        build-constraint-dependencies = ["setuptools<1"]
    """)
    result, builds = world.compile(project)
    assert result.exit_code == 1  # no setuptools satisfies the constraint: the build cannot run
    assert "installing its build-system.requires (setuptools>=40.8.0) failed" in result.output
    project = world.project("settings-ok", ["dyn"], """
        [tool.uv.extra-build-dependencies]
        dyn = ["wheel"]
    """)
    result, builds = world.compile(project)
    assert result.exit_code == 0, result.output
    assert builds["run"] == 1  # other settings, another build (the main compile's record does not apply)
    assert "dyn is installed from its sdist, and tool.uv.extra-build-dependencies applied to its metadata build" \
        in result.output


def test_a_static_sdist_is_read_from_its_pkg_info_without_a_build(world: World, compiled: Compiled) -> None:
    project = world.project("static", ["static"])
    result, builds = world.compile(project)
    assert result.exit_code == 0, result.output
    packages = _packages(json.loads((project / "output" / "plan.json").read_text()), "linux")
    assert {n: p["version"] for n, p in packages.items()} == {"static": "1.0", "beta": "1.0"}
    assert "metadata_built_on" not in packages["static"]
    assert builds["run"] == 0 and "static" not in world.logged()


def test_no_plan_from_metadata_built_elsewhere_says_so(world: World, compiled: Compiled) -> None:
    # plat's setup.py, run on Linux, requires a package with Linux wheels only: the macOS target
    # has no plan, and the explanation says where that requirement was computed.
    project = world.project("built-elsewhere", ["plat"])
    result, builds = world.compile(project, "-t", "mac")
    assert result.exit_code == 1
    assert "plat 1.0 requires linuxonly (metadata built on Python" in result.output
    assert "on linux x86_64; the target has darwin, arm64)" in result.output


def _processes_with(variable: str, value: str) -> list[int]:
    """The live processes whose environment has `variable=value`."""
    needle = f"{variable}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_sigterm_during_a_build_stops_the_build_and_removes_its_folders(world: World, tmp_path: Path) -> None:
    """A build runs in a session of its own (a time-out kills its whole group), out of reach of the
    signal that stops planner: SIGTERM (or Ctrl-C) while a build runs kills the build too, and
    removes the folders it used; nothing goes on running after planner has exited."""
    import os
    import signal
    import time

    project = world.project("hangs-sigterm", ["hangs"])
    temporary, log = tmp_path / "tmp", tmp_path / "build.log"
    temporary.mkdir()
    env = {**os.environ, "TMPDIR": str(temporary), sdists.BUILD_LOG_VARIABLE: str(log),
           "PLANNER_BUILD_TIMEOUT": "600"}
    process = subprocess.Popen(
        [sys.executable, "-m", "planner", "compile", str(project), "--default-index", world.server.url("pypi"),
         "--cache-dir", str(tmp_path / "cache")], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while not (log.exists() and "hangs" in log.read_text()):  # the backend is running
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.1)
        assert _processes_with(sdists.BUILD_LOG_VARIABLE, str(log))
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143, stderr
    assert "terminated (SIGTERM)" in stderr and "Traceback" not in stderr
    deadline = time.monotonic() + 5
    while _processes_with(sdists.BUILD_LOG_VARIABLE, str(log)) and time.monotonic() < deadline:
        time.sleep(0.1)  # a killed process is gone once its parent reaped it
    assert _processes_with(sdists.BUILD_LOG_VARIABLE, str(log)) == []
    assert [p.name for p in temporary.iterdir() if p.name.startswith(("planner-build-", "planner-sdist-"))] == []
