"""Real container builds of the Dockerfiles `planner compile` writes.

A project with a CPU and a CUDA target on this machine's Linux architecture depends on small real
wheels served by two loopback indexes: a public one, and a private one that answers only with
credentials; the CUDA target also on a package from a private git repository (git http-backend,
the same credentials), fetched in a build stage whose image has git (`build-base-image`). `planner compile` writes `output/<target>/{Dockerfile,requirements.txt}`; buildah
builds each from a local Debian + Python 3.11 base image (tests/fixtures/base_image.py), the CUDA
target with a netrc build secret. Each image must import every planned package at its planned
version, as the non-root user, from the virtual environment; the secret must be in no layer.

A uv workspace (tests/fixtures/workspace_project.py) gets one more image, built from the project
folder: its dependencies from the hash-checked file, then its members copied and installed without
dependencies; the container runs the app's console script.

Needs root, buildah and debootstrap. Without them the tests skip, except under CI (`CI` set),
where .ci/run installs them and a missing tool is a failure.
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.app import app
from tests.fixtures.base_image import (
    BASE_IMAGE,
    BuildahStore,
    ensure_base_image,
    ensure_git_build_image,
    missing_tools,
)
from tests.fixtures.git_repos import GitHttpServer, build_repository
from tests.fixtures.simple_index import FixtureFile
from tests.fixtures.workspace_project import backend_wheels
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import write_index
from tests.fixtures.wheels import build_wheel
from tests.fixtures.workspace_project import write_workspace

runner = CliRunner()

IN_CI = bool(os.environ.get("CI"))
CANARY_USER = "canary-user-3f9c1e"
CANARY_PASSWORD = "canary-password-8d27b4a6"
UID = 10001  # planner.generate.dockerfile.UID
PLATFORMS = {"x86_64": "linux-x86_64", "aarch64": "linux-aarch64"}
TARGETS = ("cpu", "gpu")

WHEELS = {
    "pypi": [
        build_wheel("alpha", "1.0", ["beta>=1"]),
        build_wheel("beta", "1.0"),
        build_wheel("beta", "2.0"),
        build_wheel("cpukit", "1.0"),
        build_wheel("nvidia-cuda-runtime-cu12", "12.4.127"),
    ],
    "private": [build_wheel("gpukit", "1.0", ["nvidia-cuda-runtime-cu12==12.4.127"])],
}

PYPROJECT = """\
    [project]
    name = "demo"
    version = "0.1.0"
    requires-python = ">=3.11"
    dependencies = ["alpha"]

    [project.optional-dependencies]
    cpu = ["cpukit"]
    gpu = ["gpukit", "gitpkg"]

    [tool.uv]
    conflicts = [[{{ extra = "cpu" }}, {{ extra = "gpu" }}]]

    [tool.uv.sources]
    gpukit = {{ index = "private", extra = "gpu" }}
    gitpkg = {{ git = "{git_url}", tag = "v1.0" }}

    [[tool.uv.index]]
    name = "private"
    url = "{private_url}"
    explicit = true

    [tool.planner.targets.cpu]
    platform = "{platform}"
    python = "3.11"
    accelerator = "cpu"
    extras = ["cpu"]
    docker = {{ base-image = "{base_image}" }}

    [tool.planner.targets.gpu]
    platform = "{platform}"
    python = "3.11"
    accelerator = "cuda"
    extras = ["gpu"]
    docker = {{ base-image = "{base_image}", build-base-image = "{build_image}" }}
