"""The written plan (`plan.json`) as `planner why`, `why-not` and `tree` read it: per target, each
package with its version, index, extras and the requirements on it, and the direct requirements
held below their newest version. Read without the network or the solver, and validated: a file
that does not read back is an input error naming it (the answer cannot be trusted otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from planner.errors import InputError
from planner.previous.read import Invalid, _expect, _name, _version, plan_document

PROJECT = "<project>"


@dataclass(frozen=True)
class WrittenRequirement:
    by: str  # a package name, or PROJECT
    requirement: str  # as written, without marker ("starlette<0.39,>=0.37.2")
    via: str | None = None
    at: str | None = None  # where a local, git or URL package's pyproject writes it

    @property
    def specifier(self) -> SpecifierSet:
        try:
            return Requirement(self.requirement).specifier
        except InvalidRequirement:
            return SpecifierSet()


@dataclass(frozen=True)
class WrittenPackage:
    name: NormalizedName
    version: Version
    index: str
    extras: tuple[str, ...]
    required_by: tuple[str, ...]
    requirements: tuple[WrittenRequirement, ...]
    commit: str | None = None  # a git package's commit


@dataclass(frozen=True)
class WrittenHold:
    package: NormalizedName
    version: Version
    newest: Version
    cause: str
    reason: str


@dataclass(frozen=True)
class WrittenTarget:
    name: str
    packages: dict[NormalizedName, WrittenPackage]
    holds: dict[NormalizedName, WrittenHold]


@dataclass(frozen=True)
class WrittenPlan:
    path: Path
    project: str
    resolution: str
    targets: dict[str, WrittenTarget]
    held_back: tuple[tuple[str, str, str, str, str], ...]  # (package, target, version, newest, reason)
    inputs: dict[str, Any]


def read_written_plan(path: Path) -> WrittenPlan:
    try:
        return _written(path)
    except Invalid as exc:
        raise InputError(f"{path} is not a plan planner can read ({exc})",
                         fix="run planner compile to write it again, or pass --fresh to solve instead") from None


def _written(path: Path) -> WrittenPlan:
    document = plan_document(path)
    targets: dict[str, WrittenTarget] = {}
    for t, entry in enumerate(_expect(document.get("targets"), list, "targets")):
        where = f"targets[{t}]"
        _expect(entry, dict, where)
        name = _expect(_expect(entry.get("target"), dict, f"{where}.target").get("name"), str, f"{where}.target.name")
        packages: dict[NormalizedName, WrittenPackage] = {}
        for p, raw in enumerate(_expect(entry.get("packages"), list, f"{where}.packages")):
            package = _package(raw, f"{where}.packages[{p}]")
            packages[package.name] = package
        holds: dict[NormalizedName, WrittenHold] = {}
        for h, raw in enumerate(_expect(entry.get("below_newest", []), list, f"{where}.below_newest")):
            at = f"{where}.below_newest[{h}]"
            _expect(raw, dict, at)
            hold = WrittenHold(_name(raw.get("package"), f"{at}.package"), _version(raw.get("version"), f"{at}.version"),
                               _version(raw.get("newest"), f"{at}.newest"), _expect(raw.get("cause"), str, f"{at}.cause"),
                               _expect(raw.get("reason", ""), str, f"{at}.reason"))
            holds[hold.package] = hold
        targets[name] = WrittenTarget(name, packages, holds)
    held = []
    for h, raw in enumerate(_expect(document.get("held_back", []), list, "held_back")):
        _expect(raw, dict, f"held_back[{h}]")
        held.append(tuple(_expect(raw.get(k), str, f"held_back[{h}].{k}")
                          for k in ("package", "target", "version", "newest", "reason")))
    return WrittenPlan(path, _expect(document.get("project"), str, "project"),
                       _expect(document.get("resolution", "highest"), str, "resolution"), targets,
                       tuple(held), _expect(document.get("inputs", {}), dict, "inputs"))  # type: ignore[arg-type]


def _package(raw: Any, where: str) -> WrittenPackage:
    _expect(raw, dict, where)
    requirements = []
    for r, item in enumerate(_expect(raw.get("requirements", []), list, f"{where}.requirements")):
        at = f"{where}.requirements[{r}]"
        _expect(item, dict, at)
        via, written_at = item.get("via"), item.get("at")
        requirements.append(WrittenRequirement(_expect(item.get("by"), str, f"{at}.by"),
                                               _expect(item.get("requirement"), str, f"{at}.requirement"),
                                               None if via is None else _expect(via, str, f"{at}.via"),
                                               None if written_at is None else _expect(written_at, str, f"{at}.at")))
    artifact = raw.get("artifact")
    git = artifact.get("git") if isinstance(artifact, dict) else None
    commit = git.get("commit") if isinstance(git, dict) else None
    return WrittenPackage(
        name=_name(raw.get("name"), f"{where}.name"),
        version=_version(raw.get("version"), f"{where}.version"),
        index=_expect(raw.get("index"), str, f"{where}.index"),
        extras=tuple(_expect(e, str, f"{where}.extras") for e in _expect(raw.get("extras", []), list, f"{where}.extras")),
        required_by=tuple(_expect(e, str, f"{where}.required_by")
                          for e in _expect(raw.get("required_by", []), list, f"{where}.required_by")),
        requirements=tuple(requirements),
        commit=commit if isinstance(commit, str) and commit.isalnum() else None,
    )
