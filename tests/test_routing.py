"""Index routing with uv's semantics, on the seed and on uv's documented patterns."""

from __future__ import annotations

import pytest

from planner.errors import InputError
from planner.project.loader import load_project
from planner.project.overrides import IndexOverrides, apply_index_overrides
from planner.targets.resolve import resolve_targets
from planner.targets.routing import route, routing_table

HEAD = """
[project]
name = "demo"
version = "1.0"
requires-python = ">=3.11"
"""

PYTORCH_INDEXES = """
[[tool.uv.index]]
name = "pytorch-cpu"
url = "https://download.pytorch.org/whl/cpu"
explicit = true

[[tool.uv.index]]
name = "pytorch-cu124"
url = "https://download.pytorch.org/whl/cu124"
explicit = true
"""


def table(folder) -> dict[str, dict[str, tuple[str, ...]]]:
    """Routes on the targets of the lowest Python (the newest Python's targets route the same)."""
    project = load_project(folder)
    lowest = [t for t in resolve_targets(project).targets if not t.name.endswith("-py315")]
    routes = routing_table(project, lowest)
    return {t: {p: r.index_names for p, r in by_package.items()} for t, by_package in routes.items()}


def test_seed_routing(seed_dir) -> None:
    assert table(seed_dir) == {
        "linux-x86_64-cpu": {"torch": ("pytorch-cpu",), "torchvision": ("pytorch-cpu",)},
        "linux-x86_64-gpu": {"torch": ("pypi",), "torchvision": ("pypi",)},
        "macos-arm64-cpu": {"torch": ("pypi",), "torchvision": ("pypi",)},
        "macos-arm64-gpu": {"torch": ("pypi",), "torchvision": ("pypi",)},
    }


def test_seed_routing_names_the_source_rule(seed_dir) -> None:
    project = load_project(seed_dir)
    target = resolve_targets(project).by_name("linux-x86_64-cpu")
    decided = route(project, target, "torch")
    assert decided.source is not None and decided.source.origin.line == 29
    assert "pyproject.toml:29" in decided.describe()
    # Packages without a source rule never reach the explicit index.
    assert route(project, target, "numpy").index_names == ("pypi",)
    assert route(project, target, "Torch").index_names == ("pytorch-cpu",)  # names are normalised


def test_per_platform_index(write_project) -> None:
    folder = write_project(HEAD + """
dependencies = ["torch>=2.5"]
[tool.uv.sources]
torch = [
  { index = "pytorch-cpu", marker = "sys_platform != 'linux'" },
  { index = "pytorch-cu124", marker = "sys_platform == 'linux'" },
]
""" + PYTORCH_INDEXES)
    assert table(folder) == {"linux-x86_64": {"torch": ("pytorch-cu124",)}, "macos-arm64": {"torch": ("pytorch-cpu",)}}


def test_per_extra_index(write_project) -> None:
    folder = write_project(HEAD + """
[project.optional-dependencies]
cpu = ["torch>=2.5"]
cu124 = ["torch>=2.5"]
[tool.uv]
conflicts = [[{ extra = "cpu" }, { extra = "cu124" }]]
[tool.uv.sources]
torch = [
  { index = "pytorch-cpu", extra = "cpu" },
  { index = "pytorch-cu124", extra = "cu124" },
]
""" + PYTORCH_INDEXES)
    assert table(folder) == {
        "linux-x86_64-cpu": {"torch": ("pytorch-cpu",)},
        "linux-x86_64-cu124": {"torch": ("pytorch-cu124",)},
        "macos-arm64-cpu": {"torch": ("pytorch-cpu",)},  # no CUDA target on macOS
    }


def test_per_group_index(write_project) -> None:
    folder = write_project(HEAD + """
[dependency-groups]
gpu = ["torch"]
cpu = ["torch"]
[tool.uv]
conflicts = [[{ group = "cpu" }, { group = "gpu" }]]
default-groups = "all"
[tool.uv.sources]
torch = [{ index = "pytorch-cpu", group = "cpu" }]
""" + PYTORCH_INDEXES)
    routes = table(folder)
    assert routes["linux-x86_64-cpu"]["torch"] == ("pytorch-cpu",)
    assert routes["linux-x86_64-gpu"]["torch"] == ("pypi",)


