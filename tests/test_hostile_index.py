"""What a hostile index can no longer do.

- send planner to local files: an http(s) index may only list http(s) files; a local-folder
  index only files inside its folder (links resolved when read);
- make planner keep gigabytes: full downloads stream through a hash and are kept nowhere (not
  even TMPDIR); an sdist may unpack to a bounded size and number of members;
- answer with something other than the page asked for (a login or proxy page with 200, another
  project's page): an error naming the URL, never an empty page, never cached, and under
  first-index never a fall-through to the next index (dependency confusion);
- redirect planner to a cloud metadata service (link-local addresses) or from https to http:
  refused, naming both URLs;
- list a million files: the page is parsed as a stream and only files some target can use are
  kept; memory stays near the size of the page itself.
"""

from __future__ import annotations

import io
import json
import ssl
import tarfile
import threading
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from planner.index.candidates import select_candidates
from planner.index.simple import parse_json_page
from planner.project.loader import load_project
from planner.project.model import IndexStrategy
from planner.targets.resolve import resolve_targets
from tests.fixtures.hostile import (
    Served,
    assert_one_clear_error,
    compile_cli,
    listed_files,
    served_project,
    snapshot,
)
from tests.fixtures.index_server import IndexServer
from tests.fixtures.service_project import minimal_project
from tests.fixtures.simple_index import FixtureFile, write_index
from tests.fixtures.wheels import build_wheel

ALPHA_PAGE = "/pypi/simple/alpha/"


@pytest.fixture
def served(tmp_path: Path):
    with served_project(tmp_path) as served:
        yield served


def _plan_versions(outputs: dict[str, bytes]) -> dict[str, str]:
    plan = json.loads(outputs["plan.json"])
    return {p["name"]: p["version"] for t in plan["targets"] for p in t["packages"]}


def _add_files(served: Served, tmp_path: Path, extra: list[FixtureFile], edit=None) -> Path:  # type: ignore[no-untyped-def]
    """Serve the default index again with `extra` files (and `edit(alpha's JSON page)`)."""
    root = tmp_path / "pypi-plus"
    write_index(root, listed_files(served.server.roots["pypi"]) + extra)
    if edit is not None:
        page = root / "alpha" / "index.json"
        document = json.loads(page.read_text())
        edit(document)
        page.write_text(json.dumps(document))
    served.server.roots["pypi"] = root
    return root


# -- local files ------------------------------------------------------------------------------
def test_an_http_index_cannot_send_planner_to_a_local_file(served: Served, tmp_path: Path) -> None:
    """The page lists alpha 9.0 with a file: URL; the file exists, is a valid wheel and matches
    the listed hash. planner never reads it: the file is unusable, the plan keeps alpha 2.0."""
    local = build_wheel("alpha", "9.0", ["beta"])
    secret = tmp_path / "home" / local.filename
    secret.parent.mkdir()
    secret.write_bytes(local.content)

    def point_at_the_local_file(document):  # type: ignore[no-untyped-def]
        for entry in document["files"]:
            if entry["filename"] == local.filename:
                entry["url"] = secret.as_uri()
                entry.pop("core-metadata", None)
                entry.pop("dist-info-metadata", None)

    _add_files(served, tmp_path, [FixtureFile.from_content("alpha", local.filename, local.content)],
               point_at_the_local_file)
    result = compile_cli(served.args(cache=False))
    assert result.exit_code == 0, result.output
    assert "which is unusable" in result.stderr and "only a local-folder index may list" in " ".join(result.stderr.split())
    outputs = snapshot(served.output)
    assert _plan_versions(outputs)["alpha"] == "2.0"
    assert not any(b"file://" in data for data in outputs.values())


