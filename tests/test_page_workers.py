"""Large index pages are parsed in a worker process (planner/index/page_workers.py): the rows,
the refusals and the files left out are those of a parse in place, whatever happens to the
worker."""

from __future__ import annotations

import pytest

from planner.index.client import IndexClient
from planner.index.http import FetchError
from planner.index.page_workers import MIN_BYTES
from planner.index.simple import parse_html_page, parse_json_page
from planner.project.loader import load_project
from planner.project.overrides import IndexOverrides, apply_index_overrides
from tests.conftest import SEED
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import FixtureFile, write_index
from tests.test_index_client import make_client

PLATFORMS = ["manylinux_2_17_x86_64.manylinux2014_x86_64", "macosx_11_0_arm64", "win_amd64", "musllinux_1_1_i686"]


def _files(project: str, versions: int) -> list[FixtureFile]:
    files = []
    for minor in range(versions):
        version = f"1.{minor}"
        files.append(FixtureFile(project, f"{project}-{version}.tar.gz", sha256=f"{minor:064x}", size=1000 + minor,
                                 upload_time="2024-10-29T17:38:49.832009Z", requires_python=">=3.9"))
        for python in ("cp311", "cp312"):
            for platform in PLATFORMS:
                files.append(FixtureFile(project, f"{project.replace('-', '_')}-{version}-{python}-{python}-{platform}.whl",
                                         sha256=f"{minor + 7:064x}", size=2000, yanked="broken" if minor == 3 else None,
                                         upload_time="2024-10-29T17:38:50Z", requires_python=">=3.9"))
    return files


@pytest.fixture(scope="module")
def big_index(tmp_path_factory):
    root = tmp_path_factory.mktemp("big-index")
    write_index(root, [*_files("big-a", 200), *_files("big-b", 200), *_files("small", 2)])
    # The page of "impostor" lists big-a's files: not the page asked for.
    (root / "impostor").mkdir()
    for name in ("index.json", "index.html"):
        (root / "impostor" / name).write_bytes((root / "big-a" / name).read_bytes())
    with IndexServer({"pypi": root}) as server:
        yield server


def _client(server: IndexServer, platforms: frozenset[str] | None = None, cache=None,
            offline: bool = False) -> tuple[IndexClient, object]:
    project = apply_index_overrides(load_project(SEED), IndexOverrides.parse([], server.url("pypi"), SEED))
    client = make_client(project, cache, platforms=platforms, offline=offline)
    [index] = [index for index in project.indexes if index.name == "pypi"]
    return client, index


def _served(server: IndexServer, project: str, json: bool) -> bytes:
    import httpx

    accept = "application/vnd.pypi.simple.v1+json" if json else "text/html"
    return httpx.get(f"{server.url('pypi')}/{project}/", headers={"Accept": accept}).content


@pytest.mark.parametrize("json", [True, False])
def test_large_pages_parsed_by_the_worker_have_the_rows_of_a_parse_in_place(big_index, json: bool,
                                                                             tmp_path, monkeypatch) -> None:
    big_index.json = json
    try:
        platforms = frozenset({"manylinux_2_17_x86_64", "manylinux2014_x86_64", "win_amd64"})
        client, index = _client(big_index, platforms, cache=tmp_path)
        try:
            assert client.page_workers.wait_ready(30)
            pages = {name: client.page(index, name) for name in ("big-a", "big-b", "small")}
            assert client.page_workers.parsed == 2  # the large pages; the small one in place
        finally:
            client.close()
        parse = parse_json_page if json else parse_html_page
        for name, page in pages.items():
            body = _served(big_index, name, json)
            assert (len(body) >= MIN_BYTES) == (name != "small")
            expected = parse(body, f"{big_index.url('pypi')}/{name}/", "pypi", name, platforms=platforms)
            assert page.to_record() == expected.to_record()
            assert page.skipped == expected.skipped
            versions = 2 if name == "small" else 200
            assert len(page.files) == versions * 5 and page.files.foreign  # sdists + kept wheels; others summarized
        # The stored form the worker made is the page too: an offline run reads the same rows
        # from it (nothing is parsed again).
        import planner.index.client as client_module

        def no_parse(*args, **kwargs):  # noqa: ANN002, ANN003
            raise AssertionError("parsed again")

        monkeypatch.setattr(client_module, "parse_json_page", no_parse)
        monkeypatch.setattr(client_module, "parse_html_page", no_parse)
        offline, index = _client(big_index, platforms, cache=tmp_path, offline=True)
        for name, page in pages.items():
            assert offline.page(index, name).to_record() == page.to_record()
    finally:
        big_index.json = True


