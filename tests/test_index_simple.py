"""Simple API page parsing (PEP 503 HTML, PEP 691 JSON, PEP 592/658/700/714 fields).

File names and hashes are the real ones of torch 2.5.1 on PyPI and on the PyTorch CPU index
(from ../shared/reference/seed-9310/index-files.json).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.tags import Tag
from packaging.version import Version

from planner.index.models import ArtifactKind
from planner.index.simple import (
    ACCEPT_HEADER,
    IndexFormatError,
    media_type_of,
    parse_html_page,
    parse_json_page,
)
from planner.urls import strip_userinfo as strip_credentials

PYPI_PAGE_URL = "https://pypi.org/simple/torch/"
CPU_PAGE_URL = "https://download.pytorch.org/whl/cpu/torch/"

MAC_311 = "torch-2.5.1-cp311-none-macosx_11_0_arm64.whl"
MAC_311_SHA = "31f8c39660962f9ae4eeec995e3049b5492eb7360dd4f07377658ef4d728fa4c"
LINUX_311 = "torch-2.5.1-cp311-cp311-manylinux1_x86_64.whl"
LINUX_311_SHA = "de5b7d6740c4b636ef4db92be922f0edc425b65ed78c5076c43c42d362a45457"
CPU_311 = "torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl"
CPU_311_SHA = "07d7c9e069123d5af08b0cf0013d74f680b2d8be7d9e2cf561a52c90c55d9409"
AARCH64_311 = "torch-2.5.1-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
AARCH64_311_SHA = "d5b3203f191bc40783c99488d2e776dcf93ac431a59491d627a1ca5b3ae20b22"
WIN_311 = "torch-2.5.1+cpu-cp311-cp311-win_amd64.whl"
WIN_311_SHA = "81531d4d5ca74163dc9574b87396531e546a60cceb6253303c7db6a21e867fdf"


def pypi_json(files: list[dict[str, Any]], api_version: str = "1.1", name: str = "torch") -> bytes:
    return json.dumps(
        {"meta": {"api-version": api_version}, "name": name, "files": files}
    ).encode()


# As PyPI serves it: absolute file URLs on files.pythonhosted.org, upper-case hex in one hash to
# check normalisation, PEP 700 fields, PEP 714's double metadata key.
PYPI_FILES: list[dict[str, Any]] = [
    {
        "filename": LINUX_311,
        "url": "https://files.pythonhosted.org/packages/d1/35/e8b2daf02ce933e4518e6f5682c72fd0ed66c15910ea1fb4168f442b71c4/"
        + LINUX_311,
        "hashes": {"sha256": LINUX_311_SHA.upper()},
        "requires-python": ">=3.8.0",
        "yanked": False,
        "size": 906474467,
        "upload-time": "2024-10-29T17:38:49.832009Z",
        "core-metadata": {"sha256": "AB" * 32},
        "data-dist-info-metadata": {"sha256": "cd" * 32},
    },
    {
        "filename": MAC_311,
        # relative, as a mirror or a static index writes it
        "url": "../../packages/d0/db/5d9cbfbc7968d79c5c09a0bc0bc3735da079f2fd07cc10498a62b320a480/"
        + MAC_311,
        "hashes": {"sha256": MAC_311_SHA},
        "requires-python": ">=3.8.0",
        "yanked": False,
        "size": 63884466,
        "upload-time": "2024-10-29T17:33:02.899243Z",
        "data-dist-info-metadata": True,  # only the old (misspelt) key: PEP 714 fallback
    },
]


# -- JSON -------------------------------------------------------------------------------------
def test_json_page_of_pypi_torch() -> None:
    page = parse_json_page(pypi_json(PYPI_FILES), PYPI_PAGE_URL, "pypi", "torch")
    assert page.index == "pypi"
    assert page.project == "torch"
    assert page.url == PYPI_PAGE_URL
    assert page.skipped == ()
    linux, mac = page.artifacts
    assert linux.filename == LINUX_311
    assert linux.url.startswith("https://files.pythonhosted.org/packages/d1/35/")
    assert linux.kind is ArtifactKind.WHEEL
    assert linux.name == "torch"
    assert linux.version == Version("2.5.1")
    assert linux.tags == frozenset({Tag("cp311", "cp311", "manylinux1_x86_64")})
    assert linux.sha256 == LINUX_311_SHA  # lower-cased
    assert linux.requires_python == ">=3.8.0"
    assert linux.yanked is None and not linux.is_yanked
    assert linux.size == 906474467
    assert linux.upload_time == "2024-10-29T17:38:49.832009Z"
    # core-metadata wins over data-dist-info-metadata, hex lower-cased
    assert dict(linux.core_metadata or {}) == {"sha256": "ab" * 32}
    assert mac.url == (
        "https://pypi.org/packages/d0/db/5d9cbfbc7968d79c5c09a0bc0bc3735da079f2fd07cc10498a62b320a480/"
        + MAC_311
    )
    assert mac.core_metadata is not None and dict(mac.core_metadata) == {}
    assert mac.metadata_url == mac.url + ".metadata"
    assert page.versions == (Version("2.5.1"),)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, None),
        ({"core-metadata": True}, {}),
        ({"core-metadata": False, "data-dist-info-metadata": True}, None),  # core-metadata decides
        ({"core-metadata": {"sha256": "AA" * 32}}, {"sha256": "aa" * 32}),
        ({"data-dist-info-metadata": {"sha256": "bb" * 32}}, {"sha256": "bb" * 32}),
        ({"dist-info-metadata": True}, {}),  # PEP 691's original key
        ({"data-dist-info-metadata": False}, None),
        ({"core-metadata": {}}, {}),
    ],
)
def test_json_core_metadata_pep714(fields: dict[str, Any], expected: dict[str, str] | None) -> None:
    entry = {"filename": MAC_311, "url": MAC_311, "hashes": {}, **fields}
    (artifact,) = parse_json_page(pypi_json([entry]), PYPI_PAGE_URL, "pypi", "torch").artifacts
    if expected is None:
        assert artifact.core_metadata is None
    else:
        assert artifact.core_metadata is not None and dict(artifact.core_metadata) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (False, None),
        (True, ""),
        ("broken CUDA build, use 2.5.1.post1", "broken CUDA build, use 2.5.1.post1"),
        ("", ""),
    ],
)
def test_json_yanked(value: object, expected: str | None) -> None:
    entry = {"filename": MAC_311, "url": MAC_311, "hashes": {}, "yanked": value}
    (artifact,) = parse_json_page(pypi_json([entry]), PYPI_PAGE_URL, "pypi", "torch").artifacts
    assert artifact.yanked == expected
    assert artifact.is_yanked is (expected is not None)


def test_json_minimal_file_entry_and_unknown_keys() -> None:
    # Only filename and url: everything optional defaults; unknown keys (newer 1.x) are ignored.
    data = json.dumps(
        {
            "meta": {"api-version": "1.4", "_last-serial": 1},
            "name": "torch",
            "versions": ["2.5.1"],
            "files": [{"filename": MAC_311, "url": MAC_311, "provenance": None, "new-key": [1, 2]}],
        }
    ).encode()
    (artifact,) = parse_json_page(data, PYPI_PAGE_URL, "pypi", "torch").artifacts
    assert dict(artifact.hashes) == {}
    assert artifact.requires_python is None
    assert artifact.size is None and artifact.upload_time is None and artifact.core_metadata is None


def test_json_without_meta_is_not_a_simple_page() -> None:
    """PEP 691 requires meta.api-version: JSON without it (a proxy's or an API's) is not taken
    for an empty or partial page."""
    data = json.dumps({"files": [{"filename": MAC_311, "url": MAC_311, "hashes": {}}]}).encode()
    with pytest.raises(IndexFormatError, match="no 'meta'"):
        parse_json_page(data, PYPI_PAGE_URL, "pypi", "torch")


def test_json_hash_in_url_fragment_is_kept_and_stripped() -> None:
    entry = {"filename": MAC_311, "url": f"{MAC_311}#sha256={MAC_311_SHA}", "hashes": {}}
    (artifact,) = parse_json_page(pypi_json([entry]), PYPI_PAGE_URL, "pypi", "torch").artifacts
    assert artifact.url == PYPI_PAGE_URL + MAC_311
    assert artifact.sha256 == MAC_311_SHA


def test_json_empty_requires_python_is_none() -> None:
    entry = {"filename": MAC_311, "url": MAC_311, "hashes": {}, "requires-python": "  "}
    (artifact,) = parse_json_page(pypi_json([entry]), PYPI_PAGE_URL, "pypi", "torch").artifacts
    assert artifact.requires_python is None


def test_json_empty_files_is_an_empty_page() -> None:
    page = parse_json_page(pypi_json([]), PYPI_PAGE_URL, "pypi", "torch")
    assert page.artifacts == () and page.skipped == ()


GOOD = {"filename": MAC_311, "url": MAC_311, "hashes": {"sha256": MAC_311_SHA}}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html>not json</html>", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[]", "must be a JSON object, not a list"),
        (b'"files"', "must be a JSON object, not a string"),
        (json.dumps({"meta": {"api-version": "1.0"}, "name": "torch"}).encode(), "no 'files' list"),
        (json.dumps({"files": {"a": 1}}).encode(), "'files' must be a list, not an object"),
        (json.dumps({"files": None}).encode(), "'files' must be a list, not null"),
        (json.dumps({"files": ["torch.whl"]}).encode(), "files[0] must be an object, not a string"),
        (json.dumps({"files": [GOOD, {"url": MAC_311}]}).encode(), "files[1] has no 'filename'"),
        (json.dumps({"files": [{"filename": MAC_311}]}).encode(), "files[0] has no 'url'"),
        (json.dumps({"files": [{**GOOD, "filename": None}]}).encode(), "files[0].filename must be a string"),
        (json.dumps({"meta": {"api-version": "2.0"}, "files": []}).encode(), "only version 1.x"),
        (json.dumps({"meta": {"api-version": "0.9"}, "files": []}).encode(), "only version 1.x"),
        (json.dumps({"meta": {"api-version": "one"}, "files": []}).encode(), "not an API version"),
        (
            json.dumps({"meta": {"api-version": 1.0}, "files": []}).encode(),
            "meta.api-version must be a string",
        ),
        (json.dumps({"meta": "1.0", "files": []}).encode(), "'meta' must be an object"),
        (json.dumps({"name": ["torch"], "files": []}).encode(), "'name' must be a string"),
        (b"[" * 100_000, "not valid JSON"),  # nesting too deep for the parser
    ],
)
def test_json_malformed_pages(data: bytes, message: str) -> None:  # noqa: D103
    with pytest.raises(IndexFormatError) as info:
        parse_json_page(data, PYPI_PAGE_URL, "pypi", "torch")
    assert isinstance(info.value, ValueError)
    assert message in str(info.value)


BAD_FIELDS = [
    ({"url": 3}, "files[0].url must be a string, not a number"),
    ({"hashes": ["sha256"]}, "files[0].hashes must be an object"),
    ({"hashes": {"sha256": 5}}, "files[0].hashes.sha256"),
    ({"hashes": {"sha256": "xyz"}}, "sha256 value 'xyz' is not 64 hex digits"),
    ({"hashes": {"sha256": "ab" * 31}}, "is not 64 hex digits"),
    ({"hashes": {"md5": "ab" * 31}}, "md5 value"),
    ({"requires-python": 3.8}, "files[0].requires-python"),
    ({"requires-python": ">=3." + "9" * 30}, "is too large"),
    ({"yanked": 1}, "files[0].yanked must be a boolean or a string"),
    ({"size": "12"}, "files[0].size must be a non-negative integer"),
    ({"size": -1}, "files[0].size"),
    ({"size": True}, "files[0].size"),
    ({"size": 2**70}, "size 1180591620717411303424 is out of range"),
    ({"upload-time": 0}, "files[0].upload-time"),
    ({"upload-time": "yesterday"}, "is not an RFC 3339 date and time"),
    ({"upload-time": "2024-13-45T99:00:00Z"}, "is not a real date and time"),
    ({"core-metadata": "yes"}, "files[0].core-metadata"),
    ({"core-metadata": {"sha256": 1}}, "files[0].core-metadata"),
    ({"core-metadata": {"sha256": "zz"}}, "core-metadata hash sha256"),
    ({"url": "https://[::1/x.whl"}, "files[0].url does not parse"),
    ({"url": f"https://files.example.com/{MAC_311}\n--extra-index-url https://evil.example.com"},
     "contains whitespace or control characters"),
    ({"url": f"https://files.example.com/x {MAC_311}"}, "contains whitespace or control characters"),
    ({"url": "file:///etc/passwd"}, "only a local-folder index may list"),
    ({"url": "ftp://files.example.com/x.whl"}, "scheme 'ftp'"),
    ({"url": "https://"}, "has no host"),
    ({"filename": "torch-2.5.1-cp311-none-macosx_11_0_arm64\u2028.whl"}, "holds characters other than"),
    ({"filename": "torch-2.5.1." + "9" * 30 + "-py3-none-any.whl"}, "is too large"),
]


@pytest.mark.parametrize(("fields", "reason"), BAD_FIELDS, ids=[r[1][:40] for r in BAD_FIELDS])
def test_json_file_with_a_bad_field_is_unusable(fields: dict[str, Any], reason: str) -> None:
    """A file whose fields fail their checks is left out and reported (`suspicious`); the page
    and its other files are fine."""
    good_linux = {"filename": LINUX_311, "url": LINUX_311, "hashes": {"sha256": LINUX_311_SHA}}
    page = parse_json_page(pypi_json([{**GOOD, **fields}, good_linux]), PYPI_PAGE_URL, "pypi", "torch")
    assert [a.filename for a in page.artifacts] == [LINUX_311]
    (skipped,) = page.skipped
    assert skipped.suspicious, skipped
    assert reason in skipped.reason, skipped.reason


def test_json_urls_are_percent_encoded_where_rfc_3986_requires() -> None:
    entry = {**GOOD, "url": f"https://files.example.com/${{HOME}}/é|/{MAC_311}"}
    (artifact,) = parse_json_page(pypi_json([entry]), PYPI_PAGE_URL, "pypi", "torch").artifacts
    assert artifact.url == f"https://files.example.com/$%7BHOME%7D/%C3%A9%7C/{MAC_311}"


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
_file_keys = st.sampled_from(
    [
        "filename",
        "url",
        "hashes",
        "requires-python",
        "yanked",
        "size",
        "upload-time",
        "core-metadata",
        "data-dist-info-metadata",
        "dist-info-metadata",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    files=st.lists(
        st.dictionaries(
            _file_keys, _json_values | st.just(MAC_311) | st.just({"sha256": "ab"}), max_size=8
        )
        | _json_values,
        max_size=4,
    ),
    meta=st.one_of(st.none(), _json_values, st.fixed_dictionaries({"api-version": _json_values})),
)
def test_json_pages_fail_only_with_index_format_error(files: list[Any], meta: Any) -> None:
    document: dict[str, Any] = {"files": files}
    if meta is not None:
        document["meta"] = meta
    try:
        parse_json_page(json.dumps(document).encode(), PYPI_PAGE_URL, "pypi", "torch")
    except IndexFormatError:
        pass


# -- skipped files ----------------------------------------------------------------------------
def test_json_skipped_files_are_counted_with_reasons() -> None:
    entries = [
        GOOD,
        {"filename": "torch-2.5.1.win-amd64.exe", "url": "torch-2.5.1.win-amd64.exe", "hashes": {}},
        {"filename": "torch-2.5.1-py3.11.egg", "url": "torch-2.5.1-py3.11.egg", "hashes": {}},
        {"filename": "torch-2.5.1.tar.bz2", "url": "torch-2.5.1.tar.bz2", "hashes": {}},
        {"filename": "torch-latest-cp311-cp311-linux_x86_64.whl", "url": "x.whl", "hashes": {}},
        {"filename": "torch-2.5.1-cp311.whl", "url": "y.whl", "hashes": {}},
        {
            "filename": "torchvision-0.20.1-cp311-cp311-linux_x86_64.whl",
            "url": "tv.whl",
            "hashes": {},
        },
        {"filename": "../" + MAC_311, "url": MAC_311, "hashes": {}},
        {"filename": "sub\\" + MAC_311, "url": MAC_311, "hashes": {}},
        {"filename": "", "url": "z", "hashes": {}},
        {**GOOD, "url": "elsewhere/" + MAC_311},  # a second entry for the same name
        {"filename": "torch-2.5.1.tar.gz", "url": "torch-2.5.1.tar.gz", "hashes": {}},
        {"filename": "Torch-2.5.0.zip", "url": "Torch-2.5.0.zip", "hashes": {}},
    ]
    page = parse_json_page(pypi_json(entries), PYPI_PAGE_URL, "pypi", "torch")
    assert [a.filename for a in page.artifacts] == [
        MAC_311,
        "torch-2.5.1.tar.gz",
        "Torch-2.5.0.zip",
    ]
    assert page.artifacts[0].url == PYPI_PAGE_URL + MAC_311  # the first entry is kept
    assert [a.kind for a in page.artifacts] == [
        ArtifactKind.WHEEL,
        ArtifactKind.SDIST,
        ArtifactKind.SDIST,
    ]
    assert page.artifacts[2].version == Version("2.5.0") and page.artifacts[2].name == "torch"
    reasons = {s.filename: s.reason for s in page.skipped}
    assert len(page.skipped) == 10
    assert "not a wheel or an sdist" in reasons["torch-2.5.1.win-amd64.exe"]
    assert "not a wheel or an sdist" in reasons["torch-2.5.1-py3.11.egg"]
    assert "not a wheel or an sdist" in reasons["torch-2.5.1.tar.bz2"]
    assert "does not parse" in reasons["torch-latest-cp311-cp311-linux_x86_64.whl"]
    assert "does not parse" in reasons["torch-2.5.1-cp311.whl"]
    assert (
        "belongs to project 'torchvision'"
        in reasons["torchvision-0.20.1-cp311-cp311-linux_x86_64.whl"]
    )
    assert "path separator" in reasons["../" + MAC_311]
    assert "path separator" in reasons["sub\\" + MAC_311]
    assert "names no file" in reasons[""]
    assert [s.reason for s in page.skipped if s.filename == MAC_311] == [
        "listed twice (the first entry is used)"
    ]


def test_project_name_is_normalised() -> None:
    entries = [
        {"filename": "Typing_Extensions-4.12.2-py3-none-any.whl", "url": "t.whl", "hashes": {}}
    ]
    page = parse_json_page(
        pypi_json(entries, name="typing-extensions"),
        "https://pypi.org/simple/typing-extensions/",
        "pypi",
        "Typing.Extensions",
    )
    assert page.project == "typing-extensions"
    assert [a.name for a in page.artifacts] == ["typing-extensions"]


# -- credentials ------------------------------------------------------------------------------
def test_credentials_never_reach_artifact_urls() -> None:
    page_url = "https://alice:s3cret@private.example.com/simple/torch/"
    entries = [
        {**GOOD},  # relative: would inherit the user info from the page URL
        {
            "filename": LINUX_311,
            "url": "https://bob:t0ken@files.example.com/" + LINUX_311,
            "hashes": {},
        },
        {
            "filename": CPU_311,
            "url": "//carol:pw@cdn.example.com:8443/whl/" + CPU_311,
            "hashes": {},
        },
    ]
    page = parse_json_page(pypi_json(entries), page_url, "private", "torch")
    urls = [a.url for a in page.artifacts]
    assert urls == [
        "https://private.example.com/simple/torch/" + MAC_311,
        "https://files.example.com/" + LINUX_311,
        "https://cdn.example.com:8443/whl/" + CPU_311,
    ]
    assert page.url == "https://private.example.com/simple/torch/"
    html = f'<a href="{MAC_311}#sha256={MAC_311_SHA}">x</a>'.encode()
    html_page = parse_html_page(html, page_url, "private", "torch")
    assert html_page.artifacts[0].url == "https://private.example.com/simple/torch/" + MAC_311
    assert "s3cret" not in repr(html_page) and "s3cret" not in repr(page)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://u:p@h.example/a/b?q=1#f", "https://h.example/a/b?q=1#f"),
        ("https://token@h.example:81/", "https://h.example:81/"),
        ("https://h.example/a@b", "https://h.example/a@b"),  # '@' in the path is not user info
        ("file:///srv/simple/torch/", "file:///srv/simple/torch/"),
        ("https://u:p@[::1/broken", "https://[::1/broken"),  # does not parse, still redacted
    ],
)
def test_strip_credentials(url: str, expected: str) -> None:
    assert strip_credentials(url) == expected


# -- HTML -------------------------------------------------------------------------------------
# As download.pytorch.org serves it: absolute-path hrefs with %2B for '+', sha256 fragments.
PYTORCH_CPU_HTML = f"""<!DOCTYPE html>
<html>
  <body>
    <h1>Links for torch</h1>
    <a href="/whl/cpu/torch-2.5.1%2Bcpu-cp311-cp311-linux_x86_64.whl#sha256={CPU_311_SHA}" data-dist-info-metadata="sha256={"EF" * 32}" data-core-metadata="sha256={"ef" * 32}">torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl</a><br/>
    <a href="/whl/cpu/torch-2.5.1%2Bcpu-cp311-cp311-win_amd64.whl#sha256={WIN_311_SHA}">torch-2.5.1+cpu-cp311-cp311-win_amd64.whl</a><br/>
    <a href="/whl/cpu/{AARCH64_311}#sha256={AARCH64_311_SHA}" data-requires-python="&gt;=3.9.0">{AARCH64_311}</a><br/>
    <a href="/whl/cpu/{MAC_311}#sha256={MAC_311_SHA}" data-requires-python="&gt;=3.8&#44;&lt;4">{MAC_311}</a><br/>
  </body>
