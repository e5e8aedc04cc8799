"""Git and URL packages compiled end to end with the real `git`: a project whose packages come from
a git repository served by `git http-backend` on 127.0.0.1 behind Basic auth (credentials from a
netrc file), the same repository as a `file://` URL, wheels and an sdist at loopback URLs, and an
index of small real wheels. Tags, branches, full and short revs, subdirectories, source tables
and `name @ url` requirements; the plans pass the independent checker; the outputs install with
pip and uv into fresh environments; errors exit 2 at the source's file, key and line; nothing
ever shows or keeps the credentials.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import os
import platform
import shutil
import subprocess
import tomllib
from pathlib import Path
from urllib.parse import quote

import pytest
from packaging.pylock import Pylock
from typer.testing import CliRunner

from planner.cli.app import app
from planner.cli.workspace import CacheOptions, load_targets, open_index_client, open_sources
from planner.index.models import GitCommit
from planner.plan.check import check_target_plan
from planner.sources import git as git_module
from planner.solve.objective import solve_plan
from tests.fixtures.git_repos import FixtureRepository, GitHttpServer, add_commit, build_repository, run_git
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import FixtureFile, write_index
from tests.fixtures.wheels import build_archive, build_wheel
from tests.fixtures.workspace_project import backend_wheels
from tests.test_dockerfile import hadolint_findings
from tests.test_generate_install import _clean_env, _installed, _uv, _venv, on_linux_target

runner = CliRunner()
USER = "git-canary-user-5e1f"
PASSWORD = "git-canary-pass-9b3d7a"
SECRETS = (PASSWORD, quote(PASSWORD, safe=""), USER)
MACHINE = platform.machine() if platform.machine() in ("x86_64", "aarch64") else "x86_64"

URLPKG = build_wheel("urlpkg", "1.0", ["alpha>=1"])
LINUXONLY = build_wheel("linuxonly", "2.0", tag=f"py3-none-manylinux_2_17_{MACHINE}")
SDISTPKG = ("sdistpkg-1.0.tar.gz", build_archive("sdistpkg-1.0.tar.gz", {  # static PKG-INFO, buildable
    "sdistpkg-1.0/PKG-INFO": "Metadata-Version: 2.2\nName: sdistpkg\nVersion: 1.0\nRequires-Dist: beta\n",
    "sdistpkg-1.0/pyproject.toml": '[project]\nname = "sdistpkg"\nversion = "1.0"\ndependencies = ["beta"]\n\n'
                                   '[build-system]\nrequires = ["setuptools>=70"]\nbuild-backend = "setuptools.build_meta"\n',
    "sdistpkg-1.0/sdistpkg/__init__.py": ""}))
TRANSITIVE = build_wheel("needsurl", "1.0", ["beta @ https://elsewhere.example.com/beta-9.0-py3-none-any.whl"])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclasses.dataclass
class World:
    root: Path
    repo: FixtureRepository
    dynamic: FixtureRepository
    server: IndexServer
    git: GitHttpServer
    env: dict[str, str]

    @property
    def repo_url(self) -> str:
        return self.git.url("gitpkg.git")

    def file_url(self, filename: str) -> str:
        return self.server.file_url("dl", filename)

    def compile(self, project: Path, *args: str, cache: Path | None = None):  # noqa: ANN201
        result = runner.invoke(app, ["compile", str(project), "--default-index", self.server.url("pypi"),
                                     "--cache-dir", str(cache or self.root / "cache"), *args], env=self.env)
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        return result


def _dynamic_repository(root: Path) -> FixtureRepository:
    """A repository whose project lists its dependencies as dynamic: needs a build."""
    work = root / "dynpkg"
    work.mkdir(parents=True)
    run_git(work, "init", "--quiet", "--initial-branch=main")
    (work / "pyproject.toml").write_text('[project]\nname = "dynpkg"\nversion = "1.0"\ndynamic = ["dependencies"]\n')
    run_git(work, "add", "--all")
    run_git(work, "commit", "--quiet", "-m", "dynpkg", date=1_700_000_000)
    bare = root / "dynpkg.git"
    run_git(root, "clone", "--quiet", "--bare", str(work), str(bare))
    return FixtureRepository(work, bare, {"c1": run_git(work, "rev-parse", "HEAD")})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("git-url")
    repo = build_repository(root / "repos")
    dynamic = _dynamic_repository(root / "repos")
    files = root / "dl" / "files"
    files.mkdir(parents=True)
    for name, content in [(URLPKG.filename, URLPKG.content), (LINUXONLY.filename, LINUXONLY.content), SDISTPKG,
                          (TRANSITIVE.filename, TRANSITIVE.content), ("page-1.0-py3-none-any.whl", b"<html>a page</html>")]:
        (files / name).write_bytes(content)
    write_index(root / "index", [build_wheel(n, v).fixture_file() for n, v in (
        ("alpha", "1.0"), ("alpha", "2.0"), ("beta", "1.0"), ("gitpkg", "9.9"))]
        + [FixtureFile.from_content("setuptools", p.name, p.read_bytes()) for p in backend_wheels()])
    home = root / "home"
    home.mkdir()
    with IndexServer({"pypi": root / "index", "dl": root / "dl"}) as server, \
            GitHttpServer({"gitpkg.git": repo.bare}, auth=(USER, PASSWORD)) as git:
        netrc = home / ".netrc"
        netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
        netrc.chmod(0o600)
        env = {"NETRC": str(netrc), "HOME": str(home)}
        yield World(root, repo, dynamic, server, git, env)


def _project(world: World, name: str, body: str, targets: str | None = None) -> Path:
    project = world.root / name
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir()
    targets = targets if targets is not None else (
        f'[tool.planner.targets.linux]\nplatform = "linux-{MACHINE}"\npython = "3.11"\n')
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n' + body + "\n" + targets)
    return project


def _main_project(world: World) -> Path:
    short = world.repo.commits["c1"][:10]
    return _project(world, "main", f'''dependencies = [
  "gitpkg",
  "subpkg @ git+{world.repo_url}@{short}#subdirectory=libs/sub",
  "urlpkg",
  "linuxonly @ {world.file_url(LINUXONLY.filename)} ; sys_platform == 'linux'",
]

[project.optional-dependencies]
src = ["sdistpkg @ {world.file_url(SDISTPKG[0])}#sha256={sha256(SDISTPKG[1])}"]

[tool.uv.sources]
gitpkg = [
  {{ git = "{world.repo_url}", tag = "v2.0", marker = "sys_platform == 'linux'" }},
  {{ git = "{world.repo.file_url}", branch = "dev", marker = "sys_platform == 'darwin'" }},
]
urlpkg = {{ url = "{world.file_url(URLPKG.filename)}#sha256={sha256(URLPKG.content)}" }}
''', f'''[tool.planner.targets.linux]
platform = "linux-{MACHINE}"
python = "3.11"
extras = ["src"]

[tool.planner.targets.mac]
platform = "macos-arm64"
python = "3.11"
''')


@pytest.fixture(scope="module")
def compiled(world: World):
    project = _main_project(world)
    result = world.compile(project, "--show-plan")
    assert result.exit_code == 0, result.output
    return project, result


def _plan(project: Path, target: str) -> dict[str, dict]:
    document = json.loads((project / "output" / "plan.json").read_text())
    [found] = [t for t in document["targets"] if t["target"]["name"] == target]
    return {p["name"]: p for p in found["packages"]}


def test_git_and_url_packages_are_pinned_per_target(world: World, compiled) -> None:
    project, result = compiled
    commits = world.repo.commits
    linux, mac = _plan(project, "linux"), _plan(project, "mac")
    assert {n: (p["version"], p["index"]) for n, p in linux.items()} == {
        "alpha": ("2.0", "pypi"), "beta": ("1.0", "pypi"), "gitpkg": ("2.0", "<git>"), "linuxonly": ("2.0", "<url>"),
        "sdistpkg": ("1.0", "<url>"), "subpkg": ("0.1", "<git>"), "urlpkg": ("1.0", "<url>")}
    # The tag over HTTP on Linux; the dev branch (a dynamic version) from file:// on macOS.
    assert linux["gitpkg"]["artifact"]["git"] == {"repository": world.repo_url, "requested": "v2.0",
                                                  "commit": commits["c4"]}
    assert mac["gitpkg"]["artifact"]["git"]["commit"] == commits["c3"] and mac["gitpkg"]["version"] == "0+dynamic"
    assert linux["subpkg"]["artifact"]["url"] == f"git+{world.repo_url}@{commits['c1']}#subdirectory=libs/sub"
    assert linux["subpkg"]["artifact"]["subdirectory"] == "libs/sub"
    assert linux["urlpkg"]["artifact"]["sha256"] == sha256(URLPKG.content)
    assert "linuxonly" not in mac  # its requirement's marker leaves macOS out
    # Never the index's same-named gitpkg 9.9, whose page is never even asked for.
    assert not world.server.requests("/pypi/simple/gitpkg")
    text = " ".join(result.stdout.split())
    assert f"gitpkg 2.0 [git {world.repo_url}@{commits['c4'][:12]}]" in text
    assert f"subpkg 0.1 [git {world.repo_url}@{commits['c1'][:12]}#libs/sub]" in text
    assert f"urlpkg 1.0 [url {world.file_url(URLPKG.filename)}]" in text


def test_every_plan_passes_the_independent_checker_which_catches_a_wrong_commit(world: World, compiled) -> None:
    project, _ = compiled
    os.environ.update(world.env)  # the in-process solve reads NETRC, as the CLI does
    try:
        loaded = load_targets(project, [], world.server.url("pypi"))
        options = CacheOptions(cache_dir=world.root / "cache")
        with open_index_client(loaded, options) as client, open_sources(loaded, options, client) as provider:
            plan = solve_plan(loaded.project, loaded.targets, provider)
            metadata = lambda a: provider.metadata([a])[a]  # noqa: E731
            for target_plan in plan.targets:
                assert check_target_plan(loaded.project, target_plan, metadata) == []
            linux = plan.for_target("linux")
            gitpkg = linux.get("gitpkg")
            wrong = dataclasses.replace(gitpkg.artifact, git=GitCommit(world.repo_url, "v2.0", world.repo.commits["c2"]))
            tampered = dataclasses.replace(linux, packages=tuple(
                dataclasses.replace(p, artifact=wrong) if p.name == "gitpkg" else p for p in linux.packages))
            violations = check_target_plan(loaded.project, tampered, metadata)
            assert [v.kind for v in violations] == ["direct"], violations
            assert "not that commit" in violations[0].message
    finally:
        for key in world.env:
            os.environ.pop(key, None)


def test_lock_has_vcs_and_archive_entries_an_installer_selects(world: World, compiled) -> None:
    project, _ = compiled
    lock = tomllib.loads((project / "output" / "pylock.toml").read_text())
    entries = {(p["name"], p.get("version")): p for p in lock["packages"]}
    assert entries[("gitpkg", "2.0")]["vcs"] == {"type": "git", "url": world.repo_url, "requested-revision": "v2.0",
                                                 "commit-id": world.repo.commits["c4"]}
    assert entries[("gitpkg", None)]["vcs"]["commit-id"] == world.repo.commits["c3"]  # dynamic version: none written
    assert entries[("subpkg", "0.1")]["vcs"]["subdirectory"] == "libs/sub"
    assert entries[("urlpkg", "1.0")]["archive"] == {"url": world.file_url(URLPKG.filename), "size": len(URLPKG.content),
                                                     "hashes": {"sha256": sha256(URLPKG.content)}}
    assert entries[("linuxonly", "2.0")]["marker"] == 'sys_platform == "linux"'
    target = load_targets(project, [], world.server.url("pypi")).targets[0]
    selected = Pylock.from_dict(lock).select(environment=dict(target.environment), tags=list(target.tags),
                                             extras=["src"], dependency_groups=[])
    chosen = {package.name: artifact for package, artifact in selected}
    assert chosen["gitpkg"].commit_id == world.repo.commits["c4"]
    assert chosen["sdistpkg"].url == world.file_url(SDISTPKG[0])


def test_requirements_keep_every_file_hash_checked_and_git_packages_pinned_to_commits(world: World, compiled) -> None:
    project, _ = compiled
    folder = project / "output" / "linux"
    hashed = (folder / "requirements.txt").read_text()
    assert f"urlpkg @ {world.file_url(URLPKG.filename)} \\\n    --hash=sha256:{sha256(URLPKG.content)}" in hashed
    assert f"sdistpkg @ {world.file_url(SDISTPKG[0])} \\\n    --hash=sha256:{sha256(SDISTPKG[1])}" in hashed
    assert "git+" not in hashed.split("--index-url")[1]
    # The planned sdist is built; every other package stays wheels-only.
    assert "--only-binary=:all: --no-binary sdistpkg -r" in hashed
    git_lines = [line for line in (folder / "git-packages.txt").read_text().splitlines() if "@ git+" in line]
    assert git_lines == [f"gitpkg @ git+{world.repo_url}@{world.repo.commits['c4']}",
                         f"subpkg @ git+{world.repo_url}@{world.repo.commits['c1']}#subdirectory=libs/sub"]


def test_check_accepts_the_outputs_of_a_plan_with_git_packages(world: World, compiled) -> None:
    """git-packages.txt is one of the files planner writes: `--check` finds the outputs current
    (it called the folder stale: "not a file planner writes")."""
    project, _ = compiled
    result = world.compile(project, "--check")
    assert result.exit_code == 0, result.output


def test_no_output_cache_or_message_holds_the_credentials(world: World, compiled) -> None:
    project, result = compiled
    for path in [*(project / "output").rglob("*"), *(world.root / "cache").rglob("*")]:
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            assert not any(secret.encode() in data for secret in SECRETS), path
    assert not any(secret in result.output for secret in SECRETS)


def test_offline_compile_gives_the_same_bytes(world: World, compiled) -> None:
    project, _ = compiled
    before = {p: p.read_bytes() for p in (project / "output").rglob("*") if p.is_file()}
    result = world.compile(project, "--offline")
    assert result.exit_code == 0, result.output
    assert {p: p.read_bytes() for p in (project / "output").rglob("*") if p.is_file()} == before


@on_linux_target
@pytest.mark.parametrize("tool", ["pip", "uv"])
def test_pip_and_uv_install_the_target_from_the_requirements_files(world: World, compiled, tmp_path: Path,
                                                                  tool: str) -> None:
    project, _ = compiled
    python = _venv(tmp_path / "venv", with_pip=tool == "pip")
    env = {**_clean_env(tmp_path), **world.env}  # git reads the credentials from ~/.netrc
    for file, hashes in (("requirements.txt", ["--require-hashes"]), ("git-packages.txt", [])):
        base = [str(python), "-m", "pip", "install"] if tool == "pip" else [_uv(), "pip", "install", "--python", str(python)]
        done = subprocess.run([*base, *hashes, "--no-deps", "-r", f"output/linux/{file}"], capture_output=True, text=True,
                              cwd=project, env=env)
        assert done.returncode == 0, done.stderr
    expected = {name: p["version"] for name, p in _plan(project, "linux").items()}
    assert _installed(python) == expected


@on_linux_target
def test_uv_installs_the_target_from_the_lock(world: World, compiled, tmp_path: Path) -> None:
    project, _ = compiled
    python = _venv(tmp_path / "venv", with_pip=False)
    done = subprocess.run([_uv(), "pip", "install", "--python", str(python), "-r", "output/pylock.toml", "--extra", "src"],
                          capture_output=True, text=True, cwd=project, env={**_clean_env(tmp_path), **world.env})
    assert done.returncode == 0, done.stderr
    assert _installed(python) == {name: p["version"] for name, p in _plan(project, "linux").items()}


def test_dockerfile_fetches_git_packages_in_the_build_stage_only(world: World, compiled, tmp_path: Path) -> None:
    project, _ = compiled
    dockerfile = (project / "output" / "linux" / "Dockerfile").read_text()
    build, final = dockerfile.split("\nFROM python:3.11-slim-bookworm\n")
    assert "COPY git-packages.txt /tmp/git-packages.txt" in build and "apt-get install" in build
    assert "RUN --mount=type=secret,id=netrc" in build.split("COPY git-packages.txt")[1]
    assert "git" not in final.replace("org.opencontainers", "")  # neither git nor the checkouts
    assert not any(secret in dockerfile for secret in SECRETS)
    assert hadolint_findings(dockerfile, tmp_path) == []


def test_why_and_targets_name_where_git_and_url_packages_come_from(world: World, compiled) -> None:
    project, _ = compiled
    result = runner.invoke(app, ["why", "gitpkg", "-p", str(project), "-t", "linux", "--default-index",
                                 world.server.url("pypi"), "--cache-dir", str(world.root / "cache")], env=world.env)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert (f"from git {world.repo_url} at tag 'v2.0' (source rule at pyproject.toml:17 [tool.uv.sources.gitpkg[0]]), "
            f"commit {world.repo.commits['c4']}") in text
    assert "required by: gitpkg (pyproject.toml:6)" in text
    # The other chain names the line of the repository's own pyproject (at its commit).
    assert (f"subpkg 0.1 requires gitpkg ({world.repo_url}@{world.repo.commits['c1'][:12]}:libs/sub/pyproject.toml:4)"
            in text)
    targets = runner.invoke(app, ["targets", str(project), "--format", "json"])
    routes = json.loads(targets.stdout)["targets"]
    linux = next(t for t in routes if t["name"] == "linux")["routes"]
    assert linux["gitpkg"]["git"] == {"url": world.repo_url, "ref_kind": "tag", "ref": "v2.0", "subdirectory": None,
                                      "declared": "source"}
    assert linux["subpkg"]["git"]["declared"] == "requirement"
    assert linux["urlpkg"]["url"]["sha256"] == sha256(URLPKG.content)


# -- refs -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("written", "commit"), [
    ('{ git = "FILE", tag = "v1.0" }', "c1"),
    ('{ git = "FILE", tag = "light" }', "c1"),  # a lightweight tag
    ('{ git = "FILE", branch = "dev" }', "c3"),
    ('{ git = "FILE", rev = "FULL_C2" }', "c2"),
    ('{ git = "FILE", rev = "SHORT_C2" }', "c2"),
    ('{ git = "FILE" }', "c4"),  # the default branch
    ('{ git = "HTTP", rev = "v2.0" }', "c4"),  # a rev naming a tag, over HTTP with credentials
])
def test_every_kind_of_ref_is_pinned_to_its_commit(world: World, written: str, commit: str) -> None:
    commits = world.repo.commits
    source = (written.replace("FILE", world.repo.file_url).replace("HTTP", world.repo_url)
              .replace("FULL_C2", commits["c2"]).replace("SHORT_C2", commits["c2"][:7]))
    project = _project(world, "refs", f'dependencies = ["gitpkg"]\n\n[tool.uv.sources]\ngitpkg = {source}\n')
    result = world.compile(project)
    assert result.exit_code == 0, result.output
    assert _plan(project, "linux")["gitpkg"]["artifact"]["git"]["commit"] == commits[commit]


# -- what goes wrong ------------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "where", "message", "fix"), [
    ('dependencies = ["gitpkg"]\n\n[tool.uv.sources]\ngitpkg = { git = "REPO", tag = "v9.0" }\n',
     "pyproject.toml:8 [tool.uv.sources.gitpkg.tag]", "it has no tag 'v9.0'", "check the name"),
    ('dependencies = ["gitpkg"]\n\n[tool.uv.sources]\ngitpkg = { git = "http://127.0.0.1:9/gone.git" }\n',
     "pyproject.toml:8 [tool.uv.sources.gitpkg.git]", "cannot reach the repository", "check the URL"),
    ('dependencies = ["subpkg"]\n\n[tool.uv.sources]\nsubpkg = { git = "REPO", subdirectory = "libs/none" }\n',
     "pyproject.toml:8 [tool.uv.sources.subpkg.subdirectory]", "it has no directory 'libs/none'", "check subdirectory"),
    ('dependencies = ["page @ PAGE"]\n', "pyproject.toml:5 [project.dependencies[0]]",
     "not a distribution: the file is no readable wheel", "serves the file itself"),
    ('dependencies = ["urlpkg @ URLPKG#sha256=' + "0" * 64 + '"]\n', "pyproject.toml:5 [project.dependencies[0]]",
     "sha256 mismatch", "update the #sha256="),
    ('dependencies = ["other"]\n\n[tool.uv.sources]\nother = { git = "REPO", tag = "v1.0" }\n',
     "pyproject.toml:8 [tool.uv.sources.other]", "at tag 'v1.0' holds the project 'gitpkg', not 'other'",
     "point the source of other at its own project"),
])
def test_a_source_that_cannot_be_used_is_one_error_at_its_line(world: World, body: str, where: str, message: str,
                                                              fix: str) -> None:
    text = (body.replace("REPO", world.repo_url).replace("PAGE", world.file_url("page-1.0-py3-none-any.whl"))
            .replace("URLPKG", world.file_url(URLPKG.filename)))
    project = _project(world, "broken", text)
    result = world.compile(project, cache=world.root / "broken-cache")
    assert result.exit_code == 2, result.output
    stderr = " ".join(result.stderr.split())
    assert stderr.count("error:") == 1 and f"error: {where}:" in stderr, stderr
    assert message in stderr.split(" fix: ")[0] and fix in stderr.split(" fix: ")[1], stderr
    assert not any(secret in result.output for secret in SECRETS)
    assert not (project / "output").exists()


def test_a_wheel_for_another_platform_is_explained_with_the_marker_fix(world: World) -> None:
    url = world.file_url(LINUXONLY.filename)
    project = _project(world, "platform", f'dependencies = ["linuxonly @ {url}"]\n',
                       '[tool.planner.targets.mac]\nplatform = "macos-arm64"\npython = "3.11"\n'
                       f'[tool.planner.targets.linux]\nplatform = "linux-{MACHINE}"\npython = "3.11"\n')
    result = world.compile(project)
    assert result.exit_code == 1, result.output
    text = " ".join(result.stderr.split())
    assert "error: target 'mac' has no plan" in text
    assert (f"linuxonly 2.0 from its URL: no wheel for macosx_13_0_arm64/cp311 (available: manylinux_2_17_{MACHINE})"
            in text)
    assert (f"install linuxonly @ {url} only where its wheel fits: add the marker \"sys_platform == 'linux' and "
            f"platform_machine == '{MACHINE}'\" to the requirement (pyproject.toml:5)") in text
    assert not (project / "output").exists()


def test_a_git_tree_that_needs_a_build_is_built_and_an_undeclared_url_is_unusable(world: World) -> None:
    project = _project(world, "unusable", 'dependencies = ["dynpkg"]'
                       f'\n\n[tool.uv.sources]\ndynpkg = {{ git = "{world.dynamic.file_url}" }}\n')
    result = world.compile(project)
    assert result.exit_code == 0, result.output
    (target,) = [t for t in json.loads((project / "output" / "plan.json").read_text())["targets"]
                 if t["target"]["name"] == "linux"]
    (dynpkg,) = [p for p in target["packages"] if p["name"] == "dynpkg"]
    assert dynpkg["version"] == "1.0" and dynpkg["artifact"]["git"]["commit"] == world.dynamic.commits["c1"]
    assert dynpkg["metadata_built_on"]["sys_platform"] == sys.platform  # its commit was built
    project = _project(world, "unusable", f'dependencies = ["needsurl @ {world.file_url(TRANSITIVE.filename)}"]\n')
    result = world.compile(project)
    assert result.exit_code == 1, result.output
    assert ("needsurl 1.0 from its URL cannot be used: it requires beta from the URL "
            "https://elsewhere.example.com/beta-9.0-py3-none-any.whl, which the project does not declare"
            in " ".join(result.stderr.split()))


def test_git_is_needed_only_when_a_git_source_is_used(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(git_module, "_GIT_VERSIONS", {})
    no_git = world.root / "no-git-bin"
    no_git.mkdir(exist_ok=True)
    env = {**world.env, "PATH": str(no_git)}
    project = _project(world, "no-git", 'dependencies = ["urlpkg @ ' + world.file_url(URLPKG.filename) + '"]\n')
    result = runner.invoke(app, ["compile", str(project), "--default-index", world.server.url("pypi"),
                                 "--cache-dir", str(world.root / "cache")], env=env)
    assert result.exit_code == 0, result.output
    project = _project(world, "no-git", f'dependencies = ["gitpkg @ git+{world.repo.file_url}"]\n')
    result = runner.invoke(app, ["compile", str(project), "--default-index", world.server.url("pypi"),
                                 "--cache-dir", str(world.root / "cache")], env=env)
    assert result.exit_code == 2, result.output
    assert "git sources need the git command, and it is not installed" in result.stderr
    assert "fix: install git" in result.stderr and not (project / "output").exists()


def test_a_pinned_commit_is_kept_while_the_branch_moves(world: World, tmp_path: Path) -> None:
    """What the lock lifecycle passes: the previous plan's commit of a ref (the branch does not move)."""
    from planner.project.loader import load_project
    from planner.sources.direct import DirectSources, git_pin_key

    repo = build_repository(tmp_path / "repos")
    project = _project(world, "pinned", f'dependencies = ["gitpkg"]\n\n[tool.uv.sources]\n'
                       f'gitpkg = {{ git = "{repo.file_url}", branch = "dev" }}\n')
    loaded = load_project(project)
    [source] = loaded.uv.direct_sources["gitpkg"]
    moved = add_commit(repo, {"NEWS": "moved\n"}, "dev moves", branch="dev", n=20)
    with DirectSources(loaded, None, tmp_path / "cache") as fresh:
        assert fresh.distribution(source).artifact.git.commit == moved  # no pin: the branch's head
    pins = {git_pin_key(source.reference): repo.commits["c3"]}
    with DirectSources(loaded, None, tmp_path / "cache", git_pins=pins) as kept:
        artifact = kept.distribution(source).artifact
        assert artifact.git.commit == repo.commits["c3"] and artifact.git.requested == "dev"


