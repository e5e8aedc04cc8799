"""The index client: project pages and per-artifact core metadata, cached, parallel, offline-capable.

Pages: answered from the cache while fresh (`max-age`), else revalidated (`If-None-Match` /
`If-Modified-Since`), else fetched; PEP 691 JSON is asked for first, PEP 503 HTML accepted.
Metadata of one artifact, in order of cost: the cache (immutable, keyed by the artifact's sha256);
the PEP 658 metadata file when the index advertises it, or the copy it keeps beside its pages
(`Artifact.metadata_copy`), its hash verified; HTTP range reads of the wheel's zip directory and
METADATA member; a full download, verified against the listed sha256. An sdist's PKG-INFO (the
index's copy, else from the download) is used when it is static (Metadata-Version >= 2.2,
Requires-Dist not dynamic). `offline=True` answers from the cache only and names what is missing.

Flat indexes (`format = "flat"`, `find-links`): one HTML page (cached and revalidated like a
project page) or one local folder (listed afresh on every run, its files hashed) per index and
run, whose files are split by project (`simple.FlatListing`).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from packaging.utils import NormalizedName, canonicalize_name

from planner.errors import ExitCode, PlannerError
from planner.index.auth import split_userinfo
from planner.index.cache import Cache, CachedPage
from planner.index.candidates import select_candidates
from planner.index.http import FetchError, Fetcher, Response, file_url_path, http_setting
from planner.index.metadata import (
    HashMismatch,
    MetadataError,
    MetadataNeedsBuild,
    metadata_from_record,
    metadata_record,
    parse_core_metadata,
    parse_sdist_metadata,
    verify_hash,
)
from planner.index.page_workers import MIN_BYTES as PAGE_WORKER_MIN_BYTES
from planner.index.page_workers import PageWorkers, page_record
from planner.index.models import (
    Artifact,
    ArtifactKind,
    CandidateSet,
    CoreMetadata,
    MetadataSource,
    ProjectPage,
)
from planner.index.simple import (
    ACCEPT_HEADER,
    FlatListing,
    IndexFormatError,
    flat_folder_listing,
    media_type_of,
    parse_flat_html,
    parse_html_page,
    parse_json_page,
)
from planner.index.streamed import Gap, capture, tar_sdist_pkg_info, wheel_metadata, zip_sdist_pkg_info
from planner.index.validate import local_root_of
from planner.index.wheel_zip import (
    MAX_MEMBER_SIZE,
    ArchiveError,
    WheelZipError,
    read_wheel_metadata_ranged,
)
from planner.project.model import Index, Project
from planner.targets.model import Target
from planner.targets.routing import Route, route
from planner.threads import map_in_threads
from planner.urls import redact_url, strip_userinfo

MiB = 1024 * 1024
# Metadata (and flat pages) are fetched in worker threads but parsed one at a time: parsing is
# CPU-bound, so nothing is lost under the GIL; and packaging parses marker strings with
# `ast.literal_eval`, which CPython 3.11 before 3.11.9 can fail ("AST constructor recursion depth
# mismatch") when threads do that at once. Project pages (no markers in them) are parsed as they
# come, the large ones one at a time here and one in the page worker (`_parse_page`).
_PARSE_LOCK = threading.Lock()
# Freshness of a page whose server sends no caching headers at all (no Cache-Control, ETag or
# Last-Modified): PyPI's own max-age. Without it such pages would be refetched on every run.
# Bump when parsing (planner/index/simple.py) or the page model (models.py) changes: parsed pages
# cached under another format are ignored.
PARSED_PAGE_FORMAT = "parsed-page-3"  # `ProjectPage.to_record` as JSON: data only, checked when read
PARSED_METADATA_FORMAT = "parsed-metadata-1"  # `metadata_record` JSON
_TAIL_BYTES = 64 * 1024
_MAX_ARTIFACT_BYTES = 4096 * MiB
# A flat page is HTML; what servers send for one (and nothing else: a wheel or a JSON page at a
# find-links URL is a mistake worth naming).
_FLAT_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
_FLAT_MEDIA_TYPES = ("text/html", "application/xhtml+xml", "application/vnd.pypi.simple.v1+html")
# Where the sha256 of a local file is remembered: by path and the file's size, times and inode,
# so that a changed file is hashed again.
LOCAL_SHA256_FORMAT = "local-file-sha256-1"
# Where the URL a flat page was served from (after redirects) is remembered, next to the page.
FLAT_BASE_FORMAT = "flat-page-base-1"


class OfflineMiss(PlannerError):
    """`--offline` and the cache lacks something the run needs."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, what: str):
        super().__init__(f"offline, and the cache has no {what}")
        self.what = what

    def render(self) -> str:
        return f"{self}\n  fix: run once without --offline to fill the cache (or point --cache-dir at a filled one)"


