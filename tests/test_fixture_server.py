"""The fixture index writer, the loopback index server and the seed scenario's indexes."""

from __future__ import annotations

import hashlib
import json
import re
import socket
from collections.abc import Iterator
from email.parser import BytesParser
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import parse_wheel_filename

from tests.fixtures.index_server import IndexServer
from tests.fixtures.seed_indexes import SEED_INDEXES, build_seed_indexes, load_records
from tests.fixtures.simple_index import FixtureFile, write_index

JSON = "application/vnd.pypi.simple.v1+json"

WHEEL = bytes(range(256)) * 40  # 10240 bytes standing in for a wheel
DEMO_METADATA = (
    b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0+cpu\nRequires-Python: >=3.9\n"
    b"Requires-Dist: attrs\n\n"
)


def demo_files() -> list[FixtureFile]:
    return [
        FixtureFile.from_content(
            "demo",
            "demo-1.0+cpu-py3-none-any.whl",
            WHEEL,
            requires_python=">=3.9,<4",
            upload_time="2024-10-29T17:33:38.045338Z",
            metadata=DEMO_METADATA,
        ),
        FixtureFile("demo", "demo-0.9-py3-none-any.whl", sha256="ab" * 32, size=10, yanked=""),
        FixtureFile("demo", "demo-0.8.tar.gz", sha256="cd" * 32, yanked="broken <build>"),
        FixtureFile("Other_Project", "other_project-2.0-py3-none-any.whl", sha256="ef" * 32),
    ]


@pytest.fixture
def demo_root(tmp_path: Path) -> Path:
    root = tmp_path / "demo-index"
    write_index(root, demo_files())
    return root


@pytest.fixture
def server(demo_root: Path) -> Iterator[IndexServer]:
    with IndexServer({"demo": demo_root}, stall_seconds=2.0) as srv:
        yield srv


@pytest.fixture
def client(server: IndexServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=5.0) as c:
        yield c


# -- the writer ------------------------------------------------------------------------------


def test_write_index_is_deterministic_and_sorted(tmp_path: Path) -> None:
    write_index(tmp_path / "a", demo_files())
    write_index(tmp_path / "b", list(reversed(demo_files())))
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    page = json.loads((tmp_path / "a" / "demo" / "index.json").read_text())
    assert [f["filename"] for f in page["files"]] == sorted(f["filename"] for f in page["files"])
    assert page["versions"] == ["0.8", "0.9", "1.0+cpu"]
    projects = json.loads((tmp_path / "a" / "index.json").read_text())["projects"]
    assert [p["name"] for p in projects] == ["demo", "Other_Project"]
    assert (tmp_path / "a" / "other-project" / "index.html").is_file()


def test_written_fields(demo_root: Path) -> None:
    page = json.loads((demo_root / "demo" / "index.json").read_text())
    by_name = {f["filename"]: f for f in page["files"]}
    wheel = by_name["demo-1.0+cpu-py3-none-any.whl"]
    assert wheel["url"] == "../../files/demo-1.0%2Bcpu-py3-none-any.whl"
    assert wheel["hashes"] == {"sha256": hashlib.sha256(WHEEL).hexdigest()}
    assert wheel["size"] == len(WHEEL) and wheel["requires-python"] == ">=3.9,<4"
    assert wheel["upload-time"] == "2024-10-29T17:33:38.045338Z" and wheel["yanked"] is False
    assert wheel["core-metadata"] == {"sha256": hashlib.sha256(DEMO_METADATA).hexdigest()}
    assert by_name["demo-0.9-py3-none-any.whl"]["yanked"] is True
    assert by_name["demo-0.8.tar.gz"]["yanked"] == "broken <build>"
    assert "core-metadata" not in by_name["demo-0.8.tar.gz"] and "size" not in by_name["demo-0.8.tar.gz"]

    html = (demo_root / "demo" / "index.html").read_text()
    assert 'data-requires-python="&gt;=3.9,&lt;4"' in html
    assert f"#sha256={hashlib.sha256(WHEEL).hexdigest()}" in html
    assert f'data-core-metadata="sha256={hashlib.sha256(DEMO_METADATA).hexdigest()}"' in html
    assert 'data-yanked=""' in html and 'data-yanked="broken &lt;build&gt;"' in html
    assert (demo_root / "files" / "demo-1.0+cpu-py3-none-any.whl").read_bytes() == WHEEL
    assert (demo_root / "files" / "demo-1.0+cpu-py3-none-any.whl.metadata").read_bytes() == DEMO_METADATA
    assert not (demo_root / "files" / "demo-0.9-py3-none-any.whl").exists()


