"""The command line as a uv user types it, through the real `planner` entry point in a subprocess:
shared options before or after the command, the project found from a subfolder, what `-q`, the
default and `--show-plan` print, the command the outputs record, and the help text.

Everything runs on a copy of the bundled example and its static indexes: no network."""

from __future__ import annotations

import json
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


def planner(*args: str, cwd: Path, columns: int | None = None,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           **(extra_env or {})}
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
    assert again.stdout.startswith("plan unchanged: 8 targets, 9 to 23 packages each\n")
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
    wrong = planner("targets", "--format", "yaml", cwd=tmp_path)
    assert wrong.returncode == 2 and "'yaml' is not one of 'text', 'json'" in wrong.stderr


def test_index_without_a_declared_name_is_searched_first(example: Path, tmp_path: Path) -> None:
    """uv's meaning of --index: a bare URL (or an undeclared NAME) is a new index before the others."""
    result = planner("compile", "-o", str(tmp_path / "out"), "-t", "linux-x86_64-gpu", "--show-plan", "--no-cache",
                     "--index", "../seed-9310/indexes/pytorch-cpu", *INDEXES, cwd=example)
    assert result.returncode == 0, result.stderr
    assert "  torch 2.5.1+cpu  [index-1]" in result.stdout  # the GPU target now finds torch there first
    replaced = planner("compile", "-o", str(tmp_path / "out"), "-t", "linux-x86_64-gpu", "--show-plan", "-U",
                       "--no-cache", *INDEXES, cwd=example)
    assert "  torch 2.5.1\n" in replaced.stdout  # NAME=URL of a declared index only replaces its URL


