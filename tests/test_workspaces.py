"""Workspaces and path sources: what uv skips is a warning, what uv fails on is one error naming
the file, key, line and fix (exit 2, nothing written); default-groups decide derived targets'
groups; `planner targets` shows what each target installs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.app import app
from planner.project.loader import load_project
from planner.targets.resolve import resolve_targets
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import write_index
from tests.fixtures.wheels import build_wheel

runner = CliRunner()


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def _member(name: str, deps: str = "", extra: str = "") -> str:
    return f'[project]\nname = "{name}"\nversion = "1.0"\nrequires-python = ">=3.11"\ndependencies = [{deps}]\n{extra}'


def _compile(root: Path, *args: str):
    return runner.invoke(app, ["compile", str(root), "--offline", "--cache-dir", str(root / ".cache"), *args])


def test_two_members_with_one_name_is_an_error_naming_both_files(tmp_path) -> None:
    root = _write(tmp_path, {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["libs/*"]\n',
        "libs/a/pyproject.toml": _member("shared"),
        "libs/b/pyproject.toml": "\n\n" + _member("Shared"),
    })
    result = runner.invoke(app, ["targets", str(root)])
    assert result.exit_code == 2
    assert "libs/b/pyproject.toml:4 [project.name]: two workspace members are named 'shared': " \
           "libs/a/pyproject.toml and libs/b/pyproject.toml" in result.output
    assert "fix: give each member a unique project.name" in result.output
    assert "Traceback" not in result.output


def test_member_glob_matching_a_folder_without_pyproject_warns_and_goes_on(tmp_path) -> None:
    root = _write(tmp_path, {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["libs/*", "vendor/submodule"]\n',
        "libs/a/pyproject.toml": _member("alpha"),
        "vendor/submodule/.keep": "",  # an absent git submodule: an empty folder
    })
    result = runner.invoke(app, ["targets", str(root)])
    assert result.exit_code == 0, result.output
    assert ("pyproject.toml:2 [tool.uv.workspace.members[1]]: workspace member folder 'vendor/submodule' "
            "(matched by 'vendor/submodule') has no pyproject.toml and is skipped") in result.output
    assert "workspace: virtual root; members: alpha (libs/a, no package)" in result.output


def test_missing_project_table_without_workspace_says_how_to_make_a_virtual_root(tmp_path) -> None:
    root = _write(tmp_path, {"pyproject.toml": "[tool.uv]\nprerelease = \"allow\"\n"})
    result = runner.invoke(app, ["targets", str(root)])
    assert result.exit_code == 2
    assert "missing [project] table" in result.output and "[tool.uv.workspace] members" in result.output


def test_path_source_that_does_not_exist_is_an_error_when_needed_and_nothing_is_written(tmp_path) -> None:
    root = _write(tmp_path, {"pyproject.toml": _member("app", '"lib"') + '\n[tool.uv.sources]\nlib = { path = "../gone" }\n'})
    result = _compile(root)
    assert result.exit_code == 2, result.output
    assert "pyproject.toml:8 [tool.uv.sources.lib]: the path source for 'lib' points to '../gone'" in result.output
    assert "which does not exist" in result.output and "fix: correct the path" in result.output
    assert not (root / "output").exists()


def test_path_source_applying_only_elsewhere_may_be_absent(tmp_path) -> None:
    """A path source whose marker is false on every target is never needed: no error."""
    root = _write(tmp_path, {"pyproject.toml": _member("app", '"lib; sys_platform == \'win32\'"')
                             + '\n[tool.uv.sources]\nlib = { path = "../gone", marker = "sys_platform == \'win32\'" }\n'})
    result = _compile(root)
    assert result.exit_code == 0, result.output


def test_source_tree_with_dynamic_dependencies_offline_names_the_build_it_lacks(tmp_path) -> None:
    """lib's metadata needs a build (tests/test_source_builds.py builds such trees); offline,
    with no record of that build in the cache, the run names it and writes nothing."""
    root = _write(tmp_path, {
        "pyproject.toml": _member("app", '"lib"') + '\n[tool.uv.sources]\nlib = { path = "libs/lib" }\n',
        "libs/lib/pyproject.toml": '[project]\nname = "lib"\nversion = "2.0"\ndynamic = ["dependencies"]\n',
    })
    result = _compile(root)
    assert result.exit_code == 2, result.output
    assert "offline, and the cache has no metadata of libs/lib, built from its source (it needs a build: " \
           "libs/lib/pyproject.toml: [project] lists dependencies as dynamic)" in " ".join(result.output.split())
    assert not (root / "output").exists()


def test_members_declaring_different_sources_for_one_package_is_an_error(tmp_path) -> None:
    root = _write(tmp_path, {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["a", "b"]\n',
        "a/pyproject.toml": _member("a", '"lib"') + '[tool.uv.sources]\nlib = { path = "../lib1" }\n',
        "b/pyproject.toml": _member("b", '"lib"') + '[tool.uv.sources]\nlib = { path = "../lib2" }\n',
    })
    result = runner.invoke(app, ["targets", str(root)])
    assert result.exit_code == 2
    assert "workspace members declare different sources for 'lib': a/pyproject.toml and b/pyproject.toml" in result.output


def test_declared_target_installing_two_conflicting_members_is_an_error(tmp_path) -> None:
    root = _write(tmp_path, {
        "pyproject.toml": ('[tool.uv.workspace]\nmembers = ["a", "b"]\n[tool.uv]\n'
                           'conflicts = [[{ package = "a" }, { package = "b" }]]\n'
                           '[tool.planner.targets.both]\nplatform = "linux-x86_64"\npackages = ["a", "b"]\n'),
        "a/pyproject.toml": _member("a"), "b/pyproject.toml": _member("b"),
    })
    result = runner.invoke(app, ["targets", str(root)])
    assert result.exit_code == 2
    assert "pyproject.toml:7 [tool.planner.targets.both.packages]: target 'both' activates package 'a' and " \
           "package 'b', which tool.uv.conflicts declares conflicting" in result.output


def test_target_naming_an_unknown_package_is_an_error_with_a_suggestion(tmp_path) -> None:
    root = _write(tmp_path, {
        "pyproject.toml": ('[tool.uv.workspace]\nmembers = ["api"]\n'
                           '[tool.planner.targets.t]\nplatform = "linux-x86_64"\npackages = ["apj"]\n'),
        "api/pyproject.toml": _member("api"),
    })
    result = runner.invoke(app, ["targets", str(root)])
    assert result.exit_code == 2
    assert "[tool.planner.targets.t.packages[0]]: target 't' installs package 'apj'" in result.output
    assert "did you mean 'api'?" in result.output


DEFAULT_GROUPS = [
    (None, ("dev",)),            # uv's default: dev, when the project has it
    ('["lint"]', ("lint",)),
    ('"all"', ("dev", "lint", "docs")),
    ("[]", ()),
]


@pytest.mark.parametrize(("setting", "groups"), DEFAULT_GROUPS)
def test_default_groups_decide_the_groups_of_derived_targets(tmp_path, setting: str | None, groups) -> None:
    pyproject = _member("app") + '[dependency-groups]\ndev = ["pytest"]\nlint = ["ruff"]\ndocs = ["mkdocs"]\n'
    if setting is not None:
        pyproject += f"[tool.uv]\ndefault-groups = {setting}\n"
    _write(tmp_path, {"pyproject.toml": pyproject})
    for target in resolve_targets(load_project(tmp_path)).targets:
        assert target.groups == groups


def test_targets_show_the_packages_each_installs(tmp_path) -> None:
    root = _write(tmp_path, {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["api", "worker"]\n',
        "api/pyproject.toml": _member("api") + '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n',
        "worker/pyproject.toml": _member("worker", '"api"') + '[tool.uv]\npackage = false\n',
    })
    result = runner.invoke(app, ["targets", str(root), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [t["packages"] for t in document["targets"]] == [["api", "worker"]] * len(document["targets"])
    assert len(document["targets"]) == 4  # two platforms, the lowest and the newest Python
    assert document["project"]["virtual"] is True
    assert [(m["name"], m["package"]) for m in document["project"]["members"]] == [("api", True), ("worker", False)]


def test_requires_python_of_a_workspace_is_the_intersection_of_the_members(tmp_path) -> None:
    _write(tmp_path, {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["a", "b"]\n',
        "a/pyproject.toml": '[project]\nname = "a"\nversion = "1"\nrequires-python = ">=3.10"\n',
        "b/pyproject.toml": '[project]\nname = "b"\nversion = "1"\nrequires-python = ">=3.11,<3.14"\n',
    })
    project = load_project(tmp_path)
    assert project.requires_python.contains("3.11.0") and not project.requires_python.contains("3.10.9")
    assert not project.requires_python.contains("3.14.0")
    # Derived targets: the lowest and the newest Python the intersection admits.
    assert {t.python.short for t in resolve_targets(project).targets} == {"3.11", "3.13"}


def _member_index(name: str, url: str, extra: str = "") -> str:
    return f'[[tool.uv.index]]\nname = "{name}"\nurl = "{url}"\n{extra}'


def test_a_members_index_serves_the_packages_its_sources_route_to_it_and_nothing_else(tmp_path) -> None:
    """uv looks an index a member's source names up in that member first (then in the root), and
    searches only the root's indexes for every other package: the member's index serves torch,
    never numpy, though it has a newer one. Its path is relative to the member's pyproject."""
    write_index(tmp_path / "indexes" / "special", [build_wheel("torch", "2.0+cpu").fixture_file(),
                                                   build_wheel("numpy", "9.9").fixture_file()])
    write_index(tmp_path / "indexes" / "pypi", [build_wheel("torch", "2.0").fixture_file(),
                                                build_wheel("numpy", "1.0").fixture_file()])
    root = _write(tmp_path / "ws", {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["libs/*"]\n',
        "libs/app/pyproject.toml": _member("app", '"torch", "numpy"')
        + _member_index("special", "../../../indexes/special")  # not explicit: uv still never searches it
        + '[tool.uv.sources]\ntorch = { index = "special" }\n',
    })
    targets = runner.invoke(app, ["targets", str(root), "--format", "json"])
    assert targets.exit_code == 0, targets.output
    document = json.loads(targets.stdout)
    assert document["warnings"] == []
    special = next(i for i in document["indexes"] if i["name"] == "special")
    assert special["explicit"] is True and special["member"] == "app"
    assert special["url"] == (tmp_path / "indexes" / "special").as_uri()
    # --index reaches a member's index like the root's.
    with IndexServer({"pypi": tmp_path / "indexes" / "pypi", "special": tmp_path / "indexes" / "special"}) as server:
        result = runner.invoke(app, ["compile", str(root), "--cache-dir", str(tmp_path / "cache"), "-t", "linux-x86_64",
                                     "--default-index", server.url("pypi"), "--index", f"special={server.url('special')}"])
    assert result.exit_code == 0, result.output
    plan = json.loads((root / "output" / "plan.json").read_text())
    packages = {p["name"]: (p["version"], p["index"]) for p in plan["targets"][0]["packages"]}
    assert packages["torch"] == ("2.0+cpu", "special")
    assert packages["numpy"] == ("1.0", "pypi")