def test_a_local_index_cannot_send_planner_outside_its_folder(tmp_path: Path) -> None:
    """A folder index lists one file by an absolute path elsewhere and one through a link that
    leaves the folder: neither is read."""
    outside = tmp_path / "outside"
    outside.mkdir()
    escaped = build_wheel("alpha", "9.0", ["beta"])
    (outside / escaped.filename).write_bytes(escaped.content)
    linked = build_wheel("alpha", "8.0", [])
    (outside / linked.filename).write_bytes(linked.content)
    root = tmp_path / "index"
    write_index(root, [build_wheel("alpha", "1.0", []).fixture_file(),
                       FixtureFile.from_content("alpha", escaped.filename, escaped.content),
                       FixtureFile.from_content("alpha", linked.filename, linked.content)])
    # Pages link ../../files/<name> (a served layout): make them ../files/<name> for a folder.
    page = root / "alpha" / "index.json"
    document = json.loads(page.read_text())
    for entry in document["files"]:
        entry["url"] = entry["url"].replace("../../files/", "../files/")
        entry.pop("core-metadata", None)
        entry.pop("dist-info-metadata", None)
        if entry["filename"] == escaped.filename:
            entry["url"] = (outside / escaped.filename).as_uri()
    page.write_text(json.dumps(document))
    (root / "files" / linked.filename).unlink()
    (root / "files" / linked.filename).symlink_to(outside / linked.filename)
    project = minimal_project(tmp_path / "project", ["alpha"])
    result = compile_cli(["compile", str(project), "--default-index", str(root), "--no-cache"])
    # alpha 9.0 is unusable (its URL leaves the folder); alpha 8.0 is refused when read.
    assert_one_clear_error(result, "index 'pypi': the file lies outside the local index folder", linked.filename)
    assert "alpha-9.0-py3-none-any.whl', which is unusable" in " ".join(result.stderr.split())
    assert not (project / "output").exists()


