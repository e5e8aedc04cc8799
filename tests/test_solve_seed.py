"""The seed scenario compiled against the fixture indexes (unchanged pyproject)."""

from __future__ import annotations

import pytest

from planner.explain.plan import explain_plan
from planner.index.auth import CredentialStore
from planner.index.cache import Cache
from planner.index.client import IndexClient
from planner.index.http import Fetcher
from planner.project.loader import load_project
from planner.project.overrides import IndexOverrides, apply_index_overrides
from planner.solve.objective import solve_plan
from planner.solve.provider import IndexProvider
from planner.targets.resolve import resolve_targets
from tests.conftest import SEED


@pytest.fixture
def seed_plan(seed_index_server, tmp_path):
    project = apply_index_overrides(load_project(SEED), IndexOverrides.parse(
        [f"pytorch-cpu={seed_index_server.url('pytorch-cpu')}"], seed_index_server.url("pypi"), SEED))
    with Fetcher(CredentialStore(project.indexes), backoff=0.0) as fetcher:
        client = IndexClient(project, fetcher, Cache(tmp_path))
        provider = IndexProvider(client)
        plan = explain_plan(project, solve_plan(project, resolve_targets(project).targets, provider), provider)
    return project, client, plan


def versions(plan, target: str) -> dict[str, tuple[str, str]]:
    return {p.name: (str(p.version), p.index) for p in plan.for_target(target).packages}


def test_seed_plan(seed_plan) -> None:
    _, _, plan = seed_plan
    assert not plan.unsatisfiable
    cpu = versions(plan, "linux-x86_64-cpu")
    assert cpu["torch"] == ("2.5.1+cpu", "pytorch-cpu") and cpu["torchvision"] == ("0.20.1+cpu", "pytorch-cpu")
    assert not [n for n in cpu if n.startswith("nvidia-") or n == "triton"]
    gpu = versions(plan, "linux-x86_64-gpu")
    assert gpu["torch"] == ("2.5.1", "pypi") and gpu["triton"] == ("3.1.0", "pypi")
    assert len([n for n in gpu if n.startswith("nvidia-")]) == 12
    for mac in ("macos-arm64-cpu", "macos-arm64-gpu"):
        chosen = versions(plan, mac)
        assert chosen["torch"] == ("2.5.1", "pypi")
        assert not [n for n in chosen if n.startswith("nvidia-") or n == "triton"]
        assert plan.for_target(mac).get("torch").artifact.filename == "torch-2.5.1-cp311-none-macosx_11_0_arm64.whl"
    # Every other package has one version on all targets.
    shared = set(cpu) & set(gpu) - {"torch", "torchvision"}
    assert shared >= {"numpy", "pillow", "sympy", "mpmath", "jinja2", "markupsafe", "filelock", "fsspec", "networkx"}
    for name in shared:
        assert len({versions(plan, t.target.name)[name][0] for t in plan.targets}) == 1, name
    assert cpu["numpy"][0].startswith("2.3.")  # numpy 2.5 has no cp311 wheel
    assert cpu["sympy"][0] == "1.13.1" and cpu["mpmath"][0] == "1.3.0"  # torch pins sympy, sympy caps mpmath


def test_seed_divergences_name_the_source_rule(seed_plan) -> None:
    _, _, plan = seed_plan
    divergent = {d.package: d for d in plan.divergences}
    assert set(divergent) == {"torch", "torchvision"}
    assert divergent["torch"].kind == "artifact"
    assert "pyproject.toml:29" in divergent["torch"].reason and "pytorch-cpu" in divergent["torch"].reason
    assert "pyproject.toml:34" in divergent["torchvision"].reason


def test_lazy_expansion_fetches_only_selected_metadata(seed_plan) -> None:
    _, client, plan = seed_plan
    for target_plan in plan.targets:
        assert target_plan.stats.metadata_fetches == len(target_plan.packages), target_plan.target.name
    assert sum(client.stats.metadata.values()) <= sum(len(t.packages) for t in plan.targets)


def test_required_by_records_the_chain(seed_plan) -> None:
    _, _, plan = seed_plan
    gpu = plan.for_target("linux-x86_64-gpu")
    assert gpu.get("torch").required_by == ("<project>", "torchvision")
    assert gpu.get("markupsafe").required_by == ("jinja2",)
    assert "nvidia-cusolver-cu12" in gpu.get("nvidia-cusparse-cu12").required_by


def test_seed_plans_pass_the_independent_checker(seed_plan) -> None:
    from planner.plan.check import check_target_plan

    project, client, plan = seed_plan
    for target_plan in plan.targets:
        assert check_target_plan(project, target_plan, lambda a: client.metadata(a).metadata) == [], \
            target_plan.target.name
