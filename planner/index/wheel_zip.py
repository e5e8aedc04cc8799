"""Get the core metadata file out of an artifact without unpacking it.

- `read_wheel_metadata_ranged`: a remote wheel via HTTP range reads. It fetches the end of the zip
  (64 KiB: for most wheels the end record and the directory's `.dist-info` entries, which are
  normally the last ones; torch's central directory alone is over 1 MB), the rest of the central
  directory in one request only when the METADATA entry is not there (some tools write the
  `.dist-info` directory first), and the one member.
- `read_wheel_metadata_file`: a wheel that was downloaded anyway.
- `read_sdist_pkg_info`: `<top>/PKG-INFO` of a `.tar.gz` or `.zip` sdist; nothing is extracted.
- `read_archive_member`: any `<top>/<path>` of a source archive (a `pyproject.toml`, say), or
  None when it has none; the same rules.

All I/O goes through the callable / file object given; nothing here opens files or sockets.
Both wheel readers choose the METADATA member with `select_metadata_member`.
"""

from __future__ import annotations

import lzma
import os
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

__all__ = [
    "ArchiveError",
    "ReadRange",
    "SdistArchiveError",
    "WheelZipError",
    "read_archive_member",
    "read_sdist_pkg_info",
    "read_wheel_metadata_file",
    "read_wheel_metadata_ranged",
    "select_metadata_member",
]

ReadRange = Callable[[int, int], bytes]  # (start, end inclusive) -> exactly those bytes

# First read from the end: the end record, any comment and, for most wheels, the whole
# central directory in one request.
INITIAL_TAIL = 64 * 1024
# Bytes fetched beyond the local header + data as the central directory describes them: the
# local extra field may be longer than the central one (zip64 sizes, alignment padding).
LOCAL_HEADER_SLACK = 1024
# A METADATA larger than this is not a real one; refuse rather than inflate it.
MAX_MEMBER_SIZE = 64 * 1024 * 1024

_EOCD_SIG = b"PK\x05\x06"
_EOCD = struct.Struct("<4s4H2LH")  # 22 bytes
_ZIP64_LOCATOR_SIG = b"PK\x06\x07"
_ZIP64_LOCATOR = struct.Struct("<4sLQL")  # 20 bytes
_ZIP64_EOCD_SIG = b"PK\x06\x06"
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")  # 56 bytes
_CD_SIG = b"PK\x01\x02"
_CD = struct.Struct("<4s6H3L5HLL")  # 46 bytes
_CD_LENGTHS = struct.Struct("<3H")  # name, extra and comment lengths, at offset 28 of an entry
_LOCAL_SIG = b"PK\x03\x04"
_LOCAL = struct.Struct("<4s5H3L2H")  # 30 bytes
_MAX_COMMENT = 0xFFFF
_ZIP64_EXTRA_ID = 0x0001
_FLAG_ENCRYPTED = 0x1
_FLAG_UTF8 = 0x800
_STORED = 0
_DEFLATED = 8
_METHOD_NAMES = {1: "shrink", 6: "implode", 9: "deflate64", 12: "bzip2", 14: "lzma", 93: "zstd"}


class ArchiveError(ValueError):
    """An artifact whose metadata file cannot be read from the archive."""


class WheelZipError(ArchiveError):
    """A wheel that is not a usable zip, or has no single METADATA member."""


class SdistArchiveError(ArchiveError):
    """An sdist archive without a readable `<top>/PKG-INFO`."""


# -- member selection (shared by both wheel readers) ---------------------------------------------


def _dist_info_dir(member: str) -> str | None:
    """`foo-1.0.dist-info` for `foo-1.0.dist-info/METADATA` at the top level, else None."""
    top, sep, rest = member.partition("/")
    if sep and rest == "METADATA" and top.endswith(".dist-info") and top != ".dist-info":
        return top
    return None


