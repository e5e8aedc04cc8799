"""Files whose dependencies cannot be known (an sdist without PKG-INFO; an sdist whose metadata
needs a build that fails, here because its build requirement setuptools is on no index of the
project) are skipped, not fatal; and later runs, offline too, skip them the same way without
downloading or building them again."""

from __future__ import annotations

import io
import json
import tarfile

from typer.testing import CliRunner

from planner.cli.app import app
from tests.fixtures.index_server import IndexServer
from tests.fixtures.service_project import minimal_project
from tests.fixtures.simple_index import FixtureFile, write_index
from tests.fixtures.wheels import build_wheel

runner = CliRunner()


def _sdist(name: str, version: str, pkg_info: str | None) -> FixtureFile:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        members = {f"{name}-{version}/setup.py": b"from setuptools import setup\nsetup()\n"}
        if pkg_info is not None:
            members[f"{name}-{version}/PKG-INFO"] = pkg_info.encode()
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return FixtureFile.from_content(name, f"{name}-{version}.tar.gz", buffer.getvalue())


def test_sdists_that_need_a_build_are_skipped_online_and_offline(tmp_path) -> None:
    files = [
        build_wheel("alpha", "1.0").fixture_file(),
        _sdist("alpha", "2.0", "Metadata-Version: 2.1\nName: alpha\nVersion: 2.0\n"),  # needs a build, which cannot get setuptools
        build_wheel("beta", "1.0").fixture_file(),
        _sdist("beta", "2.0", None),  # no PKG-INFO at all
    ]
    write_index(tmp_path / "idx", files)
    project = minimal_project(tmp_path / "project", ["alpha", "beta"], '[tool.planner.targets.linux]\nplatform = "linux-x86_64"\npython = "3.11"\n')
    with IndexServer({"pypi": tmp_path / "idx"}) as server:
        args = ["compile", str(project), "--default-index", server.url("pypi"), "--cache-dir", str(tmp_path / "cache")]
        online = runner.invoke(app, args)
        assert online.exit_code == 0, online.output
        first = (project / "output" / "plan.json").read_bytes()
        server.reset_log()
        # A fresh compile from the cache alone (the first outputs moved away: no pins to keep).
        (project / "output").rename(tmp_path / "online")
        offline = runner.invoke(app, [*args, "--offline"])
        assert offline.exit_code == 0, offline.output
        assert server.count() == 0
    assert (project / "output" / "plan.json").read_bytes() == first
    packages = {p["name"]: p["version"] for p in json.loads(first)["targets"][0]["packages"]}
    assert packages == {"alpha": "1.0", "beta": "1.0"}