# -- size bounds ------------------------------------------------------------------------------
def test_full_downloads_never_touch_tmpdir(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """No PEP 658 file, no range requests: metadata comes from full downloads, streamed and
    kept nowhere; a full TMPDIR changes nothing."""
    import errno
    import tempfile

    real_mkstemp = tempfile.mkstemp

    def full_tmpdir(*args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("dir") is None and (len(args) < 3 or args[2] is None):
            raise OSError(errno.ENOSPC, "No space left on device (TMPDIR)")
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", full_tmpdir)
    served.server.pep658 = False
    served.server.ranges = False
    before = snapshot(served.output)
    result = compile_cli(served.args(cache=False))
    assert result.exit_code == 0, result.output
    assert snapshot(served.output) == before
    assert any(r.headers.get("range") is None and r.path.endswith(".whl") for r in served.server.log)


def _sdist(name: str, version: str, members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, data in members:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


PKG_INFO = b"Metadata-Version: 2.2\nName: alpha\nVersion: 3.0\nRequires-Dist: beta\n"


def test_an_sdist_that_unpacks_too_far_is_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    import planner.index.streamed as streamed
    from planner.index.wheel_zip import SdistArchiveError

    monkeypatch.setattr(streamed, "MAX_UNPACKED", 4 * 1024 * 1024)
    bomb = _sdist("alpha", "3.0", [("alpha-3.0/zeros", bytes(8 * 1024 * 1024)), ("alpha-3.0/PKG-INFO", PKG_INFO)])
    assert len(bomb) < 64 * 1024  # compresses a thousandfold
    with pytest.raises(SdistArchiveError, match="unpacks to more than"):
        streamed.tar_sdist_pkg_info(io.BytesIO(bomb), "alpha-3.0.tar.gz")  # type: ignore[arg-type]
    monkeypatch.setattr(streamed, "MAX_MEMBERS", 100)
    many = _sdist("alpha", "3.0", [(f"alpha-3.0/f{n}", b"") for n in range(200)] + [("alpha-3.0/PKG-INFO", PKG_INFO)])
    with pytest.raises(SdistArchiveError, match="more than 100 members"):
        streamed.tar_sdist_pkg_info(io.BytesIO(many), "alpha-3.0.tar.gz")  # type: ignore[arg-type]
    fine = _sdist("alpha", "3.0", [("alpha-3.0/PKG-INFO", PKG_INFO), ("alpha-3.0/src/a.py", b"x")])
    assert streamed.tar_sdist_pkg_info(io.BytesIO(fine), "alpha-3.0.tar.gz") == PKG_INFO  # type: ignore[arg-type]


def test_an_sdist_bomb_on_an_index_costs_that_version(served: Served, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import planner.index.streamed as streamed

    monkeypatch.setattr(streamed, "MAX_UNPACKED", 4 * 1024 * 1024)
    bomb = _sdist("alpha", "3.0", [("alpha-3.0/zeros", bytes(8 * 1024 * 1024)), ("alpha-3.0/PKG-INFO", PKG_INFO)])
    _add_files(served, tmp_path, [FixtureFile.from_content("alpha", "alpha-3.0.tar.gz", bomb)])
    result = compile_cli(served.args(cache=False))
    assert result.exit_code == 0, result.output
    assert _plan_versions(snapshot(served.output))["alpha"] == "2.0"


def test_a_download_past_its_cap_stops(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    import planner.index.client as client

    served.server.pep658 = False
    served.server.ranges = False
    monkeypatch.setattr(client, "_MAX_ARTIFACT_BYTES", 100)
    result = compile_cli(served.args(cache=False))
    assert_one_clear_error(result, "download exceeds", ".whl")


# -- the page asked for -----------------------------------------------------------------------
LOGIN_PAGE = b"""<!DOCTYPE html><html><head><title>Sign in - Corporate Proxy</title></head><body>
<form action="/login" method="post"><input name="user"><input type="password" name="pw"></form>
<a href="/forgot">Forgot your password?</a></body></html>"""


@contextmanager
def _two_indexes(tmp_path: Path) -> Iterator[tuple[Path, IndexServer]]:
    """alpha is on the second of two indexes, first-index strategy: the first must answer 404."""
    with served_project(tmp_path, compiled=False) as served:
        project = minimal_project(tmp_path / "two", ["alpha"], '[[tool.uv.index]]\nname = "mirror"\n'
                                  f'url = "{served.server.url("special")}"\n')
        yield project, served.server


@pytest.mark.parametrize("kind", ["login-page", "another-project", "json-without-meta"])
def test_a_page_that_is_not_the_page_asked_for_is_an_error(tmp_path: Path, kind: str) -> None:
    with _two_indexes(tmp_path) as (project, server):
        cache = ["--cache-dir", str(tmp_path / "cache")]
        args = ["compile", str(project), "--default-index", server.url("pypi"), *cache]
        assert compile_cli(args).exit_code == 0  # alpha: 404 on the mirror, found on pypi
        page = "/special/simple/alpha/"
        if kind == "login-page":
            server.bodies[page] = ("text/html; charset=utf-8", LOGIN_PAGE)
            expected = "not a simple index page"
        elif kind == "another-project":
            server.bodies[page] = ("application/vnd.pypi.simple.v1+json", json.dumps(
                {"meta": {"api-version": "1.1"}, "name": "evil", "files": []}).encode())
            expected = "the page is for project 'evil', not 'alpha'"
        else:
            server.bodies[page] = ("application/vnd.pypi.simple.v1+json", json.dumps({"files": []}).encode())
            expected = "no 'meta'"
        before = snapshot(project / "output")
        result = compile_cli([*args, "--refresh"])
        assert_one_clear_error(result, "index 'mirror'", expected, page)  # never a fall-through to pypi
        assert snapshot(project / "output") == before
        offline = compile_cli([*args, "--offline"])  # what was rejected was not cached: the old 404 is
        assert offline.exit_code == 0, offline.output


# -- redirects --------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/x/",
                                    "http://[::ffff:169.254.169.254]/x/", "http://metadata.google.internal/x/"])
def test_redirects_to_cloud_metadata_are_refused(served: Served, target: str) -> None:
    served.server.add_fault(ALPHA_PAGE, f"redirect-to:{target}")
    before = snapshot(served.output)
    result = compile_cli(served.args(cache=False))
    assert_one_clear_error(result, "index 'pypi': the server redirects", ALPHA_PAGE, target.rstrip("/"),
                           "not followed: a link-local address, where cloud metadata services answer")
    assert snapshot(served.output) == before


def test_a_name_that_resolves_to_a_link_local_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from planner.index.http import redirect_problem

    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "",
                                                                 ("169.254.169.254", 80))])
    assert "resolves to a link-local address" in (redirect_problem("https://pkgs.example.com/a", "https://sneaky.example.com/b") or "")
    assert redirect_problem("https://pkgs.example.com/a", "https://files.example.com/b", resolve=False) is None


class _Redirector(BaseHTTPRequestHandler):
    location = ""

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(302)
        self.send_header("Location", self.location + self.path.split("/", 2)[-1])
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


