"""`planner mirror`: static simple indexes written from the loopback seed indexes, read back."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from packaging.requirements import Requirement
from packaging.version import Version
from typer.testing import CliRunner

from planner.cli.app import app
from planner.errors import InputError
from planner.index.auth import CredentialStore
from planner.index.cache import Cache
from planner.index.client import IndexClient, OfflineMiss
from planner.index.http import Fetcher
from planner.index.simple import parse_html_page, parse_json_page
from planner.mirror import MirroredFile, MirrorRequest, mirror, render_html_page, render_json_page
from planner.project.loader import load_project
from planner.project.overrides import IndexOverrides, apply_index_overrides
from planner.project.model import Index
from planner.targets.resolve import resolve_targets
from tests.conftest import SEED
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import FixtureFile, write_index

runner = CliRunner()
PACKAGES = ("torch", "torchvision")


def _project(default_url: str, cpu_url: str):
    overrides = IndexOverrides.parse([f"pytorch-cpu={cpu_url}"], default_url, SEED)
    return apply_index_overrides(load_project(SEED), overrides)


def _server_project(server: IndexServer):
    return _project(server.url("pypi"), server.url("pytorch-cpu"))


def _client(project, cache: Path | None) -> IndexClient:
    fetcher = Fetcher(CredentialStore(project.indexes), backoff=0.0, timeout=5.0)
    return IndexClient(project, fetcher, Cache(cache))


def _request(*specs: str, **fields) -> MirrorRequest:
    return MirrorRequest(packages=[Requirement(s) for s in specs], **fields)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _mirror_seed(server: IndexServer, out: Path, cache: Path | None, **fields) -> dict[str, Path]:
    """Mirror torch and torchvision from the seed's pypi and pytorch-cpu, one folder per index."""
    project = _server_project(server)
    client = _client(project, cache)
    roots = {}
    try:
        for name in ("pypi", "pytorch-cpu"):
            roots[name] = out / name
            report = mirror(client, project.index(name), _request(*PACKAGES, **fields), roots[name])
            assert [p.name for p in report.packages] == list(PACKAGES)
    finally:
        client.fetcher.close()
    return roots


def _view(client: IndexClient, targets) -> dict:
    """Per target and package: the candidates, the rejection kinds and the newest's Requires-Dist."""
    out = {}
    for target in targets:
        for package in PACKAGES:
            found = client.candidates(package, target)
            newest = client.metadata(found.candidates[0].artifact).metadata if found.candidates else None
            out[(target.name, package)] = (
                [(str(c.version), c.index, c.artifact.filename, c.artifact.sha256, c.yanked) for c in found.candidates],
                sorted((r.kind.value, r.filename or "") for r in found.rejections),
                [str(r) for r in newest.requires_dist] if newest else None,
            )
    return out


