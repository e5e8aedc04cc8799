"""The command line as a uv user types it, through the real `planner` entry point in a subprocess:
shared options before or after the command, the project found from a subfolder, what `-q`, the
default and `--show-plan` print, the command the outputs record, and the help text.

Everything runs on a copy of the bundled example and its static indexes: no network."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PLANNER = str(Path(sys.executable).parent / "planner")  # the console script, as installed
COMMANDS = ["targets", "candidates", "compile", "mirror", "why", "why-not", "tree", "detect"]


def planner(*args: str, cwd: Path, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run([PLANNER, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A compiled copy of examples/torch-cpu-gpu beside its indexes; returns the project folder."""
    root = tmp_path_factory.mktemp("usage")
    for name in ("torch-cpu-gpu", "seed-9310"):
        shutil.copytree(REPO / "examples" / name, root / name, ignore=shutil.ignore_patterns("output"))
    project = root / "torch-cpu-gpu"
    (project / "src" / "deep").mkdir(parents=True)
    first = planner("compile", *INDEXES, "--no-cache", cwd=project)
    assert first.returncode == 0, first.stderr
    return project


INDEXES = ["--index", "pytorch-cpu=../seed-9310/indexes/pytorch-cpu", "--default-index", "../seed-9310/indexes/pypi"]
# From <project>/src/deep the indexes are two folders further up.
DEEP_INDEXES = ["--index", "pytorch-cpu=../../../seed-9310/indexes/pytorch-cpu",
                "--default-index", "../../../seed-9310/indexes/pypi"]

ARGUMENTS = {"candidates": ["torch"], "why": ["torch"], "why-not": ["torch"], "mirror": ["torch", "--latest", "1"]}


@pytest.mark.parametrize("command", COMMANDS)
def test_shared_options_go_before_or_after_every_command(example: Path, command: str, tmp_path: Path) -> None:
    shared = ["-q", "--refresh", "--cache-dir", str(tmp_path / "cache"), "--format", "json", "-p", "../..",
              *DEEP_INDEXES]
    extra = ARGUMENTS.get(command, []) + (["--to", str(tmp_path / "mirror")] if command == "mirror" else [])
    after = planner(command, *extra, *shared, cwd=example / "src" / "deep")
    before = planner(*shared, command, *extra, cwd=example / "src" / "deep")
    assert after.returncode == 0, after.stderr
    assert before.returncode == 0, before.stderr
    assert after.stderr == before.stderr == ""  # -q: no info lines, in either place
    if command != "mirror":  # (the second mirror run finds the files in place)
        assert after.stdout == before.stdout and after.stdout.startswith("{")  # --format json, either place


def test_the_project_is_found_from_a_subfolder_and_quiet_prints_nothing(example: Path) -> None:
    deep = example / "src" / "deep"
    quiet = planner("compile", "-q", *DEEP_INDEXES, "--no-cache", cwd=deep)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == "" and quiet.stderr == ""
    # Nothing changed: the default output says so, with counts, and the differences between targets.
    again = planner("compile", *DEEP_INDEXES, "--no-cache", cwd=deep)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("plan unchanged: 8 targets, 0 to 22 packages each\n")
    assert "differences between targets:" in again.stdout
    assert "  torch 2.5.1+cpu" not in again.stdout  # the listing is behind --show-plan / -v
    assert again.stderr == f"outputs in {example / 'output'} unchanged\n"
    listed = planner("-v", "compile", *DEEP_INDEXES, "--no-cache", cwd=deep)
    assert "  torch 2.5.1+cpu  [pytorch-cpu]" in listed.stdout
    assert "phases: load " in listed.stderr and "index pages: " in listed.stderr
    assert planner("compile", "--show-plan", *DEEP_INDEXES, "--no-cache", cwd=deep).stdout == listed.stdout


def test_without_a_pyproject_the_error_names_the_folders_looked_in(tmp_path: Path) -> None:
    empty = tmp_path / "a" / "b"
    empty.mkdir(parents=True)
    for words in (["compile"], ["targets", "-q"], ["why", "torch"], ["-q", "tree"]):
        result = planner(*words, cwd=empty)
        assert result.returncode == 2, result.stderr
        assert f"no pyproject.toml in {empty} or any parent folder" in result.stderr
        assert f"looked in {empty}, {empty.parent}, {tmp_path}" in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
    two = planner("targets", str(tmp_path), "-p", str(REPO), cwd=tmp_path)
    assert two.returncode == 2 and "two projects given" in two.stderr


def test_the_recorded_command_remakes_the_outputs(example: Path) -> None:
    deep = example / "src" / "deep"
    result = planner("compile", "-q", "-o", "../../../elsewhere", "-t", "linux-x86_64-cpu", *DEEP_INDEXES,
                     "--no-cache", cwd=deep)
    assert result.returncode == 0, result.stderr
    out = example.parent / "elsewhere"
    expected = ("planner compile -o ../elsewhere --target linux-x86_64-cpu --index "
                "pytorch-cpu=../seed-9310/indexes/pytorch-cpu --default-index ../seed-9310/indexes/pypi")
    header = (out / "linux-x86_64-cpu" / "requirements.txt").read_text().splitlines()[2]
    assert header == f"#   {expected}"
    assert f'command = "{expected}"' in (out / "pylock.toml").read_text()
    assert f'"command": "{expected}"' in (out / "plan.json").read_text()
    # Run in the project folder, as the header says, it finds the outputs it made current.
    check = planner(*shlex.split(expected)[1:], "--check", cwd=example)
    assert check.returncode == 0, check.stderr
    assert "outputs in ../elsewhere are current" in check.stderr


def test_help_shows_what_to_type_not_python_types(tmp_path: Path) -> None:
    top = planner("--help", cwd=tmp_path, columns=80)
    assert top.returncode == 0
    commands = top.stdout.split("Commands:\n", 1)[1]
    assert "..." not in commands  # no description cut short
    assert {line.split()[0] for line in commands.splitlines() if line.strip()} == set(COMMANDS)
    for command in COMMANDS:
        shown = planner(command, "--help", cwd=tmp_path, columns=80).stdout
        for python_type in ("<list", "<str>", "<path>", "<int", "<float", "<bool"):
            assert python_type not in shown, (command, python_type)
        for option in ("-q, --quiet", "-v, --verbose", "--offline", "--cache-dir", "--no-cache", "--refresh",
                       "--format", "--index", "--default-index", "-p, --project"):
            assert option in shown, (command, option)
