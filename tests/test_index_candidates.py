"""Candidate selection: which (version, index, artifact) each target of the seed can install.

Pages are the real torch 2.5.1 listings of PyPI and of the PyTorch CPU index (file names and
hashes from ../shared/reference/seed-9310/index-files.json), parsed by the real parsers.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from planner.index.candidates import select_candidates, target_platform_label
from planner.index.models import ArtifactKind, Candidate, CandidateSet, ProjectPage, RejectionKind
from planner.index.simple import parse_html_page, parse_json_page
from planner.project.loader import load_project
from planner.project.model import IndexStrategy, Project
from planner.targets.model import Target
from planner.targets.resolve import ResolvedTargets, resolve_targets
from planner.targets.routing import route

SEED = Path(__file__).resolve().parent.parent / "examples" / "seed-9310"

# torch 2.5.1 on PyPI: (file name, sha256). No sdist.
PYPI_TORCH = [
    (
        "torch-2.5.1-cp310-cp310-manylinux1_x86_64.whl",
        "71328e1bbe39d213b8721678f9dcac30dfc452a46d586f1d514a6aa0a99d4744",
    ),
    (
        "torch-2.5.1-cp310-cp310-manylinux2014_aarch64.whl",
        "34bfa1a852e5714cbfa17f27c49d8ce35e1b7af5608c4bc6e81392c352dbc601",
    ),
    (
        "torch-2.5.1-cp310-cp310-win_amd64.whl",
        "32a037bd98a241df6c93e4c789b683335da76a2ac142c0973675b715102dc5fa",
    ),
    (
        "torch-2.5.1-cp310-none-macosx_11_0_arm64.whl",
        "23d062bf70776a3d04dbe74db950db2a5245e1ba4f27208a87f0d743b0d06e86",
    ),
    (
        "torch-2.5.1-cp311-cp311-manylinux1_x86_64.whl",
        "de5b7d6740c4b636ef4db92be922f0edc425b65ed78c5076c43c42d362a45457",
    ),
    (
        "torch-2.5.1-cp311-cp311-manylinux2014_aarch64.whl",
        "340ce0432cad0d37f5a31be666896e16788f1adf8ad7be481196b503dad675b9",
    ),
    (
        "torch-2.5.1-cp311-cp311-win_amd64.whl",
        "603c52d2fe06433c18b747d25f5c333f9c1d58615620578c326d66f258686f9a",
    ),
    (
        "torch-2.5.1-cp311-none-macosx_11_0_arm64.whl",
        "31f8c39660962f9ae4eeec995e3049b5492eb7360dd4f07377658ef4d728fa4c",
    ),
    (
        "torch-2.5.1-cp312-cp312-manylinux1_x86_64.whl",
        "ed231a4b3a5952177fafb661213d690a72caaad97d5824dd4fc17ab9e15cec03",
    ),
    (
        "torch-2.5.1-cp312-cp312-manylinux2014_aarch64.whl",
        "3f4b7f10a247e0dcd7ea97dc2d3bfbfc90302ed36d7f3952b0008d0df264e697",
    ),
    (
        "torch-2.5.1-cp312-cp312-win_amd64.whl",
        "73e58e78f7d220917c5dbfad1a40e09df9929d3b95d25e57d9f8558f84c9a11c",
    ),
    (
        "torch-2.5.1-cp312-none-macosx_11_0_arm64.whl",
        "8c712df61101964eb11910a846514011f0b6f5920c55dbf567bff8a34163d5b1",
    ),
    (
        "torch-2.5.1-cp313-cp313-manylinux1_x86_64.whl",
        "9b61edf3b4f6e3b0e0adda8b3960266b9009d02b37555971f4d1c8f7a05afed7",
    ),
    (
        "torch-2.5.1-cp39-cp39-manylinux1_x86_64.whl",
        "1f3b7fb3cf7ab97fae52161423f81be8c6b8afac8d9760823fd623994581e1a3",
    ),
    (
        "torch-2.5.1-cp39-cp39-manylinux2014_aarch64.whl",
        "7974e3dce28b5a21fb554b73e1bc9072c25dde873fa00d54280861e7a009d7dc",
    ),
    (
        "torch-2.5.1-cp39-cp39-win_amd64.whl",
        "46c817d3ea33696ad3b9df5e774dba2257e9a4cd3c4a3afbf92f6bb13ac5ce2d",
    ),
    (
        "torch-2.5.1-cp39-none-macosx_11_0_arm64.whl",
        "8046768b7f6d35b85d101b4b38cba8aa2f3cd51952bc4c06a49580f2ce682291",
    ),
]

# torch 2.5.1 on https://download.pytorch.org/whl/cpu: '+cpu' for Linux x86_64 and Windows, no
# label for Linux aarch64 and macOS. Two Windows files were only seen by name (no hash).
CPU_TORCH = [
    (
        "torch-2.5.1+cpu-cp39-cp39-linux_x86_64.whl",
        "a3ad26468abc5ee601aba49ff02f72387ae734b0900aa589b890c80d72b7b26b",
    ),
    (
        "torch-2.5.1+cpu-cp310-cp310-linux_x86_64.whl",
        "7f91a2200e352745d70e22396bd501448e28350fbdbd8d8b1c83037e25451150",
    ),
    (
        "torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl",
        "07d7c9e069123d5af08b0cf0013d74f680b2d8be7d9e2cf561a52c90c55d9409",
    ),
    (
        "torch-2.5.1+cpu-cp312-cp312-linux_x86_64.whl",
        "4856f9d6925121d13c2df07aa7580b767f449dfe71ae5acde9c27535d5da4840",
    ),
    (
        "torch-2.5.1+cpu-cp313-cp313-linux_x86_64.whl",
        "5dbbdf83caa90d0bcaa50e4933ca424889133b35226db79000877d4ec5d9ea37",
    ),
    ("torch-2.5.1+cpu-cp39-cp39-win_amd64.whl", None),
    ("torch-2.5.1+cpu-cp310-cp310-win_amd64.whl", None),
    (
        "torch-2.5.1+cpu-cp311-cp311-win_amd64.whl",
        "81531d4d5ca74163dc9574b87396531e546a60cceb6253303c7db6a21e867fdf",
    ),
    (
        "torch-2.5.1+cpu-cp312-cp312-win_amd64.whl",
        "a6b720410350765d3d77c01a5ce098a6c45af446284e45e87a98b8a16e7d564d",
    ),
    (
        "torch-2.5.1-cp39-cp39-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        "c74f73da179fa7eaa2167ab0b493f267ae481a6c007249e2674cbd0baf4a5cc1",
    ),
    (
        "torch-2.5.1-cp310-cp310-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        "269b10c34430aa8e9643dbe035dc525c4a9b1d671cd3dbc8ecbcaed280ae322d",
    ),
    (
        "torch-2.5.1-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        "d5b3203f191bc40783c99488d2e776dcf93ac431a59491d627a1ca5b3ae20b22",
    ),
    (
        "torch-2.5.1-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        "36d1be99281b6f602d9639bd0af3ee0006e7aab16f6718d86f709d395b6f262c",
    ),
    (
        "torch-2.5.1-cp39-none-macosx_11_0_arm64.whl",
        "8046768b7f6d35b85d101b4b38cba8aa2f3cd51952bc4c06a49580f2ce682291",
    ),
    (
        "torch-2.5.1-cp310-none-macosx_11_0_arm64.whl",
        "23d062bf70776a3d04dbe74db950db2a5245e1ba4f27208a87f0d743b0d06e86",
    ),
    (
        "torch-2.5.1-cp311-none-macosx_11_0_arm64.whl",
        "31f8c39660962f9ae4eeec995e3049b5492eb7360dd4f07377658ef4d728fa4c",
    ),
    (
        "torch-2.5.1-cp312-none-macosx_11_0_arm64.whl",
        "8c712df61101964eb11910a846514011f0b6f5920c55dbf567bff8a34163d5b1",
    ),
]

MAC_311 = "torch-2.5.1-cp311-none-macosx_11_0_arm64.whl"
LINUX_311 = "torch-2.5.1-cp311-cp311-manylinux1_x86_64.whl"
CPU_311 = "torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl"


def pypi_page(extra: list[dict[str, Any]] | None = None, project: str = "torch") -> ProjectPage:
    """PyPI's torch page as PEP 691 JSON (plus `extra` file entries)."""
    files: list[dict[str, Any]] = [
        {
            "filename": name,
            "url": f"https://files.pythonhosted.org/packages/00/00/{sha}/{name}",
            "hashes": {"sha256": sha},
            "requires-python": ">=3.8.0",
            "yanked": False,
        }
        for name, sha in PYPI_TORCH
    ]
    files += extra or []
    document = {"meta": {"api-version": "1.1"}, "name": project, "files": files}
    return parse_json_page(
        json.dumps(document).encode(), f"https://pypi.org/simple/{project}/", "pypi", project
    )


