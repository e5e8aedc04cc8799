"""Which accelerator runtime a package build carries, and whether a target may install it.

Kept as data (docs/accelerators.md explains every row): a build says what it runs on through

- its **local version label** (`torch 2.5.1+cu124` is a CUDA 12.4 build, `+rocm6.2` a ROCm 6.2
  build, `+cpu` a CPU-only build, `+xpu` an Intel GPU build), read first: it names the build;
- its **name**: NVIDIA's runtime wheels (`nvidia-cuda-runtime-cu12`, from CUDA 13 on
  `nvidia-cuda-runtime`, `cuda-toolkit`, the `nvidia-*-cu12` libraries), `jax-cuda12-plugin`,
  `cupy-cuda12x`, ROCm and Intel GPU builds (`pytorch-triton-rocm`, `pytorch-triton-xpu`), ...

Where the CUDA version comes from differs by package: `cu12` in a name says the major version;
the package version of the runtime itself (`nvidia-cuda-runtime-cu12 12.4.127`,
`nvidia-cuda-runtime 13.0.96`, `cuda-toolkit 13.0.2`) says the minor. The libraries' minors
drift from the toolkit's (cuBLAS 13.1 and nvcc 13.5 ship for a CUDA 13.0 runtime): the
unsuffixed CUDA 13 ones released with the toolkit (nvrtc, cupti, cuBLAS, nvJitLink, NVTX, nvcc)
say the major, the others (cuDNN 9.x, cuFFT 12.x for CUDA 13, NCCL 2.x, ...) nothing.

Pure: names and versions in, `Runtime` values out. Updating: add a row to `NAME_RULES` (or
`LABEL_RULES`) when a new family of runtime wheels appears, with a test in
tests/test_accelerators.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from packaging.version import Version

from planner.targets.cuda import compatibility_floor, minimum_driver
from planner.targets.model import Accelerator, AcceleratorKind

_KIND_TEXT = {AcceleratorKind.CUDA: "CUDA", AcceleratorKind.ROCM: "ROCm", AcceleratorKind.XPU: "Intel XPU",
              AcceleratorKind.CPU: "CPU", AcceleratorKind.MPS: "Apple MPS"}


def kind_text(kind: AcceleratorKind) -> str:
    return _KIND_TEXT[kind]


@dataclass(frozen=True)
class Runtime:
    """What one package build carries: a GPU runtime (CUDA, ROCm, XPU) of a version, when known,
    or `CPU` for a build that says it is CPU-only (`+cpu`)."""

    kind: AcceleratorKind
    major: int | None = None
    minor: int | None = None
    evidence: str = ""  # what says so, for messages: "its local version label +cu124", "CUDA library"

    @property
    def is_gpu(self) -> bool:
        return self.kind is not AcceleratorKind.CPU

    @property
    def version_text(self) -> str:
        if self.major is None:
            return ""
        return f"{self.major}" if self.minor is None else f"{self.major}.{self.minor}"

    def describe(self) -> str:
        """`a CUDA 12.4 runtime`, `a CUDA 12 library`, `a ROCm build`, `a CPU-only build`."""
        if self.kind is AcceleratorKind.CPU:
            return "a CPU-only build"
        version = f" {self.version_text}" if self.version_text else ""
        kind = kind_text(self.kind)
        return f"{_article(kind)} {kind}{version} {self.evidence}"

    def accelerator(self) -> Accelerator:
        """The accelerator a target states to run this build: `cuda12.4`, `cuda12`, `rocm6.2`."""
        return Accelerator(self.kind, self.version_text or None)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


@dataclass(frozen=True)
class NameRule:
    """A family of packages (its normalized name matches `pattern`) that carries `kind`.

    `version`: where the version comes from — "name" (the `major` / `minor` groups of the
    pattern), "name+package" (major from the name, minor from the package version when its major
    agrees), "package" (major.minor of the package version), "package-major" (its major only),
    "none" (not known)."""

    pattern: str
    kind: AcceleratorKind
    version: str
    what: str  # the noun used in messages


_CUDA_TRACKING = "cuda-nvrtc|cuda-cupti|cuda-nvcc|nvjitlink|cublas|nvtx|cuda-crt|nvvm"
_CUDA_LIBRARIES = "cufft|curand|cusolver|cusparse|cusparselt|cufile|npp|nvjpeg|cuda-cccl|nccl|cudnn|nvshmem"

NAME_RULES: tuple[NameRule, ...] = (
    # NVIDIA's wheels of CUDA 11 and 12 carry the major version in the name; the runtime's own
    # version says the minor (the libraries' minors drift from the toolkit's: cuBLAS 13.1 and
    # nvcc 13.5 go with a CUDA 13.0 runtime, so they say the major only).
    NameRule(r"nvidia-cuda-runtime-cu(?P<major>\d+)", AcceleratorKind.CUDA, "name+package", "runtime"),
    NameRule(r"nvidia-[a-z0-9-]+-cu(?P<major>\d+)", AcceleratorKind.CUDA, "name", "library"),
    # From CUDA 13 on, the runtime and the libraries released with it drop the suffix.
    NameRule(r"nvidia-cuda-runtime", AcceleratorKind.CUDA, "package", "runtime"),
    NameRule(rf"nvidia-(?:{_CUDA_TRACKING})", AcceleratorKind.CUDA, "package-major", "library"),
    NameRule(rf"nvidia-(?:{_CUDA_LIBRARIES})", AcceleratorKind.CUDA, "none", "library"),
    NameRule(r"cuda-toolkit", AcceleratorKind.CUDA, "package", "toolkit"),
    NameRule(r"jax-cuda(?P<major>\d+)-(?:plugin|pjrt)", AcceleratorKind.CUDA, "name", "plugin"),
    NameRule(r"cupy-cuda(?P<major>\d+)x", AcceleratorKind.CUDA, "name", "build"),
    NameRule(r"cupy-cuda(?P<major>\d\d)(?P<minor>\d)", AcceleratorKind.CUDA, "name", "build"),
    NameRule(r"tensorrt-cu(?P<major>\d+)(?:-[a-z]+)*", AcceleratorKind.CUDA, "name", "library"),
    NameRule(r"nvidia-dali-cuda(?P<major>\d\d)\d", AcceleratorKind.CUDA, "name", "build"),
    NameRule(r"onnxruntime-gpu", AcceleratorKind.CUDA, "none", "build"),
    NameRule(r"paddlepaddle-gpu", AcceleratorKind.CUDA, "none", "build"),
    NameRule(r"pytorch-triton-rocm", AcceleratorKind.ROCM, "none", "build"),
    NameRule(r"rocm-sdk-(?:core|devel|libraries-[a-z0-9-]+)", AcceleratorKind.ROCM, "package", "runtime"),
    NameRule(r"cupy-rocm-(?P<major>\d+)-(?P<minor>\d+)", AcceleratorKind.ROCM, "name", "build"),
    NameRule(r"pytorch-triton-xpu", AcceleratorKind.XPU, "none", "build"),
)

# Local version labels (PEP 440 `+...`), searched in the lower-cased label.
LABEL_RULES: tuple[tuple[str, AcceleratorKind], ...] = (
    (r"(?<![a-z])cu(?P<major>\d{1,2})(?P<minor>\d)(?!\d)", AcceleratorKind.CUDA),  # +cu124, +pt25cu121
    (r"(?<![a-z])cuda(?P<major>\d+)(?:[._](?P<minor>\d+)(?![a-z\d]))?", AcceleratorKind.CUDA),  # +cuda12.cudnn89
    (r"(?<![a-z])rocm(?P<major>\d+)(?:\.(?P<minor>\d+))?", AcceleratorKind.ROCM),  # +rocm6.2, +rocm6.2.4
    (r"(?<![a-z])xpu(?![a-z])", AcceleratorKind.XPU),
    (r"(?<![a-z])cpu(?![a-z])", AcceleratorKind.CPU),  # +cpu, +cpu.cxx11.abi
)

_COMPILED_NAMES = tuple((re.compile(rule.pattern), rule) for rule in NAME_RULES)
_COMPILED_LABELS = tuple((re.compile(pattern), kind) for pattern, kind in LABEL_RULES)


def runtime_of(name: str, version: Version) -> Runtime | None:
    """The runtime the build `name` `version` carries (None: nothing the tables know)."""
    return _runtime_of(name, str(version))


@lru_cache(maxsize=16384)
def _runtime_of(name: str, version_text: str) -> Runtime | None:
    version = Version(version_text)
    if version.local:
        label = version.local.lower()
        for pattern, kind in _COMPILED_LABELS:
            match = pattern.search(label)
            if match:
                groups = match.groupdict()
                return Runtime(kind, _int(groups.get("major")), _int(groups.get("minor")),
                               f"build (local version label +{version.local})")
    for pattern, rule in _COMPILED_NAMES:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        groups = match.groupdict()
        major, minor = _int(groups.get("major")), _int(groups.get("minor"))
        release = version.release
        if rule.version == "package":
            major, minor = release[0], (release[1] if len(release) > 1 else None)
        elif rule.version == "package-major":
            major, minor = release[0], None
        elif rule.version == "name+package" and release[0] == major and len(release) > 1:
            minor = release[1]
        elif rule.version == "none":
            major = minor = None
        return Runtime(rule.kind, major, minor, rule.what)
    return None


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def parse_version(text: str | None) -> tuple[int | None, int | None]:
    """`"12.4"` -> (12, 4); `"12"` -> (12, None); None -> (None, None)."""
    if not text:
        return None, None
    parts = text.split(".")
    return int(parts[0]), (int(parts[1]) if len(parts) > 1 else None)


def runtime_problem(accelerator: Accelerator, runtime: Runtime) -> str | None:
    """Why a target stating `accelerator` cannot install a build carrying `runtime`, in the
    user's terms; None when it can. The CUDA rule and its source: planner/targets/cuda.py."""
    kind = accelerator.kind
    if not runtime.is_gpu:
        return None  # a CPU-only build runs anywhere
    if kind in (AcceleratorKind.CPU, AcceleratorKind.MPS):
        return f"a {accelerator} target installs no {kind_text(runtime.kind)} runtime"
    if runtime.kind is not kind:
        return f"{kind_text(runtime.kind)} does not run on a {accelerator} target"
    if not accelerator.version or runtime.major is None:
        return None
    major, minor = parse_version(accelerator.version)
    if kind is AcceleratorKind.CUDA:
        return _cuda_problem(accelerator, (major, minor), runtime)  # type: ignore[arg-type]
    if runtime.major != major:  # ROCm, XPU: the major version must agree
        return f"{kind_text(kind)} {runtime.major} does not run on a {accelerator} target"
    return None