def test_a_page_the_worker_refuses_is_reported_as_in_place(big_index) -> None:
    client, index = _client(big_index)
    try:
        assert client.page_workers.wait_ready(30)
        with pytest.raises(FetchError) as refused:
            client.page(index, "impostor")
        assert client.page_workers.parsed == 0
    finally:
        client.close()
    in_place, index = _client(big_index)
    in_place.page_workers.close()  # no worker at all
    with pytest.raises(FetchError) as expected:
        in_place.page(index, "impostor")
    assert str(refused.value) == str(expected.value)
    assert "not the page asked for" in str(refused.value)


def test_pages_are_parsed_in_place_when_the_worker_is_gone(big_index) -> None:
    client, index = _client(big_index)
    try:
        assert client.page_workers.wait_ready(30)
        process = client.page_workers._process
        assert process is not None
        process.kill()
        process.wait()
        page = client.page(index, "big-b")
        assert client.page_workers.parsed == 0
        body = _served(big_index, "big-b", True)
        assert page.to_record() == parse_json_page(body, f"{big_index.url('pypi')}/big-b/", "pypi", "big-b").to_record()
    finally:
        client.close()


def test_closing_the_client_ends_the_worker(big_index) -> None:
    client, index = _client(big_index)
    assert client.page_workers.wait_ready(30)
    process = client.page_workers._process
    client.close()
    assert process is not None and process.poll() is not None
    assert client.page(index, "big-a").files  # still usable: in place
    assert client.page_workers.parsed == 0


def test_offline_clients_start_no_worker(big_index, tmp_path) -> None:
    client, index = _client(big_index)
    client.close()
    project = apply_index_overrides(load_project(SEED), IndexOverrides.parse([], big_index.url("pypi"), SEED))
    offline = make_client(project, tmp_path, offline=True)
    assert not offline.page_workers.wait_ready(0.5)
    assert offline.page_workers._process is None


def test_the_first_large_page_starts_the_worker_and_later_ones_go_there(big_index) -> None:
    client, index = _client(big_index)
    try:
        client.page(index, "small")
        assert client.page_workers._process is None  # small pages start nothing
        client.page(index, "big-a")  # starts the worker, and is parsed here meanwhile
        assert client.page_workers._process is not None and client.page_workers.parsed == 0
        assert client.page_workers._ready.wait(30)
        client.page(index, "big-b")
        assert client.page_workers.parsed == 1
    finally:
        client.close()


def test_once_the_worker_runs_large_pages_wait_for_it_rather_than_parse_in_place(big_index, monkeypatch) -> None:
    import threading
    import time

    import planner.index.client as client_module

    client, index = _client(big_index)
    try:
        assert client.page_workers.wait_ready(30)
        slow_parse = client.page_workers.parse

        def slow(*args, **kwargs):  # noqa: ANN002, ANN003 - the worker is busy a while with each page
            time.sleep(0.3)
            return slow_parse(*args, **kwargs)

        monkeypatch.setattr(client.page_workers, "parse", slow)
        in_place: list[str] = []
        real_parse = client_module.parse_json_page

        def counted(data, url, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
            if len(data) >= MIN_BYTES:
                in_place.append(url)
            return real_parse(data, url, *args, **kwargs)

        monkeypatch.setattr(client_module, "parse_json_page", counted)
        threads = [threading.Thread(target=client.page, args=(index, name)) for name in ("big-a", "big-b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert client.page_workers.parsed == 2 and in_place == []
        assert len(client.page(index, "big-a").files) == len(client.page(index, "big-b").files) == 200 * 9
    finally:
        client.close()
