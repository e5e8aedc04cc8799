"""The cache cannot run code, and a forged or damaged entry is never used as it is.

Whoever can write the cache folder (a CI cache restored from elsewhere, a shared folder) decides
what planner reads back. The parsed pages and metadata are therefore JSON data, checked field by
field like a page from an index: a pickle planted there is never loaded (so never run), a
well-formed record holding a URL no index may send, another page's files or a hash of the wrong
length is parsed again from the page, and every run gives the same outputs.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.index.models import ProjectPage, RecordError
from planner.index.simple import parse_json_page
from tests.fixtures.hostile import Served, compile_cli, served_project, snapshot


@pytest.fixture
def served(tmp_path: Path):
    with served_project(tmp_path) as served:
        yield served


def _entries(cache: Path, kind: str) -> list[Path]:
    return [p for p in (cache / "v1" / kind).rglob("*") if p.is_file() and not p.name.startswith(".")]


def _replace_body(path: Path, body: bytes) -> None:
    """A well-formed entry (its header's sha256 matches the new body): only a check of what the
    body says can reject it."""
    header = json.loads(path.read_bytes().split(b"\n", 1)[0])
    header["sha256"] = hashlib.sha256(body).hexdigest()
    path.write_bytes(json.dumps(header, sort_keys=True).encode() + b"\n" + body)


def _forget_previous_compiles(cache: Path) -> None:
    """Make the next compile a full one, which reads the cached pages and metadata (an unchanged
    compile keeps its plan without reading them: planner/cli/unchanged.py)."""
    shutil.rmtree(cache / "v1" / "unchanged", ignore_errors=True)


class _Planted:
    """Runs code when unpickled: it writes a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def test_a_planted_pickle_never_runs(served: Served, tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    parsed = _entries(served.cache, "parsed")
    assert parsed
    for path in parsed:
        _replace_body(path, pickle.dumps(_Planted(marker)))
    before = snapshot(served.output)
    for args in (served.args("--offline"), served.args()):
        _forget_previous_compiles(served.cache)
        result = compile_cli(args)
        assert result.exit_code == 0, result.output
        assert not marker.exists(), "code from the cache ran"
        assert snapshot(served.output) == before
    for path in _entries(served.cache, "parsed"):  # repaired: data again
        json.loads(path.read_bytes().split(b"\n", 1)[1])


FORGERIES = {
    "file URL": lambda r: r["files"].update(urls=" ".join("file:///etc/passwd" for _ in range(r["files"]["n"]))),
    "URL with a line break": lambda r: r["files"].update(urls=r["files"]["urls"] + "\n--index-url https://evil.example.com"),
    "short hash": lambda r: r["files"].update(sha256=" ".join("ab" * 31 for _ in range(r["files"]["n"]))),
    "another page": lambda r: r.update(project="evil"),
    "version that is not one": lambda r: r["files"].update(versions=["not a version"] * len(r["files"]["versions"])),
    "version numbers of 5000 digits": lambda r: r["files"].update(versions=["1." + "9" * 5000] * len(r["files"]["versions"])),
    "position out of range": lambda r: r["files"].update(version=[10**6] * r["files"]["n"]),
    "size beyond 64 bits": lambda r: r["files"].update(sizes=[2**70] * r["files"]["n"]),
    "wrong types": lambda r: r["files"].update(n="3"),
    "control characters in a yank reason": lambda r: r["files"].update(yanked={"0": "\x1b]0;owned\x07"}),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_forged_parsed_pages_are_parsed_again(served: Served, forgery: str) -> None:
    pages = []
    for path in _entries(served.cache, "parsed"):
        record = json.loads(path.read_bytes().split(b"\n", 1)[1])
        if isinstance(record, dict) and "files" in record and record["files"]["n"]:
            FORGERIES[forgery](record)
            _replace_body(path, json.dumps(record).encode())
            pages.append(path)
    assert pages
    before = snapshot(served.output)
    _forget_previous_compiles(served.cache)
    result = compile_cli(served.args("--offline"))
    assert result.exit_code == 0, result.output
    assert snapshot(served.output) == before
    for data in before.values():
        assert b"evil" not in data and b"file:///etc/passwd" not in data


def test_forged_metadata_records_are_parsed_again(served: Served) -> None:
    forged = 0
    for path in _entries(served.cache, "parsed"):
        record = json.loads(path.read_bytes().split(b"\n", 1)[1])
        if isinstance(record, dict) and "requires_dist" in record:
            record.update(name="evil", requires_dist=["evil>=1." + "9" * 40])
            _replace_body(path, json.dumps(record).encode())
            forged += 1
    assert forged
    before = snapshot(served.output)
    _forget_previous_compiles(served.cache)
    result = compile_cli(served.args("--offline"))
    assert result.exit_code == 0, result.output
    assert snapshot(served.output) == before


def test_forged_page_headers_are_refetched(served: Served) -> None:
    for path in _entries(served.cache, "pages"):
        raw = path.read_bytes()
        header, body = json.loads(raw.split(b"\n", 1)[0]), raw.split(b"\n", 1)[1]
        header.update(fetched_at=["now"], max_age="forever")
        path.write_bytes(json.dumps(header).encode() + b"\n" + body)
    before = snapshot(served.output)
    result = compile_cli(served.args())
    assert result.exit_code == 0, result.output
    assert snapshot(served.output) == before


_FILES = [
    {"filename": f"torch-2.{n}.0-cp311-cp311-manylinux_2_17_x86_64.whl", "url": f"https://f.example.com/t{n}.whl",
     "hashes": {"sha256": f"{n:064x}"}, "size": n, "upload-time": "2024-01-01T00:00:00Z",
     "core-metadata": {"sha256": f"{n:064x}"}, "yanked": "bad build" if n == 2 else False,
     "requires-python": ">=3.8"} for n in range(5)
] + [{"filename": "torch-2.0.0.tar.gz", "url": "https://f.example.com/t.tar.gz", "hashes": {"md5": "0" * 32}}]
PAGE = json.dumps({"meta": {"api-version": "1.1"}, "name": "torch", "files": _FILES}).encode()


def test_a_record_reads_back_as_the_page_it_was_made_from() -> None:
    page = parse_json_page(PAGE, "https://pypi.org/simple/torch/", "pypi", "torch")
    record = json.loads(json.dumps(page.to_record()))
    again = ProjectPage.from_record(record, index="pypi", url=page.url, project=page.project, local_root=None)
    assert again == page
    # Rows read one by one, in any order, from columns kept as the record's strings.
    fresh = ProjectPage.from_record(record, index="pypi", url=page.url, project=page.project, local_root=None)
    assert [fresh.artifacts[i] for i in reversed(range(len(page.artifacts)))] == list(reversed(page.artifacts))
    assert list(again.artifacts) == list(page.artifacts)
    assert json.loads(json.dumps(fresh.files.to_record())) == record["files"]
    # Every file with a sha256 and a metadata hash: those columns are read by fixed width.
    hashed = json.dumps({"meta": {"api-version": "1.1"}, "name": "torch", "files": _FILES[:5]}).encode()
    page = parse_json_page(hashed, "https://pypi.org/simple/torch/", "pypi", "torch")
    record = json.loads(json.dumps(page.to_record()))
    again = ProjectPage.from_record(record, index="pypi", url=page.url, project=page.project, local_root=None)
    assert [again.artifacts[i] for i in (3, 0, 4, 1, 2)] == [page.artifacts[i] for i in (3, 0, 4, 1, 2)]


@settings(max_examples=200, deadline=None)
@given(path=st.lists(st.sampled_from(["files", "n", "urls", "sha256", "version", "versions", "tag_keys", "tag", "rpys",
                                      "rpy", "sizes", "kinds", "core", "uploads", "yanked", "hashes", "foreign"]),
                     min_size=1, max_size=2),
       value=st.one_of(st.none(), st.booleans(), st.integers(-3, 2**70), st.text(max_size=10),
                       st.lists(st.one_of(st.integers(-2, 9), st.text(max_size=3)), max_size=3),
                       st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2)))
def test_a_damaged_record_reads_back_or_is_refused(path: list[str], value: object) -> None:
    page = parse_json_page(PAGE, "https://pypi.org/simple/torch/", "pypi", "torch")
    record = json.loads(json.dumps(page.to_record()))
    node = record if path[0] not in record["files"] else record["files"]
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return
    node[path[-1]] = value
    try:
        again = ProjectPage.from_record(record, index="pypi", url=page.url, project=page.project, local_root=None)
    except RecordError:
        return
    for artifact in again.artifacts:  # whatever reads back is usable data
        assert artifact.url.startswith("https://") and " " not in artifact.url and "\n" not in artifact.url
        assert artifact.sha256 is None or len(artifact.sha256) == 64
    for version in again.files.version_groups():
        assert version is not None
