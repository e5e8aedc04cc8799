"""Credentials lookup and the on-disk cache."""

from __future__ import annotations

import threading
import time

from packaging.utils import canonicalize_name
from packaging.version import Version

from planner.index.auth import CredentialStore, split_userinfo
from planner.index.cache import Cache, CachedPage
from planner.index.models import Artifact, ArtifactKind
from planner.project.model import Index


def test_userinfo_is_split_and_hidden() -> None:
    clean, creds = split_userinfo("https://alice:p%40ss@pkgs.example.com/simple")
    assert clean == "https://pkgs.example.com/simple"
    assert creds.username == "alice" and creds.password == "p@ss"
    assert "p@ss" not in repr(creds)


def test_credentials_lookup_order(tmp_path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine netrc.example.com login nina password from-netrc\n")
    netrc.chmod(0o600)
    indexes = [
        Index("private", "https://bob:in-url@private.example.com/simple"),
        Index("corp-mirror", "https://corp.example.com/pypi/simple"),
    ]
    environ = {
        "PLANNER_INDEX_CORP_MIRROR_USERNAME": "carol", "PLANNER_INDEX_CORP_MIRROR_PASSWORD": "from-planner-env",
        "UV_INDEX_CORP_MIRROR_PASSWORD": "from-uv-env",
    }
    store = CredentialStore(indexes, environ, netrc)
    assert store.for_url("https://private.example.com/simple/torch/").password == "in-url"
    assert store.for_url("https://corp.example.com/pypi/simple/numpy/").password == "from-planner-env"
    assert store.for_url("https://netrc.example.com/simple/x/").password == "from-netrc"
    assert store.for_url("https://other.example.com/simple/x/") is None
    # uv's variables are the fallback when planner's are absent.
    uv_only = CredentialStore([Index("corp-mirror", "https://corp.example.com/pypi/simple")],
                              {"UV_INDEX_CORP_MIRROR_USERNAME": "u", "UV_INDEX_CORP_MIRROR_PASSWORD": "from-uv-env"}, netrc)
    assert uv_only.for_url("https://corp.example.com/pypi/simple/x/").password == "from-uv-env"
    assert set(store.secrets()) == {"in-url", "from-planner-env"}


def _artifact(sha: str | None = "ab" * 32) -> Artifact:
    return Artifact(index="pypi", filename="demo-1.0-py3-none-any.whl", url="https://files.example.com/demo-1.0-py3-none-any.whl",
                    name=canonicalize_name("demo"), version=Version("1.0"), kind=ArtifactKind.WHEEL,
                    hashes={"sha256": sha} if sha else {})


def test_pages_round_trip_and_freshness(tmp_path) -> None:
    cache = Cache(tmp_path)
    page = CachedPage(b'{"files": []}', "application/vnd.pypi.simple.v1+json", '"e1"', "Mon, 01 Jan 2024 00:00:00 GMT",
                      time.time(), 600)
    cache.put_page("https://x/simple/demo/", "simple", page)
    again = cache.get_page("https://x/simple/demo/", "simple")
    assert again == page and again.is_fresh()
    assert not CachedPage(b"", "", None, None, time.time() - 700, 600).is_fresh()
    assert not CachedPage(b"", "", None, None, time.time(), None).is_fresh()
    assert cache.get_page("https://x/simple/other/", "simple") is None


def test_metadata_by_hash_and_by_url(tmp_path) -> None:
    cache = Cache(tmp_path)
    cache.put_metadata(_artifact(), b"Metadata-Version: 2.1\n", "pep658")
    assert cache.get_metadata(_artifact()) == b"Metadata-Version: 2.1\n"
    assert cache.get_metadata(_artifact("cd" * 32)) is None
    cache.put_metadata(_artifact(None), b"no hash", "download")
    assert cache.get_metadata(_artifact(None)) == b"no hash"


def test_corrupted_entries_are_treated_as_missing(tmp_path) -> None:
    cache = Cache(tmp_path)
    cache.put_metadata(_artifact(), b"Metadata-Version: 2.1\nName: demo\n", "pep658")
    [entry] = [p for p in (tmp_path / "v1" / "metadata").rglob("*") if p.is_file()]
    entry.write_bytes(entry.read_bytes()[:-5])  # truncated
    assert cache.get_metadata(_artifact()) is None
    entry.write_bytes(b"not a header\nbody")
    assert cache.get_metadata(_artifact()) is None


def test_disabled_cache_keeps_nothing(tmp_path) -> None:
    cache = Cache(None)
    cache.put_metadata(_artifact(), b"x", "pep658")
    assert cache.get_metadata(_artifact()) is None and not cache.enabled


def test_concurrent_writers_leave_a_whole_entry(tmp_path) -> None:
    cache = Cache(tmp_path)
    bodies = [bytes([65 + n]) * 200_000 for n in range(8)]

    def write(body: bytes) -> None:
        for _ in range(10):
            cache.put_page("https://x/simple/demo/", "simple", CachedPage(body, "text/html", None, None, time.time(), None))

    threads = [threading.Thread(target=write, args=(b,)) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get_page("https://x/simple/demo/", "simple").body in bodies
    assert not [p for p in tmp_path.rglob(".tmp-*")]
