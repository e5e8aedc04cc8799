"""`<target>/Dockerfile`: a container image that installs exactly the target's `requirements.txt`.

Only Linux targets get one (see `no_dockerfile_reason`). The build context is the folder that holds
the Dockerfile and its `requirements.txt`. The image is built in two stages: the first makes a
virtual environment and installs the locked artifacts into it (hash-checked, no dependency
resolution, wheels only); the second copies that environment onto a fresh base image and runs as
an unprivileged user. Credentials for private indexes reach the install step as a BuildKit secret
(a netrc file) and are never written to a layer. docs/docker.md explains each choice.

Rendering is pure: the same plan and settings give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from planner.errors import InputError, Location
from planner.generate.requirements import install_options, sdist_packages
from planner.plan.model import TargetPlan
from planner.project.model import Project
from planner.targets.model import AcceleratorKind, Target
from planner.targets.platforms import OperatingSystem

if TYPE_CHECKING:
    import jinja2

DEFAULT_DEBIAN_SUITE = "bookworm"
VENV = "/opt/venv"
USER = "app"
# A fixed, high UID: no clash with users of the base image, and files it writes on mounted
# volumes belong to the same number on every build.
UID = 10001

# Docker's platform names for planner's Linux architectures (`docker build --platform`).
OCI_PLATFORMS: Mapping[str, str] = MappingProxyType({"x86_64": "linux/amd64", "aarch64": "linux/arm64"})

# Minimum Linux driver for each CUDA toolkit release (its GA release), from the table "CUDA Toolkit
# and Corresponding Driver Versions" of NVIDIA's CUDA toolkit release notes.
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
})
# Oldest driver that runs any release of a CUDA major version through minor version
# compatibility (with a limited feature set), from the same release notes.
CUDA_COMPATIBILITY_FLOOR: Mapping[int, str] = MappingProxyType({11: "450.80.02", 12: "525.60.13", 13: "580.65.06"})

# The pip package that carries the CUDA runtime a plan installs (`nvidia-cuda-runtime-cu12`).
_CUDA_RUNTIME_RE = re.compile(r"nvidia-cuda-runtime(?:-cu\d+)?")
_CUDA_VERSION_RE = re.compile(r"(\d+)(?:\.(\d+))?")

# An image reference as Docker's reference grammar spells it: [registry[:port]/]path[:tag][@digest].
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::\d+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_RE = re.compile(
    rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)
_SUITE_RE = re.compile(r"[a-z][a-z0-9-]*")
# User info in a URL anywhere in a command line (`https://user:secret@host`).
_URL_USERINFO_RE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")


def no_dockerfile_reason(target: Target) -> str | None:
    """Why `target` gets no Dockerfile (one line), or None when it gets one."""
    if target.platform.os is OperatingSystem.LINUX:
        return None
    if target.platform.os is OperatingSystem.MACOS:
        return f"target '{target.name}' gets no Dockerfile: no container runs macOS"
    return (f"target '{target.name}' gets no Dockerfile: planner writes Linux images only "
            f"(no Windows container images)")


@dataclass(frozen=True)
class CudaDriver:
    """Which NVIDIA driver a CUDA target's image needs on the host."""

    version: str | None  # CUDA major.minor (or major), None when unknown
    source: str  # where the version comes from, for the comment
    minimum: str | None  # minimum driver of that release, None when not in the table
    compatibility_floor: str | None  # minimum driver under minor version compatibility


def cuda_driver(target_plan: TargetPlan) -> CudaDriver | None:
    """The driver note of a CUDA target; None for other accelerators.

    The CUDA version is the target's (`accelerator = "cuda12.4"`), else the version of the CUDA
    runtime package the plan installs (`nvidia-cuda-runtime-cu12 12.4.127` is CUDA 12.4).
    """
    accelerator = target_plan.target.accelerator
    if accelerator.kind is not AcceleratorKind.CUDA:
        return None
    found: tuple[str, str] | None = None
    if accelerator.version:
        found = (accelerator.version, f"accelerator {accelerator}")
    else:
        for package in target_plan.packages:
            if _CUDA_RUNTIME_RE.fullmatch(package.name):
                found = (package.version.base_version, f"{package.name} {package.version}")
                break
    if found is None:
        return CudaDriver(None, "the target names no CUDA version and the plan installs no CUDA runtime package",
                          None, None)
    text, source = found
    match = _CUDA_VERSION_RE.match(text)
    if match is None:  # pragma: no cover - accelerator and package versions are numeric
        return CudaDriver(None, source, None, None)
    major = int(match.group(1))
    if match.group(2) is None:
        return CudaDriver(str(major), source, None, CUDA_COMPATIBILITY_FLOOR.get(major))
    minor = int(match.group(2))
    return CudaDriver(f"{major}.{minor}", source, CUDA_MINIMUM_DRIVER.get((major, minor)),
                      CUDA_COMPATIBILITY_FLOOR.get(major))


