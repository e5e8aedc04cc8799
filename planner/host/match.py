"""Which target a machine is, and why the others are not (pure: facts in, a report out).

A target fits when the machine has its platform, its Python minor version (at least its patch
release), at least its OS floor (glibc or macOS), and what its accelerator needs:

- the GPU runtime its plan carries (from `plan.json`, when compiled), else the accelerator it
  states: CUDA needs an NVIDIA driver that supports that CUDA version (NVIDIA's driver table,
  planner/targets/cuda.py); ROCm needs ROCm of the same major version; Apple's GPU needs macOS;
- a CPU target, or one whose plan carries no GPU runtime, runs on any machine of its platform.

Among the targets that fit, the one that uses the machine best wins: a GPU target on a machine
with that GPU (the newest runtime the driver supports first), a CPU target on a machine without
one; a CPU target on a GPU machine, or a CUDA-carrying plan on a machine without NVIDIA, fits but
ranks lower (and says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from planner.host.probes import HostFacts
from planner.targets.cuda import minimum_driver
from planner.targets.model import AcceleratorKind, PythonVersion, Target
from planner.targets.runtimes import kind_text, parse_version


@dataclass(frozen=True)
class TargetFacts:
    """What matching needs of a target: its definition, and what its plan carries if compiled."""

    target: Target
    runtime_kind: AcceleratorKind | None = None  # None: no GPU runtime (or not compiled)
    runtime_version: tuple[int | None, int | None] = (None, None)
    compiled: bool = False
    extras: tuple[str, ...] = ()  # install flags (the extras and groups it asks for)
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetFit:
    name: str
    fits: bool
    reasons: tuple[str, ...]  # why it does not fit, or what to know when it does
    rank: tuple[int, ...] = ()  # higher is better among the targets that fit


def fit(host: HostFacts, facts: TargetFacts) -> TargetFit:
    target = facts.target
    missing: list[str] = []
    notes: list[str] = []
    platform = host.platform_name
    if platform != target.platform.name:  # nothing else matters then
        return TargetFit(target.name, False,
                         (f"it is for {target.platform.name}; this machine is {platform or 'another platform'}",))
    _python(host, target.python, missing)
    _floor(host, target, missing)
    usage = _accelerator(host, facts, missing, notes)
    if missing:
        return TargetFit(target.name, False, tuple(missing))
    kind, version = _needs(facts)
    cuda = version if kind is AcceleratorKind.CUDA and usage == 2 else (None, None)
    rank = (usage, cuda[0] or 0, cuda[1] or 0)  # among GPU targets that fit, the newest CUDA
    return TargetFit(target.name, True, tuple(notes), rank)


def _python(host: HostFacts, python: PythonVersion, missing: list[str]) -> None:
    if host.python is None:
        missing.append(f"it needs Python {python}; no Python version was found")
    elif host.python.minor_tuple != python.minor_tuple:
        missing.append(f"it is for Python {python}; this machine runs {host.python.full}")
    elif (host.python.major, host.python.minor, host.python.micro) < (python.major, python.minor, python.micro):
        missing.append(f"it needs Python {python.full} or later; this machine runs {host.python.full}")


def _floor(host: HostFacts, target: Target, missing: list[str]) -> None:
    floor = target.os_floor
    if floor is None or host.platform_name != target.platform.name:
        return
    found = host.glibc if host.os == "linux" else host.macos
    if found is None or found < floor:
        have = f"{found[0]}.{found[1]}" if found else "none"
        missing.append(f"it needs {target.os_floor_text} or later; this machine has {have}")


def _accelerator(host: HostFacts, facts: TargetFacts, missing: list[str], notes: list[str]) -> int:
    """How well the target uses the machine (2: as meant, 1: fits but wastes or misses a GPU)."""
    target = facts.target
    stated = target.accelerator
    kind, needed = _needs(facts)
    if kind is None:  # runs on the CPU
        if host.nvidia_driver or host.rocm:
            notes.append("fits, but runs on the CPU: this machine's GPU stays unused")
            return 1
        return 2
    what = (f"its plan carries a {kind_text(kind)}{_version(needed)} runtime" if facts.runtime_kind is not None
            else f"it states accelerator {stated}")
    hard = stated is not None and stated.is_gpu
    if kind is AcceleratorKind.CUDA:
        problem = _cuda_problem(host, needed)
    elif kind is AcceleratorKind.ROCM:
        problem = None if host.rocm and (needed[0] is None or host.rocm[0] == needed[0]) else (
            f"this machine has {'ROCm %d.%d' % host.rocm if host.rocm else 'no ROCm'}")
    elif kind is AcceleratorKind.MPS:
        problem = None if host.os == "macos" and host.arch == "arm64" else "this machine has no Apple GPU"
    else:
        notes.append(f"{what}; planner cannot check for an {kind_text(kind)} GPU")
        return 1
    if problem is None:
        return 2
    if hard:
        missing.append(f"{what}; {problem}")
        return 0
    notes.append(f"{what}, which this machine cannot use ({problem}): it runs on the CPU")
    return 0


def _needs(facts: TargetFacts) -> tuple[AcceleratorKind | None, tuple[int | None, int | None]]:
    """The GPU runtime the target needs: what its plan carries, else what it states."""
    if facts.runtime_kind is not None:
        return facts.runtime_kind, facts.runtime_version
    stated = facts.target.accelerator
    if stated is None or not stated.is_gpu:
        return None, (None, None)
    return stated.kind, parse_version(stated.version)


def _version(version: tuple[int | None, int | None]) -> str:
    major, minor = version
    if major is None:
        return ""
    return f" {major}" if minor is None else f" {major}.{minor}"


def _cuda_problem(host: HostFacts, needed: tuple[int | None, int | None]) -> str | None:
    if host.nvidia_driver is None:
        return "this machine has no NVIDIA driver"
    major, minor = needed
    if major is None:
        return None
    if host.cuda is None:
        return f"NVIDIA driver {host.nvidia_driver} supports no CUDA release planner knows"
    # A driver runs every CUDA release up to the one it supports (NVIDIA's backward compatibility).
    if (major, minor or 0) <= host.cuda:
        return None
    driver = minimum_driver(major, minor)
    needs = f" (driver >= {driver})" if driver else ""
    wanted = f"{major}.{minor}" if minor is not None else f"{major}"
    return (f"NVIDIA driver {host.nvidia_driver} supports CUDA up to {host.cuda[0]}.{host.cuda[1]}, and CUDA "
            f"{wanted} needs a newer one{needs}")


@dataclass(frozen=True)
class Detection:
    host: HostFacts
    chosen: TargetFacts | None
    fits: tuple[TargetFit, ...]  # every target, in the project's order


def detect(host: HostFacts, targets: Sequence[TargetFacts]) -> Detection:
    fits = tuple(fit(host, facts) for facts in targets)
    best = None
    for facts, result in zip(targets, fits, strict=True):
        if result.fits and (best is None or result.rank > best[1].rank):
            best = (facts, result)
    return Detection(host, best[0] if best else None, fits)

