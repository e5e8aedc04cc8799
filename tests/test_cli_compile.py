"""`planner compile` end to end on the seed project against the fixture indexes."""

from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from planner.cli.app import app
from tests.conftest import SEED

runner = CliRunner()


def compile_seed(server, project_dir, cache, *extra: str):
    return runner.invoke(app, [
        "compile", str(project_dir), "--index", f"pytorch-cpu={server.url('pytorch-cpu')}",
        "--default-index", server.url("pypi"), "--cache-dir", str(cache), *extra,
    ])


def test_compile_writes_plan_and_is_deterministic(seed_index_server, tmp_path) -> None:
    project = tmp_path / "seed"
    shutil.copytree(SEED, project, ignore=shutil.ignore_patterns("output", "indexes"))
    result = compile_seed(seed_index_server, project, tmp_path / "cache", "--emit-cnf", str(tmp_path / "cnf"))
    assert result.exit_code == 0, result.output
    plan_file = project / "output" / "plan.json"
    first = plan_file.read_bytes()
    document = json.loads(first)
    targets = {t["target"]["name"]: {p["name"]: p for p in t["packages"]} for t in document["targets"]}
    assert targets["linux-x86_64-cpu"]["torch"]["version"] == "2.5.1+cpu"
    assert targets["linux-x86_64-cpu"]["torch"]["artifact"]["filename"] == "torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl"
    assert len(targets["linux-x86_64-cpu"]["torch"]["artifact"]["sha256"]) == 64
    assert targets["linux-x86_64-gpu"]["triton"]["required_by"] == ["torch"]
    assert {d["package"] for d in document["divergences"]} == {"torch", "torchvision"}
    assert "torch (artifact)" in result.stdout and "pyproject.toml:29" in result.stdout
    assert sorted(p.name for p in (tmp_path / "cnf").iterdir()) == sorted(
        f"{platform}-{extra}{python}.cnf" for platform in ("linux-x86_64", "macos-arm64") for extra in ("cpu", "gpu")
        for python in ("", "-py315"))
    # The summary says which runtime each target carries, and what the 3.15 targets left out.
    assert "linux-x86_64-cpu (linux-x86_64, Python 3.11, cpu): 12 packages, no GPU runtime (torch, torchvision CPU-only builds)" in result.stdout
    assert "linux-x86_64-gpu (linux-x86_64, Python 3.11, cuda): 25 packages, a CUDA 12.4 runtime: 12 packages" in result.stdout
    assert "left out: extra 'cpu': torch 2.5.1 on pypi: no wheel for linux_x86_64/cp315" in result.stdout
    left = {t["target"]["name"]: t["left_out"] for t in document["targets"]}
    assert [(i["kind"], i["name"]) for i in left["macos-arm64-gpu-py315"]] == [("extra", "gpu")]
    assert "python_version < '3.15'" in left["macos-arm64-gpu-py315"][0]["fix"]
    runtimes = {t["target"]["name"]: t["runtime"] for t in document["targets"]}
    assert runtimes["linux-x86_64-gpu"]["kind"] == "cuda" and runtimes["linux-x86_64-gpu"]["version"] == "12.4"
    assert runtimes["linux-x86_64-cpu"]["kind"] is None and runtimes["linux-x86_64-cpu"]["cpu_builds"] == [
        "torch", "torchvision"]
    seed_index_server.reset_log()
    again = compile_seed(seed_index_server, project, tmp_path / "cache", "--offline")
    assert again.exit_code == 0, again.output
    assert seed_index_server.count() == 0
    assert plan_file.read_bytes() == first  # same input, same bytes


def test_unsatisfiable_target_exits_1_and_writes_nothing(seed_index_server, tmp_path) -> None:
    project = tmp_path / "seed"
    shutil.copytree(SEED, project, ignore=shutil.ignore_patterns("output", "indexes"))
    text = (project / "pyproject.toml").read_text().replace('"torchvision==0.20.1",\n]\ngpu', '"torchvision==0.99",\n]\ngpu')
    (project / "pyproject.toml").write_text(text)
    (project / "output").mkdir()
    (project / "output" / "plan.json").write_text("previous")
    result = compile_seed(seed_index_server, project, tmp_path / "cache")
    assert result.exit_code == 1, result.output
    assert "target 'linux-x86_64-cpu' has no plan" in result.stderr
    assert "torchvision==0.99" in result.stderr and "pyproject.toml:12" in result.stderr
    assert "linux-x86_64-gpu" not in result.stderr  # the gpu extra is unchanged and fine
    assert (project / "output" / "plan.json").read_text() == "previous"
    assert "Traceback" not in result.output


def test_compile_json_and_target_selection(seed_index_server, tmp_path) -> None:
    project = tmp_path / "seed"
    shutil.copytree(SEED, project, ignore=shutil.ignore_patterns("output", "indexes"))
    result = compile_seed(seed_index_server, project, tmp_path / "cache", "--format", "json",
                          "-t", "macos-arm64-cpu", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [t["target"]["name"] for t in document["targets"]] == ["macos-arm64-cpu"]
    assert (tmp_path / "out" / "plan.json").is_file() and not (project / "output").exists()


def test_unsatisfiable_json_names_the_facts(seed_index_server, tmp_path) -> None:
    project = tmp_path / "seed"
    shutil.copytree(SEED, project, ignore=shutil.ignore_patterns("output", "indexes"))
    text = (project / "pyproject.toml").read_text().replace('"torchvision==0.20.1",\n]\ngpu', '"torchvision==0.99",\n]\ngpu')
    (project / "pyproject.toml").write_text(text)
    result = compile_seed(seed_index_server, project, tmp_path / "cache", "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    unsat = {u["target"]: u for u in document["unsatisfiable"]}
    assert set(unsat) == {"linux-x86_64-cpu", "macos-arm64-cpu"}
    texts = [f["text"] for f in unsat["linux-x86_64-cpu"]["facts"]]
    assert any("torchvision==0.99" in t for t in texts)
    assert any(f["location"] and f["location"]["line"] == 12 for f in unsat["linux-x86_64-cpu"]["facts"])
    assert not (project / "output").exists()
