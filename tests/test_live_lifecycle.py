"""The web-project sequence against real PyPI, planner next to `uv lock` (opt-in: `-m live`).

A project requiring fastapi is first locked as of 2024-10-14 (`--exclude-newer`), which gives
fastapi 0.115.2, pydantic 2.9.2 and starlette 0.39.2; then, against today's PyPI, httpx is added,
fastapi is upgraded alone (`-P fastapi`), everything is upgraded (`-U`), and `--locked` checks the
result. At each step planner's change list for the Linux target must name the same packages,
with the same versions, as uv's summary of what it added, updated and removed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.live

PYPROJECT = """\
[project]
name = "web"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = [{dependencies}]
"""
UV_LINE = re.compile(r"^(Added|Updated|Removed) (\S+) v(\S+)(?: -> v(\S+))?$")


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "UV_PYTHON_DOWNLOADS": "never", "UV_PYTHON": sys.executable}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def _uv_changes(stderr: str) -> set[str]:
    out = set()
    for line in stderr.splitlines():
        match = UV_LINE.match(line.strip())
        if match is None:
            continue
        kind, name, old, new = match.groups()
        if kind == "Added":
            out.add(f"+ {name} {old}")
        elif kind == "Removed":
            out.add(f"- {name}")
        else:
            out.add(f"~ {name} {old} → {new}")
    return out


def _planner_changes(stdout: str, target: str = "linux-x86_64") -> set[str]:
    lines, inside = set(), False
    for line in stdout.splitlines():
        if not line.startswith("  "):
            inside = line.rstrip(":") == target
            continue
        if inside:
            lines.add(line.strip())
    return lines


def test_web_project_sequence_next_to_uv(tmp_path: Path) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    planner = [sys.executable, "-m", "planner"]
    project = tmp_path / "web"
    project.mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT.format(dependencies='"fastapi"'))

    first = _run([*planner, "compile", ".", "--exclude-newer", "2024-10-14"], project)
    assert first.returncode == 0, first.stderr
    assert _run([uv, "lock", "--exclude-newer", "2024-10-14"], project).returncode == 0
    print(first.stdout)

    (project / "pyproject.toml").write_text(PYPROJECT.format(dependencies='"fastapi", "httpx"'))
    for step in ([], ["-P", "fastapi"], ["-U"]):
        ours = _run([*planner, "compile", ".", *step], project)
        theirs = _run([uv, "lock", *step], project)
        assert ours.returncode == 0 and theirs.returncode == 0, (ours.stderr, theirs.stderr)
        print(f"$ planner compile {' '.join(step)}\n{ours.stdout}$ uv lock {' '.join(step)}\n{theirs.stderr}")
        assert _planner_changes(ours.stdout) == _uv_changes(theirs.stderr)
        if not step:  # adding httpx moves nothing that was pinned
            assert all(change.startswith("+") for change in _planner_changes(ours.stdout))

    assert _run([*planner, "compile", ".", "--locked"], project).returncode == 0
    assert _run([uv, "lock", "--locked"], project).returncode == 0