def _cuda_problem(accelerator: Accelerator, stated: tuple[int, int | None], runtime: Runtime) -> str | None:
    major, minor = stated
    stated_driver = minimum_driver(major, minor)
    driver = f" (driver >= {stated_driver})" if stated_driver else ""
    assert runtime.major is not None
    if runtime.major != major:
        needs = minimum_driver(runtime.major, runtime.minor) or compatibility_floor(runtime.major)
        needs_text = f" needs driver >= {needs}" if needs else " needs another driver"
        return (f"CUDA {runtime.version_text}{needs_text}; a {accelerator} target{driver} runs CUDA {major} "
                "runtimes only")
    if minor is not None and runtime.minor is not None and runtime.minor > minor:
        needs = minimum_driver(runtime.major, runtime.minor)
        needs_text = f" needs driver >= {needs}" if needs else " needs a newer driver"
        return (f"CUDA {runtime.version_text}{needs_text}; a {accelerator} target{driver} runs it only through "
                f"minor version compatibility, with a limited feature set (state accelerator = \"cuda{major}\" "
                f"to accept that)")
    return None


def accelerators_of_runtimes(runtimes: Sequence[Runtime]) -> list[Accelerator]:
    """The distinct accelerators `runtimes` ask for, GPU ones only."""
    seen: dict[Accelerator, None] = {}
    for runtime in runtimes:
        if runtime.is_gpu:
            seen.setdefault(runtime.accelerator())
    return list(seen)


