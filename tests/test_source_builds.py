"""Metadata builds of distributions that come from no index: a `path` source tree and a
workspace member whose dependencies are dynamic, a git commit whose dependencies are dynamic, a
local sdist file and an sdist at a URL whose PKG-INFO is not final.

Everything is real and local: setuptools (from the loopback index holding the backends' wheels
that `.ci/run` fetched) runs each tree's setup.py, which logs its name to a file, so the tests
count real builds. A static tree (dynamic version only) is never built. A second run builds
nothing, an offline run builds nothing, a changed tree is built again, and no build folder is
left behind.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.app import app
from planner.sources.build import remove_stale_build_folders
from tests.fixtures import sdists
from tests.fixtures.git_repos import FixtureRepository, add_dynamic_dependencies_commit, build_repository
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import write_index
from tests.fixtures.wheels import build_wheel

runner = CliRunner()
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="builds are checked on Linux")

LEGACY = sdists.setuptools_dynamic("legacy", "1.0", ("alpha",))  # Metadata-Version 1.0: needs a build
REMOTE = sdists.setuptools_dynamic("remote", "1.0", ("gamma",))
WHEELS = [build_wheel("alpha", "1.0"), build_wheel("alpha", "2.0"), build_wheel("beta", "1.0"),
          build_wheel("gamma", "1.0")]
BUILT = {"lib", "member", "gitpkg", "legacy", "remote"}

PYPROJECT = """\
    [project]
    name = "app"
    version = "0.1"
    requires-python = ">=3.11"
    dependencies = ["lib", "member", "staticlib", "gitpkg", "legacy", "remote"]

    [tool.uv.workspace]
    members = ["packages/*"]

    [tool.uv.sources]
    lib = {{ path = "libs/lib" }}
    staticlib = {{ path = "libs/staticlib" }}
    member = {{ workspace = true }}
    gitpkg = {{ git = "{git}", branch = "dyn" }}
    legacy = {{ path = "dist/legacy-1.0.tar.gz" }}
    remote = {{ url = "{remote}" }}

    [tool.planner.targets.linux]
    platform = "linux-x86_64"
    python = "3.11"
