"""Credentials are used and never shown or written.

For each way of giving credentials (URL user info, `PLANNER_INDEX_<NAME>_*`, uv's `UV_INDEX_<NAME>_*`,
netrc), the fixture indexes demand them, and planner runs every command that reads the indexes —
successful (`-v`, `--format json`, `--check`, `candidates`, `targets`, `mirror`) and failing
(wrong password, server errors, bad pages, altered files, `--offline` misses, bad input). Every
byte planner writes (the output folder, the cache folder, the mirror, DIMACS files) and prints
(stdout, stderr) is scanned for the canary user name and password, in every encoding a leak
could take (plain, URL-quoted, in a Basic auth header).
"""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.fixtures.hostile import Served, compile_cli, compile_process, served_project, snapshot

USER = "canary-user-7f3a"
PASSWORD = "canary/pw:9@b4#"  # characters that must be quoted in a URL
MECHANISMS = ["userinfo", "planner-env", "uv-env", "netrc"]


def needles(user: str = USER, password: str = PASSWORD) -> list[bytes]:
    pair = f"{user}:{password}"
    return [
        user.encode(), password.encode(), quote(password, safe="").encode(), quote(password).encode(),
        base64.b64encode(pair.encode()), base64.b64encode(f"{user}:{quote(password, safe='')}".encode()),
    ]


def assert_clean(where: str, data: bytes | str) -> None:
    raw = data.encode() if isinstance(data, str) else data
    for needle in needles():
        assert needle not in raw, f"{where} holds a credential ({needle!r})"


def assert_folder_clean(folder: Path) -> int:
    files = snapshot(folder)
    for name, data in files.items():
        assert_clean(f"{folder.name}/{name}", data)
    return len(files)


class Setup:
    """The served project with credentials given one way; `args()` and `env` for every run."""

    def __init__(self, served: Served, mechanism: str, tmp_path: Path):
        self.served = served
        self.server = served.server
        self.server.require_auth = (USER, PASSWORD)
        self.env: dict[str, str] = {}
        self.default_index = self.server.url("pypi")
        pyproject = served.project / "pyproject.toml"
        if mechanism == "userinfo":
            self.default_index = self.server.url("pypi", with_auth=True)
            pyproject.write_text(pyproject.read_text().replace(self.server.url("special"),
                                                               self.server.url("special", with_auth=True)))
        elif mechanism == "netrc":
            netrc = tmp_path / "netrc"
            netrc.write_text(f"machine 127.0.0.1\n  login {USER}\n  password {PASSWORD}\n")
            netrc.chmod(0o600)
            self.env["NETRC"] = str(netrc)
        else:
            prefix = "PLANNER_INDEX" if mechanism == "planner-env" else "UV_INDEX"
            for name in ("PYPI", "SPECIAL"):
                self.env[f"{prefix}_{name}_USERNAME"] = USER
                self.env[f"{prefix}_{name}_PASSWORD"] = PASSWORD

    def compile(self, *extra: str, cache: bool = True, verbose: bool = True):
        args = (["-v"] if verbose else []) + ["compile", str(self.served.project), "--default-index", self.default_index]
        args += ["--cache-dir", str(self.served.cache)] if cache else ["--no-cache"]
        return compile_cli(args + list(extra), self.env)


@pytest.fixture(params=MECHANISMS)
def setup(request, tmp_path: Path):
    with served_project(tmp_path, compiled=False) as served:
        yield Setup(served, request.param, tmp_path)


def test_successful_runs_never_show_or_write_credentials(setup: Setup, tmp_path: Path) -> None:
    served = setup.served
    results = [setup.compile("--emit-cnf", str(tmp_path / "cnf"))]
    assert results[0].exit_code == 0, results[0].output
    assert any(r.headers.get("authorization") for r in setup.server.log)  # credentials were used
    results.append(setup.compile("--format", "json", "--offline"))
    results.append(setup.compile("--check"))
    results.append(setup.compile("--refresh", cache=True))
    project = str(served.project)
    results.append(compile_cli(["-v", "candidates", "alpha", "engine", "-p", project, "--deps", "--default-index",
                                setup.default_index, "--cache-dir", str(served.cache)], setup.env))
    results.append(compile_cli(["-v", "targets", project, "--default-index", setup.default_index], setup.env))
    results.append(compile_cli(["-v", "targets", project, "--format", "json", "--default-index", setup.default_index],
                               setup.env))
    results.append(compile_cli(["-v", "mirror", "alpha", "engine", "--to", str(tmp_path / "mirror"), "-p", project,
                                "--all-targets", "--files", "--default-index", setup.default_index,
                                "--cache-dir", str(served.cache)], setup.env))
    for n, result in enumerate(results):
        assert result.exit_code == 0, (n, result.output)
        assert_clean(f"stdout of run {n}", result.stdout)
        assert_clean(f"stderr of run {n}", result.stderr)
    assert assert_folder_clean(served.output) == 7
    assert assert_folder_clean(tmp_path / "cnf") == 3
    assert assert_folder_clean(served.cache) > 10
    assert assert_folder_clean(tmp_path / "mirror") > 5


