"""HTTP (and file://) access to indexes: one pooled `httpx` client, retries, size caps, auth.

Every failure becomes a `FetchError` that names the index and the (redacted) URL and says what
to do; transient faults (timeouts, dropped connections, 5xx, 429) are retried with exponential
backoff first. Credentials are attached per request for the matching host only, and httpx drops
the Authorization header when a redirect leaves that origin.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, BinaryIO
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from planner.errors import ExitCode, PlannerError
from planner.index.auth import CredentialStore, split_userinfo
from planner.urls import redact_text, redact_url

if TYPE_CHECKING:
    import ssl

    import httpx

MiB = 1024 * 1024
USER_AGENT = "planner/0.1 (+https://pypi.org/project/planner)"


class FetchError(PlannerError):
    """An index could not be read; names the index and URL (credentials redacted)."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, index: str, url: str, problem: str, fix: str | None = None):
        super().__init__(f"index '{index}': {problem} ({redact_url(url)})")
        self.index = index
        self.url = redact_url(url)
        self.problem = problem
        self.fix = fix

    def render(self) -> str:
        head = str(self)
        return f"{head}\n  fix: {self.fix}" if self.fix else head


@dataclass
class FetchStats:
    """Counters for reports and benchmarks (thread-safe increments)."""

    requests: int = 0
    bytes: int = 0
    not_modified: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, requests: int = 0, nbytes: int = 0, not_modified: int = 0, retries: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.bytes += nbytes
            self.not_modified += not_modified
            self.retries += retries


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str


def ssl_context() -> ssl.SSLContext:
    """The system trust store, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set (corporate proxies)."""
    return _ssl_context(*_trust_locations())


def _trust_locations() -> tuple[str | None, str | None]:
    """`SSL_CERT_FILE` and `SSL_CERT_DIR`; a missing SSL_CERT_FILE is an error."""
    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = os.environ.get("SSL_CERT_DIR") or None
    if cafile and not Path(cafile).is_file():
        raise PlannerError(f"SSL_CERT_FILE points to a missing file: {cafile}")
    return cafile, capath


def _ssl_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    import ssl  # imported here, with httpx, when the first request needs them

    return ssl.create_default_context(cafile=cafile, capath=capath)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return min(float(value), 30.0) if value else None
    except ValueError:
        return None


# Network settings a user (or a test) can change without code: name -> (default, minimum).
HTTP_SETTINGS: dict[str, tuple[float, float]] = {
    "PLANNER_HTTP_TIMEOUT": (30.0, 0.01),  # seconds to connect, and between two reads of a response
    "PLANNER_HTTP_RETRIES": (3, 0),  # further attempts after a timeout, dropped connection, 5xx or 429
    "PLANNER_HTTP_BACKOFF": (0.5, 0.0),  # seconds before the first retry; doubles each time
    "PLANNER_HTTP_MAX_PAGE_MB": (64, 0.001),  # cap of one index page or metadata file, in MiB
}


def http_setting(name: str, environ: Mapping[str, str] | None = None) -> float:
    """The value of one of `HTTP_SETTINGS` from the environment, or its default.

    A value that is not a number, or below the minimum, is an input error naming the variable.
    """
    from planner.errors import InputError

    default, minimum = HTTP_SETTINGS[name]
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    integral = isinstance(default, int)
    if value != value or value < minimum or value == float("inf") or (integral and not value.is_integer()):
        kind = "a whole number" if integral else "a number"
        raise InputError(f"environment variable {name}={raw!r} is not {kind} >= {minimum:g}",
                         fix=f"set {name} to {kind} such as {default:g}, or unset it")
    return int(value) if integral else value