def _wheel_identity(filename: str | None) -> tuple[NormalizedName, Version] | None:
    if not filename:
        return None
    try:
        name, version, _build, _tags = parse_wheel_filename(os.path.basename(filename))
    except (InvalidWheelFilename, InvalidVersion):
        return None
    return name, version


def _dir_matches(dist_info: str, identity: tuple[NormalizedName, Version]) -> bool:
    stem = dist_info[: -len(".dist-info")]
    dir_name, sep, dir_version = stem.rpartition("-")
    if not sep or canonicalize_name(dir_name) != identity[0]:
        return False
    try:
        return Version(dir_version) == identity[1]
    except InvalidVersion:
        return False


def _matching_members(names: Sequence[str], filename: str | None) -> list[str]:
    """METADATA members whose dist-info directory names the wheel's project and version."""
    identity = _wheel_identity(filename)
    if identity is None:
        return []
    return [n for n in names if (d := _dist_info_dir(n)) is not None and _dir_matches(d, identity)]


def select_metadata_member(names: Sequence[str], filename: str | None) -> str:
    """Pick the METADATA member from a wheel's complete member list.

    The one in the `<name>-<version>.dist-info/` matching the file name (normalised compare);
    failing that, the only top-level `*.dist-info/METADATA` there is. A name listed twice counts
    twice: a zip with two entries of one name is ambiguous, whichever a reader would pick.
    """
    shown = os.path.basename(filename) if filename else "wheel"
    matching = _matching_members(names, filename)
    if len(matching) == 1:
        return matching[0]
    if len(matching) > 1:
        raise _several(shown, matching)
    candidates = [n for n in names if _dist_info_dir(n) is not None]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise WheelZipError(f"{shown}: no *.dist-info/METADATA at the top level of the wheel")
    raise _several(shown, candidates)


def _several(shown: str, members: Sequence[str]) -> WheelZipError:
    listed = ", ".join(members[:5]) + (", ..." if len(members) > 5 else "")
    return WheelZipError(
        f"{shown}: several METADATA candidates, cannot tell which applies: {listed}"
    )


# -- ranged reading ------------------------------------------------------------------------------


class _Remote:
    """The file seen through `read_range`: a cached suffix (the window) plus counted reads."""

    def __init__(self, read_range: ReadRange, size: int, shown: str) -> None:
        self._read_range = read_range
        self.size = size
        self.shown = shown
        self.fetched = 0
        self.start = size  # the window is [start, size)
        self.window = b""

    def _fetch(self, start: int, end: int) -> bytes:
        data = self._read_range(start, end)
        self.fetched += len(data)
        if len(data) != end - start + 1:
            raise WheelZipError(
                f"{self.shown}: asked for bytes {start}-{end} ({end - start + 1} bytes), got "
                f"{len(data)} (truncated file or a server ignoring ranges)"
            )
        return data

    def extend_to(self, start: int) -> None:
        """Grow the window backwards so that it begins at `start` (or earlier)."""
        start = max(0, start)
        if start < self.start:
            self.window = self._fetch(start, self.start - 1) + self.window
            self.start = start

    def get(self, start: int, end: int) -> bytes:
        """Bytes [start, end], from the window when it holds them."""
        end = min(end, self.size - 1)
        if end >= self.start:
            self.extend_to(start)  # overlaps the window: fetch only the gap
            return self.window[start - self.start : end - self.start + 1]
        return self._fetch(start, end)


@dataclass(frozen=True)
class _Directory:
    start: int  # offset of the central directory
    end: int  # where it ends (== start + size)
    entries: int  # number of entries, per the end record


@dataclass(frozen=True)
class _Entry:
    name: str
    raw_name: bytes
    flags: int
    method: int
    crc: int
    compressed_size: int
    file_size: int
    header_offset: int
    extra_len: int