def test_a_members_index_is_looked_up_before_the_roots_and_one_name_means_one_index(tmp_path) -> None:
    files = {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["a", "b"]\n'
                          + _member_index("torch-cpu", "https://download.pytorch.org/whl/cpu", "explicit = true\n"),
        "a/pyproject.toml": _member("a", '"torch"') + _member_index("torch-cpu", "https://download.pytorch.org/whl/cpu")
        + '[tool.uv.sources]\ntorch = { index = "torch-cpu" }\n',
        "b/pyproject.toml": _member("b"),
    }
    project = load_project(_write(tmp_path / "same", files))
    assert [(i.name, i.member) for i in project.uv.indexes] == [("torch-cpu", None)]  # the same URL: shared
    files["b/pyproject.toml"] = _member("b") + _member_index("torch-cpu", "https://download.pytorch.org/whl/cu124")
    result = runner.invoke(app, ["targets", str(_write(tmp_path / "differ", files))])
    assert result.exit_code == 2
    assert ("b/pyproject.toml:6 [tool.uv.index[0]]: index 'torch-cpu' is defined twice with different URLs: "
            "https://download.pytorch.org/whl/cpu (pyproject.toml:3 [tool.uv.index[0]]) and "
            "https://download.pytorch.org/whl/cu124") in result.output
    assert "fix: give the two indexes different names" in result.output


