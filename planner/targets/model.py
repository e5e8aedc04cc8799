"""Targets: named, concrete environments (platform, Python, accelerator, active extras/groups).

A `Target` carries everything later stages ask of it as plain data: its PEP 508 marker
environment and its ordered wheel tags. Nothing here looks at the machine planner runs on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from enum import StrEnum

from packaging.markers import Marker
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name

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
        # Bounded: wheel tags are generated for every minor below this one.
        match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})(?:\.(\d{1,3}))?", text.strip())
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
    AcceleratorKind.ROCM: {OperatingSystem.LINUX, OperatingSystem.WINDOWS},
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
    """One concrete environment the plan must install on.

    `accelerator` is the one the target *states* (declared, or derived from an extra named like
    `cpu` / `cu124`): a hard requirement on the runtimes its plan may install
    (planner/targets/runtimes.py). None states none: the plan may carry any runtime, and the
    summary says which it does."""

    name: str
    platform: Platform
    python: PythonVersion
    accelerator: Accelerator | None
    extras: tuple[NormalizedName, ...]
    groups: tuple[NormalizedName, ...]
    os_floor: tuple[int, int] | None  # glibc (Linux) or macOS version; None on Windows
    docker: DockerSettings
    derived: bool  # True when planner derived it (no [tool.planner.targets])
    environment: Mapping[str, str]
    tags: tuple[Tag, ...]
    origin: Location | None = None
    # The local packages it installs (the project, workspace members), by name; a project that
    # is no package (`tool.uv.package = false`, no build system) stands for its dependencies.
    packages: tuple[NormalizedName, ...] = ()
    # Where the accelerator is stated: the `accelerator` key, or the extra or group named for it.
    accelerator_origin: Location | None = None

    def evaluate(self, marker: Marker, extras: frozenset[str] = frozenset()) -> bool:
        """Evaluate a requirement marker on this target; `extras` are those requested with it."""
        # Thousands of requirements share a few markers (metadata parsing hands out one object
        # per distinct Requires-Dist line), and each is asked about for every extra of its
        # package: answer each marker once per extra it names, kept by object (and the object
        # with it, so that its id cannot be reused).
        return self._answers(marker).holds(extras)

    def evaluate_for_extra(self, marker: Marker, extra: str) -> bool:
        """`evaluate(marker, frozenset({extra}))`, without building the set."""
        return self._answers(marker).value(extra)

    def _answers(self, marker: Marker) -> _MarkerAnswers:
        entry = self._marker_answers.get(id(marker))
        if entry is None or entry[0] is not marker:
            entry = self._marker_answers[id(marker)] = (marker, _shared_answers(marker, self.environment))
        return entry[1]

    @cached_property
    def tag_ranks(self) -> dict[Tag, int]:
        """Each accepted wheel tag -> its position in `tags` (0: the most preferred)."""
        return {tag: position for position, tag in enumerate(self.tags)}

    @cached_property
    def _marker_answers(self) -> dict[int, tuple[Marker, _MarkerAnswers]]:
        return {}

    def description_parts(self, *, accelerator: bool = False) -> list[str]:
        """What sets the target apart, for messages and file headers: platform, Python, (the
        accelerator,) the extras and groups it activates."""
        parts = [self.platform.name, f"Python {self.python}"] + ([self.accelerator_text] if accelerator else [])
        if self.extras:
            parts.append("extras " + ", ".join(self.extras))
        if self.groups:
            parts.append("groups " + ", ".join(self.groups))
        return parts

    @property
    def accelerator_text(self) -> str:
        """The stated accelerator (`cuda12.4`), or "no accelerator stated"."""
        return str(self.accelerator) if self.accelerator is not None else "no accelerator stated"

    def activates(self, item: ConflictItem) -> bool:
        if item.kind is ConflictKind.PACKAGE:
            return item.name in self.packages
        return item.name in (self.extras if item.kind is ConflictKind.EXTRA else self.groups)

    @property
    def os_floor_text(self) -> str | None:
        if self.os_floor is None:
            return None
        if self.platform.os is OperatingSystem.LINUX:
            return f"glibc {self.os_floor[0]}.{self.os_floor[1]}"
        return f"macOS {self.os_floor[0]}.{self.os_floor[1]}"


# `extra == "x"` / `extra != "x"` in a marker's text (values are always double-quoted there).
_EXTRA_COMPARISON = re.compile(r'\bextra (?:==|!=) "([^"]*)"|"([^"]*)" (?:==|!=) extra\b')
_QUOTED = re.compile(r'"[^"]*"')
_OTHER_EXTRA = "\x00another extra"  # a name no marker can mention


class _MarkerAnswers:
    """One marker's value on one environment, for any requested extra. A marker that compares
    `extra` only with == / != has one value for every extra it does not name, so it is evaluated
    once for each extra it names and once for all others; any other use of `extra` (`in`, say)
    is evaluated per extra."""

    __slots__ = ("marker", "environment", "answers", "per_extra")

    def __init__(self, marker: Marker, environment: Mapping[str, str], text: str | None = None) -> None:
        self.marker = marker
        self.environment = environment
        text = str(marker) if text is None else text
        named = [canonicalize_name(a or b) for a, b in _EXTRA_COMPARISON.findall(text)]
        mentions = len(re.findall(r"\bextra\b", _QUOTED.sub("", text)))
        self.per_extra = mentions != len(named)
        self.answers: dict[str, bool] = {}
        if not self.per_extra:
            for extra in ("", *named, _OTHER_EXTRA):
                self.answers[extra] = self._evaluate(extra)

    def _evaluate(self, extra: str) -> bool:
        return self.marker.evaluate({**self.environment, "extra": extra})

    def holds(self, extras: frozenset[str]) -> bool:
        if not extras:
            return self.value("")
        return any(self.value(extra) for extra in sorted(extras))

    def value(self, extra: str) -> bool:
        """The marker's value with `extra` requested ("": none)."""
        answers = self.answers
        if extra not in answers:  # an extra the marker does not name, or one not in canonical form
            if self.per_extra:
                answers[extra] = self._evaluate(extra)
            else:
                answers[extra] = answers.get(canonicalize_name(extra), answers[_OTHER_EXTRA])
        return answers[extra]


# Answers shared by every target that agrees on the variables a marker names: (marker text,
# those variables' values) -> answers. Sixteen targets over four Pythons and four platforms
# evaluate `python_version < "3.12"` four times, not sixteen.
_SHARED_ANSWERS: dict[tuple[str, tuple[str, ...]], _MarkerAnswers] = {}
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


@lru_cache(maxsize=None)
def _named_variables(text: str) -> frozenset[str]:
    return frozenset(_IDENTIFIER.findall(_QUOTED.sub("", text)))


def _shared_answers(marker: Marker, environment: Mapping[str, str]) -> _MarkerAnswers:
    text = str(marker)
    named = _named_variables(text)
    key = (text, tuple(value for variable, value in sorted(environment.items()) if variable in named))
    answers = _SHARED_ANSWERS.get(key)
    if answers is None:
        # The marker's value depends only on the variables it names: any environment agreeing on
        # them gives the same answers (its other variables are never read).
        answers = _SHARED_ANSWERS[key] = _MarkerAnswers(marker, environment, text)
    return answers


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
