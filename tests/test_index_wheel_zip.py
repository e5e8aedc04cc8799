"""Reading METADATA out of wheels (by range and whole) and PKG-INFO out of sdists.

Every archive is built here with zipfile / tarfile (or by hand, for zip64 layouts zipfile only
writes for huge archives); one test reads the real torch CPU wheel when the machine has it.
"""

from __future__ import annotations

import io
import os
import random
import struct
import tarfile
import warnings
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from planner.index.metadata import (
    MetadataError,
    MetadataNeedsBuild,
    parse_core_metadata,
    parse_sdist_metadata,
    parse_wheel_metadata,
)
from planner.index.wheel_zip import (
    INITIAL_TAIL,
    ArchiveError,
    SdistArchiveError,
    WheelZipError,
    read_sdist_pkg_info,
    read_wheel_metadata_file,
    read_wheel_metadata_ranged,
    select_metadata_member,
)
from tests.fixtures.seed_indexes import TORCH_REQUIRES_DIST

# torch 2.5.1 on PyPI, as listed in reference/seed-9310/README.md.
# The reference list of Requires-Dist of torch 2.5.1 (shared with the fixture indexes).
TORCH_251_REQUIRES_DIST = list(TORCH_REQUIRES_DIST)

TORCH_WHEEL = "torch-2.5.1-cp311-cp311-manylinux1_x86_64.whl"
TORCH_DIST_INFO = "torch-2.5.1.dist-info"
TORCH_METADATA = (
    "Metadata-Version: 2.1\n"
    "Name: torch\n"
    "Version: 2.5.1\n"
    "Summary: Tensors and Dynamic neural networks in Python with strong GPU acceleration\n"
    "Requires-Python: >=3.8.0\n"
    + "".join(f"Requires-Dist: {line}\n" for line in TORCH_251_REQUIRES_DIST)
    + "Provides-Extra: opt-einsum\nProvides-Extra: optree\n\n"
    + "PyTorch is a Python package that provides two high-level features.\n" * 40
).encode()

REAL_TORCH = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")


# -- helpers -------------------------------------------------------------------------------------


