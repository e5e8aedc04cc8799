"""The index client against loopback fixture indexes: candidates, metadata paths, cache, faults."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pytest
from packaging.version import Version

from planner.index.auth import CredentialStore
from planner.index.cache import Cache
from planner.index.client import IndexClient, OfflineMiss
from planner.index.http import FetchError, Fetcher
from planner.index.models import MetadataSource
from planner.project.loader import load_project
from planner.project.overrides import IndexOverrides, apply_index_overrides
from planner.targets.resolve import resolve_targets
from tests.conftest import SEED
from tests.fixtures.index_server import IndexServer
from tests.fixtures.simple_index import FixtureFile, write_index

NVIDIA = 12


def seed_project(server: IndexServer):
    project = load_project(SEED)
    overrides = IndexOverrides.parse(
        [f"pytorch-cpu={server.url('pytorch-cpu')}"], server.url("pypi"), SEED
    )
    return apply_index_overrides(project, overrides)


def make_client(project, cache_dir: Path | None, **kwargs) -> IndexClient:
    fetcher = Fetcher(
        CredentialStore(project.indexes), backoff=0.0, timeout=2.0, retries=kwargs.pop("retries", 3)
    )
    return IndexClient(project, fetcher, Cache(cache_dir), **kwargs)


def test_seed_candidates_per_target(seed_index_server, tmp_path) -> None:
    project = seed_project(seed_index_server)
    targets = resolve_targets(project)
    client = make_client(project, tmp_path)
    cpu = client.candidates("torch", targets.by_name("linux-x86_64-cpu"))
    assert [str(c.version) for c in cpu.candidates] == ["2.5.1+cpu"]
    assert {c.index for c in cpu.candidates} == {"pytorch-cpu"}
    assert cpu.candidates[0].artifact.filename == "torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl"
    unlabelled = [r for r in cpu.rejections if r.version == Version("2.5.1")]
    assert unlabelled and any("no wheel for linux_x86_64/cp311" in r.detail for r in unlabelled)
    for name in ("macos-arm64-cpu", "macos-arm64-gpu"):
        mac = client.candidates("torch", targets.by_name(name))
        assert [(str(c.version), c.index) for c in mac.candidates] == [("2.5.1", "pypi")]
        assert mac.candidates[0].artifact.filename == "torch-2.5.1-cp311-none-macosx_11_0_arm64.whl"
    gpu = client.candidates("torch", targets.by_name("linux-x86_64-gpu"))
    assert [(str(c.version), c.index) for c in gpu.candidates] == [("2.5.1", "pypi")]
    result = client.metadata(gpu.candidates[0].artifact)
    assert result.source is MetadataSource.PEP658
    names = [r.name for r in result.metadata.requires_dist]
    assert len([n for n in names if n.startswith("nvidia-")]) == NVIDIA and "triton" in names
    cpu_meta = client.metadata(cpu.candidates[0].artifact).metadata
    assert not [
        r for r in cpu_meta.requires_dist if r.name.startswith("nvidia-") or r.name == "triton"
    ]


def test_warm_cache_only_revalidates_and_offline_makes_no_request(
    seed_index_server, tmp_path
) -> None:
    project = seed_project(seed_index_server)
    target = resolve_targets(project).by_name("linux-x86_64-gpu")
    cold = make_client(project, tmp_path)
    found = cold.candidates("torchvision", target)
    cold.metadata(found.candidates[0].artifact)
    cold_requests = seed_index_server.count()
    assert cold_requests >= 2
    seed_index_server.reset_log()

    warm = make_client(project, tmp_path)
    again = warm.candidates("torchvision", target)
    read = warm.metadata(again.candidates[0].artifact)
    assert read.source is MetadataSource.CACHE
    assert read.raw == b""  # a compile keeps the parse, not the file (a mirror asks for both)
    statuses = [r.status for r in seed_index_server.log]
    assert statuses == [304], statuses  # one revalidation of the page, nothing else
    seed_index_server.reset_log()

    offline = make_client(project, tmp_path, offline=True)
    assert offline.candidates("torchvision", target).candidates == again.candidates
    assert seed_index_server.count() == 0
    with pytest.raises(OfflineMiss) as missing:
        offline.candidates("numpy", target)
    assert "numpy" in str(missing.value) and "pypi" in str(missing.value)


def test_warm_runs_load_stored_parses_and_survive_damaged_ones(seed_index_server, tmp_path) -> None:
    """Pages and metadata are parsed once: later runs load the stored parse (the same values),
    and a damaged stored parse is parsed again from the raw entry, never trusted."""
    project = seed_project(seed_index_server)
    target = resolve_targets(project).by_name("linux-x86_64-gpu")
    cold = make_client(project, tmp_path)
    found = cold.candidates("torch", target)
    metadata = cold.metadata(found.candidates[0].artifact).metadata
    parsed = sorted((tmp_path / "v1" / "parsed").glob("*/*"))
    assert len(parsed) >= 2  # the page and the metadata file

    def offline_view() -> tuple[object, object]:
        client = make_client(project, tmp_path, offline=True)
        again = client.candidates("torch", target)
        result = client.metadata(again.candidates[0].artifact)
        assert result.source is MetadataSource.CACHE
        return again.candidates, result.metadata

    assert offline_view() == (found.candidates, metadata)
    for path in parsed:  # well-formed entries (their hash matches) holding garbage
        Cache._write(path, {"kind": "damaged"}, b"\x80garbage")
    assert offline_view() == (found.candidates, metadata)
    assert not [p for p in parsed if p.read_bytes().endswith(b"garbage")]  # parsed again, stored again


def test_fresh_pages_are_not_even_revalidated(seed_index_server, tmp_path) -> None:
    seed_index_server.max_age = 600
    project = seed_project(seed_index_server)
    target = resolve_targets(project).by_name("macos-arm64-cpu")
    make_client(project, tmp_path).candidates("torch", target)
    seed_index_server.reset_log()
    make_client(project, tmp_path).candidates("torch", target)
    assert seed_index_server.count() == 0
    make_client(project, tmp_path, refresh=True).candidates("torch", target)
    assert seed_index_server.count() == 1


def _wheel(name: str, version: str, requires: list[str], padding: int = 300_000) -> bytes:
    metadata = (
        "\n".join(
            [
                "Metadata-Version: 2.1",
                f"Name: {name}",
                f"Version: {version}",
                *[f"Requires-Dist: {r}" for r in requires],
            ]
        )
        + "\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        wheel.writestr(f"{name}/__init__.py", "")
        wheel.writestr(
            f"{name}/blob.bin", random.Random(0).randbytes(padding)
        )  # makes ranges matter
        wheel.writestr(f"{name}-{version}.dist-info/METADATA", metadata)
        wheel.writestr(
            f"{name}-{version}.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n"
        )
        wheel.writestr(f"{name}-{version}.dist-info/RECORD", "")
    return buffer.getvalue()


@pytest.fixture
def small_index(tmp_path):
    requires = [
        "numpy>=1.26",
        "torch==2.5.1; extra == 'gpu'",
        "typing-extensions; python_version < '3.12'",
    ]
    content = _wheel("demo", "1.0", requires)
    metadata = zipfile.ZipFile(io.BytesIO(content)).read("demo-1.0.dist-info/METADATA")
    root = tmp_path / "index"
    write_index(
        root,
        [FixtureFile.from_content("demo", "demo-1.0-py3-none-any.whl", content, metadata=metadata)],
    )
    with IndexServer({"pypi": root}) as server:
        yield server, requires, len(content)


def _demo(server: IndexServer, cache_dir: Path | None):
    project = apply_index_overrides(
        load_project(SEED), IndexOverrides.parse([], server.url("pypi"), SEED)
    )
    target = resolve_targets(project).by_name("linux-x86_64-gpu")
    client = make_client(project, cache_dir)
    [candidate] = client.candidates("demo", target).candidates
    return client, client.metadata(candidate.artifact)


@pytest.mark.parametrize(
    "pep658, ranges, expected",
    [
        (True, True, MetadataSource.PEP658),
        (False, True, MetadataSource.RANGE),
        (False, False, MetadataSource.DOWNLOAD),
    ],
)
def test_three_metadata_paths_agree(small_index, pep658, ranges, expected) -> None:
    server, requires, size = small_index
    server.pep658, server.ranges = pep658, ranges
    client, result = _demo(server, None)
    assert result.source is expected
    assert [str(r) for r in result.metadata.requires_dist] == [
        "numpy>=1.26",
        'torch==2.5.1; extra == "gpu"',
        'typing-extensions; python_version < "3.12"',
    ]
    if expected is MetadataSource.RANGE:
        assert server.bytes_sent("/files/") < size / 2  # only the zip's tail and one member
    if expected is MetadataSource.DOWNLOAD:
        assert server.bytes_sent("/files/") >= size


def test_metadata_file_with_wrong_hash_is_rejected(tmp_path) -> None:
    content = _wheel("demo", "1.0", ["numpy"])
    root = tmp_path / "index"
    write_index(
        root,
        [
            FixtureFile.from_content(
                "demo",
                "demo-1.0-py3-none-any.whl",
                content,
                metadata=b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
            )
        ],
    )
    (root / "files" / "demo-1.0-py3-none-any.whl.metadata").write_bytes(
        b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: evil\n"
    )
    with IndexServer({"pypi": root}) as server, pytest.raises(FetchError) as caught:
        _demo(server, None)
    assert "does not match its listed hash" in str(caught.value) and "pypi" in str(caught.value)


def test_server_errors_are_retried_then_succeed(seed_index_server, tmp_path) -> None:
    seed_index_server.add_fault("/pypi/simple/torch/", 503, 500)
    project = seed_project(seed_index_server)
    client = make_client(project, tmp_path)
    found = client.candidates("torch", resolve_targets(project).by_name("macos-arm64-cpu"))
    assert found.candidates and client.fetcher.stats.retries == 2


def test_persistent_failure_names_index_and_url(seed_index_server, tmp_path) -> None:
    seed_index_server.add_fault("/pypi/simple/torch/", 502, 502, 502)
    project = seed_project(seed_index_server)
    client = make_client(project, tmp_path, retries=2)
    with pytest.raises(FetchError) as caught:
        client.candidates("torch", resolve_targets(project).by_name("macos-arm64-cpu"))
    message = caught.value.render()
    assert (
        "index 'pypi'" in message and "/pypi/simple/torch/" in message and "3 attempts" in message
    )


def test_auth_required_gives_a_clear_error_and_credentials_work(
    seed_index_server, tmp_path, monkeypatch
) -> None:
    seed_index_server.require_auth = ("alice", "s3cret")
    project = seed_project(seed_index_server)
    target = resolve_targets(project).by_name("linux-x86_64-cpu")
    with pytest.raises(FetchError) as caught:
        make_client(project, tmp_path).candidates("torch", target)
    assert "access denied (HTTP 401)" in str(caught.value)
    assert "PLANNER_INDEX_PYTORCH_CPU_USERNAME" in caught.value.render()
    monkeypatch.setenv("PLANNER_INDEX_PYTORCH_CPU_USERNAME", "alice")
    monkeypatch.setenv("PLANNER_INDEX_PYTORCH_CPU_PASSWORD", "s3cret")
    found = make_client(project, tmp_path).candidates("torch", target)
    assert [str(c.version) for c in found.candidates] == ["2.5.1+cpu"]
    assert "s3cret" not in repr(found)


def test_file_url_index_in_html(tmp_path) -> None:
    content = _wheel("demo", "1.0", ["numpy"], padding=1000)
    import hashlib

    digest = hashlib.sha256(content).hexdigest()
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "demo-1.0-py3-none-any.whl").write_bytes(content)
    page = tmp_path / "simple" / "demo"
    page.mkdir(parents=True)
    (page / "index.html").write_text(
        f'<html><body><a href="../../files/demo-1.0-py3-none-any.whl#sha256={digest}" '
        'data-requires-python="&gt;=3.8">demo-1.0-py3-none-any.whl</a></body></html>')
    project = apply_index_overrides(load_project(SEED), IndexOverrides.parse([], str(tmp_path / "simple"), SEED))
    client = make_client(project, None)
    [candidate] = client.candidates("demo", resolve_targets(project).by_name("macos-arm64-cpu")).candidates
    assert candidate.artifact.sha256 == digest and candidate.artifact.requires_python == ">=3.8"
    result = client.metadata(candidate.artifact)
    assert [str(r) for r in result.metadata.requires_dist] == ["numpy"]
    assert result.source is MetadataSource.RANGE  # local files are read by offset, not copied
    assert client.candidates("absent", resolve_targets(project).by_name("macos-arm64-cpu")).candidates == ()


def test_missing_ssl_cert_file_is_reported(monkeypatch) -> None:
    from planner.errors import PlannerError
    from planner.index.http import ssl_context

    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
    with pytest.raises(PlannerError) as caught:
        ssl_context()
    assert "SSL_CERT_FILE" in str(caught.value)
