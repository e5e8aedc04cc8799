"""`planner targets` on the seed project, in text and JSON, through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from typer.testing import CliRunner

from planner.cli.app import app
from tests.conftest import SHARED_SEED

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_bundled_seed_is_the_reference_byte_for_byte(seed_dir) -> None:
    reference = SHARED_SEED / "pyproject.toml"
    if not reference.exists():  # the bundled copy is what every other test uses
        return
    assert (seed_dir / "pyproject.toml").read_bytes() == reference.read_bytes()


def test_targets_json_for_seed(seed_dir) -> None:
    result = run("targets", str(seed_dir), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["derived"] is True
    assert [t["name"] for t in data["targets"]] == [
        "linux-x86_64-cpu", "linux-x86_64-gpu", "linux-x86_64-cpu-py315", "linux-x86_64-gpu-py315",
        "macos-arm64-cpu", "macos-arm64-gpu", "macos-arm64-cpu-py315", "macos-arm64-gpu-py315"]
    routes = {t["name"]: {p: [i["name"] for i in r["indexes"]] for p, r in t["routes"].items()} for t in data["targets"]}
    for name in ("linux-x86_64-cpu", "linux-x86_64-cpu-py315"):
        assert routes[name] == {"torch": ["pytorch-cpu"], "torchvision": ["pytorch-cpu"]}
    for name in ("linux-x86_64-gpu", "macos-arm64-cpu", "macos-arm64-gpu", "macos-arm64-gpu-py315"):
        assert routes[name] == {"torch": ["pypi"], "torchvision": ["pypi"]}
    accelerators = {t["name"]: t["accelerator"] for t in data["targets"]}
    assert accelerators["linux-x86_64-gpu"] == "cuda" and accelerators["macos-arm64-gpu"] == "mps"
    assert any("3.15 (the newest stable CPython" in line for line in data["derivation"])
    cpu = data["targets"][0]
    assert cpu["routes"]["torch"]["source"]["line"] == 29
    assert cpu["routes"]["torch"]["source"]["key"] == "tool.uv.sources.torch[0]"
    assert cpu["python"] == "3.11" and cpu["extras"] == ["cpu"] and cpu["platform"] == "linux-x86_64"
    assert cpu["markers"]["sys_platform"] == "linux"
    assert "cp311-cp311-manylinux1_x86_64" in cpu["wheel_tags"]
    assert "cp311-cp311-linux_x86_64" in cpu["wheel_tags"]
    mac = data["targets"][4]
    assert "cp311-none-macosx_11_0_arm64" in mac["wheel_tags"]
    assert "cp311-cp311-win_amd64" not in mac["wheel_tags"] + cpu["wheel_tags"]
    assert [i["name"] for i in data["indexes"]] == ["pytorch-cpu", "pypi"]


def test_targets_text_for_seed(seed_dir) -> None:
    result = run("targets", str(seed_dir))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    rows = {line.split()[0]: line for line in lines if line.startswith(("linux-", "macos-"))}
    assert set(rows) == {f"{p}-{e}{py}" for p in ("linux-x86_64", "macos-arm64") for e in ("cpu", "gpu")
                         for py in ("", "-py315")}
    assert rows["linux-x86_64-cpu"].split()[1:4] == ["linux-x86_64", "3.11", "cpu"]
    assert rows["linux-x86_64-gpu-py315"].split()[1:4] == ["linux-x86_64", "3.15", "cuda"]
    assert rows["linux-x86_64-cpu"].rstrip().endswith("torch, torchvision -> pytorch-cpu")
    for name in ("linux-x86_64-gpu", "macos-arm64-cpu", "macos-arm64-gpu"):
        assert rows[name].rstrip().endswith("torch, torchvision -> pypi")
    assert "[tool.planner.targets]" in result.stdout
    # The rule, applied to this project: which Pythons and why, and that extras are best effort.
    assert ("Python 3.11 (the lowest CPython requires-python admits), 3.15 (the newest stable CPython, "
            "released 2026-10-01); requires-python '>=3.11'") in result.stdout
    assert "left out of that target when compiling (best effort" in result.stdout
    assert result.stderr == ""


def test_targets_explain_accelerators_not_derived_on_macos(write_project) -> None:
    folder = write_project("""
        [project]
        name = "demo"
        requires-python = ">=3.12"
        [project.optional-dependencies]
        cpu = ["torch"]
        cu128 = ["torch"]
        [tool.uv]
        conflicts = [[{ extra = "cpu" }, { extra = "cu128" }]]
    """)
    result = run("targets", str(folder))
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[3] for line in result.stdout.splitlines() if line.startswith(("linux-", "macos-"))}
    assert rows == {"linux-x86_64-cpu": "cpu", "linux-x86_64-cu128": "cuda12.8", "linux-x86_64-cpu-py315": "cpu",
                    "linux-x86_64-cu128-py315": "cuda12.8", "macos-arm64-cpu": "cpu", "macos-arm64-cpu-py315": "cpu"}
    assert "extra 'cu128' is not derived on macos-arm64" in result.stdout


def test_overrides_show_in_output_and_credentials_do_not(seed_dir) -> None:
    result = run("targets", str(seed_dir), "--format", "json",
                 "--index", "pytorch-cpu=http://user:s3cret@127.0.0.1:8000/cpu/simple",
                 "--default-index", "http://127.0.0.1:8000/pypi/simple")
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    data = json.loads(result.stdout)
    urls = {i["name"]: i["url"] for i in data["indexes"]}
    assert urls == {"pytorch-cpu": "http://***@127.0.0.1:8000/cpu/simple", "pypi": "http://127.0.0.1:8000/pypi/simple"}


def test_default_index_from_environment(seed_dir) -> None:
    result = runner.invoke(app, ["targets", str(seed_dir), "--format", "json"],
                           env={"PLANNER_DEFAULT_INDEX": "http://127.0.0.1:1/simple"})
    assert json.loads(result.stdout)["indexes"][-1]["url"] == "http://127.0.0.1:1/simple"


def test_warnings_go_to_stderr_and_quiet_silences_them(write_project) -> None:
    folder = write_project("""
        [project]
        name = "demo"
        requires-python = ">=3.11"
        [tool.uv]
        no-index = true
        index-stratgy = "first-index"
    """)
    result = run("targets", str(folder), "--format", "json")
    assert result.exit_code == 0
    assert "no-index" in result.stderr and "not supported" in result.stderr
    assert "index-stratgy" in result.stderr and "did you mean 'index-strategy'" in result.stderr
    json.loads(result.stdout)  # stdout stays pure JSON
    quiet = run("-q", "targets", str(folder))  # -q keeps errors and warnings
    assert quiet.stderr.splitlines() == [line for line in result.stderr.splitlines() if line.startswith("warning: ")]


def test_verbose_prints_marker_environment(seed_dir) -> None:
    result = run("-v", "targets", str(seed_dir))
    assert "sys_platform='darwin'" in result.stderr and "manylinux_2_28" in result.stderr


def test_usage_errors_exit_2() -> None:
    assert run("targets", "--format", "yaml").exit_code == 2
    assert run("no-such-command").exit_code == 2


def test_entry_point_runs_and_help_does_not_import_the_solver(seed_dir) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    result = subprocess.run([sys.executable, "-m", "planner", "targets", str(seed_dir)],
                            capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0 and "pytorch-cpu" in result.stdout
    assert "\x1b[" not in result.stdout + result.stderr
    probe = subprocess.run(
        [sys.executable, "-c",
         "import sys; from planner.cli.app import app\n"
         "try:\n    app(['--help'])\nexcept SystemExit: pass\n"
         "print('LOADED', [m for m in ('pysat', 'networkx', 'planner.targets.resolve') if m in sys.modules])"],
        capture_output=True, text=True, check=False)
    assert "LOADED []" in probe.stdout, probe.stdout
