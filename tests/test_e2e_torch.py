"""End to end with a real torch (opt-in: `-m live`, needs PyPI; skipped where the wheel is absent).

The machine's pip find-links folder holds a real CPU build of torch (`+cpu` label). This test serves
it as a local "pytorch-cpu" index on 127.0.0.1, compiles a CPU/GPU project like the seed against it
(PyPI for everything else), installs the Linux CPU target's requirements with pip into a fresh
venv, and imports torch there.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename
from typer.testing import CliRunner

from planner.cli.app import app
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import FixtureFile, write_index

pytestmark = pytest.mark.live

WHEELS = Path(os.environ.get("PLANNER_TORCH_WHEELS", "/opt/wheels"))
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def _cpu_torch_wheel() -> Path | None:
    found = sorted(WHEELS.glob("torch-*+cpu-cp311-cp311-*linux*_x86_64.whl")) if WHEELS.is_dir() else []
    return found[-1] if found else None


def _metadata(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name)


def test_compiled_cpu_target_installs_and_imports_torch(tmp_path) -> None:
    wheel = _cpu_torch_wheel()
    if wheel is None:
        pytest.skip(f"no torch +cpu wheel for cp311 in {WHEELS}")
    if not (sys.platform == "linux" and sys.version_info[:2] == (3, 11)):
        pytest.skip("installs for a linux-x86_64 / Python 3.11 target")
    version = str(parse_wheel_filename(wheel.name)[1])
    public = version.split("+")[0]
    index = tmp_path / "pytorch-cpu"
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    write_index(index, [FixtureFile(project="torch", filename=wheel.name, sha256=digest,
                                    size=wheel.stat().st_size, metadata=_metadata(wheel))])
    (index / "files" / wheel.name).symlink_to(wheel)
    with IndexServer({"pytorch-cpu": index}) as server:
        project = tmp_path / "project"
        project.mkdir()
        (project / "pyproject.toml").write_text(f"""\
[project]
name = "torch-service"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = []

[project.optional-dependencies]
cpu = ["torch=={public}"]
gpu = ["torch=={public}"]

[tool.uv]
conflicts = [[{{ extra = "cpu" }}, {{ extra = "gpu" }}]]

[tool.uv.sources]
torch = [{{ index = "pytorch-cpu", marker = "platform_system != 'Darwin'", extra = "cpu" }}]

[[tool.uv.index]]
name = "pytorch-cpu"
url = "{server.url('pytorch-cpu')}"
explicit = true

[tool.planner.targets.linux-cpu]
platform = "linux-x86_64"
python = "3.11"
extras = ["cpu"]

[tool.planner.targets.linux-gpu]
platform = "linux-x86_64"
python = "3.11"
accelerator = "cuda"
extras = ["gpu"]
""")
        result = CliRunner().invoke(app, ["compile", str(project), "--cache-dir", str(tmp_path / "cache")])
        assert result.exit_code == 0, result.output
        plan = json.loads((project / "output" / "plan.json").read_text())
        versions = {t["target"]["name"]: {p["name"]: p["version"] for p in t["packages"]} for t in plan["targets"]}
        assert versions["linux-cpu"]["torch"] == version
        assert not any(name.startswith("nvidia-") for name in versions["linux-cpu"])
        assert any(name.startswith("nvidia-") for name in versions["linux-gpu"])

        subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
        python = tmp_path / "venv" / "bin" / "python"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("PIP_")},
               "PIP_CONFIG_FILE": os.devnull, "PIP_CERT": CA_BUNDLE, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        subprocess.run([str(python), "-m", "pip", "install", "--require-hashes", "--no-deps", "--only-binary=:all:",
                        "-r", str(project / "output" / "linux-cpu" / "requirements.txt")], check=True, env=env)
        out = subprocess.run([str(python), "-c", "import torch; print(torch.__version__)"], check=True,
                             capture_output=True, text=True, cwd=tmp_path).stdout.strip()
        assert out == version