def test_mirror_of_the_seed_indexes_reads_back_the_same(seed_index_server, seed_index_roots, tmp_path) -> None:
    roots = _mirror_seed(seed_index_server, tmp_path / "mirror", tmp_path / "cache")

    for name, root in roots.items():
        assert json.loads((root / "index.json").read_bytes())["projects"] == [{"name": p} for p in PACKAGES]
        for package in PACKAGES:
            folder = root / package
            url = (folder).as_uri() + "/"
            from_json = parse_json_page((folder / "index.json").read_bytes(), url, name, package)
            from_html = parse_html_page((folder / "index.html").read_bytes(), url, name, package)
            source_url = f"{seed_index_server.url(name)}/{package}/"
            source = parse_json_page((seed_index_roots[name] / package / "index.json").read_bytes(),
                                     source_url, name, package)
            assert not from_json.skipped and not from_html.skipped

            def fields(page, *, html: bool = False):
                return sorted(
                    (a.filename, dict(a.hashes), a.requires_python, a.yanked, dict(a.core_metadata or {}),
                     None if html else a.size, None if html else a.upload_time)
                    for a in page.artifacts
                )

            # Everything the source lists survives (sizes and upload times in JSON only), the
            # standard PEP 658 keys included: they speak of the upstream URL.
            assert fields(from_json) == fields(source)
            assert fields(from_html, html=True) == fields(source, html=True)
            upstream = {a.filename: a.url for a in source.artifacts}
            for page in (from_json, from_html):
                for artifact in page.artifacts:
                    # No artifact was copied: each link leads to the source's bytes ...
                    assert artifact.url == upstream[artifact.filename]
                    assert artifact.url.startswith(_files_url(seed_index_server, name))
                    # ... and the metadata is the mirror's own copy, beside the page.
                    local = (root / "files" / f"{artifact.filename}.metadata")
                    assert artifact.metadata_url == local.as_uri().replace("+", "%2B")
                    metadata = local.read_bytes()
                    assert dict(artifact.metadata_hashes) == {"sha256": hashlib.sha256(metadata).hexdigest()}
                    assert metadata == (seed_index_roots[name] / "files" / f"{artifact.filename}.metadata").read_bytes()
    assert not any(p.suffix == ".whl" for root in roots.values() for p in (root / "files").iterdir())

    # The mirror as file:// indexes answers like the server, on every seed target.
    targets = resolve_targets(_server_project(seed_index_server)).targets
    via_server = _client(_server_project(seed_index_server), None)
    via_mirror = _client(_project(roots["pypi"].as_uri(), roots["pytorch-cpu"].as_uri()), None)
    try:
        expected = _view(via_server, targets)
        seed_index_server.reset_log()
        assert _view(via_mirror, targets) == expected
        assert seed_index_server.count() == 0
        assert via_mirror.stats.metadata["pep658"] >= 3
    finally:
        via_server.fetcher.close()
        via_mirror.fetcher.close()


def _seed_projects(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "files")


def _files_url(server: IndexServer, name: str) -> str:
    return server.url(name).removesuffix("/simple") + "/files/"


