"""Wheel tags are computed for the target's platform, never the host's."""

from __future__ import annotations

import pytest
from packaging.tags import Tag, parse_tag
from packaging.utils import parse_wheel_filename

from planner.targets.platforms import PLATFORMS
from planner.targets.tags import linux_platform_tags, wheel_tags


def tags_for(platform: str, python=(3, 11), floor=None) -> tuple[Tag, ...]:
    return wheel_tags(PLATFORMS[platform], python, floor)


def accepts(tags: tuple[Tag, ...], wheel: str) -> bool:
    _, _, _, wheel_tagset = parse_wheel_filename(wheel)
    return bool(wheel_tagset & set(tags))


@pytest.mark.parametrize(
    "wheel",
    [
        "torch-2.5.1-cp311-cp311-manylinux1_x86_64.whl",
        "torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl",
        "numpy-2.1.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "pillow-11.0.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        "cryptography-43.0.0-cp39-abi3-manylinux_2_28_x86_64.whl",
        "six-1.16.0-py2.py3-none-any.whl",
    ],
)
def test_linux_x86_64_accepts(wheel: str) -> None:
    assert accepts(tags_for("linux-x86_64"), wheel)


@pytest.mark.parametrize(
    "wheel",
    [
        "torch-2.5.1-cp311-cp311-win_amd64.whl",
        "torch-2.5.1-cp311-none-macosx_11_0_arm64.whl",
        "torch-2.5.1-cp311-cp311-manylinux2014_aarch64.whl",
        "torch-2.5.1-cp312-cp312-manylinux1_x86_64.whl",  # another Python
        "numpy-2.1.3-cp311-cp311-manylinux_2_31_x86_64.whl",  # newer glibc than the 2.28 floor
        "numpy-2.1.3-cp311-cp311-musllinux_1_2_x86_64.whl",
    ],
)
def test_linux_x86_64_rejects(wheel: str) -> None:
    assert not accepts(tags_for("linux-x86_64"), wheel)


def test_macos_arm64_accepts_torch_and_rejects_others() -> None:
    tags = tags_for("macos-arm64")
    assert Tag("cp311", "none", "macosx_11_0_arm64") in tags
    assert accepts(tags, "torch-2.5.1-cp311-none-macosx_11_0_arm64.whl")
    assert accepts(tags, "numpy-2.1.3-cp311-cp311-macosx_10_9_universal2.whl")
    assert not accepts(tags, "torch-2.5.1-cp311-cp311-win_amd64.whl")
    assert not accepts(tags, "numpy-2.1.3-cp311-cp311-macosx_10_9_x86_64.whl")
    assert not accepts(tags, "numpy-2.1.3-cp311-cp311-macosx_14_0_arm64.whl")  # newer than 13.0


def test_macos_floor_is_configurable() -> None:
    assert accepts(tags_for("macos-arm64", floor=(14, 0)), "numpy-2.1.3-cp311-cp311-macosx_14_0_arm64.whl")
    assert not accepts(tags_for("macos-arm64", floor=(11, 0)), "numpy-2.1.3-cp311-cp311-macosx_12_0_arm64.whl")


def test_win_amd64_wheel_fits_only_windows() -> None:
    wheel = "torch-2.5.1-cp311-cp311-win_amd64.whl"
    assert accepts(tags_for("windows-x86_64"), wheel)
    for platform in ("linux-x86_64", "linux-aarch64", "macos-arm64", "macos-x86_64"):
        assert not accepts(tags_for(platform), wheel), platform


def test_linux_tags_include_legacy_aliases_in_order() -> None:
    tags = linux_platform_tags("x86_64", (2, 28))
    assert tags[0] == "manylinux_2_28_x86_64"
    assert tags[-1] == "linux_x86_64"
    for alias, pep600 in (("manylinux2014_x86_64", "manylinux_2_17_x86_64"),
                          ("manylinux2010_x86_64", "manylinux_2_12_x86_64"),
                          ("manylinux1_x86_64", "manylinux_2_5_x86_64")):
        assert tags.index(alias) == tags.index(pep600) + 1


def test_aarch64_starts_at_manylinux2014() -> None:
    tags = linux_platform_tags("aarch64", (2, 28))
    assert "manylinux2014_aarch64" in tags
    assert "manylinux1_aarch64" not in tags and "manylinux2010_aarch64" not in tags
    assert tags[-3:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64", "linux_aarch64"]
    assert accepts(tags_for("linux-aarch64"), "torch-2.5.1-cp311-cp311-manylinux2014_aarch64.whl")
    assert not accepts(tags_for("linux-aarch64"), "torch-2.5.1-cp311-cp311-manylinux1_x86_64.whl")


def test_glibc_floor_bounds_manylinux() -> None:
    old = tags_for("linux-x86_64", floor=(2, 17))
    assert accepts(old, "x-1-cp311-cp311-manylinux2014_x86_64.whl")
    assert not accepts(old, "x-1-cp311-cp311-manylinux_2_28_x86_64.whl")


def test_tags_are_ordered_most_specific_first_and_unique() -> None:
    tags = tags_for("linux-x86_64")
    assert tags[0] == next(iter(parse_tag("cp311-cp311-manylinux_2_28_x86_64")))
    assert tags.index(Tag("cp311", "cp311", "linux_x86_64")) < tags.index(Tag("cp311", "abi3", "manylinux_2_28_x86_64"))
    assert tags.index(Tag("cp311", "none", "any")) < tags.index(Tag("py3", "none", "any"))
    assert len(tags) == len(set(tags))


def test_python_version_changes_interpreter_tags() -> None:
    tags = tags_for("linux-x86_64", python=(3, 13))
    assert Tag("cp313", "cp313", "manylinux1_x86_64") in tags
    assert Tag("cp311", "cp311", "manylinux1_x86_64") not in tags
    assert Tag("cp311", "abi3", "manylinux1_x86_64") in tags  # abi3 wheels of older CPythons


def test_tags_do_not_depend_on_the_host(monkeypatch) -> None:
    import platform as host_platform

    monkeypatch.setattr(host_platform, "mac_ver", lambda: ("10.9", ("", "", ""), "x86_64"))
    monkeypatch.setattr(host_platform, "machine", lambda: "riscv64")
    assert tags_for("macos-arm64")[0] == Tag("cp311", "cp311", "macosx_13_0_arm64")
    assert tags_for("linux-x86_64")[0] == Tag("cp311", "cp311", "manylinux_2_28_x86_64")
