"""The seed scenario compiled against the fixture indexes (unchanged pyproject)."""

from __future__ import annotations

import pytest

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
        plan = solve_plan(project, resolve_targets(project).targets, IndexProvider(client))
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
    # Every other package has one version on all the Python 3.11 targets.
    shared = set(cpu) & set(gpu) - {"torch", "torchvision"}
    assert shared >= {"numpy", "pillow", "sympy", "mpmath", "jinja2", "markupsafe", "filelock", "fsspec", "networkx"}
    for name in shared:
        assert len({versions(plan, t.target.name)[name][0] for t in plan.targets
                    if t.target.python.short == "3.11"}) == 1, name
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


def test_seed_targets_on_the_newest_python_leave_out_what_has_no_wheel_there(seed_plan) -> None:
    """torch 2.5.1 publishes wheels up to cp313: on the derived 3.15 targets the extras that pin
    it are left out (best effort), and each says why and how to make that explicit."""
    _, _, plan = seed_plan
    for name in ("linux-x86_64-cpu-py315", "linux-x86_64-gpu-py315", "macos-arm64-cpu-py315", "macos-arm64-gpu-py315"):
        target_plan = plan.for_target(name)
        assert target_plan.packages == ()
        (left,) = target_plan.left_out
        assert (left.kind, left.name) == ("extra", name.split("-")[2])
        assert "no wheel for" in left.reason and "/cp315" in left.reason
        assert "add the marker `; python_version < '3.15'` to torch==2.5.1" in left.fix
        assert target_plan.requested_extras == (left.name,) and target_plan.target.extras == ()


def test_seed_cpu_target_is_proven_free_of_cuda_runtimes(seed_plan) -> None:
    from planner.plan.runtime import carried_runtime

    _, _, plan = seed_plan
    for name in ("linux-x86_64-cpu", "macos-arm64-cpu"):
        target_plan = plan.for_target(name)
        assert str(target_plan.target.accelerator) == "cpu"  # stated (the extra's name, its routed index)
        runtime = carried_runtime(target_plan)
        assert runtime.kind is None and runtime.packages == (), name
    assert carried_runtime(plan.for_target("linux-x86_64-cpu")).cpu_builds == ("torch", "torchvision")
    gpu = carried_runtime(plan.for_target("linux-x86_64-gpu"))
    assert gpu.name == "CUDA 12.4" and len(gpu.packages) == 12 and gpu.driver == "550.54.14"


def test_seed_cpu_target_without_its_source_rule_has_no_plan_and_says_why(seed_index_server, tmp_path) -> None:
    """The failure that started this project: a CPU machine pulling gigabytes of nvidia-* wheels.
    Without the rule that routes torch to the CPU index, the cpu target (accelerator cpu) cannot
    take PyPI's torch: its CUDA runtime is ruled out, and the fix routes torch back."""
    from dataclasses import replace

    project = apply_index_overrides(load_project(SEED), IndexOverrides.parse(
        [f"pytorch-cpu={seed_index_server.url('pytorch-cpu')}"], seed_index_server.url("pypi"), SEED))
    target = resolve_targets(project).by_name("linux-x86_64-cpu")
    unrouted = replace(project, uv=replace(project.uv, sources={}))
    with Fetcher(CredentialStore(project.indexes), backoff=0.0) as fetcher:
        client = IndexClient(project, fetcher, Cache(tmp_path))
        plan = solve_plan(unrouted, [target], IndexProvider(client))
    (unsat,) = plan.unsatisfiable
    message = unsat.message
    assert "target 'linux-x86_64-cpu' has no plan (linux-x86_64, Python 3.11, cpu, extras cpu)" in message
    assert "a CUDA 12" in message and "a cpu target installs no CUDA runtime" in message
    kinds = {fact.kind for fact in unsat.explanation.facts}
    assert "accelerator" in kinds and "requirement" in kinds
    routes = [fix for fix in unsat.explanation.fixes if fix.changes[0].kind == "route-to-index"]
    assert routes and "route torch to index 'pytorch-cpu'" in routes[0].text
    assert "2.5.1+cpu from pytorch-cpu" in routes[0].text