def cpu_page() -> ProjectPage:
    """The PyTorch CPU index's torch page as PEP 503 HTML, as download.pytorch.org serves it."""
    links = []
    for name, sha in CPU_TORCH:
        href = "/whl/cpu/" + name.replace("+", "%2B") + (f"#sha256={sha}" if sha else "")
        links.append(f'    <a href="{href}">{name}</a><br/>')
    html = (
        "<!DOCTYPE html>\n<html>\n  <body>\n    <h1>Links for torch</h1>\n"
        + "\n".join(links)
        + "\n  </body>\n</html>\n"
    )
    return parse_html_page(
        html.encode(), "https://download.pytorch.org/whl/cpu/torch/", "pytorch-cpu", "torch"
    )


def page_of(index: str, files: list[str | dict[str, Any]], project: str = "torch") -> ProjectPage:
    """A small JSON page: entries are file names, or dicts with `filename` and extra fields."""
    entries = []
    for file in files:
        entry = {"filename": file} if isinstance(file, str) else dict(file)
        entry.setdefault("url", entry["filename"])
        entry.setdefault("hashes", {"sha256": "00" * 32})
        entries.append(entry)
    document = {"meta": {"api-version": "1.0"}, "files": entries}
    return parse_json_page(
        json.dumps(document).encode(), f"https://{index}.example/simple/{project}/", index, project
    )


def empty_page(index: str, project: str = "torch") -> ProjectPage:
    return page_of(index, [], project)


@pytest.fixture(scope="module")
def seed_project() -> Project:
    return load_project(SEED)


@pytest.fixture(scope="module")
def seed(seed_project: Project) -> ResolvedTargets:
    resolved = resolve_targets(seed_project)
    assert [t.name for t in resolved if t.python.short == "3.11"] == [
        "linux-x86_64-cpu",
        "linux-x86_64-gpu",
        "macos-arm64-cpu",
        "macos-arm64-gpu",
    ]
    return resolved


@pytest.fixture
def declared_target(write_project: Callable[[str], Path]) -> Callable[[str, str], Target]:
    def make(platform: str, python: str) -> Target:
        folder = write_project(
            f"""
            [project]
            name = "demo"
            version = "0.1.0"
            [tool.planner.targets.t]
            platform = "{platform}"
            python = "{python}"
            """
        )
        return resolve_targets(load_project(folder)).by_name("t")

    return make


