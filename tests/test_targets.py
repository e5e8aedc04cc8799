"""Targets: derivation rule, declared targets, marker environments."""

from __future__ import annotations

import pytest
from packaging.markers import Marker
from packaging.tags import Tag

from planner.errors import InputError
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


def test_seed_derives_targets_for_the_lowest_and_the_newest_python(seed_dir) -> None:
    resolved = targets_of(seed_dir)
    assert resolved.derived
    assert [t.name for t in resolved] == [
        "linux-x86_64-cpu", "linux-x86_64-gpu", "linux-x86_64-cpu-py315", "linux-x86_64-gpu-py315",
        "macos-arm64-cpu", "macos-arm64-gpu", "macos-arm64-cpu-py315", "macos-arm64-gpu-py315"]
    for target in resolved:
        assert target.python == (PythonVersion(3, 15, 0) if target.name.endswith("py315") else PythonVersion(3, 11, 0))
        assert target.extras == (target.name.split("-")[2],)
        assert target.groups == ()
    accelerators = {t.name: str(t.accelerator) for t in resolved}
    assert accelerators["linux-x86_64-cpu"] == "cpu"  # the source rule routes torch to pytorch-cpu
    assert accelerators["linux-x86_64-gpu"] == "cuda"  # named "gpu"
    assert accelerators["macos-arm64-gpu"] == "mps"  # a GPU on macOS is Apple's
    assert accelerators["macos-arm64-cpu"] == "cpu"
    # Where each is stated, for messages: the routing source rule, or the extra.
    assert resolved.by_name("linux-x86_64-cpu").accelerator_origin.line == 29
    assert resolved.by_name("linux-x86_64-gpu").accelerator_origin.line == 15
    notes = "\n".join(resolved.notes)
    assert "3.11 (the lowest CPython requires-python admits)" in notes
    assert "3.15 (the newest stable CPython, released 2026-10-01)" in notes
    assert "left out of that target" in notes


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
    assert [t.name for t in resolved] == ["linux-x86_64", "linux-x86_64-py315", "macos-arm64", "macos-arm64-py315"]
    for target in resolved:
        assert target.extras == ("plot", "serve") and target.groups == ("dev",)
        assert target.accelerator is None  # nothing names one: the target states none


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
    linux = [t for t in resolved if t.platform.name == "linux-x86_64" and t.python.short == "3.11"]
    assert [t.name for t in linux] == [
        "linux-x86_64-cpu-test-old", "linux-x86_64-cpu-test-new",
        "linux-x86_64-cu118-test-old", "linux-x86_64-cu118-test-new",
        "linux-x86_64-cu124-test-old", "linux-x86_64-cu124-test-new",
    ]
    for target in resolved:
        assert "docs" in target.extras and "lint" in target.groups  # non-conflicting: always on
    assert str(resolved.by_name("linux-x86_64-cu124-test-new").accelerator) == "cuda12.4"
    assert str(resolved.by_name("linux-x86_64-cu118-test-old-py315").accelerator) == "cuda11.8"
    # macOS runs no CUDA: the CUDA extras are not derived there, and the note says so.
    mac = [t.name for t in resolved if t.platform.name == "macos-arm64"]
    assert mac == ["macos-arm64-cpu-test-old", "macos-arm64-cpu-test-new",
                   "macos-arm64-cpu-test-old-py315", "macos-arm64-cpu-test-new-py315"]
    assert all(str(t.accelerator) == "cpu" for t in resolved if t.platform.name == "macos-arm64")
    assert len(resolved) == 16
    notes = "\n".join(resolved.notes)
    assert "extra 'cu118' is not derived on macos-arm64: extra 'cu118' is named for it (cuda11.8)" in notes


def test_overlapping_conflict_sets_give_maximal_combinations(write_project) -> None:
    folder = write_project(HEAD + """
[project.optional-dependencies]
a = ["x"]
b = ["y"]
c = ["z"]
[tool.uv]
conflicts = [[{ extra = "a" }, { extra = "b" }], [{ extra = "b" }, { extra = "c" }]]
""")
    linux = [t for t in targets_of(folder) if t.platform.name == "linux-x86_64" and t.python.short == "3.11"]
    assert [(t.name, t.extras) for t in linux] == [("linux-x86_64-a-c", ("a", "c")), ("linux-x86_64-b", ("b",))]


def test_derived_pythons_are_the_lowest_and_the_newest_admitted(write_project) -> None:
    folder = write_project(HEAD.replace(">=3.11", ">=3.12.4,<3.14"))
    resolved = targets_of(folder)
    target = resolved.targets[0]
    assert target.python.short == "3.12"
    assert target.environment["python_full_version"] == "3.12.4"
    assert Tag("cp312", "cp312", "manylinux_2_28_x86_64") in target.tags
    # The newest admitted is 3.13 here (not the newest stable): named with its Python.
    assert [(t.name, t.python.full) for t in resolved] == [
        ("linux-x86_64", "3.12.4"), ("linux-x86_64-py313", "3.13.0"), ("macos-arm64", "3.12.4"),
        ("macos-arm64-py313", "3.13.0")]
    assert "3.13 (the newest CPython requires-python admits)" in resolved.notes[0]