def read_wheel_metadata_ranged(
    read_range: ReadRange, size: int, filename: str
) -> tuple[bytes, int]:
    """The METADATA bytes of a remote wheel, and how many bytes were fetched to get them.

    `read_range(start, end)` must return exactly bytes start..end (inclusive) of the file;
    `size` is the file's length (from the index or a HEAD/Content-Range).
    """
    shown = os.path.basename(filename)
    if size < _EOCD.size:
        raise WheelZipError(f"{shown}: not a zip file (only {size} bytes)")
    remote = _Remote(read_range, size, shown)
    remote.extend_to(size - INITIAL_TAIL)
    directory = _find_directory(remote)
    entry = _find_entry(remote, directory, filename)
    data = _read_member(remote, directory, entry)
    return data, remote.fetched


def _find_directory(remote: _Remote) -> _Directory:
    shown = remote.shown
    eocd = _find_eocd(remote)
    if eocd is None:
        # The comment can be up to 64 KiB, so the record may sit just before the first tail.
        # Fetch another tail's worth too: the central directory lies before the record.
        longest_end = _EOCD.size + _MAX_COMMENT + _ZIP64_LOCATOR.size
        remote.extend_to(remote.size - longest_end - INITIAL_TAIL)
        eocd = _find_eocd(remote)
    if eocd is None:
        raise WheelZipError(f"{shown}: not a zip file (no end of central directory record)")
    (_sig, disk, cd_disk, _disk_entries, entries, cd_size, cd_offset, _comment) = _EOCD.unpack_from(
        remote.window, eocd - remote.start
    )
    cd_end = eocd

    locator_at = eocd - _ZIP64_LOCATOR.size
    if locator_at >= 0:
        remote.extend_to(locator_at)
        locator = remote.window[locator_at - remote.start : eocd - remote.start]
        if locator[:4] == _ZIP64_LOCATOR_SIG:
            _sig, _disk64, record_at, _disks = _ZIP64_LOCATOR.unpack(locator)
            # The record sits right before the locator (give or take a rare extensible data
            # sector); a locator pointing far away must not make us fetch the whole file.
            if not locator_at - INITIAL_TAIL <= record_at <= locator_at - _ZIP64_EOCD.size:
                raise WheelZipError(f"{shown}: corrupt zip64 end record locator")
            remote.extend_to(record_at)
            record = remote.window[record_at - remote.start : record_at - remote.start + 56]
            if record[:4] != _ZIP64_EOCD_SIG:
                raise WheelZipError(f"{shown}: zip64 end of central directory record not found")
            (_sig, _len, _made, _need, disk, cd_disk, _de, entries, cd_size, cd_offset) = (
                _ZIP64_EOCD.unpack(record)
            )
            cd_end = record_at
        elif 0xFFFFFFFF in (cd_size, cd_offset) or entries == 0xFFFF:
            raise WheelZipError(f"{shown}: zip64 archive without a zip64 end record locator")

    if disk != 0 or cd_disk != 0:
        raise WheelZipError(f"{shown}: multi-disk zip archives are not supported")
    if cd_offset + cd_size != cd_end:
        # Zips with data prepended (self-extractors) are legal but never wheels; not guessing.
        raise WheelZipError(
            f"{shown}: inconsistent end record (central directory at {cd_offset}, {cd_size} "
            f"bytes, but the end record is at {cd_end})"
        )
    return _Directory(start=cd_offset, end=cd_end, entries=entries)


def _find_eocd(remote: _Remote) -> int | None:
    """File offset of the end record: the last signature whose comment reaches the file end."""
    buf = remote.window
    lowest = max(0, len(buf) - _EOCD.size - _MAX_COMMENT)
    at = len(buf) - _EOCD.size
    while at >= lowest:
        at = buf.rfind(_EOCD_SIG, lowest, at + 4)
        if at < 0:
            return None
        (comment_len,) = struct.unpack_from("<H", buf, at + 20)
        if at + _EOCD.size + comment_len == len(buf):
            return remote.start + at
        at -= 1
    return None


