"""Targets: derivation rule, declared targets, marker environments."""

from __future__ import annotations

import pytest
from packaging.markers import Marker
from packaging.tags import Tag

from planner.project.loader import load_project
from planner.targets.model import Accelerator, AcceleratorKind, PythonVersion
from planner.targets.resolve import resolve_targets

HEAD = """
[project]
name = "demo"
version = "1.0"
requires-python = ">=3.11"
"""


def targets_of(folder):
    return resolve_targets(load_project(folder))


def test_seed_derives_four_targets(seed_dir) -> None:
    resolved = targets_of(seed_dir)
    assert resolved.derived
    assert [t.name for t in resolved] == ["linux-x86_64-cpu", "linux-x86_64-gpu", "macos-arm64-cpu", "macos-arm64-gpu"]
    for target in resolved:
        assert target.python == PythonVersion(3, 11, 0)
        assert target.extras == (target.name.rsplit("-", 1)[1],)
        assert target.groups == ()
    assert resolved.by_name("linux-x86_64-gpu").accelerator.kind is AcceleratorKind.CUDA
    assert str(resolved.by_name("linux-x86_64-cpu").accelerator) == "cpu"


def test_linux_marker_environment_is_complete(seed_dir) -> None:
    target = targets_of(seed_dir).by_name("linux-x86_64-cpu")
    assert dict(target.environment) == {
        "implementation_name": "cpython",
        "implementation_version": "3.11.0",
        "os_name": "posix",
        "platform_machine": "x86_64",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": "3.11.0",
        "python_version": "3.11",
        "sys_platform": "linux",
    }
    torch_cuda_dep = Marker('platform_system == "Linux" and platform_machine == "x86_64" and python_version < "3.13"')
    assert target.evaluate(torch_cuda_dep)
    assert not target.evaluate(Marker('python_version >= "3.12"'))


def test_macos_and_windows_environments(write_project) -> None:
    folder = write_project(HEAD + """
[tool.planner.targets.mac]
platform = "macos-arm64"
python = "3.12"
[tool.planner.targets.win]
platform = "windows-x86_64"
python = "3.11"
[tool.planner.targets.arm]
platform = "linux-aarch64"
python = "3.13"
""")
    resolved = targets_of(folder)
    mac, win, arm = resolved.targets
    assert (mac.environment["sys_platform"], mac.environment["platform_system"], mac.environment["platform_machine"]) == (
        "darwin", "Darwin", "arm64")
    assert mac.environment["python_version"] == "3.12" and mac.environment["os_name"] == "posix"
    assert (win.environment["sys_platform"], win.environment["platform_system"], win.environment["os_name"],
            win.environment["platform_machine"]) == ("win32", "Windows", "nt", "AMD64")
    assert arm.environment["platform_machine"] == "aarch64"
    nvidia = Marker('platform_system == "Linux" and platform_machine == "x86_64"')
    assert not any(t.evaluate(nvidia) for t in resolved)
    assert mac.evaluate(Marker("sys_platform == 'darwin' and platform_machine == 'arm64'"))


def test_extra_markers_evaluate_with_requested_extras(seed_dir) -> None:
    target = targets_of(seed_dir).by_name("linux-x86_64-cpu")
    marker = Marker('extra == "scipy"')
    assert not target.evaluate(marker)
    assert target.evaluate(marker, frozenset({"scipy"}))


def test_no_conflicts_gives_one_target_per_platform_with_everything(write_project) -> None:
    folder = write_project(HEAD + """
[project.optional-dependencies]
plot = ["matplotlib"]
serve = ["fastapi"]
[dependency-groups]
dev = ["pytest"]
""")
    resolved = targets_of(folder)
    assert [t.name for t in resolved] == ["linux-x86_64", "macos-arm64"]
    for target in resolved:
        assert target.extras == ("plot", "serve") and target.groups == ("dev",)


def test_conflicting_groups_and_three_way_sets(write_project) -> None:
    folder = write_project(HEAD + """
[project.optional-dependencies]
cpu = ["torch"]
cu118 = ["torch"]
cu124 = ["torch"]
docs = ["sphinx"]
[dependency-groups]
lint = ["ruff"]
test-old = ["pytest<8"]
test-new = ["pytest>=8"]
[tool.uv]
conflicts = [
  [{ extra = "cpu" }, { extra = "cu118" }, { extra = "cu124" }],
  [{ group = "test-old" }, { group = "test-new" }],
]
default-groups = "all"
""")
    resolved = targets_of(folder)
    linux = [t for t in resolved if t.platform.name == "linux-x86_64"]
    assert [t.name for t in linux] == [
        "linux-x86_64-cpu-test-old", "linux-x86_64-cpu-test-new",
        "linux-x86_64-cu118-test-old", "linux-x86_64-cu118-test-new",
        "linux-x86_64-cu124-test-old", "linux-x86_64-cu124-test-new",
    ]
    for target in resolved:
        assert "docs" in target.extras and "lint" in target.groups  # non-conflicting: always on
    assert str(resolved.by_name("linux-x86_64-cu124-test-new").accelerator) == "cuda12.4"
    assert str(resolved.by_name("linux-x86_64-cu118-test-old").accelerator) == "cuda11.8"
    assert str(resolved.by_name("macos-arm64-cu124-test-new").accelerator) == "mps"
    assert len(resolved) == 12