def pages_for(project: Project, target: Target, package: str = "torch") -> list[ProjectPage]:
    """The pages of `package` on the indexes its route allows on `target`, in route order."""
    available = {"pypi": pypi_page(), "pytorch-cpu": cpu_page()}
    return [available[name] for name in route(project, target, package).index_names]


def summary(result: CandidateSet) -> list[tuple[str, str, str]]:
    return [(str(c.version), c.index, c.artifact.filename) for c in result.candidates]


def version_rejections(result: CandidateSet, kind: RejectionKind) -> list[tuple[str, str, str]]:
    return [
        (str(r.version), r.index, r.detail)
        for r in result.rejections
        if r.kind is kind and r.filename is None
    ]


# -- the acceptance facts -------------------------------------------------------------
def test_linux_cpu_gets_only_the_cpu_build(seed_project: Project, seed: ResolvedTargets) -> None:
    target = seed.by_name("linux-x86_64-cpu")
    pages = pages_for(seed_project, target)
    assert [p.index for p in pages] == ["pytorch-cpu"]  # the source rule routes it there
    result = select_candidates(pages, target, seed_project.uv.index_strategy)
    assert summary(result) == [("2.5.1+cpu", "pytorch-cpu", CPU_311)]
    chosen = result.candidates[0]
    assert (
        chosen.artifact.sha256 == "07d7c9e069123d5af08b0cf0013d74f680b2d8be7d9e2cf561a52c90c55d9409"
    )
    assert (
        chosen.artifact.url
        == "https://download.pytorch.org/whl/cpu/torch-2.5.1%2Bcpu-cp311-cp311-linux_x86_64.whl"
    )
    assert not chosen.yanked
    (rejected,) = version_rejections(result, RejectionKind.NO_ARTIFACT)
    version, index, detail = rejected
    assert (version, index) == ("2.5.1", "pytorch-cpu")
    assert "no wheel for linux_x86_64/cp311" in detail
    assert detail == (
        "no wheel for linux_x86_64/cp311 (torch 2.5.1 on pytorch-cpu has: "
        "macosx_11_0_arm64, manylinux2014_aarch64, manylinux_2_17_aarch64)"
    )
    # every unlabelled file was turned down for its tags, each with its own reason
    tag_rejections = [
        r
        for r in result.rejections
        if r.kind is RejectionKind.TAGS and r.version == Version("2.5.1")
    ]
    assert len(tag_rejections) == 8
    assert all(
        r.filename and r.filename in r.detail and "linux_x86_64/cp311" in r.detail
        for r in tag_rejections
    )
    assert result.indexes_consulted == ("pytorch-cpu",)
    assert result.name == "torch"


@pytest.mark.parametrize("name", ["macos-arm64-cpu", "macos-arm64-gpu"])
def test_macos_gets_pypi_torch(seed_project: Project, seed: ResolvedTargets, name: str) -> None:
    target = seed.by_name(name)
    pages = pages_for(seed_project, target)
    assert [p.index for p in pages] == ["pypi"]  # the source marker excludes Darwin
    result = select_candidates(pages, target, seed_project.uv.index_strategy)
    assert summary(result) == [("2.5.1", "pypi", MAC_311)]
    assert (
        result.candidates[0].artifact.sha256
        == "31f8c39660962f9ae4eeec995e3049b5492eb7360dd4f07377658ef4d728fa4c"
    )
    assert version_rejections(result, RejectionKind.NO_ARTIFACT) == []


def test_linux_gpu_gets_pypi_torch(seed_project: Project, seed: ResolvedTargets) -> None:
    target = seed.by_name("linux-x86_64-gpu")
    pages = pages_for(seed_project, target)
    assert [p.index for p in pages] == ["pypi"]
    result = select_candidates(pages, target, seed_project.uv.index_strategy)
    assert summary(result) == [("2.5.1", "pypi", LINUX_311)]


def test_macos_on_the_cpu_index_gets_the_unlabelled_build(seed: ResolvedTargets) -> None:
    # The two builds of one version number are distinct candidates; macOS can only use one.
    result = select_candidates(
        [cpu_page()], seed.by_name("macos-arm64-cpu"), IndexStrategy.FIRST_INDEX
    )
    assert summary(result) == [("2.5.1", "pytorch-cpu", MAC_311)]
    (rejected,) = version_rejections(result, RejectionKind.NO_ARTIFACT)
    assert rejected[0] == "2.5.1+cpu"
    assert (
        rejected[2]
        == "no wheel for macosx_13_0_arm64/cp311 (torch 2.5.1+cpu on pytorch-cpu has: linux_x86_64, win_amd64)"
    )


def test_target_platform_labels(
    seed: ResolvedTargets, declared_target: Callable[[str, str], Target]
) -> None:
    assert target_platform_label(seed.by_name("linux-x86_64-cpu")) == "linux_x86_64/cp311"
    assert target_platform_label(seed.by_name("macos-arm64-gpu")) == "macosx_13_0_arm64/cp311"
    assert target_platform_label(declared_target("windows-x86_64", "3.12")) == "win_amd64/cp312"
    assert target_platform_label(declared_target("linux-aarch64", "3.13")) == "linux_aarch64/cp313"


def test_windows_target_on_the_cpu_index(declared_target: Callable[[str, str], Target]) -> None:
    target = declared_target("windows-x86_64", "3.11")
    result = select_candidates([cpu_page()], target, IndexStrategy.FIRST_INDEX)
    assert summary(result) == [
        ("2.5.1+cpu", "pytorch-cpu", "torch-2.5.1+cpu-cp311-cp311-win_amd64.whl")
    ]
    assert (
        "no wheel for win_amd64/cp311"
        in version_rejections(result, RejectionKind.NO_ARTIFACT)[0][2]
    )


