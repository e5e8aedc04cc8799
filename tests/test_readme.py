"""README's first command compiles the bundled example with no network, and the example's
committed outputs are current (`planner compile --check`) and byte-identical to a fresh compile."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "torch-cpu-gpu"


def _first_command() -> list[str]:
    text = (REPO / "README.md").read_text()
    first = text.split("```sh\n", 1)[1].splitlines()[0]
    install, _, command = first.partition(" && ")
    assert install.startswith("pip install") and command.startswith("planner compile examples/torch-cpu-gpu ")
    return shlex.split(command)[1:]


def _planner(args: list[str], home: Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "HOME": str(home),
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}  # no network
    return subprocess.run([sys.executable, "-m", "planner", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)


def test_readme_first_command_compiles_the_bundled_example(tmp_path) -> None:
    # In a copy of the examples (the outputs record the command that remakes them, -o included).
    for name in ("torch-cpu-gpu", "seed-9310"):
        shutil.copytree(REPO / "examples" / name, tmp_path / "examples" / name,
                        ignore=shutil.ignore_patterns("output"))
    out = tmp_path / "examples" / "torch-cpu-gpu" / "output"
    result = _planner(_first_command() + ["--no-cache", "--show-plan"], tmp_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plan = json.loads((out / "plan.json").read_text())
    torch = {t["target"]["name"]: next((p["version"] for p in t["packages"] if p["name"] == "torch"), None)
             for t in plan["targets"]}
    assert torch == {"linux-x86_64-cpu": "2.5.1+cpu", "linux-x86_64-gpu": "2.5.1",
                     "macos-arm64-cpu": "2.5.1", "macos-arm64-gpu": "2.5.1",
                     # requires-python "<3.13" (torch 2.5.1 has cp313 wheels only for Linux x86_64): the newest Python is 3.12
                     "linux-x86_64-cpu-py312": "2.5.1+cpu", "linux-x86_64-gpu-py312": "2.5.1",
                     "macos-arm64-cpu-py312": "2.5.1", "macos-arm64-gpu-py312": "2.5.1"}
    assert "differences between targets" in result.stdout
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["linux-x86_64-cpu-py312/Dockerfile", "linux-x86_64-cpu-py312/requirements.txt",
                       "linux-x86_64-cpu/Dockerfile", "linux-x86_64-cpu/requirements.txt",
                       "linux-x86_64-gpu-py312/Dockerfile", "linux-x86_64-gpu-py312/requirements.txt",
                       "linux-x86_64-gpu/Dockerfile", "linux-x86_64-gpu/requirements.txt",
                       "macos-arm64-cpu-py312/requirements.txt", "macos-arm64-cpu/requirements.txt",
                       "macos-arm64-gpu-py312/requirements.txt", "macos-arm64-gpu/requirements.txt",
                       "plan.json", "pylock.toml"]
    # The committed outputs are what the command makes today, byte for byte.
    committed = EXAMPLE / "output"
    for relative in written:
        assert (out / relative).read_bytes() == (committed / relative).read_bytes(), relative


def test_committed_example_outputs_are_current(tmp_path) -> None:
    result = _planner(_first_command() + ["--check"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert not any(p.name.startswith(".") for p in (EXAMPLE / "output").rglob("*"))  # no temp files


def test_the_seed_example_stops_at_the_file_whose_hash_the_record_lacks(tmp_path) -> None:
    """README says so: the bundled CPU index knows torchvision 0.20.1+cpu for cp311 by name only."""
    args = ["compile", "examples/seed-9310", "--index", "pytorch-cpu=examples/seed-9310/indexes/pytorch-cpu",
            "--default-index", "examples/seed-9310/indexes/pypi", "-o", str(tmp_path / "out"), "--no-cache"]
    result = _planner(args, tmp_path)
    assert result.returncode == 2
    assert "gives no sha256 for torchvision-0.20.1+cpu-cp311-cp311-linux_x86_64.whl" in result.stderr
    # It names the folder it read, not the URL the pyproject declares for that index.
    assert "index 'pytorch-cpu' (read from the folder " in result.stderr
    assert "examples/seed-9310/indexes/pytorch-cpu) gives no sha256" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()
