"""The platforms a target can name, and the facts about each that markers and wheel tags need.

A platform is data about a *kind of machine*, never the machine planner runs on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OperatingSystem(StrEnum):
    LINUX = "linux"
    MACOS = "macos"
    WINDOWS = "windows"


@dataclass(frozen=True)
class Platform:
    name: str  # as written in [tool.planner.targets.*] platform
    os: OperatingSystem
    arch: str  # the wheel-tag architecture: x86_64, aarch64, arm64, amd64
    sys_platform: str
    platform_system: str
    platform_machine: str
    os_name: str
    # Oldest OS release the platform defaults to: glibc for Linux, macOS version for macOS.
    default_os_floor: tuple[int, int] | None


PLATFORMS: dict[str, Platform] = {
    p.name: p
    for p in (
        # glibc 2.28 is manylinux_2_28, the floor uv assumes for Linux targets and the one most
        # current wheels (torch, numpy, scipy) are built for.
        Platform("linux-x86_64", OperatingSystem.LINUX, "x86_64", "linux", "Linux", "x86_64", "posix", (2, 28)),
        Platform("linux-aarch64", OperatingSystem.LINUX, "aarch64", "linux", "Linux", "aarch64", "posix", (2, 28)),
        # macOS 13 is uv's default too: the oldest macOS release Apple still updates.
        Platform("macos-arm64", OperatingSystem.MACOS, "arm64", "darwin", "Darwin", "arm64", "posix", (13, 0)),
        Platform("macos-x86_64", OperatingSystem.MACOS, "x86_64", "darwin", "Darwin", "x86_64", "posix", (13, 0)),
        Platform("windows-x86_64", OperatingSystem.WINDOWS, "amd64", "win32", "Windows", "AMD64", "nt", None),
    )
}

# Platforms of derived targets when the pyproject declares none (see docs/targets.md).
DEFAULT_PLATFORMS = ("linux-x86_64", "macos-arm64")
