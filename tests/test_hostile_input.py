"""Hostile numbers and user mistakes: exit 2 with one message, never a hang, never exit 3.

- numbers with huge components (Python, manylinux and macOS versions, requires-python, version
  specifiers, markers, TOML integers of 5000 digits) fail where they are written, fast: no loop
  or allocation depends on a number from the input (each run here has a 30 s budget as a guard
  against hangs, not as a timing claim);
- names that cannot become folder names or markers (target names that are too long or hold
  control characters, extra and group names with a trailing newline), TOML nested thousands deep;
- environment and command-line mistakes: `PLANNER_INDEX_TTL=abc`, `--stats` naming a folder,
  `--emit-cnf` or `-o` naming a file, `-o /`, a full or read-only output folder, a server's
  `Retry-After: nan` or `-1` (treated as absent);
- a reader that closes the pipe (`planner ... | head`) ends the run quietly with the exit code
  its work earned; SIGTERM ends it like Ctrl-C: temporary files removed, one message, exit 143.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.hostile import (
    Served,
    assert_one_clear_error,
    compile_cli,
    compile_process,
    process_env,
    served_project,
    snapshot,
)

HEAD = '[project]\nname = "p"\nversion = "1"\nrequires-python = ">=3.11"\n'
BIG = "9" * 5000
TARGET = '[tool.planner.targets.box]\nplatform = "{platform}"\npython = "{python}"\n'


def _write(tmp_path: Path, text: str) -> Path:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / "pyproject.toml").write_text(text, encoding="utf-8")
    return project


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# (name, pyproject text, key printed in the message or None, text whose line is reported, message)
HUGE_NUMBERS = [
    ("python", HEAD + "dependencies = []\n" + TARGET.format(platform="linux-x86_64", python="3.99999999999"),
     "tool.planner.targets.box.python", 'python = "3.99', "is not a Python version"),
    ("manylinux", HEAD + "dependencies = []\n" + TARGET.format(platform="linux-x86_64", python="3.11")
     + 'manylinux = "2.999999999"\n', "tool.planner.targets.box.manylinux", "manylinux", "is not a glibc version"),
    ("macos-10-minor", HEAD + "dependencies = []\n" + TARGET.format(platform="macos-x86_64", python="3.11")
     + 'macos = "10.999999999"\n', "tool.planner.targets.box.macos", 'macos = "10', "is not a macOS version"),
    ("requires-python", HEAD.replace(">=3.11", f">=3.{BIG}") + "dependencies = []\n",
     "project.requires-python", "requires-python", "is too large"),
    ("specifier", HEAD + f'dependencies = ["numpy==1.{BIG}"]\n', "project.dependencies[0]", "dependencies",
     "is too large"),
    ("specifier-above-64-bits", HEAD + 'dependencies = ["numpy>=1.99999999999999999999999"]\n',
     "project.dependencies[0]", "dependencies", "99999999999999999999999 is too large"),
    ("marker", HEAD + f'dependencies = ["numpy; python_version > \'3.{BIG}\'"]\n', "project.dependencies[0]",
     "dependencies", "is too large"),
    ("environments", HEAD + f"dependencies = []\n[tool.uv]\nenvironments = [\"python_full_version >= '3.{BIG}'\"]\n",
     "tool.uv.environments[0]", "environments", "is too large"),
    ("project-version", HEAD.replace('version = "1"', f'version = "1.{BIG}"') + "dependencies = []\n",
     "project.version", 'version = "1.9', "is not a PEP 440 version"),
    ("toml-integer", HEAD + f"dependencies = []\n[tool.other]\nx = {BIG}\n", None, "x = 9",
     "a number with thousands of digits"),
]


@pytest.mark.parametrize("name, text, key, line_of, message", HUGE_NUMBERS, ids=[case[0] for case in HUGE_NUMBERS])
def test_huge_numbers_fail_fast_where_they_are_written(tmp_path: Path, name: str, text: str, key: str | None,
                                                       line_of: str, message: str) -> None:
    project = _write(tmp_path, text)
    # A real process with a deadline: on a hang (tags generated for 10^11 Python minors, say)
    # the test fails instead of waiting forever.
    completed = compile_process(["targets", str(project)], cwd=tmp_path, timeout=30)
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.count("error:") == 1 and "Traceback" not in completed.stderr, completed.stderr
    flat = " ".join(completed.stderr.split())
    assert f"pyproject.toml:{_line_of(text, line_of)}" in flat, flat
    if key is not None:
        assert f"[{key}]" in flat, flat
    assert message in flat, flat
    assert len(completed.stderr) < 2000  # the message does not repeat 5000 digits


NAMES = [
    ("extra-with-newline", HEAD + 'dependencies = []\n[project.optional-dependencies]\n"cpu\\n" = []\n',
     'project.optional-dependencies."cpu\\n"', '"cpu', "is not a valid extra name"),
    ("group-with-newline", HEAD + 'dependencies = []\n[dependency-groups]\n"dev\\n" = []\n',
     'dependency-groups."dev\\n"', '"dev', "is not a valid dependency group name"),
    ("target-name-too-long", HEAD + "dependencies = []\n" + TARGET.replace("box", "b" * 300).format(
        platform="linux-x86_64", python="3.11"), None, "[tool.planner.targets.", "(300 characters)"),
    ("target-name-control-characters", HEAD + "dependencies = []\n" + TARGET.replace("box", '"box\\n"').format(
        platform="linux-x86_64", python="3.11"), None, "[tool.planner.targets.", "is not a valid target name"),
    ("index-name-with-newline", HEAD + 'dependencies = []\n[[tool.uv.index]]\nname = "private\\n"\n'
     'url = "https://pkgs.example.com/simple"\n', "tool.uv.index[0].name", "name = \"private", "is not a valid index name"),
    ("toml-nested-thousands-deep", HEAD + "dependencies = []\n[tool.other]\nx = " + "[" * 3000 + "]" * 3000 + "\n",
     None, None, "nested too deeply"),
    ("toml-nested-forty-deep", HEAD + "dependencies = []\n[tool.other]\nx = " + "[" * 40 + "]" * 40 + "\n",
     None, None, "nested more than 32 levels deep"),
]


@pytest.mark.parametrize("name, text, key, line_of, message", NAMES, ids=[case[0] for case in NAMES])
def test_names_and_nesting_are_rejected_at_load(tmp_path: Path, name: str, text: str, key: str | None,
                                                 line_of: str | None, message: str) -> None:
    project = _write(tmp_path, text)
    for command in (["targets", str(project)], ["compile", str(project), "--offline", "--no-cache"]):
        result = compile_cli(command)
        assert_one_clear_error(result, message, "pyproject.toml")
        if line_of is not None:
            assert f"pyproject.toml:{_line_of(text, line_of)}" in result.stderr, result.stderr
        if key is not None:
            assert f"[{key}]" in " ".join(result.stderr.split()), result.stderr
    assert not (project / "output").exists()


# -- the environment and the command line ------------------------------------------------------
@pytest.fixture
def served(tmp_path: Path):
    with served_project(tmp_path) as served:
        yield served


@pytest.mark.parametrize("value", ["abc", "nan", "-5", "1e999", BIG])
def test_bad_page_ttl_from_the_environment(served: Served, value: str) -> None:
    before = snapshot(served.output)
    result = compile_cli(served.args(cache=False), {"PLANNER_INDEX_TTL": value})
    assert_one_clear_error(result, "environment variable PLANNER_INDEX_TTL=", "is not a whole number",
                           "set PLANNER_INDEX_TTL to")
    assert snapshot(served.output) == before


def test_destinations_that_cannot_be_written_fail_before_any_work(served: Served, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    a_folder = tmp_path / "a-folder"
    a_folder.mkdir()
    before = snapshot(served.output)
    cases = [
        (["--stats", str(a_folder)], f"--stats {a_folder} is a folder; it names a file to write"),
        (["--stats", str(tmp_path / "missing" / "stats.json")], "does not exist"),
        (["--emit-cnf", str(a_file)], f"--emit-cnf {a_file} is a file, not a folder"),
        (["-o", str(a_file)], f"-o {a_file} is a file, not a folder"),
        (["-o", str(a_file / "sub")], "is a file, not a folder"),
        (["-o", "/"], "refusing to write outputs into the root of the file system"),
    ]
    for extra, message in cases:
        served.server.reset_log()
        result = compile_cli(served.args(*extra, cache=False))
        assert_one_clear_error(result, message, "fix:")
        assert served.server.count() == 0  # refused before any request
    assert snapshot(served.output) == before
    assert a_file.read_text() == "not a folder" and list(a_folder.iterdir()) == []
    assert not (Path("/") / "plan.json").exists()


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob(".*"))


def _change_the_plan(served: Served) -> None:
    pyproject = served.project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('dependencies = ["alpha"]', 'dependencies = ["alpha<2"]'))


@pytest.mark.parametrize("failure", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_full_or_read_only_output_folder(served: Served, monkeypatch: pytest.MonkeyPatch, failure: int) -> None:
    """The disk fills up (the error surfaces when the data is flushed), or the folder cannot be
    written: one message, the previous outputs byte for byte, no temporary file."""
    _change_the_plan(served)
    before = snapshot(served.output)
    output = str(served.output)
    real_open = os.open

    def refusing_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        creating = flags & os.O_CREAT and (kwargs.get("dir_fd") is not None or str(path).startswith(output))
        if creating and failure != errno.ENOSPC:
            raise OSError(failure, os.strerror(failure), str(path))
        return real_open(path, flags, *args, **kwargs)

    def full_fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "open", refusing_open)
    if failure == errno.ENOSPC:
        monkeypatch.setattr(os, "fsync", full_fsync)
    result = compile_cli(served.args(cache=False))
    monkeypatch.undo()
    assert_one_clear_error(result, os.strerror(failure), "the previous outputs are unchanged", "fix:")
    assert snapshot(served.output) == before
    assert _temp_files(served.output) == []


def test_retry_after_nan_or_negative_is_treated_as_absent(served: Served) -> None:
    served.server.add_fault("/pypi/simple/alpha/", "retry-after:nan", "retry-after:-1", "retry-after:1e400")
    before = snapshot(served.output)
    result = compile_cli(served.args(cache=False), {"PLANNER_HTTP_RETRIES": "3"})
    assert result.exit_code == 0, result.output
    assert snapshot(served.output) == before
    assert [r.fault for r in served.server.requests("/pypi/simple/alpha/")][:4] == ["retry-after"] * 3 + [None]


# -- the process: pipes and signals --------------------------------------------------------------
def test_closed_stdout_ends_quietly_with_the_exit_code_of_the_work(served: Served) -> None:
    for args, code in ((["targets", str(served.project)], 0), (served.args(cache=False), 0)):
        process = subprocess.Popen([sys.executable, "-m", "planner", *args], cwd=served.project, env=process_env(),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        process.stdout.close()  # the reader is gone before planner prints anything
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == code, stderr.decode()
        assert stderr.decode().count("error:") == 0 and "Traceback" not in stderr.decode(), stderr.decode()
        assert "Exception ignored" not in stderr.decode()


# Run planner in a process that sends itself SIGTERM at the first rename of a staged output.
_TERM_AT_RENAME = """
import os, signal, sys
from planner.cli.app import main
real_replace = os.replace
def replace(src, dst, *args, **kwargs):
    if kwargs.get("dst_dir_fd") is not None or str(dst).startswith(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGTERM)
    return real_replace(src, dst, *args, **kwargs)
