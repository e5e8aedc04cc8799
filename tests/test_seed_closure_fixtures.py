"""The fixture indexes hold the seed's whole closure, and fetching it warm only revalidates."""

from __future__ import annotations

import importlib.util

from planner.index.auth import CredentialStore
from planner.index.cache import Cache
from planner.index.client import IndexClient
from planner.index.http import Fetcher
from planner.project.loader import load_project
from planner.project.overrides import IndexOverrides, apply_index_overrides
from planner.targets.resolve import resolve_targets
from tests.conftest import REPO, SEED

_spec = importlib.util.spec_from_file_location("fetch_closure", REPO / "benchmarks" / "fetch_closure.py")
fetch_closure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fetch_closure)


def test_seed_closure_from_fixtures(seed_index_server, tmp_path) -> None:
    project = apply_index_overrides(load_project(SEED), IndexOverrides.parse(
        [f"pytorch-cpu={seed_index_server.url('pytorch-cpu')}"], seed_index_server.url("pypi"), SEED))
    targets = resolve_targets(project)

    def closure(offline: bool) -> dict[str, set[str]]:
        with Fetcher(CredentialStore(project.indexes), backoff=0.0) as fetcher:
            client = IndexClient(project, fetcher, Cache(tmp_path), offline=offline)
            return {target.name: fetch_closure.walk(client, project, target) for target in targets}

    cold = closure(offline=False)
    gpu, cpu = cold["linux-x86_64-gpu"], cold["linux-x86_64-cpu"]
    assert len([n for n in gpu if n.startswith("nvidia-")]) == 12 and "triton" in gpu
    assert {"numpy", "pillow", "sympy", "mpmath", "jinja2", "markupsafe", "filelock", "fsspec", "networkx",
            "typing-extensions", "torch", "torchvision"} <= gpu
    seed_index_server.reset_log()
    closure(offline=False)
    assert {r.status for r in seed_index_server.log} == {304}  # warm: revalidations only
    seed_index_server.reset_log()
    assert closure(offline=True) == cold
    assert seed_index_server.count() == 0
    assert not [n for n in cpu if n.startswith("nvidia-") or n == "triton"]
    assert "torch" in cpu and "numpy" in cpu
    for name in ("macos-arm64-cpu", "macos-arm64-gpu"):
        assert not [n for n in cold[name] if n.startswith("nvidia-")]