def test_no_wheel_for_this_python_says_which_pythons_exist(
    declared_target: Callable[[str, str], Target],
) -> None:
    # PyPI has torch 2.5.1 for macOS only up to cp312.
    target = declared_target("macos-arm64", "3.13")
    result = select_candidates([pypi_page()], target, IndexStrategy.FIRST_INDEX)
    assert result.candidates == ()
    (rejected,) = version_rejections(result, RejectionKind.NO_ARTIFACT)
    assert rejected[2].startswith("no wheel for macosx_13_0_arm64/cp313 (torch 2.5.1 on pypi has: ")
    assert rejected[2].endswith(
        "; wheels for this platform exist only for cp39, cp310, cp311, cp312"
    )


def test_linux_aarch64_on_the_cpu_index(declared_target: Callable[[str, str], Target]) -> None:
    target = declared_target("linux-aarch64", "3.12")
    result = select_candidates([cpu_page()], target, IndexStrategy.FIRST_INDEX)
    assert summary(result) == [
        (
            "2.5.1",
            "pytorch-cpu",
            "torch-2.5.1-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
        )
    ]


# -- index strategies -------------------------------------------------------------------------
def test_first_index_uses_only_the_first_index_with_the_package(seed: ResolvedTargets) -> None:
    target = seed.by_name("linux-x86_64-gpu")
    result = select_candidates([cpu_page(), pypi_page()], target, IndexStrategy.FIRST_INDEX)
    assert summary(result) == [("2.5.1+cpu", "pytorch-cpu", CPU_311)]
    assert result.indexes_consulted == ("pytorch-cpu",)
    assert all(r.index == "pytorch-cpu" for r in result.rejections)


def test_first_index_skips_indexes_without_the_package(seed: ResolvedTargets) -> None:
    target = seed.by_name("linux-x86_64-gpu")
    result = select_candidates(
        [empty_page("private"), pypi_page(), cpu_page()], target, IndexStrategy.FIRST_INDEX
    )
    assert summary(result) == [("2.5.1", "pypi", LINUX_311)]
    assert result.indexes_consulted == ("private", "pypi")


def test_first_index_stops_even_when_nothing_fits(seed: ResolvedTargets) -> None:
    # The private index has torch, but only for macOS: the Linux target must not fall through
    # to PyPI (that would be dependency confusion).
    private = page_of("private", ["torch-9.0-cp311-none-macosx_11_0_arm64.whl"])
    result = select_candidates(
        [private, pypi_page()], seed.by_name("linux-x86_64-gpu"), IndexStrategy.FIRST_INDEX
    )
    assert result.candidates == ()
    assert result.indexes_consulted == ("private",)
    assert "no wheel for linux_x86_64/cp311 (torch 9.0 on private has: macosx_11_0_arm64)" in [
        r.detail for r in result.rejections
    ]


def test_first_index_stops_at_a_page_with_only_unusable_files(seed: ResolvedTargets) -> None:
    private = page_of("private", ["torch-9.0.win32.exe"])
    assert private.artifacts == () and len(private.skipped) == 1
    result = select_candidates(
        [private, pypi_page()], seed.by_name("linux-x86_64-gpu"), IndexStrategy.FIRST_INDEX
    )
    assert result.candidates == () and result.indexes_consulted == ("private",)


def test_first_index_when_no_index_has_the_package(seed: ResolvedTargets) -> None:
    result = select_candidates(
        [empty_page("a"), empty_page("b")],
        seed.by_name("linux-x86_64-gpu"),
        IndexStrategy.FIRST_INDEX,
    )
    assert result.candidates == () and result.rejections == ()
    assert result.indexes_consulted == ("a", "b")


def _older_torch_on_pypi() -> ProjectPage:
    return pypi_page(
        extra=[
            {
                "filename": "torch-2.4.1-cp311-cp311-manylinux1_x86_64.whl",
                "url": "a.whl",
                "hashes": {},
            },
            {
                "filename": "torch-2.4.1-cp311-none-macosx_11_0_arm64.whl",
                "url": "b.whl",
                "hashes": {},
            },
        ]
    )


def test_unsafe_first_match_takes_each_version_from_the_first_index_listing_it(
    seed: ResolvedTargets,
) -> None:
    target = seed.by_name("linux-x86_64-gpu")
    result = select_candidates(
        [cpu_page(), _older_torch_on_pypi()], target, IndexStrategy.UNSAFE_FIRST_MATCH
    )
    # 2.5.1 is listed on pytorch-cpu first (with no Linux x86_64 wheel): PyPI's 2.5.1 is never asked.
    assert summary(result) == [
        ("2.5.1+cpu", "pytorch-cpu", CPU_311),
        ("2.4.1", "pypi", "torch-2.4.1-cp311-cp311-manylinux1_x86_64.whl"),
    ]
    assert [(v, i) for v, i, _ in version_rejections(result, RejectionKind.NO_ARTIFACT)] == [
        ("2.5.1", "pytorch-cpu")
    ]
    assert not any(r.index == "pypi" and r.version == Version("2.5.1") for r in result.rejections)
    assert result.indexes_consulted == ("pytorch-cpu", "pypi")


def test_unsafe_best_match_takes_every_version_of_every_index(seed: ResolvedTargets) -> None:
    target = seed.by_name("linux-x86_64-gpu")
    result = select_candidates(
        [cpu_page(), _older_torch_on_pypi()], target, IndexStrategy.UNSAFE_BEST_MATCH
    )
    assert summary(result) == [
        ("2.5.1+cpu", "pytorch-cpu", CPU_311),
        ("2.5.1", "pypi", LINUX_311),
        ("2.4.1", "pypi", "torch-2.4.1-cp311-cp311-manylinux1_x86_64.whl"),
    ]
    assert result.indexes_consulted == ("pytorch-cpu", "pypi")