def test_legacy_metadata_key_only(tmp_path: Path) -> None:
    write_index(tmp_path, demo_files(), metadata_fields=("dist-info-metadata",))
    page = json.loads((tmp_path / "demo" / "index.json").read_text())
    wheel = page["files"][-1]
    assert "dist-info-metadata" in wheel and "core-metadata" not in wheel
    assert "data-core-metadata" not in (tmp_path / "demo" / "index.html").read_text()


# -- negotiation, redirects, relative URLs ---------------------------------------------------


def test_json_and_html_negotiation(server: IndexServer, client: httpx.Client) -> None:
    r = client.get("/demo/simple/demo/", headers={"Accept": f"{JSON}, text/html;q=0.1"})
    assert r.status_code == 200 and r.headers["content-type"] == JSON
    assert r.json()["name"] == "demo" and r.headers["vary"] == "Accept"
    r = client.get("/demo/simple/demo/", headers={"Accept": "application/vnd.pypi.simple.latest+json"})
    assert r.headers["content-type"] == JSON
    r = client.get("/demo/simple/demo/")
    assert r.headers["content-type"] == "text/html" and r.text.startswith("<!DOCTYPE html>")
    r = client.get("/demo/simple/", headers={"Accept": JSON})
    assert [p["name"] for p in r.json()["projects"]] == ["demo", "Other_Project"]
    assert 'href="demo/"' in client.get("/demo/simple/").text
    assert server.url("demo") == f"http://127.0.0.1:{server.port}/demo/simple"


def test_redirects_to_slash_and_normalized_name(client: httpx.Client) -> None:
    r = client.get("/demo/simple/demo")
    assert r.status_code == 301 and r.headers["location"] == "/demo/simple/demo/"
    r = client.get("/demo/simple/Other.Project/")
    assert r.status_code == 301 and r.headers["location"] == "/demo/simple/other-project/"
    assert client.get("/demo/simple").headers["location"] == "/demo/simple/"
    r = client.get("/demo/simple/Other_Project", follow_redirects=True)
    assert r.status_code == 200 and str(r.url).endswith("/demo/simple/other-project/")
    assert client.get("/demo/simple/missing/").status_code == 404
    assert client.get("/nope/simple/demo/").status_code == 404
    assert client.get("/demo/files/..").status_code == 404


def test_relative_urls_resolve_to_served_files(server: IndexServer, client: httpx.Client) -> None:
    page_url = server.url("demo") + "/demo/"
    page = client.get(page_url, headers={"Accept": JSON}).json()
    wheel = next(f for f in page["files"] if f["filename"].startswith("demo-1.0"))
    url = httpx.URL(page_url).join(wheel["url"])
    assert url.path == "/demo/files/demo-1.0+cpu-py3-none-any.whl"
    body = client.get(url).content
    assert hashlib.sha256(body).hexdigest() == wheel["hashes"]["sha256"]
    meta = client.get(str(url) + ".metadata").content
    assert hashlib.sha256(meta).hexdigest() == wheel["core-metadata"]["sha256"]

    html = client.get(page_url).text
    href = re.search(r'href="([^"]*demo-1\.0[^"]*)"', html).group(1)
    href_url = httpx.URL(page_url).join(href)
    assert href_url.fragment == "sha256=" + wheel["hashes"]["sha256"]
    assert client.get(href_url.copy_with(fragment=None)).content == WHEEL
    # listed but not published: 404
    assert client.get(server.file_url("demo", "demo-0.9-py3-none-any.whl")).status_code == 404


