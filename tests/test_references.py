"""Direct references (PEP 508 `name @ url`, uv's git and url sources) parsed into typed values,
and the errors the loader reports for each way one can be wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from planner.project.references import (
    DirectReferenceError,
    DistributionKind,
    GitRef,
    GitReference,
    GitRefKind,
    PathReference,
    UrlReference,
    git_source,
    parse_direct_reference,
    url_source,
)

ROOT = Path("/work/project")
SHA = "a" * 64


def parse(text: str):
    return parse_direct_reference(Requirement(text), ROOT)


@pytest.mark.parametrize("text, url, ref, subdirectory", [
    ("pkg @ git+https://github.com/org/repo.git", "https://github.com/org/repo.git", GitRef(GitRefKind.DEFAULT), None),
    ("pkg @ git+https://github.com/org/repo.git@v1.0", "https://github.com/org/repo.git", GitRef(GitRefKind.REV, "v1.0"), None),
    ("pkg @ git+https://github.com/org/repo@feature/new-api#subdirectory=libs/pkg",
     "https://github.com/org/repo", GitRef(GitRefKind.REV, "feature/new-api"), "libs/pkg"),
    ("pkg[extra] @ git+ssh://git@github.com/org/repo.git@" + "b" * 40 + "#egg=pkg",
     "ssh://git@github.com/org/repo.git", GitRef(GitRefKind.REV, "b" * 40), None),
    ("pkg @ git+file:///srv/repos/pkg@main", "file:///srv/repos/pkg", GitRef(GitRefKind.REV, "main"), None),
    ("pkg @ git+https://user:tok@git.example.com/repo.git@1a2b3c4#subdirectory=a/b/",
     "https://user:tok@git.example.com/repo.git", GitRef(GitRefKind.REV, "1a2b3c4"), "a/b"),
])
def test_pep508_git_references(text: str, url: str, ref: GitRef, subdirectory: str | None) -> None:
    reference = parse(text)
    assert reference == GitReference(url, ref, subdirectory)


def test_git_reference_never_shows_its_credentials() -> None:
    reference = parse("pkg @ git+https://alice:s3cret@git.example.com/repo.git@v2")
    for shown in (repr(reference), str(reference), reference.display_url, reference.pep508_url("c" * 40)):
        assert "s3cret" not in shown and "alice" not in shown
    assert reference.pep508_url("c" * 40) == "git+https://git.example.com/repo.git@" + "c" * 40
    assert reference.ref.is_full_commit is False and GitRef(GitRefKind.REV, "c" * 40).is_full_commit


@pytest.mark.parametrize("text, message, fix", [
    ("pkg @ git+https://github.com/org/repo.git@", "names no ref", "after '@'"),
    ("pkg @ git+https://github.com/org/repo.git@-uoption", "not a valid git branch, tag or commit name", "'-'"),
    ("pkg @ git+https://github.com/org/repo.git@a..b", "not a valid git", "'..'"),
    ("pkg @ git+https://github.com/org/repo.git#subdirectory=../up", "not a relative path", "without '..'"),
    ("pkg @ git+https://github.com/org/repo.git#subdirectory=/abs", "not a relative path", "leading '/'"),
    ("pkg @ git+https://github.com/org/repo.git#subdirectory=x/.git/hooks", "not a relative path", "'..'"),
    ("pkg @ git+https://github.com/org/repo.git#sha256=" + SHA, "a #sha256= hash", "commit pins"),
    ("pkg @ git+https://github.com/org/repo.git#branch=main", "unknown fragment 'branch'", "#subdirectory="),
    ("pkg @ git+ftp://example.com/repo.git", "scheme of 'git+ftp://example.com/repo.git' is not supported", "git+https"),
    ("pkg @ git+https:///repo.git", "has no host", "https://"),
    ("pkg @ hg+https://example.com/repo", "'hg+https'", "git+https"),
    ("pkg @ git+https://u:hidden@example.com/r.git@bad~ref", "not a valid git", "no spaces"),
])
def test_bad_git_references(text: str, message: str, fix: str) -> None:
    with pytest.raises(DirectReferenceError) as caught:
        parse(text)
    assert message in caught.value.problem and fix in caught.value.fix
    assert "hidden" not in caught.value.problem + caught.value.fix


@pytest.mark.parametrize("text, kind, name, version, sha256, subdirectory", [
    (f"torch @ https://download.pytorch.org/whl/cpu/torch-2.5.1%2Bcpu-cp311-cp311-linux_x86_64.whl#sha256={SHA}",
     DistributionKind.WHEEL, "torch", "2.5.1+cpu", SHA, None),
    ("pkg @ https://files.example.com/pkg-1.0.tar.gz", DistributionKind.SDIST, "pkg", "1.0", None, None),
    ("pkg @ https://github.com/org/pkg/archive/refs/tags/v1.2.zip#subdirectory=python",
     DistributionKind.SDIST, None, None, None, "python"),
    ("pkg @ file:///srv/wheels/pkg-2.0-py3-none-any.whl", DistributionKind.WHEEL, "pkg", "2.0", None, None),
    (f"pkg @ file:///{'${PROJECT_ROOT}'}/dist/pkg-2.0-py3-none-any.whl#sha256={SHA.upper()}",
     DistributionKind.WHEEL, "pkg", "2.0", SHA, None),
])
def test_pep508_url_references(text: str, kind: DistributionKind, name: str | None, version: str | None,
                               sha256: str | None, subdirectory: str | None) -> None:
    reference = parse(text)
    assert isinstance(reference, UrlReference)
    assert (reference.kind, reference.name, reference.sha256, reference.subdirectory) == (kind, name, sha256, subdirectory)
    assert reference.version == (Version(version) if version else None)
    assert "#" not in reference.url


def test_project_root_and_file_urls() -> None:
    reference = parse("pkg @ file:///${PROJECT_ROOT}/dist/pkg-2.0-py3-none-any.whl")
    assert isinstance(reference, UrlReference) and reference.url == "file:///work/project/dist/pkg-2.0-py3-none-any.whl"
    assert parse("lib @ file:///srv/src/lib") == PathReference(Path("/srv/src/lib"))
    assert parse("lib @ file://${PROJECT_ROOT}/libs/lib") == PathReference(Path("/work/project/libs/lib"))


def test_url_reference_never_shows_its_credentials() -> None:
    reference = parse("pkg @ https://bob:t0ken@pkgs.example.com/pkg-1.0-py3-none-any.whl")
    assert "t0ken" not in repr(reference) + str(reference)
    assert reference.url.startswith("https://bob:t0ken@")  # kept, to fetch it


@pytest.mark.parametrize("text, message, fix", [
    ("pkg @ https://example.com/downloads/pkg", "not the URL of a distribution", "wheel or an sdist"),
    ("pkg @ https://github.com/org/pkg.git", "not the URL of a distribution", "git+https://"),
    ("pkg @ https://example.com/other-1.0-py3-none-any.whl", "a wheel of 'other', not of 'pkg'", "other @"),
    ("pkg @ https://example.com/pkg-1.0-py3-none-any.whl#sha256=abc", "not a sha256 digest", "sha256sum"),
    ("pkg @ https://example.com/pkg-1.0-py3-none-any.whl#sha256=" + "z" * 64, "not a sha256 digest", "sha256"),
    ("pkg @ https://example.com/pkg-1.0-py3-none-any.whl#subdirectory=x", "a wheel, which has no subdirectory", "drop"),
    ("pkg @ https://example.com/pkg-1.0-py3-none-any.whl#foo=1", "unknown fragment 'foo'", "#sha256="),
    ("pkg @ https://example.com/pkg-1.0-py3-none-any.whl#sha256", "not key=value pairs", "#sha256=<hex>"),
    ("pkg @ https://example.com/pkg-x-y-z.whl", "does not parse", "name-version-tags.whl"),
    ("pkg @ ftp://example.com/pkg-1.0.tar.gz", "is not supported", "https"),
    ("pkg @ file://otherhost/srv/pkg-1.0.tar.gz", "not a file: URL of an absolute path", "file:///"),
    ("pkg @ file:relative/pkg-1.0.tar.gz", "not a file: URL of an absolute path", "PROJECT_ROOT"),
    ("pkg @ https://u:pw-secret@example.com/x", "not the URL of a distribution", "wheel"),
])
def test_bad_url_references(text: str, message: str, fix: str) -> None:
    with pytest.raises(DirectReferenceError) as caught:
        parse(text)
    assert message in caught.value.problem and fix in caught.value.fix
    assert "pw-secret" not in caught.value.problem


def test_git_sources() -> None:
    assert git_source("https://github.com/org/repo", tag="v1.0", subdirectory="pkg") == GitReference(
        "https://github.com/org/repo", GitRef(GitRefKind.TAG, "v1.0"), "pkg")
    assert git_source("git+https://github.com/org/repo.git", branch="main").ref == GitRef(GitRefKind.BRANCH, "main")
    assert git_source("ssh://git@example.com/repo.git").ref == GitRef(GitRefKind.DEFAULT)
    assert git_source("https://example.com/r", rev="abc1234").ref == GitRef(GitRefKind.REV, "abc1234")


@pytest.mark.parametrize("args, key, message", [
    (dict(url="https://github.com/org/repo", tag="v1", branch="main"), "branch", "both tag and branch"),
    (dict(url="https://github.com/org/repo", rev=" "), "rev", "rev is empty"),
    (dict(url="https://github.com/org/repo", tag="--upload-pack=evil"), "tag", "not a valid git"),
    (dict(url="https://github.com/org/repo@v1"), "git", "names a ref after '@'"),
    (dict(url="https://github.com/org/repo#subdirectory=x"), "git", "has a fragment"),
    (dict(url="https://github.com/org/repo", subdirectory="../x"), "subdirectory", "not a relative path"),
])
def test_bad_git_sources_name_their_key(args: dict, key: str, message: str) -> None:
    url = args.pop("url")
    with pytest.raises(DirectReferenceError) as caught:
        git_source(url, **args)
    assert caught.value.key == key and message in caught.value.problem


def test_url_sources() -> None:
    reference = url_source("https://example.com/pkg-1.0.tar.gz", subdirectory="src")
    assert (reference.kind, reference.subdirectory, reference.name) == (DistributionKind.SDIST, "src", "pkg")
    with pytest.raises(DirectReferenceError) as caught:
        url_source("https://example.com/pkg-1.0-py3-none-any.whl", subdirectory="x")
    assert caught.value.key == "subdirectory"
    with pytest.raises(DirectReferenceError) as caught:
        url_source("https://example.com/page.html")
    assert caught.value.key == "url" and "not the URL of a distribution" in caught.value.problem
    with pytest.raises(DirectReferenceError) as caught:
        url_source("file:///srv/src/lib")
    assert caught.value.key == "url" and "{ path" in caught.value.fix