"""


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason}; CI must run the container build tests (.ci/run installs buildah and debootstrap)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def store() -> BuildahStore:
    missing = missing_tools()
    if missing:
        _unavailable(f"{', '.join(missing)} not installed")
    if os.geteuid() != 0:
        _unavailable("container builds with debootstrap and buildah's chroot isolation need root")
    if platform.machine() not in PLATFORMS:
        _unavailable(f"no planner platform for this machine's architecture {platform.machine()}")
    return ensure_base_image()


@dataclass(frozen=True)
class Built:
    project: Path
    plan: dict  # plan.json
    images: dict[str, str]  # target -> image name
    private_log: list  # requests the private index saw during the builds
    git_log: list  # requests the private git server saw (compile and the gpu build)


def _packages(plan: dict, target: str) -> dict[str, str]:
    (entry,) = [t for t in plan["targets"] if t["target"]["name"] == target]
    return {p["name"]: p["version"] for p in entry["packages"]}


@pytest.fixture(scope="module")
def built(store: BuildahStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("docker-build")
    build_image = ensure_git_build_image(store)
    for name, wheels in WHEELS.items():
        backends = [FixtureFile.from_content("setuptools", p.name, p.read_bytes()) for p in backend_wheels()]
        write_index(root / "indexes" / name, [w.fixture_file() for w in wheels] + (backends if name == "pypi" else []))
    public = IndexServer({"pypi": root / "indexes" / "pypi"})
    private = IndexServer({"private": root / "indexes" / "private"})
    private.require_auth = (CANARY_USER, CANARY_PASSWORD)
    # A private git repository (gitpkg 1.0 at tag v1.0) behind the same credentials.
    repository = build_repository(root / "repos")
    git = GitHttpServer({"gitpkg.git": repository.bare}, auth=(CANARY_USER, CANARY_PASSWORD))
    images: dict[str, str] = {}
    with public, private, git:
        netrc = root / "netrc"
        netrc.write_text(f"machine 127.0.0.1 login {CANARY_USER} password {CANARY_PASSWORD}\n")
        netrc.chmod(0o600)
        project = root / "demo"
        project.mkdir()
        (project / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT.format(
            private_url=private.url("private"), platform=PLATFORMS[platform.machine()], base_image=BASE_IMAGE,
            build_image=build_image, git_url=git.url("gitpkg.git"))))
        result = runner.invoke(
            app, ["compile", str(project), "--default-index", public.url("pypi"), "--cache-dir", str(root / "cache")],
            env={"PLANNER_INDEX_PRIVATE_USERNAME": CANARY_USER, "PLANNER_INDEX_PRIVATE_PASSWORD": CANARY_PASSWORD,
                 "NETRC": str(netrc)})
        assert result.exit_code == 0, result.output
        plan = json.loads((project / "output" / "plan.json").read_text())
        private.reset_log()
        try:
            for target in TARGETS:
                image = f"localhost/planner-build-test-{target}:{os.getpid()}"
                secret = ["--secret", f"id=netrc,src={netrc}"] if target == "gpu" else []
                store.run("build", "--isolation", "chroot", "--pull=never", *secret, "-t", image, ".",
                          cwd=project / "output" / target)
                images[target] = image
            yield Built(project, plan, images, private.log, git.requests())
        finally:
            for image in images.values():
                store.run("rmi", image, check=False)


def _run_in(store: BuildahStore, image: str, *argv: str) -> str:
    """Run `argv` in a container of `image`, as the image's user, and return its output."""
    container = store.run("from", "--pull=never", image).stdout.strip()
    try:
        return store.run("run", "--isolation", "chroot", container, "--", *argv).stdout
    finally:
        store.run("rm", container, check=False)


PROBE = """\
import importlib, importlib.metadata, json, os, shutil, sys
for name in sys.argv[1:]:
    importlib.import_module(name.replace("-", "_"))
modules = {name: importlib.metadata.version(name) for name in sys.argv[1:]}
print(json.dumps({"uid": os.getuid(), "gid": os.getgid(), "prefix": sys.prefix, "cwd": os.getcwd(),
                  "versions": modules, "nvidia": os.environ.get("NVIDIA_VISIBLE_DEVICES"),
                  "git": shutil.which("git")}))
"""


