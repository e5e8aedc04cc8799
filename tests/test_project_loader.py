"""Loading valid projects: normalisation, groups, uv settings, warnings."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from planner.errors import InputError
from planner.project.loader import load_project
from planner.project.model import ConflictKind, IndexStrategy, PrereleaseMode


def test_seed_project_model(seed_dir) -> None:
    project = load_project(seed_dir)
    assert project.name == "test" and project.requires_python == SpecifierSet(">=3.11")
    assert list(project.optional_dependencies) == ["cpu", "gpu"]
    torch = project.optional_dependencies["cpu"][0]
    assert str(torch.requirement) == "torch==2.5.1"
    assert torch.origin.line == 11 and torch.origin.key == ("project", "optional-dependencies", "cpu", 0)
    [conflict] = project.uv.conflicts
    assert [(i.kind, i.name) for i in conflict.items] == [(ConflictKind.EXTRA, "cpu"), (ConflictKind.EXTRA, "gpu")]
    [source] = project.uv.sources["torch"]
    assert source.index == "pytorch-cpu" and source.extra == "cpu" and str(source.marker) == 'platform_system != "Darwin"'
    [index] = project.uv.indexes
    assert index.explicit and not index.default and index.origin.line == 39
    assert project.uv.index_strategy is IndexStrategy.FIRST_INDEX
    assert project.uv.prerelease is PrereleaseMode.IF_NECESSARY_OR_EXPLICIT
    assert project.warnings == ()


def test_dependency_groups_include_and_normalise(write_project) -> None:
    project = load_project(write_project("""
        [project]
        name = "Demo_App"
        requires-python = ">=3.11"
        [project.optional-dependencies]
        Plot_Extra = ["matplotlib>=3.8"]
        [dependency-groups]
        Test = ["pytest>=8"]
        lint = ["ruff"]
        dev = [{ include-group = "test" }, { include-group = "LINT" }, "ipython"]
        [tool.uv]
        dev-dependencies = ["pre-commit"]
    """))
    assert project.name == "demo-app"
    assert list(project.optional_dependencies) == ["plot-extra"]
    assert [str(d) for d in project.dependency_groups["dev"]] == ["pytest>=8", "ruff", "ipython", "pre-commit"]
    assert [str(d) for d in project.dependency_groups["test"]] == ["pytest>=8"]
    assert any("dev-dependencies is deprecated" in str(w) for w in project.warnings)


def test_uv_settings_are_read(write_project) -> None:
    project = load_project(write_project("""
        [project]
        name = "demo"
        requires-python = ">=3.11"
        dependencies = ["numpy"]
        [tool.uv]
        index-strategy = "unsafe-best-match"
        prerelease = "allow"
        environments = ["sys_platform == 'linux'", "sys_platform == 'darwin'"]
        required-environments = "sys_platform == 'linux' and platform_machine == 'aarch64'"
        constraint-dependencies = ["numpy<2.3"]
        override-dependencies = ["setuptools>=70"]
        extra-index-url = ["https://extra.example.com/simple"]
        index-url = "https://mirror.example.com/simple"
        managed = true
        link-mode = "copy"
    """))
    uv = project.uv
    assert uv.index_strategy is IndexStrategy.UNSAFE_BEST_MATCH and uv.prerelease is PrereleaseMode.ALLOW
    assert [str(m) for m in uv.environments] == ['sys_platform == "linux"', 'sys_platform == "darwin"']
    assert len(uv.required_environments) == 1
    assert [str(c) for c in uv.constraints] == ["numpy<2.3"] and [str(o) for o in uv.overrides] == ["setuptools>=70"]
    assert [(i.name, i.default) for i in project.indexes] == [("extra-index-url-1", False), ("index-url", True)]
    assert project.warnings == ()  # managed and link-mode do not change a plan


def test_relative_index_path_becomes_file_url(write_project) -> None:
    folder = write_project("""
        [project]
        name = "demo"
        requires-python = ">=3.11"
        [[tool.uv.index]]
        name = "local"
        url = "./wheels/simple"
    """)
    project = load_project(folder)
    assert project.index("local").url == (folder / "wheels" / "simple").resolve().as_uri()


def test_unknown_index_keys_warn(write_project) -> None:
    project = load_project(write_project("""
        [project]
        name = "demo"
        requires-python = ">=3.11"
        [[tool.uv.index]]
        name = "x"
        url = "https://x.example.com/simple"
        explict = true
    """))
    [warning] = project.warnings
    assert "explict" in str(warning) and "did you mean 'explicit'" in str(warning)
    assert warning.location.line == 7


def test_default_groups(write_project) -> None:
    base = """
        [project]
        name = "demo"
        requires-python = ">=3.11"
        [dependency-groups]
        dev = ["pytest"]
        docs = ["sphinx"]
    """
    assert load_project(write_project(base)).uv.default_groups == ("dev",)
    assert load_project(write_project(base + '[tool.uv]\ndefault-groups = "all"\n')).uv.default_groups == ("dev", "docs")
    assert load_project(write_project(base + '[tool.uv]\ndefault-groups = ["Docs"]\n')).uv.default_groups == ("docs",)


def test_uv_build_settings_are_read(write_project) -> None:
    project = load_project(write_project("""
        [project]
        name = "demo"
        version = "0.1"
        requires-python = ">=3.11"
        dependencies = ["jieba", "flash-attn"]

        [tool.uv]
        no-build-package = ["Docopt"]
        build-constraint-dependencies = ["setuptools<80"]
        config-settings = { editable_mode = "compat", flags = ["a", "b"] }
        config-settings-package = { jieba = { editable_mode = "strict" } }
        dependency-metadata = [
            { name = "flash-attn", version = "2.6.3", requires-dist = ["torch", "einops"], provides-extra = ["Fast"] },
            { name = "flash-attn", requires-dist = ["torch"] },
        ]

        [tool.uv.extra-build-dependencies]
        jieba = ["wheel", { requirement = "cython>=3" }]

        [tool.uv.extra-build-variables]
        vllm = { VLLM_TARGET_DEVICE = "cpu" }
    """))
    build = project.uv.build
    assert project.warnings == ()  # read, not "not supported"
    assert build.no_build is False and build.no_build_package == ("docopt",)
    assert build.no_build_setting("docopt") == "tool.uv.no-build-package" and build.no_build_setting("jieba") is None
    assert [str(d.requirement) for d in build.constraints] == ["setuptools<80"]
    assert [str(d.requirement) for d in build.extra_dependencies["jieba"]] == ["wheel", "cython>=3"]
    assert dict(build.config_for("jieba")) == {"editable_mode": "strict", "flags": ("a", "b")}
    assert dict(build.config_for("other")) == {"editable_mode": "compat", "flags": ("a", "b")}
    exact = build.metadata_for("flash-attn", Version("2.6.3"))
    assert exact is not None and [str(r) for r in exact.requires_dist] == ["torch", "einops"]
    assert exact.provides_extra == ("fast",)
    general = build.metadata_for("flash-attn", Version("2.5.0"))  # no version: every version
    assert general is not None and [str(r) for r in general.requires_dist] == ["torch"]
    assert build.metadata_for("jieba", Version("0.42.1")) is None
    assert dict(build.variables["vllm"]) == {"VLLM_TARGET_DEVICE": "cpu"}
    assert build.locations["no-build-package"].line == 8


def test_a_url_requirement_with_no_space_before_its_marker_is_read_as_uv_reads_it(write_project) -> None:
    """NVIDIA-NeMo/Automodel writes `dion @ git+https://...; platform_machine == 'x86_64'`: uv ends
    the URL at a ';' followed by whitespace; PEP 508 (packaging) wants whitespace before it."""
    project = load_project(write_project("""
        [project]
        name = "demo"
        requires-python = ">=3.11"
        [dependency-groups]
        dev = ["dion @ git+https://github.com/microsoft/dion.git; platform_machine == 'x86_64'"]
    """))
    [dion] = project.dependency_groups["dev"]
    assert dion.requirement.url == "git+https://github.com/microsoft/dion.git"
    assert str(dion.requirement.marker) == 'platform_machine == "x86_64"'
    [source] = project.uv.direct_sources["dion"]
    assert str(source.marker) == 'platform_machine == "x86_64"'
    [warning] = project.warnings
    assert warning.location.line == 5
    assert "has no space before the ';' that ends its URL: read as uv reads it, 'URL ; marker'" in str(warning)


@pytest.mark.parametrize(("text", "fix"), [
    # No whitespace on either side of the ';': uv cannot tell where the URL ends either.
    ("dion @ git+https://github.com/microsoft/dion.git;platform_machine == 'x86_64'",
     "put a space before the ';' that ends the URL"),
    ("dion @ git+https://github.com/microsoft/dion.git; platform_machine = 'x86_64'", "use '=='"),
    ("dion @; platform_machine == 'x86_64'", "write a PEP 508 requirement"),
])
def test_a_broken_url_requirement_is_still_one_clear_error(write_project, text: str, fix: str) -> None:
    folder = write_project(f"""
        [project]
        name = "demo"
        requires-python = ">=3.11"
        dependencies = ["{text}"]
    """)
    with pytest.raises(InputError) as error:
        load_project(folder)
    assert error.value.location.line == 4 and fix in error.value.fix


def test_a_conflict_naming_an_undeclared_extra_or_group_is_warned_about_and_has_no_effect(write_project) -> None:
    """uv accepts it (nvidia-cosmos keeps `cu129` in a set after dropping that extra): nothing can
    activate it, so the rest of the set still conflicts, and a near miss is named."""
    project = load_project(write_project("""
        [project]
        name = "demo"
        requires-python = ">=3.11"
        [project.optional-dependencies]
        cu128 = ["torch"]
        cu130 = ["torch"]
        [dependency-groups]
        doc = ["sphinx"]
        [tool.uv]
        conflicts = [
            [{ extra = "cu128" }, { extra = "cu129" }, { extra = "cu130" }],
            [{ group = "doc" }, { group = "docs" }],
        ]
    """))
    [conflict] = project.uv.conflicts  # the second set has one declared member left: no conflict
    assert [item.name for item in conflict.items] == ["cu128", "cu130"]
    first, second = project.warnings
    assert first.location.line == 11 and first.location.key == ("tool", "uv", "conflicts", 0, 1, "extra")
    assert "conflict names extra 'cu129', which the project does not declare: it has no effect (uv accepts it too)" \
        in str(first)
    assert second.location.line == 12 and "did you mean 'doc'?" in str(second)
