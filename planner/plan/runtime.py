"""The accelerator runtime a target's plan carries, worked out from the plan itself.

Every planned package is read against the runtime table (planner/targets/runtimes.py): the GPU
runtime the plan installs (CUDA, ROCm, Intel XPU), the newest version its packages need, which
packages carry it and how large they are. The compile summary, `plan.json`, the Dockerfile's
driver note and `planner detect` all describe a target by this, not by its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from planner.plan.model import PlannedPackage, TargetPlan
from planner.targets.cuda import minimum_driver
from planner.targets.model import AcceleratorKind
from planner.targets.runtimes import Runtime, kind_text, runtime_of


@dataclass(frozen=True)
class RuntimePackage:
    name: str
    version: str
    runtime: Runtime
    size: int | None


@dataclass(frozen=True)
class CarriedRuntime:
    """What a plan installs to run on a GPU. `kind` None: no GPU runtime at all."""

    kind: AcceleratorKind | None
    major: int | None
    minor: int | None
    packages: tuple[RuntimePackage, ...]  # the packages that carry it (GPU ones), by name
    cpu_builds: tuple[str, ...] = ()  # packages whose build says CPU-only (`+cpu`)
    other_kinds: tuple[AcceleratorKind, ...] = ()  # other GPU runtimes the plan also carries

    @property
    def version_text(self) -> str:
        if self.major is None:
            return ""
        return f"{self.major}" if self.minor is None else f"{self.major}.{self.minor}"

    @property
    def size(self) -> int:
        """Bytes of the runtime's files that the index gave a size for."""
        return sum(p.size or 0 for p in self.packages)

    @property
    def sizes_known(self) -> bool:
        return all(p.size is not None for p in self.packages)

    @property
    def name(self) -> str:
        """`CUDA 12.4`, `ROCm 6.2`, `CUDA` (version unknown), or `none`."""
        if self.kind is None:
            return "none"
        return f"{kind_text(self.kind)} {self.version_text}".strip()

    @property
    def driver(self) -> str | None:
        """The minimum NVIDIA driver of a CUDA runtime's release (NVIDIA's table), if known."""
        if self.kind is not AcceleratorKind.CUDA or self.major is None:
            return None
        return minimum_driver(self.major, self.minor)

    def describe(self) -> str:
        """`a CUDA 12.4 runtime: 14 packages, 2.6 GiB (nvidia-cuda-runtime-cu12 12.4.127, ...)`."""
        if self.kind is None:
            builds = f" ({', '.join(self.cpu_builds)} CPU-only builds)" if self.cpu_builds else ""
            return "no GPU runtime" + builds
        count = len(self.packages)
        size = format_size(self.size) + ("" if self.sizes_known else "+") if self.size else "size unknown"
        listed = ", ".join(f"{p.name} {p.version}" for p in self.packages[:2]) + (", …" if count > 2 else "")
        others = f"; also {', '.join(kind_text(k) for k in self.other_kinds)}" if self.other_kinds else ""
        return (f"a {self.name} runtime: {count} package{'s' if count != 1 else ''}, {size} "
                f"({listed}){others}")

    def document(self) -> dict[str, object]:
        """For plan.json."""
        return {
            "kind": self.kind.value if self.kind else None,
            "version": self.version_text or None,
            "minimum_driver": self.driver,
            "size": self.size if self.packages else 0,
            "packages": [{"name": p.name, "version": p.version, "carries": p.runtime.describe(), "size": p.size}
                         for p in self.packages],
            "cpu_builds": list(self.cpu_builds),
        }


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit in ("B", "KiB") else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - the loop returns


def carried_runtime(target_plan: TargetPlan) -> CarriedRuntime:
    return runtime_of_packages(target_plan.packages)


def runtime_of_packages(packages: Sequence[PlannedPackage]) -> CarriedRuntime:
    gpu: list[RuntimePackage] = []
    cpu: list[str] = []
    for package in packages:
        runtime = runtime_of(package.name, package.version)
        if runtime is None:
            continue
        if runtime.is_gpu:
            gpu.append(RuntimePackage(package.name, str(package.version), runtime, package.artifact.size))
        else:
            cpu.append(package.name)
    if not gpu:
        return CarriedRuntime(None, None, None, (), tuple(cpu))
    kinds: dict[AcceleratorKind, int] = {}
    for item in gpu:
        kinds[item.runtime.kind] = kinds.get(item.runtime.kind, 0) + 1
    kind = max(kinds, key=lambda k: (kinds[k], k.value))  # the runtime most of them carry
    versions = [(p.runtime.major, p.runtime.minor) for p in gpu if p.runtime.kind is kind and p.runtime.major is not None]
    major = max((m for m, _ in versions), default=None)
    minors = [n for m, n in versions if m == major and n is not None]
    return CarriedRuntime(kind, major, max(minors) if minors else None, tuple(gpu), tuple(cpu),
                          tuple(sorted((k for k in kinds if k is not kind), key=lambda k: k.value)))