def _static_pyproject(version: str) -> str:
    return (f'[project]\nname = "gitpkg"\nversion = "{version}"\ndependencies = ["alpha>=2.0"]\n\n'
            '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n')


def test_a_branch_moves_only_on_upgrade_and_a_commit_rewritten_away_is_resolved_again(world: World,
                                                                                       tmp_path: Path) -> None:
    """Re-compiles keep the commit the plan has for a branch (from plan.json, or from the lock's
    vcs entry); -U and -P NAME move it to the branch's head; a kept commit the repository no
    longer has (history rewritten) is resolved again, with a warning."""
    repo = build_repository(tmp_path / "repos")
    project = _project(world, "branch-pin", f'dependencies = ["gitpkg"]\n\n[tool.uv.sources]\n'
                       f'gitpkg = {{ git = "{repo.file_url}", branch = "main" }}\n')
    plan_file = project / "output" / "plan.json"
    cache = tmp_path / "cache"

    def commit() -> str:
        return _plan(project, "linux")["gitpkg"]["artifact"]["git"]["commit"]

    first = world.compile(project, cache=cache)
    assert first.exit_code == 0, first.output
    assert commit() == repo.commits["c4"]
    moved = add_commit(repo, {"pyproject.toml": _static_pyproject("2.1")}, "gitpkg 2.1", n=30)
    written = plan_file.read_bytes()
    again = world.compile(project, cache=cache)
    assert again.exit_code == 0, again.output
    assert commit() == repo.commits["c4"] and plan_file.read_bytes() == written
    assert "gitpkg" not in again.stdout  # nothing changed, nothing to say
    plan_file.unlink()  # the previous plan is then the lock's: its vcs entry keeps the commit too
    from_lock = world.compile(project, cache=cache)
    assert from_lock.exit_code == 0, from_lock.output
    assert commit() == repo.commits["c4"]
    dry = world.compile(project, "--dry-run", "-U", cache=cache)
    assert dry.exit_code == 0 and "~ gitpkg 2.0 → 2.1" in dry.stdout and commit() == repo.commits["c4"]
    upgraded = world.compile(project, "-P", "gitpkg", cache=cache)
    assert upgraded.exit_code == 0, upgraded.output
    assert "~ gitpkg 2.0 → 2.1" in upgraded.stdout and commit() == moved

    # main is rewritten: the planned commit is gone from the repository (and from a new cache).
    run_git(repo.work, "reset", "--quiet", "--hard", repo.commits["c4"])
    (repo.work / "pyproject.toml").write_text(_static_pyproject("2.2"))
    run_git(repo.work, "commit", "--quiet", "--all", "-m", "gitpkg 2.2", date=1_700_003_000)
    rewritten = run_git(repo.work, "rev-parse", "HEAD")
    run_git(repo.work, "push", "--quiet", "--force", str(repo.bare), "main:main")
    run_git(repo.bare, "reflog", "expire", "--expire=now", "--all")
    run_git(repo.bare, "gc", "--quiet", "--prune=now")
    assert subprocess.run(["git", "cat-file", "-e", moved], cwd=repo.bare, capture_output=True).returncode != 0
    kept = world.compile(project, cache=cache)  # the cache still has it: kept (no network asked)
    assert kept.exit_code == 0 and commit() == moved
    resolved = world.compile(project, cache=tmp_path / "new-cache")
    assert resolved.exit_code == 0, resolved.output
    assert commit() == rewritten and "~ gitpkg 2.1 → 2.2" in resolved.stdout
    warning = " ".join(resolved.stderr.split())
    assert f"the previous plan's commit {moved} is no longer in {repo.file_url}" in warning
    assert f"branch 'main' was resolved again, to {rewritten}" in warning


