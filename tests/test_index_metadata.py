"""Core metadata parsing, the sdist static-metadata rule and artifact hash checks."""

from __future__ import annotations

import hashlib

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.version import Version

from planner.index.metadata import (
    HashMismatch,
    MetadataError,
    MetadataNeedsBuild,
    check_sdist_metadata,
    hash_algorithm_for,
    metadata_from_record,
    metadata_record,
    parse_core_metadata,
    parse_sdist_metadata,
    parse_wheel_metadata,
    sdist_metadata_usable,
    verify_hash,
)
from planner.index.models import CoreMetadata
from tests.fixtures.seed_indexes import TORCH_REQUIRES_DIST

# torch 2.5.1 on PyPI, as listed in reference/seed-9310/README.md (read from the real wheels).
# The reference list of Requires-Dist of torch 2.5.1 (shared with the fixture indexes).
TORCH_251_REQUIRES_DIST = list(TORCH_REQUIRES_DIST)


def torch_metadata(version: str = "2.5.1", metadata_version: str = "2.1") -> bytes:
    lines = [
        f"Metadata-Version: {metadata_version}",
        "Name: torch",
        f"Version: {version}",
        "Summary: Tensors and Dynamic neural networks in Python with strong GPU acceleration",
        "Home-page: https://pytorch.org/",
        "Author: PyTorch Team",
        "License: BSD-3-Clause",
        "Keywords: pytorch,machine learning",
        "Classifier: Programming Language :: Python :: 3.11",
        "Requires-Python: >=3.8.0",
        "Description-Content-Type: text/markdown",
        "License-File: LICENSE",
        *(f"Requires-Dist: {line}" for line in TORCH_251_REQUIRES_DIST),
        "Provides-Extra: opt-einsum",
        "Provides-Extra: optree",
        "",
        "![PyTorch Logo](https://github.com/pytorch/pytorch/raw/main/docs/source/_static/img/pytorch-logo-dark.png)",
        "",
        "PyTorch is a Python package that provides two high-level features:",
        "Requires-Dist: not-a-header (this is the description body)",
        "",
    ]
    return "\n".join(lines).encode()


def meta(*fields: str, body: str = "") -> bytes:
    text = "\n".join(fields) + "\n"
    if body:
        text += "\n" + body
    return text.encode()


# -- parsing -------------------------------------------------------------------------------------


def test_torch_metadata_parses_every_requirement() -> None:
    parsed = parse_core_metadata(torch_metadata())
    assert parsed.name == "torch"
    assert parsed.version == Version("2.5.1")
    assert parsed.requires_python == ">=3.8.0"
    assert parsed.metadata_version == "2.1"
    assert parsed.provides_extra == ("opt-einsum", "optree")
    assert parsed.dynamic == ()
    assert [str(r) for r in parsed.requires_dist] == [
        str(Requirement(line)) for line in TORCH_251_REQUIRES_DIST
    ]
    assert len(parsed.requires_dist) == 23  # the body's look-alike line is not a field


def test_torch_requirements_evaluate_per_target() -> None:
    parsed = parse_core_metadata(torch_metadata())
    linux = {
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "python_version": "3.11",
        "sys_platform": "linux",
        "extra": "",
    }
    macos = {**linux, "platform_system": "Darwin", "platform_machine": "arm64"}

    def active(env: dict[str, str]) -> set[str]:
        return {r.name for r in parsed.requires_dist if r.marker is None or r.marker.evaluate(env)}

    assert {"triton", "nvidia-nccl-cu12", "sympy", "filelock"} <= active(linux)
    assert not any(n.startswith("nvidia-") or n == "triton" for n in active(macos))
    assert "setuptools" not in active(macos)
    assert "setuptools" in active({**macos, "python_version": "3.12"})


def test_metadata_record_reads_back_equal() -> None:
    """What a warm run loads instead of parsing again is the same metadata, requirement by
    requirement (markers and extras included)."""
    for parsed in (parse_core_metadata(torch_metadata()),
                   parse_core_metadata(torch_metadata(version="2.5.1+cpu"), expected_version="2.5.1+cpu")):
        again = metadata_from_record(metadata_record(parsed))
        assert again == parsed
        assert again.metadata_version == parsed.metadata_version and again.dynamic == parsed.dynamic
        assert [(r.name, r.extras, r.specifier, str(r.marker)) for r in again.requires_dist] == \
            [(r.name, r.extras, r.specifier, str(r.marker)) for r in parsed.requires_dist]
    for damaged in (b"", b"{}", b'{"name": "x"}', b"not json", metadata_record(parsed).replace(b"torch", b"\xff")):
        with pytest.raises(MetadataError):
            metadata_from_record(damaged)