# -- caching headers -------------------------------------------------------------------------


def test_etag_last_modified_and_304(server: IndexServer, client: httpx.Client) -> None:
    r = client.get("/demo/simple/demo/", headers={"Accept": JSON})
    etag, modified = r.headers["etag"], r.headers["last-modified"]
    assert r.headers["cache-control"] == "max-age=0"
    assert etag != client.get("/demo/simple/demo/").headers["etag"]  # HTML differs from JSON
    r = client.get("/demo/simple/demo/", headers={"Accept": JSON, "If-None-Match": etag})
    assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag
    r = client.get("/demo/simple/demo/", headers={"Accept": JSON, "If-Modified-Since": modified})
    assert r.status_code == 304
    r = client.get("/demo/simple/demo/", headers={"Accept": JSON, "If-None-Match": '"other"'})
    assert r.status_code == 200
    old = formatdate(0, usegmt=True)
    assert client.get("/demo/simple/demo/", headers={"If-Modified-Since": old}).status_code == 200
    f = client.get("/demo/files/demo-1.0+cpu-py3-none-any.whl")
    assert client.get(f.url, headers={"If-None-Match": f.headers["etag"]}).status_code == 304
    server.max_age = 600
    assert client.get("/demo/simple/demo/").headers["cache-control"] == "max-age=600"


# -- ranges ----------------------------------------------------------------------------------


