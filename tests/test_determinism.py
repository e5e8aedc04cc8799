"""Same inputs, same bytes: whatever order an index lists its files in, whether the cache is cold,
warm or the only source, whichever folder planner runs from and however the project path is
written, and whatever the process's hash seed, time zone or locale."""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import pytest

from tests.fixtures.hostile import OUTPUT_FILES, compile_cli, compile_process, listed_files, served_project, snapshot
from tests.fixtures.service_project import service_indexes
from tests.fixtures.simple_index import FixtureFile, write_index
from tests.fixtures.wheels import build_wheel

_ANCHOR_LINE = re.compile(r"^\s*<a .*</a><br />$")


def _extra_files() -> list[FixtureFile]:
    """More files per project, so that their order matters: equally good wheels (tie broken by
    name), versions the targets cannot use, sdists and yanked files."""
    return [
        build_wheel("alpha", "2.0", ["beta>=2"], tag="py2.py3-none-any").fixture_file(),
        build_wheel("alpha", "1.5", ["beta"]).fixture_file(),
        build_wheel("alpha", "3.0", ["beta>=2"], tag="py3-none-win_amd64").fixture_file(),
        build_wheel("alpha", "2.5", ["beta"]).fixture_file(yanked="broken"),
        FixtureFile("alpha", "alpha-2.0.tar.gz", sha256="ab" * 32, size=10),
        build_wheel("beta", "2.0", tag="py3-none-manylinux_2_28_x86_64").fixture_file(),
        build_wheel("beta", "1.0").fixture_file(),
    ]


def _rich_indexes(root: Path) -> dict[str, Path]:
    roots = service_indexes(root)
    files = listed_files(roots["pypi"]) + _extra_files()
    shutil.rmtree(roots["pypi"])
    write_index(roots["pypi"], files)
    return roots


def _shuffled_copy(root: Path, to: Path, seed: int) -> Path:
    """A copy of an index folder whose pages list their files (and versions, and projects) in
    another order."""
    rng = random.Random(seed)
    shutil.copytree(root, to)
    for page in to.rglob("index.json"):
        data = json.loads(page.read_text())
        for key in ("files", "versions", "projects"):
            if key in data:
                rng.shuffle(data[key])
        page.write_text(json.dumps(data, indent=rng.choice([None, 1, 2])))
    for page in to.rglob("index.html"):
        lines = page.read_text().splitlines()
        spots = [n for n, line in enumerate(lines) if _ANCHOR_LINE.match(line)]
        anchors = [lines[n] for n in spots]
        rng.shuffle(anchors)
        for n, line in zip(spots, anchors, strict=True):
            lines[n] = line
        page.write_text("\n".join(lines) + "\n")
    return to


@pytest.fixture
def rich(tmp_path: Path):
    """The service project on indexes with more files per project."""
    with served_project(tmp_path, compiled=False) as served:
        roots = _rich_indexes(tmp_path / "rich")
        served.server.roots.update(roots)
        yield served, roots


@pytest.mark.parametrize("json_pages", [True, False], ids=["json", "html"])
def test_file_order_on_the_index_does_not_matter(rich, tmp_path: Path, json_pages: bool) -> None:
    served, roots = rich
    served.server.json = json_pages
    outputs = []
    for seed in (None, 1, 2):
        if seed is not None:
            served.server.roots.update({name: _shuffled_copy(root, tmp_path / f"shuffled-{seed}-{json_pages}" / name, seed)
                                        for name, root in roots.items()})
        # One output folder (the outputs record the -o that made them), emptied: no pins kept.
        out = tmp_path / "out"
        shutil.rmtree(out, ignore_errors=True)
        result = compile_cli(served.args("-o", str(out), cache=False))
        assert result.exit_code == 0, result.output
        outputs.append(snapshot(out))
    assert sorted(outputs[0]) == OUTPUT_FILES
    assert outputs[1] == outputs[0] and outputs[2] == outputs[0]
    plan = json.loads(outputs[0]["plan.json"])
    chosen = {p["name"]: p["artifact"]["filename"] for p in plan["targets"][0]["packages"]}
    assert chosen["alpha"] == "alpha-2.0-py2.py3-none-any.whl"  # of two equal wheels, by name


def test_cold_warm_offline_and_refreshed_cache_give_the_same_bytes(rich, tmp_path: Path) -> None:
    served, _ = rich
    runs = {"cold": [], "warm": [], "offline": ["--offline"], "refresh": ["--refresh"], "no-cache": []}
    outputs = {}
    for name, extra in runs.items():
        out = tmp_path / "out"  # one output folder (the outputs record their -o), emptied: no pins kept
        shutil.rmtree(out, ignore_errors=True)
        result = compile_cli(served.args("-o", str(out), *extra, cache=name != "no-cache"))
        assert result.exit_code == 0, (name, result.output)
        outputs[name] = snapshot(out)
    assert all(files == outputs["cold"] for files in outputs.values())


def test_working_directory_path_spelling_and_process_environment_do_not_matter(tmp_path: Path) -> None:
    with served_project(tmp_path) as served:
        expected = snapshot(served.output)
        project = served.project
        url_args = ["--default-index", served.server.url("pypi"), "--cache-dir", str(served.cache)]
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        runs = [
            (project, ".", {"PYTHONHASHSEED": "0", "TZ": "UTC", "LC_ALL": "C.UTF-8"}),
            (elsewhere, str(project / "pyproject.toml"), {"PYTHONHASHSEED": "4242", "TZ": "Asia/Kolkata", "LANG": "C"}),
        ]
        for cwd, spelled, env in runs:
            shutil.rmtree(served.output)
            completed = compile_process(["compile", spelled, *url_args], cwd=cwd, env=env)
            assert completed.returncode == 0, completed.stderr
            assert snapshot(served.output) == expected, (cwd, spelled)
        assert not (elsewhere / "output").exists()


def test_relative_index_folders_from_other_working_directories(tmp_path: Path, monkeypatch) -> None:
    """Indexes given as folders, by paths relative to wherever planner runs: the same bytes."""
    with served_project(tmp_path, compiled=False) as served:
        roots = {}
        for name, served_root in served.server.roots.items():
            # As a folder index: pages under <name>/simple/, files beside them (hrefs ../../files/).
            roots[name] = tmp_path / "folders" / name / "simple"
            shutil.copytree(served_root, roots[name], ignore=shutil.ignore_patterns("files"))
            shutil.copytree(served_root / "files", tmp_path / "folders" / name / "files")
        outputs = []
        for cwd in (tmp_path, served.project, roots["pypi"] / "alpha"):
            monkeypatch.chdir(cwd)
            rel = {name: Path(*([".."] * len(cwd.relative_to(tmp_path).parts)), root.relative_to(tmp_path))
                   for name, root in roots.items()}
            project = Path(*([".."] * len(cwd.relative_to(tmp_path).parts)), "project")
            result = compile_cli(["compile", str(project), "--default-index", str(rel["pypi"]),
                                  "--index", f"special={rel['special']}", "--no-cache"])
            assert result.exit_code == 0, (cwd, result.output)
            outputs.append(snapshot(served.output))
            check = compile_cli(["compile", str(project), "--default-index", str(rel["pypi"]),
                                 "--index", f"special={rel['special']}", "--check"])
            assert check.exit_code == 0, (cwd, check.output)
        assert outputs[1] == outputs[0] and outputs[2] == outputs[0]
        # The folder stands in for the index: outputs name the index by the URL the project declares.
        assert b"--index-url https://pypi.org/simple\n" in outputs[0]["linux-gpu/requirements.txt"]