def test_local_version_label_is_kept() -> None:
    parsed = parse_core_metadata(torch_metadata(version="2.5.1+cpu"), expected_version="2.5.1+cpu")
    assert parsed.version == Version("2.5.1+cpu")
    assert str(parsed.version) == "2.5.1+cpu"


@pytest.mark.parametrize(
    "metadata_version", ["1.0", "1.1", "1.2", "2.0", "2.1", "2.2", "2.3", "2.4"]
)
def test_every_metadata_version_is_read(metadata_version: str) -> None:
    parsed = parse_core_metadata(
        meta(f"Metadata-Version: {metadata_version}", "Name: demo", "Version: 1.0")
    )
    assert (parsed.name, parsed.version) == ("demo", Version("1.0"))
    assert parsed.metadata_version == metadata_version
    assert parsed.requires_dist == ()
    assert parsed.requires_python is None


def test_real_world_oddities_are_tolerated() -> None:
    data = (
        b"\xef\xbb\xbfMetadata-Version: 2.4\r\n"
        b"Name: Demo_Project\r\n"
        b"Version: 01.02\r\n"
        b"X-Custom-Field: whatever\r\n"
        b"License-Expression: MIT\r\n"
        b"License-File: LICENSE\r\n"
        b"Import-Name: demo\r\n"
        b"Project-URL: broken url without a comma\r\n"
        b"Requires-Dist: \r\n"
        b"Requires-Dist: Requests [Socks] >= 2.0 ; python_version>='3.8'\r\n"
        b"Provides-Extra: Socks_Support\r\n"
        b"Provides-Extra: socks-support\r\n"
        b"Provides-Extra: Dev\r\n"
        b"Dynamic: Requires-Dist\r\n"
        b"Dynamic: License-File\r\n"
        b"Requires-Python:  >=3.8 \r\n"
        b"\r\n"
        b"Caf\xc3\xa9 description, with UTF-8.\r\n"
    )
    parsed = parse_core_metadata(data)
    assert parsed.name == "demo-project"
    assert parsed.version == Version("1.2")
    (req,) = parsed.requires_dist
    assert str(req) == str(Requirement("Requests[Socks]>=2.0; python_version>='3.8'"))
    assert req == Requirement("requests[Socks]>=2.0; python_version >= '3.8'")
    assert parsed.provides_extra == ("socks-support", "dev")
    assert parsed.dynamic == ("requires-dist", "license-file")
    assert parsed.requires_python == ">=3.8"


def test_folded_requires_dist_line_is_joined_by_the_email_parser() -> None:
    data = meta(
        "Metadata-Version: 2.1",
        "Name: demo",
        "Version: 1.0",
        'Requires-Dist: foo>=1.0; python_version >= "3.8"',
        "\tand sys_platform != 'win32'",
    )
    (req,) = parse_core_metadata(data).requires_dist
    assert req.name == "foo"
    assert req.marker is not None
    assert req.marker == Marker('python_version >= "3.8" and sys_platform != "win32"')


def test_bad_requires_dist_line_is_named() -> None:
    data = meta(
        "Metadata-Version: 2.1",
        "Name: demo",
        "Version: 1.0",
        "Requires-Dist: good>=1",
        "Requires-Dist: bad-req (>=1.0",
    )
    with pytest.raises(MetadataError, match=r"Requires-Dist line 'bad-req \(>=1.0' does not parse"):
        parse_core_metadata(data, origin="demo-1.0-py3-none-any.whl")
    with pytest.raises(MetadataError, match=r"^demo-1.0-py3-none-any.whl: "):
        parse_core_metadata(data, origin="demo-1.0-py3-none-any.whl")


def test_bad_marker_in_requires_dist_is_an_error() -> None:
    data = meta("Name: demo", "Version: 1.0", 'Requires-Dist: foo; os_nam == "nt"')
    with pytest.raises(MetadataError, match="foo; os_nam"):
        parse_core_metadata(data)