class RangeServer:
    """`read_range` over bytes in memory, recording each request like an HTTP server log."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.requests: list[tuple[int, int]] = []

    def __call__(self, start: int, end: int) -> bytes:
        assert 0 <= start <= end < len(self.data), (start, end, len(self.data))
        self.requests.append((start, end))
        return self.data[start : end + 1]

    @property
    def served(self) -> int:
        return sum(end - start + 1 for start, end in self.requests)


def wheel_members(
    dist_info: str = TORCH_DIST_INFO,
    metadata: bytes = TORCH_METADATA,
    *,
    package_files: int = 3,
    name_padding: int = 0,
) -> list[tuple[str, bytes]]:
    """Members in the order wheel builders write them: package files first, dist-info last."""
    pad = "x" * name_padding
    members = [
        (f"torch/sub{i // 100}/module_{i}{pad}.py", f"# {i}\n".encode())
        for i in range(package_files)
    ]
    members += [
        (f"{dist_info}/METADATA", metadata),
        (f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp311-cp311-x\n"),
        (f"{dist_info}/top_level.txt", b"torch\n"),
        (f"{dist_info}/RECORD", b"".join(f"{n},,\n".encode() for n, _ in members)),
    ]
    return members


def build_zip(
    members: Iterable[tuple[str, bytes]],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
    comment: bytes = b"",
    per_member: dict[str, dict[str, object]] | None = None,
) -> bytes:
    """A zip made by zipfile; `per_member` sets ZipInfo options (compress_type, force_zip64)."""
    per_member = per_member or {}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicate names are deliberate here
        with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
            for name, data in members:
                options = dict(per_member.get(name, {}))
                force_zip64 = bool(options.pop("force_zip64", False))
                info = zipfile.ZipInfo(name, date_time=(2024, 11, 20, 12, 0, 0))
                info.compress_type = int(options.pop("compress_type", compression))  # type: ignore[call-overload]
                info.comment = bytes(options.pop("comment", b""))  # type: ignore[call-overload]
                assert not options, options
                with archive.open(info, "w", force_zip64=force_zip64) as out:
                    out.write(data)
            archive.comment = comment
    return buffer.getvalue()


def build_zip64_by_hand(
    members: Iterable[tuple[str, bytes]], *, comment: bytes = b"", local_padding: int = 0
) -> bytes:
    """A zip in full zip64 dress: every size and offset lives in zip64 extra fields, and the end
    records are the zip64 record + locator + a classic record of 0xFFFF.. placeholders.
    `local_padding` adds an extra field of that many bytes to local headers only (as zipalign
    does), so that local and central headers differ in length."""
    out = bytearray()
    directory = bytearray()
    count = 0
    for name, data in members:
        raw_name = name.encode()
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        compressed = packer.compress(data) + packer.flush()
        crc = zlib.crc32(data)
        offset = len(out)
        local_extra = struct.pack("<2H2Q", 1, 16, len(data), len(compressed))
        if local_padding:
            local_extra += struct.pack("<2H", 0xD935, local_padding) + b"\0" * local_padding
        out += struct.pack(
            "<4s5H3L2H",
            b"PK\x03\x04",
            45,
            0,
            8,
            0,
            0x21,
            crc,
            0xFFFFFFFF,
            0xFFFFFFFF,
            len(raw_name),
            len(local_extra),
        )
        out += raw_name + local_extra + compressed
        central_extra = struct.pack("<2H3Q", 1, 24, len(data), len(compressed), offset)
        directory += struct.pack(
            "<4s6H3L5HLL",
            b"PK\x01\x02",
            45,
            45,
            0,
            8,
            0,
            0x21,
            crc,
            0xFFFFFFFF,
            0xFFFFFFFF,
            len(raw_name),
            len(central_extra),
            0,
            0,
            0,
            0,
            0xFFFFFFFF,
        )
        directory += raw_name + central_extra
        count += 1
    directory_at = len(out)
    out += directory
    record_at = len(out)
    out += struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory), directory_at
    )
    out += struct.pack("<4sLQL", b"PK\x06\x07", 0, record_at, 1)
    out += struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, len(comment)
    )
    return bytes(out + comment)


def read_all_ways(data: bytes, filename: str) -> tuple[bytes, bytes, RangeServer, int]:
    server = RangeServer(data)
    ranged, fetched = read_wheel_metadata_ranged(server, len(data), filename)
    whole = read_wheel_metadata_file(io.BytesIO(data), filename)
    assert fetched == server.served
    return ranged, whole, server, fetched


def requires(data: bytes) -> list[str]:
    return [str(r) for r in parse_core_metadata(data).requires_dist]


def incompressible(size: int, seed: int = 9310) -> bytes:
    return random.Random(seed).randbytes(size)


# -- happy paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_small_wheel(compression: int) -> None:
    data = build_zip(wheel_members(), compression=compression)
    ranged, whole, server, fetched = read_all_ways(data, TORCH_WHEEL)
    assert ranged == whole == TORCH_METADATA
    assert len(server.requests) == 1  # the whole file fits the first tail read
    assert fetched == len(data)


def test_three_paths_agree_on_requires_dist() -> None:
    data = build_zip([("torch/_C.so", incompressible(300_000)), *wheel_members(package_files=50)])
    ranged, whole, _server, _fetched = read_all_ways(data, TORCH_WHEEL)
    expected = [str(Requirement(line)) for line in TORCH_251_REQUIRES_DIST]
    assert requires(TORCH_METADATA) == expected
    assert requires(ranged) == expected
    assert requires(whole) == expected
    parsed = parse_wheel_metadata(ranged, TORCH_WHEEL)
    assert parsed.name == "torch"
    assert len(parsed.requires_dist) == 23


def test_large_member_is_not_downloaded() -> None:
    big = incompressible(4 * 1024 * 1024)
    data = build_zip([("torch/lib/libtorch_cpu.so", big), *wheel_members()])
    ranged, whole, server, fetched = read_all_ways(data, TORCH_WHEEL)
    assert ranged == whole == TORCH_METADATA
    assert fetched < INITIAL_TAIL + len(TORCH_METADATA) + 2048
    assert fetched * 50 < len(data)
    # The tail, and the member (header + data) in one go unless the tail already held it.
    assert len(server.requests) <= 2


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_zip_comment(compression: int) -> None:
    data = build_zip(
        [("torch/big.bin", incompressible(200_000)), *wheel_members()],
        compression=compression,
        comment=b"built by a tool that likes comments",
    )
    ranged, whole, _server, _fetched = read_all_ways(data, TORCH_WHEEL)
    assert ranged == whole == TORCH_METADATA


def test_end_record_signature_inside_the_comment() -> None:
    # zipfile takes the last signature it sees and fails on this one; the range reader only
    # accepts a record whose comment length reaches the end of the file.
    data = build_zip(wheel_members(), comment=b"look: PK\x05\x06 and more text after it")
    ranged, _fetched = read_wheel_metadata_ranged(RangeServer(data), len(data), TORCH_WHEEL)
    assert ranged == TORCH_METADATA


def test_maximal_zip_comment_pushes_the_end_record_out_of_the_first_tail() -> None:
    data = build_zip(
        [("torch/big.bin", incompressible(300_000)), *wheel_members()],
        comment=b"c" * 0xFFFF,
    )
    ranged, whole, server, _fetched = read_all_ways(data, TORCH_WHEEL)
    assert ranged == whole == TORCH_METADATA
    assert len(server.requests) == 2  # tail, then more tail with the record and directory


def test_central_directory_larger_than_the_first_tail_read() -> None:
    members = wheel_members(package_files=3000, name_padding=40)
    data = build_zip([("torch/lib/big.so", incompressible(1_000_000)), *members])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        directory_size = len(data) - archive.start_dir
    assert directory_size > 3 * INITIAL_TAIL
    ranged, whole, _server, fetched = read_all_ways(data, TORCH_WHEEL)
    assert ranged == whole == TORCH_METADATA
    # dist-info entries are last, so the directory's tail was enough.
    assert fetched < directory_size


def test_dist_info_at_the_front_needs_the_whole_directory() -> None:
    members = wheel_members(package_files=3000, name_padding=40)
    members = members[-4:] + members[:-4]  # dist-info first, as some odd tools write it
    data = build_zip([*members, ("torch/lib/big.so", incompressible(1_000_000))])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        directory_size = len(data) - archive.start_dir
    ranged, whole, server, fetched = read_all_ways(data, TORCH_WHEEL)
    assert ranged == whole == TORCH_METADATA
    assert fetched >= directory_size
    assert fetched < directory_size + 2 * INITIAL_TAIL + len(TORCH_METADATA)  # not the big member
    # The tail, the rest of the directory in one request (not a window doubled step by step),
    # then the member.
    assert len(server.requests) == 3


def test_unparsable_file_name_reads_the_whole_directory_then_takes_the_only_candidate() -> None:
    data = build_zip(wheel_members(package_files=3000, name_padding=40))
    ranged, whole, _server, _fetched = read_all_ways(data, "download.zip")
    assert ranged == whole == TORCH_METADATA


def test_force_zip64_member_has_a_longer_local_header() -> None:
    data = build_zip(
        [("torch/big.bin", incompressible(200_000)), *wheel_members()],
        per_member={f"{TORCH_DIST_INFO}/METADATA": {"force_zip64": True}},
    )
    ranged, whole, _server, _fetched = read_all_ways(data, TORCH_WHEEL)
    assert ranged == whole == TORCH_METADATA


@pytest.mark.parametrize("comment", [b"", b"a zip64 comment"])
def test_full_zip64_layout(comment: bytes) -> None:
    data = build_zip64_by_hand(
        [("torch/big.bin", incompressible(300_000)), *wheel_members()], comment=comment
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:  # the hand-made file is a valid zip
        assert archive.read(f"{TORCH_DIST_INFO}/METADATA") == TORCH_METADATA
    ranged, whole, _server, fetched = read_all_ways(data, TORCH_WHEEL)
    assert ranged == whole == TORCH_METADATA
    assert fetched < len(data) // 3


def test_zip64_with_a_directory_beyond_the_first_tail() -> None:
    members = wheel_members(package_files=3000, name_padding=40)
    data = build_zip64_by_hand([("torch/big.bin", incompressible(300_000)), *members])
    ranged, whole, _server, _fetched = read_all_ways(data, TORCH_WHEEL)
    assert ranged == whole == TORCH_METADATA


def test_normalised_dist_info_name_is_matched() -> None:
    metadata = b"Metadata-Version: 2.1\nName: Typing_Extensions\nVersion: 4.12.2\n"
    members = [
        ("typing_extensions.py", b"pass\n"),
        ("Typing_Extensions-4.12.2.dist-info/METADATA", metadata),
        ("typing_extensions-4.12.1.dist-info/METADATA", b"stale copy"),
    ]
    data = build_zip(members)
    ranged, whole, _server, _fetched = read_all_ways(
        data, "typing_extensions-4.12.2-py3-none-any.whl"
    )
    assert ranged == whole == metadata


# -- member selection ----------------------------------------------------------------------------


def test_select_metadata_member_rules() -> None:
    wheel = "Foo_Bar-1.0-py3-none-any.whl"
    assert (
        select_metadata_member(["foo/__init__.py", "foo.bar-1.0.0.dist-info/METADATA"], wheel)
        == "foo.bar-1.0.0.dist-info/METADATA"
    )
    # The matching directory wins over others.
    assert (
        select_metadata_member(
            ["other-2.0.dist-info/METADATA", "foo_bar-1.0.dist-info/METADATA"], wheel
        )
        == "foo_bar-1.0.dist-info/METADATA"
    )
    # A single top-level candidate is accepted even when its directory name is off.
    assert select_metadata_member(["foobar-1.0.dist-info/METADATA"], wheel) == (
        "foobar-1.0.dist-info/METADATA"
    )
    assert select_metadata_member(["x-1.dist-info/METADATA"], None) == "x-1.dist-info/METADATA"
    # Nested or differently named files are not candidates.
    with pytest.raises(WheelZipError, match="no \\*.dist-info/METADATA at the top level"):
        select_metadata_member(
            [
                "vendor/foo_bar-1.0.dist-info/METADATA",
                "foo_bar-1.0.dist-info/metadata",
                "foo_bar-1.0.dist-info/METADATA.bak",
                ".dist-info/METADATA",
            ],
            wheel,
        )
    with pytest.raises(WheelZipError, match="several METADATA candidates"):
        select_metadata_member(["a-1.0.dist-info/METADATA", "b-1.0.dist-info/METADATA"], wheel)
    with pytest.raises(WheelZipError, match="several METADATA candidates"):
        select_metadata_member(
            ["foo_bar-1.0.dist-info/METADATA", "Foo.Bar-1.0.dist-info/METADATA"], wheel
        )
    with pytest.raises(WheelZipError, match="several METADATA candidates"):
        select_metadata_member(["foo_bar-1.0.dist-info/METADATA"] * 2, wheel)


# -- failures ------------------------------------------------------------------------------------


def both_fail(data: bytes, filename: str, match: str) -> None:
    with pytest.raises(WheelZipError, match=match):
        read_wheel_metadata_ranged(RangeServer(data), len(data), filename)
    with pytest.raises(WheelZipError, match=match):
        read_wheel_metadata_file(io.BytesIO(data), filename)


def test_not_a_zip() -> None:
    both_fail(incompressible(100_000), TORCH_WHEEL, "not a zip file")
    both_fail(b"<html>404</html>", TORCH_WHEEL, "not a zip file")
    with pytest.raises(WheelZipError, match="only 2 bytes"):
        read_wheel_metadata_ranged(RangeServer(b"PK"), 2, TORCH_WHEEL)


def test_no_metadata() -> None:
    data = build_zip([("torch/__init__.py", b""), ("torch-2.5.1.dist-info/WHEEL", b"x")])
    both_fail(data, TORCH_WHEEL, "no \\*.dist-info/METADATA")


def test_several_candidates() -> None:
    data = build_zip(
        [("a-1.0.dist-info/METADATA", b"Name: a"), ("b-1.0.dist-info/METADATA", b"Name: b")]
    )
    both_fail(data, TORCH_WHEEL, "several METADATA candidates")


def test_duplicate_member_name_is_ambiguous() -> None:
    evil = TORCH_METADATA.replace(b"Requires-Dist: filelock\n", b"Requires-Dist: evil\n")
    data = build_zip([*wheel_members(), (f"{TORCH_DIST_INFO}/METADATA", evil)])
    both_fail(data, TORCH_WHEEL, "several METADATA candidates")


def test_duplicate_in_a_partly_read_directory_is_ambiguous() -> None:
    members = wheel_members(package_files=3000, name_padding=40)
    data = build_zip([*members, (f"{TORCH_DIST_INFO}/METADATA", b"second")])
    with pytest.raises(WheelZipError, match="several METADATA candidates"):
        read_wheel_metadata_ranged(RangeServer(data), len(data), TORCH_WHEEL)


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_unsupported_compression_by_range(method: int) -> None:
    data = build_zip(
        wheel_members(), per_member={f"{TORCH_DIST_INFO}/METADATA": {"compress_type": method}}
    )
    with pytest.raises(WheelZipError, match=f"unsupported compression method {method}"):
        read_wheel_metadata_ranged(RangeServer(data), len(data), TORCH_WHEEL)
    # A downloaded file is read by zipfile, which knows these; that is the fallback.
    assert read_wheel_metadata_file(io.BytesIO(data), TORCH_WHEEL) == TORCH_METADATA


def test_crc_mismatch() -> None:
    data = build_zip(wheel_members(), compression=zipfile.ZIP_STORED)
    needle = b"Requires-Dist: filelock"
    assert data.count(needle) == 1
    tampered = data.replace(needle, b"Requires-Dist: evillock")
    both_fail(tampered, TORCH_WHEEL, "CRC")


def _patch_central_entry(data: bytes, name: str, **fields: int) -> bytes:
    """Rewrite fields of `name`'s central directory entry (offsets within the 46-byte header)."""
    layout = {
        "flags": (8, "<H"),
        "method": (10, "<H"),
        "crc": (16, "<L"),
        "compressed_size": (20, "<L"),
        "file_size": (24, "<L"),
        "header_offset": (42, "<L"),
    }
    at = 0
    raw = name.encode()
    while True:
        at = data.index(b"PK\x01\x02", at)
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_len] == raw:
            break
        at += 4
    patched = bytearray(data)
    for field, value in fields.items():
        offset, fmt = layout[field]
        struct.pack_into(fmt, patched, at + offset, value)
    return bytes(patched)


