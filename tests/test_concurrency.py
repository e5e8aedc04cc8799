"""Several planner processes at once, and a cache damaged on disk.

- Four `planner compile` processes on one project, one cache folder and one output folder, started
  together on a cold cache: all succeed, print the same plan, and leave exactly the outputs a
  single run writes (no temporary files in the output or cache folders).
- Cache entries truncated, altered, replaced by garbage or by well-formed entries holding the wrong
  content are never trusted: `--offline` names them as missing, and an online run refetches them,
  gives the same outputs and repairs the cache.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.hostile import (
    OUTPUT_FILES,
    Served,
    assert_one_clear_error,
    compile_cli,
    process_env,
    served_project,
    snapshot,
)


@pytest.fixture
def served(tmp_path: Path):
    with served_project(tmp_path) as served:
        yield served


def test_four_processes_on_one_project_and_cache(tmp_path: Path) -> None:
    with served_project(tmp_path, compiled=False) as served:
        reference = compile_cli(served.args(cache=False))
        assert reference.exit_code == 0, reference.output
        served.output.rename(tmp_path / "reference")  # (in the default folder: outputs record their -o)
        served.server.reset_log()
        args = [sys.executable, "-m", "planner", "-q", *served.args("--format", "json")]
        processes = [subprocess.Popen(args, cwd=served.project, env=process_env(), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for _ in range(4)]
        results = [(p.wait(timeout=120), *p.communicate()) for p in processes]
        for code, _, stderr in results:
            assert code == 0, stderr
            assert "Traceback" not in stderr
        plans = {stdout for _, stdout, _ in results}
        assert len(plans) == 1  # the same plan document, byte for byte
        assert json.loads(plans.pop())["outputs"]
        assert snapshot(served.output) == snapshot(tmp_path / "reference")  # and no stray files
        assert not list(served.cache.rglob(".tmp-*"))
        assert served.server.count("/simple/") >= 4  # the processes really ran at the same time, cold
        check = compile_cli(served.args("--check"))
        assert check.exit_code == 0, check.output


def _entries(cache: Path, kind: str) -> dict[str, Path]:
    """Cache entries of one kind by what they hold (page URL path, or artifact file name)."""
    out: dict[str, Path] = {}
    for path in (cache / "v1" / kind).rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            header = json.loads(path.read_bytes().split(b"\n", 1)[0])
            key = header.get("filename") or header["url"].split("/", 3)[3]
            out[key] = path
    return out


def _rewrite(path: Path, header_changes: dict, body: bytes) -> None:
    """A well-formed entry (its header's sha256 matches the body) with other content."""
    header = json.loads(path.read_bytes().split(b"\n", 1)[0])
    header.update(header_changes, sha256=hashlib.sha256(body).hexdigest())
    path.write_bytes(json.dumps(header, sort_keys=True).encode() + b"\n" + body)


def test_damaged_cache_entries_are_refetched_not_trusted(served: Served) -> None:
    pages, metadata = _entries(served.cache, "pages"), _entries(served.cache, "metadata")
    assert {"pypi/simple/alpha/", "pypi/simple/beta/", "special/simple/engine/"} <= set(pages)
    damaged = {
        "truncated page": pages["pypi/simple/alpha/"],
        "altered page": pages["pypi/simple/beta/"],
        "garbage page": pages["special/simple/engine/"],
        "truncated metadata": metadata["alpha-2.0-py3-none-any.whl"],
        "metadata of another project": metadata["booster-1.0-py3-none-manylinux_2_17_x86_64.whl"],
    }
    data = damaged["truncated page"].read_bytes()
    damaged["truncated page"].write_bytes(data[: len(data) // 2])
    data = bytearray(damaged["altered page"].read_bytes())
    data[-10] ^= 0x01
    damaged["altered page"].write_bytes(bytes(data))
    _rewrite(damaged["garbage page"], {}, b'{"files": "not a list"}')
    data = damaged["truncated metadata"].read_bytes()
    damaged["truncated metadata"].write_bytes(data[:-20])
    _rewrite(damaged["metadata of another project"], {}, b"Metadata-Version: 2.1\nName: evil\nVersion: 6.6.6\n")
    before = snapshot(served.output)

    offline = compile_cli(served.args("--offline"))
    assert_one_clear_error(offline, "offline, and the cache has no index page of 'alpha' on index 'pypi'")
    assert snapshot(served.output) == before
    listed = compile_cli(["candidates", "alpha", "beta", "engine", "booster", "--deps", "-p", str(served.project),
                          "--default-index", served.server.url("pypi"), "--cache-dir", str(served.cache), "--offline"])
    assert listed.exit_code == 2, listed.output
    for missing in ("page of 'alpha' on index 'pypi'", "page of 'beta' on index 'pypi'",
                    "page of 'engine' on index 'special'"):
        assert missing in listed.stderr, listed.stderr

    served.server.reset_log()
    online = compile_cli(served.args())
    assert online.exit_code == 0, online.output
    assert snapshot(served.output) == before
    fetched = {(r.path, r.status) for r in served.server.log}
    for page in ("/pypi/simple/alpha/", "/pypi/simple/beta/", "/special/simple/engine/"):
        assert (page, 200) in fetched, fetched  # refetched in full, not revalidated against a bad copy
    for name in ("alpha-2.0-py3-none-any.whl", "booster-1.0-py3-none-manylinux_2_17_x86_64.whl"):
        assert (f"/pypi/files/{name}.metadata", 200) in fetched
    assert ("/pypi/simple/engine/", 304) in fetched  # undamaged entries are still used

    served.server.reset_log()
    repaired = compile_cli(served.args("--offline"))
    assert repaired.exit_code == 0, repaired.output
    assert served.server.count() == 0
    assert snapshot(served.output) == before


def test_unreadable_cache_folder_costs_speed_not_correctness(served: Served, tmp_path: Path) -> None:
    """A cache path that is a file, not a folder: nothing can be cached, the run still works."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("x")
    before = snapshot(served.output)
    result = compile_cli([*served.args(cache=False)[:-1], "--cache-dir", str(blocked)])
    assert result.exit_code == 0, result.output
    assert snapshot(served.output) == before
    assert sorted(before) == OUTPUT_FILES