</html>
<!--Generated by download.pytorch.org-->
"""


def test_html_page_of_pytorch_cpu_index() -> None:
    page = parse_html_page(PYTORCH_CPU_HTML.encode(), CPU_PAGE_URL, "pytorch-cpu", "torch")
    assert page.skipped == ()
    cpu, win, aarch64, mac = page.artifacts
    assert cpu.filename == CPU_311  # %2B decoded
    assert (
        cpu.url
        == "https://download.pytorch.org/whl/cpu/torch-2.5.1%2Bcpu-cp311-cp311-linux_x86_64.whl"
    )
    assert "#" not in cpu.url
    assert cpu.version == Version("2.5.1+cpu")
    assert cpu.tags == frozenset({Tag("cp311", "cp311", "linux_x86_64")})
    assert dict(cpu.hashes) == {"sha256": CPU_311_SHA}
    assert dict(cpu.core_metadata or {}) == {"sha256": "ef" * 32}  # data-core-metadata wins
    assert win.sha256 == WIN_311_SHA and win.core_metadata is None
    assert aarch64.tags == frozenset(
        {
            Tag("cp311", "cp311", "manylinux_2_17_aarch64"),
            Tag("cp311", "cp311", "manylinux2014_aarch64"),
        }
    )
    assert aarch64.requires_python == ">=3.9.0"  # entity unescaped
    assert mac.requires_python == ">=3.8,<4"
    assert all(
        a.yanked is None and a.size is None and a.upload_time is None for a in page.artifacts
    )
    assert sorted({str(v) for v in page.versions}) == ["2.5.1", "2.5.1+cpu"]


def test_html_yanked_with_and_without_reason() -> None:
    html = f"""
    <a href="{MAC_311}" data-yanked>{MAC_311}</a>
    <a href="{LINUX_311}" data-yanked="">{LINUX_311}</a>
    <a href="{CPU_311}" data-yanked="wrong ABI &amp; crashes on import">{CPU_311}</a>
    <a href="{WIN_311}">{WIN_311}</a>
    """.encode()
    page = parse_html_page(html, CPU_PAGE_URL, "pytorch-cpu", "torch")
    assert [a.yanked for a in page.artifacts] == ["", "", "wrong ABI & crashes on import", None]


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ("", None),
        ('data-core-metadata="true"', {}),
        ('data-core-metadata="TRUE"', {}),
        ('data-dist-info-metadata="true"', {}),  # PEP 658 name, PEP 714 fallback
        (f'data-dist-info-metadata="sha256={"AB" * 32}"', {"sha256": "ab" * 32}),
        (
            f'data-core-metadata="sha256={"12" * 32}" data-dist-info-metadata="true"',
            {"sha256": "12" * 32},
        ),
        ('data-core-metadata="false" data-dist-info-metadata="true"', None),
        ('data-core-metadata="sha256=not-hex"', None),
        ("data-core-metadata", None),
    ],
)
def test_html_core_metadata(attributes: str, expected: dict[str, str] | None) -> None:
    html = f'<a href="{MAC_311}" {attributes}>x</a>'.encode()
    (artifact,) = parse_html_page(html, PYPI_PAGE_URL, "pypi", "torch").artifacts
    if expected is None:
        assert artifact.core_metadata is None
    else:
        assert artifact.core_metadata is not None and dict(artifact.core_metadata) == expected


def test_html_base_href_and_relative_links() -> None:
    html = f"""<html><head><base href="../../files/"></head><body>
    <A HREF="{MAC_311}#sha256={MAC_311_SHA.upper()}">upper-case tags too</A>
    <a href="https://mirror.example.org/x/{LINUX_311}#md5={"0123abcd" * 4}">absolute</a>
    <a name="anchor-without-href">no file</a>
    <a href="">empty</a>
    </body></html>""".encode()
    page = parse_html_page(html, "https://idx.example.org/simple/torch/", "mirror", "torch")
    mac, linux = page.artifacts
    assert mac.url == "https://idx.example.org/files/" + MAC_311
    assert mac.sha256 == MAC_311_SHA
    assert linux.url == "https://mirror.example.org/x/" + LINUX_311
    assert dict(linux.hashes) == {"md5": "0123abcd" * 4}
    assert page.skipped == ()


def test_html_fragment_that_is_not_a_hash_is_ignored() -> None:
    html = f'<a href="{MAC_311}#egg=torch">x</a><a href="{LINUX_311}#sha256=zz">y</a>'.encode()
    page = parse_html_page(html, PYPI_PAGE_URL, "pypi", "torch")
    assert [dict(a.hashes) for a in page.artifacts] == [{}, {}]
    assert [a.url for a in page.artifacts] == [PYPI_PAGE_URL + MAC_311, PYPI_PAGE_URL + LINUX_311]


def test_html_skipped_files() -> None:
    html = f"""
    <a href="../../packages/..%2F..%2Fetc%2F{MAC_311}">traversal</a>
    <a href="files/..%5C{LINUX_311}">backslash</a>
    <a href="files/%2E%2E">dots</a>
    <a href="files/">directory</a>
    <a href="torch-2.5.1.win-amd64.exe">exe</a>
    <a href="torch-2.5.1-py3.11.egg">egg</a>
    <a href="torch-2.5.1.0.0.bad-cp311-cp311-linux_x86_64.whl">bad version</a>
    <a href="torchaudio-2.5.1-cp311-cp311-linux_x86_64.whl">other project</a>
    <a href="{MAC_311}">kept</a>
    <a href="mirror/{MAC_311}">duplicate</a>
    <a href="https://[::1/{MAC_311}">broken URL</a>
    <a href="torch-2.5.1.tar.gz#sha256={"ab" * 32}">sdist</a>
    """.encode()
    page = parse_html_page(html, PYPI_PAGE_URL, "pypi", "torch")
    assert [a.filename for a in page.artifacts] == [MAC_311, "torch-2.5.1.tar.gz"]
    assert page.artifacts[0].url == PYPI_PAGE_URL + MAC_311
    reasons = [(s.filename, s.reason) for s in page.skipped]
    assert len(reasons) == 10
    assert reasons[0] == (f"../../etc/{MAC_311}", "its name contains a path separator")
    assert reasons[1] == (f"..\\{LINUX_311}", "its name contains a path separator")
    assert reasons[2] == ("..", "its name is a relative path ('..')")
    assert reasons[3] == ("", "the URL names no file")
    assert "not a wheel or an sdist" in reasons[4][1]
    assert "not a wheel or an sdist" in reasons[5][1]
    assert "does not parse" in reasons[6][1]
    assert "belongs to project 'torchaudio'" in reasons[7][1]
    assert reasons[8] == (MAC_311, "listed twice (the first entry is used)")
    assert reasons[9][0] == f"https://[::1/{MAC_311}" and "URL does not parse" in reasons[9][1]


def test_html_repository_version_meta() -> None:
    ok = f'<meta name="pypi:repository-version" content="1.1"><a href="{MAC_311}">x</a>'.encode()
    assert len(parse_html_page(ok, PYPI_PAGE_URL, "pypi", "torch").artifacts) == 1
    newer = b'<meta name="pypi:repository-version" content="2.0"><a href="x.whl">x</a>'
    with pytest.raises(IndexFormatError, match="only version 1.x"):
        parse_html_page(newer, PYPI_PAGE_URL, "pypi", "torch")


def test_html_tolerates_bad_bytes_and_broken_markup() -> None:
    html = b"\xef\xbb\xbf<html><body><a href='" + MAC_311.encode() + b"'>x\xff</a><a href=<p></div"
    page = parse_html_page(html, PYPI_PAGE_URL, "pypi", "torch")
    assert [a.filename for a in page.artifacts] == [MAC_311]


def test_html_empty_page() -> None:
    page = parse_html_page(
        b"<html><body><h1>Links for torch</h1></body></html>", PYPI_PAGE_URL, "pypi", "torch"
    )
    assert page.artifacts == () and page.skipped == ()


def test_file_index_urls() -> None:
    html = f'<a href="{MAC_311}#sha256={MAC_311_SHA}">x</a>'.encode()
    page = parse_html_page(html, "file:///srv/index/torch/", "local", "torch")
    assert page.artifacts[0].url == "file:///srv/index/torch/" + MAC_311


@given(st.text(max_size=200))
@settings(max_examples=200, deadline=None)
def test_html_never_crashes(text: str) -> None:
    try:
        parse_html_page(text.encode("utf-8", "surrogatepass"), PYPI_PAGE_URL, "pypi", "torch")
    except IndexFormatError:
        pass


# -- content negotiation ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/vnd.pypi.simple.v1+json", "json"),
        ("application/vnd.pypi.simple.v1+json; charset=utf-8", "json"),
        ("Application/VND.PyPI.Simple.V1+JSON", "json"),
        ("application/vnd.pypi.simple.latest+json", "json"),
        ("application/vnd.pypi.simple.v1+html", "html"),
        ("text/html; charset=UTF-8", "html"),
        ("text/html", "html"),
        ("application/vnd.pypi.simple.v2+json", None),
        ("application/json", None),
        ("text/plain", None),
        ("", None),
        (None, None),
    ],
)
def test_media_type_of(header: str | None, expected: str | None) -> None:
    assert media_type_of(header) == expected


def test_accept_header_prefers_json_then_html() -> None:
    parts = [part.strip() for part in ACCEPT_HEADER.split(",")]
    assert parts == [
        "application/vnd.pypi.simple.v1+json",
        "application/vnd.pypi.simple.v1+html;q=0.2",
        "text/html;q=0.01",
    ]


def _reference_parse(filename: str) -> tuple[str, str, str, str] | str:
    """packaging's own reading of a wheel or sdist name, for comparison with the page parser's."""
    from packaging.utils import (InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename,
                                 parse_wheel_filename)
    from packaging.version import InvalidVersion

    try:
        if filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(filename)
            return (name, str(version), "wheel", "-".join(filename[:-4].split("-")[-3:]))
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return (name, str(version), "sdist", "")
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion) as exc:
        return f"its name does not parse ({exc})"
    return "not a wheel or an sdist (.tar.gz / .zip)"


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(
    name=st.sampled_from(["torch", "Foo_Bar", "foo.bar", "foo__bar", "a-b", "", "x"]),
    version=st.sampled_from(["2.5.1", "2.5.1+cpu", "1.0rc1", "01.0", "1.0.post1.dev2", "bad!", "1.*"]),
    build=st.sampled_from([None, "1", "2abc", "x1", ""]),
    tags=st.sampled_from(["py3-none-any", "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
                          "py36+-none-any", "cp311-abi3-macosx_11_0_arm64", "py2.py3-none-any", "x-y",
                          "cp311-cp311-win_amd64", "py3-none-Any"]),
    ext=st.sampled_from([".whl", ".tar.gz", ".zip", ".egg"]),
)
def test_file_names_read_as_packaging_reads_them(name: str, version: str, build: str | None, tags: str,
                                                 ext: str) -> None:
    """The page parser reads a wheel's name once per version and its tags once per tag part; what
    it concludes (project, version, kind, tags, or the reason the name does not parse) is what
    packaging concludes from each whole name."""
    from planner.index.simple import _parse_filename

    if ext == ".whl":
        filename = "-".join(p for p in (name, version, build, tags) if p is not None) + ext
    else:
        filename = f"{name}-{version}{ext}"
    parsed = _parse_filename(filename)
    expected = _reference_parse(filename)
    got = parsed if isinstance(parsed, str) else (parsed.name, parsed.version_text, parsed.kind.value, parsed.tag_key)
    assert got == expected


# -- the usual entry shape, read without the general checks' detours ---------------------------
_SHA = "ab" * 32
_ENTRY_VARIANTS: dict[str, list[Any]] = {
    "url": ["https://files.example/t/{f}", "https://files.example/t/{f}#sha256=" + "cd" * 32, "/rel/{f}",
            " https://files.example/t/{f} ", "https://u:p@files.example/t/{f}", "https://files.example:8443/{f}",
            "file:///etc/{f}", "https://files.example/t/{f} x", 7],
    "hashes": [{"sha256": _SHA}, {"sha256": _SHA.upper()}, {"sha256": "ab"}, {}, {"md5": "ab" * 16},
               {"sha256": _SHA, "md5": "ab" * 16}, {"SHA256": _SHA}, {"sha256": 5}, "x"],
    "requires-python": [None, ">=3.8", " >=3.9 ", "", ">=3.8,<4", ">=3.99999999999999999999", 3.8],
    "yanked": [False, True, None, "", "broken\x00 build", "x" * 400, 1],
    "size": [None, 0, 906474467, -1, 2**41, True, "12"],
    "upload-time": [None, "2024-10-29T17:38:49.832009Z", "2024-10-29 17:38:49+01:00", "2024-13-29T17:38:49Z",
                    "yesterday", 1],
    "core-metadata": [False, True, None, {"sha256": _SHA}, {"sha256": _SHA.upper()}, {"sha256": "zz"},
                      {"md5": "ab" * 16}, "yes"],
    "_planner-metadata": [{"url": "https://pypi.org/m/{f}.metadata", "hashes": {"sha256": _SHA}},
                          {"url": "https://elsewhere.example/{f}.metadata"}, "x"],
}


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    choices=st.lists(st.dictionaries(st.sampled_from(sorted(_ENTRY_VARIANTS)), st.integers(0, 8), max_size=8),
                     min_size=1, max_size=6),
    platforms=st.sampled_from([None, frozenset({"manylinux1_x86_64", "linux_x86_64"})]),
)
def test_usual_json_entries_read_as_the_general_checks_read_them(choices: list[dict[str, int]],
                                                                  platforms: frozenset[str] | None) -> None:
    """Entries in the shape PyPI sends are read by a shorter way; whatever the entries hold
    (odd URLs, upper-case or extra hashes, bad sizes, times, yank reasons, metadata keys), the
    page comes out as the general checks alone make it: the same files, rows and reasons."""
    import planner.index.simple as simple

    names = [LINUX_311, MAC_311, "torch-2.5.1.tar.gz", LINUX_311.replace("2.5.1", "2.4.0")]
    files = []
    for n, chosen in enumerate(choices):
        filename = names[n % len(names)] if n < len(names) else names[0]  # (a repeated name is skipped)
        entry: dict[str, Any] = {"filename": filename, "url": f"https://files.example/t/{filename}",
                                 "hashes": {"sha256": _SHA}}
        for key, pick in chosen.items():
            value = _ENTRY_VARIANTS[key][pick % len(_ENTRY_VARIANTS[key])]
            entry[key] = value.replace("{f}", filename) if isinstance(value, str) else (
                {k: (v.replace("{f}", filename) if isinstance(v, str) else v) for k, v in value.items()}
                if isinstance(value, dict) else value)
        files.append(entry)
    body = pypi_json(files)
    fast = parse_json_page(body, PYPI_PAGE_URL, "pypi", "torch", platforms=platforms)
    general_only = pytest.MonkeyPatch()
    general_only.setattr(simple, "_plain_json_fields", lambda *args: None)
    try:
        general = parse_json_page(body, PYPI_PAGE_URL, "pypi", "torch", platforms=platforms)
    finally:
        general_only.undo()
    assert fast.to_record() == general.to_record()
    assert fast.skipped == general.skipped


def test_usual_json_entries_are_read_the_short_way() -> None:
    """(The comparison above means something: PyPI's entries do take the shorter way.)"""
    import planner.index.simple as simple

    entry = dict(PYPI_FILES[0], hashes={"sha256": LINUX_311_SHA})
    assert simple._plain_json_fields(entry, PYPI_PAGE_URL, None, simple._parse_filename(LINUX_311)) is not None