def _central_entry(data: bytes, name: str) -> zipfile.ZipInfo:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.getinfo(name)


def test_truncated_deflate_data() -> None:
    data = build_zip([("torch/big.bin", incompressible(100_000)), *wheel_members()])
    member = f"{TORCH_DIST_INFO}/METADATA"
    info = _central_entry(data, member)
    short = _patch_central_entry(data, member, compressed_size=info.compress_size - 20)
    with pytest.raises(WheelZipError, match="truncated|corrupt deflate"):
        read_wheel_metadata_ranged(RangeServer(short), len(short), TORCH_WHEEL)


def test_size_mismatch() -> None:
    data = build_zip(wheel_members(), compression=zipfile.ZIP_STORED)
    member = f"{TORCH_DIST_INFO}/METADATA"
    info = _central_entry(data, member)
    lying = _patch_central_entry(data, member, file_size=info.file_size + 1)
    with pytest.raises(WheelZipError, match="size mismatch"):
        read_wheel_metadata_ranged(RangeServer(lying), len(lying), TORCH_WHEEL)


def test_member_offset_pointing_elsewhere() -> None:
    data = build_zip([("torch/big.bin", incompressible(100_000)), *wheel_members()])
    member = f"{TORCH_DIST_INFO}/METADATA"
    wrong = _patch_central_entry(data, member, header_offset=0)
    with pytest.raises(WheelZipError, match="local header names a different file"):
        read_wheel_metadata_ranged(RangeServer(wrong), len(wrong), TORCH_WHEEL)
    past = _patch_central_entry(data, member, header_offset=len(data) - 10)
    with pytest.raises(WheelZipError, match="outside the file data"):
        read_wheel_metadata_ranged(RangeServer(past), len(past), TORCH_WHEEL)