def _setting_location(target: Target, key: str) -> Location | None:
    origin = target.docker.origin
    return None if origin is None else Location(origin.file, (*origin.key, key), origin.line)


def base_image(target: Target) -> str:
    """`[tool.planner.targets.<name>.docker] base-image`, else `python:<X.Y>-slim-<suite>`."""
    settings = target.docker
    if settings.base_image is not None:
        image = settings.base_image.strip()
        if not _IMAGE_RE.fullmatch(image):
            raise InputError(
                f"target '{target.name}': base-image '{image}' is not an image reference",
                location=_setting_location(target, "base-image"),
                fix='write it as docker does, e.g. "python:3.11-slim-bookworm" or '
                    '"registry.example.com/team/python:3.11"',
            )
        return image
    suite = (settings.debian_suite or DEFAULT_DEBIAN_SUITE).strip()
    if not _SUITE_RE.fullmatch(suite):
        raise InputError(
            f"target '{target.name}': debian-suite '{suite}' is not a Debian release name",
            location=_setting_location(target, "debian-suite"),
            fix='name a Debian release the python images are built on, e.g. "bookworm" or "trixie"',
        )
    return f"python:{target.python.short}-slim-{suite}"


def _one_line_command(command: str) -> str:
    """The command for the header: one line, no credentials."""
    return _URL_USERINFO_RE.sub(r"\g<scheme>***@", " ".join(command.split()))


@dataclass(frozen=True)
class DockerfileContext:
    """Everything the template shows; every string is validated or made by planner."""

    command: str
    project: str
    target: str
    platform: str
    oci_platform: str
    python: str
    python_min: tuple[int, int, int]
    machine: str
    accelerator: str
    extras: tuple[str, ...]
    groups: tuple[str, ...]
    base_image: str
    image_tag: str
    package_count: int
    indexes: tuple[str, ...]
    sdists: tuple[str, ...]  # packages the plan installs from source distributions
    pip_options: str  # wheels only, but the sdists
    cuda: CudaDriver | None
    rocm: bool
    venv: str = VENV
    user: str = USER
    uid: int = UID


def dockerfile_context(project: Project, target_plan: TargetPlan, *, command: str) -> DockerfileContext | None:
    target = target_plan.target
    if no_dockerfile_reason(target) is not None:
        return None
    indexes = sorted({package.index for package in target_plan.packages})
    return DockerfileContext(
        command=_one_line_command(command),
        project=project.name,
        target=target.name,
        platform=target.platform.name,
        oci_platform=OCI_PLATFORMS.get(target.platform.arch, f"linux/{target.platform.arch}"),
        python=target.python.short,
        python_min=(target.python.major, target.python.minor, target.python.micro),
        machine=target.platform.platform_machine,
        accelerator=str(target.accelerator),
        extras=tuple(target.extras),
        groups=tuple(target.groups),
        base_image=base_image(target),
        # Docker repository names are lower case; tags allow [A-Za-z0-9_.-], as target names do.
        image_tag=f"{canonicalize_name(project.name)}:{target.name}",
        package_count=len(target_plan.packages),
        indexes=tuple(indexes),
        sdists=tuple(sdist_packages(target_plan)),
        pip_options=install_options(target_plan)[0],
        cuda=cuda_driver(target_plan),
        rocm=target.accelerator.kind is AcceleratorKind.ROCM,
    )


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2  # imported here, when a Dockerfile is rendered: it is slow to import

    return jinja2.Environment(
        loader=jinja2.PackageLoader("planner.generate", "templates"),
        autoescape=False,  # a Dockerfile, not HTML; every value is validated above
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_dockerfile(project: Project, target_plan: TargetPlan, *, command: str) -> str | None:
    """The target's Dockerfile, or None for a target no container runs (`no_dockerfile_reason`).

    `command` is the planner command line that produced the outputs; it goes in the header.
    Raises `InputError` for a `base-image` or `debian-suite` setting that is not valid.
    """
    context = dockerfile_context(project, target_plan, command=command)
    if context is None:
        return None
    return _environment().get_template("Dockerfile.j2").render(c=context)
