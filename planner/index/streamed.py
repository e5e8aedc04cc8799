"""Metadata from an artifact read once as a stream and kept nowhere: the last way to read it.

A full download used to land in TMPDIR (4 GiB for some wheels). Now the bytes stream through,
hashed as they pass (`Fetcher.read_through`), and only what the metadata needs is kept:

- zip files (wheels, legacy .zip sdists): the first `HEAD` and the last `TAIL` bytes. The zip
  directory sits at the end, and wheels put their `.dist-info` last, so the METADATA member is
  almost always in the tail. When it is not, reading it raises `Gap` with the byte range
  needed, and a second pass keeps that range too (`capture(..., extra=...)`);
- tar sdists: decompressed and read member by member as they arrive (`tarfile`'s stream mode);
  at most `MAX_UNPACKED` bytes and `MAX_MEMBERS` members, so a decompression bomb ends early.

Pure: the readers take file objects; the caller owns the network.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zlib
from collections.abc import Iterator

from planner.index.wheel_zip import (
    MAX_MEMBER_SIZE,
    SdistArchiveError,
    WheelZipError,
    _member_path,
    _zip_member,
    read_wheel_metadata_file,
)

HEAD = 1024 * 1024
TAIL = 16 * 1024 * 1024
MAX_UNPACKED = 2 * 1024**3  # bytes an sdist may unpack to while its PKG-INFO is looked for
MAX_MEMBERS = 200_000
_CHUNK = 1024 * 1024


class Gap(Exception):  # noqa: N818 - not an error: the range a second pass must keep
    """Reading needed bytes `start..end` (inclusive), which were not kept."""

    def __init__(self, start: int, end: int) -> None:
        super().__init__(f"bytes {start}-{end} were not kept")
        self.start = start
        self.end = end


class Captured:
    """What was kept of a stream: its size, head, tail and one extra range."""

    def __init__(self, size: int, pieces: list[tuple[int, bytes]]) -> None:
        self.size = size
        self.pieces = pieces  # (offset, bytes), possibly overlapping

    def read(self, start: int, end: int) -> bytes:
        """Bytes `start..end-1`; `Gap` when they were not all kept."""
        end = min(end, self.size)
        if start >= end:
            return b""
        for offset, data in self.pieces:
            if offset <= start and end <= offset + len(data):
                return data[start - offset:end - offset]
        raise Gap(start, end - 1)

    def file(self) -> _CapturedFile:
        return _CapturedFile(self)


class _CapturedFile(io.RawIOBase):
    """A seekable, read-only view of a `Captured` stream (for zipfile)."""

    def __init__(self, captured: Captured) -> None:
        super().__init__()
        self.captured = captured
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.captured.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def,override]
        data = self.captured.read(self.position, self.position + len(buffer))
        buffer[:len(data)] = data
        self.position += len(data)
        return len(data)


def _chunks(stream: io.RawIOBase) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk


def capture(stream: io.RawIOBase, extra: tuple[int, int] | None = None) -> Captured:
    """Read `stream` to its end, keeping its head, its tail and the `extra` range (inclusive)."""
    head = bytearray()
    tail: list[bytes] = []
    tail_bytes = 0
    extra_data = bytearray()
    position = 0
    for chunk in _chunks(stream):
        if len(head) < HEAD:
            head += chunk[:HEAD - len(head)]
        if extra is not None:
            low, high = max(extra[0], position), min(extra[1] + 1, position + len(chunk))
            if low < high:
                extra_data += chunk[low - position:high - position]
        tail.append(chunk)
        tail_bytes += len(chunk)
        while tail and tail_bytes - len(tail[0]) >= TAIL:
            tail_bytes -= len(tail.pop(0))
        position += len(chunk)
    tail_data = b"".join(tail)
    pieces = [(0, bytes(head)), (position - len(tail_data), tail_data)]
    if extra is not None:
        pieces.append((extra[0], bytes(extra_data)))
    return Captured(position, pieces)


def wheel_metadata(captured: Captured, filename: str) -> bytes:
    """The METADATA of a captured wheel (`Gap` when it lies outside what was kept)."""
    return read_wheel_metadata_file(captured.file(), filename)


def zip_sdist_pkg_info(captured: Captured, filename: str) -> bytes:
    found = _zip_member(captured.file(), filename.rsplit("/", 1)[-1], ["PKG-INFO"], required=True)
    assert found is not None
    return found


class _Bounded(io.RawIOBase):
    """Decompressed bytes, counted: more than `MAX_UNPACKED` is an `SdistArchiveError`."""

    def __init__(self, stream: io.BufferedIOBase, shown: str) -> None:
        super().__init__()
        self.stream = stream
        self.shown = shown
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def,override]
        data = self.stream.read(len(buffer))
        self.total += len(data)
        if self.total > MAX_UNPACKED:
            raise SdistArchiveError(f"{self.shown}: unpacks to more than {MAX_UNPACKED // 1024**3} GiB "
                                    "before its PKG-INFO is found (a decompression bomb?)")
        buffer[:len(data)] = data
        return len(data)


def tar_sdist_pkg_info(stream: io.RawIOBase, filename: str) -> bytes:
    """`<top>/PKG-INFO` of a tar sdist read as a stream (gzip, bzip2, xz or plain)."""
    shown = filename.rsplit("/", 1)[-1]
    buffered = io.BufferedReader(stream, _CHUNK)
    magic = buffered.peek(6)[:6]
    try:
        unpacked: io.BufferedIOBase
        if magic.startswith(b"\x1f\x8b"):
            unpacked = gzip.GzipFile(fileobj=buffered, mode="rb")
        elif magic.startswith(b"BZh"):
            unpacked = bz2.BZ2File(buffered)  # type: ignore[assignment]
        elif magic.startswith(b"\xfd7zXZ\x00"):
            unpacked = lzma.LZMAFile(buffered)  # type: ignore[assignment]
        else:
            unpacked = buffered
        tops: set[str] = set()
        found: bytes | None = None
        with tarfile.open(fileobj=_Bounded(unpacked, shown), mode="r|") as archive:
            for count, member in enumerate(archive, 1):
                if count > MAX_MEMBERS:
                    raise SdistArchiveError(f"{shown}: more than {MAX_MEMBERS} members")
                parts = _member_path(member.name)
                if parts:
                    tops.add(parts[0])
                if len(tops) > 1:
                    listed = ", ".join(sorted(tops)[:5])
                    raise SdistArchiveError(f"{shown}: an sdist has exactly one top-level directory; found {listed}")
                if len(parts) == 2 and parts[1] == "PKG-INFO":
                    if found is not None:
                        raise SdistArchiveError(f"{shown}: {parts[0]}/PKG-INFO appears twice")
                    if not member.isfile():
                        raise SdistArchiveError(f"{shown}: {parts[0]}/PKG-INFO is not a regular file")
                    if member.size > MAX_MEMBER_SIZE:
                        raise SdistArchiveError(f"{shown}: PKG-INFO is implausibly large")
                    content = archive.extractfile(member)
                    if content is None:
                        raise SdistArchiveError(f"{shown}: {parts[0]}/PKG-INFO cannot be read")
                    found = content.read()
        if not tops:
            raise SdistArchiveError(f"{shown}: an sdist has exactly one top-level directory; found nothing")
        if found is None:
            raise SdistArchiveError(f"{shown}: no {next(iter(tops))}/PKG-INFO in the sdist")
        return found
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
        raise SdistArchiveError(f"{shown}: not a readable tar archive ({exc})") from exc


__all__ = ["Captured", "Gap", "SdistArchiveError", "WheelZipError", "capture", "tar_sdist_pkg_info",
           "wheel_metadata", "zip_sdist_pkg_info"]
