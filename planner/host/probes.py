"""Facts about this machine that decide which target it is (`planner detect`).

Each probe is a small callable in `Probes`, so tests (and anyone asking about another machine)
replace them: nothing here needs a GPU to be tested. What a probe returns is not trusted: every
value is matched against what it should look like and bounded in length before use.

- platform and machine: `platform.system()`, `platform.machine()`;
- Python: the interpreter running planner, or `--python` (a version, or an interpreter to ask);
- glibc: `os.confstr("CS_GNU_LIBC_VERSION")`; macOS: `platform.mac_ver()`;
- NVIDIA: `nvidia-smi` (driver, the CUDA version the driver supports, GPU names), else
  `/proc/driver/nvidia/version` (the driver; its CUDA version from NVIDIA's table);
- ROCm: `/opt/rocm/.info/version`, else `amd-smi version`.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from planner.targets.cuda import is_driver_version, newest_cuda_for_driver
from planner.targets.model import PythonVersion

MAX_OUTPUT = 64 * 1024  # bytes of a probe's output that are read at all
PROBE_TIMEOUT = 10.0  # seconds a probe command may take


def _run(command: Sequence[str]) -> str | None:
    """A command's standard output, or None when it is missing, fails or hangs."""
    try:
        result = subprocess.run(list(command), capture_output=True, timeout=PROBE_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    return result.stdout[:MAX_OUTPUT].decode("utf-8", "replace")


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_OUTPUT).decode("utf-8", "replace")
    except OSError:
        return None


def _glibc() -> str | None:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION")  # "glibc 2.36"
    except (ValueError, OSError, AttributeError):
        return None


@dataclass(frozen=True)
class Probes:
    """How each fact is read; replace any of them to describe another machine."""

    system: Callable[[], str] = platform.system
    machine: Callable[[], str] = platform.machine
    python: Callable[[], str] = platform.python_version
    glibc: Callable[[], str | None] = _glibc
    mac_version: Callable[[], str] = lambda: platform.mac_ver()[0]
    run: Callable[[Sequence[str]], str | None] = _run
    read: Callable[[str], str | None] = _read


@dataclass(frozen=True)
class HostFacts:
    """What the probes found; None where they found nothing."""

    os: str | None  # "linux", "macos", "windows"
    arch: str | None  # as wheel tags name it: x86_64, aarch64, arm64, amd64
    python: PythonVersion | None
    python_source: str
    glibc: tuple[int, int] | None = None
    macos: tuple[int, int] | None = None
    nvidia_driver: str | None = None
    cuda: tuple[int, int] | None = None  # the newest CUDA the driver supports
    cuda_source: str = ""
    gpus: tuple[str, ...] = ()
    rocm: tuple[int, int] | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def platform_name(self) -> str | None:
        """planner's platform name for this machine (`linux-x86_64`), None when it has none."""
        from planner.targets.platforms import PLATFORMS

        for name, known in PLATFORMS.items():
            if known.os.value == self.os and known.arch == self.arch:
                return name
        return None

    def describe(self) -> str:
        parts = [self.platform_name or f"{self.os or 'unknown OS'} on {self.arch or 'unknown machine'}",
                 f"Python {self.python.full}" if self.python else "no Python found"]
        if self.glibc:
            parts.append(f"glibc {self.glibc[0]}.{self.glibc[1]}")
        if self.macos:
            parts.append(f"macOS {self.macos[0]}.{self.macos[1]}")
        if self.nvidia_driver:
            cuda = f" (CUDA {self.cuda[0]}.{self.cuda[1]})" if self.cuda else ""
            parts.append(f"NVIDIA driver {self.nvidia_driver}{cuda}")
        else:
            parts.append("no NVIDIA driver")
        parts.append(f"ROCm {self.rocm[0]}.{self.rocm[1]}" if self.rocm else "no ROCm")
        return ", ".join(parts)

    def document(self) -> dict[str, object]:
        return {
            "platform": self.platform_name, "os": self.os, "machine": self.arch,
            "python": self.python.full if self.python else None, "python_source": self.python_source,
            "glibc": _dotted(self.glibc), "macos": _dotted(self.macos),
            "nvidia_driver": self.nvidia_driver, "cuda": _dotted(self.cuda), "cuda_source": self.cuda_source or None,
            "gpus": list(self.gpus), "rocm": _dotted(self.rocm), "notes": list(self.notes),
        }