def test_a_members_index_no_source_names_or_marked_default_is_warned_about(tmp_path) -> None:
    root = _write(tmp_path, {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["a"]\n',
        "a/pyproject.toml": _member("a", '"torch"') + _member_index("mirror", "https://mirror.example/simple",
                                                                    "default = true\n"),
    })
    result = runner.invoke(app, ["targets", str(root)])
    assert result.exit_code == 0, result.output
    assert ("a/pyproject.toml:9 [tool.uv.index[0].default]: default = true on index 'mirror' in a workspace "
            "member is not read") in result.output
    assert "index 'mirror' of this workspace member is named by none of its sources, so it is never used" in result.output
    # Another member's index cannot be named: uv looks in the member itself, then in the root.
    files = {"pyproject.toml": '[tool.uv.workspace]\nmembers = ["a", "b"]\n',
             "a/pyproject.toml": _member("a") + _member_index("mine", "https://mine.example/simple"),
             "b/pyproject.toml": _member("b", '"torch"') + '[tool.uv.sources]\ntorch = { index = "mine" }\n'}
    result = runner.invoke(app, ["targets", str(_write(tmp_path / "other", files))])
    assert result.exit_code == 2
    assert "b/pyproject.toml:7 [tool.uv.sources.torch.index]: source for 'torch' names index 'mine', which is not defined" \
        in result.output