def test_short_range_response_is_truncation() -> None:
    data = build_zip([("torch/big.bin", incompressible(200_000)), *wheel_members()])

    def short(start: int, end: int) -> bytes:
        return data[start : end + 1][:-1]

    with pytest.raises(WheelZipError, match="truncated"):
        read_wheel_metadata_ranged(short, len(data), TORCH_WHEEL)


def test_wrong_size_means_no_end_record() -> None:
    data = build_zip([("torch/big.bin", incompressible(200_000)), *wheel_members()])
    with pytest.raises(WheelZipError, match="not a zip file"):
        read_wheel_metadata_ranged(RangeServer(data), len(data) - 100, TORCH_WHEEL)


def test_prepended_data_is_refused_by_range() -> None:
    data = b"#!/bin/sh\n" + build_zip(wheel_members())
    with pytest.raises(WheelZipError, match="inconsistent end record"):
        read_wheel_metadata_ranged(RangeServer(data), len(data), TORCH_WHEEL)


def test_implausibly_large_member() -> None:
    data = build_zip(wheel_members(), compression=zipfile.ZIP_STORED)
    lying = _patch_central_entry(
        data, f"{TORCH_DIST_INFO}/METADATA", file_size=0xFFFFFFFE, compressed_size=0xFFFFFFFE
    )
    with pytest.raises(WheelZipError, match="implausibly large"):
        read_wheel_metadata_ranged(RangeServer(lying), len(lying), TORCH_WHEEL)