class OfflineMisses(OfflineMiss):
    """Several things the cache lacks, gathered so that one offline run names all of them."""

    def __init__(self, misses: list[OfflineMiss]):
        whats = list(dict.fromkeys(miss.what for miss in misses))
        super().__init__(whats[0])
        self.whats = whats
        self.args = (f"offline, and the cache lacks {len(whats)} {'item' if len(whats) == 1 else 'items'}:\n" + "\n".join(f"  - {w}" for w in whats),)


class MetadataUnavailable(PlannerError):
    """An artifact's dependencies cannot be known without building it, or its metadata is bad."""

    exit_code = ExitCode.BAD_INPUT


class NeedsBuild(MetadataUnavailable):
    """An sdist whose PKG-INFO does not pin its dependencies: only a PEP 517 build tells them
    (`planner/sources/build.py`). `reason` is short: "Metadata-Version 2.1", "dynamic Requires-Dist"."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class ClientStats:
    pages_fetched: int = 0
    pages_revalidated: int = 0
    pages_from_cache: int = 0
    metadata: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in MetadataSource})
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_metadata(self, source: MetadataSource) -> None:
        with self._lock:
            self.metadata[source.value] += 1

    def count_page(self, kind: str) -> None:
        with self._lock:
            setattr(self, kind, getattr(self, kind) + 1)


@dataclass(frozen=True)
class MetadataResult:
    metadata: CoreMetadata
    source: MetadataSource
    raw: bytes = field(default=b"", repr=False, compare=False)  # the metadata file as read


class IndexClient:
    def __init__(self, project: Project, fetcher: Fetcher, cache: Cache, *, offline: bool = False,
                 refresh: bool = False, max_workers: int = 8, platforms: frozenset[str] | None = None,
                 warn: Callable[[str], None] | None = None):
        """`platforms`: the platform tags of the run's targets; wheels for none of them are left
        out of parsed pages (summarized for explanations), which keeps huge pages small. `warn`
        hears of files an index lists with fields that fail their checks (once per file)."""
        self.project = project
        # The folders of local-folder indexes are the only places on disk the fetcher may read.
        fetcher.allow_local_roots([root for root in (local_root_of(index.url) for index in project.indexes)
                                   if root is not None])
        self.platforms = platforms
        self._platforms_key = "all" if platforms is None else hashlib.sha256(
            " ".join(sorted(platforms)).encode()).hexdigest()
        self._warn = warn
        self._warned: set[tuple[str, str]] = set()
        self.fetcher = fetcher
        self.cache = cache
        self.offline = offline
        self.refresh = refresh
        self.max_workers = max_workers
        self.stats = ClientStats()
        # Freshness of pages whose server sends no caching headers (validated: a bad value is an
        # input error naming the variable, raised when the client is made, before any work).
        self.default_page_ttl = int(http_setting("PLANNER_INDEX_TTL"))
        self._pages: dict[tuple[str, str], ProjectPage] = {}
        self._flat: dict[str, FlatListing] = {}  # index name -> its listing, loaded once per run
        self._page_failures: dict[tuple[str, str], Exception] = {}  # a page fails once per run
        self._metadata: dict[tuple[str, str], MetadataResult] = {}
        # Whether `metadata()` results keep the metadata file as read (`MetadataResult.raw`): a
        # mirror writes the files out; a compile reads only the parsed form (thousands of files).
        self.keep_metadata_files = False
        self._locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()
        # Every cached index page this run read, by (media, cache key): the sha256 of its body, the
        # index and the package ("" for a flat page). With `read_uncached` (a folder or a local
        # file listed afresh), that record is incomplete.
        self.read_pages: dict[tuple[str, str], tuple[str, str, str]] = {}
        self.read_uncached = False
        # Large pages downloaded by this run are parsed in worker processes (never offline: pages
        # come from the cache parsed already, or parse while nothing else waits on the network).
        self.page_workers = PageWorkers(enabled=not offline)
        self._parsers = threading.Condition()  # which of the two page parsers is busy (`_parse_page`)
        self._worker_parsing = self._parsing_here = False
        # Pages the solver will ask for soon load here (`prefetch_pages`); made on first use.
        self._prefetcher: ThreadPoolExecutor | None = None
        self._prefetch_guard = threading.Lock()
        self._closed = False

    def close(self) -> None:
        """Drop the page loads not yet started and let the page workers end (the client stays
        usable: pages are then loaded when asked for, and parsed in place)."""
        with self._prefetch_guard:
            self._closed = True
            prefetcher, self._prefetcher = self._prefetcher, None
        if prefetcher is not None:
            prefetcher.shutdown(wait=False, cancel_futures=True)
        self.page_workers.close()

    def _lock(self, *key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())  # type: ignore[arg-type]

    # -- pages --------------------------------------------------------------------------------
    def page(self, index: Index, package: str) -> ProjectPage:
        name = canonicalize_name(package)
        key = (index.name, name)
        if key in self._pages:
            return self._pages[key]
        with self._lock("page", *key):
            if key in self._page_failures:
                raise self._page_failures[key]
            if key not in self._pages:
                try:
                    self._pages[key] = self._load_page(index, name)
                except Exception as exc:  # remembered: retried and reported once, not per caller
                    self._page_failures[key] = exc
                    raise
        return self._pages[key]

    def prefetch_pages(self, routes: Sequence[Route]) -> None:
        """Start loading the pages of `routes` on the client's threads, and return: the solver
        goes on with the first page it needs as soon as that one is there (a page asked for
        before its turn comes is loaded by the asking thread, and the queued load then finds it
        done). Failures are left for that later call to report; from the cache alone (offline)
        there is nothing to overlap."""
        if self.offline or len(routes) < 2:
            return
        for decided in routes:
            if all((index.name, decided.package) in self._pages for index in (*decided.indexes, *decided.alongside)):
                continue  # (already loaded: the usual case once a solve is under way)
            with self._prefetch_guard:
                if self._prefetcher is None:
                    if self._closed:
                        return
                    self._prefetcher = ThreadPoolExecutor(self.max_workers, thread_name_prefix="planner-pages")
                self._prefetcher.submit(self._prefetch_one, decided)

    def _prefetch_one(self, decided: Route) -> None:
        try:
            self.pages(decided)
            self.alongside_pages(decided)
        except Exception:  # noqa: BLE001 - reported when the solver asks for this page
            pass

    def page_url(self, index: Index, package: NormalizedName) -> str:
        return f"{index.url.rstrip('/')}/{package}/"

    def _load_page(self, index: Index, name: NormalizedName) -> ProjectPage:
        if index.is_flat:
            listing = self.flat_listing(index)
            local = listing.url.startswith("file:")
            return listing.project_page(index.name, name, self._local_hashes if local else None,
                                        local_root=local_root_of(index.url), platforms=self.platforms)
        url = self.page_url(index, name)
        if url.startswith("file:"):  # a local folder is read afresh on every run: an edit shows at once
            self.read_uncached = True
            response = self.fetcher.get(url, index.name, {"Accept": ACCEPT_HEADER}, ok_statuses=(200, 404))
            self.stats.count_page("pages_fetched")
            return self._parse(index, name, url, CachedPage(
                b"" if response.status == 404 else response.body,
                "404" if response.status == 404 else response.headers.get("content-type", ""),
                None, None, time.time(), None))
        # The cache never sees credentials: entries are keyed by (and record) the URL without them.
        cache_key, _ = split_userinfo(url)
        cached = self.cache.get_page(cache_key, "simple")
        if cached is not None:
            try:
                parsed_cached = self._parse(index, name, url, cached)
            except FetchError:
                cached = None  # an entry that no longer parses (another planner version?): refetch it
        if self.offline:
            if cached is None:
                raise OfflineMiss(f"index page of '{name}' on index '{index.name}' ({redact_url(url)})")
            self.stats.count_page("pages_from_cache")
            self._record_page("simple", cache_key, cached, index.name, name)
            return parsed_cached
        if cached is not None and not self.refresh and self.default_page_ttl and cached.is_fresh():
            self.stats.count_page("pages_from_cache")  # (PLANNER_INDEX_TTL=0: every page is revalidated)
            self._record_page("simple", cache_key, cached, index.name, name)
            return parsed_cached
        headers = _conditional(ACCEPT_HEADER, cached) if cached is not None else {"Accept": ACCEPT_HEADER}
        response = self.fetcher.get(url, index.name, headers, ok_statuses=(200, 404))
        max_age = self._lifetime(response)
        if response.status == 304 and cached is not None:
            self.stats.count_page("pages_revalidated")
            fresh = CachedPage(cached.body, cached.content_type, response.headers.get("etag") or cached.etag,
                               response.headers.get("last-modified") or cached.last_modified, time.time(),
                               max_age if max_age is not None else cached.max_age)
            self.cache.put_page(cache_key, "simple", fresh)
            self._record_page("simple", cache_key, cached, index.name, name)
            return parsed_cached
        self.stats.count_page("pages_fetched")
        if response.status == 404:
            page = CachedPage(b"", "404", None, None, time.time(), max_age)
        else:
            content_type = response.headers.get("content-type", "")
            page = CachedPage(response.body, content_type, response.headers.get("etag"),
                              response.headers.get("last-modified"), time.time(), max_age)
        parsed = self._parse(index, name, url, page)  # parse before caching: never cache garbage
        self.cache.put_page(cache_key, "simple", page)
        self._record_page("simple", cache_key, page, index.name, name)
        return parsed

    def _record_page(self, media: str, cache_key: str, page: CachedPage, index: str, package: str = "") -> None:
        self.read_pages[(media, cache_key)] = (page.body_sha256 or hashlib.sha256(page.body).hexdigest(), index, package)

    def page_still_served(self, index: Index, name: NormalizedName, body_sha256: str) -> bool:
        """Whether the index still serves the cached page of `name` whose body has `body_sha256`:
        one conditional request (a 304 or the same body renews the entry's lifetime). Nothing is
        parsed; a changed page is left for a full compile to fetch, check and cache."""
        url = self.page_url(index, name)
        cache_key, _ = split_userinfo(url)
        cached = self.cache.get_page(cache_key, "simple")
        if cached is None or cached.body_sha256 != body_sha256:
            return False
        response = self.fetcher.get(url, index.name, _conditional(ACCEPT_HEADER, cached), ok_statuses=(200, 404))
        max_age = self._lifetime(response)
        if response.status == 304:
            self.stats.count_page("pages_revalidated")
        elif (response.status == 404) != (cached.content_type == "404") \
                or hashlib.sha256(response.body if response.status == 200 else b"").hexdigest() != body_sha256 \
                or (response.status == 200 and response.headers.get("content-type", "") != cached.content_type):
            return False
        self.cache.put_page(cache_key, "simple", CachedPage(
            cached.body, cached.content_type, response.headers.get("etag") or cached.etag,
            response.headers.get("last-modified") or cached.last_modified, time.time(),
            max_age if max_age is not None else cached.max_age))
        return True

    def _lifetime(self, response: Response) -> int | None:
        """Seconds a page stays fresh: Cache-Control max-age, or the default for a server that
        sends no caching headers at all."""
        max_age = _max_age(response.headers.get("cache-control"))
        if max_age is None and not {"cache-control", "etag", "last-modified"} & {k.lower() for k in response.headers}:
            max_age = self.default_page_ttl
        return max_age

    def _parse(self, index: Index, name: NormalizedName, url: str, page: CachedPage) -> ProjectPage:
        if page.content_type == "404":
            return ProjectPage(index.name, redact_url(url), name, ())
        # A body read from the cache was hashed then: not again (pages run to megabytes).
        body_sha256 = page.body_sha256 or hashlib.sha256(page.body).hexdigest()
        key = "\0".join((PARSED_PAGE_FORMAT, index.name, redact_url(url), name, page.content_type, body_sha256,
                         self._platforms_key))
        local_root = local_root_of(index.url)
        stored = self.cache.get_parsed(key)
        if stored is not None:
            # JSON data, checked field by field like a page from the index: whoever can write the
            # cache folder can change what planner reads, but never make it run code or write
            # a field no index could send.
            try:
                parsed = ProjectPage.from_record(json.loads(stored), index=index.name, url=strip_userinfo(url),
                                                 project=name, local_root=local_root)
            except (ValueError, RecursionError):  # RecordError, JSONDecodeError: parsed again below
                pass
            else:
                self._report_unusable(parsed, url)
                return parsed
        parsed, record = self._parse_body(index, name, url, page, local_root)
        self.cache.put_parsed(key, record if record is not None else page_record(parsed))
        self._report_unusable(parsed, url)
        return parsed

    def _report_unusable(self, page: ProjectPage, url: str) -> None:
        """Warn once per file about files whose fields failed their checks (see validate.py)."""
        if self._warn is None:
            return
        suspicious = [s for s in page.skipped if s.suspicious and (page.index, s.filename) not in self._warned]
        for skipped in suspicious[:5]:
            self._warned.add((page.index, skipped.filename))
            self._warn(f"index '{page.index}' lists {skipped.filename!r}, which is unusable: {skipped.reason}; "
                       f"planner leaves it out ({redact_url(url)})")
        if len(suspicious) > 5:
            self._warned.update((page.index, s.filename) for s in suspicious)
            self._warn(f"index '{page.index}': {len(suspicious) - 5} more unusable files on {redact_url(url)}")

    def _parse_body(self, index: Index, name: NormalizedName, url: str, page: CachedPage,
                    local_root: str | None) -> tuple[ProjectPage, bytes | None]:
        """The page, and its stored form when the page worker made it (`page_record`)."""
        media = media_type_of(page.content_type)
        try:
            if media is not None:
                return self._parse_page(media, page.body, url, index.name, name, local_root)
        except IndexFormatError as exc:
            raise FetchError(index.name, url, f"malformed index page: {exc}",
                             "check that the URL points at a PEP 503/691 simple index") from None
        raise FetchError(index.name, url, f"unexpected content type '{page.content_type}' for an index page",
                         "check that the URL points at a PEP 503/691 simple index")

    def _parse_page(self, media: Literal["json", "html"], body: bytes, url: str, index: str, name: NormalizedName,
                    local_root: str | None) -> tuple[ProjectPage, bytes | None]:
        """A page's rows (and stored form, see `_parse_body`). A small page is parsed at once,
        here; a large one by whichever parser is free first: the page worker (preferred, once it
        runs) or this process, one large page at a time in each (two large pages never peak in
        memory here together)."""
        workers, platforms = self.page_workers, self.platforms
        parse = parse_json_page if media == "json" else parse_html_page
        if len(body) < PAGE_WORKER_MIN_BYTES:
            return parse(body, url, index, name, local_root=local_root, platforms=platforms), None
        with self._parsers:
            while True:
                if not self._worker_parsing and workers.takes(body):
                    self._worker_parsing = aside = True
                    break
                if not self._parsing_here:
                    self._parsing_here, aside = True, False
                    break
                self._parsers.wait(0.05)  # (woken when a parser is free; the worker may start meanwhile)
        try:
            if aside:
                parsed = workers.parse(media, body, url, index, name, local_root=local_root, platforms=platforms,
                                       wait=True)
                if parsed is not None:
                    return parsed
            return parse(body, url, index, name, local_root=local_root, platforms=platforms), None  # (or the worker gone)
        finally:
            with self._parsers:
                if aside:
                    self._worker_parsing = False
                else:
                    self._parsing_here = False
                self._parsers.notify_all()

    # -- flat indexes ---------------------------------------------------------------------------
    def flat_listing(self, index: Index) -> FlatListing:
        """Every file a flat index lists (loaded once per run; failures are remembered too)."""
        if index.name in self._flat:
            return self._flat[index.name]
        with self._lock("flat", index.name):
            key = ("flat", index.name)
            if key in self._page_failures:
                raise self._page_failures[key]
            if index.name not in self._flat:
                try:
                    self._flat[index.name] = self._load_flat(index)
                except Exception as exc:
                    self._page_failures[key] = exc
                    raise
        return self._flat[index.name]

    def _load_flat(self, index: Index) -> FlatListing:
        url = index.url
        if url.startswith("file:"):
            path = file_url_path(url)
            self.read_uncached = True  # a folder or a local page: listed afresh every run, never cached
            if path.is_dir():
                return self._flat_folder(index, path)
            # A local HTML page: read afresh like a folder (never cached), within the page cap.
            response = self.fetcher.get(url, index.name, {"Accept": _FLAT_ACCEPT})
            return self._parse_flat(index, url, response.body, "text/html")
        cache_key, _ = split_userinfo(url)
        cached = self.cache.get_page(cache_key, "flat")
        if self.offline:
            if cached is None:
                raise OfflineMiss(f"flat index page of index '{index.name}' ({redact_url(url)})")
            self.stats.count_page("pages_from_cache")
            self._record_page("flat", cache_key, cached, index.name)
            return self._parse_flat(index, self._flat_base(cache_key, cached), cached.body, cached.content_type)
        if cached is not None and not self.refresh and self.default_page_ttl and cached.is_fresh():
            self.stats.count_page("pages_from_cache")
            self._record_page("flat", cache_key, cached, index.name)
            return self._parse_flat(index, self._flat_base(cache_key, cached), cached.body, cached.content_type)
        headers = _conditional(_FLAT_ACCEPT, cached) if cached is not None else {"Accept": _FLAT_ACCEPT}
        response = self.fetcher.get(url, index.name, headers)
        max_age = self._lifetime(response)
        # Links resolve against the URL the page was served from, after redirects (a folder URL
        # written without its trailing slash is the usual case), as browsers, pip and uv do.
        base = strip_userinfo(response.url) if response.url.startswith(("https:", "http:")) else url
        if response.status == 304 and cached is not None:
            self.stats.count_page("pages_revalidated")
            page = CachedPage(cached.body, cached.content_type, response.headers.get("etag") or cached.etag,
                              response.headers.get("last-modified") or cached.last_modified, time.time(),
                              max_age if max_age is not None else cached.max_age)
        else:
            self.stats.count_page("pages_fetched")
            page = CachedPage(response.body, response.headers.get("content-type", ""), response.headers.get("etag"),
                              response.headers.get("last-modified"), time.time(), max_age)
        listing = self._parse_flat(index, base, page.body, page.content_type)  # never cache garbage
        self.cache.put_page(cache_key, "flat", page)
        self.cache.put_parsed(self._flat_base_key(cache_key, page.body), base.encode())
        self._record_page("flat", cache_key, page, index.name)
        return listing

    @staticmethod
    def _flat_base_key(cache_key: str, body: bytes) -> str:
        return "\0".join((FLAT_BASE_FORMAT, cache_key, hashlib.sha256(body).hexdigest()))

    def _flat_base(self, cache_key: str, page: CachedPage) -> str:
        """The URL a cached flat page was served from (its links resolve against it); the
        page's own URL when that record is missing or is no http(s) URL."""
        stored = self.cache.get_parsed(self._flat_base_key(cache_key, page.body))
        if stored is not None:
            try:
                base = stored.decode("ascii")
                is_web = urlsplit(base).scheme in ("http", "https")
            except (UnicodeDecodeError, ValueError):
                is_web = False
            if is_web:
                return base
        return cache_key

    def _parse_flat(self, index: Index, url: str, body: bytes, content_type: str) -> FlatListing:
        media = content_type.split(";", 1)[0].strip().lower()
        if media and media not in _FLAT_MEDIA_TYPES:
            raise FetchError(index.name, url, f"unexpected content type '{media}' for a flat index page",
                             "a flat index (find-links) is an HTML page of links to wheels and sdists, or a local folder of them")
        try:
            with _PARSE_LOCK:
                return parse_flat_html(body, url)
        except IndexFormatError as exc:
            raise FetchError(index.name, url, f"malformed flat index page: {exc}",
                             "check that the URL points at an HTML page of links to wheels and sdists") from None

    def _flat_folder(self, index: Index, folder: Path) -> FlatListing:
        """A local folder of wheels and sdists (its top level), listed as it is now."""
        entries: list[tuple[str, str, int]] = []
        try:
            with os.scandir(folder) as found:
                for entry in found:
                    if entry.is_file():  # follows links: a wheelhouse of links is the user's own
                        entries.append((entry.name, Path(entry.path).as_uri(), entry.stat().st_size))
                        if entry.is_symlink():  # so the fetcher may read where the user's link leads
                            self.fetcher.allow_local_roots([os.path.dirname(os.path.realpath(entry.path))])
        except OSError as exc:
            raise FetchError(index.name, folder.as_uri(), f"cannot list the folder: {exc.strerror or exc}",
                             "check the path of the flat index (find-links)") from None
        entries.sort()  # the order a folder lists its files in is the file system's
        return flat_folder_listing(folder.as_uri(), entries)

    def _local_hashes(self, url: str) -> dict[str, str] | None:
        """The sha256 of a local file a flat index lists (remembered while the file is unchanged)."""
        path = file_url_path(url)
        try:
            stat = path.stat()
        except OSError:
            return None  # listed but gone: reported as not found when it is read
        key = "\0".join((LOCAL_SHA256_FORMAT, str(path), str(stat.st_size), str(stat.st_mtime_ns),
                         str(stat.st_ctime_ns), str(stat.st_ino)))
        stored = self.cache.get_parsed(key)
        if stored is not None and len(stored) == 64 and all(c in b"0123456789abcdef" for c in stored):
            return {"sha256": stored.decode()}
        try:
            digest = self.fetcher.sha256_of(url, "local file", _MAX_ARTIFACT_BYTES)
        except FetchError:
            return None
        self.cache.put_parsed(key, digest.encode())
        return {"sha256": digest}

    def pages(self, decided: Route) -> list[ProjectPage]:
        """Pages on the route's indexes in order; with first-index, up to the first that has it."""
        from planner.project.model import IndexStrategy

        out: list[ProjectPage] = []
        for index in decided.indexes:
            page = self.page(index, decided.package)
            out.append(page)
            if page.has_files and decided.strategy is IndexStrategy.FIRST_INDEX:
                break
        return out

    def alongside_pages(self, decided: Route) -> list[ProjectPage]:
        """Pages of the route's find-links locations (consulted whatever the strategy)."""
        return [self.page(index, decided.package) for index in decided.alongside]

    def route_candidates(self, decided: Route, target: Target) -> CandidateSet:
        """The candidates of `decided.package` along `decided` on `target`."""
        return select_candidates(self.pages(decided), target, decided.strategy, self.alongside_pages(decided),
                                 cutoff=decided.cutoff, prefer=decided.prefer, only=decided.only)

    def candidates(self, package: str, target: Target) -> CandidateSet:
        decided = route(self.project, target, package)
        if decided.local is not None or decided.direct is not None:  # planner/sources/ answers for them
            from planner.errors import InputError

            what = "a local package" if decided.local is not None else "a git or URL package"
            raise InputError(f"{decided.package} is {what} on target '{target.name}' "
                             f"({decided.describe()}): no index is asked for it",
                             fix="ask about a package that comes from an index (planner why names where it comes from)")
        return self.route_candidates(decided, target)

    # -- metadata -----------------------------------------------------------------------------
    def metadata(self, artifact: Artifact) -> MetadataResult:
        key = (artifact.index, artifact.url)
        if key in self._metadata:
            return self._metadata[key]
        with self._lock("metadata", *key):
            if key not in self._metadata:
                result = self._load_metadata(artifact)
                if not self.keep_metadata_files:
                    result = MetadataResult(result.metadata, result.source)
                self._metadata[key] = result
        return self._metadata[key]

    def metadata_many(self, artifacts: Iterable[Artifact]) -> dict[Artifact, MetadataResult]:
        todo = list(dict.fromkeys(artifacts))
        if len(todo) <= 1:
            return {a: self.metadata(a) for a in todo}
        results = map_in_threads(self.metadata, todo, self.max_workers, "planner-meta")
        return dict(zip(todo, results, strict=True))

    def _load_metadata(self, artifact: Artifact) -> MetadataResult:
        cached = None if self.refresh else self.cache.get_metadata_entry(artifact)
        if cached is not None:
            data, digest = cached
            try:
                result = MetadataResult(self._parse_cached_metadata(artifact, data, digest), MetadataSource.CACHE, data)
                self.stats.count_metadata(MetadataSource.CACHE)
                return result
            except MetadataUnavailable:
                pass  # a bad cache entry is refetched, not trusted
        unusable = None if self.refresh else self.cache.get_unusable(artifact)
        if unusable is not None:  # known from an earlier run: no readable metadata
            raise MetadataUnavailable(unusable)
        needs_build = None if self.refresh else self.cache.get_needs_build(artifact)
        if needs_build is not None:  # known from an earlier run: the caller builds it
            raise NeedsBuild(f"sdist {artifact.filename} needs a build for its metadata ({needs_build})", needs_build)
        if self.offline:
            raise OfflineMiss(f"metadata of {artifact.filename} from index '{artifact.index}'")
        try:
            data, source = self._fetch_metadata(artifact)
            result = MetadataResult(self._parse_metadata(artifact, data), source, data)
        except NeedsBuild as exc:
            self.cache.put_needs_build(artifact, exc.reason)
            raise
        except MetadataUnavailable as exc:
            # Remember it (keyed like metadata: by the file's hash), so that later runs, offline
            # ones too, skip this file the same way instead of downloading it again or failing.
            self.cache.put_unusable(artifact, str(exc))
            raise
        self.cache.put_metadata(artifact, data, source.value)
        self.cache.put_parsed(self._metadata_key(artifact, hashlib.sha256(data).hexdigest()),
                              metadata_record(result.metadata))
        self.stats.count_metadata(source)
        return result

    @staticmethod
    def _metadata_key(artifact: Artifact, digest: str) -> str:
        """The stored parse of a metadata file with this sha256, read as `artifact`'s."""
        return "\0".join((PARSED_METADATA_FORMAT, artifact.kind.value, artifact.name, str(artifact.version), digest))

    def _parse_cached_metadata(self, artifact: Artifact, data: bytes, digest: str) -> CoreMetadata:
        """Cached metadata, as parsed by an earlier run when it was (else parsed, and stored so)."""
        key = self._metadata_key(artifact, digest)
        stored = self.cache.get_parsed(key)
        if stored is not None:
            try:
                return metadata_from_record(stored, expected_name=artifact.name, expected_version=artifact.version)
            except MetadataError:
                pass  # parsed again below
        metadata = self._parse_metadata(artifact, data)
        self.cache.put_parsed(key, metadata_record(metadata))
        return metadata

    def _parse_metadata(self, artifact: Artifact, data: bytes) -> CoreMetadata:
        with _PARSE_LOCK:
            return self._parse_metadata_unlocked(artifact, data)

    def _parse_metadata_unlocked(self, artifact: Artifact, data: bytes) -> CoreMetadata:
        try:
            if artifact.kind is ArtifactKind.SDIST:
                return parse_sdist_metadata(data, artifact.filename, expected_name=artifact.name,
                                            expected_version=str(artifact.version))
            return parse_core_metadata(data, expected_name=artifact.name, expected_version=str(artifact.version))
        except MetadataNeedsBuild as exc:
            raise NeedsBuild(f"sdist {artifact.filename} needs a build for its metadata ({exc.reason})",
                             exc.reason) from None
        except MetadataError as exc:
            raise MetadataUnavailable(
                f"index '{artifact.index}': bad metadata in {artifact.filename}: {exc} ({redact_url(artifact.url)})"
            ) from None

    def _fetch_metadata(self, artifact: Artifact) -> tuple[bytes, MetadataSource]:
        if artifact.kind is ArtifactKind.SDIST and artifact.metadata_copy is None:
            return self._metadata_by_download(artifact), MetadataSource.SDIST
        metadata_hashes = artifact.metadata_hashes
        if metadata_hashes is not None:
            response = self.fetcher.get(artifact.metadata_url, artifact.index, ok_statuses=(200, 404))
            if response.status == 200:
                try:
                    verify_hash(response.body, metadata_hashes)
                except HashMismatch as exc:
                    raise FetchError(artifact.index, artifact.metadata_url,
                                     f"metadata file of {artifact.filename} does not match its listed hash: {exc}",
                                     "the index serves altered metadata; do not trust it") from None
                return response.body, MetadataSource.PEP658
        if artifact.kind is ArtifactKind.SDIST:
            return self._metadata_by_download(artifact), MetadataSource.SDIST
        ranged = self._metadata_by_range(artifact)
        if ranged is not None:
            return ranged, MetadataSource.RANGE
        return self._metadata_by_download(artifact), MetadataSource.DOWNLOAD

    def _metadata_by_range(self, artifact: Artifact) -> bytes | None:
        # A suffix range gives the zip's end records and the file size in one request, so the
        # listed size (often absent from HTML pages) is not needed.
        tail = self.fetcher.get_tail(artifact.url, artifact.index, _TAIL_BYTES)
        if tail is None:
            return None  # no range support: download instead
        data_tail, size = tail
        if artifact.size is not None and artifact.size != size:
            raise FetchError(artifact.index, artifact.url,
                             f"{artifact.filename} is {size} bytes, the index lists {artifact.size}",
                             "the index or a proxy serves altered files; do not trust it")
        start = size - len(data_tail)
        window = {(start, size - 1): data_tail}

        def read_range(first: int, last: int) -> bytes:
            for (lo, hi), data in window.items():
                if lo <= first and last <= hi:
                    return data[first - lo : last - lo + 1]
            data = self.fetcher.get_range(artifact.url, artifact.index, first, last)
            if data is None:
                raise WheelZipError("the server stopped answering range requests")
            return data

        try:
            data, _ = read_wheel_metadata_ranged(read_range, size, artifact.filename)
        except WheelZipError:
            return None  # an odd zip: the full download below verifies and reads it properly
        return data

    def artifact_sha256(self, artifact: Artifact) -> str:
        """The sha256 of an artifact's bytes as the index serves them now (for indexes that
        publish none); never from the cache: the point is to pin what is downloadable."""
        if self.offline:
            raise OfflineMiss(f"sha256 of {artifact.filename} (it must be downloaded to be hashed)")
        return self.fetcher.sha256_of(artifact.url, artifact.index, _MAX_ARTIFACT_BYTES)

    def download(self, artifact: Artifact) -> Path:
        """The artifact's bytes in a temporary file (verified against its sha256; the caller
        removes it)."""
        if self.offline:
            raise OfflineMiss(f"{artifact.filename} from index '{artifact.index}' (it must be downloaded)")
        return self.fetcher.download(artifact.url, artifact.index, artifact.sha256, _MAX_ARTIFACT_BYTES)

    def _metadata_by_download(self, artifact: Artifact) -> bytes:
        """The metadata file read from the artifact streamed once, hashed as it passes and kept
        nowhere (planner/index/streamed.py); a second pass when a zip's member lies outside the
        parts kept the first time."""
        url, index, sha256 = artifact.url, artifact.index, artifact.sha256
        try:
            if artifact.kind is ArtifactKind.SDIST and not artifact.filename.lower().endswith(".zip"):
                return self.fetcher.read_through(url, index, sha256, _MAX_ARTIFACT_BYTES,
                                                 lambda stream: tar_sdist_pkg_info(stream, artifact.filename))
            read = zip_sdist_pkg_info if artifact.kind is ArtifactKind.SDIST else wheel_metadata
            captured = self.fetcher.read_through(url, index, sha256, _MAX_ARTIFACT_BYTES, capture)
            try:
                return read(captured, artifact.filename)
            except Gap as gap:
                if gap.end - gap.start > 2 * MAX_MEMBER_SIZE:
                    raise WheelZipError(f"{artifact.filename}: its zip directory is implausibly large") from None
                extra = (gap.start, gap.end)
                captured = self.fetcher.read_through(url, index, sha256, _MAX_ARTIFACT_BYTES,
                                                     lambda stream: capture(stream, extra=extra))
                try:
                    return read(captured, artifact.filename)
                except Gap:
                    raise WheelZipError(f"{artifact.filename}: its metadata lies in parts of the file that "
                                        "were not kept") from None
        except ArchiveError as exc:  # a wheel's zip or an sdist without PKG-INFO: that file is unusable
            raise MetadataUnavailable(f"index '{artifact.index}': cannot read {artifact.filename}: {exc}") from None


def _conditional(accept: str, cached: CachedPage) -> dict[str, str]:
    headers = {"Accept": accept}
    if cached.etag:
        headers["If-None-Match"] = cached.etag
    if cached.last_modified:
        headers["If-Modified-Since"] = cached.last_modified
    return headers


def _max_age(cache_control: str | None) -> int | None:
    if not cache_control:
        return None
    for part in cache_control.split(","):
        key, _, value = part.strip().partition("=")
        if key.lower() == "no-store" or key.lower() == "no-cache":
            return 0
        value = value.strip().strip('"')
        if key.lower() == "max-age" and value.isascii() and value.isdigit():
            # A server's number, bounded: ten digits are over 300 years (and int() refuses 4301).
            return int(value) if len(value) <= 10 else 10**10
    return None