def _find_entry(remote: _Remote, directory: _Directory, filename: str) -> _Entry:
    """Find the METADATA entry in the central directory.

    While the window holds only the directory's end, entries are found by resynchronising on a
    chain of headers that lands exactly on the directory's end; a match on the wheel's own
    `<name>-<version>.dist-info/METADATA` there ends the search. Otherwise (the dist-info
    directory comes first in some wheels, or the name tells nothing) the rest of the directory
    is fetched in one request and the choice is made on the whole of it.

    Only the entries whose name ends in `/METADATA` are decoded (a directory runs to tens of
    thousands of entries); every entry's header and length are checked all the same.
    """
    if remote.start > directory.start:
        entries = [_parse_entry(remote.window, at, directory.end - remote.start, remote.shown)[0]
                   for at in _suffix_candidates(remote, directory)]
        matching = _matching_members([e.name for e in entries], filename)
        if len(matching) > 1:
            raise _several(remote.shown, matching)
        if matching:
            return next(e for e in entries if e.name == matching[0])
        remote.extend_to(directory.start)
    entries = _all_candidates(remote, directory)
    chosen = select_metadata_member([e.name for e in entries], filename)
    return next(e for e in entries if e.name == chosen)


def _all_candidates(remote: _Remote, directory: _Directory) -> list[_Entry]:
    """The METADATA-named entries of the whole directory (held in the window), checked whole."""
    buf, base = remote.window, remote.start
    found, count, at = _scan_entries(buf, directory.start - base, directory.end - base, remote.shown)
    if at + base != directory.end or count != directory.entries:
        raise WheelZipError(
            f"{remote.shown}: corrupt central directory ({count} entries parsed, "
            f"{directory.entries} declared)"
        )
    return [_parse_entry(buf, offset, directory.end - base, remote.shown)[0] for offset in found]


def _scan_entries(buf: bytes, at: int, end: int, shown: str) -> tuple[list[int], int, int]:
    """Walk the directory entries from `at` to `end`: the offsets of those whose name ends in
    `/METADATA` (the only ones a wheel's metadata can be), how many entries, and where the
    walk stopped. Each header is checked as `_parse_entry` checks it."""
    found: list[int] = []
    count = 0
    unpack_lengths = _CD_LENGTHS.unpack_from
    while at < end:
        if at + _CD.size > end or buf[at : at + 4] != _CD_SIG:
            raise WheelZipError(f"{shown}: corrupt central directory (bad entry header)")
        name_len, extra_len, comment_len = unpack_lengths(buf, at + 28)
        name_at = at + _CD.size
        after = name_at + name_len + extra_len + comment_len
        if after > end:
            raise WheelZipError(f"{shown}: corrupt central directory (entry runs past its end)")
        if buf.endswith(b"/METADATA", name_at, name_at + name_len):
            found.append(at)
        count += 1
        at = after
    return found, count, at


def _suffix_candidates(remote: _Remote, directory: _Directory) -> list[int]:
    """Offsets of the METADATA-named entries of the directory's tail held in the window; []
    when no chain of headers is found yet."""
    buf, base = remote.window, remote.start
    end = directory.end - base
    verdict: dict[int, bool] = {}  # memo: does a header chain from here reach `end` exactly?

    def chains(at: int) -> bool:
        path: list[int] = []
        while True:
            if at == end:
                ok = True
                break
            if at in verdict:
                ok = verdict[at]
                break
            if at + _CD.size > end or buf[at : at + 4] != _CD_SIG:
                ok = False
                break
            path.append(at)
            name_len, extra_len, comment_len = _CD_LENGTHS.unpack_from(buf, at + 28)
            at += _CD.size + name_len + extra_len + comment_len
        for p in path:
            verdict[p] = ok
        return ok

    at = buf.find(_CD_SIG, 0, end)
    while at >= 0 and not chains(at):
        at = buf.find(_CD_SIG, at + 1, end)
    if at < 0:
        return []
    found, count, _ = _scan_entries(buf, at, end, remote.shown)
    if count > directory.entries:
        raise WheelZipError(f"{remote.shown}: corrupt central directory (too many entries)")
    return found