def test_encrypted_member() -> None:
    data = build_zip(wheel_members(), compression=zipfile.ZIP_STORED)
    locked = _patch_central_entry(data, f"{TORCH_DIST_INFO}/METADATA", flags=0x1)
    with pytest.raises(WheelZipError, match="is encrypted"):
        read_wheel_metadata_ranged(RangeServer(locked), len(locked), TORCH_WHEEL)


def test_member_offset_into_other_data() -> None:
    data = build_zip([("torch/big.bin", incompressible(100_000)), *wheel_members()])
    wrong = _patch_central_entry(data, f"{TORCH_DIST_INFO}/METADATA", header_offset=5000)
    with pytest.raises(WheelZipError, match="no local file header at offset 5000"):
        read_wheel_metadata_ranged(RangeServer(wrong), len(wrong), TORCH_WHEEL)


def test_member_data_running_into_the_directory() -> None:
    data = build_zip(wheel_members(), compression=zipfile.ZIP_STORED)
    member = f"{TORCH_DIST_INFO}/METADATA"
    info = _central_entry(data, member)
    lying = _patch_central_entry(data, member, compressed_size=info.compress_size + 100_000)
    with pytest.raises(WheelZipError, match="runs into the central directory"):
        read_wheel_metadata_ranged(RangeServer(lying), len(lying), TORCH_WHEEL)


