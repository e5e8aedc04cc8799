"""URL sources: a wheel or source archive at an http(s) or `file:` URL (`name @ https://...`,
`{ url = ... }`), downloaded once, hashed, checked, and its metadata read.

- **Downloading** goes through the index client's `Fetcher` (retries, redirect rules, the
  credentials of the URL's user info, of an index on the same host, or netrc; a size cap), and
  the sha256 is computed while the bytes arrive. A `#sha256=` fragment (or another hash
  fragment) must match, else nothing is kept. The file is stored under the cache by its sha256
  (`url-v1/files/<sha256>/<file name>`) with a record of the URL it came from
  (`url-v1/urls/<key of the URL without user info>.json`): later runs, and `offline=True`, use
  it after hashing it again (the cache is not trusted). A `file:` URL is read in place and
  hashed on every run (a local file can change).
- **Checking**: a wheel must be a zip whose `.dist-info/METADATA` names the wheel's project and
  version; an sdist or source archive a tar or zip with one top-level folder. A URL that serves
  anything else (an HTML page, say) is "not a distribution".
- **Metadata**: a wheel's METADATA; an sdist's PKG-INFO when it is static (Metadata-Version 2.2+
  without a dynamic Requires-Dist); else (a source archive such as GitHub's `/archive/v1.2.zip`)
  its `pyproject.toml` `[project]` when static; otherwise "needs a build" (`NeedsBuild`).
- **Tags**: a wheel's tags (`DownloadedDistribution.tags`, `fits(target)`), so that each target
  can check them; an sdist fits every target.

Errors are `UrlSourceError`s (exit 2) naming the URL (credentials hidden) and the fix.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name, parse_wheel_filename

from planner.index.http import Fetcher, FetchError, file_url_path
from planner.index.metadata import (
    MetadataError,
    MetadataNeedsBuild,
    parse_sdist_metadata,
    parse_wheel_metadata,
)
from planner.index.models import Artifact, ArtifactKind, CoreMetadata
from planner.index.wheel_zip import ArchiveError, read_archive_member, read_wheel_metadata_file
from planner.project.references import DistributionKind, UrlReference
from planner.sources.errors import SourceError
from planner.sources.tree_metadata import BUILD_FILES, NeedsBuild, static_metadata
from planner.targets.model import Target
from planner.urls import strip_userinfo

CACHE_FOLDER = "url-v1"
DEFAULT_MAX_BYTES = 4096 * 1024 * 1024  # as for artifacts read from an index
FETCH_LABEL = "direct URL"  # what the fetcher's own messages would call the "index"
_HEX64 = frozenset("0123456789abcdef")


class UrlSourceError(SourceError):
    """A URL source that cannot be used: names the URL (credentials hidden) and the fix."""

    kind = "URL"


class UrlOfflineMiss(UrlSourceError):
    """`offline` and the cache does not hold the file."""


@dataclass(frozen=True)
class DownloadedDistribution:
    """A URL source's file, hashed and checked; `path` is in the cache (or the local file)."""

    reference: UrlReference
    path: Path
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        return self.reference.filename

    @property
    def kind(self) -> DistributionKind:
        return self.reference.kind

    @property
    def tags(self) -> frozenset[Tag]:
        """A wheel's tags (empty for an sdist)."""
        if self.kind is not DistributionKind.WHEEL:
            return frozenset()
        return parse_wheel_filename(self.filename)[3]

    def fits(self, target: Target) -> bool:
        """Can `target` install it? (a wheel with one of its tags; an sdist always)."""
        return self.kind is DistributionKind.SDIST or any(tag in target.tag_ranks for tag in self.tags)

    def artifact(self, index: str, name: NormalizedName, version) -> Artifact:  # noqa: ANN001 - a Version
        """The file as an `Artifact` (URL without credentials, its sha256 and size) under `index`,
        the name the plan files URL sources under."""
        return Artifact(index=index, filename=self.filename, url=strip_userinfo(self.reference.url), name=name,
                        version=version,
                        kind=ArtifactKind.WHEEL if self.kind is DistributionKind.WHEEL else ArtifactKind.SDIST,
                        tags=self.tags, hashes=MappingProxyType({"sha256": self.sha256}), size=self.size)


