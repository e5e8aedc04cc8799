"""`planner candidates` end to end against the loopback seed indexes, and one opt-in live check."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from planner.cli.app import app
from tests.conftest import SEED

runner = CliRunner()


def invoke(server, cache, *extra: str):
    return runner.invoke(app, [
        "candidates", "torch", "torchvision", "-p", str(SEED), "--deps", "--format", "json",
        "--index", f"pytorch-cpu={server.url('pytorch-cpu')}", "--default-index", server.url("pypi"),
        "--cache-dir", str(cache), *extra,
    ])


def test_candidates_json_then_offline(seed_index_server, tmp_path) -> None:
    result = invoke(seed_index_server, tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    cpu = report["targets"]["linux-x86_64-cpu"]
    assert [c["version"] for c in cpu["torch"]["candidates"]] == ["2.5.1+cpu"]
    assert any("no wheel for linux_x86_64/cp311" in r["detail"] for r in cpu["torch"]["rejections"])
    assert not [r for r in cpu["torch"]["requires_dist"] if r.startswith("nvidia")]
    gpu = report["targets"]["linux-x86_64-gpu"]
    assert len([r for r in gpu["torch"]["requires_dist"] if r.startswith("nvidia-")]) == 12
    assert gpu["torchvision"]["requires_dist"][1] == "torch==2.5.1"
    assert report["stats"]["metadata"]["pep658"] >= 3
    seed_index_server.reset_log()
    offline = invoke(seed_index_server, tmp_path, "--offline")
    assert offline.exit_code == 0, offline.output
    assert seed_index_server.count() == 0
    offline_report = json.loads(offline.stdout)
    assert _without_sources(offline_report["targets"]) == _without_sources(report["targets"])
    assert offline_report["stats"]["requests"] == 0 and offline_report["stats"]["metadata"]["cache"] >= 3


def _without_sources(targets: dict) -> dict:
    return {t: {p: {k: v for k, v in d.items() if k != "metadata_source"} for p, d in by.items()} for t, by in targets.items()}


def test_offline_with_empty_cache_names_what_is_missing(seed_index_server, tmp_path) -> None:
    result = invoke(seed_index_server, tmp_path, "--offline")
    assert result.exit_code == 2
    assert "offline, and the cache lacks 4 items" in result.stderr
    assert "index page of 'torch' on index 'pytorch-cpu'" in result.stderr
    assert "index page of 'torchvision' on index 'pypi'" in result.stderr
    assert "Traceback" not in result.output and result.stdout == ""


def test_unreachable_index_is_reported_not_raised(tmp_path) -> None:
    result = runner.invoke(app, ["candidates", "torch", "-p", str(SEED), "--default-index", "http://127.0.0.1:9/simple",
                                 "--index", "pytorch-cpu=http://127.0.0.1:9/cpu", "--cache-dir", str(tmp_path),
                                 "-t", "macos-arm64-cpu"])
    assert result.exit_code == 2
    assert "index 'pypi'" in result.stderr and "connection failed" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.live
def test_live_pypi_torch_macos_metadata_by_range(tmp_path) -> None:
    """Reads torch 2.5.1's macOS wheel metadata from real PyPI with range requests only."""
    from packaging.version import Version

    from planner.index.auth import CredentialStore
    from planner.index.cache import Cache
    from planner.index.client import IndexClient
    from planner.index.http import Fetcher
    from planner.index.models import MetadataSource
    from planner.project.loader import load_project
    from planner.targets.resolve import resolve_targets

    project = load_project(SEED)
    target = resolve_targets(project).by_name("macos-arm64-cpu")
    with Fetcher(CredentialStore(project.indexes)) as fetcher:
        client = IndexClient(project, fetcher, Cache(None))
        found = client.candidates("torch", target)
        [candidate] = [c for c in found.candidates if c.version == Version("2.5.1")]
        before = fetcher.stats.bytes
        object.__setattr__(candidate.artifact, "core_metadata", None)  # force the range path
        result = client.metadata(candidate.artifact)
        assert result.source is MetadataSource.RANGE
        assert fetcher.stats.bytes - before < 1024 * 1024
    names = {r.name for r in result.metadata.requires_dist}
    assert {"filelock", "typing-extensions", "networkx", "jinja2", "fsspec", "sympy"} <= names
    assert len([n for n in names if n.startswith("nvidia-")]) == 12 and "triton" in names