os.replace = replace
sys.argv = ["planner", *sys.argv[2:]]
main()
"""


def test_sigterm_while_committing_outputs_removes_temporary_files(served: Served) -> None:
    _change_the_plan(served)
    before = snapshot(served.output)
    done = subprocess.run([sys.executable, "-c", _TERM_AT_RENAME, str(served.output), *served.args()],
                          cwd=served.project, env=process_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 143, done.stderr
    assert done.stderr.count("error:") == 1 and "terminated" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(served.output) == before  # staged, never renamed: the previous outputs stand
    assert _temp_files(served.output) == []


def test_sigterm_while_fetching(served: Served) -> None:
    served.server.stall_seconds = 30
    served.server.add_fault("/pypi/simple/booster/", "timeout")
    before = snapshot(served.output)
    process = subprocess.Popen([sys.executable, "-m", "planner", *served.args(cache=False)], cwd=served.project,
                               env=process_env({"PLANNER_HTTP_TIMEOUT": "60"}), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        import time

        deadline = time.monotonic() + 60
        while served.server.count("/pypi/simple/booster/") == 0 and process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143, stderr
    assert stderr.count("error:") == 1 and "terminated" in stderr and "Traceback" not in stderr, stderr
    assert snapshot(served.output) == before
    assert _temp_files(served.output) == []


def test_numbers_from_a_server_are_bounded() -> None:
    """Header values a server chooses: no int() of 5000 digits, no negative or NaN wait."""
    from planner.index.client import _max_age
    from planner.index.http import header_int, retry_after_seconds

    assert _max_age("max-age=" + BIG) == 10**10
    assert _max_age("max-age=²") is None and _max_age("max-age=60") == 60
    assert header_int(BIG) is None and header_int("-1") is None and header_int("١٢") is None
    assert header_int("123") == 123
    for value in ("nan", "-1", "inf", "1e400", BIG, "Tue, 99 Foo 2024"):
        assert retry_after_seconds(value) is None, value
    assert retry_after_seconds("7") == 7 and retry_after_seconds("100000") == 30
    assert retry_after_seconds("Thu, 01 Jan 1970 00:00:10 GMT", now=0) == 10
