"""The accelerator is a hard requirement: the runtime table, NVIDIA's driver rule, the solver's
accelerator facts, the explanation and fixes of a mismatch, and the runtime a plan carries in the
summary, plan.json and Dockerfile (docs/accelerators.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.version import Version
from typer.testing import CliRunner

from planner.cli.app import app
from planner.project.loader import load_project
from planner.solve.memory import MemoryProvider, Release
from planner.solve.objective import solve_plan
from planner.targets.cuda import newest_cuda_for_driver
from planner.targets.model import Accelerator
from planner.targets.resolve import resolve_targets
from planner.targets.runtimes import runtime_of, runtime_problem
from tests.fixtures.accelerator_project import RUNTIME_SIZE, accelerator_indexes, accelerator_pyproject
from tests.fixtures.index_server import IndexServer

runner = CliRunner()


# -- the runtime table --------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "version", "expected"), [
    ("torch", "2.5.1+cu124", "a CUDA 12.4 build (local version label +cu124)"),
    ("torch", "2.5.1+cu118", "a CUDA 11.8 build (local version label +cu118)"),
    ("torch", "2.9.0+cu130", "a CUDA 13.0 build (local version label +cu130)"),
    ("torch", "2.5.1+rocm6.2", "a ROCm 6.2 build (local version label +rocm6.2)"),
    ("torch", "2.5.1+cpu", "a CPU-only build"),
    ("torch", "2.7.0+xpu", "an Intel XPU build (local version label +xpu)"),
    ("torch-scatter", "2.1.2+pt25cu121", "a CUDA 12.1 build (local version label +pt25cu121)"),
    ("jaxlib", "0.4.20+cuda12.cudnn89", "a CUDA 12 build (local version label +cuda12.cudnn89)"),
    ("nvidia-cuda-runtime-cu12", "12.4.127", "a CUDA 12.4 runtime"),
    ("nvidia-cuda-runtime", "13.0.96", "a CUDA 13.0 runtime"),
    ("cuda-toolkit", "13.0.2", "a CUDA 13.0 toolkit"),
    ("nvidia-cublas-cu12", "12.8.4.1", "a CUDA 12 library"),  # library minors drift from the toolkit's
    ("nvidia-cublas", "13.1.0.3", "a CUDA 13 library"),
    ("nvidia-cuda-nvcc", "13.5.37", "a CUDA 13 library"),
    ("nvidia-cudnn-cu12", "9.1.0.70", "a CUDA 12 library"),  # cuDNN's own version says nothing of CUDA's
    ("nvidia-cufft", "12.0.0.15", "a CUDA library"),  # CUDA 13's unsuffixed cuFFT: version unknown
    ("jax-cuda12-plugin", "0.6.0", "a CUDA 12 plugin"),
    ("cupy-cuda12x", "13.3.0", "a CUDA 12 build"),
    ("pytorch-triton-rocm", "3.1.0", "a ROCm build"),
])
def test_runtime_table(name: str, version: str, expected: str) -> None:
    runtime = runtime_of(name, Version(version))
    assert runtime is not None and runtime.describe() == expected


@pytest.mark.parametrize("name", ["torch", "nvidia-ml-py", "triton", "numpy", "cuda-python", "nvidia-pyindex"])
def test_packages_that_carry_no_runtime(name: str) -> None:
    assert runtime_of(name, Version("12.4.1")) is None


@pytest.mark.parametrize(("accelerator", "package", "version", "problem"), [
    ("cpu", "nvidia-cuda-runtime", "13.0.96", "a cpu target installs no CUDA runtime"),
    ("cpu", "torch", "2.5.1+rocm6.2", "a cpu target installs no ROCm runtime"),
    ("cpu", "torch", "2.5.1+cpu", None),
    ("cuda12.8", "nvidia-cuda-runtime", "13.0.96",
     "CUDA 13.0 needs driver >= 580.65.06; a cuda12.8 target (driver >= 570.26) runs CUDA 12 runtimes only"),
    ("cuda12.4", "nvidia-cuda-runtime-cu12", "12.9.79",
     "CUDA 12.9 needs driver >= 575.51.03; a cuda12.4 target (driver >= 550.54.14) runs it only through minor "
     "version compatibility, with a limited feature set (state accelerator = \"cuda12\" to accept that)"),
    ("cuda12.4", "nvidia-cuda-runtime-cu12", "12.4.127", None),
    ("cuda12.4", "nvidia-cuda-runtime-cu12", "12.1.105", None),
    ("cuda12", "nvidia-cuda-runtime-cu12", "12.9.79", None),  # the major only: minor compatibility accepted
    ("cuda", "nvidia-cuda-runtime", "13.0.96", None),
    ("cuda12.4", "torch", "2.5.1+rocm6.2", "ROCm does not run on a cuda12.4 target"),
    ("rocm6.2", "torch", "2.5.1+rocm5.7", "ROCm 5 does not run on a rocm6.2 target"),
    ("mps", "nvidia-cuda-runtime-cu12", "12.4.127", "a mps target installs no CUDA runtime"),
])
def test_the_accelerator_rule(accelerator: str, package: str, version: str, problem: str | None) -> None:
    runtime = runtime_of(package, Version(version))
    assert runtime is not None
    assert runtime_problem(Accelerator.parse(accelerator), runtime) == problem


@pytest.mark.parametrize(("driver", "cuda"), [
    ("550.54.14", (12, 4)), ("575.64.05", (12, 9)), ("580.65.06", (13, 0)), ("590.44.01", (13, 1)),
    ("470.42.01", (11, 4)), ("440.33", None)])
def test_the_newest_cuda_a_driver_supports(driver: str, cuda: tuple[int, int] | None) -> None:
    assert newest_cuda_for_driver(driver) == cuda


# -- the solver: a stated accelerator is a hard requirement -------------------------------------
LINUX = "py3-none-manylinux_2_28_x86_64"
UNIVERSE = {
    "pypi": [
        Release("torch", "2.9.0", ("nvidia-cuda-runtime==13.0.96",), tag=LINUX),
        Release("torch", "2.8.0", ("nvidia-cuda-runtime-cu12>=12.8",), tag=LINUX),
        Release("torch", "2.6.0", ("nvidia-cuda-runtime-cu12>=12.4",), tag=LINUX),
        Release("nvidia-cuda-runtime", "13.0.96", tag=LINUX),
        Release("nvidia-cuda-runtime-cu12", "12.4.127", tag=LINUX),
        Release("nvidia-cuda-runtime-cu12", "12.8.90", tag=LINUX),
        Release("nvidia-cuda-runtime-cu12", "12.9.79", tag=LINUX),
    ],
}


def _solve(write_project, accelerator: str, requirement: str = "torch", with_project: bool = False):
    folder = write_project(f"""
        [project]
        name = "demo"
        version = "0.1.0"
        requires-python = ">=3.11"
        dependencies = ["{requirement}"]
        [tool.planner.targets.gpu]
        platform = "linux-x86_64"
        python = "3.11"
        accelerator = "{accelerator}"
    """)
    project = load_project(folder)
    plan = solve_plan(project, resolve_targets(project).targets, MemoryProvider(project, UNIVERSE))
    return (project, plan) if with_project else plan


@pytest.mark.parametrize(("accelerator", "torch", "runtime"), [
    ("cuda12.4", "2.6.0", "12.4.127"),  # 2.8.0 would need 12.8: the newest fitting torch, its newest fitting runtime
    ("cuda12.8", "2.8.0", "12.8.90"),  # not 2.9.0 (CUDA 13), not 12.9.79 (needs a newer driver)
    ("cuda12", "2.8.0", "12.9.79"),
    ("cuda13.0", "2.9.0", None),
])
def test_the_plan_takes_what_the_accelerator_runs(write_project, accelerator: str, torch: str, runtime) -> None:
    plan = _solve(write_project, accelerator)
    assert not plan.unsatisfiable
    chosen = {p.name: str(p.version) for p in plan.targets[0].packages}
    assert chosen["torch"] == torch
    assert chosen.get("nvidia-cuda-runtime-cu12") == runtime


def test_a_cuda_mismatch_is_explained_with_fixes(write_project) -> None:
    plan = _solve(write_project, "cuda12.8", "torch==2.9.0")
    (unsat,) = plan.unsatisfiable
    explanation = unsat.explanation
    assert [f.kind for f in explanation.facts] == ["requirement", "dependency", "accelerator"]
    assert explanation.facts[2].text == (
        "nvidia-cuda-runtime 13.0.96 on pypi: a CUDA 13.0 runtime, which target 'gpu' (accelerator cuda12.8) "
        "cannot install: CUDA 13.0 needs driver >= 580.65.06; a cuda12.8 target (driver >= 570.26) runs CUDA 12 "
        "runtimes only (pyproject.toml:9)")
    assert unsat.message.startswith("target 'gpu' has no plan (linux-x86_64, Python 3.11, cuda12.8):")
    fixes = [fix.text for fix in explanation.fixes]
    assert fixes[0] == "pin torch==2.8.0 (pyproject.toml:5) (the newest torch whose runtime accelerator cuda12.8 runs)"
    assert any(text.startswith('set accelerator = "cuda13.0" for target \'gpu\' (pyproject.toml:9)') for text in fixes)


# -- end to end: real wheels on loopback indexes --------------------------------------------------
@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    root = tmp_path_factory.mktemp("accelerators")
    with IndexServer(accelerator_indexes(root / "indexes")) as server:
        project = root / "project"
        project.mkdir()
        (project / "pyproject.toml").write_text(
            accelerator_pyproject(server.url("torch-cpu"), server.url("torch-cu124")))
        result = runner.invoke(app, ["compile", str(project), "--default-index", server.url("pypi"),
                                     "--cache-dir", str(root / "cache")])
        assert result.exit_code == 0, result.output
        yield project, result, server, root


def test_each_target_carries_the_runtime_its_accelerator_runs(compiled) -> None:
    project, result, _, _ = compiled
    document = json.loads((project / "output" / "plan.json").read_text())
    plans = {t["target"]["name"]: t for t in document["targets"]}
    packages = {name: {p["name"]: p["version"] for p in t["packages"]} for name, t in plans.items()}
    assert packages["linux-cpu"] == {"filelock": "3.16.1", "torch": "2.9.0+cpu"}
    assert packages["linux-cu124"]["torch"] == "2.6.0+cu124"
    assert packages["linux-cu128"]["torch"] == "2.8.0"  # 2.9.0 needs CUDA 13
    assert packages["linux-plain"]["torch"] == "2.9.0"  # states no accelerator: takes the newest
    runtimes = {name: (t["runtime"]["kind"], t["runtime"]["version"]) for name, t in plans.items()}
    assert runtimes == {"linux-cpu": (None, None), "linux-cu124": ("cuda", "12.4"), "linux-cu128": ("cuda", "12.8"),
                        "linux-plain": ("cuda", "13.0"), "mac": (None, None)}
    assert plans["linux-plain"]["runtime"]["size"] == 2 * RUNTIME_SIZE
    assert plans["linux-plain"]["target"]["accelerator"] is None
    assert plans["linux-cpu"]["runtime"]["cpu_builds"] == ["torch"]
    # The summary names the runtime of every target, and its size when none is stated.
    out = result.stdout
    assert "linux-cpu (linux-x86_64, Python 3.11, cpu): 2 packages, no GPU runtime (torch CPU-only builds)" in out
    assert ("linux-plain (linux-x86_64, Python 3.12, no accelerator stated): 4 packages, a CUDA 13.0 runtime: "
            "2 packages, 11.4 MiB (cuda-toolkit 13.0.2, nvidia-cuda-runtime 13.0.96)") in out
    assert "linux-cu128 (linux-x86_64, Python 3.11, cuda12.8): 4 packages, a CUDA 12.8 runtime: 2 packages" in out


def test_dockerfiles_follow_the_planned_runtime(compiled) -> None:
    project, _, _, _ = compiled
    out = project / "output"
    cpu = (out / "linux-cpu" / "Dockerfile").read_text()
    assert "NVIDIA" not in cpu and 'planner.accelerator="cpu"' in cpu
    cu128 = (out / "linux-cu128" / "Dockerfile").read_text()
    assert "# NVIDIA driver: CUDA 12.8 (nvidia-cuda-runtime-cu12 12.8.90) needs Linux driver >= 570.26;" in cu128
    plain = (out / "linux-plain" / "Dockerfile").read_text()
    assert "# NVIDIA driver: CUDA 13.0 (nvidia-cuda-runtime 13.0.96) needs Linux driver >= 580.65.06;" in plain
    assert "ENV NVIDIA_VISIBLE_DEVICES=all" in plain and 'planner.accelerator="cuda13.0"' in plain


def test_plans_pass_the_independent_checker_and_the_lock_states_the_runtime(compiled) -> None:
    import tomllib

    from planner.index.auth import CredentialStore
    from planner.index.cache import Cache
    from planner.index.client import IndexClient
    from planner.index.http import Fetcher
    from planner.plan.check import check_target_plan
    from planner.project.overrides import IndexOverrides, apply_index_overrides
    from planner.solve.provider import IndexProvider

    project_dir, _, server, root = compiled
    project = apply_index_overrides(load_project(project_dir), IndexOverrides.parse([], server.url("pypi"), project_dir))
    with Fetcher(CredentialStore(project.indexes), backoff=0.0) as fetcher:
        client = IndexClient(project, fetcher, Cache(root / "cache"))
        plan = solve_plan(project, resolve_targets(project).targets, IndexProvider(client))
        for target_plan in plan.targets:
            assert check_target_plan(project, target_plan, lambda a: client.metadata(a).metadata) == []
    lock = tomllib.loads((project_dir / "output" / "pylock.toml").read_text())
    targets = {t["name"]: t for t in lock["tool"]["planner"]["targets"]}
    assert targets["linux-cu128"]["accelerator"] == "cuda12.8" and targets["linux-cu128"]["runtime"] == "CUDA 12.8"
    assert "accelerator" not in targets["linux-plain"] and targets["linux-plain"]["runtime"] == "CUDA 13.0"


def test_the_checker_rejects_a_runtime_the_accelerator_cannot_run(write_project) -> None:
    from dataclasses import replace

    from planner.plan.check import check_target_plan
    from planner.targets.resolve import with_accelerator

    project, plan = _solve(write_project, "cuda13.0", with_project=True)
    provider = MemoryProvider(project, UNIVERSE)
    target_plan = plan.targets[0]
    for package in target_plan.packages:  # (the memory provider knows a file once it was listed)
        provider.candidates(package.name, target_plan.target)
    assert check_target_plan(project, target_plan, lambda a: provider.metadata([a])[a]) == []
    wrong = replace(target_plan, target=with_accelerator(target_plan.target, Accelerator.parse("cpu")))
    violations = check_target_plan(project, wrong, lambda a: provider.metadata([a])[a])
    assert [v.kind for v in violations] == ["accelerator"]
    assert "nvidia-cuda-runtime 13.0.96 is a CUDA 13.0 runtime" in violations[0].message


def test_a_pinned_mismatch_stops_the_compile_with_the_explanation(compiled, tmp_path: Path) -> None:
    _, _, server, root = compiled
    project = tmp_path / "pinned"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        accelerator_pyproject(server.url("torch-cpu"), server.url("torch-cu124"), torch="torch==2.9.0"))
    result = runner.invoke(app, ["compile", str(project), "--default-index", server.url("pypi"),
                                 "--cache-dir", str(root / "cache"), "-t", "linux-cu128"])
    assert result.exit_code == 1
    assert "target 'linux-cu128' has no plan (linux-x86_64, Python 3.11, cuda12.8, extras gpu)" in result.stderr
    assert "nvidia-cuda-runtime 13.0.96 on pypi: a CUDA 13.0 runtime, which target 'linux-cu128'" in result.stderr
    assert "pin torch==2.8.0" in result.stderr and 'set accelerator = "cuda13.0"' in result.stderr
    assert not (project / "output").exists()
