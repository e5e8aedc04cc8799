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