# -- accelerators named by extras, groups and indexes -------------------------------------------
_NAME_TOKEN = re.compile(r"[-_/]+")
_TOKEN_RULES: tuple[tuple[re.Pattern[str], AcceleratorKind], ...] = (
    (re.compile(r"cpu"), AcceleratorKind.CPU),
    (re.compile(r"cu(?P<digits>\d{2,3})"), AcceleratorKind.CUDA),  # cu124 (12.4), cu12 (12)
    (re.compile(r"cuda(?:(?P<major>\d+)(?:\.(?P<minor>\d+))?)?"), AcceleratorKind.CUDA),  # cuda, cuda12, cuda12.4
    (re.compile(r"rocm(?:(?P<major>\d)(?:\.?(?P<minor>\d+))?)?"), AcceleratorKind.ROCM),  # rocm6.2, rocm62
    (re.compile(r"xpu"), AcceleratorKind.XPU),
    (re.compile(r"mps|metal"), AcceleratorKind.MPS),
)


def accelerator_in_name(text: str) -> Accelerator | None:
    """The accelerator a name says: an extra or group (`cu124`, `rocm6.2`, `cpu`), an index name
    (`pytorch-cu124`) or an index URL (`https://download.pytorch.org/whl/cu124`); None when the
    name says none. `gpu` says a GPU, not which (the caller decides per platform)."""
    # Normalized extra names spell `rocm6.2` as `rocm6-2`: read a dash between digits as a dot.
    lowered = re.sub(r"(?<=\d)-(?=\d)", ".", text.lower().rstrip("/"))
    if "://" in lowered:  # a URL: its path segments, last first
        tokens = [t for t in lowered.split("://", 1)[1].split("/")[1:] if t][::-1]
    else:
        tokens = [t for t in _NAME_TOKEN.split(lowered) if t]
    for token in tokens:
        for pattern, kind in _TOKEN_RULES:
            match = pattern.fullmatch(token)
            if match is None:
                continue
            groups = match.groupdict()
            if groups.get("digits"):
                digits = groups["digits"]
                version = digits if len(digits) == 2 and int(digits) >= 11 else f"{digits[:-1]}.{digits[-1]}"
                return Accelerator(kind, version)
            if groups.get("major"):
                minor = groups.get("minor")
                return Accelerator(kind, groups["major"] + (f".{minor}" if minor else ""))
            return Accelerator(kind)
    return None
