"""`<target>/Dockerfile`: a container image that installs exactly the target's `requirements.txt`
and runs the project.

Only Linux targets get one (see `no_dockerfile_reason`). Without local packages the build context
is the folder that holds the Dockerfile and its `requirements.txt`; with them (the project, the
workspace members it needs, path sources) it is the project folder: the dependencies are
installed first, from the hash-checked file, in a layer that only changes when they do; then the
local packages are copied and installed without dependencies (not editable), and the image runs
the project's console script. `Dockerfile.dockerignore` beside it keeps outputs, caches and
virtual environments out of that context. Images get no dependency group unless the target's
docker table names it (`image-requirements.txt` then holds the image's packages). The image is built in two stages: the first makes a
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
from planner.index.models import ArtifactKind
from planner.plan.model import PlannedPackage, TargetPlan
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
    requirements: str = "requirements.txt"  # the hash-checked file, from the build context
    root_context: bool = False  # built from the project folder (it has local packages)
    output_folder: str = "output"  # from the project folder (root context only)
    local_files: tuple[str, ...] = ()  # wheel / sdist files named in the hash-checked file
    trees: tuple[str, ...] = ()  # local source trees to copy and install, from the project folder
    index_url: str = ""  # where pip finds the local trees' build backends
    run: tuple[str, ...] = ("python",)  # what the container runs (CMD)
    venv: str = VENV
    user: str = USER
    uid: int = UID


def image_packages(target_plan: TargetPlan) -> list[PlannedPackage]:
    """The packages the image installs: all but those only dependency groups need, unless the
    target's docker table asks for one of those groups."""
    wanted = set(target_plan.target.docker.groups)
    return [p for p in target_plan.packages if not p.for_groups or wanted & set(p.for_groups)]


def image_command(project: Project, target: Target) -> tuple[str, ...]:
    """`docker.command`, else the only console script of the packages the target installs,
    else `python`."""
    if target.docker.command is not None:
        return target.docker.command
    scripts = sorted({script for name in target.packages
                      if (local := project.local_projects.get(name)) is not None and local.is_package
                      for script in local.scripts})
    return (scripts[0],) if len(scripts) == 1 else ("python",)


def local_image_problem(target_plan: TargetPlan, output_folder: str | None) -> str | None:
    """Why an image with these local packages cannot be built from the project folder, or None."""
    local = [p for p in image_packages(target_plan) if p.artifact.is_local]
    if not local:
        return None
    outside = [p for p in local if str(p.artifact.path).startswith("..")]
    name = target_plan.target.name
    if outside:
        return (f"target '{name}' gets no Dockerfile: {outside[0].name} comes from '{outside[0].artifact.path}', outside "
                "the project folder, which is the image's build context")
    if output_folder is None:
        return (f"target '{name}' gets no Dockerfile: the output folder lies outside the project folder, which is "
                "the image's build context (write the outputs inside it)")
    return None


_SAFE_PATH = re.compile(r"[A-Za-z0-9._+/@-]+")


def _copy_path(path: str, what: str) -> str:
    """A path for COPY / pip in the Dockerfile: made of characters that need no quoting."""
    if path != "." and (not _SAFE_PATH.fullmatch(path) or path.startswith("/") or ".." in path.split("/")):
        raise InputError(f"the local package at '{path}' has characters a Dockerfile would need to quote ({what})",
                         fix="rename the folder or file with letters, digits, '.', '_', '-' and '/'")
    return path


def dockerfile_context(project: Project, target_plan: TargetPlan, *, command: str,
                       output_folder: str | None = "output", index_url: str = "",
                       requirements: str = "requirements.txt") -> DockerfileContext | None:
    target = target_plan.target
    if no_dockerfile_reason(target) is not None or local_image_problem(target_plan, output_folder) is not None:
        return None
    packages = image_packages(target_plan)
    local = [p for p in packages if p.artifact.is_local]
    trees = tuple(_copy_path(str(p.artifact.path), "a source tree") for p in local
                  if p.artifact.kind is ArtifactKind.DIRECTORY)
    if "." in trees:  # the project itself: one copy of the folder holds its members too
        trees = (".", *(t for t in trees if t != "."))
    files = tuple(_copy_path(str(p.artifact.path), "a file") for p in local
                  if p.artifact.kind is not ArtifactKind.DIRECTORY)
    root_context = bool(local)
    hashed = [p for p in packages if p.artifact.kind is not ArtifactKind.DIRECTORY]
    indexes = sorted({package.index for package in hashed})
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
        package_count=len(hashed),
        indexes=tuple(indexes),
        sdists=tuple(sdist_packages(hashed)),
        pip_options=install_options(hashed)[0],
        cuda=cuda_driver(target_plan),
        rocm=target.accelerator.kind is AcceleratorKind.ROCM,
        requirements=(f"{output_folder}/{target.name}/{requirements}" if root_context else requirements),
        root_context=root_context,
        output_folder=output_folder or "output",
        local_files=files,
        trees=trees,
        index_url=index_url,
        run=image_command(project, target),
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


def render_dockerfile(project: Project, target_plan: TargetPlan, *, command: str, output_folder: str | None = "output",
                      index_url: str = "", requirements: str = "requirements.txt") -> str | None:
    """The target's Dockerfile, or None for a target no container runs (`no_dockerfile_reason`)
    or whose local packages cannot be in its build context (`local_image_problem`).

    `command` is the planner command line that produced the outputs; it goes in the header.
    Raises `InputError` for a `base-image` or `debian-suite` setting that is not valid.
    """
    context = dockerfile_context(project, target_plan, command=command, output_folder=output_folder,
                                 index_url=index_url, requirements=requirements)
    if context is None:
        return None
    return _environment().get_template("Dockerfile.j2").render(c=context)


def render_dockerignore(output_folder: str, target: str, requirements: str) -> str:
    """`Dockerfile.dockerignore` (BuildKit reads it beside the Dockerfile; `buildah build
    --ignorefile` takes it): the project folder is the context, minus what an image never needs."""
    return "\n".join([
        "# Generated by planner; do not edit. The build context of the Dockerfile beside this file is the",
        "# project folder: this keeps outputs, version control, caches and virtual environments out of it.",
        "**/.git", "**/.hg", "**/.venv", "**/venv", "**/.tox", "**/.nox", "**/__pycache__", "**/*.py[cod]",
        "**/.pytest_cache", "**/.mypy_cache", "**/.ruff_cache", "**/.hypothesis", "**/node_modules",
        "**/*.egg-info", "**/.DS_Store",
        f"{output_folder}/",
        f"!{output_folder}/{target}/{requirements}",
    ]) + "\n"
