"""URL sources: wheels and sdists at http(s) and file: URLs, served on 127.0.0.1.

Downloaded once (later runs and --offline use the cache, re-hashed), hashed while streamed and
checked against `#sha256=`, capped in size, checked to be the distribution they claim, their
metadata read (wheel METADATA, static sdist PKG-INFO, a source archive's static pyproject, else
"needs a build"), their wheel tags checked per target, credentials never kept.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from planner.index.auth import CredentialStore
from planner.index.http import Fetcher
from planner.project.loader import load_project
from planner.project.model import Index
from planner.project.references import (
    DistributionKind,
    UrlReference,
    parse_direct_reference,
    url_source,
)
from planner.sources.tree_metadata import NeedsBuild
from planner.sources.url import UrlOfflineMiss, UrlSourceError, UrlSources
from planner.targets.model import Target
from planner.targets.resolve import resolve_targets
from tests.fixtures.index_server import IndexServer
from tests.fixtures.wheels import build_archive, build_sdist, build_wheel

WHEEL = build_wheel("urlpkg", "1.0", ["alpha>=1"], tag="py3-none-any")
LINUX_WHEEL = build_wheel("linuxonly", "2.0", tag="cp311-cp311-manylinux_2_17_x86_64")
SDIST_STATIC = build_sdist("staticpkg", "1.0", ["alpha"])
SDIST_OLD = build_sdist("oldpkg", "1.0", ["alpha"], metadata_version="2.1")
SDIST_DYNAMIC = build_sdist("dynpkg", "1.0", ["alpha"], dynamic=["Requires-Dist"])
ARCHIVE = ("v1.2.zip", build_archive("v1.2.zip", {
    "repo-1.2/README.md": "x",
    "repo-1.2/python/pyproject.toml": '[project]\nname = "archived"\nversion = "1.2"\ndependencies = ["beta"]\n',
    "repo-1.2/tools/setup.py": "from setuptools import setup\nsetup()\n",
}))
SECRET = "url-Secr3t-canary"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def files_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("url-files")
    (root / "files").mkdir()
    for filename, content in [(WHEEL.filename, WHEEL.content), (LINUX_WHEEL.filename, LINUX_WHEEL.content),
                              SDIST_STATIC, SDIST_OLD, SDIST_DYNAMIC, ARCHIVE,
                              ("broken-1.0-py3-none-any.whl", b"<html>not a wheel</html>"),
                              ("liar-1.0-py3-none-any.whl", build_wheel("other", "1.0").content)]:
        (root / "files" / filename).write_bytes(content)
    return root


@pytest.fixture
def server(files_root: Path):
    with IndexServer({"dl": files_root}) as running:
        yield running


def sources(cache: Path | None, *, offline: bool = False, max_bytes: int | None = None) -> UrlSources:
    fetcher = Fetcher(CredentialStore([], environ={}), retries=0, timeout=5)
    kwargs = {"max_bytes": max_bytes} if max_bytes else {}
    return UrlSources(fetcher, cache, offline=offline, **kwargs)


def ref(server: IndexServer, filename: str, fragment: str = "") -> UrlReference:
    reference = url_source(server.file_url("dl", filename) + fragment)
    return reference


def test_a_wheel_is_downloaded_once_verified_and_read(server: IndexServer, tmp_path: Path) -> None:
    reference = ref(server, WHEEL.filename, f"#sha256={sha256(WHEEL.content)}")
    with sources(tmp_path / "cache") as urls:
        found = urls.fetch(reference)
        assert (found.sha256, found.size, found.kind) == (sha256(WHEEL.content), len(WHEEL.content),
                                                          DistributionKind.WHEEL)
        metadata = urls.metadata(found, expected_name="urlpkg")
        assert (metadata.name, str(metadata.version), [str(r) for r in metadata.requires_dist]) == \
            ("urlpkg", "1.0", ["alpha>=1"])
        artifact = found.artifact("url", metadata.name, metadata.version)
        assert artifact.sha256 == sha256(WHEEL.content) and artifact.url == server.file_url("dl", WHEEL.filename)
    assert server.count("/dl/files/") == 1
    server.reset_log()
    for offline in (False, True):  # a later run, online or not, takes it from the cache
        with sources(tmp_path / "cache", offline=offline) as urls:
            assert urls.fetch(reference).sha256 == sha256(WHEEL.content)
    assert server.count() == 0


def test_without_a_fragment_the_hash_is_computed_and_remembered(server: IndexServer, tmp_path: Path) -> None:
    reference = ref(server, WHEEL.filename)
    with sources(tmp_path / "cache") as urls:
        assert urls.fetch(reference).sha256 == sha256(WHEEL.content)
    with sources(tmp_path / "cache", offline=True) as urls:
        assert urls.fetch(reference).sha256 == sha256(WHEEL.content)
    with sources(tmp_path / "empty", offline=True) as urls, pytest.raises(UrlOfflineMiss) as caught:
        urls.fetch(reference)
    assert "offline, and the cache does not hold this file" in caught.value.render()


def test_a_sha256_mismatch_keeps_nothing(server: IndexServer, tmp_path: Path) -> None:
    reference = ref(server, WHEEL.filename, "#sha256=" + "0" * 64)
    with sources(tmp_path / "cache") as urls, pytest.raises(UrlSourceError) as caught:
        urls.fetch(reference)
    text = caught.value.render()
    assert "sha256 mismatch: the URL's #sha256= says 0000000000000000…" in text
    assert f"the file has {sha256(WHEEL.content)[:16]}…" in text and "update the #sha256=" in text
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and p.name == WHEEL.filename]


def test_a_cached_file_that_was_altered_is_fetched_again(server: IndexServer, tmp_path: Path) -> None:
    reference = ref(server, WHEEL.filename)
    with sources(tmp_path / "cache") as urls:
        path = urls.fetch(reference).path
    path.write_bytes(b"tampered")
    server.reset_log()
    with sources(tmp_path / "cache") as urls:
        assert urls.fetch(reference).sha256 == sha256(WHEEL.content)
    assert server.count("/dl/files/") == 1


@pytest.mark.parametrize("filename, message", [
    ("broken-1.0-py3-none-any.whl", "not a distribution: the file is no readable wheel"),
    ("missing-1.0-py3-none-any.whl", "not found (HTTP 404)"),
])
def test_a_url_that_serves_no_distribution(server: IndexServer, tmp_path: Path, filename: str, message: str) -> None:
    with sources(tmp_path / "cache") as urls, pytest.raises(UrlSourceError) as caught:
        urls.fetch(ref(server, filename))
    assert message in caught.value.render() and server.file_url("dl", filename) in caught.value.render()


def test_a_wheel_whose_metadata_names_another_project(server: IndexServer, tmp_path: Path) -> None:
    with sources(tmp_path / "cache") as urls:
        found = urls.fetch(ref(server, "liar-1.0-py3-none-any.whl"))
        with pytest.raises(UrlSourceError, match="unusable metadata"):
            urls.metadata(found)


def test_the_size_cap(server: IndexServer, tmp_path: Path) -> None:
    with sources(tmp_path / "cache", max_bytes=100) as urls, pytest.raises(UrlSourceError) as caught:
        urls.fetch(ref(server, WHEEL.filename))
    assert "download exceeds 0.09766 KiB" in caught.value.render()


def test_sdists_and_source_archives(server: IndexServer, tmp_path: Path) -> None:
    with sources(tmp_path / "cache") as urls:
        static = urls.metadata(urls.fetch(ref(server, SDIST_STATIC[0])), expected_name="staticpkg")
        assert (static.name, [str(r) for r in static.requires_dist]) == ("staticpkg", ["alpha"])
        assert urls.metadata(urls.fetch(ref(server, SDIST_OLD[0]))) == NeedsBuild("its PKG-INFO has Metadata-Version 2.1")
        assert urls.metadata(urls.fetch(ref(server, SDIST_DYNAMIC[0]))) == NeedsBuild(
            "its PKG-INFO has dynamic Requires-Dist")
        archive = urls.fetch(url_source(server.file_url("dl", ARCHIVE[0]), subdirectory="python"))
        archived = urls.metadata(archive, expected_name="archived")
        assert (archived.name, str(archived.version), [str(r) for r in archived.requires_dist]) == \
            ("archived", "1.2", ["beta"])
        tools = urls.fetch(url_source(server.file_url("dl", ARCHIVE[0]), subdirectory="tools"))
        assert urls.metadata(tools) == NeedsBuild("no pyproject.toml, only setup.py")
        with pytest.raises(UrlSourceError, match="a distribution of 'archived', not of 'other'"):
            urls.metadata(archive, expected_name="other")


def test_a_file_url_is_read_in_place(tmp_path: Path) -> None:
    path = tmp_path / "dist" / WHEEL.filename
    path.parent.mkdir()
    path.write_bytes(WHEEL.content)
    reference = parse_direct_reference(Requirement(f"urlpkg @ file:///{'${PROJECT_ROOT}'}/dist/{WHEEL.filename}"), tmp_path)
    with sources(tmp_path / "cache") as urls:
        found = urls.fetch(reference)
        assert found.path == path and found.sha256 == sha256(WHEEL.content)
    assert not (tmp_path / "cache").exists()  # nothing copied
    bad = url_source(path.as_uri() + "#sha256=" + "1" * 64)
    with sources(None) as urls, pytest.raises(UrlSourceError, match="sha256 mismatch"):
        urls.fetch(bad)


def test_wheel_tags_decide_which_targets_can_install_it(server: IndexServer, tmp_path: Path, write_project) -> None:
    folder = write_project("""
        [project]
        name = "app"
        version = "0.1.0"
        requires-python = ">=3.11"

        [tool.planner.targets.linux]
        platform = "linux-x86_64"
        python = "3.11"

        [tool.planner.targets.mac]
        platform = "macos-arm64"
        python = "3.11"
        """)
    targets: dict[str, Target] = {t.name: t for t in resolve_targets(load_project(folder)).targets}
    with sources(tmp_path / "cache") as urls:
        linux_only = urls.fetch(ref(server, LINUX_WHEEL.filename))
        anywhere = urls.fetch(ref(server, WHEEL.filename))
        sdist = urls.fetch(ref(server, SDIST_STATIC[0]))
    assert linux_only.fits(targets["linux"]) and not linux_only.fits(targets["mac"])
    assert anywhere.fits(targets["mac"]) and sdist.fits(targets["mac"])
    assert {str(tag) for tag in linux_only.tags} == {"cp311-cp311-manylinux_2_17_x86_64"}


def test_credentials_are_used_and_never_kept(server: IndexServer, tmp_path: Path) -> None:
    server.require_auth = ("downloader", SECRET)
    with_auth = server.file_url("dl", WHEEL.filename).replace("http://", f"http://downloader:{SECRET}@")
    reference = url_source(with_auth)
    with sources(tmp_path / "cache") as urls:
        found = urls.fetch(reference)
        assert SECRET not in found.artifact("url", "urlpkg", None).url  # type: ignore[arg-type]
    assert any(r.headers.get("authorization") for r in server.requests("/dl/files/"))
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes() and b"downloader" not in path.read_bytes()
    without = url_source(server.file_url("dl", SDIST_STATIC[0]))
    with sources(tmp_path / "other") as urls, pytest.raises(UrlSourceError) as caught:
        urls.fetch(without)
    assert "access denied (HTTP 401)" in caught.value.render() and "~/.netrc" in caught.value.render()
    assert SECRET not in caught.value.render()


def test_credentials_of_an_index_on_the_same_host(server: IndexServer, tmp_path: Path) -> None:
    server.require_auth = ("indexuser", SECRET)
    index = Index("private", server.url("dl"))
    environ = {"PLANNER_INDEX_PRIVATE_USERNAME": "indexuser", "PLANNER_INDEX_PRIVATE_PASSWORD": SECRET}
    fetcher = Fetcher(CredentialStore([index], environ=environ), retries=0, timeout=5)
    with UrlSources(fetcher, tmp_path / "cache") as urls:
        assert urls.fetch(url_source(server.file_url("dl", WHEEL.filename))).sha256 == sha256(WHEEL.content)