def test_one_admitted_python_gives_one_target_per_platform(write_project) -> None:
    folder = write_project(HEAD.replace(">=3.11", "==3.12.*"))
    assert [(t.name, t.python.short) for t in targets_of(folder)] == [("linux-x86_64", "3.12"), ("macos-arm64", "3.12")]


def test_the_newest_stable_python_is_the_last_row_of_the_release_table() -> None:
    from planner.targets.pythons import CPYTHON_RELEASES, NEWEST_STABLE

    assert NEWEST_STABLE == (3, 15) == max(CPYTHON_RELEASES)
    minors = sorted(CPYTHON_RELEASES)
    assert minors == [(3, minor) for minor in range(8, 16)]  # no gap, no pre-release
    dates = [CPYTHON_RELEASES[m] for m in minors]
    assert dates == sorted(dates)


def test_environments_name_pythons_and_bound_them_per_platform(write_project) -> None:
    folder = write_project(HEAD + """
[tool.uv]
environments = ["sys_platform == 'linux' and python_version >= '3.13'", "sys_platform == 'darwin'",
                "sys_platform == 'linux' and python_version == '3.12'"]
""")
    resolved = targets_of(folder)
    # Linux: 3.11 is outside every environment, 3.12 the lowest inside, 3.13 named, 3.15 the newest.
    assert [(t.name, t.python.short) for t in resolved] == [
        ("linux-x86_64-py312", "3.12"), ("linux-x86_64-py313", "3.13"), ("linux-x86_64-py315", "3.15"),
        ("macos-arm64", "3.11"), ("macos-arm64-py315", "3.15")]
    assert any("named by tool.uv.environments" in note for note in resolved.notes)


def test_a_requires_python_beyond_the_table_takes_the_lowest_later_minor(write_project) -> None:
    folder = write_project(HEAD.replace(">=3.11", ">=3.16"))
    resolved = targets_of(folder)
    assert {t.python.short for t in resolved} == {"3.16"}
    assert "admits no CPython released up to 3.15" in resolved.notes[0]


def test_missing_requires_python_warns_and_uses_fallback(write_project) -> None:
    folder = write_project('[project]\nname = "demo"\n')
    project = load_project(folder)
    assert any("requires-python" in str(w) for w in project.warnings)
    assert [t.python.short for t in resolve_targets(project)] == ["3.12", "3.15", "3.12", "3.15"]


def test_required_environments_add_and_environments_filter_platforms(write_project) -> None:
    folder = write_project(HEAD + """
[tool.uv]
required-environments = ["sys_platform == 'win32' and platform_machine == 'AMD64'"]
""")
    assert [t.name for t in targets_of(folder) if t.python.short == "3.11"] == [
        "linux-x86_64", "macos-arm64", "windows-x86_64"]
    folder = write_project(HEAD + """
[tool.uv]
environments = ["sys_platform == 'linux'"]
""")
    assert [t.name for t in targets_of(folder)] == ["linux-x86_64", "linux-x86_64-py315"]


ENVIRONMENT_PLATFORMS = [
    # prime-rl: both Linux machines, so linux-aarch64 is derived too; macOS is outside.
    ('environments = ["sys_platform == \'linux\' and platform_machine == \'x86_64\'", '
     '"sys_platform == \'linux\' and platform_machine == \'aarch64\'"]',
     ["linux-x86_64", "linux-aarch64"], "platforms: linux-x86_64 (a default platform), linux-aarch64 (named by "
     "tool.uv.environments); not macos-arm64: outside tool.uv.environments"),
    # SkyRL: required-environments naming two Linux machines and Apple silicon.
    ('required-environments = ["sys_platform == \'linux\' and (platform_machine == \'x86_64\' or '
     'platform_machine == \'aarch64\')", "sys_platform == \'darwin\' and platform_machine == \'arm64\'"]',
     ["linux-x86_64", "macos-arm64", "linux-aarch64"],
     "platforms: linux-x86_64 (a default platform), macos-arm64 (a default platform), linux-aarch64 (named by "
     "tool.uv.required-environments)"),
    # Intel macOS by its machine; Windows by its system alone.
    ('environments = ["sys_platform == \'darwin\' and platform_machine == \'x86_64\'", "sys_platform == \'win32\'"]',
     ["macos-x86_64", "windows-x86_64"], None),
    # An operating system alone names its first platform: nothing beyond the defaults.
    ('environments = ["sys_platform == \'linux\' or sys_platform == \'darwin\'"]', ["linux-x86_64", "macos-arm64"], None),
    # A marker that says nothing about the platform names none.
    ('environments = ["python_version >= \'3.11\'"]', ["linux-x86_64", "macos-arm64"], None),
]