def _parse_entry(buf: bytes, at: int, end: int, shown: str) -> tuple[_Entry, int]:
    if at + _CD.size > end or buf[at : at + 4] != _CD_SIG:
        raise WheelZipError(f"{shown}: corrupt central directory (bad entry header)")
    (
        _sig,
        _made,
        _need,
        flags,
        method,
        _time,
        _date,
        crc,
        compressed_size,
        file_size,
        name_len,
        extra_len,
        comment_len,
        _disk,
        _internal,
        _external,
        header_offset,
    ) = _CD.unpack_from(buf, at)
    name_at = at + _CD.size
    after = name_at + name_len + extra_len + comment_len
    if after > end:
        raise WheelZipError(f"{shown}: corrupt central directory (entry runs past its end)")
    raw_name = buf[name_at : name_at + name_len]
    # Same decoding as zipfile, so both readers see the same names.
    name = raw_name.decode("utf-8" if flags & _FLAG_UTF8 else "cp437", errors="replace")
    extra = buf[name_at + name_len : name_at + name_len + extra_len]
    if 0xFFFFFFFF in (file_size, compressed_size, header_offset):
        file_size, compressed_size, header_offset = _zip64_values(
            extra, file_size, compressed_size, header_offset, name, shown
        )
    entry = _Entry(
        name=name,
        raw_name=raw_name,
        flags=flags,
        method=method,
        crc=crc,
        compressed_size=compressed_size,
        file_size=file_size,
        header_offset=header_offset,
        extra_len=extra_len,
    )
    return entry, after


def _zip64_values(
    extra: bytes, file_size: int, compressed_size: int, header_offset: int, name: str, shown: str
) -> tuple[int, int, int]:
    """Replace 0xFFFFFFFF fields by the zip64 extra field's values (present in that order)."""
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack_from("<2H", extra, at)
        body = extra[at + 4 : at + 4 + length]
        at += 4 + length
        if kind != _ZIP64_EXTRA_ID:
            continue
        values = [file_size, compressed_size, header_offset]
        pos = 0
        for i, value in enumerate(values):
            if value == 0xFFFFFFFF:
                if pos + 8 > len(body):
                    break
                (values[i],) = struct.unpack_from("<Q", body, pos)
                pos += 8
        else:
            return values[0], values[1], values[2]
        break
    raise WheelZipError(f"{shown}: {name} needs a zip64 extra field, which is missing or short")


def _read_member(remote: _Remote, directory: _Directory, entry: _Entry) -> bytes:
    shown = f"{remote.shown}: {entry.name}"
    if entry.flags & _FLAG_ENCRYPTED:
        raise WheelZipError(f"{shown} is encrypted")
    if entry.method not in (_STORED, _DEFLATED):
        method = _METHOD_NAMES.get(entry.method, "unknown")
        raise WheelZipError(
            f"{shown} uses unsupported compression method {entry.method} ({method}); "
            "only stored and deflate can be read by range"
        )
    if entry.file_size > MAX_MEMBER_SIZE or entry.compressed_size > MAX_MEMBER_SIZE:
        raise WheelZipError(f"{shown} is implausibly large ({entry.file_size} bytes)")
    start = entry.header_offset
    if start + _LOCAL.size > directory.start:
        raise WheelZipError(f"{shown}: local header offset {start} lies outside the file data")

    guess = _LOCAL.size + len(entry.raw_name) + entry.extra_len + entry.compressed_size
    chunk = remote.get(start, min(start + guess + LOCAL_HEADER_SLACK, directory.start) - 1)
    if chunk[:4] != _LOCAL_SIG:
        raise WheelZipError(f"{shown}: no local file header at offset {start}")
    name_len, extra_len = struct.unpack_from("<2H", chunk, 26)
    data_start = _LOCAL.size + name_len + extra_len
    data_end = data_start + entry.compressed_size
    if start + data_end > directory.start:
        raise WheelZipError(f"{shown}: member data runs into the central directory (truncated?)")
    if chunk[_LOCAL.size : _LOCAL.size + name_len] != entry.raw_name:
        # A local header naming another file means the directory points at the wrong place.
        raise WheelZipError(f"{shown}: local header names a different file")
    if data_end > len(chunk):  # a local extra field longer than the slack allowed for
        chunk += remote.get(start + len(chunk), start + data_end - 1)
    compressed = chunk[data_start:data_end]
    return _decompress(compressed, entry, shown)


