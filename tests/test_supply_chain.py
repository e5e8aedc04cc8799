"""Supply chain: routed packages never come from another index, `first-index` never tops up from
later indexes, and every artifact in every output carries a sha256 (published, or, with the
explicit opt-out, computed from the downloaded bytes)."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from planner.cli.app import app
from tests.fixtures.index_server import IndexServer
from tests.fixtures.service_project import minimal_project
from tests.fixtures.simple_index import FixtureFile, write_index
from tests.fixtures.wheels import build_wheel

runner = CliRunner()

PROJECT = """\
[project]
name = "svc"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["internal-tool", "shared"]

[tool.uv]
{strategy}

[tool.uv.sources]
internal-tool = {{ index = "private" }}

[[tool.uv.index]]
name = "private"
url = "{private}"
explicit = true

[[tool.uv.index]]
name = "mirror"
url = "{mirror}"

[tool.planner.targets.linux]
platform = "linux-x86_64"
python = "3.11"
"""


def _indexes(root: Path) -> dict[str, Path]:
    public = [  # what an attacker publishes under the internal name, at a higher version
        build_wheel("internal-tool", "99.0").fixture_file(),
        build_wheel("shared", "5.0").fixture_file(),
    ]
    private = [build_wheel("internal-tool", "1.2").fixture_file()]
    mirror = [build_wheel("shared", "1.0").fixture_file()]
    roots = {"pypi": root / "pypi", "private": root / "private", "mirror": root / "mirror"}
    write_index(roots["pypi"], public)
    write_index(roots["private"], private)
    write_index(roots["mirror"], mirror)
    return roots


def _compile(tmp_path: Path, strategy: str = "") -> tuple[dict, Path, IndexServer]:
    server = IndexServer(_indexes(tmp_path / "indexes")).start()
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / "pyproject.toml").write_text(PROJECT.format(
        strategy=strategy, private=server.url("private"), mirror=server.url("mirror")))
    result = runner.invoke(app, ["compile", str(project), "--default-index", server.url("pypi"),
                                 "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    plan = json.loads((project / "output" / "plan.json").read_text())
    packages = {p["name"]: p for p in plan["targets"][0]["packages"]}
    return packages, project, server


def test_a_routed_package_never_comes_from_another_index(tmp_path) -> None:
    packages, project, server = _compile(tmp_path)
    try:
        assert (packages["internal-tool"]["version"], packages["internal-tool"]["index"]) == ("1.2", "private")
        assert not server.requests("/pypi/simple/internal-tool")  # the name never leaves for the public index
        requirements = (project / "output" / "linux" / "requirements.txt").read_text()
        assert f"internal-tool @ {server.base_url}/private/files/internal_tool-1.2-py3-none-any.whl" in requirements
        assert "extra-index-url" not in requirements and "99.0" not in requirements
        lock = tomllib.loads((project / "output" / "pylock.toml").read_text())
        tool = next(p for p in lock["packages"] if p["name"] == "internal-tool")
        assert tool["index"] == server.url("private") and tool["version"] == "1.2"
    finally:
        server.stop()


def test_first_index_does_not_top_up_from_later_indexes(tmp_path) -> None:
    packages, _, server = _compile(tmp_path)  # uv's default strategy: first-index
    server.stop()
    assert (packages["shared"]["version"], packages["shared"]["index"]) == ("1.0", "mirror")


def test_unsafe_best_match_takes_the_best_version_of_any_index(tmp_path) -> None:
    packages, _, server = _compile(tmp_path, 'index-strategy = "unsafe-best-match"')
    server.stop()
    assert (packages["shared"]["version"], packages["shared"]["index"]) == ("5.0", "pypi")
    assert packages["internal-tool"]["index"] == "private"  # sources still pin the routed package


def test_fetch_missing_hashes_pins_the_downloaded_bytes(tmp_path) -> None:
    wheel = build_wheel("alpha", "1.0")
    write_index(tmp_path / "idx", [FixtureFile(project="alpha", filename=wheel.filename, sha256=None,
                                               metadata=wheel.metadata, content=wheel.content)])
    project = minimal_project(tmp_path / "project", ["alpha"])
    with IndexServer({"pypi": tmp_path / "idx"}) as server:
        args = ["compile", str(project), "--default-index", server.url("pypi"), "--cache-dir", str(tmp_path / "c")]
        refused = runner.invoke(app, args)  # fills the cache, writes nothing
        assert refused.exit_code == 2 and "--fetch-missing-hashes" in refused.stderr
        offline = runner.invoke(app, [*args, "--fetch-missing-hashes", "--offline"])
        assert offline.exit_code == 2 and "--offline forbids it" in offline.stderr
        assert not (project / "output").exists()
        result = runner.invoke(app, [*args, "--fetch-missing-hashes"])
    assert result.exit_code == 0, result.output
    assert "publishes no sha256 for alpha-1.0-py3-none-any.whl" in result.stderr
    digest = hashlib.sha256(wheel.content).hexdigest()
    for target in ("linux-x86_64", "macos-arm64"):
        assert f"--hash=sha256:{digest}" in (project / "output" / target / "requirements.txt").read_text()
    assert digest in (project / "output" / "pylock.toml").read_text()
