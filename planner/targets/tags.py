"""Ordered wheel tags a target accepts, most preferred first, computed for the target's platform.

`packaging.tags` builds the interpreter/ABI part; its manylinux list probes the running host's
glibc, so the Linux platform list is built here from the target's glibc floor instead.
"""

from __future__ import annotations

import re
from functools import lru_cache

from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms

from planner.targets.platforms import OperatingSystem, Platform

# Legacy manylinux names and the glibc version each stands for (PEP 600).
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
# The oldest glibc for which manylinux wheels of an architecture exist.
_FIRST_GLIBC = {"x86_64": (2, 5), "i686": (2, 5), "aarch64": (2, 17), "ppc64le": (2, 17), "s390x": (2, 17)}


def linux_platform_tags(arch: str, glibc: tuple[int, int]) -> list[str]:
    """`manylinux_2_<glibc>_<arch>` down to the first manylinux for `arch`, then `linux_<arch>`.

    Each legacy alias (manylinux2014/2010/1) comes right after the PEP 600 tag it equals, as pip
    and packaging order them.
    """
    major, newest_minor = glibc
    oldest_minor = _FIRST_GLIBC.get(arch, (2, 17))[1]
    tags: list[str] = []
    for minor in range(newest_minor, oldest_minor - 1, -1):
        tags.append(f"manylinux_{major}_{minor}_{arch}")
        legacy = _LEGACY_MANYLINUX.get((major, minor))
        if legacy and (arch in ("x86_64", "i686") or legacy == "manylinux2014"):
            tags.append(f"{legacy}_{arch}")
    tags.append(f"linux_{arch}")
    return tags


def platform_tags(platform: Platform, os_floor: tuple[int, int] | None) -> list[str]:
    """The platform parts of wheel tags the target accepts, best first."""
    if platform.os is OperatingSystem.LINUX:
        return linux_platform_tags(platform.arch, os_floor or platform.default_os_floor or (2, 17))
    if platform.os is OperatingSystem.MACOS:
        # Given an explicit version and arch, packaging computes these without asking the host.
        return list(mac_platforms(os_floor or platform.default_os_floor, platform.arch))
    return ["win_amd64"]


@lru_cache(maxsize=256)  # pure, and asked again for every target an explanation or fix makes
def wheel_tags(platform: Platform, python: tuple[int, int], os_floor: tuple[int, int] | None) -> tuple[Tag, ...]:
    """Every tag a CPython `python` interpreter on `platform` installs, most preferred first."""
    platforms = platform_tags(platform, os_floor)
    interpreter = f"cp{python[0]}{python[1]}"
    tags = list(cpython_tags(python, abis=[interpreter], platforms=platforms))
    tags.extend(compatible_tags(python, interpreter, platforms))
    seen: set[Tag] = set()
    return tuple(tag for tag in tags if not (tag in seen or seen.add(tag)))


_PLATFORM_RE = re.compile(r"(?:many|musl)?linux(?:_\d+_\d+|1|2010|2014)?_(?P<linux>.+)|macosx_\d+_\d+_(?P<mac>.+)"
                          r"|(?P<win>win32|win_amd64|win_arm64)")
_MAC_MACHINES = {"universal2": ("arm64", "x86_64"), "universal": ("arm64", "x86_64"), "intel": ("x86_64",)}
_WINDOWS_MACHINES = {"win32": "x86", "win_amd64": "AMD64", "win_arm64": "ARM64"}


def tags_marker(tags: frozenset[Tag]) -> str | None:
    """A PEP 508 marker true on the machines a wheel with these tags installs on (its platforms
    and, for a CPython-specific build, its Python), for "restrict this requirement" fixes; None
    when the tags say nothing a marker can tell (a pure-Python wheel)."""
    terms: set[str] = set()
    for tag in tags:
        parts: list[str] = []
        match = _PLATFORM_RE.fullmatch(tag.platform)
        if tag.platform != "any" and match is None:
            return None
        if match is not None and match.group("linux"):
            parts += ["sys_platform == 'linux'", f"platform_machine == '{match.group('linux')}'"]
        elif match is not None and match.group("mac"):
            machines = _MAC_MACHINES.get(match.group("mac"), (match.group("mac"),))
            parts.append("sys_platform == 'darwin'")
            parts.append(" or ".join(f"platform_machine == '{m}'" for m in machines) if len(machines) == 1
                         else "(" + " or ".join(f"platform_machine == '{m}'" for m in machines) + ")")
        elif match is not None:
            parts += ["sys_platform == 'win32'", f"platform_machine == '{_WINDOWS_MACHINES[match.group('win')]}'"]
        version = re.fullmatch(r"cp(\d)(\d+)", tag.interpreter)
        if version is not None:
            operator = ">=" if tag.abi == "abi3" else "=="
            parts.append(f"python_version {operator} '{version.group(1)}.{version.group(2)}'")
        if not parts:
            return None  # one of its tags installs anywhere
        terms.add(" and ".join(parts))
    if not terms:
        return None
    ordered = sorted(terms)
    return ordered[0] if len(ordered) == 1 else " or ".join(f"({term})" for term in ordered)