def test_a_conflict_naming_a_members_extra_loads(tmp_path) -> None:
    """`{ package = "member", extra = "x" }` names that member's extra (marin's conflicts)."""
    root = _write(tmp_path, {
        "pyproject.toml": ('[tool.uv.workspace]\nmembers = ["a", "b"]\n[tool.uv]\nconflicts = [\n'
                           '  [{ package = "a", extra = "gpu" }, { package = "b", extra = "tpu" }],\n]\n'),
        "a/pyproject.toml": _member("a", extra='[project.optional-dependencies]\ngpu = ["jax"]\n'),
        "b/pyproject.toml": _member("b", extra='[project.optional-dependencies]\ntpu = ["jax"]\n'),
    })
    result = runner.invoke(app, ["targets", str(root)])
    assert result.exit_code == 0, result.output
    assert "linux-x86_64-gpu" in result.output and "linux-x86_64-tpu" in result.output
    files = {"pyproject.toml": ('[tool.uv.workspace]\nmembers = ["a", "b"]\n[tool.uv]\nconflicts = [\n'
                                '  [{ package = "a", extra = "gpus" }, { package = "b", extra = "tpu" }],\n]\n'),
             "a/pyproject.toml": _member("a", extra='[project.optional-dependencies]\ngpu = ["jax"]\n'),
             "b/pyproject.toml": _member("b", extra='[project.optional-dependencies]\ntpu = ["jax"]\n')}
    result = runner.invoke(app, ["targets", str(_write(tmp_path / "typo", files))])
    assert result.exit_code == 0, result.output
    assert ("[tool.uv.conflicts[0][0].extra]: conflict names extra 'gpus', which the project does not declare: "
            "it has no effect (uv accepts it too); did you mean 'gpu'?") in result.output


def test_a_local_tree_whose_requires_python_excludes_the_target_says_so(tmp_path) -> None:
    """langchain's snapshot: a path source to a tree that needs a newer Python than the target has
    is explained by its requires-python, not as a missing wheel."""
    root = _write(tmp_path, {
        "pyproject.toml": _member("app", '"splitters"') + '[tool.uv.sources]\nsplitters = { path = "libs/splitters" }\n'
        + '[tool.planner.targets.old]\nplatform = "linux-x86_64"\npython = "3.11"\n',
        "libs/splitters/pyproject.toml": '[project]\nname = "splitters"\nversion = "1.0"\nrequires-python = ">=3.12"\n',
    })
    result = _compile(root)
    assert result.exit_code == 1, result.output
    assert "splitters 1.0 on <local> requires Python >=3.12; the target has Python 3.11.0" in result.output
    assert "no wheel" not in result.output