def test_mirror_sums_up_unusable_files_in_one_line_per_package(tmp_path: Path) -> None:
    import hashlib

    from tests.fixtures.wheels import build_wheel

    index = tmp_path / "index"
    (index / "demo").mkdir(parents=True)
    good = build_wheel("demo", "1.0")
    (index / "demo" / good.filename).write_bytes(good.content)
    links = [f'<a href="{good.filename}#sha256={hashlib.sha256(good.content).hexdigest()}">{good.filename}</a>']
    links += [f'<a href="demo-0.{n}-py3-none-any.whl#sha256=abc">demo-0.{n}-py3-none-any.whl</a>' for n in range(8)]
    (index / "demo" / "index.html").write_text("<html><body>" + "".join(links) + "</body></html>")
    result = planner("mirror", "demo", "--from-url", str(index), "--to", str(tmp_path / "out"), "--no-cache",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    unusable = [line for line in result.stderr.splitlines() if "demo-0." in line]
    assert len(unusable) == 1, result.stderr
    assert unusable[0].startswith("warning: index 'source': 8 listed files unusable, left out (first: "
                                  "'demo-0.0-py3-none-any.whl': ")
    assert "mirrored 1 package from index 'source'" in result.stderr and "1 version, 1 file," in result.stderr


EIGHT_EXTRAS = """\
[project]
name = "eight-extras"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["numpy"]

[project.optional-dependencies]
cpu = ["torch"]
cu124 = ["torch"]
rocm = ["torch"]
serving = ["fastapi"]
training = ["accelerate"]
notebooks = ["jupyterlab"]
dataloading = ["pyarrow"]
visualisation = ["matplotlib"]

[tool.uv]
conflicts = [[{ extra = "cpu" }, { extra = "cu124" }, { extra = "rocm" }]]

[[tool.uv.index]]
name = "pytorch-cu124"
url = "https://download.pytorch.org/whl/cu124"
explicit = true

[[tool.uv.index]]
name = "pytorch-rocm"
url = "https://download.pytorch.org/whl/rocm6.2"
explicit = true

[[tool.uv.index]]
name = "pytorch-cpu"
url = "https://download.pytorch.org/whl/cpu"
explicit = true

[tool.uv.sources]
torch = [
  { index = "pytorch-cpu", extra = "cpu" },
  { index = "pytorch-cu124", extra = "cu124" },
  { index = "pytorch-rocm", extra = "rocm" },
]
"""


def _on_a_terminal(args: list[str], cwd: Path, columns: int) -> str:
    """What `planner ARGS` shows on a pseudo-terminal COLUMNS wide."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: the terminal's size is what COLUMNS / LINES say
        os.chdir(cwd)
        os.environ.update({"COLUMNS": str(columns), "LINES": "50", "NO_COLOR": "1"})
        os.execv(PLANNER, [PLANNER, *args])
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.waitpid(pid, 0)
    os.close(fd)
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_targets_is_readable_on_an_80_column_terminal_and_whole_in_a_pipe(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(EIGHT_EXTRAS)
    shown = _on_a_terminal(["targets"], tmp_path, 80)
    lines = shown.splitlines()
    assert lines and max(len(line) for line in lines) <= 80, shown
    names = ["linux-x86_64-cpu", "linux-x86_64-cu124", "linux-x86_64-rocm", "linux-x86_64-cpu-py315",
             "linux-x86_64-cu124-py315", "linux-x86_64-rocm-py315", "macos-arm64-cpu", "macos-arm64-cpu-py315"]
    for name in names:  # every name whole, at the start of its block
        assert any(line.startswith(f"{name}: ") for line in lines), name
    assert "  index routing: torch -> pytorch-cu124" in lines
    assert "extra dataloading" in shown and "visualisation" in shown
    # Piped: one row per target, whatever its length; COLUMNS, when set, is the width.
    piped = planner("targets", cwd=tmp_path).stdout.splitlines()
    rows = [line for line in piped if line.split(" ", 1)[0] in names]
    assert len(rows) == 8 and all("extra visualisation" in row and "torch -> pytorch-" in row for row in rows)
    narrow = planner("targets", cwd=tmp_path, columns=80).stdout.splitlines()
    assert max(len(line) for line in narrow) <= 80 and "  index routing: torch -> pytorch-rocm" in narrow


def test_a_connection_failure_says_why_and_the_ways_around_it(example: Path) -> None:
    result = planner("compile", "-t", "macos-arm64-cpu", "--default-index", "http://127.0.0.1:9/simple",
                     "--no-cache", cwd=example, extra_env={"PLANNER_HTTP_RETRIES": "0", "NO_PROXY": "127.0.0.1"})
    assert result.returncode == 2, result.stderr
    assert "index 'pypi': connection failed: connection refused (nothing listens at that host and port), " \
           "after 1 attempt" in result.stderr
    assert "--index pypi=URL" in result.stderr and "-t TARGET" in result.stderr
    assert "Traceback" not in result.stderr


def test_connection_causes_are_named() -> None:
    import socket
    import ssl

    import httpx

    from planner.index.http import _connection_cause

    def failed(cause: BaseException) -> httpx.ConnectError:
        error = httpx.ConnectError(str(cause))
        error.__cause__ = cause
        return error

    assert _connection_cause(failed(socket.gaierror(-2, "Name or service not known"))).startswith("DNS name not found")
    assert _connection_cause(failed(ConnectionRefusedError(111, "Connection refused"))).startswith("connection refused")
    certificate = ssl.SSLCertVerificationError(1, "certificate verify failed")
    certificate.verify_message = "self-signed certificate"
    assert _connection_cause(failed(certificate)) == "TLS certificate not trusted (self-signed certificate)"
    dropped = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    assert _connection_cause(dropped) == "the server closed the connection before a complete answer"
    assert _connection_cause(failed(ConnectionResetError(104, "Connection reset by peer"))) == "connection reset by the server"
    assert _connection_cause(httpx.ConnectError("All connection attempts failed")) == \
        "ConnectError (All connection attempts failed)"


def _folder_index(root: Path, versions: list[str]) -> Path:
    """A local-folder simple index of `demo` with the given versions."""
    import hashlib

    from tests.fixtures.wheels import build_wheel

    (root / "demo").mkdir(parents=True, exist_ok=True)
    links = []
    for version in versions:
        wheel = build_wheel("demo", version)
        (root / "demo" / wheel.filename).write_bytes(wheel.content)
        links.append(f'<a href="{wheel.filename}#sha256={hashlib.sha256(wheel.content).hexdigest()}">'
                     f'{wheel.filename}</a>')
    (root / "demo" / "index.html").write_text("<html><body>" + "".join(links) + "</body></html>")
    return root


def test_a_local_folder_index_is_read_afresh_and_ttl_0_revalidates_cached_pages(
        tmp_path: Path, seed_index_server) -> None:  # type: ignore[no-untyped-def]
    import json

    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\nrequires-python = ">=3.11"\n'
                                            'dependencies = ["demo"]\n')
    index = _folder_index(tmp_path / "index", ["1.0"])
    cache = ["--cache-dir", str(tmp_path / "cache"), "--format", "json", "-t", "linux-x86_64"]

    def versions() -> list[str]:
        result = planner("candidates", "demo", "--default-index", str(index), *cache, cwd=project)
        assert result.returncode == 0, result.stderr
        return [c["version"] for c in json.loads(result.stdout)["targets"]["linux-x86_64"]["demo"]["candidates"]]

    assert versions() == ["1.0"]
    _folder_index(index, ["1.0", "2.0"])
    assert versions() == ["2.0", "1.0"]  # the folder's page as it is now, not as cached a moment ago

    # An http index whose pages say they stay fresh for 600 s: kept; with PLANNER_INDEX_TTL=0, asked again.
    seed_index_server.max_age = 600
    seed = ["candidates", "torch", "-p", str(REPO / "examples" / "seed-9310"), "-t", "macos-arm64-cpu",
            "--default-index", seed_index_server.url("pypi"), "--index",
            f"pytorch-cpu={seed_index_server.url('pytorch-cpu')}", "--cache-dir", str(tmp_path / "cache")]
    no_proxy = {"NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    assert planner(*seed, cwd=tmp_path, extra_env=no_proxy).returncode == 0
    seed_index_server.reset_log()
    assert planner(*seed, cwd=tmp_path, extra_env=no_proxy).returncode == 0
    assert seed_index_server.count("/simple/torch/") == 0
    again = planner("-vv", *seed, cwd=tmp_path, extra_env={**no_proxy, "PLANNER_INDEX_TTL": "0"})
    assert again.returncode == 0, again.stderr
    assert seed_index_server.count("/simple/torch/") == 1
    assert f"GET {seed_index_server.url('pypi')}/torch/ 304" in again.stderr  # -vv: a line per request


def test_targets_with_the_same_explanation_are_explained_once(example: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = planner("compile", "--no-cache", "-o", str(tmp_path / "out"), "--index", INDEXES[1],
                     "--default-index", str(tmp_path / "empty"), cwd=example)
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("error: ") == 2  # the gpu targets' reason, the macOS cpu targets' reason
    assert ("error: 4 targets have no plan, for the same reasons:\n"
            "  target 'linux-x86_64-gpu' (linux-x86_64, Python 3.11, cuda, extras gpu)\n") in result.stderr
    assert result.stderr.count("drop torch==2.5.1 from extra gpu (pyproject.toml:10)") == 1
    assert "pypi has no torch for these targets" in result.stderr
    assert not (tmp_path / "out").exists()


def test_from_a_workspace_members_folder_the_workspace_is_compiled(tmp_path: Path) -> None:
    """As uv finds a workspace from a member: the nearest pyproject.toml belongs to a member, so
    the workspace root whose members include it is the project; a folder the root's `exclude`
    leaves out (or that no member glob matches) is a project of its own."""
    member = '[project]\nname = "{0}"\nversion = "1.0"\nrequires-python = ">=3.11"\ndependencies = []\n'
    (tmp_path / "pyproject.toml").write_text(
        member.format("root").replace("[]", '["lib"]') + '[tool.uv.sources]\nlib = { workspace = true }\n'
        '[tool.uv.workspace]\nmembers = ["libs/*"]\nexclude = ["libs/alone"]\n'
        '[tool.planner.targets.linux]\nplatform = "linux-x86_64"\npython = "3.11"\n')
    for name in ("lib", "alone"):
        (tmp_path / "libs" / name / "src").mkdir(parents=True)
        (tmp_path / "libs" / name / "pyproject.toml").write_text(member.format(name))
    inside = planner("targets", "--format", "json", cwd=tmp_path / "libs" / "lib" / "src")
    assert inside.returncode == 0, inside.stderr
    assert json.loads(inside.stdout)["project"]["name"] == "root"
    alone = planner("targets", "--format", "json", cwd=tmp_path / "libs" / "alone")
    assert alone.returncode == 0, alone.stderr
    assert json.loads(alone.stdout)["project"]["name"] == "alone"