def test_a_redirect_from_https_to_http_is_refused(served: Served, tmp_path: Path) -> None:
    """An https index (a real TLS server on 127.0.0.1) whose pages redirect to plain http."""
    import trustme

    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    handler = type("Handler", (_Redirector,), {"location": served.server.url("pypi") + "/"})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        ca_file = tmp_path / "ca.pem"
        authority.cert_pem.write_to_path(str(ca_file))
        https_index = f"https://127.0.0.1:{httpd.server_address[1]}/pypi"
        before = snapshot(served.output)
        args = ["compile", str(served.project), "--default-index", https_index, "--no-cache"]
        result = compile_cli(args, {"SSL_CERT_FILE": str(ca_file)})
        assert_one_clear_error(result, "the server redirects https://127.0.0.1:", "to http://127.0.0.1:",
                               "not followed: a downgrade from https to http")
        assert snapshot(served.output) == before
    finally:
        httpd.shutdown()
        httpd.server_close()


# -- a million files ----------------------------------------------------------------------------
PLATFORMS = ["manylinux_2_17_x86_64", "win32", "musllinux_1_1_x86_64", "macosx_10_9_x86_64", "manylinux_2_17_aarch64",
             "win_amd64", "manylinux_2_17_ppc64le", "macosx_11_0_arm64"]


def huge_page(files: int) -> bytes:
    """A JSON page of `files` wheels over eight platforms and ten Pythons; two of the platforms
    are targets' (linux-x86_64, macos-arm64). Versions 1.0.0 .. 1.<files // 80>.9."""
    entries = []
    for n in range(files):
        python = f"cp3{8 + (n // 8) % 10}"  # cp38 .. cp317
        name = f"big-1.{n // 80}.{n % 10}-{python}-{python}-{PLATFORMS[n % 8]}.whl"
        entries.append(f'{{"filename":"{name}","url":"https://files.example.com/{name}",'
                       f'"hashes":{{"sha256":"{n:064x}"}},"requires-python":">=3.8","size":{n},'
                       f'"upload-time":"2024-01-01T00:00:00Z","core-metadata":{{"sha256":"{n:064x}"}}}}')
    return ('{"meta":{"api-version":"1.1"},"name":"big","files":[' + ",".join(entries) + "]}").encode()


def test_a_page_of_many_files_keeps_only_what_a_target_can_use(tmp_path: Path) -> None:
    """(A page of a million files is measured by benchmarks/large_page.py; this one is smaller,
    for the test's time, and shows the same: a quarter of the files kept, memory near the page's
    own size.)"""
    files = 20_000
    body = huge_page(files)
    project_folder = tmp_path / "project"
    project_folder.mkdir()
    (project_folder / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1"\nrequires-python = ">=3.11"\ndependencies = ["big"]\n')
    targets = resolve_targets(load_project(project_folder)).targets
    platforms = frozenset(tag.platform for target in targets for tag in target.tags)
    tracemalloc.start()
    try:
        page = parse_json_page(body, "https://pypi.example.com/simple/big/", "pypi", "big", platforms=platforms)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Kept: the two target platforms' wheels, a quarter of the page; the rest summarized.
    assert len(page.artifacts) == files // 4
    assert set(page.files.foreign["1.0.0"]) == {"manylinux_2_17_aarch64", "manylinux_2_17_ppc64le",
                                                "musllinux_1_1_x86_64"}  # files 0, 10, ... 70 of version 1.0.0
    # Memory: the page's text and the kept columns, not an object per file (a parse into
    # objects took more than six times the body).
    assert peak < 3 * len(body), f"peak {peak / 2**20:.0f} MiB for a {len(body) / 2**20:.0f} MiB page"
    linux = next(t for t in targets if t.platform.name == "linux-x86_64")
    found = select_candidates([page], linux, IndexStrategy.FIRST_INDEX)
    newest = found.candidates[0]
    assert newest.version.release[1] == (files - 1) // 80
    assert newest.artifact.filename.endswith("-manylinux_2_17_x86_64.whl")
    # A version whose files are all for other platforms is still explained.
    mac = next(t for t in targets if t.platform.name == "macos-arm64")
    rejections = select_candidates([page], mac, IndexStrategy.FIRST_INDEX).rejections
    assert any("has: " in r.detail and "manylinux_2_17_ppc64le" in r.detail for r in rejections)
