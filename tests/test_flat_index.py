"""Flat indexes: `[[tool.uv.index]] format = "flat"` and `[tool.uv] find-links`.

A flat index is one HTML page of links (served here on 127.0.0.1) or a local folder of files.
Its files go through the same checks as a simple index's, it is routed by the same rules
(explicit, sources, first-index), its page is cached like a project page, and a folder is read
afresh on every run. `find-links` locations are consulted beside the indexes of every package
that no source entry routes. The compile test plans through `planner compile`, checks the plan
independently, and installs the requirements with pip and uv.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from packaging.pylock import Pylock
from typer.testing import CliRunner

from planner.cli.app import app
from planner.cli.workspace import CacheOptions, load_targets, open_index_client
from planner.errors import InputError
from planner.index.client import OfflineMiss
from planner.index.http import FetchError
from planner.index.simple import IndexFormatError, parse_flat_html
from planner.plan.check import check_target_plan
from planner.project.loader import load_project
from planner.project.model import IndexFormat
from planner.solve.objective import solve_plan
from planner.solve.provider import IndexProvider
from planner.targets.routing import route
from tests.fixtures.flat_index import flat_page_html, write_flat_page, write_wheelhouse
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import write_index
from tests.fixtures.wheels import build_wheel

runner = CliRunner()
on_linux_target = pytest.mark.skipif(
    not (sys.platform == "linux" and platform.machine() == "x86_64" and sys.version_info[:2] == (3, 11)),
    reason="installs for a linux-x86_64 / Python 3.11 target need such a machine")

ALPHA_1 = build_wheel("alpha", "1.0")
ALPHA_2 = build_wheel("alpha", "2.0", ["beta>=1.0"])
BETA_1 = build_wheel("beta", "1.0")
BETA_15 = build_wheel("beta", "1.5")
BETA_16 = build_wheel("beta", "1.6")
GAMMA_1 = build_wheel("gamma", "1.0")
GAMMA_2 = build_wheel("gamma", "2.0")
ALPHA_9 = build_wheel("alpha", "9.0")  # on the explicit flat index: must never reach alpha's plan
DELTA_1 = build_wheel("delta", "1.0")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pyproject(flat_url: str, *, find_links: str = '["./wheelhouse"]') -> str:
    return textwrap.dedent(f"""\
        [project]
        name = "app"
        version = "0.1.0"
        requires-python = ">=3.11"
        dependencies = ["alpha", "gamma", "delta"]

        [tool.uv]
        find-links = {find_links}

        [tool.uv.sources]
        gamma = {{ index = "wheels" }}

        [[tool.uv.index]]
        name = "wheels"
        url = "{flat_url}"
        format = "flat"
        explicit = true

        [tool.planner.targets.linux]
        platform = "linux-x86_64"
        python = "3.11"
        """)


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("flat-indexes")
    write_index(root / "pypi", [w.fixture_file() for w in (ALPHA_1, ALPHA_2, BETA_1)])
    write_flat_page(root / "wheels", [GAMMA_1, GAMMA_2, ALPHA_9], extra_links=["../other/", "README.txt"])
    return root


@pytest.fixture
def server(indexes: Path):
    with IndexServer({"pypi": indexes / "pypi", "wheels": indexes / "wheels"}, max_age=600) as running:
        yield running


@pytest.fixture
def project(tmp_path: Path, server: IndexServer) -> Path:
    folder = tmp_path / "app"
    write_wheelhouse(folder / "wheelhouse", [BETA_15, DELTA_1])
    (folder / "pyproject.toml").write_text(pyproject(server.url("wheels")))
    return folder


# -- parsing -------------------------------------------------------------------------------------
def test_flat_page_groups_every_projects_files_and_checks_them() -> None:
    page = flat_page_html([
        ("torch-2.5.1%2Bcpu-cp311-cp311-linux_x86_64.whl", "ab" * 32),
        ("cu124/torch-2.5.1%2Bcu124-cp311-cp311-linux_x86_64.whl", None),
        ("https://other.example/jax-0.4.30-py3-none-any.whl", None),
        ("jax-0.4.30.tar.gz", None),
        ("torch-not-a-version-cp311-cp311-linux_x86_64.whl", None),
        ("torch-2.5.1%2Bcpu-cp311-cp311-linux_x86_64.whl", None),  # listed twice
        ("index.html", None),
        ("sub/", None),
    ])
    listing = parse_flat_html(page, "https://download.example/whl/torch_stable.html")
    assert listing.projects == ("jax", "torch")
    torch = listing.project_page("flat", "Torch")
    assert [a.filename for a in torch.artifacts] == ["torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl",
                                                     "torch-2.5.1+cu124-cp311-cp311-linux_x86_64.whl"]
    assert torch.artifacts[0].sha256 == "ab" * 32 and torch.artifacts[1].sha256 is None
    assert torch.artifacts[1].url == "https://download.example/whl/cu124/torch-2.5.1%2Bcu124-cp311-cp311-linux_x86_64.whl"
    assert {s.reason.split(" (")[0] for s in torch.skipped} == {"its name does not parse",
                                                                 "listed twice"}
    jax = listing.project_page("flat", "jax")
    assert sorted(a.url for a in jax.artifacts) == ["https://download.example/whl/jax-0.4.30.tar.gz",
                                                    "https://other.example/jax-0.4.30-py3-none-any.whl"]
    assert [s.filename for s in listing.skipped] == ["index.html", ""]
    assert listing.project_page("flat", "numpy").artifacts == ()  # not listed: the index lacks it


def test_a_remote_flat_page_cannot_point_at_local_files() -> None:
    page = flat_page_html([("file:///home/user/secret-1.0-py3-none-any.whl", None),
                           ("secret-1.0.tar.gz", None)])
    remote = parse_flat_html(page, "https://example.com/wheels.html").project_page("flat", "secret")
    assert [a.filename for a in remote.artifacts] == ["secret-1.0.tar.gz"]
    assert "scheme 'file' is not allowed" in remote.skipped[0].reason
    local = parse_flat_html(page, "file:///srv/wheels/index.html").project_page("flat", "secret")
    # A page on this machine may list files in its own folder, not elsewhere on the machine.
    assert [a.filename for a in local.artifacts] == ["secret-1.0.tar.gz"]
    assert "points outside the index folder /srv/wheels" in local.skipped[0].reason


def test_a_flat_page_cut_inside_a_link_is_rejected() -> None:
    page = flat_page_html([("a-1.0-py3-none-any.whl", None)])
    with pytest.raises(IndexFormatError, match="ends inside a link"):
        parse_flat_html(page[: page.index(b'href="') + 3], "https://example.com/wheels.html")


# -- the project model and routing ---------------------------------------------------------------
def test_flat_indexes_and_find_links_are_loaded_and_routed(project: Path, server: IndexServer) -> None:
    loaded = load_project(project)
    wheels = loaded.index("wheels")
    assert wheels.format is IndexFormat.FLAT and wheels.explicit and not wheels.find_links
    [links] = loaded.find_links
    assert links.name == "find-links-1" and links.is_flat
    assert links.url == (project / "wheelhouse").resolve().as_uri()
    assert not any("find-links" in str(w) for w in loaded.warnings)
    target = load_targets(project, [], None).targets[0]
    alpha = route(loaded, target, "alpha")
    assert alpha.index_names == ("pypi",) and alpha.allowed_index_names == ("pypi", "find-links-1")
    gamma = route(loaded, target, "gamma")  # a source routes it: its index only, no find-links
    assert gamma.allowed_index_names == ("wheels",)
    assert route(loaded, target, "delta").describe() == "pypi, with find-links-1"


def test_find_links_as_one_string_and_as_a_url(write_project) -> None:
    folder = write_project("""
        [project]
        name = "app"
        version = "0.1.0"
        requires-python = ">=3.11"

        [tool.uv]
        find-links = "https://download.pytorch.org/whl/torch_stable.html"
        """)
    [links] = load_project(folder).find_links
    assert links.url == "https://download.pytorch.org/whl/torch_stable.html"


@pytest.mark.parametrize("value, message", [
    ('["ftp://example.com/wheels"]', "scheme 'ftp'"),
    ("[3]", "expected a string"),
    ('["https://"]', "has no host"),
])
def test_bad_find_links_name_the_key(write_project, value: str, message: str) -> None:
    folder = write_project(f"""
        [project]
        name = "app"
        version = "0.1.0"
        requires-python = ">=3.11"

        [tool.uv]
        find-links = {value}
        """)
    with pytest.raises(InputError, match=message) as caught:
        load_project(folder)
    assert caught.value.location is not None and caught.value.location.key[:3] == ("tool", "uv", "find-links")


# -- the index client ----------------------------------------------------------------------------
def _client_candidates(project: Path, server: IndexServer, cache: Path, *, offline: bool = False,
                       packages=("alpha", "beta", "gamma", "delta")) -> dict[str, list[tuple[str, str]]]:
    loaded = load_targets(project, [], server.url("pypi"))
    target = loaded.targets[0]
    with open_index_client(loaded, CacheOptions(cache_dir=cache, offline=offline)) as client:
        out = {}
        for name in packages:
            found = client.candidates(name, target)
            out[name] = [(str(c.version), c.index) for c in found.candidates]
            for candidate in found.candidates:
                if candidate.index == "find-links-1":  # a folder's files are hashed as they are read
                    path = project / "wheelhouse" / candidate.artifact.filename
                    assert candidate.artifact.sha256 == sha256(path.read_bytes())
        return out


def test_flat_candidates_follow_the_routing_rules(project: Path, server: IndexServer, tmp_path: Path) -> None:
    found = _client_candidates(project, server, tmp_path / "cache")
    assert found == {
        "alpha": [("2.0", "pypi"), ("1.0", "pypi")],  # the explicit flat index's alpha 9.0 stays out
        "beta": [("1.5", "find-links-1"), ("1.0", "pypi")],  # find-links beside the first index
        "gamma": [("2.0", "wheels"), ("1.0", "wheels")],
        "delta": [("1.0", "find-links-1")],  # no index has it: find-links alone
    }
    assert server.count("/wheels/simple") == 2  # the redirect to /wheels/simple/, then one page for all


def test_flat_page_is_cached_and_offline_capable_and_the_folder_is_read_afresh(
        project: Path, server: IndexServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _client_candidates(project, server, cache)
    server.reset_log()
    _client_candidates(project, server, cache)  # fresh for max-age=600: no request at all
    assert server.count("/wheels/") == 0
    write_wheelhouse(project / "wheelhouse", [BETA_16])
    offline = _client_candidates(project, server, cache, offline=True)
    assert server.count() == 0
    assert offline["gamma"] == [("2.0", "wheels"), ("1.0", "wheels")]
    assert offline["beta"][0] == ("1.6", "find-links-1")  # the folder, read again: its new file


def test_offline_without_the_flat_page_in_the_cache(project: Path, server: IndexServer, tmp_path: Path) -> None:
    with pytest.raises(OfflineMiss, match="flat index page of index 'wheels'"):
        _client_candidates(project, server, tmp_path / "empty", offline=True, packages=("gamma",))


@pytest.mark.parametrize("fault, message", [
    (404, "not found (HTTP 404)"),
    ("wrong-type", "unexpected content type 'application/octet-stream' for a flat index page"),
    (401, "access denied (HTTP 401)"),
])
def test_a_broken_flat_page_is_one_clear_error(project: Path, server: IndexServer, tmp_path: Path,
                                               fault, message: str) -> None:
    server.add_fault("/wheels/simple/", fault)
    with pytest.raises(FetchError, match="index 'wheels'") as caught:
        _client_candidates(project, server, tmp_path / "cache", packages=("gamma",))
    assert message in str(caught.value) and "/wheels/simple" in str(caught.value)


def test_a_flat_page_behind_credentials(project: Path, server: IndexServer, tmp_path: Path) -> None:
    server.require_auth = ("reader", "flat-s3cret")
    (project / "pyproject.toml").write_text(pyproject(server.url("wheels", with_auth=True)))
    cache = tmp_path / "cache"
    found = _client_candidates(project, server, cache, packages=("gamma",))
    assert found["gamma"] == [("2.0", "wheels"), ("1.0", "wheels")]
    for path in cache.rglob("*"):
        if path.is_file():
            assert b"flat-s3cret" not in path.read_bytes(), path


def test_missing_wheelhouse_folder_is_named(project: Path, server: IndexServer, tmp_path: Path) -> None:
    shutil.rmtree(project / "wheelhouse")
    with pytest.raises(FetchError, match="index 'find-links-1'.*wheelhouse"):
        _client_candidates(project, server, tmp_path / "cache", packages=("delta",))


# -- planner compile, the checker, pip and uv ----------------------------------------------------
def _compile(project: Path, server: IndexServer, cache: Path, *extra: str) -> None:
    result = runner.invoke(app, ["compile", str(project), "--default-index", server.url("pypi"),
                                 "--cache-dir", str(cache), *extra])
    assert result.exit_code == 0, result.output


def _planned(project: Path) -> dict[str, tuple[str, str]]:
    document = json.loads((project / "output" / "plan.json").read_text())
    [target] = document["targets"]
    return {p["name"]: (p["version"], p["index"]) for p in target["packages"]}


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", UV_CACHE_DIR=str(tmp_path / "uv-cache"),
               PIP_CACHE_DIR=str(tmp_path / "pip-cache"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _installed(python: Path) -> dict[str, str]:
    code = ("import importlib.metadata as m, json; print(json.dumps({d.metadata['Name'].lower(): d.version "
            "for d in m.distributions() if d.metadata['Name'].lower() not in ('pip', 'setuptools')}))")
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True,
                         cwd=python.parent).stdout
    return json.loads(out)


def test_compile_plans_from_flat_indexes_and_the_plan_checks(project: Path, server: IndexServer,
                                                             tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _compile(project, server, cache)
    assert _planned(project) == {"alpha": ("2.0", "pypi"), "beta": ("1.5", "find-links-1"),
                                 "gamma": ("2.0", "wheels"), "delta": ("1.0", "find-links-1")}
    requirements = (project / "output" / "linux" / "requirements.txt").read_text()
    assert "--index-url http://127.0.0.1" in requirements
    assert f"beta @ {(project / 'wheelhouse' / BETA_15.filename).resolve().as_uri()}" in requirements
    assert f"gamma @ {server.file_url('wheels', GAMMA_2.filename)}" in requirements
    assert f"--hash=sha256:{sha256(GAMMA_2.content)}" in requirements
    assert f"--hash=sha256:{sha256(BETA_15.content)}" in requirements
    lock = (project / "output" / "pylock.toml").read_text()
    assert (project / "wheelhouse").resolve().as_uri() in lock
    [target] = load_targets(project, [], server.url("pypi")).targets
    selected = Pylock.from_dict(tomllib.loads(lock)).select(
        environment=dict(target.environment), tags=list(target.tags), extras=[], dependency_groups=[])
    assert {package.name: artifact.url for package, artifact in selected}["beta"] == \
        (project / "wheelhouse" / BETA_15.filename).resolve().as_uri()

    # The independent checker, on the same plan solved in-process.
    loaded = load_targets(project, [], server.url("pypi"))
    with open_index_client(loaded, CacheOptions(cache_dir=cache)) as client:
        plan = solve_plan(loaded.project, loaded.targets, IndexProvider(client))
        for target_plan in plan.targets:
            assert check_target_plan(loaded.project, target_plan, lambda a: client.metadata(a).metadata) == []

    # The same outputs from the cache alone; a new file in the folder is seen by the next run
    # (which keeps the pinned beta 1.5 unless asked to upgrade it).
    before = {p: p.read_bytes() for p in (project / "output").rglob("*") if p.is_file()}
    _compile(project, server, cache, "--offline")
    assert {p: p.read_bytes() for p in (project / "output").rglob("*") if p.is_file()} == before
    write_wheelhouse(project / "wheelhouse", [BETA_16])
    _compile(project, server, cache)
    assert _planned(project)["beta"] == ("1.5", "find-links-1")
    _compile(project, server, cache, "-P", "beta")
    assert _planned(project)["beta"] == ("1.6", "find-links-1")


def test_a_version_both_on_the_index_and_in_find_links_comes_from_the_index(
        project: Path, server: IndexServer, tmp_path: Path) -> None:
    better_tagged = build_wheel("alpha", "2.0", ["beta>=1.0"], tag="py311-none-any")
    write_wheelhouse(project / "wheelhouse", [better_tagged])
    found = _client_candidates(project, server, tmp_path / "cache", packages=("alpha",))
    assert found["alpha"] == [("2.0", "pypi"), ("2.0", "find-links-1"), ("1.0", "pypi")]
    _compile(project, server, tmp_path / "cache")
    assert _planned(project)["alpha"] == ("2.0", "pypi")


@on_linux_target
@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_pip_and_uv_install_the_requirements_exactly(project: Path, server: IndexServer, tmp_path: Path,
                                                      installer: str) -> None:
    _compile(project, server, tmp_path / "cache")
    requirements = project / "output" / "linux" / "requirements.txt"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)] + ([] if installer == "pip" else ["--without-pip"]),
                   check=True, capture_output=True)
    python = venv / "bin" / "python"
    if installer == "pip":
        command = [str(python), "-m", "pip", "install", "--require-hashes", "--no-deps", "--only-binary=:all:",
                   "-r", str(requirements)]
    else:
        uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
        command = [uv, "pip", "install", "--python", str(python), "--require-hashes", "--no-deps",
                   "-r", str(requirements)]
    subprocess.run(command, check=True, capture_output=True, env=_clean_env(tmp_path))
    assert _installed(python) == {name: version for name, (version, _) in _planned(project).items()}


@on_linux_target
def test_a_flat_default_index_gives_requirements_without_an_index(server: IndexServer, tmp_path: Path) -> None:
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [project]
        name = "app"
        version = "0.1.0"
        requires-python = ">=3.11"
        dependencies = ["gamma<2"]

        [[tool.uv.index]]
        name = "wheels"
        url = "{server.url("wheels")}"
        format = "flat"
        default = true

        [tool.planner.targets.linux]
        platform = "linux-x86_64"
        python = "3.11"
        """))
    result = runner.invoke(app, ["compile", str(project), "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    requirements = project / "output" / "linux" / "requirements.txt"
    lines = requirements.read_text().splitlines()
    assert "--no-index" in lines and not any(line.startswith("--index-url") for line in lines)
    assert f"gamma @ {server.file_url('wheels', GAMMA_1.filename)} \\" in lines
    python = tmp_path / "venv" / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    subprocess.run([uv, "pip", "install", "--python", str(python), "--require-hashes", "--no-deps",
                    "-r", str(requirements)], check=True, capture_output=True, env=_clean_env(tmp_path))
    assert _installed(python) == {"gamma": "1.0"}
