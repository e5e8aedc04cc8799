"""NVIDIA's CUDA driver rules, kept as data (docs/accelerators.md).

Sources (NVIDIA):
- "CUDA Toolkit and Corresponding Driver Versions", CUDA Toolkit release notes: the minimum Linux
  driver of each CUDA toolkit release (its GA release) -> `CUDA_MINIMUM_DRIVER`;
- "CUDA Compatibility", section "Minor Version Compatibility": from CUDA 11 on, software built
  with any release of a CUDA major version runs, with a limited feature set (no JIT of PTX made
  by the newer toolkit, no API the older driver lacks), on a driver of that major version's
  family at or above `CUDA_COMPATIBILITY_FLOOR` -> a 12.x driver never runs CUDA 13, a 13.x
  driver runs every 13.x runtime with that limited feature set.

The rule planner applies (`runtime_problem` in planner/targets/runtimes.py): a target stating
`cudaX.Y` runs CUDA runtimes of major X up to X.Y, i.e. what the driver of CUDA X.Y runs with the
full feature set; a newer X.* minor needs a newer driver for that (minor version compatibility
would run it limited, which planner does not count on), and another major never runs.
`cudaX` (no minor) accepts every X.* runtime: a driver of the X family runs them all, limited
where the runtime is newer than the driver. `cuda` accepts any CUDA runtime.

Updating: add a row to `CUDA_MINIMUM_DRIVER` for each new CUDA toolkit release (and to the floor
table for a new major), from the release notes' table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

# Minimum Linux x86_64 driver of each CUDA toolkit GA release.
CUDA_MINIMUM_DRIVER: Mapping[tuple[int, int], str] = MappingProxyType({
    (11, 0): "450.51.05",
    (11, 1): "455.23",
    (11, 2): "460.27.03",
    (11, 3): "465.19.01",
    (11, 4): "470.42.01",
    (11, 5): "495.29.05",
    (11, 6): "510.39.01",
    (11, 7): "515.43.04",
    (11, 8): "520.61.05",
    (12, 0): "525.60.13",
    (12, 1): "530.30.02",
    (12, 2): "535.54.03",
    (12, 3): "545.23.06",
    (12, 4): "550.54.14",
    (12, 5): "555.42.02",
    (12, 6): "560.28.03",
    (12, 8): "570.26",
    (12, 9): "575.51.03",
    (13, 0): "580.65.06",
    (13, 1): "590.44.01",
})
# Oldest driver that runs any release of a CUDA major version through minor version
# compatibility (limited feature set).
CUDA_COMPATIBILITY_FLOOR: Mapping[int, str] = MappingProxyType({11: "450.80.02", 12: "525.60.13", 13: "580.65.06"})

RULE_SOURCE = ("NVIDIA CUDA Compatibility guide, 'Minor Version Compatibility', and the CUDA Toolkit "
               "release notes' driver table")

_DRIVER_RE = re.compile(r"\d+(?:\.\d+){0,2}")


def driver_key(version: str) -> tuple[int, ...]:
    """`"550.54.14"` -> (550, 54, 14), for comparing driver versions."""
    return tuple(int(part) for part in version.split("."))


def is_driver_version(text: str) -> bool:
    return bool(_DRIVER_RE.fullmatch(text.strip())) and len(text.strip()) <= 20


def minimum_driver(major: int, minor: int | None) -> str | None:
    """The driver a CUDA release needs for its full feature set (None: not in the table)."""
    if minor is None:
        return CUDA_COMPATIBILITY_FLOOR.get(major)
    return CUDA_MINIMUM_DRIVER.get((major, minor))


def compatibility_floor(major: int) -> str | None:
    return CUDA_COMPATIBILITY_FLOOR.get(major)


def newest_cuda_for_driver(driver: str) -> tuple[int, int] | None:
    """The newest CUDA release whose full feature set `driver` supports (what `nvidia-smi` prints
    as "CUDA Version"), from the table; None for a driver older than CUDA 11.0's."""
    key = driver_key(driver)
    fitting = [release for release, minimum in CUDA_MINIMUM_DRIVER.items() if driver_key(minimum) <= key]
    return max(fitting) if fitting else None


def cuda_text(version: tuple[int, int | None]) -> str:
    major, minor = version
    return f"CUDA {major}" if minor is None else f"CUDA {major}.{minor}"