def test_explicit_and_default_index(write_project) -> None:
    folder = write_project(HEAD + """
dependencies = ["torch", "internal-lib", "numpy"]
[tool.uv.sources]
torch = { index = "pytorch-cpu" }

[[tool.uv.index]]
name = "company"
url = "https://pypi.example.com/simple"
default = true

[[tool.uv.index]]
name = "pytorch-cpu"
url = "https://download.pytorch.org/whl/cpu"
explicit = true
""")
    project = load_project(folder)
    target = resolve_targets(project).targets[0]
    assert route(project, target, "torch").index_names == ("pytorch-cpu",)
    # The default index replaces PyPI; the explicit index serves only torch.
    assert route(project, target, "numpy").index_names == ("company",)
    assert "pypi" not in [index.name for index in project.indexes]


def test_non_explicit_indexes_come_before_the_default_in_declaration_order(write_project) -> None:
    folder = write_project(HEAD + """
[tool.uv]
index-strategy = "unsafe-best-match"

[[tool.uv.index]]
name = "mirror-b"
url = "https://b.example.com/simple"

[[tool.uv.index]]
name = "primary"
url = "https://a.example.com/simple"
default = true

[[tool.uv.index]]
name = "mirror-c"
url = "https://c.example.com/simple"
""")
    project = load_project(folder)
    decided = route(project, resolve_targets(project).targets[0], "anything")
    assert decided.index_names == ("mirror-b", "mirror-c", "primary")
    assert decided.strategy.value == "unsafe-best-match"
    assert "unsafe-best-match" in decided.describe()


def test_marker_on_python_version(write_project) -> None:
    folder = write_project(HEAD + """
dependencies = ["torch"]
[tool.uv.sources]
torch = { index = "pytorch-cpu", marker = "python_version < '3.12'" }
[tool.planner.targets.old]
platform = "linux-x86_64"
python = "3.11"
[tool.planner.targets.new]
platform = "linux-x86_64"
python = "3.13"
""" + PYTORCH_INDEXES)
    assert table(folder) == {"old": {"torch": ("pytorch-cpu",)}, "new": {"torch": ("pypi",)}}


def test_disagreeing_sources_on_one_target_are_an_input_error(write_project) -> None:
    folder = write_project(HEAD + """
dependencies = ["torch"]
[tool.uv.sources]
torch = [
  { index = "pytorch-cpu", marker = "sys_platform == 'linux'" },
  { index = "pytorch-cu124", marker = "platform_machine == 'x86_64'" },
]
""" + PYTORCH_INDEXES)
    with pytest.raises(InputError) as caught:
        table(folder)
    assert "linux-x86_64" in caught.value.problem and "pytorch-cu124" in caught.value.problem


def test_index_overrides_replace_urls_but_not_routing(seed_dir) -> None:
    project = load_project(seed_dir)
    overridden = apply_index_overrides(project, IndexOverrides.parse(
        ["pytorch-cpu=http://127.0.0.1:9/cpu/simple"], "http://127.0.0.1:9/pypi/simple", seed_dir))
    assert overridden.index("pytorch-cpu").url == "http://127.0.0.1:9/cpu/simple"
    assert overridden.index("pytorch-cpu").explicit
    assert overridden.default_index.url == "http://127.0.0.1:9/pypi/simple"
    targets = resolve_targets(overridden)
    assert route(overridden, targets.by_name("linux-x86_64-cpu"), "torch").indexes[0].url == "http://127.0.0.1:9/cpu/simple"
    # The original project value is untouched.
    assert project.index("pytorch-cpu").url == "https://download.pytorch.org/whl/cpu"


def test_pypi_override_by_name_and_local_paths(seed_dir, tmp_path) -> None:
    project = load_project(seed_dir)
    overridden = apply_index_overrides(project, IndexOverrides.parse([f"pypi={tmp_path}"], None, seed_dir))
    assert overridden.default_index.url == tmp_path.as_uri()


def test_index_override_of_an_undeclared_name_adds_an_index_searched_first(seed_dir) -> None:
    project = load_project(seed_dir)
    overridden = apply_index_overrides(project, IndexOverrides.parse(["pytorch=http://x/simple"], None, seed_dir))
    assert [i.name for i in overridden.indexes] == ["pytorch", "pytorch-cpu", "pypi"]
    targets = resolve_targets(overridden)
    assert route(overridden, targets.by_name("macos-arm64-cpu"), "numpy").indexes[0].name == "pytorch"
    assert any("did you mean 'pytorch-cpu'?" in str(w) for w in overridden.warnings)