def _decompress(compressed: bytes, entry: _Entry, shown: str) -> bytes:
    if entry.method == _STORED:
        data = compressed
    else:
        inflater = zlib.decompressobj(-15)  # raw deflate: zip members carry no zlib header
        try:
            # One byte over the declared size is enough to notice a lie without inflating a bomb.
            data = inflater.decompress(compressed, entry.file_size + 1)
        except zlib.error as exc:
            raise WheelZipError(f"{shown}: corrupt deflate data ({exc})") from exc
        if len(data) <= entry.file_size and not inflater.eof:
            raise WheelZipError(f"{shown}: deflate data is truncated")
    if len(data) != entry.file_size:
        raise WheelZipError(
            f"{shown}: size mismatch ({len(data)} bytes, the directory says {entry.file_size})"
        )
    if zlib.crc32(data) & 0xFFFFFFFF != entry.crc:
        raise WheelZipError(f"{shown}: CRC-32 mismatch (corrupt or altered member)")
    return data


# -- whole files ---------------------------------------------------------------------------------


# What zipfile raises on damaged archives besides BadZipFile: bad seeks (ValueError), absurd
# sizes (OverflowError), "zip file version 17.2" (NotImplementedError), encrypted members
# (RuntimeError), undecodable names (UnicodeDecodeError, a ValueError), short reads (EOFError).
_ZIP_FAILURES: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    OverflowError,
    NotImplementedError,
    RuntimeError,
)


def _shown_name(fileobj: IO[bytes], filename: str | None, default: str) -> str:
    if filename:
        return os.path.basename(filename)
    name = getattr(fileobj, "name", None)
    return os.path.basename(name) if isinstance(name, str) and name else default


def read_wheel_metadata_file(fileobj: IO[bytes], filename: str | None = None) -> bytes:
    """The METADATA bytes of a downloaded wheel (a seekable binary file object).

    `filename` (default: the file object's name) picks the dist-info directory, as in the ranged
    reader. Any compression `zipfile` supports is accepted here.
    """
    shown = _shown_name(fileobj, filename, "wheel")
    try:
        archive = zipfile.ZipFile(fileobj)
    except _ZIP_FAILURES as exc:
        raise WheelZipError(f"{shown}: not a zip file ({exc})") from exc
    with archive:
        member = select_metadata_member(archive.namelist(), filename or shown)
        info = archive.getinfo(member)
        if info.file_size > MAX_MEMBER_SIZE:
            raise WheelZipError(f"{shown}: {member} is implausibly large ({info.file_size} bytes)")
        try:
            return archive.read(info)
        except _ZIP_FAILURES as exc:
            raise WheelZipError(f"{shown}: cannot read {member} ({exc})") from exc


def read_sdist_pkg_info(fileobj: IO[bytes], filename: str) -> bytes:
    """`<top>/PKG-INFO` of an sdist, `<top>` being the archive's single top-level directory.

    Tar archives (any compression tarfile knows) and zips; members are only read, never
    extracted, and PKG-INFO must be a regular file (no links followed).
    """
    found = _archive_member(fileobj, filename, "PKG-INFO", required=True)
    assert found is not None
    return found