def test_credentials_written_in_a_git_url_are_used_and_never_shown(world: World, tmp_path: Path) -> None:
    secret_url = world.repo_url.replace("http://", f"http://{USER}:{quote(PASSWORD, safe='')}@")
    project = _project(world, "url-credentials", f'dependencies = ["subpkg @ git+{secret_url}@v1.0#subdirectory=libs/sub"]\n'
                       f'\n[tool.uv.sources]\ngitpkg = {{ git = "{secret_url}", tag = "v2.0" }}\n')
    runs = [runner.invoke(app, ["-v", "compile", str(project), "--default-index", world.server.url("pypi"), "--cache-dir",
                                str(tmp_path / "cache"), "--emit-cnf", str(tmp_path / "cnf")]),
            runner.invoke(app, ["targets", str(project), "--format", "json"]),
            runner.invoke(app, ["why", "gitpkg", "-p", str(project), "--default-index", world.server.url("pypi"),
                                "--cache-dir", str(tmp_path / "cache")])]
    assert [r.exit_code for r in runs] == [0, 0, 0], runs[0].output
    assert _plan(project, "linux")["gitpkg"]["artifact"]["git"]["commit"] == world.repo.commits["c4"]
    for result in runs:
        assert not any(secret in result.output for secret in SECRETS), result.output
    for path in [*(project / "output").rglob("*"), *(tmp_path / "cnf").rglob("*"), *(tmp_path / "cache").rglob("*")]:
        if path.is_file() and not path.is_symlink():
            assert not any(secret.encode() in path.read_bytes() for secret in SECRETS), path



def test_a_plan_with_git_or_url_packages_is_always_compiled_in_full(world: World, compiled) -> None:
    """No index page says whether a git ref's commit or a URL's file changed: a re-compile with
    the same inputs solves again (planner/cli/unchanged.py records nothing for such a plan)."""
    git_only = _project(world, "git-only", f'''dependencies = ["gitpkg"]

[tool.uv.sources]
gitpkg = {{ git = "{world.repo_url}", tag = "v2.0" }}
''')
    for project in (compiled[0], git_only):
        stats = world.root / "stats.json"
        for args in ((), ("--offline", "--stats", str(stats))):
            result = world.compile(project, *args)
            assert result.exit_code == 0, result.output
        document = json.loads(stats.read_text())
        assert "unchanged" not in document and document["targets"], project
