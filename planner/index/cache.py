"""The on-disk cache: index pages (revalidated with HTTP semantics) and core metadata (forever).

Layout under the cache root (default: the user cache dir, e.g. `~/.cache/planner`):

    v1/pages/<2 hex>/<sha256 of page URL + media type>      index pages with their validators
    v1/metadata/<2 hex>/<sha256 of the artifact>             core metadata, immutable by hash
    v1/metadata-url/<2 hex>/<sha256 of the artifact URL>     metadata of artifacts without a hash
    v1/parsed/<2 hex>/<sha256 of format, origin, raw hash>   parsed pages and metadata (derived)
    v1/unchanged/<2 hex>/<sha256 of the output folder>       what the last compile into it read

Each entry is one file: a JSON header line (validators, times, the body's sha256) then the body.
Nothing here is code or a serialized object: bodies are pages and metadata files as the index
sent them, and parsed forms are JSON records that are checked field by field when read back
(`ProjectPage.from_record`, `metadata_from_record`). The cache folder is not trusted: a damaged
or forged entry is parsed again, or fetched again, never used as it is.
Writes go to a temporary file in the same folder and are renamed into place, so a reader sees a
whole old entry or a whole new one, and two planner processes can share the cache. A body whose
sha256 does not match its header (a truncated or corrupted file) is treated as missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (a compile answered before the solver loads reads this module: no packaging)
    from planner.index.models import Artifact

_VERSION = "v1"
_HEX = re.compile(r"[0-9a-f]+")
MAX_ENTRY_BYTES = 2 * 1024**3  # larger than any page or metadata file planner accepts
# Notes kept beside an artifact's metadata entry. `.unusable-2`: entries of the first format also
# called sdists that need a build unusable, which they no longer are (they are built).
_UNUSABLE = ".unusable-2"
_NEEDS_BUILD = ".needs-build"


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("planner", appauthor=False))


@dataclass(frozen=True)
class CachedPage:
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    fetched_at: float  # UNIX time of the last fetch or successful revalidation
    max_age: int | None  # seconds the server said the page stays fresh
    body_sha256: str | None = field(default=None, compare=False)  # read from the cache: checked then

    def is_fresh(self, now: float | None = None) -> bool:
        if not self.max_age:
            return False
        return (now if now is not None else time.time()) - self.fetched_at < self.max_age


class Cache:
    """A cache rooted at `root`; with `root=None` it keeps nothing (`--no-cache`)."""

    def __init__(self, root: Path | None):
        self.root = root / _VERSION if root is not None else None
        self._root_text = str(self.root)

    @property
    def enabled(self) -> bool:
        return self.root is not None

    # -- pages --------------------------------------------------------------------------------
    def get_page(self, url: str, media: str) -> CachedPage | None:
        entry = self._read(self._path("pages", f"{media} {url}"))
        if entry is None:
            return None
        header, body = entry
        content_type, etag, last_modified = header.get("content_type"), header.get("etag"), header.get("last_modified")
        fetched_at, max_age = header.get("fetched_at", 0), header.get("max_age")
        # The header is data from the cache folder: every field must have its type (else refetch).
        if not isinstance(content_type, str) or not all(v is None or (isinstance(v, str) and len(v) <= 1000)
                                                         for v in (etag, last_modified)) \
                or isinstance(fetched_at, bool) or not isinstance(fetched_at, int | float) \
                or not 0 <= fetched_at < 1e11 or (max_age is not None and (
                    isinstance(max_age, bool) or not isinstance(max_age, int) or not 0 <= max_age <= 10**10)):
            return None
        return CachedPage(
            body=body,
            content_type=content_type,
            etag=etag,
            last_modified=last_modified,
            fetched_at=float(fetched_at),
            max_age=max_age,
            body_sha256=header["sha256"],
        )

    def put_page(self, url: str, media: str, page: CachedPage) -> None:
        header = {
            "url": url,
            "content_type": page.content_type,
            "etag": page.etag,
            "last_modified": page.last_modified,
            "fetched_at": page.fetched_at,
            "max_age": page.max_age,
        }
        self._write(self._path("pages", f"{media} {url}"), header, page.body)

    def page_validity(self, url: str, media: str) -> tuple[str, bool] | None:
        """The sha256 of a cached page's body and whether it is fresh now, from the entry's
        header line alone (the body, megabytes for some pages, is checked when it is read)."""
        path = self._path("pages", f"{media} {url}")
        if path is None:
            return None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    return None
                with os.fdopen(fd, "rb", closefd=False) as handle:
                    head = handle.readline(64 * 1024)
            finally:
                os.close(fd)
            header = json.loads(head)
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(header, dict) or not isinstance(header.get("sha256"), str):
            return None
        fetched_at, max_age = header.get("fetched_at"), header.get("max_age")
        fresh = (isinstance(fetched_at, int | float) and not isinstance(fetched_at, bool)
                 and isinstance(max_age, int) and not isinstance(max_age, bool)
                 and 0 <= time.time() - fetched_at < max_age)
        return header["sha256"], fresh

    # -- what a compile read (planner/cli/unchanged.py) ------------------------------------------
    def get_unchanged(self, key: str) -> bytes | None:
        entry = self._read(self._path("unchanged", key))
        return entry[1] if entry else None

    def put_unchanged(self, key: str, data: bytes) -> None:
        self._write(self._path("unchanged", key), {"kind": "compile record"}, data)

    # -- parsed pages and metadata ---------------------------------------------------------------
    # Parsing a large page (torch, numpy: thousands of files) costs far more than reading it; a
    # warm run loads the parsed form instead (metadata files too: the e-mail format parses
    # slowly). Keyed by the raw entry's hash and the parser's version, so it can never disagree
    # with the raw entry it came from; checked like every entry.
    def get_parsed(self, key: str) -> bytes | None:
        entry = self._read(self._path("parsed", key))
        return entry[1] if entry else None

    def put_parsed(self, key: str, data: bytes) -> None:
        self._write(self._path("parsed", key), {"kind": "parsed page"}, data)

    # -- metadata -----------------------------------------------------------------------------
    def _metadata_path(self, artifact: Artifact) -> Path | None:
        if artifact.sha256:
            return self._path("metadata", artifact.sha256, hashed=False)
        return self._path("metadata-url", artifact.url)

    def get_metadata(self, artifact: Artifact) -> bytes | None:
        entry = self.get_metadata_entry(artifact)
        return entry[0] if entry else None

    def get_metadata_entry(self, artifact: Artifact) -> tuple[bytes, str] | None:
        """The cached metadata file and its sha256 (checked on reading)."""
        entry = self._read(self._metadata_path(artifact))
        return (entry[1], entry[0]["sha256"]) if entry else None

    def put_metadata(self, artifact: Artifact, data: bytes, source: str) -> None:
        header = {"filename": artifact.filename, "url": artifact.url, "source": source}
        self._write(self._metadata_path(artifact), header, data)

    def get_unusable(self, artifact: Artifact) -> str | None:
        """Why an earlier run found `artifact`'s metadata unusable, if it did."""
        return self._get_note(artifact, _UNUSABLE)

    def put_unusable(self, artifact: Artifact, reason: str) -> None:
        self._put_note(artifact, _UNUSABLE, reason)

    def get_needs_build(self, artifact: Artifact) -> str | None:
        """Why an earlier run found that `artifact` (an sdist) needs a build for its metadata."""
        return self._get_note(artifact, _NEEDS_BUILD)

    def put_needs_build(self, artifact: Artifact, reason: str) -> None:
        self._put_note(artifact, _NEEDS_BUILD, reason)

    def _get_note(self, artifact: Artifact, suffix: str) -> str | None:
        path = self._metadata_path(artifact)
        entry = self._read(path.with_name(path.name + suffix) if path is not None else None)
        return entry[1][:2000].decode("utf-8", "replace") if entry else None

    def _put_note(self, artifact: Artifact, suffix: str, text: str) -> None:
        path = self._metadata_path(artifact)
        if path is not None:
            self._write(path.with_name(path.name + suffix), {"filename": artifact.filename}, text.encode())

    # -- storage ------------------------------------------------------------------------------
    def _path(self, kind: str, key: str, hashed: bool = True) -> Path | None:
        if self.root is None:
            return None
        digest = hashlib.sha256(key.encode()).hexdigest() if hashed else key.lower()
        if not _HEX.fullmatch(digest):  # never let a key shape a path
            digest = hashlib.sha256(key.encode()).hexdigest()
        # One path made from text (a run asks for thousands; joining Paths part by part is slow).
        return Path(os.path.join(self._root_text, kind, digest[:2], digest))

    @staticmethod
    def _read(path: Path | None) -> tuple[dict, bytes] | None:
        if path is None:
            return None
        try:
            # A regular file of sane size, not a link to one (nor to /dev/zero): else it is missing.
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY_BYTES:
                    return None
                # Ask for the size fstat gave (one byte more to see a file that grew): a read of
                # MAX_ENTRY_BYTES allocates that much first, which cost about a quarter of a
                # millisecond per entry, over a second on a warm data-platform compile.
                with os.fdopen(fd, "rb", closefd=False) as handle:
                    raw = handle.read(info.st_size + 1)
            finally:
                os.close(fd)
        except OSError:
            return None
        head, sep, body = raw.partition(b"\n")
        try:
            header = json.loads(head) if sep and len(head) <= 64 * 1024 else None
        except (ValueError, RecursionError):
            header = None
        if not isinstance(header, dict) or not isinstance(header.get("sha256"), str) \
                or header["sha256"] != hashlib.sha256(body).hexdigest():
            return None  # truncated or corrupted: refetch rather than trust it
        return header, body

    @staticmethod
    def _write(path: Path | None, header: dict, body: bytes) -> None:
        if path is None:
            return
        header = {**header, "sha256": hashlib.sha256(body).hexdigest()}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as handle:  # two writes: no copy of a body of megabytes
                    handle.write(json.dumps(header, sort_keys=True).encode() + b"\n")
                    handle.write(body)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            pass  # a cache that cannot be written only costs speed, never correctness