def test_metadata_error_is_a_value_error() -> None:
    assert issubclass(MetadataError, ValueError)
    assert issubclass(MetadataNeedsBuild, MetadataError)
    assert issubclass(HashMismatch, MetadataError)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (("Metadata-Version: 2.1", "Version: 1.0"), "has no Name field"),
        (("Metadata-Version: 2.1", "Name:   ", "Version: 1.0"), "has no Name field"),
        (("Metadata-Version: 2.1", "Name: demo"), "demo has no Version field"),
        (("Name: demo", "Version: one point oh"), "invalid Version 'one point oh'"),
        (("Name: demo", "Name: other", "Version: 1.0"), "2 different Name fields"),
        (("Name: demo", "Version: 1.0", "Version: 2.0"), "2 different Version fields"),
        (("Metadata-Version: 3.0", "Name: demo", "Version: 1.0"), "Metadata-Version 3.0"),
    ],
)
def test_unusable_identity_fields(fields: tuple[str, ...], message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        parse_core_metadata(meta(*fields))


def test_empty_and_garbage_input() -> None:
    with pytest.raises(MetadataError, match="no Name"):
        parse_core_metadata(b"")
    with pytest.raises(MetadataError, match="no Name"):
        parse_core_metadata(b"\x00\x01\x02 not metadata at all")


def test_repeated_identical_name_is_accepted() -> None:
    parsed = parse_core_metadata(meta("Name: demo", "Name: demo", "Version: 1.0"))
    assert parsed.name == "demo"


def test_non_utf8_description_does_not_matter() -> None:
    data = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: caf\xe9\n\nbody \xff\n"
    parsed = parse_core_metadata(data)
    assert parsed.name == "demo"


# -- expected name / version ---------------------------------------------------------------------


def test_expected_identity_matches_after_normalisation() -> None:
    data = meta("Name: Typing_Extensions", "Version: 4.12.2")
    parsed = parse_core_metadata(
        data, expected_name="typing-extensions", expected_version="4.12.2.0"
    )
    assert parsed.name == "typing-extensions"
    parse_core_metadata(data, expected_name="TYPING.extensions", expected_version=Version("4.12.2"))


def test_name_mismatch_is_refused() -> None:
    with pytest.raises(MetadataError, match="metadata claims to be evil 1.0, expected demo 1.0"):
        parse_core_metadata(
            meta("Name: evil", "Version: 1.0"), expected_name="demo", expected_version="1.0"
        )


def test_version_mismatch_is_refused() -> None:
    with pytest.raises(MetadataError, match=r"claims to be torch 2.5.1, expected torch 2.5.1\+cpu"):
        parse_core_metadata(torch_metadata("2.5.1"), expected_version="2.5.1+cpu")
    with pytest.raises(MetadataError, match="claims to be torch 2.4.0, expected torch 2.5.1"):
        parse_core_metadata(
            torch_metadata("2.4.0"), expected_name="torch", expected_version="2.5.1"
        )


def test_parse_wheel_metadata_checks_the_file_name() -> None:
    data = torch_metadata("2.5.1+cpu")
    parsed = parse_wheel_metadata(data, "torch-2.5.1+cpu-cp311-cp311-linux_x86_64.whl")
    assert parsed.version == Version("2.5.1+cpu")
    with pytest.raises(MetadataError, match=r"^torch-2.5.1-cp311.*claims to be torch 2.5.1\+cpu"):
        parse_wheel_metadata(data, "torch-2.5.1-cp311-cp311-manylinux1_x86_64.whl")
    with pytest.raises(MetadataError, match="expected numpy 2.5.1"):
        parse_wheel_metadata(data, "numpy-2.5.1+cpu-cp311-cp311-linux_x86_64.whl")
    # Explicit expectations win over the file name (e.g. a renamed download).
    parse_wheel_metadata(data, "download.whl", expected_name="torch", expected_version="2.5.1+cpu")


def test_wheel_dynamic_field_is_kept_but_harmless() -> None:
    # Real torch wheels carry "Dynamic: requires-dist"; in a built wheel it means nothing.
    data = meta("Metadata-Version: 2.4", "Name: torch", "Version: 2.13.0", "Dynamic: requires-dist")
    parsed = parse_wheel_metadata(data, "torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl")
    assert parsed.dynamic == ("requires-dist",)


# -- sdists --------------------------------------------------------------------------------------


def sdist_pkg_info(metadata_version: str, *dynamic: str) -> bytes:
    return meta(
        f"Metadata-Version: {metadata_version}",
        "Name: demo",
        "Version: 1.0",
        "Requires-Dist: requests>=2",
        'Requires-Dist: rich; extra == "cli"',
        "Provides-Extra: cli",
        *(f"Dynamic: {field}" for field in dynamic),
    )


def test_static_sdist_metadata_is_usable() -> None:
    parsed = parse_sdist_metadata(sdist_pkg_info("2.2"), "demo-1.0.tar.gz")
    assert [r.name for r in parsed.requires_dist] == ["requests", "rich"]
    assert sdist_metadata_usable(parsed)
    assert sdist_metadata_usable(parsed, "2.4")


def test_sdist_with_other_dynamic_fields_is_usable() -> None:
    parsed = parse_sdist_metadata(sdist_pkg_info("2.2", "License", "Classifier"), "demo-1.0.tar.gz")
    assert parsed.dynamic == ("license", "classifier")


def test_sdist_before_2_2_needs_a_build() -> None:
    with pytest.raises(MetadataNeedsBuild) as info:
        parse_sdist_metadata(sdist_pkg_info("2.1"), "demo-1.0.tar.gz")
    message = str(info.value)
    assert message.startswith("sdist demo-1.0.tar.gz has Metadata-Version 2.1")
    assert message.endswith("its dependencies are only known after a build")
    assert info.value.filename == "demo-1.0.tar.gz"
    assert info.value.reason == "Metadata-Version 2.1"


def test_sdist_with_dynamic_requires_dist_needs_a_build() -> None:
    with pytest.raises(MetadataNeedsBuild) as info:
        parse_sdist_metadata(sdist_pkg_info("2.2", "Requires-Dist"), "demo-1.0.zip")
    assert str(info.value) == (
        "sdist demo-1.0.zip declares Requires-Dist as dynamic; its dependencies are only known "
        "after a build"
    )
    assert info.value.reason == "dynamic Requires-Dist"


def test_sdist_without_metadata_version_needs_a_build() -> None:
    with pytest.raises(MetadataNeedsBuild, match="has no Metadata-Version"):
        parse_sdist_metadata(meta("Name: demo", "Version: 1.0"), "demo-1.0.tar.gz")


def test_sdist_usable_predicate_and_check() -> None:
    static = parse_core_metadata(sdist_pkg_info("2.2"))
    dynamic = parse_core_metadata(sdist_pkg_info("2.3", "requires-dist"))
    old = parse_core_metadata(sdist_pkg_info("1.2"))
    assert sdist_metadata_usable(static)
    assert not sdist_metadata_usable(dynamic)
    assert not sdist_metadata_usable(old)
    assert not sdist_metadata_usable(static, "2.1")  # an explicit version overrides the record
    assert not sdist_metadata_usable(static, "garbage")
    check_sdist_metadata(static, "demo-1.0.tar.gz")
    with pytest.raises(MetadataNeedsBuild, match="declares Requires-Dist as dynamic"):
        check_sdist_metadata(dynamic, "demo-1.0.tar.gz")


def test_sdist_identity_is_checked_before_staticness() -> None:
    with pytest.raises(MetadataError, match="claims to be demo 1.0, expected demo 2.0") as info:
        parse_sdist_metadata(sdist_pkg_info("2.1"), "demo-2.0.tar.gz")
    assert not isinstance(info.value, MetadataNeedsBuild)
    # Legacy file names that do not parse are not held against the sdist.
    parsed = parse_sdist_metadata(sdist_pkg_info("2.2"), "demo-1.0.tar.bz2")
    assert parsed.name == "demo"


def test_metadata_version_does_not_affect_equality() -> None:
    a = parse_core_metadata(sdist_pkg_info("2.2"))
    b = parse_core_metadata(sdist_pkg_info("2.3"))
    assert a == b
    assert isinstance(a, CoreMetadata)


# -- hashes --------------------------------------------------------------------------------------

PAYLOAD = b"some wheel bytes"
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


def test_hash_match_and_empty_hashes() -> None:
    verify_hash(PAYLOAD, {"sha256": SHA256})
    verify_hash(PAYLOAD, {"sha256": SHA256.upper()})
    verify_hash(PAYLOAD, {"SHA256": SHA256})
    verify_hash(PAYLOAD, {})


def test_hash_mismatch() -> None:
    wrong = hashlib.sha256(b"other bytes").hexdigest()
    with pytest.raises(HashMismatch) as info:
        verify_hash(PAYLOAD, {"sha256": wrong}, what="torch-2.5.1.whl.metadata")
    assert info.value.algorithm == "sha256"
    assert info.value.expected == wrong
    assert info.value.actual == SHA256
    assert str(info.value).startswith("torch-2.5.1.whl.metadata does not match its sha256 hash")


@pytest.mark.parametrize("algorithm", ["sha384", "sha512", "sha1", "md5"])
def test_other_algorithms(algorithm: str) -> None:
    good = hashlib.new(algorithm, PAYLOAD).hexdigest()
    verify_hash(PAYLOAD, {algorithm: good})
    with pytest.raises(HashMismatch, match=algorithm):
        verify_hash(PAYLOAD, {algorithm: "0" * len(good)})


def test_sha256_is_preferred() -> None:
    hashes = {"md5": "0" * 32, "sha256": SHA256}
    assert hash_algorithm_for(hashes) == "sha256"
    verify_hash(PAYLOAD, hashes)  # the weaker, wrong md5 is not consulted
    with pytest.raises(HashMismatch, match="sha256"):
        verify_hash(PAYLOAD, {"md5": hashlib.md5(PAYLOAD).hexdigest(), "sha256": "0" * 64})
    assert hash_algorithm_for({"md5": "x", "sha512": "y"}) == "sha512"


def test_unknown_algorithms_only_cannot_be_verified() -> None:
    assert hash_algorithm_for({"blake2b_256": "abc"}) is None
    with pytest.raises(MetadataError, match="no supported hash algorithm among blake2b_256"):
        verify_hash(PAYLOAD, {"blake2b_256": "abc"})
    # An unknown one next to a known one is ignored.
    verify_hash(PAYLOAD, {"blake2b_256": "abc", "sha256": SHA256})


def test_requires_dist_with_no_space_before_the_marker_after_a_url_is_read_as_uv_reads_it() -> None:
    data = meta("Metadata-Version: 2.1", "Name: demo", "Version: 1.0",
                "Requires-Dist: dion @ https://files.example.com/dion-1.0-py3-none-any.whl; sys_platform == 'linux'")
    (req,) = parse_core_metadata(data).requires_dist
    assert req.url == "https://files.example.com/dion-1.0-py3-none-any.whl"
    assert req.marker == Marker("sys_platform == 'linux'")


@pytest.mark.parametrize("line", [
    'idna>=2.5; extra == "Socks"',
    "pytest [testing ,  extra2] (>=7,<9) ; python_version<'3.12' and extra=='Test_Suite'",
    'numpy>=1.26;platform_machine=="x86_64"  ',
    'typing-extensions ; python_version < "3.11"',
    'pkg @ https://example.com/pkg.whl ; sys_platform == "linux"',  # a URL: read whole
    "pkg>=1;",  # an empty marker: refused, as a whole line is
    "pkg>=1; os_name ==",  # a broken marker
    "pkg>=1.0.0.0; python_version ~= '3'",  # parses, cannot be evaluated
])
def test_requirements_read_as_a_whole_line_reads(line: str) -> None:
    """Requires-Dist lines are read in parts (the marker apart, shared between lines): each
    gives what `packaging` gives for the whole line, and errors read the same."""
    metadata = f"Metadata-Version: 2.1\nName: x\nVersion: 1\nRequires-Dist: {line}\n".encode()
    try:
        whole = Requirement(line)
    except ValueError:
        with pytest.raises(MetadataError, match="does not parse"):
            parse_core_metadata(metadata)
        return
    if "~=" in line:
        with pytest.raises(MetadataError, match="cannot be evaluated"):
            parse_core_metadata(metadata)
        return
    (read,) = parse_core_metadata(metadata).requires_dist
    assert (str(read), repr(read), read.name, read.url, read.extras, str(read.specifier), read.marker) == \
        (str(whole), repr(whole), whole.name, whole.url, whole.extras, str(whole.specifier), whole.marker)
    assert read == whole and hash(read) == hash(whole)
    # The same marker in another line: one `Marker`, shared; extras are each line's own.
    if read.marker is not None and "@" not in line:
        other = metadata.replace(line.encode(), b"other[a]" + line[line.index(";"):].encode())
        (again,) = parse_core_metadata(other).requires_dist
        assert again.marker is read.marker and again.extras is not read.extras
