"""The lock lifecycle, as whole sequences of `planner compile` runs against a loopback index whose
content changes between runs: pins kept, only a new requirement's closure added, `-P` and `-U`,
exclude-newer reproducing an older plan, `--dry-run` / `--locked`, `--check` comparing meaning,
the previous plan read from a uv-written PEP 751 lock or ignored when broken, and `why`,
`why-not`, `tree` answering from the written plan.

The index mimics a small web project: in the "old" state fastapi 0.115.2 (starlette<0.40),
starlette 0.39.2, pydantic 2.9.2, certifi 2024.12.14, httpx 0.27.0, six 1.16.0, all uploaded in
2024; the "new" state adds, uploaded "now", fastapi 0.165.0 (starlette>=0.46, pydantic>=2.10),
starlette 1.10.0, pydantic 2.14.4, certifi 2026.10.19, httpx 0.28.1 and six 1.17.0.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.app import app
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import FixtureFile, write_index
from tests.fixtures.wheels import build_sdist, build_wheel

runner = CliRunner()
OLD = "2024-06-01T12:00:00Z"
BETWEEN = "2025-01-01T00:00:00Z"


def _now() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


OLD_FILES = [
    ("fastapi", "0.115.2", ["starlette<0.40,>=0.37.2", "pydantic>=2"]),
    ("starlette", "0.39.2", []),
    ("pydantic", "2.9.2", []),
    ("certifi", "2024.12.14", []),
    ("httpx", "0.27.0", ["certifi"]),
    ("six", "1.16.0", []),
]
NEW_FILES = [
    ("fastapi", "0.165.0", ["starlette<2,>=0.46", "pydantic>=2.10"]),
    ("starlette", "1.10.0", []),
    ("pydantic", "2.14.4", []),
    ("certifi", "2026.10.19", []),
    ("httpx", "0.28.1", ["certifi"]),
    ("six", "1.17.0", []),
]


def _files(entries, uploaded: str | None) -> list[FixtureFile]:  # type: ignore[no-untyped-def]
    return [build_wheel(name, version, requires).fixture_file(upload_time=uploaded) for name, version, requires in entries]


def publish(root: Path, new: bool, undated: bool = False) -> None:
    """Write the index in its old or new state (`undated`: without upload times)."""
    files = _files(OLD_FILES, None if undated else OLD)
    if new:
        files += _files(NEW_FILES, None if undated else _now())
    shutil.rmtree(root, ignore_errors=True)
    write_index(root, files)


PYPROJECT = """\
[project]
name = "web"
version = "0.1.0"
description = "a small web service"
requires-python = ">=3.11"
dependencies = [{dependencies}]