@pytest.mark.parametrize("target", TARGETS)
def test_image_imports_every_planned_package_as_non_root(built: Built, store: BuildahStore, target: str) -> None:
    planned = _packages(built.plan, target)
    assert {"alpha", "beta", *(["cpukit"] if target == "cpu" else ["gpukit", "gitpkg"])} <= set(planned)
    seen = json.loads(_run_in(store, built.images[target], "python", "-c", PROBE, *sorted(planned)))
    assert seen["versions"] == planned  # every planned package, at its planned version
    # gpu: gitpkg was fetched with git in a build stage that has git; the image has none.
    assert seen["git"] is None
    assert (seen["uid"], seen["gid"]) == (UID, UID)
    assert seen["prefix"] == "/opt/venv" and seen["cwd"] == "/home/app"
    assert seen["nvidia"] == ("all" if target == "gpu" else None)
    config = json.loads(store.run("inspect", "--type", "image", built.images[target]).stdout)
    assert config["OCIv1"]["config"]["User"] == f"{UID}:{UID}"
    assert config["OCIv1"]["config"]["Labels"]["planner.target"] == target


def test_private_index_is_reached_with_the_secret_and_no_layer_keeps_it(
        built: Built, store: BuildahStore, tmp_path: Path) -> None:
    # The gpu build fetched gpukit from the private index, which answers only with credentials:
    # they came from the netrc secret.
    downloads = [r for r in built.private_log if r.path.endswith(".whl")]
    assert downloads and all(r.status == 200 for r in downloads)
    assert "gpukit" in _packages(built.plan, "gpu")
    # So did the private git repository's (pip ran git in the build stage, after a 401 challenge).
    fetches = [r for r in built.git_log if r.path.endswith("/git-upload-pack") and r.status == 200]
    assert len(fetches) >= 2  # planner's fetch at compile time, and the build's
    dockerfile = (built.project / "output" / "gpu" / "Dockerfile").read_text()
    assert dockerfile.count("RUN --mount=type=secret,id=netrc") == 2 and "COPY git-packages.txt /tmp/git-packages.txt" in dockerfile
    for path in (built.project / "output").rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert CANARY_PASSWORD not in text and CANARY_USER not in text, path
    # Every byte of the image built with the secret: layers (uncompressed), config, manifests.
    layout = tmp_path / "gpu"
    store.run("push", "--disable-compression", built.images["gpu"], f"oci:{layout}")
    blobs = [p for p in layout.rglob("*") if p.is_file()]
    assert len(blobs) >= 5  # oci-layout, index, manifest, config and the layers
    for blob in blobs:
        data = blob.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        assert CANARY_PASSWORD.encode() not in data and CANARY_USER.encode() not in data, blob