def test_same_version_on_two_indexes_is_two_candidates_in_index_order(
    seed: ResolvedTargets,
) -> None:
    # macOS: both indexes serve the byte-identical 2.5.1 wheel under the same name.
    target = seed.by_name("macos-arm64-cpu")
    best = select_candidates([pypi_page(), cpu_page()], target, IndexStrategy.UNSAFE_BEST_MATCH)
    assert summary(best) == [("2.5.1", "pypi", MAC_311), ("2.5.1", "pytorch-cpu", MAC_311)]
    assert best.candidates[0].artifact.sha256 == best.candidates[1].artifact.sha256
    assert best.candidates[0].key != best.candidates[1].key
    reverse = select_candidates([cpu_page(), pypi_page()], target, IndexStrategy.UNSAFE_BEST_MATCH)
    assert summary(reverse) == [("2.5.1", "pytorch-cpu", MAC_311), ("2.5.1", "pypi", MAC_311)]
    first = select_candidates([pypi_page(), cpu_page()], target, IndexStrategy.UNSAFE_FIRST_MATCH)
    # 2.5.1+cpu is a different version, so it is asked of pytorch-cpu (and does not fit macOS).
    assert summary(first) == [("2.5.1", "pypi", MAC_311)]
    assert [(v, i) for v, i, _ in version_rejections(first, RejectionKind.NO_ARTIFACT)] == [
        ("2.5.1+cpu", "pytorch-cpu")
    ]