def test_a_sourced_requirement_of_a_local_package_takes_the_source_whatever_its_version_bounds(tmp_path) -> None:
    """As uv lowers `tool.uv.sources`: the project's and members' requirements on a package a
    source rule sends to a member or a path take that tree, their version specifier dropped, so a
    member whose version is dynamic (unknown without a build) or outside the bounds still serves
    them (langchain's `langchain-core>=0.3.72,<1.0.0` on `libs/core`)."""
    root = _write(tmp_path, {
        "pyproject.toml": _member("app", '"core>=0.3.72,<1.0.0", "tools>=2"')
        + '[tool.uv.sources]\ncore = { workspace = true }\ntools = { path = "libs/tools" }\n'
        + '[tool.uv.workspace]\nmembers = ["libs/core"]\n'
        + '[tool.planner.targets.linux]\nplatform = "linux-x86_64"\npython = "3.11"\n',
        "libs/core/pyproject.toml": '[project]\nname = "core"\ndynamic = ["version"]\nrequires-python = ">=3.11"\n'
        'dependencies = ["tools>=3"]\n',
        "libs/tools/pyproject.toml": _member("tools"),
    })
    result = _compile(root)
    assert result.exit_code == 0, result.output
    plan = json.loads((root / "output" / "plan.json").read_text())
    [target] = plan["targets"]
    assert {p["name"]: p["version"] for p in target["packages"]} == {"core": "0+dynamic", "tools": "1.0"}


def test_check_sees_a_change_in_a_path_sources_tree(tmp_path) -> None:
    """`--check` compares what a path source's tree says (its pyproject by meaning, setup.py by
    bytes), not only the workspace's own pyprojects: a dependency added there makes the outputs
    stale; a description edit does not."""
    root = _write(tmp_path / "app", {
        "pyproject.toml": _member("app", '"tool"') + '[tool.uv.sources]\ntool = { path = "../libs/tool" }\n'
        + '[tool.planner.targets.linux]\nplatform = "linux-x86_64"\npython = "3.11"\n',
    })
    tool = _write(tmp_path / "libs" / "tool", {"pyproject.toml": _member("tool")})
    assert _compile(root).exit_code == 0
    assert _compile(root, "--check").exit_code == 0
    (tool / "pyproject.toml").write_text(_member("tool") + 'description = "a tool"\n')
    assert _compile(root, "--check").exit_code == 0
    (tool / "pyproject.toml").write_text(_member("tool", '"app"'))
    result = _compile(root, "--check")
    assert result.exit_code == 1, result.output
    assert "stale" in result.output
    assert _compile(root).exit_code == 0
    assert _compile(root, "--check").exit_code == 0
    (tool / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    assert _compile(root, "--check").exit_code == 1


def test_a_workspace_source_no_requirement_uses_is_ignored_with_a_warning_as_uv_ignores_it(tmp_path) -> None:
    # openai-agents-python names its member `agents` while the member's project is `custom-agents`;
    # nothing requires `agents`, so uv never reads the entry and locks. A requirement on it fails.
    files = {
        "pyproject.toml": _member("root") + '[tool.uv.workspace]\nmembers = ["agents"]\n'
                          '[tool.uv.sources]\nagents = { workspace = true }\n',
        "agents/pyproject.toml": _member("custom-agents"),
    }
    project = load_project(_write(tmp_path / "unused", files))
    assert "agents" not in project.uv.local_sources
    assert any("source for 'agents' says workspace = true, but no workspace member is named 'agents' and no "
               "requirement of the workspace names it: ignored" in w.message for w in project.warnings)
    result = _compile(tmp_path / "unused")
    assert result.exit_code == 0, result.output

    files["agents/pyproject.toml"] = _member("custom-agents", '"agents>=1"')
    result = runner.invoke(app, ["targets", str(_write(tmp_path / "used", files))])
    assert result.exit_code == 2
    assert "pyproject.toml:9 [tool.uv.sources.agents]: source for 'agents' says workspace = true, but no " \
           "workspace member is named 'agents'" in result.output