def _dotted(pair: tuple[int, int] | None) -> str | None:
    return f"{pair[0]}.{pair[1]}" if pair else None


_OS = {"linux": "linux", "darwin": "macos", "windows": "windows"}
_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "arm64"}
_PAIR = re.compile(r"(\d{1,4})\.(\d{1,4})")


def _pair(text: str | None) -> tuple[int, int] | None:
    match = _PAIR.search(text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def probe_host(probes: Probes | None = None, python: str | None = None) -> HostFacts:
    """Read this machine (or the one `probes` describe). `python`: a version (`3.12`) or an
    interpreter to ask; default the interpreter running planner."""
    probes = probes or Probes()
    notes: list[str] = []
    os_name = _OS.get(probes.system().strip().lower())
    arch = _ARCH.get(probes.machine().strip().lower())
    if os_name == "windows" and arch == "x86_64":
        arch = "amd64"
    found_python, source = _python(probes, python, notes)
    glibc = macos = None
    if os_name == "linux":
        glibc = _pair(probes.glibc())
        if glibc is None:
            notes.append("no glibc found (a musl system?): manylinux wheels do not install here")
    elif os_name == "macos":
        macos = _pair(probes.mac_version() + ".0")
    driver, cuda, cuda_source, gpus = _nvidia(probes, notes)
    rocm = _rocm(probes)
    return HostFacts(os_name, arch, found_python, source, glibc, macos, driver, cuda, cuda_source, gpus, rocm,
                     tuple(notes))


def _python(probes: Probes, python: str | None, notes: list[str]) -> tuple[PythonVersion | None, str]:
    if python is None:
        return _python_version(probes.python()), "the interpreter running planner (--python names another)"
    if re.fullmatch(r"\d+\.\d+(?:\.\d+)?", python.strip()):
        return PythonVersion.parse(python), "--python"
    output = probes.run([python, "-c", "import platform; print(platform.python_version())"])
    version = _python_version(output or "")
    if version is None:
        notes.append(f"--python {python}: could not run it to ask its version")
    return version, f"--python {python}"


def _python_version(text: str) -> PythonVersion | None:
    match = re.match(r"\s*(\d+)\.(\d+)\.(\d+)", text)
    return PythonVersion(*map(int, match.groups())) if match else None


def _nvidia(probes: Probes, notes: list[str]) -> tuple[str | None, tuple[int, int] | None, str, tuple[str, ...]]:
    """(driver, CUDA the driver supports, where that came from, GPU names)."""
    query = probes.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"])
    driver = None
    gpus: list[str] = []
    for line in (query or "").splitlines()[:64]:
        name, _, version = line.rpartition(",")
        if is_driver_version(version):
            driver = version.strip()
            gpus.append(name.strip()[:100])
    cuda, source = None, ""
    if driver is not None:
        banner = probes.run(["nvidia-smi"]) or ""
        match = re.search(r"CUDA Version:\s*(\d{1,3})\.(\d{1,3})", banner)
        if match:
            cuda, source = (int(match.group(1)), int(match.group(2))), "nvidia-smi"
    else:
        text = probes.read("/proc/driver/nvidia/version") or ""
        match = re.search(r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+\.\d+(?:\.\d+)?)", text)
        if match and is_driver_version(match.group(1)):
            driver = match.group(1)
    if driver is not None and cuda is None:
        cuda = newest_cuda_for_driver(driver)
        source = "NVIDIA's driver table" if cuda else ""
        if cuda is None:
            notes.append(f"NVIDIA driver {driver} is older than any CUDA release planner knows")
    return driver, cuda, source, tuple(gpus)


def _rocm(probes: Probes) -> tuple[int, int] | None:
    version = _pair(probes.read("/opt/rocm/.info/version"))
    if version is None:
        output = probes.run(["amd-smi", "version"]) or ""
        match = re.search(r"ROCm version:\s*(\d{1,3})\.(\d{1,3})", output)
        version = (int(match.group(1)), int(match.group(2))) if match else None
    return version