def test_workspace_image_installs_the_members_and_runs_the_app(store: BuildahStore,
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("workspace-image")
    project = root / "project"
    write_workspace(project, root / "indexes", platform=PLATFORMS[platform.machine()], base_image=BASE_IMAGE)
    (project / ".venv").mkdir()
    (project / ".venv" / "huge").write_bytes(b"x" * 1024)  # the .dockerignore keeps it out
    with IndexServer({"pypi": root / "indexes" / "pypi"}) as server:
        result = runner.invoke(app, ["compile", str(project), "--default-index", server.url("pypi"),
                                     "--cache-dir", str(root / "cache")])
        assert result.exit_code == 0, result.output
        image = f"localhost/planner-workspace-test:{os.getpid()}"
        store.run("build", "--isolation", "chroot", "--pull=never", "-f", "output/linux/Dockerfile",
                  "--ignorefile", "output/linux/Dockerfile.dockerignore", "-t", image, ".", cwd=project)
    try:
        config = json.loads(store.run("inspect", "--type", "image", image).stdout)["OCIv1"]["config"]
        assert config["Cmd"] == ["app-run"] and config["User"] == f"{UID}:{UID}"
        assert _run_in(store, image, "app-run").split() == ["app", "core", "helpers", "2.1", "1.0", "1.0", "1.5"]
        installed = json.loads(_run_in(store, image, "python", "-c", (
            "import importlib.metadata as m, json; print(json.dumps(sorted(d.metadata['Name'].lower() "
            "for d in m.distributions() if d.metadata['Name'].lower() not in ('pip', 'setuptools'))))")))
        # The members the app needs, not editable; the dev group (checker, gamma) stays out.
        assert installed == ["alpha", "app", "beta", "core", "helpers", "libsdist", "libwheel"]
        direct = _run_in(store, image, "python", "-c", (
            "import importlib.metadata as m; print(m.distribution('core').read_text('direct_url.json') or '')"))
        assert '"editable": true' not in direct
    finally:
        store.run("rmi", image, check=False)


# -- a plan holding sdists ---------------------------------------------------------------------------
# Two packages ship only sdists whose metadata needs a build (setuptools with a dynamic setup.py,
# hatchling with a metadata hook); the image's build stage must build exactly those sdists, with
# their build requirements from the index, and the final image must hold none of the build tools.

SDIST_PYPROJECT = """\
    [project]
    name = "built"
    version = "0.1.0"
    requires-python = ">=3.11"
    dependencies = ["dyn", "hooked"]

    [tool.planner.targets.linux]
    platform = "{platform}"
    python = "3.11"
    docker = {{ base-image = "{base_image}" }}
"""


@pytest.fixture(scope="module")
def built_from_sdists(store: BuildahStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict, str]]:
    from tests.fixtures import sdists

    root = tmp_path_factory.mktemp("docker-sdists")
    files = [*sdists.backend_wheels(),
             sdists.setuptools_dynamic("dyn", "1.0", ("beta>=1",)).fixture_file(),
             sdists.hatchling_hook("hooked", "1.0", ("beta",)).fixture_file(),
             build_wheel("beta", "1.0").fixture_file()]
    write_index(root / "index", files)
    image = f"localhost/planner-build-test-sdists:{os.getpid()}"
    with IndexServer({"pypi": root / "index"}) as server:
        project = root / "built"
        project.mkdir()
        (project / "pyproject.toml").write_text(textwrap.dedent(SDIST_PYPROJECT.format(
            platform=PLATFORMS[platform.machine()], base_image=BASE_IMAGE)))
        result = runner.invoke(app, ["compile", str(project), "--default-index", server.url("pypi"),
                                     "--cache-dir", str(root / "cache")])
        assert result.exit_code == 0, result.output
        plan = json.loads((project / "output" / "plan.json").read_text())
        try:
            store.run("build", "--isolation", "chroot", "--pull=never", "-t", image, ".", cwd=project / "output" / "linux")
            yield plan, image
        finally:
            store.run("rmi", image, check=False)


BUILD_TOOLS_PROBE = """\
import importlib.util, json, pathlib
print(json.dumps({"hatchling": importlib.util.find_spec("hatchling") is not None,
                  "build_envs": [str(p) for p in pathlib.Path("/tmp").glob("pip-*")],
                  "requirements": pathlib.Path("/tmp/requirements.txt").exists()}))
"""


def test_image_of_a_plan_with_sdists_builds_them_and_keeps_no_build_tool(built_from_sdists, store: BuildahStore) -> None:
    plan, image = built_from_sdists
    planned = _packages(plan, "linux")
    assert planned == {"dyn": "1.0", "hooked": "1.0", "beta": "1.0"}
    seen = json.loads(_run_in(store, image, "python", "-c", PROBE, *sorted(planned)))
    assert seen["versions"] == planned and seen["uid"] == UID
    leftovers = json.loads(_run_in(store, image, "python", "-c", BUILD_TOOLS_PROBE))
    assert leftovers == {"hatchling": False, "build_envs": [], "requirements": False}