def test_range_requests(server: IndexServer, client: httpx.Client) -> None:
    path = "/demo/files/demo-1.0+cpu-py3-none-any.whl"
    n = len(WHEEL)
    r = client.get(path)
    assert r.status_code == 200 and r.headers["accept-ranges"] == "bytes"
    r = client.get(path, headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == WHEEL[10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{n}"
    r = client.get(path, headers={"Range": "bytes=-100"})
    assert r.status_code == 206 and r.content == WHEEL[-100:]
    assert r.headers["content-range"] == f"bytes {n - 100}-{n - 1}/{n}"
    r = client.get(path, headers={"Range": f"bytes=-{n * 2}"})
    assert r.status_code == 206 and r.content == WHEEL
    r = client.get(path, headers={"Range": f"bytes={n - 5}-"})
    assert r.content == WHEEL[-5:]
    r = client.get(path, headers={"Range": f"bytes={n}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{n}"
    r = client.get(path, headers={"Range": "bytes=0-1, 5-6"})  # several ranges: whole body
    assert r.status_code == 200 and r.content == WHEEL
    r = client.get(path, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert r.status_code == 200
    r = client.head(path, headers={"Range": "bytes=0-9"})
    assert r.status_code == 206 and r.headers["content-length"] == "10" and r.content == b""

    server.ranges = False
    r = client.get(path, headers={"Range": "bytes=10-19"})
    assert r.status_code == 200 and r.content == WHEEL and "accept-ranges" not in r.headers


# -- switches --------------------------------------------------------------------------------


def test_pep658_switch(server: IndexServer, client: httpx.Client) -> None:
    meta_path = "/demo/files/demo-1.0+cpu-py3-none-any.whl.metadata"
    before = client.get("/demo/simple/demo/", headers={"Accept": JSON})
    assert client.get(meta_path).content == DEMO_METADATA
    server.pep658 = False
    assert client.get(meta_path).status_code == 404
    r = client.get("/demo/simple/demo/", headers={"Accept": JSON})
    for entry in r.json()["files"]:
        assert "core-metadata" not in entry and "dist-info-metadata" not in entry
    assert r.headers["etag"] != before.headers["etag"]
    assert r.headers["last-modified"] != before.headers["last-modified"]
    html = client.get("/demo/simple/demo/").text
    assert "metadata" not in html and "data-requires-python" in html
    assert client.get(meta_path[: -len(".metadata")]).content == WHEEL  # the wheel itself stays
    server.pep658 = True
    assert client.get(meta_path).status_code == 200


def test_json_switch(server: IndexServer, client: httpx.Client) -> None:
    server.json = False
    r = client.get("/demo/simple/demo/", headers={"Accept": JSON})
    assert r.headers["content-type"] == "text/html"


def test_require_auth(server: IndexServer, client: httpx.Client) -> None:
    server.require_auth = ("alice", "s3cret")
    r = client.get("/demo/simple/demo/")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
    assert client.get("/demo/simple/demo/", auth=("alice", "wrong")).status_code == 401
    assert client.get("/demo/simple/demo/", auth=("alice", "s3cret")).status_code == 200
    assert client.get("/demo/files/demo-1.0+cpu-py3-none-any.whl").status_code == 401
    with httpx.Client(timeout=5.0) as plain:
        assert plain.get(server.url("demo", with_auth=True) + "/demo/").status_code == 200
    assert server.requests()[-1].headers["authorization"].startswith("Basic ")


# -- faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 404, 401, 403])
def test_status_faults_then_normal_service(
    server: IndexServer, client: httpx.Client, status: int
) -> None:
    server.faults["/demo/simple/demo/"] = [status, status]
    assert client.get("/demo/simple/demo/").status_code == status
    assert client.get("/demo/simple/demo/").status_code == status
    assert client.get("/demo/simple/demo/").status_code == 200
    assert [r.fault for r in server.log] == [str(status), str(status), None]


def test_fault_keys_match_paths_or_regexes(server: IndexServer, client: httpx.Client) -> None:
    server.faults[r"/demo/files/.*\.metadata"] = [503]
    server.add_fault("/demo/files/demo-1.0%2Bcpu-py3-none-any.whl", 500)  # as sent, encoded
    assert client.get("/demo/simple/demo/").status_code == 200
    assert client.get("/demo/files/demo-1.0+cpu-py3-none-any.whl.metadata").status_code == 503
    assert client.get("/demo/files/demo-1.0%2Bcpu-py3-none-any.whl").status_code == 500
    assert client.get("/demo/files/demo-1.0%2Bcpu-py3-none-any.whl").status_code == 200
    server.add_fault("/demo/files/demo-1.0+cpu-py3-none-any.whl", 502)  # decoded
    assert client.get("/demo/files/demo-1.0%2Bcpu-py3-none-any.whl").status_code == 502
    with pytest.raises(ValueError):
        server.add_fault("/x", "explode")


def test_timeout_fault(server: IndexServer) -> None:
    server.stall_seconds = 1.0
    server.faults["/demo/simple/demo/"] = ["timeout"]
    with httpx.Client(base_url=server.base_url, timeout=0.2) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.get("/demo/simple/demo/")
        assert c.get("/demo/simple/demo/").status_code == 200
    assert server.log[0].status is None and server.log[0].fault == "timeout"


def test_truncate_fault(server: IndexServer, client: httpx.Client) -> None:
    server.faults["/demo/files/demo-1.0+cpu-py3-none-any.whl"] = ["truncate"]
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/demo/files/demo-1.0+cpu-py3-none-any.whl")
    assert server.log[0].bytes_sent == len(WHEEL) // 2
    assert client.get("/demo/files/demo-1.0+cpu-py3-none-any.whl").content == WHEEL
    server.faults["/demo/files/demo-0.9-py3-none-any.whl"] = ["truncate"]  # listed, not served
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/demo/files/demo-0.9-py3-none-any.whl")


def test_garbage_fault(server: IndexServer, client: httpx.Client) -> None:
    server.faults["/demo/simple/demo/"] = ["garbage", "garbage"]
    r = client.get("/demo/simple/demo/", headers={"Accept": JSON})
    assert r.status_code == 200 and r.headers["content-type"] == JSON
    with pytest.raises(ValueError):
        json.loads(r.content)
    r = client.get("/demo/simple/demo/")
    assert r.headers["content-type"] == "text/html" and b"<!DOCTYPE" not in r.content


def test_redirect_loop_fault(server: IndexServer, client: httpx.Client) -> None:
    server.faults["/demo/simple/demo/"] = ["redirect-loop", "redirect-loop"]
    r = client.get("/demo/simple/demo/")
    assert r.status_code == 302 and r.headers["location"] == "/demo/simple/demo/?redirect-loop=1"
    with httpx.Client(base_url=server.base_url, timeout=5.0, max_redirects=5) as c:
        with pytest.raises(httpx.TooManyRedirects):
            c.get("/demo/simple/demo/", follow_redirects=True)
    # the loop is bounded on the server side too
    assert client.get("/demo/simple/demo/?redirect-loop=50").status_code == 508
    assert client.get("/demo/simple/demo/").status_code == 200


def test_wrong_type_fault(server: IndexServer, client: httpx.Client) -> None:
    server.faults["/demo/simple/demo/"] = ["wrong-type"]
    r = client.get("/demo/simple/demo/", headers={"Accept": JSON})
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    assert r.json()["name"] == "demo"


# -- request log, lifecycle ------------------------------------------------------------------


def test_request_log(server: IndexServer, client: httpx.Client) -> None:
    client.get("/demo/simple/demo/", headers={"Accept": JSON})
    client.get("/demo/files/demo-1.0%2Bcpu-py3-none-any.whl", headers={"Range": "bytes=0-99"})
    client.get("/demo/files/demo-1.0%2Bcpu-py3-none-any.whl.metadata")
    assert server.count() == 3
    assert server.count("/files/") == 2
    assert server.count(".metadata") == 1
    assert server.count("%2B") == 2  # the raw request target is searched too
    assert server.bytes_sent("/files/demo-1.0+cpu-py3-none-any.whl") == 100 + len(DEMO_METADATA)
    first = server.log[0]
    assert (first.method, first.path, first.status) == ("GET", "/demo/simple/demo/", 200)
    assert first.headers["accept"] == JSON
    assert server.log[1].headers["range"] == "bytes=0-99" and server.log[1].status == 206
    assert server.bytes_sent() == sum(r.bytes_sent for r in server.log)
    server.reset_log()
    assert server.count() == 0 and server.bytes_sent() == 0


def test_binds_loopback_only_and_stops(demo_root: Path) -> None:
    srv = IndexServer({"demo": demo_root}, stall_seconds=30)
    with srv:
        port = srv.port
        assert srv._httpd.server_address[0] == "127.0.0.1"
        srv.faults["/demo/simple/demo/"] = ["timeout"]
        with httpx.Client(timeout=0.1) as c, pytest.raises(httpx.ReadTimeout):
            c.get(srv.url("demo") + "/demo/")
    # stopped promptly despite the stalled request; nothing listens on the port any more
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        pass


# -- the seed indexes ------------------------------------------------------------------------


def _page(server: IndexServer, client: httpx.Client, index: str, project: str) -> dict:
    r = client.get(f"{server.url(index)}/{project}/", headers={"Accept": JSON})
    assert r.status_code == 200
    return r.json()


def _requires(client: httpx.Client, page_url: str, entry: dict) -> list[Requirement]:
    r = client.get(httpx.URL(page_url).join(entry["url"] + ".metadata"))
    assert hashlib.sha256(r.content).hexdigest() == entry["core-metadata"]["sha256"]
    msg = BytesParser().parsebytes(r.content)
    return [Requirement(line) for line in msg.get_all("Requires-Dist", [])]


def test_seed_data_is_a_copy_of_the_reference() -> None:
    records = load_records()
    assert len(records) == 81
    reference = Path(__file__).resolve().parents[2] / "shared/reference/seed-9310/index-files.json"
    if reference.exists():
        assert json.loads(reference.read_text()) == records


def test_seed_indexes_facts(seed_index_server: IndexServer) -> None:
    server = seed_index_server
    with httpx.Client(timeout=5.0) as client:
        pypi = _page(server, client, "pypi", "torch")
        names = {f["filename"]: f for f in pypi["files"]}
        assert pypi["versions"] == ["2.5.1"]
        assert "torch-2.5.1-cp311-cp311-manylinux1_x86_64.whl" in names
        assert "torch-2.5.1-cp311-none-macosx_11_0_arm64.whl" in names
        gpu = names["torch-2.5.1-cp311-cp311-manylinux1_x86_64.whl"]
        assert gpu["requires-python"] == ">=3.8.0" and gpu["size"] == 906474467
        assert all("core-metadata" in f for f in pypi["files"])

        cpu = _page(server, client, "pytorch-cpu", "torch")
        cpu_names = {f["filename"]: f for f in cpu["files"]}
        assert cpu["versions"] == ["2.5.1", "2.5.1+cpu"]
        assert "torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl" in cpu_names
        unlabelled = {
            parse_wheel_filename(n)[3] for n in cpu_names if str(parse_wheel_filename(n)[1]) == "2.5.1"
        }
        platforms = {t.platform for tags in unlabelled for t in tags}
        assert any(p.startswith("macosx") for p in platforms)
        assert any(p.endswith("aarch64") for p in platforms)
        assert not any(p.endswith("x86_64") and p.startswith(("linux", "manylinux")) for p in platforms)
        # the macOS file is byte-identical to PyPI's
        mac = "torch-2.5.1-cp311-none-macosx_11_0_arm64.whl"
        assert cpu_names[mac]["hashes"] == names[mac]["hashes"]

        pypi_url = server.url("pypi") + "/torch/"
        cpu_url = server.url("pytorch-cpu") + "/torch/"
        full = _requires(client, pypi_url, gpu)
        nvidia = [r for r in full if r.name.startswith("nvidia-")]
        assert len(nvidia) == 12 and all(r.name.endswith("-cu12") for r in nvidia)
        assert any(r.name == "triton" and str(r.specifier) == "==3.1.0" for r in full)
        plus_cpu = _requires(client, cpu_url, cpu_names["torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl"])
        assert not [r for r in plus_cpu if r.name.startswith("nvidia-") or r.name == "triton"]
        assert {r.name for r in plus_cpu} == {r.name for r in full} - {"triton", *(r.name for r in nvidia)}
        assert len(_requires(client, cpu_url, cpu_names[mac])) == len(full)

        meta = client.get(server.file_url("pytorch-cpu", "torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl") + ".metadata")
        msg = BytesParser().parsebytes(meta.content)
        assert (msg["Metadata-Version"], msg["Name"], msg["Version"]) == ("2.1", "torch", "2.5.1+cpu")
        assert msg["Requires-Python"] == ">=3.8.0"
        assert msg.get_all("Provides-Extra") == ["opt-einsum", "optree"]

        vision = _page(server, client, "pytorch-cu124", "torchvision")
        entry = vision["files"][0]
        reqs = _requires(client, server.url("pytorch-cu124") + "/torchvision/", entry)
        assert [str(r) for r in reqs][:3] == ["numpy", "torch==2.5.1", "pillow!=8.3.*,>=5.3.0"]

        # no artifact bytes: listed files answer 404
        assert client.get(server.file_url("pypi", mac)).status_code == 404
        assert set(SEED_INDEXES) == set(server.roots)


def test_build_seed_indexes_counts(tmp_path: Path) -> None:
    roots = build_seed_indexes(tmp_path)
    counts = {
        name: sum(len(json.loads((root / p / "index.json").read_text())["files"]) for p in ("torch", "torchvision"))
        for name, root in roots.items()
    }
    assert counts == {"pypi": 33, "pytorch-cpu": 30, "pytorch-cu124": 18}
    torch_metadata = [p for p in (roots["pypi"] / "files").glob("*.metadata") if p.name.startswith("torch")]
    assert len(torch_metadata) == 33
    # The recorded subset of the rest of the closure is merged into the pypi index.
    listed = {p["name"] for p in json.loads((roots["pypi"] / "index.json").read_text())["projects"]}
    assert {"torch", "torchvision", "numpy", "nvidia-cudnn-cu12", "triton", "sympy"} <= listed