class Fetcher:
    """Fetches URLs for the index client. Thread-safe; one connection pool per run.

    Settings left as None come from the environment (`HTTP_SETTINGS`), else their defaults.
    """

    def __init__(self, credentials: CredentialStore, *, timeout: float | None = None, retries: int | None = None,
                 backoff: float | None = None, max_page_bytes: int | None = None,
                 stats: FetchStats | None = None, max_connections: int = 16):
        if timeout is None:
            timeout = http_setting("PLANNER_HTTP_TIMEOUT")
        if retries is None:
            retries = int(http_setting("PLANNER_HTTP_RETRIES"))
        if backoff is None:
            backoff = http_setting("PLANNER_HTTP_BACKOFF")
        if max_page_bytes is None:
            max_page_bytes = max(1, int(http_setting("PLANNER_HTTP_MAX_PAGE_MB") * MiB))
        self.credentials = credentials
        # A server that drips a page byte by byte never trips the read timeout: a whole page,
        # metadata file or range must arrive within this many seconds (full downloads excepted).
        self.body_deadline = 4 * timeout
        self.retries = retries
        self.backoff = backoff
        self.max_page_bytes = max_page_bytes
        self.stats = stats or FetchStats()
        self._timeout = timeout
        self._max_connections = max_connections
        self._trust = _trust_locations()
        # The connection pool is made on the first request: a run that only reads the cache or
        # file: indexes never imports httpx (slow to import) nor loads the trust store.
        self._http: httpx.Client | None = None
        self._http_lock = threading.Lock()
        self._closed = False

    @property
    def _client(self) -> httpx.Client:
        client = self._http
        if client is not None:
            return client
        with self._http_lock:
            if self._http is None:
                if self._closed:
                    raise RuntimeError("the Fetcher is closed")
                import httpx

                self._http = httpx.Client(
                    timeout=httpx.Timeout(self._timeout, connect=min(self._timeout, 10.0)),
                    limits=httpx.Limits(max_connections=self._max_connections,
                                        max_keepalive_connections=self._max_connections),
                    follow_redirects=True,
                    max_redirects=5,
                    verify=_ssl_context(*self._trust),
                    headers={"User-Agent": USER_AGENT},
                    trust_env=True,  # HTTP(S)_PROXY / NO_PROXY
                )
            return self._http

    def close(self) -> None:
        with self._http_lock:
            self._closed = True
            if self._http is not None:
                self._http.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public -------------------------------------------------------------------------------
    def get(self, url: str, index: str, headers: Mapping[str, str] | None = None,
            max_bytes: int | None = None, ok_statuses: tuple[int, ...] = (200,)) -> Response:
        """GET `url`; statuses in `ok_statuses` (and 304) are returned, others raise FetchError."""
        limit = max_bytes or self.max_page_bytes
        if url.startswith("file:"):
            with _local_errors(index, url):
                response = self._get_file(url, index, headers or {}, limit)
            if response.status not in ok_statuses:
                raise FetchError(index, url, "not found (no such file or folder)", "check the index path")
            return response
        return self._with_retries(url, index, lambda: self._get_once(url, index, headers or {}, limit, ok_statuses))

    def get_range(self, url: str, index: str, start: int, end: int) -> bytes | None:
        """Bytes `start..end` (inclusive) of `url`, or None when the server ignores ranges."""
        if url.startswith("file:"):
            with _local_errors(index, url), open(_file_path(url), "rb") as handle:
                handle.seek(start)
                data = handle.read(end - start + 1)
            return data

        def once() -> bytes | None:
            clean, creds = self._auth(url)
            with self._client.stream("GET", clean, headers={"Range": f"bytes={start}-{end}"}, auth=creds) as response:
                self.stats.add(requests=1)
                if response.status_code == 200:
                    return None  # the server sends the whole file: let the caller choose to download
                if response.status_code != 206:
                    self._raise_for_status(response, index, url)
                return self._read_body(response, index, url, end - start + 1 + 1024)

        return self._with_retries(url, index, once)

    def get_tail(self, url: str, index: str, length: int) -> tuple[bytes, int] | None:
        """The last `length` bytes of `url` and its total size (a suffix range request), or None
        when the server ignores ranges."""
        if url.startswith("file:"):
            with _local_errors(index, url), open(_file_path(url), "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                handle.seek(max(0, size - length))
                return handle.read(), size

        def once() -> tuple[bytes, int] | None:
            clean, creds = self._auth(url)
            with self._client.stream("GET", clean, headers={"Range": f"bytes=-{length}"}, auth=creds) as response:
                self.stats.add(requests=1)
                if response.status_code == 200:
                    return None
                if response.status_code != 206:
                    self._raise_for_status(response, index, url)
                total = response.headers.get("content-range", "").rpartition("/")[2]
                if not total.isdigit():
                    return None  # an unknown total size makes offsets meaningless
                return self._read_body(response, index, url, length + 1024), int(total)

        return self._with_retries(url, index, once)

    def download(self, url: str, index: str, sha256: str | None, max_bytes: int) -> Path:
        """Stream `url` to a temporary file, verifying its sha256; the caller deletes the file."""
        path, actual = self.download_hashed(url, index, max_bytes)
        try:
            self._check_digest(index, url, sha256, actual)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def download_hashed(self, url: str, index: str, max_bytes: int, folder: Path | None = None) -> tuple[Path, str]:
        """Stream `url` to a temporary file (in `folder`, if given) and return it with the sha256
        of its bytes, computed while they arrive; the caller deletes or moves the file."""
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".planner-dl-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                actual = self._stream(url, index, max_bytes, handle)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Path(tmp), actual

    def sha256_of(self, url: str, index: str, max_bytes: int) -> str:
        """The sha256 of the bytes at `url`, streamed and kept nowhere."""
        return self._stream(url, index, max_bytes, None)

    def _stream(self, url: str, index: str, max_bytes: int, sink: BinaryIO | None) -> str:
        """Read `url` in chunks into `sink` (if any), with retries; returns the bytes' sha256."""
        if url.startswith("file:"):
            digest = hashlib.sha256()
            with _local_errors(index, url), open(_file_path(url), "rb") as source:
                while chunk := source.read(1 * MiB):
                    digest.update(chunk)
                    if sink is not None:
                        sink.write(chunk)
            return digest.hexdigest()

        def once() -> str:
            if sink is not None:  # a retry starts the file over
                sink.seek(0)
                sink.truncate()
            clean, creds = self._auth(url)
            digest = hashlib.sha256()
            with self._client.stream("GET", clean, auth=creds) as response:
                self.stats.add(requests=1)
                if response.status_code != 200:
                    self._raise_for_status(response, index, url)
                total = 0
                for chunk in response.iter_bytes(1 * MiB):
                    total += len(chunk)
                    if total > max_bytes:
                        raise FetchError(index, url, f"download exceeds {_size(max_bytes)}")
                    digest.update(chunk)
                    if sink is not None:
                        sink.write(chunk)
                self.stats.add(nbytes=total)
            return digest.hexdigest()

        return self._with_retries(url, index, once)

    # -- internals ----------------------------------------------------------------------------
    def _auth(self, url: str) -> tuple[str, httpx.BasicAuth | None]:
        import httpx  # on the first request, like the client (see `_client`)

        clean, _ = split_userinfo(url)
        creds = self.credentials.for_url(url)
        return clean, (httpx.BasicAuth(creds.username, creds.password) if creds else None)

    def _get_once(self, url: str, index: str, headers: Mapping[str, str], limit: int,
                  ok_statuses: tuple[int, ...]) -> Response:
        clean, creds = self._auth(url)
        with self._client.stream("GET", clean, headers=dict(headers), auth=creds) as response:
            self.stats.add(requests=1)
            if response.status_code == 304:
                self.stats.add(not_modified=1)
                return Response(304, dict(response.headers), b"", str(response.url))
            if response.status_code not in ok_statuses:
                self._raise_for_status(response, index, url)
            body = self._read_body(response, index, url, limit)
            return Response(response.status_code, dict(response.headers), body, str(response.url))

    def _read_body(self, response: httpx.Response, index: str, url: str, limit: int) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise FetchError(index, url, f"response of {_size(int(declared))} exceeds the {_size(limit)} cap",
                             "check that the URL points at a simple index page (PLANNER_HTTP_MAX_PAGE_MB raises the cap)")
        chunks: list[bytes] = []
        total = 0
        deadline = time.monotonic() + self.body_deadline
        for chunk in response.iter_bytes():
            if time.monotonic() > deadline:
                raise _Transient(f"too slow (the response took more than {self.body_deadline:g} s)", None)
            total += len(chunk)
            if total > limit:
                raise FetchError(index, url, f"response exceeds the {_size(limit)} cap",
                                 "check that the URL points at a simple index page (PLANNER_HTTP_MAX_PAGE_MB raises the cap)")
            chunks.append(chunk)
        self.stats.add(nbytes=total)
        return b"".join(chunks)

    @staticmethod
    def _raise_for_status(response: httpx.Response, index: str, url: str) -> None:
        status = response.status_code
        if status in (401, 403):
            from planner.index.auth import env_prefixes

            prefix = env_prefixes(index)[0]
            raise FetchError(index, url, f"access denied (HTTP {status})",
                             f"give credentials with {prefix}USERNAME / {prefix}PASSWORD, in the index URL, or in ~/.netrc")
        if status == 404:
            raise FetchError(index, url, "not found (HTTP 404)", "check the index URL")
        if status >= 500 or status == 429:
            raise _Transient(f"HTTP {status}", _retry_after(response))
        raise FetchError(index, url, f"unexpected HTTP {status}")

    @staticmethod
    def _check_digest(index: str, url: str, expected: str | None, actual: str) -> None:
        if expected and expected.lower() != actual:
            raise FetchError(index, url, f"sha256 mismatch: the index lists {expected[:16]}…, the file has {actual[:16]}…",
                             "the index or a proxy serves altered files; do not trust it")

    def _with_retries(self, url: str, index: str, attempt):  # type: ignore[no-untyped-def]
        import httpx  # for its exceptions; only requests over the network come here

        last: str = ""
        for n in range(self.retries + 1):
            if n:
                self.stats.add(retries=1)
            try:
                return attempt()
            except _Transient as exc:
                last = exc.reason
                wait = exc.retry_after
            except httpx.TooManyRedirects:
                raise FetchError(index, url, "too many redirects (a redirect loop?)", "check the index URL") from None
            except httpx.UnsupportedProtocol:
                raise FetchError(index, url, "the server redirects to a URL that is not http or https",
                                 "check the index URL; planner never follows a server to file: or other schemes") from None
            except httpx.TimeoutException:
                last, wait = "timed out", None
            except (httpx.TransportError, httpx.DecodingError) as exc:
                last, wait = f"connection failed: {type(exc).__name__}", None
            except httpx.InvalidURL as exc:
                raise FetchError(index, url, f"invalid URL: {redact_text(str(exc))}") from None
            if n < self.retries:
                time.sleep(wait if wait is not None else self.backoff * (2**n))
        raise FetchError(index, url, f"{last}, after {self.retries + 1} attempts",
                         "check the network or the index; planner retries timeouts and server errors")

    def _get_file(self, url: str, index: str, headers: Mapping[str, str], limit: int) -> Response:
        path = _file_path(url)
        accept = headers.get("Accept", "")
        if path.is_dir():
            names = ["index.json", "index.html"] if "json" in accept else ["index.html"]
            found = [path / name for name in names if (path / name).is_file()]
            if not found:
                return Response(404, {}, b"", url)
            path = found[0]
        if not path.is_file():
            return Response(404, {}, b"", url)
        size = path.stat().st_size
        if size > limit:
            raise FetchError(index, url, f"file of {_size(size)} exceeds the {_size(limit)} cap",
                             "check that the path points at a simple index folder (PLANNER_HTTP_MAX_PAGE_MB raises the cap)")
        body = path.read_bytes()
        content_type = "application/vnd.pypi.simple.v1+json" if path.suffix == ".json" else "text/html"
        return Response(200, {"content-type": content_type}, body, url)


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@contextmanager
def _local_errors(index: str, url: str) -> Iterator[None]:
    """A local index's missing or unreadable file as a FetchError naming it."""
    try:
        yield
    except FileNotFoundError:
        raise FetchError(index, url, "not found (no such file)", "check the index path") from None
    except OSError as exc:
        raise FetchError(index, url, f"cannot read the file: {exc.strerror or exc}") from None


def _size(nbytes: int) -> str:
    """`64 MiB`, `1.5 MiB`, `512 KiB`: a size for messages."""
    if nbytes >= MiB:
        return f"{nbytes / MiB:.4g} MiB"
    return f"{nbytes / 1024:.4g} KiB"


def file_url_path(url: str) -> Path:
    """The local path of a `file:` URL."""
    return _file_path(url)


def _file_path(url: str) -> Path:
    from urllib.request import url2pathname  # imported here: it loads http.client, ssl and email

    parts = urlsplit(url)
    return Path(url2pathname(unquote(parts.path)))
