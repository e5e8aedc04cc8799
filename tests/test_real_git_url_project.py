"""A real project's git and URL sources compiled: prime-rl's pyproject (tests/fixtures/data/prime-rl,
kept byte for byte; README there), whose git sources (short revs, a subdirectory, a default
branch), per-architecture wheel URLs, `name @ url` wheel with a marker, 35 path sources and
PyTorch index routing are pointed at local stand-ins (tests/fixtures/prime_rl.py): git
repositories as `file://` URLs, the same wheel file names on 127.0.0.1, small source trees,
and loopback indexes of stand-in wheels; targets for both machines of its `environments` are
appended. Every plan passes the independent checker.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import unquote

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version
from typer.testing import CliRunner

from planner.cli.app import app
from planner.cli.workspace import CacheOptions, load_targets, open_index_client, open_sources
from planner.plan.check import check_target_plan
from planner.solve.objective import solve_plan
from tests.fixtures.index_server import IndexServer
from tests.fixtures.prime_rl import (
    GIT_STAND_INS,
    WHEEL_REQUIRES,
    make_stand_ins,
    path_sources,
    planner_targets,
    pyproject_text,
    rewrite,
    write_path_trees,
)
from tests.fixtures.simple_index import write_index
from tests.fixtures.wheels import build_wheel

runner = CliRunner()
TORCH_INDEX = ("torch", "torchvision", "torchaudio")


UPLOADED = "2025-01-01T00:00:00Z"


def _index_stand_ins(text: str) -> tuple[list, list, list]:
    """Dependency-free wheels (pypi, pytorch-cu128, pytorch-cu128-test) for every package the
    project and its stand-ins name from an index, at a version every requirement on it admits."""
    document = tomllib.loads(text)
    local = set(path_sources()) | {"prime-rl"}
    written = [*document["project"]["dependencies"], *(r for rs in document["project"]["optional-dependencies"].values()
                                                     for r in rs),
               *(r for rs in document["dependency-groups"].values() for r in rs),
               *document["tool"]["uv"]["override-dependencies"], *(r for rs in WHEEL_REQUIRES.values() for r in rs),
               *(r for entry in document["tool"]["uv"].get("dependency-metadata", ()) for r in entry["requires-dist"])]
    for _, pyproject in GIT_STAND_INS.values():
        written += tomllib.loads(pyproject)["project"]["dependencies"]
    specifiers: dict[str, list[SpecifierSet]] = {}
    extras: dict[str, set[str]] = {}
    for item in written:
        requirement = Requirement(item)
        name = canonicalize_name(requirement.name)
        if requirement.url or name in local or name in document["tool"]["uv"]["sources"] and \
                "index" not in str(document["tool"]["uv"]["sources"][name]):
            continue
        specifiers.setdefault(name, []).append(requirement.specifier)
        extras.setdefault(name, set()).update(requirement.extras)
    pypi, torch, test = [], [], []
    for name, specs in sorted(specifiers.items()):
        mentioned = sorted({Version(s.version) for spec in specs for s in spec if "*" not in s.version} | {Version("1.0")})
        version = next(v for v in reversed(mentioned) if all(spec.contains(v, prereleases=True) for spec in specs))
        # Uploaded long ago: the project's exclude-newer = "7 days" keeps them.
        wheel = build_wheel(name, str(version), extras=sorted(extras[name])).fixture_file(upload_time=UPLOADED)
        (torch if name in TORCH_INDEX else test if name == "flash-attn-3" else pypi).append(wheel)
    return pypi, torch, test


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("prime-rl")
    stand_ins = make_stand_ins(root)
    files = root / "dl" / "files"
    files.mkdir(parents=True)
    for wheel in stand_ins.wheels.values():
        (files / wheel.filename).write_bytes(wheel.content)
    pypi, torch, test = _index_stand_ins(pyproject_text())
    write_index(root / "indexes" / "pypi", pypi)
    write_index(root / "indexes" / "cu128", torch)
    write_index(root / "indexes" / "cu128-test", test)
    with IndexServer({"pypi": root / "indexes" / "pypi", "cu128": root / "indexes" / "cu128",
                      "cu128-test": root / "indexes" / "cu128-test", "dl": root / "dl"}) as server:
        project = root / "prime-rl"
        project.mkdir()
        git_urls = {url: (bare.as_uri(), commit) for url, (bare, commit) in stand_ins.repositories.items()}
        wheel_urls = {url: server.file_url("dl", wheel.filename) for url, wheel in stand_ins.wheels.items()}
        (project / "pyproject.toml").write_text(rewrite(pyproject_text(), git_urls, wheel_urls) + planner_targets(),
                                                encoding="utf-8")
        write_path_trees(project)
        options = ["--default-index", server.url("pypi"), "--index", f"pytorch-cu128={server.url('cu128')}",
                   "--index", f"pytorch-cu128-test={server.url('cu128-test')}"]
        result = runner.invoke(app, ["compile", str(project), "--cache-dir", str(root / "cache"), *options])
        assert result.exit_code == 0, result.output
        yield project, stand_ins, server, options, root / "cache", result


def _plan(project: Path) -> dict[str, dict[str, dict]]:
    document = json.loads((project / "output" / "plan.json").read_text())
    return {t["target"]["name"]: {p["name"]: p for p in t["packages"]} for t in document["targets"]}


def test_real_project_pins_its_git_and_url_sources_per_architecture(compiled) -> None:
    project, stand_ins, _, _, _, _ = compiled
    plans = _plan(project)
    assert set(plans) == {"linux-x86_64", "linux-aarch64"}  # the machines of tool.uv.environments
    commits = {url: commit for url, (_, commit) in stand_ins.repositories.items()}
    for target, plan in plans.items():
        torchtitan = plan["torchtitan"]["artifact"]["git"]
        assert torchtitan["commit"] == commits["https://github.com/pytorch/torchtitan"]
        assert torchtitan["requested"] == commits["https://github.com/pytorch/torchtitan"][:7]  # the short rev
        assert plan["torchtitan"]["version"] == "0+dynamic"
        assert plan["flash-attn-4"]["artifact"]["subdirectory"] == "flash_attn/cute"
        assert plan["flash-linear-attention"]["artifact"]["git"]["requested"] is None  # the default branch
        assert plan["torch"]["index"] == "pytorch-cu128" and plan["transformers"]["version"] == "5.6.2"
        machine = target.removeprefix("linux-")
        assert plan["vllm"]["artifact"]["filename"] == f"vllm-0.22.0+cu129-cp38-abi3-manylinux_2_28_{machine}.whl"
        x86_only = {"flash-attn", "deep-ep", "deep-gemm", "nixl-cu12", "vllm-router"}
        if machine == "x86_64":
            assert x86_only <= set(plan)  # their requirements' markers, or their only wheel, say x86_64
        else:
            assert not x86_only & set(plan)
        assert plan["verifiers"]["artifact"]["kind"] == "directory"  # a path source (a submodule upstream)
    requirements = (project / "output" / "linux-aarch64" / "requirements.txt").read_text()
    assert "vllm @ http://127.0.0.1:" in requirements and "manylinux_2_28_aarch64.whl \\\n    --hash=sha256:" in requirements
    git_lines = (project / "output" / "linux-x86_64" / "git-packages.txt").read_text()
    assert f"flash-attn-4 @ git+{stand_ins.repositories['https://github.com/Dao-AILab/flash-attention.git'][0].as_uri()}@" \
           in git_lines and "#subdirectory=flash_attn/cute" in git_lines


def test_real_project_plans_pass_the_independent_checker(compiled) -> None:
    project, _, _, options, cache, _ = compiled
    loaded = load_targets(project, options[3::2], options[1])
    settings = CacheOptions(cache_dir=cache, offline=True)
    with open_index_client(loaded, settings) as client, open_sources(loaded, settings, client) as provider:
        plan = solve_plan(loaded.project, loaded.targets, provider)
        assert not plan.unsatisfiable
        for target_plan in plan.targets:
            assert check_target_plan(loaded.project, target_plan, lambda a: provider.metadata([a])[a]) == []


def test_real_project_settings_are_honoured_without_warnings(compiled) -> None:
    *_, result = compiled
    warnings = " ".join(result.stderr.split())
    for key in ("dependency-metadata", "extra-build-dependencies", "no-build-isolation-package"):  # honoured
        assert f"tool.uv.{key}" not in warnings, key
    assert "exclude-newer" not in warnings  # honoured: the stand-ins were uploaded long ago


@pytest.mark.skipif(platform.system() != "Linux", reason="the lock is checked on a Linux machine")
def test_real_project_lock_validates(compiled) -> None:
    from packaging.pylock import Pylock

    project, *_ = compiled
    lock = Pylock.from_dict(tomllib.loads((project / "output" / "pylock.toml").read_text()))
    vcs = {p.name: p.vcs for p in lock.packages if p.vcs is not None}
    assert set(vcs) == {"torchtitan", "dion", "flash-attn-4", "flash-linear-attention"}
    archives = {p.name for p in lock.packages if p.archive is not None}
    assert {"vllm", "flash-attn", "deep-ep", "deep-gemm", "nixl-cu12", "vllm-router"} <= archives


# -- opt-in: real PyPI, and the agreement with uv lock ---------------------------------------------
def _comparable_copy(text: str, test_index: str) -> str:
    """The copy both planner and uv lock read: PyPI for the PyTorch index (its cu128 builds are
    PyPI's Linux default), a loopback stand-in for the test index, without exclude-newer (both
    tools honour it, but its '7 days' would be resolved at two moments), and without what one of
    the tools cannot take yet: the sdist-only mamba-ssm group and `prime` (whose gitignore-parser
    is an sdist planner cannot read without a build), and the modelexpress extra (uv finds it in
    conflict with protobuf)."""
    text = text.replace('url = "https://download.pytorch.org/whl/cu128"', 'url = "https://pypi.org/simple"')
    text = text.replace('url = "https://download.pytorch.org/whl/test/cu128"', f'url = "{test_index}"')
    text = text.replace('exclude-newer = "7 days"\n', "")
    text = re.sub(r"\[tool\.uv\.exclude-newer-package\].*?\n\n", "", text, flags=re.S)
    text = text.replace('mamba-ssm = [\n    "mamba-ssm>=2.3.0",\n]\n', "")
    text = text.replace('    "prime>=0.6.4",\n', "")
    return text.replace('modelexpress = [\n    "modelexpress==0.3.0",\n]\n', "")


def _uv_export(lines: str, environment: dict[str, str]) -> dict[str, tuple[str, str]]:
    """`uv export` lines that hold on `environment`: name -> ("version" | "url" | "local", value)."""
    out: dict[str, tuple[str, str]] = {}
    for line in lines.splitlines():
        spec, _, marker = line.strip().partition(" ; ")
        if not spec or spec.startswith("#") or (marker and not Marker(marker).evaluate({**environment, "extra": ""})):
            continue
        if spec.startswith("-e "):
            out[canonicalize_name(Path(spec[3:].strip()).name)] = ("local", spec[3:].strip())
        elif "==" in spec:
            name, _, version = spec.partition("==")
            out[canonicalize_name(name.split("[")[0])] = ("version", version.strip())
        else:
            name, _, url = spec.partition(" @ ")
            out[canonicalize_name(name.split("[")[0])] = ("url", unquote(url.strip()))
    return out


@pytest.mark.live
def test_real_project_against_pypi_agrees_with_uv_lock(tmp_path: Path) -> None:
    """planner and `uv lock` on the same copy (stand-ins for GitHub, real PyPI): the git and URL
    packages are the same commits and files, and nearly every other version agrees; the rest is
    printed with the reason it differs (run with -s)."""
    stand_ins = make_stand_ins(tmp_path)
    files = tmp_path / "dl" / "files"
    files.mkdir(parents=True)
    for wheel in stand_ins.wheels.values():
        (files / wheel.filename).write_bytes(wheel.content)
    write_index(tmp_path / "cu128-test", [build_wheel("flash_attn_3", "3.0.0b1", ["torch"]).fixture_file(upload_time=UPLOADED)])
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    python = os.environ.get("PLANNER_TEST_PYTHON312") or shutil.which("python3.12")
    if python is None or subprocess.run([python, "-c", "pass"], capture_output=True).returncode != 0:
        pytest.skip("uv lock needs a Python 3.12 interpreter (requires-python ~=3.12.0): set PLANNER_TEST_PYTHON312")
    with IndexServer({"dl": tmp_path / "dl", "test": tmp_path / "cu128-test"}) as server:
        git_urls = {url: (bare.as_uri(), commit) for url, (bare, commit) in stand_ins.repositories.items()}
        wheel_urls = {url: server.file_url("dl", wheel.filename) for url, wheel in stand_ins.wheels.items()}
        text = _comparable_copy(rewrite(pyproject_text(), git_urls, wheel_urls), server.url("test"))
        for tool in ("planner", "uv"):
            (tmp_path / tool).mkdir()
            (tmp_path / tool / "pyproject.toml").write_text(text + (planner_targets(text) if tool == "planner" else ""))
            write_path_trees(tmp_path / tool)
        result = runner.invoke(app, ["compile", str(tmp_path / "planner"), "--cache-dir", str(tmp_path / "cache")])
        assert result.exit_code == 0, result.output
        env = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_NO_CONFIG": "1"}
        subprocess.run([uv, "lock", "--python", python], cwd=tmp_path / "uv", check=True, capture_output=True, env=env)
        exported = subprocess.run([uv, "export", "--frozen", "--all-extras", "--group", "dev", "--no-hashes",
                                   "--no-header", "--no-annotate"], cwd=tmp_path / "uv", check=True,
                                  capture_output=True, text=True, env=env).stdout
    for target, plan in _plan(tmp_path / "planner").items():
        environment = json.loads((tmp_path / "planner" / "output" / "plan.json").read_text())
        environment = next(t["target"]["markers"] for t in environment["targets"] if t["target"]["name"] == target)
        theirs = _uv_export(exported, environment)
        mine = {name: p for name, p in plan.items() if p["artifact"].get("kind") != "directory"}
        same, differ = [], []
        for name, package in sorted(mine.items()):
            kind, value = theirs.get(name, ("missing", ""))
            artifact = package["artifact"]
            if kind == "version":
                agrees = value == package["version"]
            else:  # the same commit, or the same file
                agrees = kind == "url" and (artifact.get("git") is not None and artifact["git"]["commit"] in value
                                            or unquote(artifact["url"]) == value)
                assert agrees, (target, name, artifact["url"], value)
            (same if agrees else differ).append(f"{name}: planner {package['version']}, uv {kind} {value}")
        extra = sorted(n for n, (kind, _) in theirs.items() if kind != "local" and n not in mine)
        print(f"\n{target}: planner {len(mine)} packages, uv {len(theirs) - sum(k == 'local' for k, _ in theirs.values())};"
              f" {len(same)} the same; differ: {differ}; only in uv's lock: {extra}")
        assert len(same) >= 0.95 * len(mine), differ
