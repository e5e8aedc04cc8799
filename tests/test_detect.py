"""`planner detect`: which target a machine is, through fake probes (no GPU needed): a CPU Linux
host, a host with a CUDA 12.4 driver (nvidia-smi), one with a CUDA 13 driver (read from
/proc/driver/nvidia/version), a macOS host; the install command and why the others do not fit."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from typer.testing import CliRunner

import planner.cli.detect_cmd as detect_cmd
from planner.cli.app import app
from planner.host.probes import Probes, probe_host

runner = CliRunner()

PROJECT = """\
[project]
name = "trainer"
version = "0.1.0"
requires-python = ">=3.11"

[project.optional-dependencies]
cpu = ["torch"]
cu124 = ["torch"]
cu130 = ["torch"]

[dependency-groups]
dev = ["pytest"]

[tool.uv]
conflicts = [[{ extra = "cpu" }, { extra = "cu124" }, { extra = "cu130" }]]

[tool.planner.targets.cpu]
platform = "linux-x86_64"
python = "3.11"
accelerator = "cpu"
extras = ["cpu"]
groups = ["dev"]

[tool.planner.targets.cu124]
platform = "linux-x86_64"
python = "3.11"
accelerator = "cuda12.4"
extras = ["cu124"]

[tool.planner.targets.cu130]
platform = "linux-x86_64"
python = "3.11"
accelerator = "cuda13.0"
extras = ["cu130"]

