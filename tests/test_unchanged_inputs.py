"""A compile whose inputs did not change keeps the previous plan without solving
(planner/cli/unchanged.py), and any change that could change the plan makes it a full compile:
a changed index page, option, planner version, pyproject (a workspace member's too), local path
source, or an output file edited since it was written.

Whether a compile took the short way is read from its `--stats` file (`"unchanged": true`); the
outputs must be the same bytes as a full compile writes, and what it prints the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.app import app
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import write_index
from tests.fixtures.wheels import build_wheel

runner = CliRunner()
UPLOADED = "2024-06-01T12:00:00Z"


def publish(root: Path, six: str = "1.16.0") -> None:
    """The index: six (one version), httpx needing certifi, certifi."""
    shutil.rmtree(root, ignore_errors=True)
    wheels = [("six", six, []), ("httpx", "0.27.0", ["certifi"]), ("certifi", "2024.12.14", [])]
    write_index(root, [build_wheel(n, v, r).fixture_file(upload_time=UPLOADED) for n, v, r in wheels])


PYPROJECT = """\
[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = [{dependencies}]
# a comment

[tool.planner.targets.linux]
platform = "linux-x86_64"
python = "3.11"
"""


@pytest.fixture
def setup(tmp_path):
    index = tmp_path / "index"
    publish(index)
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT.format(dependencies='"six", "httpx"'))
    with IndexServer({"pypi": index}) as server:  # max-age=0: every page is revalidated online
        yield project, server, index, tmp_path / "cache"


def compile_(project: Path, server: IndexServer, cache: Path, *args: str):  # type: ignore[no-untyped-def]
    stats = project.parent / "stats.json"
    stats.unlink(missing_ok=True)
    result = runner.invoke(app, ["compile", str(project), "--default-index", server.url("pypi"),
                                 "--cache-dir", str(cache), "--stats", str(stats), *args])
    assert result.exit_code == 0, result.output
    return result, json.loads(stats.read_text()).get("unchanged", False)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def planned(project: Path) -> dict[str, str]:
    [target] = json.loads((project / "output" / "plan.json").read_text())["targets"]
    return {p["name"]: p["version"] for p in target["packages"]}


def test_an_unchanged_compile_keeps_the_plan_online_and_offline(setup) -> None:
    project, server, _, cache = setup
    _, short = compile_(project, server, cache)
    assert not short
    full, short = compile_(project, server, cache, "--refresh")  # a full compile with nothing changed
    assert not short
    before = snapshot(project / "output")

    server.reset_log()
    online, short = compile_(project, server, cache)
    assert short
    # Online, each page the solve read is revalidated (the server's max-age is 0): 304s only.
    statuses = [r.status for r in server.log]
    assert statuses and set(statuses) == {304}
    assert all(r.path.startswith("/pypi/simple/") for r in server.log)

    server.reset_log()
    offline, short = compile_(project, server, cache, "--offline")
    assert short and server.log == []
    assert online.output == offline.output == full.output
    assert snapshot(project / "output") == before  # not rewritten either

    # A comment is no change of meaning (as for --check).
    (project / "pyproject.toml").write_text(PYPROJECT.format(dependencies='"six", "httpx"') + "# more\n")
    assert compile_(project, server, cache, "--offline")[1]


def test_a_changed_index_page_makes_a_full_compile(setup) -> None:
    project, server, index, cache = setup
    compile_(project, server, cache)
    assert planned(project)["six"] == "1.16.0"
    publish(index, six="1.17.0")  # the pinned version is gone from the index
    _, short = compile_(project, server, cache)
    assert not short
    assert planned(project)["six"] == "1.17.0"
    assert compile_(project, server, cache)[1]
    assert compile_(project, server, cache, "--offline")[1]


def test_a_page_changed_in_the_cache_makes_a_full_offline_compile(setup) -> None:
    project, server, index, cache = setup
    compile_(project, server, cache)
    publish(index, six="1.17.0")
    # Another run refreshes the cache without writing the outputs.
    assert runner.invoke(app, ["compile", str(project), "--default-index", server.url("pypi"), "--cache-dir",
                               str(cache), "--dry-run", "--refresh"]).exit_code == 0
    assert planned(project)["six"] == "1.16.0"
    _, short = compile_(project, server, cache, "--offline")
    assert not short
    assert planned(project)["six"] == "1.17.0"


def test_changed_options_version_or_pyproject_make_a_full_compile(setup, monkeypatch) -> None:
    project, server, _, cache = setup
    compile_(project, server, cache)
    assert not compile_(project, server, cache, "--resolution", "lowest")[1]
    assert compile_(project, server, cache, "--resolution", "lowest")[1]
    assert not compile_(project, server, cache)[1]  # back to the default: a change again
    assert not compile_(project, server, cache, "--fetch-missing-hashes")[1]
    assert not compile_(project, server, cache, "--target", "linux")[1]
    assert not compile_(project, server, cache)[1]
    assert compile_(project, server, cache)[1]

    monkeypatch.setattr("planner.generate.context.__version__", "99.0")
    assert not compile_(project, server, cache)[1]
    monkeypatch.undo()

    assert not compile_(project, server, cache)[1]
    (project / "pyproject.toml").write_text(PYPROJECT.format(dependencies='"six"'))
    _, short = compile_(project, server, cache)
    assert not short and planned(project) == {"six": "1.16.0"}


def test_tampered_outputs_or_record_make_a_full_compile(setup) -> None:
    project, server, _, cache = setup
    compile_(project, server, cache)
    written = snapshot(project / "output")
    requirements = next(p for p in (project / "output").rglob("requirements*.txt"))
    requirements.write_text(requirements.read_text() + "evil==1.0\n")
    assert not compile_(project, server, cache)[1]
    assert {k: v[0] for k, v in snapshot(project / "output").items()} == {k: v[0] for k, v in written.items()}

    (project / "output" / "plan.json").unlink()
    assert not compile_(project, server, cache)[1]
    assert (project / "output" / "plan.json").is_file()

    for record in (cache / "v1" / "unchanged").rglob("*"):
        if record.is_file():
            record.write_bytes(b'{"sha256": "0"}\n{}')
    assert not compile_(project, server, cache)[1]
    assert compile_(project, server, cache)[1]


def test_a_changed_workspace_member_or_path_source_makes_a_full_compile(setup) -> None:
    project, server, _, cache = setup
    (project / "pyproject.toml").write_text(PYPROJECT.format(dependencies='"member", "lib"') + """
[tool.uv.workspace]
members = ["packages/*"]

[tool.uv.sources]
member = { workspace = true }
lib = { path = "../lib" }
""")
    member = project / "packages" / "member"
    member.mkdir(parents=True)
    member_pyproject = '[project]\nname = "member"\nversion = "1.0"\ndependencies = [{}]\n'
    (member / "pyproject.toml").write_text(member_pyproject.format('"six"'))
    lib = project.parent / "lib"
    lib.mkdir()
    lib_pyproject = '[project]\nname = "lib"\nversion = "2.0"\ndependencies = [{}]\n'
    (lib / "pyproject.toml").write_text(lib_pyproject.format(""))

    compile_(project, server, cache)
    assert compile_(project, server, cache)[1]
    assert "httpx" not in planned(project)

    (lib / "pyproject.toml").write_text(lib_pyproject.format('"httpx"'))  # not part of the project's pyproject
    _, short = compile_(project, server, cache)
    assert not short and planned(project)["httpx"] == "0.27.0"
    assert compile_(project, server, cache)[1]

    (member / "pyproject.toml").write_text(member_pyproject.format('"six", "certifi"'))
    assert not compile_(project, server, cache)[1]
    assert compile_(project, server, cache)[1]

    (project / "packages" / "second").mkdir()  # a new member matching the glob
    (project / "packages" / "second" / "pyproject.toml").write_text(
        '[project]\nname = "second"\nversion = "1.0"\ndependencies = []\n')
    assert not compile_(project, server, cache)[1]


# -- answered before the command line library loads ---------------------------------------------------
REPO = Path(__file__).resolve().parent.parent


def run_planner(project: Path, server: IndexServer, cache: Path, *args: str, importtime: bool = False):  # type: ignore[no-untyped-def]
    """`python -m planner compile ...` in a fresh interpreter: (result, its stats document)."""
    stats = project.parent / "stats.json"
    stats.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "PLANNER_STATS": str(stats)}
    result = subprocess.run([sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "planner",
                             "compile", str(project), "--default-index", server.url("pypi"), "--cache-dir",
                             str(cache), *args], capture_output=True, text=True, env=env, cwd=project.parent,
                            check=False)
    assert result.returncode == 0, result.stderr
    return result, json.loads(stats.read_text()) if stats.exists() else {}


def test_the_same_command_line_is_answered_before_anything_loads(setup) -> None:
    project, server, index, cache = setup
    run_planner(project, server, cache)
    full, stats = run_planner(project, server, cache, "--offline")  # another command line: a full check
    assert stats["unchanged"] and "answered_early" not in stats
    written = snapshot(project / "output")

    early, stats = run_planner(project, server, cache, "--offline", importtime=True)
    assert stats.get("answered_early") is True
    assert early.stdout == full.stdout
    assert [line for line in early.stderr.splitlines() if not line.startswith("import time:")] == \
        full.stderr.splitlines()
    imported = {line.rpartition("|")[2].strip().partition(".")[0] for line in early.stderr.splitlines()
                if line.startswith("import time:")}
    assert imported.isdisjoint({"typer", "click", "rich", "packaging", "pysat", "httpx", "tomllib"})
    assert snapshot(project / "output") == written

    # A comment: the bytes differ, the meaning does not: checked after loading, then early again.
    (project / "pyproject.toml").write_text(PYPROJECT.format(dependencies='"six", "httpx"') + "# more\n")
    stats = run_planner(project, server, cache, "--offline")[1]
    assert stats["unchanged"] and "answered_early" not in stats
    assert run_planner(project, server, cache, "--offline")[1].get("answered_early") is True

    # Another option is another command line; after its full compile, its next run is answered
    # early, and prints what the same compile checked after loading the project prints.
    assert "unchanged" not in run_planner(project, server, cache, "--offline", "--resolution", "lowest")[1]
    early, stats = run_planner(project, server, cache, "--offline", "--resolution", "lowest")
    assert stats.get("answered_early") is True
    checked, stats = run_planner(project, server, cache, "--offline", "--resolution=lowest")
    assert stats["unchanged"] and "answered_early" not in stats
    assert (early.stdout, early.stderr) == (checked.stdout, checked.stderr)

    # An edited output, a changed page in the cache: full compiles.
    requirements = next(p for p in (project / "output").rglob("requirements*.txt"))
    requirements.write_text(requirements.read_text() + "# edited\n")
    assert "unchanged" not in run_planner(project, server, cache, "--offline")[1]
    assert "# edited" not in requirements.read_text()
    assert run_planner(project, server, cache, "--offline")[1].get("answered_early") is True
    publish(index, six="1.17.0")
    run_planner(project, server, cache, "--dry-run", "--refresh")  # refreshes the cache, writes nothing
    assert "unchanged" not in run_planner(project, server, cache, "--offline")[1]
    assert planned(project)["six"] == "1.17.0"


def test_a_nearer_pyproject_is_another_project(setup) -> None:
    """Run from a subfolder without naming the project: the nearest pyproject.toml is the project,
    and one created nearer since is not answered from the record of the other."""
    project, server, _, cache = setup
    sub = project / "sub"
    sub.mkdir()
    stats = project.parent / "stats.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "PLANNER_STATS": str(stats)}

    def run() -> dict:
        stats.unlink(missing_ok=True)
        result = subprocess.run([sys.executable, "-m", "planner", "compile", "--default-index", server.url("pypi"),
                                 "--cache-dir", str(cache), "--offline"], capture_output=True, text=True, env=env,
                                cwd=sub, check=False)
        assert result.returncode == 0, result.stderr
        return json.loads(stats.read_text())

    compile_(project, server, cache)
    run()
    run()
    assert run().get("answered_early") is True
    (sub / "pyproject.toml").write_text(PYPROJECT.format(dependencies='"six"').replace('"app"', '"sub"'))
    assert "unchanged" not in run()
    assert planned(sub) == {"six": "1.16.0"}


def test_the_early_answer_checks_what_the_full_check_checks(setup, tmp_path) -> None:
    """The early answer (planner/cli/early.py) reads a record of its own and the cache's entries
    without the cache's reader: each change the full check catches must stop it too."""
    project, server, _, cache = setup
    output = project / "output"
    stats = project.parent / "stats.json"

    def attempt() -> subprocess.CompletedProcess:
        stats.unlink(missing_ok=True)
        return subprocess.run([sys.executable, "-m", "planner", "compile", str(project), "--default-index",
                               server.url("pypi"), "--cache-dir", str(cache), "--offline"], capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1",
                                              "PLANNER_STATS": str(stats)}, cwd=project.parent, check=False)

    def early() -> bool:
        return run_planner(project, server, cache, "--offline")[1].get("answered_early") is True

    def settled() -> None:  # a full run, then one that leaves the early record
        run_planner(project, server, cache, "--offline")
        run_planner(project, server, cache, "--offline")
        assert early()

    run_planner(project, server, cache)
    settled()

    # plan.json rewritten (its manifest untouched): not the plan the record was made from.
    plan = output / "plan.json"
    plan.write_text(plan.read_text().replace('"hash"', '"hash" ', 1))
    assert not early()
    assert run_planner(project, server, cache, "--offline")[1].get("unchanged") is True  # rewritten, then stands
    settled()

    # The output folder replaced by a link to a copy of itself.
    shutil.move(output, tmp_path / "elsewhere")
    output.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    refused = attempt()
    assert refused.returncode == 2 and "is a symbolic link" in refused.stderr  # the full command's answer
    output.unlink()
    shutil.move(tmp_path / "elsewhere", output)
    settled()

    # A page's entry in the cache whose header names another body.
    pages = [p for p in (cache / "v1" / "pages").rglob("*") if p.is_file() and not p.name.startswith(".")]
    page = next(p for p in pages if b"/six/" in p.read_bytes().partition(b"\n")[0])
    kept = page.read_bytes()
    head, _, body = kept.partition(b"\n")
    digest = json.loads(head)["sha256"]
    page.write_bytes(head.replace(digest.encode(), b"0" * 64) + b"\n" + body)
    refused = attempt()  # the full command finds the entry damaged: offline, the page is missing
    assert refused.returncode == 2 and "the cache has no index page of 'six'" in refused.stderr
    page.write_bytes(kept)
    assert early()

    # The output folder's record replaced by another (a whole entry, as another compile leaves it).
    records = {p: p.read_bytes() for p in (cache / "v1" / "unchanged").rglob("*") if p.is_file()}
    [folder_record] = [p for p, data in records.items() if data.partition(b"\n")[2].startswith(b"{")]
    body = records[folder_record].partition(b"\n")[2] + b" "
    folder_record.write_bytes(b'{"kind": "compile record", "sha256": "%s"}\n' % hashlib.sha256(body).hexdigest().encode()
                              + body)
    assert not early()  # (the full check reads the same record: the plan stands, the early record is renewed)
    assert early()

    # The early record damaged.
    for record in (cache / "v1" / "unchanged").rglob("*"):
        data = record.read_bytes() if record.is_file() else b""
        if b"\0" in data:
            record.write_bytes(data.replace(b"\0", b"\0\0", 1))
    assert not early()
    assert early()