"""


@dataclass
class World:
    root: Path
    project: Path
    server: IndexServer
    repo: FixtureRepository
    dyn_commit: str  # the git commit whose dependencies are dynamic
    log: Path
    tmp: Path  # the temporary folder builds run in

    def compile(self, *args: str, cache: str = "cache") -> tuple[object, dict | None]:
        stats = self.root / f"stats-{len(list(self.root.glob('stats-*')))}.json"
        before = tempfile.tempdir
        tempfile.tempdir = str(self.tmp)  # where this process makes its build folders
        try:
            result = runner.invoke(app, ["compile", str(self.project), "--default-index", self.server.url("pypi"),
                                         "--cache-dir", str(self.root / cache), "--stats", str(stats), *args],
                                   env={sdists.BUILD_LOG_VARIABLE: str(self.log)})
        finally:
            tempfile.tempdir = before
        builds = json.loads(stats.read_text())["builds"] if stats.exists() else None
        return result, builds

    def logged(self) -> list[str]:
        return self.log.read_text().split() if self.log.exists() else []

    def plan(self) -> dict[str, dict]:
        plan = json.loads((self.project / "output" / "plan.json").read_text())
        (target,) = plan["targets"]
        return {p["name"]: p for p in target["packages"]}


def _write(folder: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("source-builds")
    repo = build_repository(root / "repos")
    dyn_commit = add_dynamic_dependencies_commit(repo, ("alpha>=2.0", "beta"))
    (root / "dl" / "files").mkdir(parents=True)
    (root / "dl" / "files" / REMOTE.filename).write_bytes(REMOTE.content)
    write_index(root / "index", [*sdists.backend_wheels(), *(w.fixture_file() for w in WHEELS)])
    # An index that serves legacy as an sdist, for `planner candidates --deps`.
    write_index(root / "index-legacy", [*sdists.backend_wheels(), LEGACY.fixture_file(),
                                        *(w.fixture_file() for w in WHEELS)])
    (root / "tmp").mkdir()
    with IndexServer({"pypi": root / "index", "legacy": root / "index-legacy", "dl": root / "dl"}) as server:
        project = root / "app"
        _write(project, {
            "pyproject.toml": textwrap.dedent(PYPROJECT.format(
                git=repo.file_url, remote=server.file_url("dl", REMOTE.filename))),
            **{f"libs/lib/{k}": v for k, v in sdists.dynamic_tree_files("lib", "2.5", ("beta",)).items()},
            **{f"packages/member/{k}": v for k, v in sdists.dynamic_tree_files("member", "1.5", ("gamma",)).items()},
            # A static tree whose version alone is dynamic: planned without a build (its setup.py
            # would log one).
            "libs/staticlib/pyproject.toml": textwrap.dedent("""\
                [build-system]
                requires = ["setuptools>=68"]
                build-backend = "setuptools.build_meta"

                [project]
                name = "staticlib"
                dynamic = ["version"]
                dependencies = ["alpha"]
                """),
            "libs/staticlib/setup.py": sdists._LOG_SNIPPET.format(name="staticlib") + "from setuptools import setup\nsetup()\n",
        })
        (project / "dist").mkdir()
        (project / "dist" / LEGACY.filename).write_bytes(LEGACY.content)
        yield World(root, project, server, repo, dyn_commit, root / "build.log", root / "tmp")


@pytest.fixture(scope="module")
def first(world: World) -> dict:
    result, builds = world.compile()
    assert result.exit_code == 0, result.output
    return {"builds": builds, "output": result.output, "plan": world.plan(),
            "bytes": (world.project / "output" / "plan.json").read_bytes()}


def test_trees_checkouts_and_sdist_files_are_built_and_planned_with_what_the_build_says(world: World, first) -> None:
    plan = first["plan"]
    versions = {name: p["version"] for name, p in plan.items()}
    # lib, member and gitpkg state their version dynamically: the build gives the real one.
    assert versions == {"lib": "2.5", "member": "1.5", "staticlib": "0+dynamic", "gitpkg": "3.0",
                        "legacy": "1.0", "remote": "1.0", "alpha": "2.0", "beta": "1.0", "gamma": "1.0"}
    assert sorted(plan["beta"]["required_by"]) == ["gitpkg", "lib"]
    assert sorted(plan["gamma"]["required_by"]) == ["member", "remote"]
    assert sorted(plan["alpha"]["required_by"]) == ["gitpkg", "legacy", "staticlib"]
    assert plan["gitpkg"]["artifact"]["git"]["commit"] == world.dyn_commit
    for name in BUILT:
        assert plan[name]["metadata_built_on"]["sys_platform"] == sys.platform, name
    assert "metadata_built_on" not in plan["staticlib"]  # read from its pyproject, never built
    # Each built (setup.py runs once per hook), the static tree never.
    assert set(world.logged()) == BUILT
    assert first["builds"]["run"] == len(BUILT) and first["builds"]["failed"] == 0


def test_the_lock_names_the_built_versions(world: World, first) -> None:
    lock = (world.project / "output" / "pylock.toml").read_text()
    assert 'name = "gitpkg"\nversion = "3.0"' in lock and 'name = "lib"\nversion = "2.5"' in lock
    assert 'name = "staticlib"\nversion' not in lock  # still unknown: no build


def test_every_build_folder_is_removed_when_its_build_ends(world: World, first) -> None:
    assert [p.name for p in world.tmp.iterdir()] == []


def test_a_second_run_builds_nothing_and_gives_the_same_bytes(world: World, first) -> None:
    logged = len(world.logged())
    result, builds = world.compile()
    assert result.exit_code == 0, result.output
    assert builds["run"] == 0 and builds["from_cache"] == len(BUILT)
    assert len(world.logged()) == logged
    assert (world.project / "output" / "plan.json").read_bytes() == first["bytes"]


def test_offline_the_recorded_builds_answer(world: World, first) -> None:
    logged = len(world.logged())
    result, builds = world.compile("--offline")
    assert result.exit_code == 0, result.output
    assert builds["run"] == 0 and len(world.logged()) == logged
    assert (world.project / "output" / "plan.json").read_bytes() == first["bytes"]


def test_a_changed_tree_is_built_again_and_the_others_are_not(world: World, first) -> None:
    setup = world.project / "libs" / "lib" / "setup.py"
    original = setup.read_text()
    setup.write_text(original.replace("install_requires=['beta']", "install_requires=['beta', 'gamma']"))
    try:
        logged = len(world.logged())
        result, builds = world.compile()
        assert result.exit_code == 0, result.output
        assert builds["run"] == 1 and set(world.logged()[logged:]) == {"lib"}
        assert sorted(world.plan()["gamma"]["required_by"]) == ["lib", "member", "remote"]
    finally:
        setup.write_text(original)


def test_a_build_left_by_a_killed_run_is_removed(world: World) -> None:
    """A folder named for a process that no longer runs goes; one of a live process stays."""
    dead = world.tmp / "planner-build-999999999-abc"
    live = world.tmp / f"planner-build-{os.getppid()}-abc"
    for folder in (dead, live):
        (folder / "env").mkdir(parents=True)
    try:
        assert remove_stale_build_folders(world.tmp) == 1
        assert not dead.exists() and live.exists()
    finally:
        for folder in (dead, live):
            if folder.exists():
                import shutil

                shutil.rmtree(folder)


def test_no_build_package_refuses_a_tree_too(world: World, first) -> None:
    """no-build-package covers every build: the tree is unusable, the setting named."""
    text = (world.project / "pyproject.toml").read_text()
    (world.project / "pyproject.toml").write_text(text + '\n[tool.uv]\nno-build-package = ["lib"]\n')
    try:
        result, builds = world.compile()
        assert result.exit_code == 1
        flat = " ".join(result.output.split())
        assert "lib on <local> cannot be used: its metadata needs a build" in flat
        assert "tool.uv.no-build-package (pyproject.toml:" in flat and "forbids building it" in flat
    finally:
        (world.project / "pyproject.toml").write_text(text)


def test_candidates_with_deps_builds_an_sdist(world: World) -> None:
    """`planner candidates --deps` builds what compile would (from the same cache: no rebuild
    of an sdist already built)."""
    project = world.root / "candidates"
    _write(project, {"pyproject.toml": '[project]\nname = "c"\nversion = "0.1"\ndependencies = ["legacy"]\n'
                                       '[tool.planner.targets.linux]\nplatform = "linux-x86_64"\npython = "3.11"\n'})
    result = runner.invoke(app, ["candidates", "legacy", "--deps", "-p", str(project), "--format", "json",
                                 "--default-index", world.server.url("legacy"), "--cache-dir", str(world.root / "cache-candidates")],
                           env={sdists.BUILD_LOG_VARIABLE: str(world.log)})
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)["targets"]["linux"]["legacy"]
    assert entry["requires_dist"] == ["alpha"] and entry["metadata_source"] == "build"


def test_a_tree_whose_build_fails_gives_an_explained_no_plan_with_the_metadata_fix(world: World) -> None:
    project = world.root / "broken-tree"
    _write(project, {
        "pyproject.toml": textwrap.dedent("""\
            [project]
            name = "uses"
            version = "0.1"
            requires-python = ">=3.11"
            dependencies = ["badlib"]

            [tool.uv.sources]
            badlib = { path = "badlib" }

            [tool.planner.targets.linux]
            platform = "linux-x86_64"
            python = "3.11"
            """),
        "badlib/pyproject.toml": '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
                                 '[project]\nname = "badlib"\ndynamic = ["version", "dependencies"]\n',
        "badlib/setup.py": 'import sys\nprint("error: badlib needs libbad-dev")\nsys.exit(1)\n',
    })
    result = runner.invoke(app, ["compile", str(project), "--default-index", world.server.url("pypi"),
                                 "--cache-dir", str(world.root / "cache")])
    assert result.exit_code == 1, result.output
    flat = " ".join(result.output.split())
    assert "badlib on <local> cannot be used: its metadata needs a build (badlib/pyproject.toml: [project] lists " \
           "dependencies as dynamic), which failed: badlib: the build backend's get_requires_for_build_wheel " \
           "failed (exit 1): error: badlib needs libbad-dev" in flat
    # The fix needs no version (the tree states none) and is verified by solving again.
    assert 'declare the metadata of badlib yourself, so it needs no build: [[tool.uv.dependency-metadata]] ' \
           'name = "badlib", requires-dist = [its dependencies]' in flat
    assert not (project / "output").exists()
