"""The independent plan checker, on hand-built plans of the seed against its fixture indexes.

A correct plan for each Linux target of the seed is assembled by hand from the index client's
candidates (no solver involved); each test then breaks it in one way and expects exactly the
violation that names the fault.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

from planner.index.auth import CredentialStore
from planner.index.cache import Cache
from planner.index.client import IndexClient
from planner.index.http import Fetcher
from planner.index.models import Artifact, CoreMetadata
from planner.plan.check import Violation, check_target_plan
from planner.plan.model import PROJECT, PlannedPackage, TargetPlan
from planner.project.loader import load_project
from planner.project.model import Project
from planner.project.overrides import IndexOverrides, apply_index_overrides
from planner.targets.model import Target
from planner.targets.resolve import resolve_targets
from tests.conftest import SEED
from tests.fixtures.index_server import IndexServer
from tests.fixtures.seed_indexes import NVIDIA_PINS

CPU = "linux-x86_64-cpu"
GPU = "linux-x86_64-gpu"

# name -> (version, required_by) of a correct plan; versions the seed's pins and markers force
# (sympy==1.13.1 via torch, mpmath<1.4 via sympy, numpy 2.3 as 2.5 has no cp311 wheel), else
# the newest the fixture has. No setuptools: torch wants it only on Python >= 3.12.
COMMON: dict[str, tuple[str, tuple[str, ...]]] = {
    "typing-extensions": ("4.16.0", ("torch",)),
    "networkx": ("3.6.1", ("torch",)),
    "jinja2": ("3.1.6", ("torch",)),
    "markupsafe": ("3.0.4", ("jinja2",)),
    "fsspec": ("2026.9.0", ("torch",)),
    "sympy": ("1.13.1", ("torch",)),
    "mpmath": ("1.3.0", ("sympy",)),
    "numpy": ("2.3.5", ("torchvision",)),
    "pillow": ("13.0.0", ("torchvision",)),
}
CPU_PLAN = {
    **COMMON,
    "torch": ("2.5.1+cpu", (PROJECT, "torchvision")),
    "torchvision": ("0.20.1+cpu", (PROJECT,)),
    "filelock": ("4.2.12", ("torch",)),
}
NVIDIA_REQUIRERS = {
    "nvidia-cublas-cu12": ("nvidia-cudnn-cu12", "nvidia-cusolver-cu12", "torch"),
    "nvidia-nvjitlink-cu12": ("nvidia-cusolver-cu12", "nvidia-cusparse-cu12", "torch"),
    "nvidia-cusparse-cu12": ("nvidia-cusolver-cu12", "torch"),
}
GPU_PLAN = {
    **COMMON,
    "torch": ("2.5.1", (PROJECT, "torchvision")),
    "torchvision": ("0.20.1", (PROJECT,)),
    "filelock": ("4.2.12", ("torch", "triton")),
    "triton": ("3.1.0", ("torch",)),
    **{name: (version, NVIDIA_REQUIRERS.get(name, ("torch",))) for name, version in NVIDIA_PINS},
}


@dataclasses.dataclass
class Seed:
    project: Project
    client: IndexClient
    server: IndexServer

    def target(self, name: str) -> Target:
        return resolve_targets(self.project).by_name(name)

    def package(
        self,
        target: Target,
        name: str,
        version: str,
        required_by: tuple[str, ...] = (),
        extras: tuple[str, ...] = (),
    ) -> PlannedPackage:
        """The candidate the client offers `target` for `name` at `version`, as planned."""
        found = [
            c for c in self.client.candidates(name, target).candidates if str(c.version) == version
        ]
        assert found, f"no candidate {name} {version} on {target.name}"
        c = found[0]
        planned_extras = tuple(canonicalize_name(e) for e in extras)
        return PlannedPackage(c.name, c.version, c.index, c.artifact, planned_extras, required_by)

    def plan(self, target_name: str, spec: Mapping[str, tuple[str, tuple[str, ...]]]) -> TargetPlan:
        target = self.target(target_name)
        packages = [self.package(target, name, *entry) for name, entry in spec.items()]
        return TargetPlan(target, tuple(sorted(packages, key=lambda p: p.name)))

    def metadata(self, artifact: Artifact) -> CoreMetadata:
        return self.client.metadata(artifact).metadata

    def check(self, plan: TargetPlan, project: Project | None = None) -> list[Violation]:
        return check_target_plan(project or self.project, plan, self.metadata)

    def variant(self, folder: Path) -> Project:
        """Another pyproject, pointed at the same fixture indexes."""
        return on_fixture_indexes(self.server, folder)


def on_fixture_indexes(server: IndexServer, folder: Path) -> Project:
    overrides = IndexOverrides.parse(
        [f"pytorch-cpu={server.url('pytorch-cpu')}"], server.url("pypi"), folder
    )
    return apply_index_overrides(load_project(folder), overrides)


@pytest.fixture
def seed(seed_index_server: IndexServer, tmp_path: Path) -> Seed:
    project = on_fixture_indexes(seed_index_server, SEED)
    fetcher = Fetcher(CredentialStore(project.indexes), backoff=0.0, timeout=2.0)
    return Seed(
        project, IndexClient(project, fetcher, Cache(tmp_path / "cache")), seed_index_server
    )


def seed_variant(
    write_project: Callable[[str], Path], *, uv: str = "", dependencies: str = "[]"
) -> Path:
    """The seed pyproject with lines added to `[tool.uv]` and other `dependencies`."""
    text = (SEED / "pyproject.toml").read_text(encoding="utf-8")
    assert "dependencies = []\n" in text and "[tool.uv]\n" in text
    text = text.replace("dependencies = []\n", f"dependencies = {dependencies}\n", 1)
    return write_project(text.replace("[tool.uv]\n", f"[tool.uv]\n{uv}\n", 1))


def replace(plan: TargetPlan, name: str, **changes: Any) -> TargetPlan:
    packages = tuple(
        dataclasses.replace(p, **changes) if p.name == name else p for p in plan.packages
    )
    return dataclasses.replace(plan, packages=packages)


def kinds(violations: list[Violation]) -> list[tuple[str, str]]:
    return [(v.kind, v.package) for v in violations]


def test_correct_plans_of_both_linux_targets_have_no_violation(seed: Seed) -> None:
    cpu = seed.plan(CPU, CPU_PLAN)
    gpu = seed.plan(GPU, GPU_PLAN)
    assert seed.check(cpu) == []
    assert seed.check(gpu) == []
    assert {p.index for p in cpu.packages if p.name.startswith("torch")} == {"pytorch-cpu"}
    assert len(gpu.packages) == len(cpu.packages) + 13  # 12 nvidia packages and triton


def test_missing_dependency_names_the_requirer(seed: Seed) -> None:
    plan = seed.plan(CPU, {k: v for k, v in CPU_PLAN.items() if k != "numpy"})
    [violation] = seed.check(plan)
    assert (violation.kind, violation.package) == ("dependency", "torchvision")
    assert violation.message == (
        "on target 'linux-x86_64-cpu', torchvision 0.20.1+cpu requires 'numpy', "
        "but the plan has no numpy"
    )


def test_unrequired_package_whose_marker_is_false_here(seed: Seed) -> None:
    # torch wants setuptools only on Python >= 3.12; the target has 3.11.
    spec = {**CPU_PLAN, "setuptools": (_newest(seed, CPU, "setuptools"), ())}
    [violation] = seed.check(seed.plan(CPU, spec))
    assert kinds([violation]) == [("unrequired", "setuptools")]


def test_wheel_for_another_platform(seed: Seed) -> None:
    plan = seed.plan(GPU, GPU_PLAN)
    mac = seed.package(seed.target("macos-arm64-gpu"), "torch", "2.5.1").artifact
    [violation] = seed.check(replace(plan, "torch", artifact=mac))
    assert kinds([violation]) == [("tags", "torch")]
    assert "torch-2.5.1-cp311-none-macosx_11_0_arm64.whl" in violation.message


def test_torch_from_pypi_on_the_cpu_target_breaks_its_source_rule(seed: Seed) -> None:
    plan = seed.plan(CPU, CPU_PLAN)
    pypi_torch = seed.package(seed.target(GPU), "torch", "2.5.1")
    assert pypi_torch.index == "pypi"
    violations = seed.check(
        replace(
            plan, "torch", version=pypi_torch.version, index="pypi", artifact=pypi_torch.artifact
        )
    )
    routing = [v for v in violations if v.kind == "routing"]
    assert kinds(routing) == [("routing", "torch")]
    assert "index 'pypi'" in routing[0].message and "pytorch-cpu" in routing[0].message
    # The CUDA build also brings its CUDA dependencies, which this plan lacks.
    others = [v for v in violations if v.kind != "routing"]
    assert {v.kind for v in others} == {"dependency"}
    assert len(others) == 13 and all(v.package == "torch" for v in others)


def test_duplicate_name(seed: Seed) -> None:
    plan = seed.plan(CPU, CPU_PLAN)
    extra = seed.package(plan.target, "numpy", "2.3.4", ("torchvision",))
    plan = dataclasses.replace(plan, packages=plan.packages + (extra,))
    [violation] = seed.check(plan)
    assert kinds([violation]) == [("duplicate", "numpy")]
    assert "2.3.5" in violation.message and "2.3.4" in violation.message


def test_required_by_must_be_exact(seed: Seed) -> None:
    plan = seed.plan(CPU, CPU_PLAN)
    # triton requires filelock on the GPU target only.
    [violation] = seed.check(replace(plan, "filelock", required_by=("torch", "triton")))
    assert kinds([violation]) == [("required-by", "filelock")]
    [unsorted] = seed.check(replace(plan, "torch", required_by=("torchvision", PROJECT)))
    assert kinds([unsorted]) == [("required-by", "torch")]


def test_constraint_whose_marker_holds(seed: Seed, write_project: Callable[[str], Path]) -> None:
    folder = seed_variant(
        write_project,
        uv='constraint-dependencies = ["numpy<2.3.5", "pillow<13; sys_platform == \'darwin\'"]',
    )
    [violation] = seed.check(seed.plan(CPU, CPU_PLAN), seed.variant(folder))
    assert kinds([violation]) == [("constraint", "numpy")]
    assert "numpy 2.3.5" in violation.message and "numpy<2.3.5" in violation.message


def test_override_replaces_the_requirement_everywhere(
    seed: Seed, write_project: Callable[[str], Path]
) -> None:
    # torch pins sympy==1.13.1; the override replaces that pin instead of adding to it.
    project = seed.variant(
        seed_variant(write_project, uv='override-dependencies = ["sympy==1.14.0"]')
    )
    plan = seed.plan(CPU, CPU_PLAN)
    [violation] = seed.check(plan, project)
    assert kinds([violation]) == [("dependency", "torch")]
    assert "sympy==1.14.0" in violation.message and "override" in violation.message
    newer = seed.package(plan.target, "sympy", "1.14.0")
    upgraded = replace(plan, "sympy", version=newer.version, artifact=newer.artifact)
    assert seed.check(upgraded, project) == []
    # An override whose marker is false here removes the requirement on this target.
    project = seed.variant(
        seed_variant(
            write_project, uv="override-dependencies = [\"pillow; sys_platform == 'darwin'\"]"
        )
    )
    assert kinds(seed.check(plan, project)) == [("required-by", "pillow"), ("unrequired", "pillow")]


def test_yanked_artifact_needs_an_exact_pin(
    seed: Seed, write_project: Callable[[str], Path]
) -> None:
    plan = seed.plan(CPU, CPU_PLAN)
    numpy = plan.get("numpy")
    assert numpy is not None
    yanked = replace(
        plan, "numpy", artifact=dataclasses.replace(numpy.artifact, yanked="broken build")
    )
    [violation] = seed.check(yanked)
    assert kinds([violation]) == [("yanked", "numpy")]
    assert "broken build" in violation.message
    pinned = seed.variant(
        seed_variant(write_project, uv='override-dependencies = ["numpy==2.3.5"]')
    )
    assert seed.check(yanked, pinned) == []
    wildcard = seed.variant(
        seed_variant(write_project, uv='override-dependencies = ["numpy==2.3.*"]')
    )
    assert kinds(seed.check(yanked, wildcard)) == [("yanked", "numpy")]


def test_requires_python_from_the_index_and_from_the_metadata(seed: Seed) -> None:
    plan = seed.plan(CPU, CPU_PLAN)
    numpy = plan.get("numpy")
    assert numpy is not None
    listed = replace(
        plan, "numpy", artifact=dataclasses.replace(numpy.artifact, requires_python=">=3.12")
    )
    [violation] = seed.check(listed)
    assert kinds([violation]) == [("requires-python", "numpy")]
    assert "3.11.0" in violation.message and ">=3.12" in violation.message

    def metadata(artifact: Artifact) -> CoreMetadata:
        read = seed.metadata(artifact)
        return (
            dataclasses.replace(read, requires_python=">=3.12")
            if artifact.name == "numpy"
            else read
        )

    [declared] = check_target_plan(seed.project, plan, metadata)
    assert kinds([declared]) == [("requires-python", "numpy")] and "metadata" in declared.message


def test_root_requirement_of_the_project(seed: Seed, write_project: Callable[[str], Path]) -> None:
    project = seed.variant(seed_variant(write_project, dependencies='["pillow<13"]'))
    plan = replace(seed.plan(CPU, CPU_PLAN), "pillow", required_by=(PROJECT, "torchvision"))
    [violation] = seed.check(plan, project)
    assert kinds([violation]) == [("root-requirement", PROJECT)]
    assert "pillow<13" in violation.message and "pillow 13.0.0" in violation.message
    # Requested extras must be planned extras.
    project = seed.variant(seed_variant(write_project, dependencies='["pillow[xmp]"]'))
    [violation] = seed.check(plan, project)
    assert kinds([violation]) == [("root-requirement", PROJECT)]
    assert "does not activate extra(s) xmp of pillow" in violation.message
    with_extra = replace(plan, "pillow", extras=(canonicalize_name("xmp"),))
    assert kinds(seed.check(with_extra, project)) == [("dependency", "pillow")]  # defusedxml


def test_self_references_expand_the_projects_extras(
    seed: Seed, write_project: Callable[[str], Path]
) -> None:
    # The target activates only "cpu"; torchvision comes in through `test[vision]` (a cycle).
    folder = write_project(
        """
        [project]
        name = "test"
        version = "0.1.0"
        requires-python = ">=3.11"
        dependencies = []

        [project.optional-dependencies]
        cpu = ["torch==2.5.1", "Test[vision]"]
        vision = ["torchvision==0.20.1", "test[cpu,vision]"]

        [tool.uv.sources]
        torch = { index = "pytorch-cpu", marker = "platform_system != 'Darwin'", extra = "cpu" }

        [[tool.uv.sources.torchvision]]
        index = "pytorch-cpu"
        marker = "platform_system != 'Darwin'"
        extra = "cpu"

        [[tool.uv.index]]
        name = "pytorch-cpu"
        url = "https://download.pytorch.org/whl/cpu"
        explicit = true

        [tool.planner.targets.linux-x86_64-cpu]
        platform = "linux-x86_64"
        python = "3.11"
        accelerator = "cpu"
        extras = ["cpu"]
        """
    )
    project = seed.variant(folder)
    target = resolve_targets(project).by_name(CPU)
    assert target.extras == ("cpu",)
    plan = dataclasses.replace(seed.plan(CPU, CPU_PLAN), target=target)
    assert seed.check(plan, project) == []


def test_extras_must_be_planned_and_requested(seed: Seed) -> None:
    plan = seed.plan(CPU, CPU_PLAN)
    # torchvision's `scipy` extra is planned, nothing asks for it, and its dependency is missing.
    violations = seed.check(replace(plan, "torchvision", extras=("scipy",)))
    assert kinds(violations) == [("dependency", "torchvision"), ("unrequired", "torchvision")]
    assert "'scipy; extra == \"scipy\"'" in violations[0].message
    assert "extra 'scipy'" in violations[1].message


def _newest(seed: Seed, target_name: str, name: str) -> str:
    return str(seed.client.candidates(name, seed.target(target_name)).candidates[0].version)
