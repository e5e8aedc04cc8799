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
from planner.generate.requirements import GIT_FILE, install_options, sdist_packages
from planner.index.models import ArtifactKind
from planner.plan.model import PlannedPackage, TargetPlan
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


def _image_setting(target: Target, key: str, value: str) -> str:
    image = value.strip()
    if not _IMAGE_RE.fullmatch(image):
        raise InputError(
            f"target '{target.name}': {key} '{image}' is not an image reference",
            location=_setting_location(target, key),
            fix='write it as docker does, e.g. "python:3.11-slim-bookworm" or '
                '"registry.example.com/team/python:3.11"',
        )
    return image


def build_base_image(target: Target) -> str:
    """`[tool.planner.targets.<name>.docker] build-base-image` (the build stage's image, say one
    with git and compilers), else the base image."""
    if target.docker.build_base_image is not None:
        return _image_setting(target, "build-base-image", target.docker.build_base_image)
    return base_image(target)


def base_image(target: Target) -> str:
    """`[tool.planner.targets.<name>.docker] base-image`, else `python:<X.Y>-slim-<suite>`."""
    settings = target.docker
    if settings.base_image is not None:
        return _image_setting(target, "base-image", settings.base_image)
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
    build_image: str = ""  # the build stage's image (the base image unless the target names one)
    git_requirements: str = ""  # the git packages' file, from the build context ("": none)
    git_packages: tuple[str, ...] = ()  # their names
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
                       requirements: str = "requirements.txt",
                       git_requirements: str = GIT_FILE) -> DockerfileContext | None:
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
    hashed = [p for p in packages if p.artifact.kind not in (ArtifactKind.DIRECTORY, ArtifactKind.VCS)]
    checkouts = tuple(p.name for p in packages if p.artifact.kind is ArtifactKind.VCS)
    indexes = sorted({package.index for package in hashed if not package.artifact.is_direct})
    if any(package.artifact.is_direct for package in hashed):
        indexes.append("their own URLs")
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
        package_count=len(hashed),
        indexes=tuple(indexes),
        sdists=tuple(sdist_packages(hashed)),
        pip_options=install_options(hashed)[0],
        cuda=cuda_driver(target_plan),
        rocm=_runs_rocm(target_plan),
        requirements=(f"{output_folder}/{target.name}/{requirements}" if root_context else requirements),
        build_image=build_base_image(target),
        git_requirements=("" if not checkouts else f"{output_folder}/{target.name}/{git_requirements}" if root_context
                          else git_requirements),
        git_packages=checkouts,
        root_context=root_context,
        output_folder=output_folder or "output",
        local_files=files,
        trees=trees,
        index_url=index_url,
        run=image_command(project, target),
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


def render_dockerfile(project: Project, target_plan: TargetPlan, *, command: str, output_folder: str | None = "output",
                      index_url: str = "", requirements: str = "requirements.txt",
                      git_requirements: str = GIT_FILE) -> str | None:
    """The target's Dockerfile, or None for a target no container runs (`no_dockerfile_reason`)
    or whose local packages cannot be in its build context (`local_image_problem`).

    `command` is the planner command line that produced the outputs; it goes in the header.
    Raises `InputError` for a `base-image` or `debian-suite` setting that is not valid.
    """
    context = dockerfile_context(project, target_plan, command=command, output_folder=output_folder,
                                 index_url=index_url, requirements=requirements, git_requirements=git_requirements)
    if context is None:
        return None
    return _environment().get_template("Dockerfile.j2").render(c=context)


def render_dockerignore(output_folder: str, target: str, requirements: str, git_requirements: str | None = None) -> str:
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
        *([f"!{output_folder}/{target}/{git_requirements}"] if git_requirements else []),
    ]) + "\n"