# -- per-version rules ------------------------------------------------------------------------
def test_requires_python_rejections(seed: ResolvedTargets) -> None:
    target = seed.by_name("linux-x86_64-gpu")  # Python 3.11.0
    page = page_of(
        "pypi",
        [
            {
                "filename": "numpy-2.3.0-cp311-cp311-manylinux_2_28_x86_64.whl",
                "requires-python": ">=3.12",
            },
            {"filename": "numpy-2.3.0.tar.gz", "requires-python": ">=3.12"},
            {
                "filename": "numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                "requires-python": ">=3.10",
            },
            {
                "filename": "numpy-2.2.5-cp311-cp311-manylinux_2_17_x86_64.whl",
                "requires-python": ">=3.11.1",
            },
            {
                "filename": "numpy-1.0-py3-none-any.whl",
                "requires-python": ">=3.6.*",
            },  # invalid: admits
            {"filename": "numpy-0.9-py3-none-any.whl", "requires-python": "<3.11.0rc1"},
        ],
        project="numpy",
    )
    result = select_candidates([page], target, IndexStrategy.FIRST_INDEX)
    assert summary(result) == [
        ("2.2.6", "pypi", "numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
        ("1.0", "pypi", "numpy-1.0-py3-none-any.whl"),
    ]
    python_rejections = [
        (str(r.version), r.filename)
        for r in result.rejections
        if r.kind is RejectionKind.REQUIRES_PYTHON
    ]
    assert python_rejections == [
        ("2.3.0", "numpy-2.3.0-cp311-cp311-manylinux_2_28_x86_64.whl"),
        ("2.3.0", "numpy-2.3.0.tar.gz"),
        ("2.2.5", "numpy-2.2.5-cp311-cp311-manylinux_2_17_x86_64.whl"),
        ("0.9", "numpy-0.9-py3-none-any.whl"),
    ]
    detail = next(r.detail for r in result.rejections if r.kind is RejectionKind.REQUIRES_PYTHON)
    assert (
        detail
        == "numpy-2.3.0-cp311-cp311-manylinux_2_28_x86_64.whl requires Python >=3.12; the target has 3.11.0"
    )
    no_artifact = dict(
        ((v, d) for v, _, d in version_rejections(result, RejectionKind.NO_ARTIFACT))
    )
    assert set(no_artifact) == {"2.3.0", "2.2.5", "0.9"}
    assert no_artifact["2.3.0"] == (
        # Every file is for another Python: that, not the platform, is what the target lacks.
        "requires-python >=3.12 excludes Python 3.11.0 (numpy 2.3.0 on pypi has: manylinux_2_28_x86_64, and an sdist)"
    )


def test_sdist_fallback(seed: ResolvedTargets) -> None:
    target = seed.by_name("linux-x86_64-gpu")
    page = page_of(
        "pypi",
        [
            "pkg-1.0-cp311-cp311-macosx_11_0_arm64.whl",
            "pkg-1.0.zip",
            "pkg-1.0.tar.gz",
            "pkg-0.9-cp311-cp311-macosx_11_0_arm64.whl",
            "pkg-0.8-py3-none-any.whl",
            "pkg-0.8.tar.gz",
        ],
        project="pkg",
    )
    result = select_candidates([page], target, IndexStrategy.FIRST_INDEX)
    assert summary(result) == [
        ("1.0", "pypi", "pkg-1.0.tar.gz"),
        ("0.8", "pypi", "pkg-0.8-py3-none-any.whl"),
    ]
    assert result.candidates[0].artifact.kind is ArtifactKind.SDIST
    assert (
        result.candidates[1].artifact.kind is ArtifactKind.WHEEL
    )  # a fitting wheel beats the sdist
    assert [v for v, _, _ in version_rejections(result, RejectionKind.NO_ARTIFACT)] == ["0.9"]


def test_best_ranked_wheel_wins_deterministically(seed: ResolvedTargets) -> None:
    target = seed.by_name("linux-x86_64-gpu")  # glibc 2.28 floor: manylinux_2_28 ranks first
    files = [
        "fast-1.0-py3-none-any.whl",
        "fast-1.0-cp311-abi3-manylinux_2_17_x86_64.whl",
        "fast-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "fast-1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        "fast-1.0-cp311-cp311-manylinux_2_34_x86_64.whl",  # needs a newer glibc than the target's
        "fast-1.0-cp311-cp311-musllinux_1_2_x86_64.whl",
        # Same tag twice (two build numbers): the file name breaks the tie.
        "fast-0.9-2-cp311-cp311-manylinux_2_17_x86_64.whl",
        "fast-0.9-1-cp311-cp311-manylinux_2_17_x86_64.whl",
        "fast-0.9-py3-none-any.whl",
    ]
    expected = [
        ("1.0", "pypi", "fast-1.0-cp311-cp311-manylinux_2_28_x86_64.whl"),
        ("0.9", "pypi", "fast-0.9-1-cp311-cp311-manylinux_2_17_x86_64.whl"),
    ]
    shuffler = random.Random(9310)
    outcomes = set()
    for _ in range(10):
        shuffled = list(files)
        shuffler.shuffle(shuffled)
        result = select_candidates(
            [page_of("pypi", shuffled, project="fast")], target, IndexStrategy.FIRST_INDEX
        )
        assert summary(result) == expected
        outcomes.add(tuple(sorted((r.filename or "", r.detail) for r in result.rejections)))
    assert len(outcomes) == 1  # the same rejections, whatever the listing order
    tags_rejected = sorted(
        r.filename or "" for r in result.rejections if r.kind is RejectionKind.TAGS
    )
    assert tags_rejected == [
        "fast-1.0-cp311-cp311-manylinux_2_34_x86_64.whl",
        "fast-1.0-cp311-cp311-musllinux_1_2_x86_64.whl",
    ]


def test_on_macos_the_newest_fitting_macos_tag_wins(seed: ResolvedTargets) -> None:
    target = seed.by_name("macos-arm64-cpu")  # macOS 13 floor
    files = [
        "mac-1.0-cp311-cp311-macosx_10_9_universal2.whl",
        "mac-1.0-cp311-cp311-macosx_11_0_arm64.whl",
        "mac-1.0-cp311-cp311-macosx_14_0_arm64.whl",  # too new for macOS 13
    ]
    result = select_candidates(
        [page_of("pypi", files, project="mac")], target, IndexStrategy.FIRST_INDEX
    )
    assert summary(result) == [("1.0", "pypi", "mac-1.0-cp311-cp311-macosx_11_0_arm64.whl")]


def test_local_versions_are_distinct_candidates(seed: ResolvedTargets) -> None:
    target = seed.by_name("linux-x86_64-cpu")
    page = page_of(
        "mixed",
        [
            "torch-2.5.1-cp311-cp311-manylinux1_x86_64.whl",
            "torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl",
            "torch-2.5.1+cu124-cp311-cp311-linux_x86_64.whl",
            "torch-2.4.0+cpu-cp311-cp311-linux_x86_64.whl",
        ],
    )
    result = select_candidates([page], target, IndexStrategy.FIRST_INDEX)
    assert [str(c.version) for c in result.candidates] == [
        "2.5.1+cu124",
        "2.5.1+cpu",
        "2.5.1",
        "2.4.0+cpu",
    ]
    assert len({c.artifact.filename for c in result.candidates}) == 4


def test_all_files_yanked_keeps_a_yanked_candidate(seed: ResolvedTargets) -> None:
    target = seed.by_name("linux-x86_64-gpu")
    page = page_of(
        "pypi",
        [
            {"filename": "lib-2.0-py3-none-any.whl", "yanked": "broken import on 3.11"},
            {"filename": "lib-2.0.tar.gz", "yanked": True},
            {"filename": "lib-1.0-py3-none-any.whl"},
        ],
        project="lib",
    )
    result = select_candidates([page], target, IndexStrategy.FIRST_INDEX)
    assert [(str(c.version), c.artifact.filename, c.yanked) for c in result.candidates] == [
        ("2.0", "lib-2.0-py3-none-any.whl", True),
        ("1.0", "lib-1.0-py3-none-any.whl", False),
    ]
    assert version_rejections(result, RejectionKind.YANKED) == [
        (
            "2.0",
            "pypi",
            "lib 2.0 on pypi is yanked (broken import on 3.11); usable only when pinned with == or ===",
        )
    ]


def test_some_files_yanked_are_ignored(seed: ResolvedTargets) -> None:
    target = seed.by_name("linux-x86_64-gpu")
    page = page_of(
        "pypi",
        [
            {"filename": "lib-2.0-cp311-cp311-manylinux_2_28_x86_64.whl", "yanked": "bad wheel"},
            {"filename": "lib-2.0-py3-none-any.whl"},
            {
                "filename": "lib-2.0-cp311-none-macosx_11_0_arm64.whl",
                "yanked": True,
            },  # does not fit anyway
        ],
        project="lib",
    )
    result = select_candidates([page], target, IndexStrategy.FIRST_INDEX)
    assert [(c.artifact.filename, c.yanked) for c in result.candidates] == [
        ("lib-2.0-py3-none-any.whl", False)
    ]
    assert version_rejections(result, RejectionKind.YANKED) == []
    yanked_files = [
        (r.filename, r.detail) for r in result.rejections if r.kind is RejectionKind.YANKED
    ]
    assert yanked_files == [
        (
            "lib-2.0-cp311-cp311-manylinux_2_28_x86_64.whl",
            "lib-2.0-cp311-cp311-manylinux_2_28_x86_64.whl is yanked (bad wheel); another file of this version is used",
        )
    ]


def test_yanked_wheel_gives_way_to_a_sdist(seed: ResolvedTargets) -> None:
    target = seed.by_name("linux-x86_64-gpu")
    page = page_of(
        "pypi",
        [{"filename": "lib-2.0-py3-none-any.whl", "yanked": True}, "lib-2.0.tar.gz"],
        project="lib",
    )
    result = select_candidates([page], target, IndexStrategy.FIRST_INDEX)
    assert [(c.artifact.filename, c.yanked) for c in result.candidates] == [
        ("lib-2.0.tar.gz", False)
    ]


def test_no_wheel_message_is_compact(seed: ResolvedTargets) -> None:
    target = seed.by_name("linux-x86_64-gpu")
    platforms = [f"macosx_{major}_0_arm64" for major in range(11, 16)] + [
        "win_amd64",
        "win32",
        "musllinux_1_1_x86_64",
        "musllinux_1_2_x86_64",
        "linux_armv7l",
        "win_arm64",
    ]
    files = [f"wide-1.0-cp311-cp311-{p}.whl" for p in platforms] + [
        "wide-1.0-cp311-cp311-win_amd64.whl"
    ]
    result = select_candidates(
        [page_of("pypi", files, project="wide")], target, IndexStrategy.FIRST_INDEX
    )
    ((_, _, detail),) = version_rejections(result, RejectionKind.NO_ARTIFACT)
    listed = detail.split("has: ", 1)[1].rstrip(")")
    assert listed.endswith(", …")
    names = listed.split(", ")[:-1]
    assert len(names) == 8
    assert names == sorted(set(platforms))[:8]


def test_pages_must_be_of_one_project(seed: ResolvedTargets) -> None:
    target = seed.by_name("linux-x86_64-gpu")
    with pytest.raises(ValueError, match="at least one index"):
        select_candidates([], target, IndexStrategy.FIRST_INDEX)
    with pytest.raises(ValueError, match="different projects"):
        select_candidates(
            [empty_page("a"), empty_page("b", project="numpy")], target, IndexStrategy.FIRST_INDEX
        )


def test_selection_is_deterministic_across_calls(seed: ResolvedTargets) -> None:
    target = seed.by_name("linux-x86_64-cpu")
    pages = [cpu_page(), _older_torch_on_pypi()]
    first = select_candidates(pages, target, IndexStrategy.UNSAFE_BEST_MATCH)
    second = select_candidates(pages, target, IndexStrategy.UNSAFE_BEST_MATCH)
    assert first == second


def _oracle(page: ProjectPage, target: Target, prefer: tuple[str, str] | None = None) -> list[tuple[str, str, bool]]:
    """Rules 1-4 of planner/index/candidates.py, written out plainly per version; `prefer`:
    (version, file name) an earlier plan installed."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    def admits(requires_python: str | None) -> bool:
        if not requires_python:
            return True
        try:
            return SpecifierSet(requires_python).contains(target.python.full, prereleases=True)
        except InvalidSpecifier:
            return True

    rank = {tag: i for i, tag in enumerate(target.tags)}
    out = []
    for version in sorted({a.version for a in page.artifacts}, reverse=True):
        files = [a for a in page.artifacts if a.version == version and admits(a.requires_python)]
        wheels = [(min(rank[t] for t in a.tags if t in rank), a.filename, a) for a in files
                  if a.kind is ArtifactKind.WHEEL and any(t in rank for t in a.tags)]
        sdists = [a for a in files if a.kind is not ArtifactKind.WHEEL]
        usable = [a for _, _, a in wheels] + sdists
        if not usable:
            continue
        all_yanked = all(a.yanked is not None for a in usable)
        if not all_yanked:
            wheels = [w for w in wheels if w[2].yanked is None]
            sdists = [a for a in sdists if a.yanked is None]
        keepable = [a for _, _, a in wheels] if wheels else sdists
        kept = [a for a in keepable if prefer == (str(version), a.filename)]
        if kept:
            chosen = kept[0]
        elif wheels:
            chosen = min(wheels, key=lambda w: (w[0], w[1]))[2]
        else:
            chosen = min(sdists, key=lambda a: (not a.filename.endswith(".tar.gz"), a.filename))
        out.append((str(version), chosen.filename, all_yanked))
    return out


@pytest.mark.parametrize("yank_rate", [0.2, 0.0])  # 0: every page takes the path for pages without yanks
def test_selection_matches_the_rules_on_random_pages(
    seed: ResolvedTargets, declared_target: Callable[[str, str], Target], yank_rate: float
) -> None:
    """Random pages (tags of every platform, Requires-Python texts, sdists, yanked files, `1.0`
    next to `1.0.0`): the solver's path picks what the written-out rules pick, and the versions
    it leaves out are exactly those the explainer's path says have no fitting file."""
    tags = ["py3-none-any", "cp311-cp311-manylinux_2_17_x86_64", "cp312-abi3-manylinux_2_28_aarch64",
            "cp310-cp310-manylinux2014_aarch64", "py2.py3-none-any", "cp311-cp311-win32", "cp311-cp311-manylinux_2_28_x86_64",
            "cp311-cp311-manylinux_2_34_x86_64", "cp312-cp312-manylinux_2_17_x86_64",
            "cp311-abi3-macosx_11_0_arm64", "cp311-cp311-macosx_14_0_arm64", "cp311-cp311-win_amd64",
            "cp39-abi3-manylinux2014_aarch64", "cp310-cp310-musllinux_1_2_x86_64"]
    pythons = [None, ">=3.8", ">=3.12", "<3.11", ">=3.11,<3.12", "not a specifier"]
    versions = ["1.0", "1.0.0", "1.1", "2.0rc1", "2.0", "2.0.post1", "3.0"]
    shuffler = random.Random(751)
    # Targets that share a page's choices (same decisions on its files) and targets that do not.
    targets = [*seed, declared_target("linux-x86_64", "3.12"), declared_target("windows-x86_64", "3.11"),
               declared_target("linux-aarch64", "3.10")]
    for _ in range(60):
        files: list[str | dict[str, Any]] = []
        for version in shuffler.sample(versions, shuffler.randint(1, len(versions))):
            for n in range(shuffler.randint(1, 5)):
                name = (f"lib-{version}{shuffler.choice(['.tar.gz', '.zip'])}" if shuffler.random() < 0.2 else
                        f"lib-{version}-{n}-{shuffler.choice(tags)}.whl")
                entry: dict[str, Any] = {"filename": name}
                if (python := shuffler.choice(pythons)) is not None:
                    entry["requires-python"] = python
                if shuffler.random() < yank_rate:
                    entry["yanked"] = True
                if name not in [f["filename"] for f in files if isinstance(f, dict)]:
                    files.append(entry)
        page = page_of("pypi", files, project="lib")
        for target in targets:
            result = select_candidates([page], target, IndexStrategy.FIRST_INDEX)
            assert [(str(c.version), c.artifact.filename, c.yanked) for c in result.candidates] == \
                _oracle(page, target)
            unfit = {str(r.version) for r in result.rejections
                     if r.kind is RejectionKind.NO_ARTIFACT and r.filename is None}
            assert unfit == {str(v) for v in page.files.version_groups()} - {str(c.version) for c in result.candidates}
            # An earlier plan's file (any of the page's, fitting or not) is kept while it may be.
            preferred = shuffler.choice([a for a in page.artifacts])
            prefer = (str(preferred.version), preferred.filename)
            kept = select_candidates([page], target, IndexStrategy.FIRST_INDEX, prefer=[("pypi", *prefer)])
            assert [(str(c.version), c.artifact.filename, c.yanked) for c in kept.candidates] == \
                _oracle(page, target, prefer)
            # One version's candidates alone (the solver's fast path with pins), with and without
            # the earlier plan's file: those of the full selection.
            for preferring in ([("pypi", *prefer)], []):
                full = select_candidates([page], target, IndexStrategy.FIRST_INDEX, prefer=preferring)
                alone = select_candidates([page], target, IndexStrategy.FIRST_INDEX, prefer=preferring,
                                          only=preferred.version)
                assert alone.candidates == tuple(c for c in full.candidates if c.version == preferred.version)
                assert (alone.indexes_consulted, alone.undated) == (full.indexes_consulted, full.undated)


def test_candidates_make_their_artifact_when_first_read(seed: ResolvedTargets) -> None:
    """A candidate is made from its page's row; its `Artifact` is made when read, and it is the
    page's own (the file table hands out one object per row)."""
    target = seed.by_name("linux-x86_64-cpu")
    page = page_of("pypi", ["pkg-2.0-py3-none-any.whl", "pkg-1.0.tar.gz", "pkg-1.0-py3-none-any.whl"],
                   project="pkg")
    result = select_candidates([page], target, IndexStrategy.FIRST_INDEX)
    assert page.files._artifacts == {}  # selection itself made no artifact
    newest = result.candidates[0]
    assert newest.artifact.filename == "pkg-2.0-py3-none-any.whl"
    assert set(page.files._artifacts) == {0}
    assert newest.artifact is page.files[0]
    # Equal to a candidate made with its artifact at hand, and hashed alike; immutable.
    eager = Candidate(newest.name, newest.version, newest.index, page.files[0])
    assert newest == eager and hash(newest) == hash(eager)
    assert newest != Candidate(newest.name, newest.version, newest.index, page.files[1])
    assert newest != result.candidates[1]
    with pytest.raises(AttributeError):
        newest.version = Version("9")  # type: ignore[misc]
    again = select_candidates([page], target, IndexStrategy.FIRST_INDEX)
    assert again == result


def test_targets_that_decide_alike_share_a_pages_candidates(
    seed: ResolvedTargets, declared_target: Callable[[str, str], Target]
) -> None:
    """A pure-Python page fits every platform alike: its candidates are made once for all of
    them. A page of platform wheels is chosen per target."""
    linux, windows = declared_target("linux-x86_64", "3.11"), declared_target("windows-x86_64", "3.11")
    pure = page_of("pypi", ["lib-2.0-py3-none-any.whl", "lib-2.0.tar.gz", "lib-1.0.tar.gz",
                            {"filename": "lib-0.9-py3-none-any.whl", "requires-python": ">=3.12"}], project="lib")
    on_linux = select_candidates([pure], linux, IndexStrategy.FIRST_INDEX)
    on_windows = select_candidates([pure], windows, IndexStrategy.FIRST_INDEX)
    assert summary(on_linux) == [("2.0", "pypi", "lib-2.0-py3-none-any.whl"), ("1.0", "pypi", "lib-1.0.tar.gz")]
    assert on_windows.candidates is on_linux.candidates
    newer = declared_target("linux-x86_64", "3.12")  # admits 0.9 too: decides otherwise
    assert summary(select_candidates([pure], newer, IndexStrategy.FIRST_INDEX))[-1] == \
        ("0.9", "pypi", "lib-0.9-py3-none-any.whl")
    native = page_of("pypi", ["fast-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "fast-1.0-cp311-cp311-win_amd64.whl",
                              "fast-1.0-py3-none-any.whl"], project="fast")
    assert summary(select_candidates([native], linux, IndexStrategy.FIRST_INDEX)) == \
        [("1.0", "pypi", "fast-1.0-cp311-cp311-manylinux_2_17_x86_64.whl")]
    assert summary(select_candidates([native], windows, IndexStrategy.FIRST_INDEX)) == \
        [("1.0", "pypi", "fast-1.0-cp311-cp311-win_amd64.whl")]