def test_overlapping_conflict_sets_give_maximal_combinations(write_project) -> None:
    folder = write_project(HEAD + """
[project.optional-dependencies]
a = ["x"]
b = ["y"]
c = ["z"]
[tool.uv]
conflicts = [[{ extra = "a" }, { extra = "b" }], [{ extra = "b" }, { extra = "c" }]]
""")
    linux = [t for t in targets_of(folder) if t.platform.name == "linux-x86_64"]
    assert [(t.name, t.extras) for t in linux] == [("linux-x86_64-a-c", ("a", "c")), ("linux-x86_64-b", ("b",))]


def test_default_python_is_lowest_admitted(write_project) -> None:
    folder = write_project(HEAD.replace(">=3.11", ">=3.12.4,<3.14"))
    target = targets_of(folder).targets[0]
    assert target.python.short == "3.12"
    assert target.environment["python_full_version"] == "3.12.4"
    assert Tag("cp312", "cp312", "manylinux_2_28_x86_64") in target.tags


def test_missing_requires_python_warns_and_uses_fallback(write_project) -> None:
    folder = write_project('[project]\nname = "demo"\n')
    project = load_project(folder)
    assert any("requires-python" in str(w) for w in project.warnings)
    assert resolve_targets(project).targets[0].python.short == "3.12"


def test_required_environments_add_and_environments_filter_platforms(write_project) -> None:
    folder = write_project(HEAD + """
[tool.uv]
required-environments = ["sys_platform == 'win32' and platform_machine == 'AMD64'"]
""")
    assert [t.name for t in targets_of(folder)] == ["linux-x86_64", "macos-arm64", "windows-x86_64"]
    folder = write_project(HEAD + """
[tool.uv]
environments = ["sys_platform == 'linux'"]
""")
    assert [t.name for t in targets_of(folder)] == ["linux-x86_64"]


def test_declared_targets_with_knobs(write_project) -> None:
    folder = write_project(HEAD + """
[project.optional-dependencies]
cpu = ["torch"]
cu124 = ["torch"]
[dependency-groups]
dev = ["pytest"]
[tool.uv]
conflicts = [[{ extra = "cpu" }, { extra = "cu124" }]]

[tool.planner.targets.gpu-server]
platform = "linux-x86_64"
python = "3.12"
accelerator = "cuda12.4"
extras = ["cu124"]
groups = ["dev"]
manylinux = "2.17"
[tool.planner.targets.gpu-server.docker]
base-image = "nvidia/cuda:12.4.1-runtime-ubuntu22.04"

[tool.planner.targets.laptop]
platform = "macos-arm64"
extras = ["CPU"]
macos = "14.0"
""")
    resolved = targets_of(folder)
    assert not resolved.derived
    server, laptop = resolved.targets
    assert server.accelerator == Accelerator(AcceleratorKind.CUDA, "12.4")
    assert server.python.short == "3.12" and server.groups == ("dev",) and server.extras == ("cu124",)
    assert server.os_floor == (2, 17) and server.os_floor_text == "glibc 2.17"
    assert Tag("cp312", "cp312", "manylinux_2_28_x86_64") not in server.tags
    assert Tag("cp312", "cp312", "manylinux2014_x86_64") in server.tags
    assert server.docker.base_image == "nvidia/cuda:12.4.1-runtime-ubuntu22.04"
    assert laptop.python.short == "3.11"  # lowest admitted by requires-python
    assert laptop.extras == ("cpu",)  # normalised
    assert laptop.tags[0] == Tag("cp311", "cp311", "macosx_14_0_arm64")
    assert str(laptop.accelerator) == "cpu"


def test_docker_settings_on_macos_warn(write_project) -> None:
    folder = write_project(HEAD + """
[tool.planner.targets.mac]
platform = "macos-arm64"
[tool.planner.targets.mac.docker]
base-image = "python:3.11-slim"
""")
    resolved = targets_of(folder)
    assert any("no container" in str(w) for w in resolved.warnings)


@pytest.mark.parametrize("text, expected", [
    ("cpu", "cpu"), ("cuda12.4", "cuda12.4"), ("CUDA11.8", "cuda11.8"), ("rocm6.2", "rocm6.2"), ("mps", "mps"),
    ("cuda", "cuda"),
])
def test_accelerator_parse(text: str, expected: str) -> None:
    assert str(Accelerator.parse(text)) == expected


@pytest.mark.parametrize("text", ["gpu", "cpu1", "tpu", "cuda-12"])
def test_accelerator_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        Accelerator.parse(text)
