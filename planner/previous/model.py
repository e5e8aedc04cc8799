"""The previous plan as the compiler uses it: per target, the pins to keep, and the recorded
exclude-newer cut-offs. Plain immutable values, already validated (planner/previous/read.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import NormalizedName
from packaging.version import Version

from planner.project.cutoffs import RecordedCutoff
from planner.project.model import frozen_mapping


@dataclass(frozen=True)
class Pin:
    """A package an earlier plan installed on a target: the (version, index, artifact) to keep."""

    name: NormalizedName
    version: Version
    index: str | None  # index name; None when the lock names an index the project does not declare
    filename: str | None = None
    sha256: str | None = None

    def describe(self) -> str:
        return f"{self.version}" + (f" [{self.index}]" if self.index else "")


Pins = Mapping[NormalizedName, Pin]


@dataclass(frozen=True)
class GitPin:
    """A git package an earlier plan installed: the commit its repository's ref resolved to."""

    name: NormalizedName
    repository: str  # as the outputs name it (no credentials)
    requested: str | None  # the ref as written (branch, tag or rev); None: the default branch
    commit: str  # a full commit id


@dataclass(frozen=True)
class PreviousPlan:
    """What the previous outputs pinned, target by target."""

    source: Path  # the file it was read from
    targets: Mapping[str, Pins]  # target name -> package -> pin
    exclude_newer: RecordedCutoff | None = None
    # package -> its recorded cut-off (None: `false`, no cut-off)
    exclude_newer_package: Mapping[NormalizedName, RecordedCutoff | None] = field(default_factory=frozen_mapping)
    git: tuple[GitPin, ...] = ()  # the commits of git packages, on any target

    def pins(self, target: str) -> Pins:
        return self.targets.get(target, frozen_mapping())