def test_corrupt_deflate_stream() -> None:
    data = build_zip([("torch/big.bin", incompressible(100_000)), *wheel_members()])
    info = _central_entry(data, f"{TORCH_DIST_INFO}/METADATA")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    broken = data[:start] + b"\xff" * 8 + data[start + 8 :]  # block type 3 does not exist
    both_fail(broken, TORCH_WHEEL, "corrupt deflate|Error -3")


def test_local_extra_longer_than_the_slack() -> None:
    data = build_zip64_by_hand(
        [("torch/big.bin", incompressible(300_000)), *wheel_members()], local_padding=30_000
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read(f"{TORCH_DIST_INFO}/METADATA") == TORCH_METADATA
    ranged, whole, _server, _fetched = read_all_ways(data, TORCH_WHEEL)
    assert ranged == whole == TORCH_METADATA


def test_names_containing_the_header_signature_do_not_confuse_resynchronisation() -> None:
    members = [(f"torch/PK\x01\x02{i:05d}" + "PK\x01\x02" * 8 + ".py", b"") for i in range(2500)]
    data = build_zip([*members, *wheel_members()])
    ranged, whole, _server, fetched = read_all_ways(data, TORCH_WHEEL)
    assert ranged == whole == TORCH_METADATA
    assert fetched < len(data) // 2


def test_first_window_inside_one_huge_directory_entry() -> None:
    members = wheel_members(package_files=3000, name_padding=40)
    last = members[-1][0]
    data = build_zip(members, per_member={last: {"comment": b"c" * 0xFFFF}})
    ranged, whole, server, _fetched = read_all_ways(data, TORCH_WHEEL)
    assert ranged == whole == TORCH_METADATA
    assert len(server.requests) >= 3  # tail (no entry start in it), more directory, member


def _zip64_end(data: bytes) -> tuple[int, int]:
    """Offsets of the zip64 locator and the classic end record of a hand-made zip64 file."""
    eocd = len(data) - 22
    assert data[eocd : eocd + 4] == b"PK\x05\x06"
    return eocd - 20, eocd


def test_zip64_locator_pointing_nowhere() -> None:
    data = build_zip64_by_hand(wheel_members())
    locator, _eocd = _zip64_end(data)
    for bad in (0, locator - 100, len(data) + 1000):
        patched = bytearray(data)
        struct.pack_into("<Q", patched, locator + 8, bad)
        with pytest.raises(WheelZipError, match="zip64"):
            read_wheel_metadata_ranged(RangeServer(bytes(patched)), len(patched), TORCH_WHEEL)


def test_zip64_placeholders_without_a_locator() -> None:
    data = build_zip64_by_hand(wheel_members())
    locator, _eocd = _zip64_end(data)
    patched = bytearray(data)
    patched[locator : locator + 4] = b"XXXX"
    with pytest.raises(WheelZipError, match="zip64 archive without a zip64 end record locator"):
        read_wheel_metadata_ranged(RangeServer(bytes(patched)), len(patched), TORCH_WHEEL)


def test_zip64_placeholder_without_the_extra_field() -> None:
    data = build_zip(wheel_members(), compression=zipfile.ZIP_STORED)
    lying = _patch_central_entry(data, f"{TORCH_DIST_INFO}/METADATA", file_size=0xFFFFFFFF)
    with pytest.raises(WheelZipError, match="needs a zip64 extra field"):
        read_wheel_metadata_ranged(RangeServer(lying), len(lying), TORCH_WHEEL)


def test_entry_count_disagreeing_with_the_end_record() -> None:
    data = bytearray(build_zip(wheel_members()))
    struct.pack_into("<2H", data, len(data) - 22 + 8, 99, 99)
    with pytest.raises(WheelZipError, match="corrupt central directory"):
        read_wheel_metadata_ranged(RangeServer(bytes(data)), len(data), TORCH_WHEEL)


def test_multi_disk_archive() -> None:
    data = bytearray(build_zip(wheel_members()))
    struct.pack_into("<H", data, len(data) - 22 + 4, 1)
    with pytest.raises(WheelZipError, match="multi-disk"):
        read_wheel_metadata_ranged(RangeServer(bytes(data)), len(data), TORCH_WHEEL)


def test_damaged_archives_only_raise_archive_errors() -> None:
    """Flip bytes near the end (where the directory lives) and in the middle: every reader
    either returns bytes or raises an ArchiveError, never a stray zipfile/zlib/struct error."""
    rng = random.Random(9310)
    wheels = [
        build_zip(wheel_members(package_files=200, name_padding=40)),
        build_zip(wheel_members(), compression=zipfile.ZIP_STORED),
        build_zip64_by_hand(wheel_members(package_files=50)),
    ]
    sdists = [
        ("demo-1.0.tar.gz", build_tar(sdist_members(pkg_info("2.2")))),
        ("demo-1.0.zip", build_zip(sdist_members(pkg_info("2.2")))),
    ]
    for _ in range(400):
        wheel = bytearray(rng.choice(wheels))
        for _flip in range(rng.randint(1, 4)):
            at = len(wheel) - 1 - min(int(rng.expovariate(1 / 3000)), len(wheel) - 1)
            wheel[at] = rng.randrange(256)
        damaged = bytes(wheel)
        try:
            read_wheel_metadata_ranged(RangeServer(damaged), len(damaged), TORCH_WHEEL)
        except ArchiveError:
            pass
        try:
            read_wheel_metadata_file(io.BytesIO(damaged), TORCH_WHEEL)
        except ArchiveError:
            pass
        name, sdist = rng.choice(sdists)
        archive = bytearray(sdist)
        for _flip in range(rng.randint(1, 4)):
            archive[rng.randrange(len(archive))] = rng.randrange(256)
        try:
            read_sdist_pkg_info(io.BytesIO(bytes(archive)), name)
        except ArchiveError:
            pass


def test_errors_are_value_errors() -> None:
    assert issubclass(WheelZipError, ArchiveError)
    assert issubclass(SdistArchiveError, ArchiveError)
    assert issubclass(ArchiveError, ValueError)


# -- the real torch wheel ------------------------------------------------------------------------


@pytest.mark.skipif(not REAL_TORCH.exists(), reason=f"{REAL_TORCH} is not on this machine")
def test_real_torch_wheel_by_range() -> None:
    size = REAL_TORCH.stat().st_size
    with REAL_TORCH.open("rb") as handle:
        requests: list[tuple[int, int]] = []

        def read_range(start: int, end: int) -> bytes:
            requests.append((start, end))
            handle.seek(start)
            return handle.read(end - start + 1)

        data, fetched = read_wheel_metadata_ranged(read_range, size, REAL_TORCH.name)
        handle.seek(0)
        whole = read_wheel_metadata_file(handle)
    assert fetched < 1_000_000
    assert fetched * 1000 < size
    assert data == whole
    parsed = parse_wheel_metadata(data, REAL_TORCH.name)
    assert parsed.name == "torch"
    assert str(parsed.version).endswith("+cpu")
    assert parsed.requires_dist
    assert len(requests) <= 3


# -- sdists --------------------------------------------------------------------------------------


def pkg_info(metadata_version: str, *dynamic: str, name: str = "demo") -> bytes:
    lines = [
        f"Metadata-Version: {metadata_version}",
        f"Name: {name}",
        "Version: 1.0",
        "Requires-Dist: requests>=2",
        'Requires-Dist: rich; extra == "cli"',
        "Provides-Extra: cli",
        *(f"Dynamic: {field}" for field in dynamic),
    ]
    return ("\n".join(lines) + "\n").encode()


def build_tar(members: Iterable[tuple[str, bytes]], *, mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sdist_members(pkg: bytes, top: str = "demo-1.0") -> list[tuple[str, bytes]]:
    return [
        (f"{top}/pyproject.toml", b"[project]\nname = 'demo'\n"),
        (f"{top}/src/demo.egg-info/PKG-INFO", b"Name: wrong\nVersion: 9\n"),
        (f"{top}/PKG-INFO", pkg),
        (f"{top}/src/demo/__init__.py", b""),
    ]


def build_sdist(kind: str, members: list[tuple[str, bytes]]) -> bytes:
    return build_tar(members) if kind == "tar.gz" else build_zip(members)


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_sdist_static_metadata(kind: str) -> None:
    filename = f"demo-1.0.{kind}"
    data = build_sdist(kind, sdist_members(pkg_info("2.2")))
    raw = read_sdist_pkg_info(io.BytesIO(data), filename)
    assert raw == pkg_info("2.2")
    parsed = parse_sdist_metadata(raw, filename)
    assert [r.name for r in parsed.requires_dist] == ["requests", "rich"]
    assert parsed.provides_extra == ("cli",)


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_sdist_metadata_2_1_needs_a_build(kind: str) -> None:
    filename = f"demo-1.0.{kind}"
    data = build_sdist(kind, sdist_members(pkg_info("2.1")))
    raw = read_sdist_pkg_info(io.BytesIO(data), filename)
    with pytest.raises(MetadataNeedsBuild, match=f"sdist {filename} has Metadata-Version 2.1"):
        parse_sdist_metadata(raw, filename)


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_sdist_dynamic_requires_dist_needs_a_build(kind: str) -> None:
    filename = f"demo-1.0.{kind}"
    data = build_sdist(kind, sdist_members(pkg_info("2.2", "Requires-Dist")))
    raw = read_sdist_pkg_info(io.BytesIO(data), filename)
    with pytest.raises(MetadataNeedsBuild, match="declares Requires-Dist as dynamic"):
        parse_sdist_metadata(raw, filename)


def test_sdist_name_mismatch() -> None:
    data = build_tar(sdist_members(pkg_info("2.2", name="evil")))
    raw = read_sdist_pkg_info(io.BytesIO(data), "demo-1.0.tar.gz")
    with pytest.raises(MetadataError, match="claims to be evil 1.0, expected demo 1.0"):
        parse_sdist_metadata(raw, "demo-1.0.tar.gz")


@pytest.mark.parametrize("mode", ["w:", "w:bz2", "w:xz"])
def test_sdist_other_tar_compressions(mode: str) -> None:
    suffix = {"w:": "tar", "w:bz2": "tar.bz2", "w:xz": "tar.xz"}[mode]
    data = build_tar(sdist_members(pkg_info("2.2")), mode=mode)
    assert read_sdist_pkg_info(io.BytesIO(data), f"demo-1.0.{suffix}") == pkg_info("2.2")


def test_sdist_with_dot_slash_member_names() -> None:
    data = build_tar([("./demo-1.0/", b""), ("./demo-1.0/PKG-INFO", pkg_info("2.2"))])
    assert read_sdist_pkg_info(io.BytesIO(data), "demo-1.0.tar.gz") == pkg_info("2.2")


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_sdist_with_two_top_level_entries(kind: str) -> None:
    members = [*sdist_members(pkg_info("2.2")), ("other/PKG-INFO", pkg_info("2.2"))]
    with pytest.raises(
        SdistArchiveError, match="exactly one top-level directory; found demo-1.0, other"
    ):
        read_sdist_pkg_info(io.BytesIO(build_sdist(kind, members)), f"demo-1.0.{kind}")


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_sdist_without_pkg_info(kind: str) -> None:
    members = [m for m in sdist_members(pkg_info("2.2")) if m[0] != "demo-1.0/PKG-INFO"]
    with pytest.raises(SdistArchiveError, match="no demo-1.0/PKG-INFO"):
        read_sdist_pkg_info(io.BytesIO(build_sdist(kind, members)), f"demo-1.0.{kind}")


def test_sdist_pkg_info_symlink_is_not_followed() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        target = tarfile.TarInfo("demo-1.0/real")
        target.size = 3
        archive.addfile(target, io.BytesIO(b"abc"))
        link = tarfile.TarInfo("demo-1.0/PKG-INFO")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    with pytest.raises(SdistArchiveError, match="not a regular file"):
        read_sdist_pkg_info(io.BytesIO(buffer.getvalue()), "demo-1.0.tar.gz")


def test_sdist_duplicate_pkg_info() -> None:
    members = [*sdist_members(pkg_info("2.2")), ("demo-1.0/PKG-INFO", b"Name: evil\n")]
    with pytest.raises(SdistArchiveError, match="appears 2 times"):
        read_sdist_pkg_info(io.BytesIO(build_tar(members)), "demo-1.0.tar.gz")


def test_sdist_bad_archives() -> None:
    with pytest.raises(SdistArchiveError, match="not a readable tar archive"):
        read_sdist_pkg_info(io.BytesIO(b"not gzip at all"), "demo-1.0.tar.gz")
    with pytest.raises(SdistArchiveError, match="not a readable tar archive"):
        read_sdist_pkg_info(io.BytesIO(build_tar(sdist_members(b"x"))[:200]), "demo-1.0.tar.gz")
    with pytest.raises(SdistArchiveError, match="not a readable zip archive"):
        read_sdist_pkg_info(io.BytesIO(b"not a zip"), "demo-1.0.zip")
    with pytest.raises(SdistArchiveError, match="unsupported sdist format"):
        read_sdist_pkg_info(io.BytesIO(b""), "demo-1.0.rar")


def test_wheel_file_reader_takes_the_name_from_the_file_object(tmp_path: Path) -> None:
    path = tmp_path / TORCH_WHEEL
    path.write_bytes(build_zip(wheel_members()))
    with path.open("rb") as handle:
        assert read_wheel_metadata_file(handle) == TORCH_METADATA
    assert os.path.exists(path)  # nothing extracted or moved
