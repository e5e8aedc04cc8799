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
from planner.index.models import ArtifactKind
from planner.plan.model import TargetPlan
from planner.plan.runtime import carried_runtime
from planner.project.model import Project
from planner.targets.cuda import compatibility_floor, minimum_driver
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
    """Which NVIDIA driver a CUDA image needs on the host, from the runtime the plan carries."""

    version: str | None  # CUDA major.minor (or major) of the planned runtime, None when unknown
    source: str  # the package that says so, for the comment
    minimum: str | None  # minimum driver of that release, None when not in the table
    compatibility_floor: str | None  # minimum driver under minor version compatibility


def cuda_driver(target_plan: TargetPlan) -> CudaDriver | None:
    """The driver note of an image whose plan carries a CUDA runtime, or whose target states
    CUDA; None otherwise. The version is the planned runtime's (planner/plan/runtime.py), never
    the target's name: `nvidia-cuda-runtime-cu12 12.4.127` is CUDA 12.4 whatever the target says."""
    runtime = carried_runtime(target_plan)
    stated = target_plan.target.accelerator
    if runtime.kind is not AcceleratorKind.CUDA:
        if stated is None or stated.kind is not AcceleratorKind.CUDA:
            return None
        return CudaDriver(None, "the plan installs no CUDA runtime: the base image or the host must provide one",
                          None, None)
    tracking = [p for p in runtime.packages if p.runtime.kind is AcceleratorKind.CUDA
                and (p.runtime.major, p.runtime.minor) == (runtime.major, runtime.minor)]
    evidence = sorted(tracking or runtime.packages, key=lambda p: (p.runtime.evidence != "runtime", p.name))[0]
    source = f"{evidence.name} {evidence.version}"
    if runtime.major is None:
        return CudaDriver(None, f"{source} does not say which CUDA version", None, None)
    return CudaDriver(runtime.version_text, source, minimum_driver(runtime.major, runtime.minor)
                      if runtime.minor is not None else None, compatibility_floor(runtime.major))


def image_accelerator(target_plan: TargetPlan) -> str:
    """What the image runs on, for its label: the stated accelerator, else the planned runtime's."""
    if target_plan.target.accelerator is not None:
        return str(target_plan.target.accelerator)
    runtime = carried_runtime(target_plan)
    if runtime.kind is None:
        return "cpu"
    return f"{runtime.kind.value}{runtime.version_text}"


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
        accelerator=image_accelerator(target_plan),
        extras=tuple(target.extras),
        groups=tuple(target.groups),
        base_image=base_image(target),
        # Docker repository names are lower case; tags allow [A-Za-z0-9_.-], as target names do.
        image_tag=f"{canonicalize_name(project.name)}:{target.name}",
        package_count=len(target_plan.packages),
        indexes=tuple(indexes),
        sdists=tuple(p.name for p in target_plan.packages if p.artifact.kind is ArtifactKind.SDIST),
        cuda=cuda_driver(target_plan),
        rocm=_runs_rocm(target_plan),
    )


def _runs_rocm(target_plan: TargetPlan) -> bool:
    stated = target_plan.target.accelerator
    return (carried_runtime(target_plan).kind is AcceleratorKind.ROCM
            or (stated is not None and stated.kind is AcceleratorKind.ROCM))


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