@pytest.mark.parametrize(("setting", "platforms", "note"), ENVIRONMENT_PLATFORMS)
def test_platforms_named_by_environments_are_derived(write_project, setting: str, platforms: list[str],
                                                     note: str | None) -> None:
    resolved = targets_of(write_project(HEAD + f"[tool.uv]\n{setting}\n"))
    assert [t.platform.name for t in resolved if t.python.short == "3.11"] == platforms
    if note is not None:
        assert note in resolved.notes
    elif platforms == ["linux-x86_64", "macos-arm64"]:
        assert not any(n.startswith("platforms:") for n in resolved.notes)


def test_environments_naming_no_known_platform_is_an_error_naming_them(write_project) -> None:
    folder = write_project(HEAD + "[tool.uv]\nenvironments = [\"sys_platform == 'freebsd'\"]\n")
    with pytest.raises(InputError) as error:
        targets_of(folder)
    assert "tool.uv.environments excludes every platform planner derives (linux-x86_64, macos-arm64)" in str(error.value)
    assert "linux-aarch64" in error.value.fix


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
    assert laptop.accelerator is None  # a declared target that leaves accelerator out states none
    assert server.accelerator_origin is not None and server.accelerator_origin.key[-1] == "accelerator"


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


def test_accelerators_come_from_the_routed_index_before_the_name(write_project) -> None:
    folder = write_project(HEAD + """
[project.optional-dependencies]
fast = ["torch"]
cpu = ["torch"]
[tool.uv]
conflicts = [[{ extra = "fast" }, { extra = "cpu" }]]
[tool.uv.sources]
torch = [{ index = "torch-cu128", extra = "fast", marker = "sys_platform == 'linux'" },
         { index = "torch-cpu", extra = "cpu" }]
[[tool.uv.index]]
name = "torch-cu128"
url = "https://download.pytorch.org/whl/cu128"
explicit = true
[[tool.uv.index]]
name = "torch-cpu"
url = "https://example.org/simple/"
explicit = true
""")
    resolved = targets_of(folder)
    assert str(resolved.by_name("linux-x86_64-fast").accelerator) == "cuda12.8"  # the index URL says cu128
    assert str(resolved.by_name("linux-x86_64-cpu").accelerator) == "cpu"  # index name
    assert resolved.by_name("macos-arm64-fast").accelerator is None  # the rule does not apply on macOS


def test_cuda_routed_extras_are_not_derived_on_macos(write_project) -> None:
    folder = write_project(HEAD + """
[project.optional-dependencies]
gpu = ["torch"]
[tool.uv.sources]
torch = [{ index = "pytorch-cu124", extra = "gpu" }]
[[tool.uv.index]]
name = "pytorch-cu124"
url = "https://download.pytorch.org/whl/cu124"
explicit = true
""")
    resolved = targets_of(folder)
    assert [(t.name, t.extras, str(t.accelerator)) for t in resolved] == [
        ("linux-x86_64", ("gpu",), "cuda12.4"), ("linux-x86_64-py315", ("gpu",), "cuda12.4"),
        ("macos-arm64", (), "None"), ("macos-arm64-py315", (), "None")]
    assert any("extra 'gpu' is not derived on macos-arm64: extra 'gpu' routes torch to index 'pytorch-cu124' "
               "(cuda12.4)" in note for note in resolved.notes)


def test_rocm_is_rocm_on_linux_and_windows(write_project) -> None:
    folder = write_project(HEAD + """
[project.optional-dependencies]
cpu = ["torch"]
"rocm6.2" = ["torch"]
[tool.uv]
conflicts = [[{ extra = "cpu" }, { extra = "rocm6.2" }]]
required-environments = ["sys_platform == 'win32'"]
""")
    resolved = targets_of(folder)
    accelerators = {t.name: str(t.accelerator) for t in resolved if t.python.short == "3.11"}
    assert accelerators == {"linux-x86_64-cpu": "cpu", "linux-x86_64-rocm6-2": "rocm6.2", "macos-arm64-cpu": "cpu",
                            "windows-x86_64-cpu": "cpu", "windows-x86_64-rocm6-2": "rocm6.2"}


@pytest.mark.parametrize("text, expected", [
    ("cpu", "cpu"), ("cu124", "cuda12.4"), ("cu118", "cuda11.8"), ("cu12", "cuda12"), ("cuda", "cuda"),
    ("cuda12.4", "cuda12.4"), ("rocm6.2", "rocm6.2"), ("rocm62", "rocm6.2"), ("xpu", "xpu"), ("pytorch-cu130", "cuda13.0"),
    ("https://download.pytorch.org/whl/cu126", "cuda12.6"), ("https://download.pytorch.org/whl/nightly/rocm6.3/", "rocm6.3"),
    ("https://pypi.org/simple", None), ("gpu", None), ("docs", None), ("cuda-kernels", "cuda"),
])
def test_accelerator_in_names(text: str, expected: str | None) -> None:
    from planner.targets.runtimes import accelerator_in_name

    found = accelerator_in_name(text)
    assert (str(found) if found else None) == expected