def test_failing_runs_never_show_credentials(setup: Setup) -> None:
    server = setup.server
    runs = []
    server.add_fault("/pypi/simple/alpha/", 502, 502, 502)
    runs.append(setup.compile(cache=False))
    server.add_fault("/pypi/simple/alpha/", "garbage")
    runs.append(setup.compile(cache=False))
    server.add_fault("/pypi/files/alpha-2.0-py3-none-any.whl.metadata", "corrupt")
    runs.append(setup.compile(cache=False))
    server.add_fault("/special/simple/engine/", "redirect-loop")
    runs.append(setup.compile(cache=False))
    server.add_fault("/pypi/simple/alpha/", "huge-declared")
    server.huge_bytes = 2 * 1024 * 1024
    runs.append(compile_cli(["-v", "compile", str(setup.served.project), "--default-index", setup.default_index,
                             "--no-cache"], {**setup.env, "PLANNER_HTTP_MAX_PAGE_MB": "1"}))
    runs.append(setup.compile("--offline"))  # the cache is empty: names what it lacks, by URL
    server.require_auth = (USER, "another-password")
    runs.append(setup.compile(cache=False))  # 401 with the wrong credentials
    for n, result in enumerate(runs):
        assert result.exit_code == 2, (n, result.output)
        assert "error:" in result.stderr and "Traceback" not in result.output
        assert_clean(f"stdout of failing run {n}", result.stdout)
        assert_clean(f"stderr of failing run {n}", result.stderr)
    assert "access denied (HTTP 401)" in runs[-1].stderr
    assert not setup.served.output.exists()


def test_bad_input_never_shows_credentials(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    secret_url = f"https://{USER}:{quote(PASSWORD, safe='')}@pkgs.example.com"
    cases = {
        "bad port": f'[[tool.uv.index]]\nname = "private"\nurl = "{secret_url}:99999/simple"\n',
        "bad scheme": f'[[tool.uv.index]]\nname = "private"\nurl = "ftp://{USER}:{quote(PASSWORD, safe="")}@h/simple"\n',
        "direct URL": f'dependencies = ["pkg @ {secret_url}/pkg/"]\n',  # names no wheel or sdist
        "git source": f'dependencies = ["x"]\n[tool.uv.sources]\nx = {{ git = "{secret_url}/x.git", tag = "v 1" }}\n',
        "git requirement": f'dependencies = ["x @ git+{secret_url}/x.git@v1#sha256={"0" * 64}"]\n',
        "bad requirement": f'dependencies = ["pkg @ {secret_url}/pkg-1.0.whl ; os_name ==="]\n',
        "undefined source index": (f'dependencies = ["x"]\n[tool.uv.sources]\nx = {{ index = "nope" }}\n'
                                   f'[[tool.uv.index]]\nname = "private"\nurl = "{secret_url}/simple"\n'),
    }
    head = '[project]\nname = "test"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
    for name, body in cases.items():
        text = head + body if body.startswith("dependencies") else head + "dependencies = []\n" + body
        (project / "pyproject.toml").write_text(text)
        for command in (["-v", "targets", str(project)], ["-v", "compile", str(project), "--offline"]):
            result = compile_cli(command)
            assert result.exit_code == 2, (name, result.output)
            assert_clean(f"{name}: stderr", result.stderr)
            assert_clean(f"{name}: stdout", result.stdout)
    for option in (["--index", f"private={secret_url}:0x/simple"], ["--default-index", f"ftp://{USER}:x@h"],
                   ["--index", f"{secret_url}/simple"]):
        result = compile_cli(["targets", str(project), *option])
        assert result.exit_code == 2 and "error:" in result.stderr, result.output
        assert_clean(f"{option}: stderr", result.stderr)


def test_real_process_with_credentials_in_the_command_line(tmp_path: Path) -> None:
    """As a user runs it: the secret is on the command line and in the environment; the process's
    whole output and every file it writes are clean (`plan.json` records the command it ran)."""
    with served_project(tmp_path, compiled=False) as served:
        served.server.require_auth = (USER, PASSWORD)
        pyproject = served.project / "pyproject.toml"
        pyproject.write_text(pyproject.read_text().replace(served.server.url("special"),
                                                           served.server.url("special", with_auth=True)))
        args = ["-v", "compile", ".", "--default-index", served.server.url("pypi", with_auth=True),
                "--cache-dir", str(served.cache)]
        completed = compile_process(args, cwd=served.project)
        assert completed.returncode == 0, completed.stderr
        assert_clean("stdout", completed.stdout)
        assert_clean("stderr", completed.stderr)
        first = snapshot(served.output)
        assert f"--default-index {served.server.url('pypi')}" in first["plan.json"].decode()
        assert_folder_clean(served.output)
        assert_folder_clean(served.cache)
        # The same credentials from the environment instead of the command line: the same bytes.
        args[args.index("--default-index") + 1] = served.server.url("pypi")
        rotated = compile_process(args, cwd=served.project,
                                  env={"PLANNER_INDEX_PYPI_USERNAME": USER, "PLANNER_INDEX_PYPI_PASSWORD": PASSWORD})
        assert rotated.returncode == 0, rotated.stderr
        assert snapshot(served.output) == first