[tool.planner.targets.mac]
platform = "macos-arm64"
python = "3.11"
extras = ["cpu"]
"""

SMI_QUERY = "NVIDIA A100-SXM4-80GB, 550.54.14\nNVIDIA A100-SXM4-80GB, 550.54.14\n"
SMI_BANNER = ("+-----------------------------------------------------------------------------+\n"
              "| NVIDIA-SMI 550.54.14    Driver Version: 550.54.14    CUDA Version: 12.4     |\n")
PROC_580 = ("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06  Release Build  "
            "(dvs-builder@U16-I3-B13-4-3)  Sun Jul 27 06:54:38 UTC 2025\nGCC version:  gcc version 12.2.0\n")


def fake(system: str = "Linux", machine: str = "x86_64", python: str = "3.11.9", glibc: str | None = "glibc 2.36",
         mac: str = "", commands: dict[str, str] | None = None, files: dict[str, str] | None = None) -> Probes:
    commands = commands or {}
    files = files or {}

    def run(command: Sequence[str]) -> str | None:
        return commands.get(" ".join(command))

    return Probes(system=lambda: system, machine=lambda: machine, python=lambda: python, glibc=lambda: glibc,
                  mac_version=lambda: mac, run=run, read=files.get)


CPU_HOST = fake()
CUDA12_HOST = fake(commands={"nvidia-smi --query-gpu=name,driver_version --format=csv,noheader": SMI_QUERY,
                             "nvidia-smi": SMI_BANNER})
CUDA13_HOST = fake(files={"/proc/driver/nvidia/version": PROC_580})
MAC_HOST = fake(system="Darwin", machine="arm64", glibc=None, mac="14.5")


def detect(write_project, monkeypatch, probes: Probes, *args: str):
    folder = write_project(PROJECT)
    monkeypatch.setattr(detect_cmd, "system_probes", lambda: probes)
    return runner.invoke(app, ["detect", str(folder), *args])


def test_probes_read_the_driver_from_nvidia_smi_or_proc() -> None:
    host = probe_host(CUDA12_HOST)
    assert (host.nvidia_driver, host.cuda, host.cuda_source) == ("550.54.14", (12, 4), "nvidia-smi")
    assert host.gpus == ("NVIDIA A100-SXM4-80GB", "NVIDIA A100-SXM4-80GB")
    host = probe_host(CUDA13_HOST)
    assert (host.nvidia_driver, host.cuda, host.cuda_source) == ("580.65.06", (13, 0), "NVIDIA's driver table")
    host = probe_host(MAC_HOST)
    assert (host.platform_name, host.macos, host.glibc, host.nvidia_driver) == ("macos-arm64", (14, 5), None, None)
    host = probe_host(fake(files={"/opt/rocm/.info/version": "6.2.0-66\n"}))
    assert host.rocm == (6, 2)
    # What a probe says is checked before use: garbage is no driver.
    host = probe_host(fake(commands={"nvidia-smi --query-gpu=name,driver_version --format=csv,noheader":
                                     "GPU, $(rm -rf /)\n" + "x" * 100_000}))
    assert host.nvidia_driver is None and host.gpus == ()


def test_real_probes_describe_this_machine() -> None:
    host = probe_host()  # no GPU needed: whatever is there, the facts are well-formed
    assert host.python is not None and host.os in ("linux", "macos", "windows")
    assert host.describe().startswith(host.platform_name or host.os)


def test_cpu_linux_host(write_project, monkeypatch) -> None:
    result = detect(write_project, monkeypatch, CPU_HOST)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "this machine: linux-x86_64, Python 3.11.9, glibc 2.36, no NVIDIA driver, no ROCm"
    assert lines[1] == "target: cpu (linux-x86_64, Python 3.11, cpu, extras cpu, groups dev)"
    assert "(no compiled outputs in" in lines[2]
    assert lines[3].startswith("install: uv pip install -r ") and lines[3].endswith(
        "output/pylock.toml --extra cpu --group dev")
    assert lines[4].startswith("     or: pip install --require-hashes --no-deps -r ") and lines[4].endswith(
        "output/cpu/requirements.txt")
    assert "  cu124: does not fit: it states accelerator cuda12.4; this machine has no NVIDIA driver" in lines
    assert "  mac: does not fit: it is for macos-arm64; this machine is linux-x86_64" in lines


def test_cuda_12_4_host(write_project, monkeypatch) -> None:
    result = detect(write_project, monkeypatch, CUDA12_HOST)
    assert result.exit_code == 0, result.output
    assert "NVIDIA driver 550.54.14 (CUDA 12.4)" in result.stdout.splitlines()[0]
    assert "target: cu124 (linux-x86_64, Python 3.11, cuda12.4, extras cu124)" in result.stdout
    assert "--extra cu124" in result.stdout
    assert "  cpu: fits too: fits, but runs on the CPU: this machine's GPU stays unused" in result.stdout
    assert ("  cu130: does not fit: it states accelerator cuda13.0; NVIDIA driver 550.54.14 supports CUDA up to "
            "12.4, and CUDA 13.0 needs a newer one (driver >= 580.65.06)") in result.stdout


def test_cuda_13_host(write_project, monkeypatch) -> None:
    result = detect(write_project, monkeypatch, CUDA13_HOST, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["host"]["nvidia_driver"] == "580.65.06" and data["host"]["cuda"] == "13.0"
    assert data["target"] == "cu130"  # a CUDA 13 driver runs CUDA 12.4 too: the newest runtime wins
    fits = {t["name"]: t["fits"] for t in data["targets"]}
    assert fits == {"cpu": True, "cu124": True, "cu130": True, "mac": False}
    assert data["install"]["pylock"].endswith("output/pylock.toml --extra cu130")


def test_macos_host(write_project, monkeypatch) -> None:
    result = detect(write_project, monkeypatch, MAC_HOST)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == ("this machine: macos-arm64, Python 3.11.9, macOS 14.5, no NVIDIA driver, "
                                             "no ROCm")
    assert "target: mac (macos-arm64, Python 3.11, no accelerator stated, extras cpu)" in result.stdout
    assert "  cpu: does not fit: it is for linux-x86_64; this machine is macos-arm64" in result.stdout


def test_no_target_fits_exits_1_and_says_why(write_project, monkeypatch) -> None:
    result = detect(write_project, monkeypatch, fake(python="3.13.1"))
    assert result.exit_code == 1
    assert "no target of the project fits this machine" in result.stdout
    assert "  cpu: does not fit: it is for Python 3.11; this machine runs 3.13.1" in result.stdout
    old_glibc = detect(write_project, monkeypatch, fake(glibc="glibc 2.17"))
    assert old_glibc.exit_code == 1
    assert "it needs glibc 2.28 or later; this machine has 2.17" in old_glibc.stdout


def test_python_option_names_the_project_python(write_project, monkeypatch) -> None:
    result = detect(write_project, monkeypatch, fake(python="3.13.1"), "--python", "3.11")
    assert result.exit_code == 0 and "target: cpu" in result.stdout


@pytest.fixture
def compiled_project(write_project):
    """A project with outputs: detect reads the runtime each plan carries and the lock files."""
    folder = write_project(PROJECT.replace('accelerator = "cuda12.4"\n', ""))
    out = folder / "output"
    out.mkdir()
    document = {"planner_plan": 1, "targets": [
        {"target": {"name": "cpu"}, "runtime": {"kind": None, "version": None}, "left_out": []},
        {"target": {"name": "cu124"}, "runtime": {"kind": "cuda", "version": "12.4"}, "left_out": []},
        {"target": {"name": "cu130"}, "runtime": {"kind": "cuda", "version": "13.0"}, "left_out": []},
        {"target": {"name": "mac"}, "runtime": {"kind": None, "version": None},
         "left_out": [{"kind": "extra", "name": "cpu", "reason": "...", "fix": "..."}]},
    ], "outputs": {"pylock.toml": "0" * 64}}
    (out / "plan.json").write_text(json.dumps(document))
    return folder


def test_detect_uses_the_runtime_the_plan_carries(compiled_project, monkeypatch) -> None:
    monkeypatch.setattr(detect_cmd, "system_probes", lambda: CUDA12_HOST)
    result = runner.invoke(app, ["detect", str(compiled_project)])
    assert result.exit_code == 0, result.output
    # cu124 states no accelerator here; its plan carries CUDA 12.4, which this driver runs.
    assert "target: cu124 (linux-x86_64, Python 3.11, no accelerator stated, extras cu124)" in result.stdout
    monkeypatch.setattr(detect_cmd, "system_probes", lambda: MAC_HOST)
    mac = runner.invoke(app, ["detect", str(compiled_project)])
    assert "--extra cpu" in mac.stdout  # a left-out extra is still the install flag


def test_a_plan_json_that_is_not_planners_is_ignored(compiled_project, monkeypatch) -> None:
    (compiled_project / "output" / "plan.json").write_text('{"targets": [{"target": 5}, "x"], "outputs": []}')
    monkeypatch.setattr(detect_cmd, "system_probes", lambda: CPU_HOST)
    result = runner.invoke(app, ["detect", str(compiled_project)])
    assert result.exit_code == 0 and "target: cpu" in result.stdout and "Traceback" not in result.output
