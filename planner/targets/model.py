"""Targets: named, concrete environments (platform, Python, accelerator, active extras/groups).

A `Target` carries everything later stages ask of it as plain data: its PEP 508 marker
environment and its ordered wheel tags. Nothing here looks at the machine planner runs on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from enum import StrEnum

from packaging.markers import Marker
from packaging.tags import Tag
from packaging.utils import NormalizedName

from planner.errors import Location
from planner.project.model import ConflictItem, ConflictKind, DockerSettings
from planner.targets.platforms import OperatingSystem, Platform


@dataclass(frozen=True, order=True)
class PythonVersion:
    """A CPython minor version and the full version markers see (`python_full_version`)."""

    major: int
    minor: int
    micro: int = 0

    @classmethod
    def parse(cls, text: str) -> PythonVersion:
        match = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
        if not match:
            raise ValueError(f"'{text}' is not a Python version like \"3.11\" or \"3.11.9\"")
        major, minor, micro = match.groups()
        return cls(int(major), int(minor), int(micro or 0))

    @property
    def minor_tuple(self) -> tuple[int, int]:
        return (self.major, self.minor)

    @property
    def short(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def full(self) -> str:
        return f"{self.major}.{self.minor}.{self.micro}"

    def __str__(self) -> str:
        return self.short


class AcceleratorKind(StrEnum):
    CPU = "cpu"
    CUDA = "cuda"
    ROCM = "rocm"
    XPU = "xpu"
    MPS = "mps"


_ACCELERATOR_RE = re.compile(r"(cpu|cuda|rocm|xpu|mps)(\d+(?:\.\d+)*)?")
_ACCELERATOR_OS = {
    AcceleratorKind.CPU: set(OperatingSystem),
    AcceleratorKind.CUDA: {OperatingSystem.LINUX, OperatingSystem.WINDOWS},
    AcceleratorKind.ROCM: {OperatingSystem.LINUX},
    AcceleratorKind.XPU: {OperatingSystem.LINUX, OperatingSystem.WINDOWS},
    AcceleratorKind.MPS: {OperatingSystem.MACOS},
}


@dataclass(frozen=True)
class Accelerator:
    """What the target computes on: `cpu`, `cuda12.4`, `rocm6.2`, `xpu`, `mps` (Apple GPUs)."""

    kind: AcceleratorKind
    version: str | None = None

    @classmethod
    def parse(cls, text: str) -> Accelerator:
        match = _ACCELERATOR_RE.fullmatch(text.strip().lower())
        if not match or (match.group(1) in ("cpu", "mps") and match.group(2)):
            raise ValueError(f"'{text}' is not an accelerator")
        return cls(AcceleratorKind(match.group(1)), match.group(2))

    def runs_on(self, os: OperatingSystem) -> bool:
        return os in _ACCELERATOR_OS[self.kind]

    @property
    def is_gpu(self) -> bool:
        return self.kind is not AcceleratorKind.CPU

    def __str__(self) -> str:
        return f"{self.kind.value}{self.version or ''}"


@dataclass(frozen=True)
class Target:
    """One concrete environment the plan must install on."""

    name: str
    platform: Platform
    python: PythonVersion
    accelerator: Accelerator
    extras: tuple[NormalizedName, ...]
    groups: tuple[NormalizedName, ...]
    os_floor: tuple[int, int] | None  # glibc (Linux) or macOS version; None on Windows
    docker: DockerSettings
    derived: bool  # True when planner derived it (no [tool.planner.targets])
    environment: Mapping[str, str]
    tags: tuple[Tag, ...]
    origin: Location | None = None

    def evaluate(self, marker: Marker, extras: frozenset[str] = frozenset()) -> bool:
        """Evaluate a requirement marker on this target; `extras` are those requested with it."""
        # The same few markers recur across thousands of requirements (every file of a package
        # repeats its extras' markers): remember each answer by the marker's text.
        key = (str(marker), extras)
        answer = self._marker_answers.get(key)
        if answer is None:
            if not extras:
                answer = marker.evaluate({**self.environment, "extra": ""})
            else:
                answer = any(marker.evaluate({**self.environment, "extra": extra}) for extra in sorted(extras))
            self._marker_answers[key] = answer
        return answer

    @cached_property
    def _marker_answers(self) -> dict[tuple[str, frozenset[str]], bool]:
        return {}

    def description_parts(self, *, accelerator: bool = False) -> list[str]:
        """What sets the target apart, for messages and file headers: platform, Python, (the
        accelerator,) the extras and groups it activates."""
        parts = [self.platform.name, f"Python {self.python}"] + ([str(self.accelerator)] if accelerator else [])
        if self.extras:
            parts.append("extras " + ", ".join(self.extras))
        if self.groups:
            parts.append("groups " + ", ".join(self.groups))
        return parts

    def activates(self, item: ConflictItem) -> bool:
        return item.name in (self.extras if item.kind is ConflictKind.EXTRA else self.groups)

    @property
    def os_floor_text(self) -> str | None:
        if self.os_floor is None:
            return None
        if self.platform.os is OperatingSystem.LINUX:
            return f"glibc {self.os_floor[0]}.{self.os_floor[1]}"
        return f"macOS {self.os_floor[0]}.{self.os_floor[1]}"


def marker_environment(platform: Platform, python: PythonVersion) -> dict[str, str]:
    """The full PEP 508 environment of a CPython `python` on `platform`.

    `platform_release` and `platform_version` describe a kernel build no target pins down; they
    are empty, so markers comparing them are false rather than true by accident.
    """
    return {
        "implementation_name": "cpython",
        "implementation_version": python.full,
        "os_name": platform.os_name,
        "platform_machine": platform.platform_machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": platform.platform_system,
        "platform_version": "",
        "python_full_version": python.full,
        "python_version": python.short,
        "sys_platform": platform.sys_platform,
    }
