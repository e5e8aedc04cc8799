"""What a new plan changes against the previous one, target by target (`planner compile` prints
it; `--dry-run` and `--locked` report it).

A package is added (`+ httpx 0.28.1`), removed (`- six`), or changed (`~ certifi 2024.12.14 →
2026.10.19`: another version, index, or file of the same version). A target the previous plan
did not have is new; one it had that the new plan does not cover is removed. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from planner.plan.model import Plan, PlannedPackage
from planner.previous.model import Pin, Pins


@dataclass(frozen=True)
class PackageChange:
    kind: str  # "+", "-", "~"
    package: str
    old: str | None = None  # "2024.12.14", "2.5.1 [pypi]", a file name for a file change
    new: str | None = None

    def __str__(self) -> str:
        if self.kind == "+":
            return f"+ {self.package} {self.new}"
        if self.kind == "-":
            return f"- {self.package}"
        return f"~ {self.package} {self.old} → {self.new}"


@dataclass(frozen=True)
class TargetChanges:
    target: str
    status: str  # "changed", "new" (no previous plan for it), "removed" (no longer compiled)
    changes: tuple[PackageChange, ...] = ()

    def lines(self) -> list[str]:
        if self.status == "removed":
            return [f"{self.target}: target removed"]
        head = f"{self.target}:" if self.status == "changed" else f"{self.target} (new target):"
        return [head, *(f"  {change}" for change in self.changes)]


def plan_changes(previous: Mapping[str, Pins] | None, plan: Plan, compiled: Sequence[str] | None = None) -> tuple[TargetChanges, ...]:
    """The changes per target; targets without any are left out. `previous`: the earlier plan's
    packages per target (None: there is none, every target is new); `compiled`: the targets this
    run covers (the others of the previous plan are removed unless listed), default the plan's."""
    previous = previous or {}
    out: list[TargetChanges] = []
    for target_plan in plan.targets:
        name = target_plan.target.name
        if name not in previous:
            changes = tuple(PackageChange("+", p.name, new=_version(p)) for p in target_plan.packages)
            out.append(TargetChanges(name, "new", changes))
            continue
        changes = _changes(previous[name], target_plan.packages)
        if changes:
            out.append(TargetChanges(name, "changed", changes))
    covered = set(compiled) if compiled is not None else {t.target.name for t in plan.targets}
    for name in sorted(set(previous) - covered):
        out.append(TargetChanges(name, "removed"))
    return tuple(out)


def _changes(pins: Pins, packages: Sequence[PlannedPackage]) -> tuple[PackageChange, ...]:
    now = {p.name: p for p in packages}
    out: list[PackageChange] = []
    for name in sorted(set(pins) | set(now)):
        pin, planned = pins.get(name), now.get(name)
        if pin is None and planned is not None:
            out.append(PackageChange("+", name, new=_version(planned)))
        elif planned is None:
            out.append(PackageChange("-", name))
        elif pin is not None:
            change = _difference(pin, planned)
            if change is not None:
                out.append(change)
    return tuple(out)


def _difference(pin: Pin, planned: PlannedPackage) -> PackageChange | None:
    index_moved = pin.index is not None and pin.index != planned.index
    if pin.version != planned.version or index_moved or str(pin.version) != str(planned.version):
        if index_moved:
            return PackageChange("~", planned.name, f"{pin.version} [{pin.index}]", f"{planned.version} [{planned.index}]")
        return PackageChange("~", planned.name, str(pin.version), str(planned.version))
    if pin.filename is not None and pin.filename != planned.artifact.filename:
        return PackageChange("~", planned.name, f"{pin.version} ({pin.filename})", f"{planned.version} ({planned.artifact.filename})")
    if pin.sha256 is not None and planned.artifact.sha256 is not None and pin.sha256 != planned.artifact.sha256:
        return PackageChange("~", planned.name, f"{pin.version} (sha256 {pin.sha256[:12]}…)",
                             f"{planned.version} (sha256 {planned.artifact.sha256[:12]}…)")
    return None


def _version(package: PlannedPackage) -> str:
    return str(package.version)