def test_compile_against_a_metadata_only_mirror_reads_nothing_upstream(seed_index_server, seed_index_roots,
                                                                       tmp_path) -> None:
    """The whole seed closure mirrored without artifacts: planning reads only the mirror, and the
    plan's artifact URLs are the upstream ones. (The targets whose every artifact has a sha256
    on the fixture indexes: outputs pin by hash, and the record of the CPU index lacks a few.)"""
    project = _server_project(seed_index_server)
    client = _client(project, None)
    roots = {name: tmp_path / name for name in ("pypi", "pytorch-cpu")}
    try:
        for name, root in roots.items():
            mirror(client, project.index(name), _request(*_seed_projects(seed_index_roots[name])), root)
    finally:
        client.fetcher.close()
    seed_index_server.reset_log()
    result = runner.invoke(app, ["compile", str(SEED), "--default-index", str(roots["pypi"]),
                                 "--index", f"pytorch-cpu={roots['pytorch-cpu']}", "--no-cache",
                                 "-t", "linux-x86_64-gpu", "-t", "macos-arm64-cpu", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert seed_index_server.count() == 0, [r.path for r in seed_index_server.log]
    plan = json.loads((tmp_path / "out" / "plan.json").read_bytes())
    urls = {p["artifact"]["url"] for t in plan["targets"] for p in t["packages"]}
    assert len(urls) > 20 and any("/torch-2.5.1-" in url for url in urls)
    for url in urls:
        assert url.startswith(_files_url(seed_index_server, "pypi")), url


def test_files_that_are_copied_or_asked_for_are_linked_relatively(seed_index_server, tmp_path) -> None:
    """`relative_urls` (like `include_files`, see the demo test) keeps the mirror self-contained:
    relative links, standard PEP 658 keys for the local `.metadata`, no private keys."""
    roots = _mirror_seed(seed_index_server, tmp_path / "mirror", tmp_path / "cache", relative_urls=True)
    written = b"".join(b for root in roots.values() for b in _snapshot(root).values())
    assert b"127.0.0.1" not in written and b"http" not in written and b"planner-metadata" not in written
    for name, root in roots.items():
        page = parse_json_page((root / "torch" / "index.json").read_bytes(), (root / "torch").as_uri() + "/",
                               name, "torch")
        for artifact in page.artifacts:
            assert artifact.url == (root / "files" / artifact.filename).as_uri().replace("+", "%2B")
            assert artifact.metadata_copy is None and artifact.metadata_url == artifact.url + ".metadata"


def test_metadata_copies_are_read_only_beside_the_page(tmp_path) -> None:
    """The private keys are honoured on the page's own scheme and host only; the standard keys
    still describe the upstream file."""
    files = [MirroredFile("demo-1.0-py3-none-any.whl", (("sha256", "ab" * 32),), None, None, 1, None, "cd" * 32,
                          url="https://files.example.org/p/demo-1.0-py3-none-any.whl",
                          upstream_metadata=(("sha256", "ef" * 32),)),
             MirroredFile("demo-1.0.tar.gz", (("sha256", "12" * 32),), None, None, 2, None, "34" * 32,
                          url="https://files.example.org/p/demo-1.0.tar.gz", upstream_metadata=())]
    page_json = render_json_page("demo", [Version("1.0")], files, "../files/")
    page_html = render_html_page("demo", files, "../files/")
    entry = json.loads(page_json)["files"][0]
    assert entry["url"] == "https://files.example.org/p/demo-1.0-py3-none-any.whl"
    assert entry["core-metadata"] == {"sha256": "ef" * 32}
    assert entry["_planner-metadata"] == {"url": "../files/demo-1.0-py3-none-any.whl.metadata",
                                          "hashes": {"sha256": "cd" * 32}}
    assert json.loads(page_json)["files"][1]["core-metadata"] is True
    for url in ("file:///m/demo/", "https://mirror.example.org/simple/demo/"):
        for page in (parse_json_page(page_json, url, "m", "demo"), parse_html_page(page_html, url, "m", "demo")):
            wheel, sdist = page.artifacts
            assert wheel.url == "https://files.example.org/p/demo-1.0-py3-none-any.whl"
            assert dict(wheel.core_metadata) == {"sha256": "ef" * 32}  # upstream's <url>.metadata
            assert wheel.metadata_url == url.replace("/demo/", "/files/demo-1.0-py3-none-any.whl.metadata")
            assert dict(wheel.metadata_hashes) == {"sha256": "cd" * 32}
            assert dict(sdist.core_metadata) == {} and dict(sdist.metadata_hashes) == {"sha256": "34" * 32}
    # A copy on another host is not "beside the page": the standard PEP 658 place is used.
    foreign = page_json.replace(b'"../files/demo-1.0-py3-none-any.whl.metadata"',
                                b'"https://elsewhere.example.org/demo-1.0-py3-none-any.whl.metadata"')
    wheel = parse_json_page(foreign, "https://mirror.example.org/simple/demo/", "m", "demo").artifacts[0]
    assert wheel.metadata_copy is None
    assert wheel.metadata_url == "https://files.example.org/p/demo-1.0-py3-none-any.whl.metadata"
    assert dict(wheel.metadata_hashes) == {"sha256": "ef" * 32}


BUNDLED = SEED / "indexes"
UPSTREAM_HOSTS = {"pypi": "https://files.pythonhosted.org/packages/",
                  "pytorch-cpu": "https://download.pytorch.org/whl/cpu/"}


@pytest.mark.parametrize("name", sorted(UPSTREAM_HOSTS))
def test_bundled_example_indexes_link_upstream_and_carry_their_metadata(name: str) -> None:
    """The example's metadata-only mirrors list the real upstream URLs (so what planner writes
    from them installs) and hold the metadata of every wheel (see their README.md)."""
    root = BUNDLED / name
    projects = _seed_projects(root)
    assert projects and json.loads((root / "index.json").read_bytes())["projects"] == [{"name": p} for p in projects]
    assert all(p.name.endswith(".metadata") for p in (root / "files").iterdir())
    for project in projects:
        url = (root / project).as_uri() + "/"
        from_json = parse_json_page((root / project / "index.json").read_bytes(), url, name, project)
        from_html = parse_html_page((root / project / "index.html").read_bytes(), url, name, project)
        assert from_json.artifacts and not from_json.skipped and not from_html.skipped
        assert [(a.filename, a.url, a.metadata_url) for a in from_json.artifacts] == \
            [(a.filename, a.url, a.metadata_url) for a in from_html.artifacts]
        for artifact in from_json.artifacts:
            assert artifact.url.startswith(UPSTREAM_HOSTS[name]), artifact.url
            assert artifact.url.endswith("/" + quote(artifact.filename, safe=""))
            assert artifact.core_metadata is None  # the upstream pages recorded offer no PEP 658 file
            if artifact.filename.endswith(".tar.gz") and artifact.metadata_copy is None:
                continue  # an sdist whose dependencies need a build (Metadata-Version < 2.2) has none
            local = root / "files" / f"{artifact.filename}.metadata"
            assert artifact.metadata_url == local.as_uri().replace("+", "%2B")
            assert hashlib.sha256(local.read_bytes()).hexdigest() == artifact.metadata_hashes["sha256"]


def test_rerun_is_byte_identical_and_writes_nothing(seed_index_server, tmp_path) -> None:
    first = _mirror_seed(seed_index_server, tmp_path / "a", tmp_path / "cache")
    before = {name: _snapshot(root) for name, root in first.items()}
    mtimes = {p: p.stat().st_mtime_ns for root in first.values() for p in root.rglob("*")}
    project = _server_project(seed_index_server)
    client = _client(project, tmp_path / "cache")
    try:
        report = mirror(client, project.index("pypi"), _request(*PACKAGES), first["pypi"])
    finally:
        client.fetcher.close()
    assert report.changed == 0
    assert {name: _snapshot(root) for name, root in first.items()} == before
    assert {p: p.stat().st_mtime_ns for root in first.values() for p in root.rglob("*")} == mtimes
    # Without a cache (metadata bytes kept aside for the run) the output is the same too.
    second = _mirror_seed(seed_index_server, tmp_path / "b", None)
    assert {name: _snapshot(root) for name, root in second.items()} == before


def test_latest_and_version_filters(seed_index_server, tmp_path) -> None:
    project = _server_project(seed_index_server)
    cpu = project.index("pytorch-cpu")
    client = _client(project, tmp_path / "cache")
    try:
        latest = mirror(client, cpu, _request("torch", "torchvision", latest=1), tmp_path / "latest")
        assert [p.versions for p in latest.packages] == [["2.5.1+cpu"], ["0.20.1+cpu"]]
        page = json.loads((tmp_path / "latest" / "torch" / "index.json").read_bytes())
        assert page["versions"] == ["2.5.1+cpu"]
        assert all("+cpu" in f["filename"] for f in page["files"])

        exact = mirror(client, cpu, _request("torch===2.5.1"), tmp_path / "exact")
        assert exact.packages[0].versions == ["2.5.1"] and len(exact.packages[0].files) == 8
        both = mirror(client, cpu, _request("torch==2.5.1"), tmp_path / "both")  # local labels match ==
        assert both.packages[0].versions == ["2.5.1", "2.5.1+cpu"]

        none = mirror(client, cpu, _request("torch<2"), tmp_path / "none")
        assert none.packages[0].versions == [] and "no version matched torch<2" in none.packages[0].notes
        assert not (tmp_path / "none" / "torch").exists()
        assert json.loads((tmp_path / "none" / "index.json").read_bytes())["projects"] == []

        absent = mirror(client, cpu, _request("numpy"), tmp_path / "none")
        assert absent.packages[0].notes == ["index 'pytorch-cpu' lists no file of 'numpy'"]
    finally:
        client.fetcher.close()


def test_target_filter_keeps_only_fitting_wheels(seed_index_server, tmp_path) -> None:
    project = _server_project(seed_index_server)
    targets = resolve_targets(project)
    client = _client(project, tmp_path / "cache")
    try:
        mac = mirror(client, project.index("pypi"), _request("torch", targets=[targets.by_name("macos-arm64-cpu")]),
                     tmp_path / "mac")
        assert mac.packages[0].files == ["torch-2.5.1-cp311-none-macosx_11_0_arm64.whl"]
        assert mac.packages[0].metadata_files == 1
        linux = [targets.by_name("linux-x86_64-cpu"), targets.by_name("macos-arm64-cpu")]
        cpu = mirror(client, project.index("pytorch-cpu"), _request("torch", latest=1, targets=linux),
                     tmp_path / "cpu")
        assert cpu.packages[0].files == ["torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl"]
        mac_only = mirror(client, project.index("pytorch-cpu"),
                          _request("torch", latest=1, targets=[targets.by_name("macos-arm64-cpu")]), tmp_path / "m")
        assert mac_only.packages[0].versions == ["2.5.1"]  # newest version with a fitting file
        assert any("no file for the targets: 2.5.1+cpu" in n for n in mac_only.packages[0].notes)
    finally:
        client.fetcher.close()


def test_runs_add_projects_to_one_mirror_and_foreign_folders_are_refused(seed_index_server, tmp_path) -> None:
    project = _server_project(seed_index_server)
    client = _client(project, tmp_path / "cache")
    out = tmp_path / "mirror"
    try:
        mirror(client, project.index("pypi"), _request("torchvision"), out)
        report = mirror(client, project.index("pypi"), _request("torch"), out)
        assert report.projects == ["torch", "torchvision"]
        assert json.loads((out / "index.json").read_bytes())["projects"] == [{"name": "torch"}, {"name": "torchvision"}]
        assert '<a href="torchvision/">torchvision</a>' in (out / "index.html").read_text()
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "notes.txt").write_text("mine")
        with pytest.raises(InputError, match="holds no simple index"):
            mirror(client, project.index("pypi"), _request("torch"), tmp_path / "other")
        with pytest.raises(InputError, match="relative URL path"):
            mirror(client, project.index("pypi"), _request("torch", files_href="http://x/files/"), out)
        with pytest.raises(InputError, match="markers"):
            mirror(client, project.index("pypi"), _request("torch; sys_platform == 'linux'"), out)
    finally:
        client.fetcher.close()


def test_pages_escape_and_keep_every_field(tmp_path) -> None:
    files = [
        MirroredFile("demo-1.0-py3-none-any.whl", (("sha256", "ab" * 32),), ">=3.8,<4", 'broken "build" <b>',
                     123, "2024-01-01T00:00:00Z", "cd" * 32),
        MirroredFile("demo-1.0.tar.gz", (("md5", "ef" * 16),), None, "", None, None, None),
    ]
    url = "file:///mirror/demo/"
    from_html = parse_html_page(render_html_page("demo", files, "../files/"), url, "m", "demo")
    from_json = parse_json_page(render_json_page("demo", [Version("1.0")], files, "../files/"), url, "m", "demo")
    for page in (from_html, from_json):
        wheel, sdist = page.artifacts
        assert wheel.requires_python == ">=3.8,<4" and wheel.yanked == 'broken "build" <b>'
        assert dict(wheel.core_metadata) == {"sha256": "cd" * 32} and wheel.url == "file:///mirror/files/demo-1.0-py3-none-any.whl"
        assert sdist.yanked == "" and dict(sdist.hashes) == {"md5": "ef" * 16} and sdist.core_metadata is None
    assert from_json.artifacts[0].size == 123 and from_json.artifacts[1].size is None
    assert json.loads(render_json_page("demo", [Version("1.0")], files, "../files/"))["meta"]["api-version"] == "1.0"
    assert json.loads(render_json_page("demo", [], files[:1], "../files/"))["meta"]["api-version"] == "1.1"


def _wheel(name: str, version: str, requires: list[str]) -> bytes:
    """A small installable wheel (as in test_index_client)."""
    metadata = "\n".join([
        "Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", *[f"Requires-Dist: {r}" for r in requires],
    ]) + "\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        wheel.writestr(f"{name}/__init__.py", "")
        wheel.writestr(f"{name}-{version}.dist-info/METADATA", metadata)
        wheel.writestr(f"{name}-{version}.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
        wheel.writestr(f"{name}-{version}.dist-info/RECORD", "")
    return buffer.getvalue()


def _sdist(name: str, version: str, pkg_info: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = pkg_info.encode()
        info = tarfile.TarInfo(f"{name}-{version}/PKG-INFO")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def demo_server(tmp_path):
    wheel = _wheel("demo", "1.0", ["numpy>=1.26"])
    metadata = zipfile.ZipFile(io.BytesIO(wheel)).read("demo-1.0.dist-info/METADATA")
    static = _sdist("demo", "0.9", "Metadata-Version: 2.2\nName: demo\nVersion: 0.9\nRequires-Dist: numpy\n")
    dynamic = _sdist("demo", "0.8", "Metadata-Version: 2.1\nName: demo\nVersion: 0.8\n")
    root = tmp_path / "source"
    write_index(root, [
        FixtureFile.from_content("demo", "demo-1.0-py3-none-any.whl", wheel, metadata=metadata),
        FixtureFile.from_content("demo", "demo-0.9.tar.gz", static, requires_python=">=3.8"),
        FixtureFile.from_content("demo", "demo-0.8.tar.gz", dynamic, yanked="broken"),
    ])
    with IndexServer({"pypi": root}) as server:
        yield server, {"demo-1.0-py3-none-any.whl": wheel, "demo-0.9.tar.gz": static, "demo-0.8.tar.gz": dynamic}


def test_metadata_only_mirror_serves_its_copies_of_sdist_metadata(demo_server, tmp_path) -> None:
    server, _ = demo_server
    index = Index("pypi", server.url("pypi"), default=True)
    project = _project(server.url("pypi"), server.url("pypi"))
    client = _client(project, None)
    try:
        report = mirror(client, index, _request("demo>=0.9"), tmp_path / "mirror")
    finally:
        client.fetcher.close()
    assert report.packages[0].metadata_files == 2 and report.packages[0].artifact_files == 0
    server.reset_log()
    local = Index("pypi", (tmp_path / "mirror").as_uri(), default=True)
    via_mirror = _client(_project(local.url, local.url), None)
    try:
        page = via_mirror.page(local, "demo")
        assert {a.filename: a.url.startswith(server.url("pypi").removesuffix("/simple")) for a in page.artifacts} == \
            {"demo-0.9.tar.gz": True, "demo-1.0-py3-none-any.whl": True}
        requires = {a.filename: [str(r) for r in via_mirror.metadata(a).metadata.requires_dist] for a in page.artifacts}
    finally:
        via_mirror.fetcher.close()
    assert requires == {"demo-0.9.tar.gz": ["numpy"], "demo-1.0-py3-none-any.whl": ["numpy>=1.26"]}
    assert via_mirror.stats.metadata["pep658"] == 2 and server.count() == 0  # no sdist downloaded upstream


def test_files_are_copied_verified_and_pip_installs_from_the_mirror(demo_server, tmp_path) -> None:
    server, contents = demo_server
    index = Index("pypi", server.url("pypi"), default=True)
    project = _project(server.url("pypi"), server.url("pypi"))
    out = tmp_path / "mirror"
    client = _client(project, tmp_path / "cache")
    try:
        report = mirror(client, index, _request("demo", include_files=True), out)
        [package] = report.packages
        assert package.versions == ["0.8", "0.9", "1.0"] and package.artifact_files == 3
        assert package.metadata_files == 2  # the wheel's and the static sdist's
        assert any(n.startswith("demo-0.8.tar.gz: no metadata file") for n in package.notes)
        for filename, content in contents.items():
            assert (out / "files" / filename).read_bytes() == content
        before = _snapshot(out)
        server.reset_log()
        again = mirror(client, index, _request("demo", include_files=True), out)
        assert again.changed == 0 and _snapshot(out) == before
        # Identical copies are not downloaded again, nor is the sdist whose metadata needs a build
        # (the cache remembers that it is unusable).
        assert [r.path for r in server.requests("/files/")] == []
        server.add_fault("/pypi/files/demo-1.0-py3-none-any.whl", "truncate", "truncate", "truncate", "truncate")
        (out / "files" / "demo-1.0-py3-none-any.whl").write_bytes(b"damaged")
        with pytest.raises(Exception, match="demo-1.0-py3-none-any.whl"):
            mirror(client, index, _request("demo", include_files=True), out)
        assert (out / "files" / "demo-1.0-py3-none-any.whl").read_bytes() == b"damaged"  # nothing half-written
        server.faults.clear()
        mirror(client, index, _request("demo", include_files=True), out)
        assert _snapshot(out) == before
    finally:
        client.fetcher.close()
    offline = IndexClient(project, Fetcher(CredentialStore(project.indexes)), Cache(tmp_path / "cache"), offline=True)
    try:
        with pytest.raises(OfflineMiss, match="copy of demo-"):
            mirror(offline, index, _request("demo>=0.9", include_files=True), tmp_path / "elsewhere")
        assert mirror(offline, index, _request("demo>=0.9"), tmp_path / "elsewhere").packages[0].metadata_files == 2
    finally:
        offline.fetcher.close()
    page = json.loads((out / "demo" / "index.json").read_bytes())
    assert [f["yanked"] for f in page["files"]] == ["broken", False, False]
    assert page["files"][1]["requires-python"] == ">=3.8"
    # Copied files are linked relatively; the standard keys point next to them.
    assert [f["url"] for f in page["files"]] == [f"../files/{f['filename']}" for f in page["files"]]
    assert [("core-metadata" in f, "_planner-metadata" in f) for f in page["files"]] == \
        [(False, False), (True, False), (True, False)]

    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--isolated", "--no-deps", "--no-cache-dir",
         "--index-url", out.as_uri(), "--target", str(tmp_path / "site"), "demo==1.0"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    if result.returncode != 0 and "file:" in result.stderr and "not supported" in result.stderr:
        pytest.skip(f"this pip refuses file:// simple indexes: {result.stderr[-300:]}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "demo" / "__init__.py").is_file()
    assert (tmp_path / "site" / "demo-1.0.dist-info" / "METADATA").is_file()


def test_credentials_never_reach_the_mirror_or_the_report(seed_index_server, tmp_path) -> None:
    seed_index_server.require_auth = ("mirror-user", "s3cret-token")
    out = tmp_path / "mirror"
    result = runner.invoke(app, ["mirror", "torchvision", "--from-url", seed_index_server.url("pypi", with_auth=True),
                                 "--to", str(out), "--no-cache", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "s3cret-token" not in result.output
    assert json.loads(result.stdout)["index"]["url"].startswith("http://***@127.0.0.1:")
    assert all(b"s3cret" not in data and b"mirror-user" not in data for data in _snapshot(out).values())
    assert len(json.loads(result.stdout)["packages"][0]["files"]) == 16


def test_cli_mirror_from_project_indexes(seed_index_server, tmp_path) -> None:
    def invoke(*extra: str):
        return runner.invoke(app, [
            "mirror", *extra, "-p", str(SEED), "--default-index", seed_index_server.url("pypi"),
            "--index", f"pytorch-cpu={seed_index_server.url('pytorch-cpu')}", "--cache-dir", str(tmp_path / "cache"),
        ])

    out = tmp_path / "mirror"
    result = invoke("torch", "torchvision==0.20.1", "--from-index", "pytorch-cpu", "--to", str(out),
                    "--latest", "1", "--all-targets", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["index"]["name"] == "pytorch-cpu"
    by_name = {p["name"]: p for p in report["packages"]}
    assert by_name["torch"]["versions"] == ["2.5.1+cpu"]
    assert by_name["torch"]["files"] == ["torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl"]
    assert by_name["torchvision"]["versions"] == ["0.20.1+cpu"]
    assert report["totals"]["metadata_files"] == 2 and report["totals"]["bytes"] > 0
    assert "mirrored 2 packages from index 'pytorch-cpu'" in result.stderr

    before = _snapshot(out)
    again = invoke("torch", "torchvision==0.20.1", "--from-index", "pytorch-cpu", "--to", str(out),
                   "--latest", "1", "--all-targets", "--offline")
    assert again.exit_code == 0, again.output
    assert "torch  2.5.1+cpu  files=1 metadata=1" in again.stdout and "0 files created or changed" in again.stderr
    assert _snapshot(out) == before

    # The default index, targets by name; the mirror then serves a compile-style candidate query.
    mac = invoke("torch", "--to", str(tmp_path / "mac"), "-t", "macos-arm64-cpu", "--format", "json")
    assert mac.exit_code == 0, mac.output
    assert json.loads(mac.stdout)["packages"][0]["files"] == ["torch-2.5.1-cp311-none-macosx_11_0_arm64.whl"]
    candidates = runner.invoke(app, ["candidates", "torch", "-p", str(SEED), "-t", "macos-arm64-cpu", "--deps",
                                     "--format", "json", "--default-index", (tmp_path / "mac").as_uri(), "--no-cache"])
    assert candidates.exit_code == 0, candidates.output
    found = json.loads(candidates.stdout)["targets"]["macos-arm64-cpu"]["torch"]
    assert [c["version"] for c in found["candidates"]] == ["2.5.1"] and "filelock" in found["requires_dist"]


def test_cli_mirror_errors(seed_index_server, tmp_path) -> None:
    url = seed_index_server.url("pypi")
    missing = runner.invoke(app, ["mirror", "no-such-package", "torch", "--from-url", url, "--to", str(tmp_path / "m"),
                                  "--no-cache"])
    assert missing.exit_code == 2
    assert "nothing mirrored for no-such-package" in missing.stderr and "Traceback" not in missing.output
    assert (tmp_path / "m" / "torch" / "index.json").is_file()  # the rest is written
    bad = runner.invoke(app, ["mirror", "torch>>2", "--from-url", url, "--to", str(tmp_path / "m")])
    assert bad.exit_code == 2 and "is not a package with a version filter" in bad.stderr
    unknown = runner.invoke(app, ["mirror", "torch", "-p", str(SEED), "--from-index", "nope", "--to", str(tmp_path / "m"),
                                  "--default-index", url, "--no-cache"])
    assert unknown.exit_code == 2 and "defines no index named 'nope'" in unknown.stderr
    no_target = runner.invoke(app, ["mirror", "torch", "-p", str(SEED), "-t", "nope", "--to", str(tmp_path / "m"),
                                    "--default-index", url, "--no-cache"])
    assert no_target.exit_code == 2 and "no such target" in no_target.stderr


def test_mirror_for_the_fixture_server_layout(seed_index_server, tmp_path) -> None:
    """`--files-href ../../files/` writes a folder the loopback server can serve as an index."""
    out = tmp_path / "recorded"
    result = runner.invoke(app, ["mirror", "torch", "torchvision", "--from-url", seed_index_server.url("pytorch-cpu"),
                                 "--to", str(out), "--files-href", "../../files/", "--no-cache"])
    assert result.exit_code == 0, result.output
    project = _server_project(seed_index_server)
    targets = resolve_targets(project).targets
    with IndexServer({"pypi": seed_index_server.roots["pypi"], "pytorch-cpu": out}) as replay:
        via_replay = _client(_server_project(replay), None)
        via_server = _client(project, None)
        try:
            assert _view(via_replay, targets) == _view(via_server, targets)
            assert replay.count("/pytorch-cpu/files/") >= 1 and via_replay.stats.metadata["pep658"] >= 1
        finally:
            via_replay.fetcher.close()
            via_server.fetcher.close()
