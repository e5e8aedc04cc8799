"""Git sources with the real git command, on repositories the tests make: a `file://` repository
and the same one served over smart HTTP by `git http-backend` on 127.0.0.1, behind Basic auth.

Refs (default branch, branch, annotated and lightweight tags, full and short commits, a rev that
names a branch) resolve to the commits the fixture made; metadata comes from the checkout's static
`[project]` (or "needs a build"); the cache answers offline; credentials reach git only through
its credential protocol and appear in no argument, cache file or message; hostile trees are
refused.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from planner.errors import InputError
from planner.project.references import GitRef, GitRefKind, git_source, parse_direct_reference
from planner.sources import git as git_module
from planner.sources.git import (
    GitError,
    GitOfflineMiss,
    GitSources,
    GitUnavailable,
    git_timeout,
    normalized_url,
)
from planner.sources.tree_metadata import NeedsBuild
from tests.fixtures.git_repos import (
    FixtureRepository,
    GitHttpServer,
    add_commit,
    build_repository,
    pyproject_text,
    run_git,
)

USER, PASSWORD = "fixture-user", "git-Secr3t-canary"


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> FixtureRepository:
    return build_repository(tmp_path_factory.mktemp("git-repos"))


@pytest.fixture(scope="module")
def http(repository: FixtureRepository):
    with GitHttpServer({"org/gitpkg.git": repository.bare}, auth=(USER, PASSWORD)) as server:
        yield server


@pytest.fixture
def sources(tmp_path: Path):
    with GitSources(tmp_path / "cache") as opened:
        yield opened


def _requires(metadata) -> list[str]:  # noqa: ANN001
    return [str(r) for r in metadata.requires_dist]


@pytest.mark.parametrize("ref, commit, version", [
    (dict(), "c4", "2.0"),
    (dict(branch="main"), "c4", "2.0"),
    (dict(tag="v1.0"), "c1", "1.0"),  # annotated: peeled to its commit
    (dict(tag="light"), "c1", "1.0"),  # lightweight
    (dict(rev="v2.0"), "c4", "2.0"),  # a rev may name a tag
    (dict(rev="main"), "c4", "2.0"),  # or a branch
    (dict(rev="c2"), "c2", "1.1"),  # the full commit id (substituted below)
    (dict(rev="c2:7"), "c2", "1.1"),  # a short commit id (no ref points at c2): needs the history
])
def test_refs_resolve_to_the_fixture_commits(repository: FixtureRepository, sources: GitSources, ref: dict,
                                             commit: str, version: str) -> None:
    if "rev" in ref and ref["rev"].startswith("c"):
        label, _, length = ref["rev"].partition(":")
        ref = {"rev": repository.commits[label][: int(length) if length else None]}
    resolved = sources.resolve(git_source(repository.file_url, **ref))
    assert resolved.commit == repository.commits[commit]
    metadata = sources.metadata(resolved)
    assert (metadata.name, str(metadata.version)) == ("gitpkg", version)


def test_the_id_of_an_annotated_tag_stands_for_its_commit(repository: FixtureRepository, sources: GitSources) -> None:
    tag_object = run_git(repository.bare, "rev-parse", "v1.0")
    assert tag_object != repository.commits["c1"]
    assert sources.resolve(git_source(repository.file_url, rev=tag_object)).commit == repository.commits["c1"]


def test_metadata_of_a_commit_and_of_a_subdirectory(repository: FixtureRepository, sources: GitSources) -> None:
    c2 = sources.metadata(sources.resolve(git_source(repository.file_url, rev=repository.commits["c2"])))
    assert _requires(c2) == ["alpha>=1.0", 'beta; extra == "fast"']
    assert c2.requires_python == ">=3.9" and c2.provides_extra == ("fast",)
    sub = sources.metadata(sources.resolve(git_source(repository.file_url, tag="v1.0", subdirectory="libs/sub")))
    assert (sub.name, str(sub.version), _requires(sub)) == ("subpkg", "0.1", ["gitpkg"])
    # A dynamic version alone is planned as unknown (the requirements are static), as for local trees.
    dynamic = sources.metadata(sources.resolve(git_source(repository.file_url, branch="dev")))
    assert (dynamic.name, str(dynamic.version), _requires(dynamic)) == ("gitpkg", "0+dynamic", ["alpha"])


def test_pep508_form_resolves_like_the_source_table(repository: FixtureRepository, sources: GitSources) -> None:
    from packaging.requirements import Requirement

    reference = parse_direct_reference(
        Requirement(f"subpkg @ git+{repository.file_url}@v1.0#subdirectory=libs/sub"), Path("/"))
    assert reference.ref == GitRef(GitRefKind.REV, "v1.0")
    resolved = sources.resolve(reference)
    assert resolved.commit == repository.commits["c1"]
    assert sources.metadata(resolved).name == "subpkg"


def test_over_http_with_credentials_in_the_url(repository: FixtureRepository, http: GitHttpServer,
                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    real_popen = subprocess.Popen

    def recording(args, *rest, **kwargs):  # noqa: ANN001, ANN002, ANN003
        seen.append(list(args))
        return real_popen(args, *rest, **kwargs)

    monkeypatch.setattr(git_module.subprocess, "Popen", recording)
    url = http.url("org/gitpkg.git", with_auth=True)
    with GitSources(tmp_path / "cache") as sources:
        resolved = sources.resolve(git_source(url, tag="v1.0", subdirectory="libs/sub"))
        assert resolved.commit == repository.commits["c1"]
        assert sources.metadata(resolved).name == "subpkg"
        checkout = sources.checkout(resolved)
        assert (checkout.project / "pyproject.toml").read_text() == pyproject_text("0.1", ["gitpkg"], name="subpkg")
        assert sources.resolve(git_source(url, rev=repository.commits["c2"])).commit == repository.commits["c2"]
    assert any(r.headers.get("authorization") for r in http.requests())
    # The password never reached a command line, nor any file of the cache.
    assert seen and not any(PASSWORD in arg or USER in arg for args in seen for arg in args)
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            assert PASSWORD.encode() not in data and USER.encode() not in data, path


def test_over_http_with_credentials_from_netrc(repository: FixtureRepository, http: GitHttpServer,
                                               tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
    netrc.chmod(0o600)
    environ = {**os.environ, "NETRC": str(netrc)}
    with GitSources(tmp_path / "cache", environ=environ) as sources:
        resolved = sources.resolve(git_source(http.url("org/gitpkg.git"), branch="main"))
    assert resolved.commit == repository.commits["c4"]


def test_over_http_without_credentials_is_access_denied(http: GitHttpServer, tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k != "NETRC"} | {"HOME": str(tmp_path)}
    with GitSources(tmp_path / "cache", environ=environ) as sources, pytest.raises(GitError) as caught:
        sources.resolve(git_source(http.url("org/gitpkg.git"), tag="v1.0"))
    text = caught.value.render()
    assert "access denied" in text and http.url("org/gitpkg.git") in text
    assert "~/.netrc" in text and "credential helper" in text


def test_wrong_password_is_access_denied_and_never_shown(http: GitHttpServer, tmp_path: Path) -> None:
    url = http.url("org/gitpkg.git").replace("http://", f"http://{USER}:wrong-Pa55word@")
    with GitSources(tmp_path / "cache") as sources, pytest.raises(GitError) as caught:
        sources.resolve(git_source(url, tag="v1.0"))
    assert "access denied" in caught.value.render()
    assert "wrong-Pa55word" not in caught.value.render() and USER not in caught.value.render()


def test_offline_answers_from_the_cache_and_names_what_it_lacks(repository: FixtureRepository,
                                                                tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with GitSources(cache) as online:
        online.resolve(git_source(repository.file_url, tag="v1.0"))
        online.resolve(git_source(repository.file_url, rev=repository.commits["c2"]))
    with GitSources(cache, offline=True) as offline:
        assert offline.resolve(git_source(repository.file_url, tag="v1.0")).commit == repository.commits["c1"]
        resolved = offline.resolve(git_source(repository.file_url, rev=repository.commits["c2"]))
        assert offline.metadata(resolved).version.public == "1.1"
        with pytest.raises(GitOfflineMiss) as caught:
            offline.resolve(git_source(repository.file_url, branch="dev"))
    assert "offline, and the cache has no commit for branch 'dev'" in caught.value.render()
    assert "without --offline" in caught.value.render()
    with pytest.raises(InputError, match="--offline needs the cache"):
        GitSources(None, offline=True)


def test_a_moving_branch_moves_online_and_offline_keeps_the_last_answer(tmp_path: Path) -> None:
    repository = build_repository(tmp_path / "repos")
    cache = tmp_path / "cache"
    with GitSources(cache) as online:
        assert online.resolve(git_source(repository.file_url, branch="main")).commit == repository.commits["c4"]
    moved = add_commit(repository, {"pyproject.toml": pyproject_text("3.0", [])}, "gitpkg 3.0", n=20)
    with GitSources(cache, offline=True) as offline:
        assert offline.resolve(git_source(repository.file_url, branch="main")).commit == repository.commits["c4"]
    with GitSources(cache) as online:
        resolved = online.resolve(git_source(repository.file_url, branch="main"))
        assert resolved.commit == moved and str(online.metadata(resolved).version) == "3.0"


@pytest.mark.parametrize("ref, message", [
    (dict(tag="v9.9"), "it has no tag 'v9.9'"),
    (dict(branch="mian"), "it has no branch 'mian'; did you mean 'main'?"),
    (dict(rev="feature-x"), "it has no branch, tag or commit 'feature-x'"),
    (dict(rev="deadbeef12"), "it has no branch, tag or commit 'deadbeef12'"),
    (dict(rev="d" * 40), "it has no commit " + "d" * 40),
])
def test_unknown_refs_are_named(repository: FixtureRepository, sources: GitSources, ref: dict,
                                message: str) -> None:
    with pytest.raises(GitError) as caught:
        sources.resolve(git_source(repository.file_url, **ref))
    assert message in caught.value.render() and repository.file_url in caught.value.render()
    assert "fix:" in caught.value.render()


def test_unreachable_repositories(tmp_path: Path, sources: GitSources) -> None:
    with pytest.raises(GitError, match="does not exist or cannot be read") as missing:
        sources.resolve(git_source((tmp_path / "nowhere.git").as_uri(), tag="v1"))
    assert "check the repository URL" in missing.value.render()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(GitError, match="cannot reach the repository"):
        sources.resolve(git_source(f"http://127.0.0.1:{port}/repo.git", tag="v1"))


def test_a_stalling_server_hits_the_time_limit(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    try:
        with GitSources(tmp_path / "cache", timeout=1.5) as sources, pytest.raises(GitError) as caught:
            sources.resolve(git_source(f"http://127.0.0.1:{listener.getsockname()[1]}/repo.git", tag="v1"))
        assert "took more than 1.5 s" in caught.value.render() and "PLANNER_GIT_TIMEOUT" in caught.value.render()
    finally:
        for conn in accepted:
            conn.close()
        listener.close()


def test_timeout_setting_is_validated() -> None:
    assert git_timeout({"PLANNER_GIT_TIMEOUT": "90"}) == 90
    with pytest.raises(InputError, match="PLANNER_GIT_TIMEOUT='soon'"):
        git_timeout({"PLANNER_GIT_TIMEOUT": "soon"})


def test_missing_git_is_a_clear_error(tmp_path: Path, repository: FixtureRepository) -> None:
    with GitSources(tmp_path / "cache", git="git-not-installed-here") as sources, \
            pytest.raises(GitUnavailable) as caught:
        sources.resolve(git_source(repository.file_url))
    assert "need the git command" in caught.value.render() and "apt-get install git" in caught.value.render()


def test_checkout_is_verified_and_repaired(repository: FixtureRepository, sources: GitSources) -> None:
    resolved = sources.resolve(git_source(repository.file_url, tag="v1.0"))
    checkout = sources.checkout(resolved)
    pyproject = checkout.root / "pyproject.toml"
    original = pyproject.read_bytes()
    pyproject.write_bytes(original.replace(b"1.0", b"6.6"))
    (checkout.root / "extra.py").write_text("print('planted')\n")
    again = sources.checkout(resolved)
    assert again.root == checkout.root and pyproject.read_bytes() == original
    assert not (checkout.root / "extra.py").exists()


def _hostile(tmp_path: Path, files: dict[str, str], links: dict[str, str]) -> str:
    work = tmp_path / "hostile"
    work.mkdir()
    run_git(work, "init", "--quiet", "--initial-branch=main")
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    for name, target in links.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, work / name)
    run_git(work, "add", "--all")
    run_git(work, "commit", "--quiet", "-m", "hostile", date=1_700_000_000)
    return work.resolve().as_uri()


def test_links_in_a_repository_are_never_followed_out(tmp_path: Path, sources: GitSources) -> None:
    secret = tmp_path / "secret.toml"
    secret.write_text('[project]\nname = "stolen"\nversion = "1"\n')
    url = _hostile(tmp_path, {"pkg/src/x.py": ""}, {"pyproject.toml": str(secret), "pkg/pyproject.toml": "../../secret.toml",
                                                    "inside": "pkg/src/x.py"})
    resolved = sources.resolve(git_source(url))
    with pytest.raises(GitError, match="pyproject.toml is a symbolic link"):
        sources.metadata(resolved)
    with pytest.raises(GitError, match="is a symbolic link to .*outside the repository's tree"):
        sources.checkout(resolved)
    assert not list((sources.root / "checkouts").rglob("secret.toml"))


def test_a_tree_without_pyproject_and_a_broken_pyproject(tmp_path: Path, sources: GitSources) -> None:
    url = _hostile(tmp_path, {"setup.py": "from setuptools import setup\nsetup()\n",
                              "bad/pyproject.toml": '[project]\nname = "x"\nversion = "1"\ndependencies = ["x >= = 1"]\n',
                              "empty/README": ""}, {})
    resolved = sources.resolve(git_source(url))
    assert sources.metadata(resolved) == NeedsBuild("no pyproject.toml, only setup.py")
    with pytest.raises(InputError) as broken:
        sources.metadata(sources.resolve(git_source(url, subdirectory="bad")))
    assert "invalid requirement 'x >= = 1'" in broken.value.problem
    assert str(broken.value.location).endswith(":bad/pyproject.toml:4 [project.dependencies[0]]")
    with pytest.raises(InputError, match="not a Python project"):
        sources.metadata(sources.resolve(git_source(url, subdirectory="empty")))
    with pytest.raises(GitError, match="has no directory 'missing'"):
        sources.metadata(sources.resolve(git_source(url, subdirectory="missing")))


def test_no_hook_runs_in_the_cache(repository: FixtureRepository, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with GitSources(cache) as sources:
        sources.resolve(git_source(repository.file_url, tag="v1.0"))
        [db] = (sources.root / "db").iterdir()
    marker = tmp_path / "hook-ran"
    hooks = db / "hooks"
    hooks.mkdir(exist_ok=True)
    for name in ("reference-transaction", "post-checkout", "post-merge"):
        (hooks / name).write_text(f"#!/bin/sh\ntouch {marker}\n")
        (hooks / name).chmod(0o755)
    with GitSources(cache) as sources:
        sources.resolve(git_source(repository.file_url, tag="v2.0"))
    assert not marker.exists()


def test_parallel_runs_share_one_cache(repository: FixtureRepository, tmp_path: Path) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def run(ref: dict) -> None:
        try:
            with GitSources(tmp_path / "cache") as sources:
                results.append(sources.resolve(git_source(repository.file_url, **ref)).commit)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(ref,)) for ref in
               (dict(tag="v1.0"), dict(branch="dev"), dict(tag="v2.0"), dict(rev=repository.commits["c2"]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and sorted(results) == sorted(repository.commits[c] for c in ("c1", "c3", "c4", "c2"))


def test_normalized_url_is_the_cache_key() -> None:
    assert normalized_url("https://user:pw@GitHub.com/Org/Repo.git/") == "https://github.com/org/repo"
    assert normalized_url("https://example.com:443/a/b.git") == "https://example.com/a/b"
    assert normalized_url("ssh://git@example.com:2222/a.git") == "ssh://git@example.com:2222/a"
    assert normalized_url("file:///srv/repo.git") == "file:///srv/repo"
