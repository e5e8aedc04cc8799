"""The PEP 517 metadata builder on real sdists made by the tests (tests/fixtures/sdists.py), whose
build backends come from a loopback index holding the wheels the CI set-up fetched."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from planner.sources.build import (
    BuildFailed,
    BuildIndex,
    BuildOptions,
    BuildTimedOut,
    MetadataBuilder,
    NotBuiltOffline,
    build_settings_from_environment,
    read_build_system,
    unpack_sdist,
)
from tests.fixtures import sdists
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import write_index

USER, PASSWORD = "build-user-5e1f", "build-password-93ac7d"

SDISTS = {
    "dyn": sdists.setuptools_dynamic("dyn", "1.0", ("beta>=1",), linux_only=("gamma",)),
    "hooked": sdists.hatchling_hook("hooked", "1.0", ("beta", "gamma>=2")),
    "flitted": sdists.flit("flitted", "1.0", ("beta<3",)),
    "tiny": sdists.backend_without_prepare("tiny", "1.0", ("beta",)),
    "broken": sdists.broken("broken", "1.0"),
    "hangs": sdists.hanging("hangs", "1.0"),
}


@dataclass
class World:
    root: Path
    server: IndexServer
    log: Path

    def options(self, **fields) -> BuildOptions:
        return BuildOptions((BuildIndex("pypi", self.server.url("pypi", with_auth=True)),), **fields)

    def builder(self, cache: str = "cache", **kwargs) -> MetadataBuilder:
        kwargs.setdefault("timeout", 120)
        return MetadataBuilder(self.root / cache, **kwargs)

    def builds_logged(self) -> list[str]:
        return self.log.read_text().split() if self.log.exists() else []


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("builds")
    write_index(root / "index", [*sdists.backend_wheels(), *(s.fixture_file() for s in SDISTS.values())])
    server = IndexServer({"pypi": root / "index"})
    server.require_auth = (USER, PASSWORD)  # credentials must reach uv, and never a record or message
    with server:
        yield World(root, server, root / "build.log")


@pytest.fixture(autouse=True)
def build_log(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sdists.BUILD_LOG_VARIABLE, str(world.log))


def _fetcher(world: World, name: str, calls: list[str] | None = None):
    sdist = SDISTS[name]

    def fetch() -> Path:
        if calls is not None:
            calls.append(name)
        path = world.root / "downloads" / f"{time.monotonic_ns()}-{sdist.filename}"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(sdist.content)
        return path

    return fetch


def _build(world: World, builder: MetadataBuilder, name: str, calls: list[str] | None = None, **options):
    sdist = SDISTS[name]
    return builder.build_sdist(f"sha256:{name}-test", _fetcher(world, name, calls), sdist.filename,
                               world.options(**options), expected_name=sdist.project, expected_version=sdist.version)


@pytest.mark.parametrize(("name", "hook", "requires"), [
    ("dyn", "prepare_metadata_for_build_wheel", ["beta>=1", "gamma"]),  # computed by setup.py on Linux
    ("hooked", "prepare_metadata_for_build_wheel", ["beta", "gamma>=2"]),  # hatchling's custom metadata hook
    ("flitted", "prepare_metadata_for_build_wheel", ["beta<3"]),
    ("tiny", "build_wheel", ["beta"]),  # no prepare hook: METADATA read from the wheel it builds
])
def test_each_backend_gives_the_metadata_a_build_gives(world: World, name: str, hook: str, requires: list[str]) -> None:
    builder = world.builder(f"cache-{name}")
    result = _build(world, builder, name)
    assert result.hook == hook
    assert [str(r) for r in result.metadata.requires_dist] == requires
    assert result.metadata.name == name and str(result.metadata.version) == "1.0"
    built_on = result.metadata.built_on
    assert built_on is not None and built_on.sys_platform == "linux"
    assert builder.stats.builds == 1 and builder.stats.from_cache == 0


def test_second_run_builds_nothing_and_offline_reuses_the_records(world: World) -> None:
    first = world.builder("cache-rerun")
    before = len(world.builds_logged())
    results = {name: _build(world, first, name) for name in ("dyn", "hooked", "tiny")}
    assert first.stats.builds == 3
    assert len(world.builds_logged()) > before  # the backends really ran
    logged = len(world.builds_logged())

    calls: list[str] = []
    for again in (world.builder("cache-rerun"), world.builder("cache-rerun", offline=True)):
        for name, result in results.items():
            reread = _build(world, again, name, calls)
            assert reread.metadata == result.metadata and reread.from_cache
            assert reread.metadata.built_on == result.metadata.built_on
        assert again.stats.builds == 0 and again.stats.from_cache == 3
    assert calls == []  # not even downloaded
    assert len(world.builds_logged()) == logged  # no backend ran again

    with pytest.raises(NotBuiltOffline):
        _build(world, world.builder("cache-empty", offline=True), "dyn")


def test_one_build_however_many_callers_ask_at_once(world: World) -> None:
    builder = world.builder("cache-dedupe")
    calls: list[str] = []
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(_build(world, builder, "hooked", calls)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and len({id(r) for r in results}) == 1
    assert calls == ["hooked"] and builder.stats.builds == 1


def test_a_broken_build_says_what_the_backend_said_and_is_not_built_again(world: World) -> None:
    builder = world.builder("cache-broken")
    with pytest.raises(BuildFailed) as caught:
        _build(world, builder, "broken")
    text = str(caught.value)
    assert "libfoo.h not found" in text and "checking for a C compiler" in text
    assert "Traceback" not in text and "File \"" not in text
    assert builder.stats.failures == 1
    logged = len(world.builds_logged())
    again = world.builder("cache-broken")
    with pytest.raises(BuildFailed) as second:
        _build(world, again, "broken")
    assert str(second.value) == text and again.stats.builds == 0
    assert len(world.builds_logged()) == logged
    with pytest.raises(BuildFailed):  # refresh: built again
        _build(world, world.builder("cache-broken", refresh=True), "broken")
    assert len(world.builds_logged()) == logged + 1


def test_a_build_that_hangs_is_stopped_at_the_time_limit_and_not_recorded(world: World) -> None:
    builder = world.builder("cache-hang", timeout=4)
    started = time.monotonic()
    with pytest.raises(BuildTimedOut) as caught:
        _build(world, builder, "hangs")
    assert time.monotonic() - started < 15
    assert "within 4 s" in str(caught.value) and "never answers" in str(caught.value)
    assert not list((world.root / "cache-hang" / "builds").rglob("*.json"))  # a time-out may pass next time


def test_records_hold_no_credentials_and_damaged_ones_are_rebuilt(world: World) -> None:
    builder = world.builder("cache-records")
    result = _build(world, builder, "flitted")
    records = list((world.root / "cache-records" / "builds").rglob("*.json"))
    assert len(records) == 1
    text = records[0].read_text()
    assert PASSWORD not in text and USER not in text
    record = json.loads(text)["record"]
    assert record["environment"]["sys_platform"] == "linux" and record["hook"] == "prepare_metadata_for_build_wheel"
    for damage in (text.replace("beta<3", "beta<4"), "not json", text[: len(text) // 2]):
        records[0].write_text(damage)
        again = world.builder("cache-records")
        assert _build(world, again, "flitted").metadata == result.metadata
        assert again.stats.builds == 1  # nothing unchecked is trusted: built again


def test_build_settings_reach_the_build(world: World) -> None:
    builder = world.builder("cache-settings")
    # A constraint no published setuptools meets: the build environment cannot be made, and says so.
    with pytest.raises(BuildFailed) as caught:
        _build(world, builder, "dyn", constraints=("setuptools<1",))
    assert "installing its build-system.requires" in str(caught.value)
    # An extra build dependency is installed (one the index does not have makes that visible).
    with pytest.raises(BuildFailed) as missing:
        _build(world, builder, "hooked", extra_requires=("not-on-the-index",))
    assert "not-on-the-index" in str(missing.value)
    assert PASSWORD not in str(missing.value)


def test_extra_build_variables_reach_the_backend_and_key_the_record(world: World) -> None:
    builder = world.builder("cache-variables")
    plain = _build(world, builder, "dyn")
    varied = _build(world, builder, "dyn", variables={"DYN_EXTRA_REQUIRES": "delta>=1"})
    assert [str(r) for r in plain.metadata.requires_dist] == ["beta>=1", "gamma"]
    assert [str(r) for r in varied.metadata.requires_dist] == ["beta>=1", "gamma", "delta>=1"]
    assert builder.stats.builds == 2  # other variables, another build


def test_the_users_pip_and_uv_configuration_is_shut_out(world: World, tmp_path: Path) -> None:
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nindex-url = http://127.0.0.1:9/nowhere\n")
    hostile = {"PIP_CONFIG_FILE": str(config), "PIP_INDEX_URL": "http://127.0.0.1:9/nowhere",
               "UV_INDEX_URL": "http://127.0.0.1:9/nowhere", "UV_DEFAULT_INDEX": "http://127.0.0.1:9/nowhere",
               "UV_CONSTRAINT": str(tmp_path / "missing.txt"), "PIP_FIND_LINKS": "/nowhere",
               sdists.BUILD_LOG_VARIABLE: str(world.log), "PATH": "/usr/bin:/bin"}
    builder = MetadataBuilder(world.root / "cache-hostile", timeout=120, environ=hostile)
    assert [str(r) for r in _build(world, builder, "hooked").metadata.requires_dist] == ["beta", "gamma>=2"]


def test_read_build_system_defaults_and_refusals(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text("")
    assert read_build_system(tmp_path) == (["setuptools>=40.8.0"], "setuptools.build_meta:__legacy__", None)
    (tmp_path / "pyproject.toml").write_text('[build-system]\nrequires = ["x"]\n')
    assert read_build_system(tmp_path) == (["x"], "setuptools.build_meta:__legacy__", None)
    (tmp_path / "pyproject.toml").write_text('[build-system]\nrequires = []\nbuild-backend = "b"\nbackend-path = [".."]\n')
    with pytest.raises(BuildFailed, match="outside the source tree"):
        read_build_system(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[build-system]\nrequires = []\nbuild-backend = "os; rm -rf"\n')
    with pytest.raises(BuildFailed, match="not a module path"):
        read_build_system(tmp_path)


def test_unpacking_refuses_members_outside_the_folder(tmp_path: Path) -> None:
    import io
    import tarfile

    archive = tmp_path / "evil-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("evil-1.0/setup.py", "../outside.txt"):
            info = tarfile.TarInfo(name)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(BuildFailed, match="unsafe member"):
        unpack_sdist(archive, tmp_path / "out", archive.name)
    assert not (tmp_path / "outside.txt").exists()
    good = tmp_path / "good.tar.gz"
    good.write_bytes(SDISTS["dyn"].content)
    tree = unpack_sdist(good, tmp_path / "good", good.name)
    assert (tree / "setup.py").is_file() and tree.name == "dyn-1.0"


def test_build_settings_from_the_environment_are_validated() -> None:
    assert build_settings_from_environment({}) == (300.0, 2)
    assert build_settings_from_environment({"PLANNER_BUILD_TIMEOUT": "5", "PLANNER_BUILD_JOBS": "1"}) == (5.0, 1)
    for bad in ({"PLANNER_BUILD_TIMEOUT": "soon"}, {"PLANNER_BUILD_TIMEOUT": "-1"}, {"PLANNER_BUILD_JOBS": "0"}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            build_settings_from_environment(bad)


def test_a_local_tree_builds_through_the_same_call_keyed_by_its_content(world: World, tmp_path: Path) -> None:
    from planner.sources.build import tree_key

    tree = unpack_sdist(_fetcher(world, "hooked")(), tmp_path / "tree", "hooked-1.0.tar.gz")
    (tree / ".git").mkdir()
    (tree / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    key = tree_key(tree)
    (tree / ".git" / "objects").mkdir()
    (tree / ".git" / "objects" / "pack").write_text("x")  # not content of the tree
    assert tree_key(tree) == key
    builder = world.builder("cache-tree")
    result = builder.build_tree(tree, key, world.options())
    assert [str(r) for r in result.metadata.requires_dist] == ["beta", "gamma>=2"]
    assert builder.build_tree(tree, tree_key(tree), world.options()).metadata == result.metadata
    assert builder.stats.builds == 1  # same content, same key: built once
    hook = tree / "hatch_build.py"
    hook.write_text(hook.read_text().replace("'gamma>=2'", "'gamma>=3'"))
    changed = tree_key(tree)
    assert changed != key
    again = builder.build_tree(tree, changed, world.options())
    assert [str(r) for r in again.metadata.requires_dist] == ["beta", "gamma>=3"] and builder.stats.builds == 2


def test_failure_texts_never_show_credentials(world: World) -> None:
    from planner.sources.build import _clean_tail

    options = world.options()
    lines = [f"error: cannot reach {world.server.url('pypi', with_auth=True)}/x/", f"user {USER} password {PASSWORD}"]
    shown = " ".join(_clean_tail(lines, options.secrets()))
    assert PASSWORD not in shown and USER not in shown and "***" in shown


def test_at_most_jobs_builds_run_at_once(tmp_path: Path) -> None:
    builder = MetadataBuilder(None, jobs=2)
    running, most = [0], [0]
    guard = threading.Lock()

    def fake_build(tree, options, expected_name, expected_version, label, copy=False):  # noqa: ANN001
        with guard:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with guard:
            running[0] -= 1
        raise BuildFailed(f"{label}: stand-in")

    builder._build = fake_build  # type: ignore[method-assign]
    options = BuildOptions(())

    def one(n: int) -> None:
        with pytest.raises(BuildFailed):
            builder.build_tree(tmp_path, f"tree:{n}", options)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 2 and builder.stats.builds == 6


def test_a_build_that_names_another_version_is_refused(world: World) -> None:
    builder = world.builder("cache-identity")
    sdist = SDISTS["tiny"]
    with pytest.raises(BuildFailed) as caught:
        builder.build_sdist("sha256:tiny-as-2.0", _fetcher(world, "tiny"), sdist.filename, world.options(),
                            expected_name="tiny", expected_version="2.0")
    assert "the build says it is tiny 1.0, not tiny 2.0 (installers refuse such a build)" in str(caught.value)


def test_build_options_take_the_projects_indexes_credentials_and_settings(write_project) -> None:
    from planner.index.auth import CredentialStore
    from planner.project.loader import load_project
    from planner.sources.build import build_options

    project = load_project(write_project("""
        [project]
        name = "demo"
        version = "0.1"
        requires-python = ">=3.11"
        dependencies = ["jieba"]

        [[tool.uv.index]]
        name = "private"
        url = "https://pkgs.example.com/simple"

        [[tool.uv.index]]
        name = "torch-only"
        url = "https://download.pytorch.org/whl/cpu"
        explicit = true

        [tool.uv]
        index-strategy = "unsafe-best-match"
        build-constraint-dependencies = ["setuptools<80"]
        config-settings = { mode = "fast" }

        [tool.uv.extra-build-dependencies]
        jieba = ["wheel"]
    """))
    store = CredentialStore(project.indexes, environ={"PLANNER_INDEX_PRIVATE_USERNAME": "me",
                                                      "PLANNER_INDEX_PRIVATE_PASSWORD": "p@ss word"})
    options = build_options(project, "jieba", store)
    assert [i.name for i in options.indexes] == ["private", "pypi"]  # the explicit index serves no build
    assert options.indexes[0].url == "https://me:p%40ss%20word@pkgs.example.com/simple"
    assert options.indexes[0].public_url == "https://pkgs.example.com/simple"
    assert "p@ss word" in options.secrets() and "p%40ss%20word" in options.secrets()
    assert "p@ss" not in repr(options) and "p@ss" not in options.fingerprint()
    assert options.index_strategy == "unsafe-best-match"
    assert options.extra_requires == ("wheel",) and options.constraints == ("setuptools<80",)
    assert dict(options.config_settings) == {"mode": "fast"}
    assert build_options(project, "other", store).extra_requires == ()


def test_builds_that_cannot_run_here_stop_the_run_and_are_not_recorded(world: World) -> None:
    from planner.errors import ExitCode
    from planner.sources.build import BuildsUnavailable

    builder = world.builder("cache-oserror")

    def no_space() -> Path:
        raise OSError(28, "No space left on device")

    with pytest.raises(BuildsUnavailable) as caught:
        builder.build_sdist("sha256:no-space", no_space, "dyn-1.0.tar.gz", world.options())
    assert "No space left on device" in caught.value.render() and "fix: free disk space" in caught.value.render()
    assert caught.value.exit_code is ExitCode.BAD_INPUT
    assert not list((world.root / "cache-oserror").rglob("*.json"))
    without_uv = MetadataBuilder(world.root / "cache-no-uv", uv="")  # as when no uv is found
    with pytest.raises(BuildsUnavailable, match="uv, which planner makes build environments with, is not installed"):
        _build(world, without_uv, "dyn")


def test_a_tree_key_follows_the_repository_around_the_tree(tmp_path: Path) -> None:
    """A version plugin reads the version from git: a new tag or commit must build the tree
    again, while the tree's files and the repository stay as they are, the key stays."""
    from planner.sources.build import tree_key
    from tests.fixtures.git_repos import run_git

    tree = tmp_path / "repo" / "packages" / "lib"
    tree.mkdir(parents=True)
    (tree / "pyproject.toml").write_text('[project]\nname = "lib"\ndynamic = ["version"]\n')
    outside = tree_key(tree)
    run_git(tmp_path / "repo", "init", "--quiet", "--initial-branch=main")
    run_git(tmp_path / "repo", "add", "--all")
    run_git(tmp_path / "repo", "commit", "--quiet", "-m", "one")
    committed = tree_key(tree)
    assert committed != outside and tree_key(tree) == committed
    run_git(tmp_path / "repo", "tag", "v1.0")
    tagged = tree_key(tree)
    assert tagged != committed
    (tmp_path / "repo" / "README").write_text("x\n")
    run_git(tmp_path / "repo", "add", "--all")
    run_git(tmp_path / "repo", "commit", "--quiet", "-m", "two")
    assert tree_key(tree) not in (tagged, committed)


def test_builds_started_together_look_uv_up_once_and_one_at_a_time(monkeypatch) -> None:
    """uv is found through `sysconfig`, whose first use is not safe from two threads at once (a
    build then failed as an internal error): builds that start together find it once, in turn."""
    import uv

    calls, inside, most = [0], [0], [0]
    guard = threading.Lock()

    def slow_find() -> str:
        with guard:
            calls[0] += 1
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.05)
        with guard:
            inside[0] -= 1
        return "/usr/bin/uv-stand-in"

    monkeypatch.setattr(uv, "find_uv_bin", slow_find)
    builder = MetadataBuilder(None, jobs=4)
    found: list[str] = []
    threads = [threading.Thread(target=lambda: found.append(builder._uv_binary())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == ["/usr/bin/uv-stand-in"] * 4
    assert calls == [1] and most == [1]
