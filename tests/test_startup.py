"""Start-up imports: the slow libraries load only where they are used.

`planner --help` loads none of them; loading the compile command's modules leaves out networkx
(only conflicting extras or groups need it), httpx (only a request over the network) and jinja2
(only a rendered Dockerfile). Checked in fresh interpreters, by what is in `sys.modules`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from planner.errors import PlannerError
from planner.index.auth import CredentialStore
from planner.index.http import Fetcher

REPO = Path(__file__).resolve().parent.parent
SLOW = ("pysat", "networkx", "httpx", "jinja2")
COMPILE_MODULES = ("planner.cli.compile_cmd", "planner.solve.objective", "planner.cli.workspace",
                   "planner.generate.outputs", "planner.generate.files", "planner.index.client")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "NO_COLOR": "1"}


def _slow_loaded_after(code: str) -> list[str]:
    """Which of SLOW a fresh interpreter has imported after running `code`."""
    probe = (code + "\nimport json, sys\n"
             f"print(json.dumps([m for m in {SLOW!r} if m in sys.modules]))\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=_env(),
                            cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _imported_by_command(*args: str, exit_codes: tuple[int, ...] = (0,)) -> set[str]:
    """The top-level packages `python -m planner ARGS` imports (from -X importtime's report)."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "planner", *args],
                            capture_output=True, text=True, env=_env(), cwd=REPO, check=False)
    assert result.returncode in exit_codes, result.stderr
    names = {line.rpartition("|")[2].strip() for line in result.stderr.splitlines()
             if line.startswith("import time:")}
    return {name.partition(".")[0] for name in names}


def test_help_imports_none_of_the_slow_libraries() -> None:
    assert _slow_loaded_after("from planner.cli.app import app\n"
                              "try:\n    app(['--help'])\nexcept SystemExit:\n    pass") == []
    assert _imported_by_command("--help").isdisjoint(SLOW)
    assert _imported_by_command("compile", "--help").isdisjoint(SLOW)


def test_compile_modules_load_the_solver_only() -> None:
    assert _slow_loaded_after("import " + ", ".join(COMPILE_MODULES)) == ["pysat"]


def test_compile_check_loads_no_solver() -> None:
    imported = _imported_by_command(
        "compile", "examples/torch-cpu-gpu", "--index", "pytorch-cpu=examples/seed-9310/indexes/pytorch-cpu",
        "--default-index", "examples/seed-9310/indexes/pypi", "--check",
        exit_codes=(0, 1))  # current or stale: either way the check ran without solving
    assert "pysat" not in imported and "httpx" not in imported


def test_targets_without_conflicts_load_none_of_the_slow_libraries(write_project) -> None:
    folder = write_project("""
        [project]
        name = "demo"
        version = "1.0"
        requires-python = ">=3.11"
        dependencies = ["numpy"]
        [project.optional-dependencies]
        plot = ["matplotlib"]
        """)
    assert _imported_by_command("targets", str(folder)).isdisjoint(SLOW)


def test_targets_with_conflicts_still_load_networkx(write_project) -> None:
    folder = write_project("""
        [project]
        name = "demo"
        version = "1.0"
        requires-python = ">=3.11"
        [project.optional-dependencies]
        cpu = ["torch"]
        gpu = ["torch"]
        [tool.uv]
        conflicts = [[{ extra = "cpu" }, { extra = "gpu" }]]
        """)
    code = ("from planner.project.loader import load_project\n"
            "from planner.targets.resolve import resolve_targets\n"
            f"print([t.name for t in resolve_targets(load_project({str(folder)!r}))])")
    assert _slow_loaded_after(code) == ["networkx"]


def test_reading_a_local_index_makes_no_http_client(tmp_path: Path) -> None:
    page = tmp_path / "index.html"
    page.write_text("<html></html>", encoding="utf-8")
    code = ("from planner.index.auth import CredentialStore\n"
            "from planner.index.http import Fetcher\n"
            f"with Fetcher(CredentialStore([]), local_roots=[{str(tmp_path)!r}]) as fetcher:\n"
            f"    assert fetcher.get({page.as_uri()!r}, 'local').body == b'<html></html>'")
    assert _slow_loaded_after(code) == []


def test_a_missing_ssl_cert_file_fails_when_the_fetcher_is_made(monkeypatch) -> None:
    # The HTTP client is made on the first request, but the setting is still checked up front.
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
    with pytest.raises(PlannerError, match="SSL_CERT_FILE"):
        Fetcher(CredentialStore([]))