[tool.planner.targets.linux]
platform = "linux-x86_64"
python = "3.11"
"""


@pytest.fixture
def web(tmp_path):
    root = tmp_path / "index"
    publish(root, new=False)
    with IndexServer({"pypi": root}) as server:
        project = tmp_path / "web"
        project.mkdir()
        write_pyproject(project, '"fastapi", "six"')
        yield project, server, root


def write_pyproject(project: Path, dependencies: str, extra: str = "") -> None:
    (project / "pyproject.toml").write_text(PYPROJECT.format(dependencies=dependencies) + extra)


def compile_(project: Path, server: IndexServer, *args: str, output: Path | None = None):  # type: ignore[no-untyped-def]
    words = ["compile", str(project), "--default-index", server.url("pypi"), "--no-cache", *args]
    if output is not None:
        words += ["-o", str(output)]
    return runner.invoke(app, words)


def planned(project: Path, output: str = "output") -> dict[str, str]:
    plan = json.loads((project / output / "plan.json").read_text())
    [target] = plan["targets"]
    return {p["name"]: p["version"] for p in target["packages"]}


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


OLD_PLAN = {"fastapi": "0.115.2", "pydantic": "2.9.2", "six": "1.16.0", "starlette": "0.39.2"}


def test_a_web_project_through_its_lock_lifecycle(web) -> None:
    project, server, root = web
    first = compile_(project, server)
    assert first.exit_code == 0, first.output
    assert planned(project) == OLD_PLAN
    assert first.stdout.startswith("linux (linux-x86_64, Python 3.11")  # a first compile lists the plan

    # Newer releases appear: nothing moves and the plan is said unchanged; only plan.json's report of the
    # direct requirements now held below their newest version is updated.
    publish(root, new=True)
    before = snapshot(project / "output")
    again = compile_(project, server)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("plan unchanged: 1 target, 4 packages\n")
    after = snapshot(project / "output")
    assert {k for k in before if before[k] != after[k]} == {"plan.json"}
    assert compile_(project, server, "-q").stdout == "" and snapshot(project / "output") == after  # stable

    # One dependency is added: only its closure comes in, at the newest versions that fit.
    write_pyproject(project, '"fastapi", "six", "httpx"')
    added = compile_(project, server)
    assert added.exit_code == 0, added.output
    assert added.stdout.splitlines()[:3] == ["linux:", "  + certifi 2026.10.19", "  + httpx 0.28.1"]
    assert planned(project) == {**OLD_PLAN, "certifi": "2026.10.19", "httpx": "0.28.1"}
    # fastapi is a direct requirement held below its newest by the pin: plan.json says so.
    held = json.loads((project / "output" / "plan.json").read_text())["targets"][0]["below_newest"]
    assert {(h["package"], h["version"], h["newest"], h["cause"]) for h in held} == {
        ("fastapi", "0.115.2", "0.165.0", "pin"), ("six", "1.16.0", "1.17.0", "pin")}

    # -P fastapi moves fastapi and what it forces (starlette, pydantic); six stays.
    upgraded = compile_(project, server, "-P", "fastapi")
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.stdout.splitlines()[:4] == [
        "linux:", "  ~ fastapi 0.115.2 → 0.165.0", "  ~ pydantic 2.9.2 → 2.14.4", "  ~ starlette 0.39.2 → 1.10.0"]
    assert planned(project)["six"] == "1.16.0"

    # --dry-run and --locked report the same change list; neither writes.
    write_pyproject(project, '"fastapi", "httpx"')
    before = snapshot(project / "output")
    dry = compile_(project, server, "--dry-run")
    locked = compile_(project, server, "--locked")
    assert dry.exit_code == 0 and locked.exit_code == 1, (dry.output, locked.output)
    assert dry.stdout == locked.stdout == "linux:\n  - six\n"
    assert "would change" in locked.stderr and "run: planner compile" in locked.stderr
    assert snapshot(project / "output") == before
    assert compile_(project, server).stdout == "linux:\n  - six\n"
    assert compile_(project, server, "--locked").exit_code == 0

    # --upgrade moves everything to the newest: six is gone, nothing else is behind.
    write_pyproject(project, '"fastapi", "httpx", "six"')
    assert compile_(project, server).stdout == "linux:\n  + six 1.17.0\n"
    everything = compile_(project, server, "-U")
    assert everything.exit_code == 0 and everything.stdout.startswith("plan unchanged")  # already the newest


def test_upgrade_moves_every_pin(web) -> None:
    project, server, root = web
    assert compile_(project, server).exit_code == 0
    publish(root, new=True)
    result = compile_(project, server, "--upgrade")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "linux:", "  ~ fastapi 0.115.2 → 0.165.0", "  ~ pydantic 2.9.2 → 2.14.4", "  ~ six 1.16.0 → 1.17.0",
        "  ~ starlette 0.39.2 → 1.10.0"]


def test_exclude_newer_reproduces_the_older_plan_and_is_recorded(web, tmp_path) -> None:
    project, server, root = web
    assert compile_(project, server).exit_code == 0
    old = (project / "output" / "plan.json").read_bytes()
    publish(root, new=True)
    # From the newer index, a fresh compile with the cut-off of the first plan's time gives it back.
    result = compile_(project, server, "--exclude-newer", BETWEEN, output=tmp_path / "again")
    assert result.exit_code == 0, result.output
    assert planned(project, str(tmp_path / "again")) == OLD_PLAN
    again = json.loads((tmp_path / "again" / "plan.json").read_text())
    assert again["exclude_newer"] == {"timestamp": BETWEEN, "span": None}
    lock = tomllib.loads((tmp_path / "again" / "pylock.toml").read_text())
    assert lock["tool"]["planner"]["exclude-newer"] == BETWEEN and "exclude-newer-span" not in lock["tool"]["planner"]
    assert [p["version"] for p in json.loads(old)["targets"][0]["packages"]] == \
        [p["version"] for p in again["targets"][0]["packages"]]
    # A span in the pyproject: resolved once, recorded with the span, reused by the next compile.
    write_pyproject(project, '"fastapi", "six"', '\n[tool.uv]\nexclude-newer = "7 days"\n')
    spanned = compile_(project, server, "-U", output=tmp_path / "span")
    assert spanned.exit_code == 0, spanned.output
    assert planned(project, str(tmp_path / "span")) == OLD_PLAN  # the new files are younger than 7 days
    recorded = json.loads((tmp_path / "span" / "plan.json").read_text())["exclude_newer"]
    assert recorded["span"] == "P7D"
    moment = datetime.fromisoformat(recorded["timestamp"])
    assert abs(moment - (datetime.now(UTC) - timedelta(days=7))) < timedelta(minutes=5)
    before = snapshot(tmp_path / "span")
    assert compile_(project, server, output=tmp_path / "span").stdout == "plan unchanged: 1 target, 4 packages\n"
    assert snapshot(tmp_path / "span") == before  # the same cut-off: nothing rewritten
    check = compile_(project, server, "--check", output=tmp_path / "span")
    assert check.exit_code == 0, check.output
    # The other commands read the span too (resolved against the clock).
    assert runner.invoke(app, ["targets", str(project)]).exit_code == 0
    shown = runner.invoke(app, ["candidates", "fastapi", "-p", str(project), "--default-index", server.url("pypi"),
                                "--no-cache", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert "0.165.0" not in shown.stdout and "0.115.2" in shown.stdout


def test_an_index_without_upload_times_is_named(web, tmp_path) -> None:
    project, server, root = web
    publish(root, new=True, undated=True)
    result = compile_(project, server, "--exclude-newer", "7 days")
    assert result.exit_code == 1  # nothing dated: no version of fastapi exists for the plan
    assert "index 'pypi' gives no upload time (PEP 700)" in result.stderr
    exempt = compile_(project, server, "--exclude-newer", "7 days", "--exclude-newer-package", "fastapi=false",
                      "--exclude-newer-package", "starlette=false", "--exclude-newer-package", "pydantic=false",
                      "--exclude-newer-package", "six=false")
    assert exempt.exit_code == 0, exempt.output


def test_check_compares_meaning_not_bytes(web) -> None:
    project, server, _ = web
    assert compile_(project, server).exit_code == 0
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text("# the web service\n" + text.replace('description = "a small web service"',
                                                             'description = "the web service"\n# more words'))
    assert compile_(project, server, "--check").exit_code == 0
    pyproject.write_text(pyproject.read_text().replace('"fastapi", "six"', '"fastapi",   "six"  '))  # reformatted
    assert compile_(project, server, "--check").exit_code == 0
    pyproject.write_text(pyproject.read_text().replace('"six"', '"six>=1"'))
    stale = compile_(project, server, "--check")
    assert stale.exit_code == 1 and "changed since the outputs were made" in stale.stderr


def test_a_broken_plan_is_ignored_with_a_warning(web) -> None:
    project, server, root = web
    assert compile_(project, server).exit_code == 0
    publish(root, new=True)
    (project / "output" / "plan.json").write_text('{"planner_plan": 1, "project": "web", "targets": [{"target": 5}]}')
    result = compile_(project, server)
    assert result.exit_code == 0, result.output
    assert "plan.json is not a plan planner can read (targets[0].target: expected dict, found int)" in result.stderr
    assert "Traceback" not in result.output
    # Without its pins the plan is new (its pylock.toml was the next place to look: it still pins).
    assert planned(project) == OLD_PLAN


def test_pins_from_a_lock_uv_exported(web, tmp_path) -> None:
    project, server, root = web
    uv = shutil.which("uv") or str(Path(__import__("sys").executable).parent / "uv")
    env = {"PATH": "/usr/bin:/bin", "UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_NO_CONFIG": "1",
           "UV_PYTHON_DOWNLOADS": "never", "HOME": str(tmp_path)}
    lock = subprocess.run([uv, "lock", "--default-index", server.url("pypi"), "--python", "3.11"],
                          cwd=project, env=env, capture_output=True, text=True)
    assert lock.returncode == 0, lock.stderr
    export = subprocess.run([uv, "export", "--format", "pylock.toml", "--frozen", "-o", "pylock.toml", "--no-hashes"],
                            cwd=project, env=env, capture_output=True, text=True)
    assert export.returncode == 0, export.stderr
    publish(root, new=True)
    result = compile_(project, server)
    assert result.exit_code == 0, result.output
    assert planned(project) == OLD_PLAN  # uv's versions are kept


def test_direct_requirements_held_back_and_prefer_newest(tmp_path) -> None:
    """vllm's newest needs an older fastapi; fastapi is decided first (name order) and takes its
    newest, so vllm is held back, and the summary says by what. prefer-newest turns it around."""
    root = tmp_path / "index"
    write_index(root, _files(OLD_FILES + NEW_FILES, OLD) + _files([
        ("vllm", "0.11.0", []), ("vllm", "0.13.0", ["fastapi<0.116"])], OLD))
    with IndexServer({"pypi": root}) as server:
        project = tmp_path / "web"
        project.mkdir()
        write_pyproject(project, '"fastapi", "vllm"')
        result = compile_(project, server)
        assert result.exit_code == 0, result.output
        assert planned(project)["vllm"] == "0.11.0"
        assert ("  vllm 0.11.0 on linux (newest 0.13.0): fastapi 0.165.0 was decided first (direct requirements "
                "are decided in name order; [tool.planner] prefer-newest = [\"vllm\"] decides vllm first) and vllm "
                "0.13.0 does not fit it: ") in result.stdout
        assert "does not fit it: it requires fastapi<0.116, and the plan has fastapi 0.165.0" in result.stdout
        [hold] = json.loads((project / "output" / "plan.json").read_text())["targets"][0]["below_newest"]
        assert (hold["package"], hold["cause"], hold["by"], hold["by_version"]) == ("vllm", "decision", "fastapi", "0.165.0")

        why_not = runner.invoke(app, ["why-not", "vllm", "-p", str(project)])
        assert why_not.exit_code == 0, why_not.output
        assert why_not.stdout.startswith("linux: vllm is at 0.11.0, not at its newest 0.13.0:\n  1. fastapi 0.165.0 was decided first")

        write_pyproject(project, '"fastapi", "vllm"', '\n[tool.planner]\nprefer-newest = ["vllm"]\n')
        result = compile_(project, server, "-U")
        assert result.exit_code == 0, result.output
        assert planned(project)["vllm"] == "0.13.0" and planned(project)["fastapi"] == "0.115.2"
        assert "fastapi 0.115.2 on linux (newest 0.165.0): vllm 0.13.0 requires fastapi<0.116" in result.stdout


def test_why_why_not_and_tree_read_the_written_plan(web) -> None:
    project, server, root = web
    write_pyproject(project, '"fastapi", "httpx"')
    assert compile_(project, server).exit_code == 0
    publish(root, new=True)
    server.reset_log()

    def ask(*words: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, [*words, "--default-index", server.url("pypi")])

    why = ask("why", "starlette", "-p", str(project))
    assert why.exit_code == 0, why.output
    assert why.stdout.splitlines() == [
        "linux: starlette 0.39.2",
        "  required by: fastapi (pyproject.toml:6) -> fastapi 0.115.2 requires starlette<0.40,>=0.37.2"]
    newer = ask("why-not", "starlette==1.10.0", "-p", str(project))
    assert newer.stdout.splitlines() == [
        "linux: starlette 1.10.0 is not in the plan (it has 0.39.2):",
        "  1. fastapi 0.115.2 requires starlette<0.40,>=0.37.2, which excludes 1.10.0"]
    same = ask("why-not", "starlette==0.39.2", "-p", str(project))
    assert same.stdout == "linux: starlette 0.39.2 is in the plan (starlette 0.39.2)\n"
    tree = ask("tree", str(project))
    assert tree.stdout.splitlines() == [
        "linux",
        "├── fastapi v0.115.2",
        "│   ├── pydantic v2.9.2",
        "│   └── starlette v0.39.2",
        "└── httpx v0.27.0",
        "    └── certifi v2024.12.14"]
    inverted = ask("tree", str(project), "--invert", "certifi")
    assert inverted.stdout.splitlines() == ["linux", "└── certifi v2024.12.14", "    └── httpx v0.27.0",
                                            "        └── (the project)"]
    assert server.count() == 0  # no network
    # A stale plan is answered from, with a warning; --fresh solves again (and keeps the pins).
    write_pyproject(project, '"fastapi", "httpx", "six"')
    stale = ask("why", "fastapi", "-p", str(project))
    assert "the plan in" in stale.stderr and "is stale" in stale.stderr
    fresh = ask("why", "six", "-p", str(project), "--fresh", "--no-cache")
    assert fresh.exit_code == 0, fresh.output
    assert fresh.stdout.splitlines()[0] == "linux: six 1.17.0"


def test_a_pinned_file_with_new_bytes_is_named(web) -> None:
    """The index now lists the pinned file under its name with another sha256: the outputs pin
    the new hash (it is what installs), and the user is told."""
    project, server, root = web
    assert compile_(project, server).exit_code == 0
    files = _files(OLD_FILES[:-1], OLD) + [build_wheel("six", "1.16.0", ["typing-extensions; python_version < '3'"])
                                          .fixture_file(upload_time=OLD)]
    write_index(root, files)
    result = compile_(project, server)
    assert result.exit_code == 0, result.output
    assert "index 'pypi' now lists six-1.16.0-py3-none-any.whl (six) with another sha256" in result.stderr
    assert result.stdout.startswith("linux:\n  ~ six 1.16.0 (sha256 ")


def test_a_kept_sdist_gives_way_to_a_wheel_of_the_same_version(web) -> None:
    """six 1.16.0 is pinned as its sdist (no wheel then); when the index adds a wheel of 1.16.0,
    a re-compile keeps the version and takes the wheel (no build), and says so. A kept wheel
    stays as it is (test_a_web_project_through_its_lock_lifecycle)."""
    project, server, root = web
    filename, content = build_sdist("six", "1.16.0")
    sdist = FixtureFile.from_content("six", filename, content, upload_time=OLD)
    write_index(root, _files(OLD_FILES[:-1], OLD) + [sdist])
    assert compile_(project, server).exit_code == 0
    requirements = (project / "output" / "linux" / "requirements.txt").read_text()
    assert "--no-binary six" in requirements
    write_index(root, _files(OLD_FILES, OLD) + [sdist])
    result = compile_(project, server)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("linux:\n  ~ six 1.16.0 (six-1.16.0.tar.gz) → 1.16.0 (six-1.16.0-py3-none-any.whl)")
    assert planned(project) == OLD_PLAN
    assert "--no-binary" not in (project / "output" / "linux" / "requirements.txt").read_text()


def test_an_added_dependency_is_solved_on_the_fast_path_with_the_full_solves_outputs(web, tmp_path, monkeypatch) -> None:
    """Adding httpx beside standing pins: starlette and pydantic (pinned, required only through
    fastapi) are solved with their pinned candidate alone, and still read from the index page:
    starlette's file, now listed with other bytes, gets the new hash and the warning. The outputs
    are byte for byte those of the full solve."""
    from planner.solve import objective

    project, server, root = web
    assert compile_(project, server).exit_code == 0
    changed = [build_wheel("starlette", "0.39.2", ["anyio; python_version < '3'"]).fixture_file(upload_time=OLD)]
    write_index(root, _files([f for f in OLD_FILES if f[0] != "starlette"], OLD) + changed + _files(NEW_FILES, _now()))
    write_pyproject(project, '"fastapi", "six", "httpx"')
    full = tmp_path / "full" / "web"
    shutil.copytree(project, full)

    stats = tmp_path / "stats.json"
    fast = compile_(project, server, "--stats", str(stats))
    assert fast.exit_code == 0, fast.output
    document = json.loads(stats.read_text())
    assert document["pin_solve"] == "narrowed" and document["targets"]["linux"]["narrowed"] == 2
    assert "now lists starlette-0.39.2-py3-none-any.whl (starlette) with another sha256" in fast.stderr
    assert planned(project) == {**OLD_PLAN, "certifi": "2026.10.19", "httpx": "0.28.1"}

    monkeypatch.setitem(objective.solve_plan.__kwdefaults__, "narrow", False)
    slow = compile_(full, server, "--stats", str(stats))
    assert slow.exit_code == 0, slow.output
    assert json.loads(stats.read_text())["pin_solve"] == ""
    assert (fast.stdout, fast.stderr) == (slow.stdout, slow.stderr.replace(str(full), str(project)))
    assert {k: v[0] for k, v in snapshot(project / "output").items()} == \
        {k: v[0] for k, v in snapshot(full / "output").items()}
