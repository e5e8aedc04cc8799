"""`IndexClient.prefetch_pages` starts the page loads and returns: the solver goes on with the
first page it needs while the others load, each page is loaded once, and closing the client
drops the loads not yet started."""

from __future__ import annotations

import threading

import pytest

from planner.project.loader import load_project
from planner.project.overrides import IndexOverrides, apply_index_overrides
from planner.targets.resolve import resolve_targets
from planner.targets.routing import route
from tests.conftest import SEED
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import FixtureFile, write_index
from tests.test_index_client import make_client

NAMES = ["alpha", "beta", "gamma"]


@pytest.fixture(scope="module")
def three_pages(tmp_path_factory):
    root = tmp_path_factory.mktemp("three")
    write_index(root, [FixtureFile(name, f"{name}-1.0-py3-none-any.whl", sha256=f"{n:064x}", size=10)
                       for n, name in enumerate(NAMES)])
    with IndexServer({"pypi": root}) as server:
        yield server


def _setup(server: IndexServer, **kwargs):
    project = apply_index_overrides(load_project(SEED), IndexOverrides.parse([], server.url("pypi"), SEED))
    target = resolve_targets(project).by_name("linux-x86_64-gpu")
    client = make_client(project, None, **kwargs)
    routes = [route(project, target, name) for name in NAMES]
    [index] = [index for index in project.indexes if index.name == "pypi"]
    gate = threading.Event()
    loads: list[str] = []
    load_page = client._load_page

    def gated(index, name):  # noqa: ANN001
        loads.append(name)
        assert gate.wait(30)
        return load_page(index, name)

    client._load_page = gated  # type: ignore[method-assign]
    return client, routes, index, gate, loads


def test_prefetch_returns_while_pages_load_and_each_page_loads_once(three_pages) -> None:
    client, routes, index, gate, loads = _setup(three_pages)
    try:
        done = threading.Event()
        threading.Thread(target=lambda: (client.prefetch_pages(routes), done.set()), daemon=True).start()
        assert done.wait(20), "prefetch_pages waited for the loads"
        gate.set()
        pages = [client.page(index, name) for name in NAMES]
        assert [page.project for page in pages] == NAMES and all(len(page.files) == 1 for page in pages)
        client.prefetch_pages(routes)  # all loaded: nothing is queued again
        assert sorted(loads) == sorted(NAMES)
        assert three_pages.count("/pypi/simple/") == len(NAMES)
    finally:
        gate.set()
        client.close()


def test_closing_the_client_drops_loads_not_yet_started(three_pages) -> None:
    client, routes, index, gate, loads = _setup(three_pages, max_workers=1)
    try:
        client.prefetch_pages(routes)  # one thread: alpha starts and waits at the gate, the rest queue
        for _ in range(200):
            if loads:
                break
            threading.Event().wait(0.05)
        client.close()
        gate.set()
        threading.Event().wait(0.3)
        assert loads == ["alpha"]
        assert client.page(index, "gamma").files  # asked for: loaded then, by the asking thread
        assert loads == ["alpha", "gamma"]
    finally:
        gate.set()


# -- metadata ahead of a solver stepping down a package's versions -------------------------------
VERSIONS = [f"1.{minor}" for minor in range(10)]


@pytest.fixture(scope="module")
def stepper_index(tmp_path_factory):
    from tests.test_index_client import _wheel

    root = tmp_path_factory.mktemp("stepper")
    files = []
    for version in VERSIONS:
        content = _wheel("stepper", version, [], padding=1000)
        metadata = f"Metadata-Version: 2.1\nName: stepper\nVersion: {version}\n".encode()
        files.append(FixtureFile.from_content("stepper", f"stepper-{version}-py3-none-any.whl", content,
                                              metadata=metadata))
        files.append(FixtureFile.from_content("stepper", f"stepper-{version}-cp311-cp311-win_amd64.whl", content,
                                              metadata=metadata))
    write_index(root, files)
    with IndexServer({"pypi": root}) as server:
        yield server


def _stepper(server: IndexServer, cache, offline: bool = False):
    project = apply_index_overrides(load_project(SEED), IndexOverrides.parse([], server.url("pypi"), SEED))
    client = make_client(project, cache, offline=offline)
    [index] = [index for index in project.indexes if index.name == "pypi"]
    files = client.page(index, "stepper").files
    wheel = {str(files[i].version): files[i] for i in range(len(files)) if files[i].filename.endswith("any.whl")}
    return client, wheel


def _metadata_requests(server: IndexServer) -> list[str]:
    return sorted(r.path.rsplit("/", 1)[-1] for r in server.log if r.path.endswith(".metadata"))


def test_stepping_down_versions_fetches_the_next_ones_ahead(stepper_index, tmp_path) -> None:
    stepper_index.reset_log()
    client, wheel = _stepper(stepper_index, tmp_path)
    try:
        for version in ("1.9", "1.8", "1.7"):  # one at a time, as a backtracking solver asks
            client.metadata(wheel[version])
        ahead = {f"stepper-{v}-py3-none-any.whl.metadata" for v in ("1.6", "1.5")}
        for _ in range(200):
            if ahead <= set(_metadata_requests(stepper_index)):
                break
            threading.Event().wait(0.05)
        asked = {f"stepper-{v}-py3-none-any.whl.metadata" for v in ("1.9", "1.8", "1.7")}
        assert set(_metadata_requests(stepper_index)) == asked | ahead  # the same tags only, not yanked
        for _ in range(200):  # (the loads ahead finish)
            if all(("pypi", wheel[v].url) in client._metadata for v in ("1.6", "1.5")):
                break
            threading.Event().wait(0.05)
        assert str(client.metadata(wheel["1.6"]).metadata.version) == "1.6"
        assert _metadata_requests(stepper_index).count("stepper-1.6-py3-none-any.whl.metadata") == 1
    finally:
        client.close()
    # A warm run steps through the cache: nothing is fetched, nothing is read ahead.
    stepper_index.reset_log()
    warm, wheel = _stepper(stepper_index, tmp_path)
    try:
        for version in ("1.9", "1.8", "1.7"):
            warm.metadata(wheel[version])
        threading.Event().wait(0.3)
        assert _metadata_requests(stepper_index) == []
        assert ("pypi", wheel["1.3"].url) not in warm._metadata
    finally:
        warm.close()
