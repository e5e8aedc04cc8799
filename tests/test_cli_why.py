"""`planner why` / `planner why-not` and the explanation `planner compile` prints, end to end on
the seed project against the fixture index server."""

from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from planner.cli.app import app
from tests.conftest import SEED

runner = CliRunner()


def _run(server, command: str, *args: str, cache=None):
    options = ["--index", f"pytorch-cpu={server.url('pytorch-cpu')}", "--default-index", server.url("pypi")]
    options += ["--cache-dir", str(cache)] if cache else ["--no-cache"]
    return runner.invoke(app, [command, *args, *options])


def _seed(tmp_path, replace: tuple[str, str] | None = None):
    project = tmp_path / "seed"
    shutil.copytree(SEED, project, ignore=shutil.ignore_patterns("output", "indexes"))
    if replace:
        path = project / "pyproject.toml"
        path.write_text(path.read_text().replace(*replace))
    return project


def test_why_prints_chains_per_target(seed_index_server, tmp_path) -> None:
    project = _seed(tmp_path)
    result = _run(seed_index_server, "why", "torch", "-p", str(project), "-t", "linux-x86_64-cpu")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "linux-x86_64-cpu: torch 2.5.1+cpu"
    assert "  required by: torch==2.5.1 (extra cpu, pyproject.toml:11)" in lines
    assert any("torchvision 0.20.1+cpu requires torch==2.5.1" in line for line in lines)
    assert "macos" not in result.stdout


def test_why_json(seed_index_server, tmp_path) -> None:
    project = _seed(tmp_path)
    result = _run(seed_index_server, "why", "sympy", "-p", str(project), "-t", "macos-arm64-cpu", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    [answer] = document["targets"]
    assert answer["package"] == "sympy" and answer["version"]
    assert answer["chains"][0][0].startswith("torch==2.5.1") and "torch 2.5.1 requires sympy" in answer["chains"][0][1]


def test_why_not_names_the_minimal_reason(seed_index_server, tmp_path) -> None:
    project = _seed(tmp_path)
    result = _run(seed_index_server, "why-not", "torchvision==0.20.1", "-t", "linux-x86_64-cpu", "-p", str(project))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "linux-x86_64-cpu: torchvision 0.20.1 is in the plan (torchvision 0.20.1+cpu)"
    result = _run(seed_index_server, "why-not", "torch==2.9.0", "-t", "linux-x86_64-cpu", "-p", str(project), "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["planned"] == "2.5.1+cpu" and "not on pytorch-cpu" in document["reason"]["text"]


def test_why_not_bad_spec_is_input_error(seed_index_server, tmp_path) -> None:
    result = _run(seed_index_server, "why-not", "torch==two", "-t", "linux-x86_64-cpu", "-p", str(_seed(tmp_path)))
    assert result.exit_code == 2 and "PACKAGE==VERSION" in result.stderr
    result = _run(seed_index_server, "why-not", "torch==2.5.1", "-t", "nowhere", "-p", str(_seed(tmp_path / "b")))
    assert result.exit_code == 2 and "no such target" in result.stderr


def test_compile_prints_the_explanation(seed_index_server, tmp_path) -> None:
    project = _seed(tmp_path, ('"torchvision==0.20.1",\n]\ngpu', '"torchvision==0.99",\n]\ngpu'))
    result = runner.invoke(app, ["compile", str(project), "--index", f"pytorch-cpu={seed_index_server.url('pytorch-cpu')}",
                                 "--default-index", seed_index_server.url("pypi"), "--no-cache"])
    assert result.exit_code == 1, result.output
    err = result.stderr
    assert "1. the project's extra cpu requires torchvision==0.99 (pyproject.toml:12)" in err
    assert "relax torchvision==0.99 (pyproject.toml:12); the plan then takes torchvision 0.20.1+cpu from pytorch-cpu" in err
    assert "aux:" not in err and "@pytorch-cpu" not in err
    assert len(err.splitlines()) <= 2 * 8


def test_why_quotes_the_requirement_line_that_applies_on_the_target(seed_index_server, tmp_path) -> None:
    """torch lists sympy==1.12.1 for Python 3.8 and sympy==1.13.1 for 3.9+: a 3.11 target shows the latter."""
    project = _seed(tmp_path)
    result = _run(seed_index_server, "why", "sympy", "-p", str(project), "-t", "linux-x86_64-gpu")
    assert result.exit_code == 0, result.output
    assert "torch 2.5.1 requires sympy==1.13.1" in result.stdout
    assert "1.12.1" not in result.stdout