class UrlSources:
    """Downloads and reads URL sources; one per run. `cache_dir` is planner's cache folder (the
    files go under `url-v1/`); None keeps nothing (`--no-cache`: files go to a temporary folder
    removed by `close`)."""

    def __init__(self, fetcher: Fetcher, cache_dir: Path | None, *, offline: bool = False,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.fetcher = fetcher
        self.offline = offline
        self.max_bytes = max_bytes
        self._temporary: Path | None = None
        if cache_dir is None:
            self._temporary = Path(tempfile.mkdtemp(prefix="planner-url-"))
            cache_dir = self._temporary
        self.root = Path(cache_dir) / CACHE_FOLDER
        self._fetched: dict[str, DownloadedDistribution] = {}

    def close(self) -> None:
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)
            self._temporary = None

    def __enter__(self) -> UrlSources:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the file -----------------------------------------------------------------------------------
    def fetch(self, reference: UrlReference) -> DownloadedDistribution:
        """The reference's file, hashed, checked against its hash fragments and its kind."""
        key = strip_userinfo(reference.url)
        known = self._fetched.get(key)
        if known is not None and _same_hashes(known, reference):
            # The same file under another reference (another subdirectory or hash fragment).
            found = replace(known, reference=reference)
            if reference.hashes != known.reference.hashes:
                self._verify(found)
            return found
        if reference.url.startswith("file:"):
            found = self._local(reference)
        else:
            found = self._cached(reference) or self._download(reference)
        self._fetched[key] = found
        return found

    def _local(self, reference: UrlReference) -> DownloadedDistribution:
        path = file_url_path(reference.url)
        if not path.is_file():
            raise UrlSourceError(reference.url, "no such file", "check the path in the file: URL")
        # A file the user names in the pyproject: the fetcher reads files only where it is told.
        self.fetcher.allow_local_roots([str(path.parent)])
        try:
            digest = self.fetcher.sha256_of(reference.url, FETCH_LABEL, self.max_bytes)
        except FetchError as exc:
            raise UrlSourceError(reference.url, exc.problem, exc.fix) from None
        found = DownloadedDistribution(reference, path, digest, path.stat().st_size)
        self._verify(found)
        return found

    def _cached(self, reference: UrlReference) -> DownloadedDistribution | None:
        """The file from the cache: by the URL's record, or by the fragment's sha256; hashed
        again before use. None when it is not there (or no longer matches)."""
        candidates: list[str] = []
        if reference.sha256:
            candidates.append(reference.sha256)
        record = self._read_record(reference)
        if record is not None and record not in candidates:
            candidates.append(record)
        for digest in candidates:
            path = self._file_path(digest, reference.filename)
            try:
                actual = _sha256_file(path)
            except OSError:
                continue
            if actual != digest:
                path.unlink(missing_ok=True)  # altered or truncated: fetch it again
                continue
            found = DownloadedDistribution(reference, path, digest, path.stat().st_size)
            if _same_hashes(found, reference):
                self._verify(found)
                return found
        if self.offline:
            raise UrlOfflineMiss(reference.url, "offline, and the cache does not hold this file",
                                 "run once without --offline to fill the cache (or point --cache-dir at a filled one)")
        return None

    def _download(self, reference: UrlReference) -> DownloadedDistribution:
        staging = self.root / "tmp"
        try:
            temporary, digest = self.fetcher.download_hashed(reference.url, FETCH_LABEL, self.max_bytes, staging)
        except FetchError as exc:
            raise _from_fetch(reference, exc) from None
        try:
            found = DownloadedDistribution(reference, temporary, digest, temporary.stat().st_size)
            self._verify(found)
            final = self._file_path(digest, reference.filename)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, final)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        self._write_record(reference, digest)
        return DownloadedDistribution(reference, final, digest, found.size)

    def _verify(self, found: DownloadedDistribution) -> None:
        """The file's hashes against the fragment's, and its content against its kind."""
        reference = found.reference
        for algorithm, expected in sorted(reference.hashes.items()):
            actual = found.sha256 if algorithm == "sha256" else _hash_file(found.path, algorithm)
            if actual != expected:
                raise UrlSourceError(reference.url,
                                     f"{algorithm} mismatch: the URL's #{algorithm}= says {expected[:16]}…, "
                                     f"the file has {actual[:16]}…",
                                     f"if the file changed on purpose, update the #{algorithm}= of the URL; "
                                     "otherwise do not trust this server")
        try:
            with open(found.path, "rb") as handle:
                if reference.kind is DistributionKind.WHEEL:
                    read_wheel_metadata_file(handle, reference.filename)
                else:
                    read_archive_member(handle, reference.filename, "PKG-INFO")  # opens it, checks its layout
        except ArchiveError as exc:
            what = "wheel" if reference.kind is DistributionKind.WHEEL else "source archive"
            raise UrlSourceError(reference.url, f"not a distribution: the file is no readable {what} "
                                 f"({str(exc).removeprefix(reference.filename + ': ')})",
                                 "check that the URL serves the file itself (not a web page about it)") from None

    # -- metadata -----------------------------------------------------------------------------------
    def metadata(self, found: DownloadedDistribution, expected_name: str | None = None) -> CoreMetadata | NeedsBuild:
        """The distribution's core metadata (or why it needs a build); a name other than
        `expected_name` (the requirement's) is an error."""
        reference = found.reference
        try:
            metadata = self._read_metadata(found)
        except (MetadataError, ArchiveError) as exc:
            raise UrlSourceError(reference.url, f"unusable metadata: {exc}",
                                 "point at a distribution whose metadata is valid") from None
        if isinstance(metadata, NeedsBuild):
            return metadata
        if expected_name is not None and metadata.name != canonicalize_name(expected_name):
            raise UrlSourceError(reference.url, f"the file is a distribution of '{metadata.name}', "
                                 f"not of '{canonicalize_name(expected_name)}'",
                                 f"require it as {metadata.name} @ ..., or point the URL at {expected_name}'s file")
        return metadata

    def _read_metadata(self, found: DownloadedDistribution) -> CoreMetadata | NeedsBuild:
        reference = found.reference
        with open(found.path, "rb") as handle:
            if reference.kind is DistributionKind.WHEEL:
                return parse_wheel_metadata(read_wheel_metadata_file(handle, reference.filename), reference.filename)
            prefix = f"{reference.subdirectory}/" if reference.subdirectory else ""
            pkg_info = read_archive_member(handle, reference.filename, prefix + "PKG-INFO")
            if pkg_info is not None:
                try:
                    return parse_sdist_metadata(pkg_info, reference.filename,
                                                expected_name=reference.name if not prefix else None,
                                                expected_version=reference.version if not prefix else None)
                except MetadataNeedsBuild as exc:
                    return NeedsBuild(f"its PKG-INFO has {exc.reason}")
            handle.seek(0)
            pyproject = read_archive_member(handle, reference.filename, prefix + "pyproject.toml")
            build_files: tuple[str, ...] = ()
            if pyproject is None:
                for name in BUILD_FILES:
                    handle.seek(0)
                    if read_archive_member(handle, reference.filename, prefix + name) is not None:
                        build_files += (name,)
        inside = prefix + "pyproject.toml"
        return static_metadata(pyproject, file=Path(inside), shown=f"{reference.display_url}:{inside}",
                               build_files=build_files)

    # -- the cache ----------------------------------------------------------------------------------
    def _file_path(self, digest: str, filename: str) -> Path:
        if len(digest) != 64 or not set(digest) <= _HEX64 or "/" in filename or filename in ("", ".", ".."):
            raise ValueError("not a sha256 and a plain file name")
        return self.root / "files" / digest / filename

    def _record_path(self, reference: UrlReference) -> Path:
        return self.root / "urls" / f"{hashlib.sha256(strip_userinfo(reference.url).encode()).hexdigest()}.json"

    def _read_record(self, reference: UrlReference) -> str | None:
        try:
            data = json.loads(self._record_path(reference).read_text())
            digest = data["sha256"]
            valid = (data.get("url") == strip_userinfo(reference.url) and isinstance(digest, str)
                     and len(digest) == 64 and set(digest) <= _HEX64)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return digest if valid else None

    def _write_record(self, reference: UrlReference, digest: str) -> None:
        path = self._record_path(reference)
        data = json.dumps({"url": strip_userinfo(reference.url), "sha256": digest, "filename": reference.filename},
                          sort_keys=True).encode()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only costs a download next time


def _same_hashes(found: DownloadedDistribution, reference: UrlReference) -> bool:
    return reference.sha256 is None or reference.sha256 == found.sha256


def _sha256_file(path: Path) -> str:
    return _hash_file(path, "sha256")


def _hash_file(path: Path, algorithm: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def _from_fetch(reference: UrlReference, exc: FetchError) -> UrlSourceError:
    if exc.problem.startswith("access denied"):
        return UrlSourceError(reference.url, exc.problem,
                              "give credentials in the URL (https://user:token@host/...) or in ~/.netrc")
    if exc.problem.startswith("not found"):
        return UrlSourceError(reference.url, exc.problem, "check the URL")
    return UrlSourceError(reference.url, exc.problem, exc.fix)