def read_archive_member(fileobj: IO[bytes], filename: str, path: str) -> bytes | None:
    """`<top>/<path>` of a source archive (`path` relative, `/`-separated), None when absent.

    The archive must have a single top-level directory (sdists and GitHub's archives do); the
    member must be a regular file (no links followed) of at most `MAX_MEMBER_SIZE`."""
    return _archive_member(fileobj, filename, path, required=False)


def _archive_member(fileobj: IO[bytes], filename: str, path: str, *, required: bool) -> bytes | None:
    shown = os.path.basename(filename)
    lower = shown.lower()
    wanted = _member_path(path)
    if lower.endswith(".zip"):
        return _zip_member(fileobj, shown, wanted, required)
    if lower.endswith((".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz", ".tar.xz", ".txz")):
        return _tar_member(fileobj, shown, wanted, required)
    raise SdistArchiveError(f"{shown}: unsupported sdist format (expected .tar.gz or .zip)")


def _member_path(name: str) -> list[str]:
    """Path components of an archive member, ignoring `.` and empty parts (`./a//b/` -> a, b)."""
    return [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]


def _single_top(paths: Sequence[list[str]], shown: str) -> str:
    tops = {parts[0] for parts in paths if parts}
    if len(tops) != 1:
        listed = ", ".join(sorted(tops)[:5]) or "nothing"
        raise SdistArchiveError(
            f"{shown}: an sdist has exactly one top-level directory; found {listed}"
        )
    return tops.pop()


def _member_index(paths: Sequence[list[str]], top: str, wanted: list[str], shown: str,
                  required: bool) -> int | None:
    hits = [i for i, parts in enumerate(paths) if parts == [top, *wanted]]
    if len(hits) > 1:
        raise SdistArchiveError(f"{shown}: {'/'.join([top, *wanted])} appears {len(hits)} times")
    if not hits and required:
        raise SdistArchiveError(f"{shown}: no {'/'.join([top, *wanted])} in the sdist")
    return hits[0] if hits else None


def _tar_member(fileobj: IO[bytes], shown: str, wanted: list[str], required: bool) -> bytes | None:
    try:
        with tarfile.open(fileobj=fileobj, mode="r:*") as archive:
            members = archive.getmembers()
            paths = [_member_path(m.name) for m in members]
            top = _single_top(paths, shown)
            index = _member_index(paths, top, wanted, shown, required)
            if index is None:
                return None
            member = members[index]
            if not member.isfile():
                raise SdistArchiveError(f"{shown}: {'/'.join([top, *wanted])} is not a regular file")
            if member.size > MAX_MEMBER_SIZE:
                raise SdistArchiveError(f"{shown}: {'/'.join(wanted)} is implausibly large")
            stream = archive.extractfile(member)
            if stream is None:
                raise SdistArchiveError(f"{shown}: {'/'.join([top, *wanted])} cannot be read")
            with stream:
                return stream.read()
    except SdistArchiveError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
        # gzip and bz2 report corrupt streams as OSError, lzma with its own error.
        raise SdistArchiveError(f"{shown}: not a readable tar archive ({exc})") from exc


def _zip_member(fileobj: IO[bytes], shown: str, wanted: list[str], required: bool) -> bytes | None:
    try:
        with zipfile.ZipFile(fileobj) as archive:
            infos = archive.infolist()
            paths = [_member_path(i.filename) for i in infos]
            top = _single_top(paths, shown)
            index = _member_index(paths, top, wanted, shown, required)
            if index is None:
                return None
            info = infos[index]
            # A zip member whose external attributes say "symbolic link" (S_IFLNK) is no file.
            if info.is_dir() or (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise SdistArchiveError(f"{shown}: {'/'.join([top, *wanted])} is not a regular file")
            if info.file_size > MAX_MEMBER_SIZE:
                raise SdistArchiveError(f"{shown}: {'/'.join(wanted)} is implausibly large")
            return archive.read(info)
    except SdistArchiveError:
        raise
    except _ZIP_FAILURES as exc:
        raise SdistArchiveError(f"{shown}: not a readable zip archive ({exc})") from exc
