"""The files `planner compile` writes: which, deterministic, `--check`, stale-file removal, split
locks, the hash requirement, and the markers that select targets."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.cli.app import app
from planner.generate.markers import selector_marker
from planner.project.model import DockerSettings
from planner.targets.model import Accelerator, PythonVersion, Target, marker_environment
from planner.targets.platforms import PLATFORMS
from tests.fixtures.index_server import IndexServer
from tests.fixtures.service_project import minimal_project, service_indexes, service_pyproject
from tests.fixtures.simple_index import FixtureFile, write_index
from tests.fixtures.wheels import build_wheel

runner = CliRunner()


@pytest.fixture
def served(tmp_path):
    with IndexServer(service_indexes(tmp_path / "indexes")) as server:
        project = tmp_path / "project"
        project.mkdir()
        (project / "pyproject.toml").write_text(service_pyproject(server.url("special")))
        yield project, server


def compile_(project: Path, server: IndexServer, *extra: str):
    return runner.invoke(app, ["compile", str(project), "--default-index", server.url("pypi"),
                               "--cache-dir", str(project.parent / "cache"), *extra])


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_outputs_are_complete_and_byte_identical_across_runs(served) -> None:
    project, server = served
    assert compile_(project, server).exit_code == 0
    first = _files(project / "output")
    assert sorted(first) == ["linux-cpu/Dockerfile", "linux-cpu/requirements.txt", "linux-gpu/Dockerfile",
                             "linux-gpu/requirements.txt", "mac/requirements.txt", "plan.json", "pylock.toml"]
    result = compile_(project, server, "--offline")
    assert result.exit_code == 0, result.output
    assert _files(project / "output") == first
    manifest = json.loads(first["plan.json"])["outputs"]
    assert set(manifest) == set(first) - {"plan.json"}


def test_check_reports_current_missing_edited_and_stale_outputs(served) -> None:
    project, server = served
    check = ["compile", str(project), "--default-index", server.url("pypi"), "--check"]
    missing = runner.invoke(app, check)
    assert missing.exit_code == 1 and "plan.json is missing" in missing.stderr
    assert not (project / "output").exists()  # --check writes nothing
    assert compile_(project, server).exit_code == 0
    server.reset_log()
    current = runner.invoke(app, check)
    assert current.exit_code == 0, current.output
    assert server.count() == 0  # no network
    requirements = project / "output" / "linux-cpu" / "requirements.txt"
    requirements.write_text(requirements.read_text() + "extra==1\n")
    edited = runner.invoke(app, check)
    assert edited.exit_code == 1 and "requirements.txt was changed" in edited.stderr
    requirements.unlink()
    gone = runner.invoke(app, check)
    assert gone.exit_code == 1 and "requirements.txt is missing" in gone.stderr
    assert compile_(project, server).exit_code == 0
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('dependencies = ["alpha"]', 'dependencies = ["alpha<2"]'))
    stale = runner.invoke(app, check)
    assert stale.exit_code == 1 and "pyproject.toml" in stale.stderr and "run: planner compile" in stale.stderr
    assert f"(in {project})" in stale.stderr  # where to run it: the command is relative to the project folder
    other_index = runner.invoke(app, ["compile", str(project), "--default-index", server.url("special"), "--check"])
    assert other_index.exit_code == 1


def test_a_dropped_targets_outputs_are_removed_and_others_kept(served) -> None:
    project, server = served
    assert compile_(project, server).exit_code == 0
    (project / "output" / "notes.txt").write_text("mine")  # not planner's: never touched
    result = compile_(project, server, "--target", "linux-gpu")
    assert result.exit_code == 0, result.output
    assert sorted(_files(project / "output")) == ["linux-gpu/Dockerfile", "linux-gpu/requirements.txt",
                                                  "notes.txt", "plan.json", "pylock.toml"]
    assert not (project / "output" / "linux-cpu").exists()


def test_targets_no_marker_tells_apart_get_one_lock_each(served) -> None:
    project, server = served
    pyproject = project / "pyproject.toml"
    # linux-gpu without its extra would equal... make two targets with the same machine, Python, extras.
    text = pyproject.read_text().replace('accelerator = "cuda"\nextras = ["gpu"]', 'accelerator = "cuda"\nextras = ["cpu"]')
    pyproject.write_text(text)
    result = compile_(project, server)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (project / "output").glob("pylock*.toml"))
    assert names == ["pylock.linux-cpu.toml", "pylock.linux-gpu.toml", "pylock.mac.toml"]
    assert "no marker tells them apart" in result.stdout
    lock = tomllib.loads((project / "output" / "pylock.linux-gpu.toml").read_text())
    assert [t["name"] for t in lock["tool"]["planner"]["targets"]] == ["linux-gpu"]


def test_an_artifact_without_a_sha256_stops_the_compile_and_writes_nothing(tmp_path) -> None:
    wheel = build_wheel("alpha", "1.0")
    write_index(tmp_path / "idx", [FixtureFile(project="alpha", filename=wheel.filename, sha256=None,
                                               metadata=wheel.metadata, content=wheel.content)])
    project = minimal_project(tmp_path / "project", ["alpha"])
    with IndexServer({"pypi": tmp_path / "idx"}) as server:
        result = runner.invoke(app, ["compile", str(project), "--default-index", server.url("pypi"),
                                     "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 2, result.output
    assert "gives no sha256 for alpha-1.0-py3-none-any.whl" in result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.output
    assert not (project / "output").exists()


def _target(name: str, platform: str, extras: tuple[str, ...] = (), python: str = "3.11") -> Target:
    plat = PLATFORMS[platform]
    version = PythonVersion.parse(python)
    return Target(name=name, platform=plat, python=version, accelerator=Accelerator.parse("cpu"),
                  extras=extras, groups=(), os_floor=None, docker=DockerSettings(), derived=False,
                  environment=marker_environment(plat, version), tags=())


def test_selector_markers_are_minimal_covers() -> None:
    targets = [_target("l-cpu", "linux-x86_64", ("cpu",)), _target("l-gpu", "linux-x86_64", ("gpu",)),
               _target("m-cpu", "macos-arm64", ("cpu",)), _target("a-cpu", "linux-aarch64", ("cpu",)),
               _target("l312", "linux-x86_64", ("cpu",), "3.12")]
    assert selector_marker({t.name for t in targets}, targets) is None
    assert selector_marker({"l-gpu"}, targets) == "'gpu' in extras"
    assert selector_marker({"m-cpu"}, targets) == "sys_platform == 'darwin'"
    assert selector_marker({"l-cpu", "l-gpu", "a-cpu", "l312"}, targets) == "sys_platform == 'linux'"
    assert selector_marker({"l-cpu"}, targets) == (
        "platform_machine == 'x86_64' and python_version == '3.11' and 'cpu' in extras")
    assert selector_marker({"m-cpu", "l-gpu"}, targets) == "sys_platform == 'darwin' or 'gpu' in extras"


def test_stats_file_reports_counters_and_phases(served) -> None:
    project, server = served
    stats = project.parent / "stats.json"
    assert compile_(project, server, "--stats", str(stats)).exit_code == 0
    document = json.loads(stats.read_text())
    phases = document["phases_seconds"]
    assert set(phases) == {"load", "fetch", "encode", "sat", "generate", "write"}
    assert all(seconds >= 0 for seconds in phases.values()) and phases["sat"] > 0
    assert document["http"]["requests"] == server.count() > 0
    assert document["sat_calls"] == sum(t["sat_calls"] for t in document["targets"].values()) > 0
    assert set(document["targets"]) == {"linux-cpu", "linux-gpu", "mac"}


def test_artifacts_from_a_local_folder_are_flagged(tmp_path) -> None:
    wheel = build_wheel("alpha", "1.0")
    # A copy of a served index: pages in idx/simple/, files beside them (pages link ../../files/).
    write_index(tmp_path / "idx" / "simple", [wheel.fixture_file()])
    (tmp_path / "idx" / "files").symlink_to(tmp_path / "idx" / "simple" / "files")
    project = minimal_project(tmp_path / "project", ["alpha"])
    result = runner.invoke(app, ["compile", str(project), "--default-index", str(tmp_path / "idx" / "simple"),
                                 "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    assert "1 artifact is a file on this machine" in result.stdout and "alpha-1.0-py3-none-any.whl" in result.stdout


def _tomlkit_rendering(document: dict) -> str:
    """The lock layout built as a tomlkit document (the model `pylock._toml` writes by hand)."""
    import tomlkit

    def inline(mapping: dict) -> object:
        table = tomlkit.inline_table()
        for key, value in mapping.items():
            table[key] = inline(value) if isinstance(value, dict) else value
        return table

    out = tomlkit.document()
    for key, value in document.items():
        if key not in ("packages", "tool"):
            out[key] = value
    packages = tomlkit.aot()
    for entry in document["packages"]:
        table = tomlkit.table()
        for key, value in entry.items():
            if key in ("wheels", "dependencies"):
                array = tomlkit.array()
                array.multiline(True)
                for item in value:
                    array.append(inline(item))
                table[key] = array
            elif key == "sdist":
                table[key] = inline(value)
            else:
                table[key] = value
        packages.append(table)
    out["packages"] = packages
    out["tool"] = document["tool"]
    return tomlkit.dumps(out)


def test_lock_text_is_what_tomlkit_renders(served) -> None:
    """The lock's text equals a tomlkit document's rendering of the same lock, also with values
    that need quoting and escaping, and reads back as the same data."""
    from planner.generate.pylock import _toml

    project, server = served
    assert compile_(project, server).exit_code == 0
    example = Path(__file__).resolve().parent.parent / "examples" / "torch-cpu-gpu" / "output" / "pylock.toml"
    for text in ((project / "output" / "pylock.toml").read_text(), example.read_text()):
        document = tomllib.loads(text)
        assert _toml(document) == _tomlkit_rendering(document) == text
    document = tomllib.loads(example.read_text())
    odd = document["packages"][0]
    odd["marker"] = 'sys_platform == "linux" and extra == "ü\\\\ \t \u0001"'
    odd["sdist"] = {"name": "a b.tar.gz", "url": "https://x/\"q\"", "size": 0, "hashes": {"sha-256 x": "00"}}
    odd["dependencies"] = [{"name": "ünïcode", "marker": "'\"'"}]
    document["tool"]["planner"]["command"] = "planner compile --index 'a=b \"c\"'"
    rendered = _toml(document)
    assert rendered == _tomlkit_rendering(document)
    assert tomllib.loads(rendered) == document


def test_lock_values_are_what_tomlkit_renders() -> None:
    """Values written without tomlkit (strings with nothing to escape, integers, booleans, UTC
    times) read as tomlkit writes them; the others go through tomlkit."""
    import datetime

    import tomlkit

    from planner.generate.pylock import _value

    values = ["", "plain", "https://files.example/a-1.0-py3-none-any.whl#sha256=00", "a\"b", "a\\b", "tab\there",
              "del\x7f", "nul\x00", "ü", "line\nbreak", "'single'", 0, -3, 10**20, True, False,
              datetime.datetime(2024, 6, 1, 12, 0, tzinfo=datetime.timezone.utc),
              datetime.datetime(2024, 6, 1, 12, 0, 5, 120, tzinfo=datetime.timezone.utc),
              datetime.datetime(2024, 6, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
              datetime.datetime(2024, 6, 1, 12, 0), datetime.date(2024, 6, 1)]
    for value in values:
        assert _value(value) == tomlkit.item(value).as_string(), value


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
def test_strings_and_keys_are_escaped_as_tomlkit_escapes_them(text: str) -> None:
    """Strings (and keys that are not bare) are written without tomlkit, escaped exactly as
    tomlkit escapes them, and read back by tomllib as the same text."""
    import tomlkit

    from planner.generate.pylock import _key, _value

    assert _value(text) == tomlkit.item(text).as_string()
    bare = re.fullmatch(r"[A-Za-z0-9_-]+", text) is not None  # TOML's bare keys
    assert _key(text) == (text if bare else tomlkit.string(text).as_string())
    assert tomllib.loads(f"{_key(text)} = {_value(text)}") == {text: text}


def test_plan_json_text_is_what_json_writes(served) -> None:
    """plan.json is written by `plan_json_text`: the bytes `json.dumps(indent=2)` writes, for a real
    plan and for values that need escaping or that it leaves to `json.dumps` (floats, odd keys)."""
    from planner.generate.plan_json import plan_json_text

    project, server = served
    assert compile_(project, server).exit_code == 0
    written = (project / "output" / "plan.json").read_text()
    document = json.loads(written)
    assert plan_json_text(document) == json.dumps(document, indent=2) + "\n" == written
    odd = {"": [], "e": {}, "ü\"\\\n\x00\x7f": ["ü", "\u2028", "\ud83d\ude00", None, True, False, 0, -1, 10**30],
           "nested": [[{}], [[]], {"a": {"b": [1, {"c": None}]}}], "tuple": (1, "two")}
    assert plan_json_text(odd) == json.dumps(odd, indent=2) + "\n"
    for unusual in ({"x": 1.5}, {"x": [float("inf")]}, {1: "int key"}, {"x": {True: None}}):
        assert plan_json_text(unusual) == json.dumps(unusual, indent=2) + "\n"
