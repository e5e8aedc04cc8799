"""HTTP (and file://) access to indexes: one pooled `httpx` client, retries, size caps, auth.

Every failure becomes a `FetchError` that names the index and the (redacted) URL and says what
to do; transient faults (timeouts, dropped connections, 5xx, 429) are retried with exponential
backoff first. Credentials are attached per request for the matching host only, and httpx drops
the Authorization header when a redirect leaves that origin.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, BinaryIO, TypeVar
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
_T = TypeVar("_T")
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


MAX_RETRY_AFTER = 30.0  # seconds: a server asking for more is waited on this long, then retried


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """How long a `Retry-After` header asks to wait (RFC 9110: seconds, or an HTTP date), capped
    at `MAX_RETRY_AFTER`; None when absent or meaningless (`nan`, `-1`, `inf`, garbage): then the
    usual backoff applies."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) <= 12:
        return min(float(text), MAX_RETRY_AFTER)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # `nan`, `-1`, `1.5e9999`: not a delay a server may ask for
    wait = when - (time.time() if now is None else now)
    return min(max(wait, 0.0), MAX_RETRY_AFTER)


def header_int(value: str | None) -> int | None:
    """A non-negative integer header value (Content-Length, a Content-Range total), or None.
    A server's number: ASCII digits only, and at most 18 of them (an exabyte)."""
    if value is None:
        return None
    text = value.strip()
    if not text or not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def _retry_after(response: httpx.Response) -> float | None:
    return retry_after_seconds(response.headers.get("retry-after"))


# Network settings a user (or a test) can change without code: name -> (default, minimum, maximum).
HTTP_SETTINGS: dict[str, tuple[float, float, float]] = {
    "PLANNER_HTTP_TIMEOUT": (30.0, 0.01, 3600),  # seconds to connect, and between two reads of a response
    "PLANNER_HTTP_RETRIES": (3, 0, 100),  # further attempts after a timeout, dropped connection, 5xx or 429
    "PLANNER_HTTP_BACKOFF": (0.5, 0.0, 600),  # seconds before the first retry; doubles each time
    "PLANNER_HTTP_MAX_PAGE_MB": (64, 0.001, 1024 * 1024),  # cap of one index page or metadata file, in MiB
    "PLANNER_INDEX_TTL": (600, 0, 10**9),  # seconds a page without caching headers stays fresh
}
MAX_BACKOFF = 60.0  # seconds: the doubling backoff never waits longer than this


def http_setting(name: str, environ: Mapping[str, str] | None = None) -> float:
    """The value of one of `HTTP_SETTINGS` from the environment, or its default.

    A value that is not a number, or out of range, is an input error naming the variable.
    """
    from planner.errors import InputError

    default, minimum, maximum = HTTP_SETTINGS[name]
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    integral = isinstance(default, int)
    if not minimum <= value <= maximum or (integral and not value.is_integer()):  # NaN fails the range too
        kind = "a whole number" if integral else "a number"
        shown = raw if len(raw) <= 40 else raw[:20] + "…"
        raise InputError(f"environment variable {name}={shown!r} is not {kind} from {minimum:g} to {maximum:g}",
                         fix=f"set {name} to {kind} such as {default:g}, or unset it")
    return int(value) if integral else value


class Fetcher:
    """Fetches URLs for the index client. Thread-safe; one connection pool per run.

    Settings left as None come from the environment (`HTTP_SETTINGS`), else their defaults.
    """

    def __init__(self, credentials: CredentialStore, *, timeout: float | None = None, retries: int | None = None,
                 backoff: float | None = None, max_page_bytes: int | None = None,
                 stats: FetchStats | None = None, max_connections: int = 16, local_roots: Sequence[str] = ()):
        """`local_roots`: the folders of the run's local-folder indexes; a `file:` URL is read
        only when the file (links resolved) lies inside one of them."""
        if timeout is None:
            timeout = http_setting("PLANNER_HTTP_TIMEOUT")
        if retries is None:
            retries = int(http_setting("PLANNER_HTTP_RETRIES"))
        if backoff is None:
            backoff = http_setting("PLANNER_HTTP_BACKOFF")
        if max_page_bytes is None:
            max_page_bytes = max(1, int(http_setting("PLANNER_HTTP_MAX_PAGE_MB") * MiB))
        self.credentials = credentials
        self.local_roots: tuple[str, ...] = ()
        self.allow_local_roots(local_roots)
        self._guard = _RedirectGuard()
        # A server that drips a page byte by byte never trips the read timeout: a whole page,
        # metadata file or range must arrive within this many seconds (full downloads excepted).
        self.body_deadline = 4 * timeout
        self.retries = retries
        self.backoff = backoff
        self.max_page_bytes = max_page_bytes
        self.stats = stats or FetchStats()
        # Hears of each HTTP response: "GET <url, no credentials> <status>" (`planner -vv`).
        self.on_request: Callable[[str], None] | None = None
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
                    # Every hop of a redirect is checked: http(s) only, never https -> http, never
                    # a link-local address (cloud metadata services answer there).
                    event_hooks={"request": [self._guard.on_request], "response": [self._guard.on_response]},
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
            with _local_errors(index, url), open(self._local_path(url, index), "rb") as handle:
                handle.seek(start)
                data = handle.read(end - start + 1)
            return data

        def once() -> bytes | None:
            clean, creds = self._auth(url)
            with self._open(clean, {"Range": f"bytes={start}-{end}"}, creds) as response:
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
            with _local_errors(index, url), open(self._local_path(url, index), "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                handle.seek(max(0, size - length))
                return handle.read(), size

        def once() -> tuple[bytes, int] | None:
            clean, creds = self._auth(url)
            with self._open(clean, {"Range": f"bytes=-{length}"}, creds) as response:
                self.stats.add(requests=1)
                if response.status_code == 200:
                    return None
                if response.status_code != 206:
                    self._raise_for_status(response, index, url)
                total = header_int(response.headers.get("content-range", "").rpartition("/")[2])
                if total is None:
                    return None  # an unknown total size makes offsets meaningless
                return self._read_body(response, index, url, length + 1024), total

        return self._with_retries(url, index, once)

    def download(self, url: str, index: str, sha256: str | None, max_bytes: int, directory: Path | None = None) -> Path:
        """Stream `url` to a temporary file in `directory` (the folder it is meant for: never GBs in
        TMPDIR), verifying its sha256; the caller moves or deletes the file."""
        path, actual = self.download_hashed(url, index, max_bytes, directory)
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

    def read_through(self, url: str, index: str, sha256: str | None, max_bytes: int,
                     consume: Callable[[io.RawIOBase], _T]) -> _T:
        """`consume(stream)` on the bytes at `url`, read once and kept nowhere: every byte is
        hashed as it passes, the rest of the stream is read after `consume` returns, and its
        result is returned only when the bytes match `sha256` (when given). At most `max_bytes`
        are read. A retry starts over with a new stream."""
        def run(chunks: Iterator[bytes]) -> _T:
            reader = _HashingReader(chunks, max_bytes, lambda: FetchError(index, url, f"download exceeds {_size(max_bytes)}"))
            try:
                result = consume(reader)
            except ValueError:  # the artifact does not read: a hash mismatch is the better reason
                reader.drain()
                self._check_digest(index, url, sha256, reader.hexdigest())
                raise
            reader.drain()
            self.stats.add(nbytes=reader.total)
            self._check_digest(index, url, sha256, reader.hexdigest())
            return result

        if url.startswith("file:"):
            with _local_errors(index, url), open(self._local_path(url, index), "rb") as source:
                return run(iter(lambda: source.read(1 * MiB), b""))

        def once() -> _T:
            clean, creds = self._auth(url)
            with self._open(clean, {}, creds) as response:
                self.stats.add(requests=1)
                if response.status_code != 200:
                    self._raise_for_status(response, index, url)
                return run(response.iter_bytes(1 * MiB))

        return self._with_retries(url, index, once)

    def sha256_of(self, url: str, index: str, max_bytes: int) -> str:
        """The sha256 of the bytes at `url`, streamed and kept nowhere."""
        return self._stream(url, index, max_bytes, None)

    def _stream(self, url: str, index: str, max_bytes: int, sink: BinaryIO | None) -> str:
        """Read `url` in chunks into `sink` (if any), with retries; returns the bytes' sha256."""
        if url.startswith("file:"):
            digest = hashlib.sha256()
            with _local_errors(index, url), open(self._local_path(url, index), "rb") as source:
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
            with self._open(clean, {}, creds) as response:
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

    def allow_local_roots(self, roots: Sequence[str]) -> None:
        """Let `file:` URLs inside these folders (local-folder indexes) be read."""
        added = tuple(os.path.realpath(root) for root in roots)
        self.local_roots = tuple(dict.fromkeys(self.local_roots + added))

    # -- internals ----------------------------------------------------------------------------
    @contextmanager
    def _open(self, url: str, headers: Mapping[str, str], creds: httpx.BasicAuth | None) -> Iterator[httpx.Response]:
        """A streamed GET, its redirects checked hop by hop (`_RedirectGuard`)."""
        self._guard.start()
        with self._client.stream("GET", url, headers=dict(headers), auth=creds) as response:
            if self.on_request is not None:
                ranged = f" ({headers['Range']})" if "Range" in headers else ""
                self.on_request(f"GET {redact_url(url)}{ranged} {response.status_code}")
            yield response

    def _local_path(self, url: str, index: str) -> Path:
        """The file a `file:` URL names, if it lies inside a local index's folder (links
        resolved): an index page can name any path, and only its own folder may be read."""
        path = _file_path(url)
        real = os.path.realpath(path)
        if not any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in self.local_roots):
            raise FetchError(index, url, "the file lies outside the local index folder; planner does not read it",
                             "keep a local index's pages and files inside its folder")
        return path

    def _auth(self, url: str) -> tuple[str, httpx.BasicAuth | None]:
        import httpx  # on the first request, like the client (see `_client`)

        clean, _ = split_userinfo(url)
        creds = self.credentials.for_url(url)
        return clean, (httpx.BasicAuth(creds.username, creds.password) if creds else None)

    def _get_once(self, url: str, index: str, headers: Mapping[str, str], limit: int,
                  ok_statuses: tuple[int, ...]) -> Response:
        clean, creds = self._auth(url)
        with self._open(clean, headers, creds) as response:
            self.stats.add(requests=1)
            if response.status_code == 304:
                self.stats.add(not_modified=1)
                return Response(304, dict(response.headers), b"", str(response.url))
            if response.status_code not in ok_statuses:
                self._raise_for_status(response, index, url)
            body = self._read_body(response, index, url, limit)
            return Response(response.status_code, dict(response.headers), body, str(response.url))

    def _read_body(self, response: httpx.Response, index: str, url: str, limit: int) -> bytes:
        declared = header_int(response.headers.get("content-length"))
        if declared is not None and declared > limit:
            raise FetchError(index, url, f"response of {_size(declared)} exceeds the {_size(limit)} cap",
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
            except _RedirectRefused as exc:
                raise FetchError(index, url, f"the server redirects {redact_url(exc.source)} to {redact_url(exc.target)}, "
                                 f"not followed: {exc.reason}", exc.fix) from None
            except httpx.TooManyRedirects:
                raise FetchError(index, url, "too many redirects (a redirect loop?)", "check the index URL") from None
            except httpx.UnsupportedProtocol:
                raise FetchError(index, url, "the server redirects to a URL that is not http or https",
                                 "check the index URL; planner never follows a server to file: or other schemes") from None
            except httpx.TimeoutException:
                last, wait = "timed out", None
            except (httpx.TransportError, httpx.DecodingError) as exc:
                last, wait = f"connection failed: {_connection_cause(exc)}", None
            except httpx.InvalidURL as exc:
                raise FetchError(index, url, f"invalid URL: {redact_text(str(exc))}") from None
            if n < self.retries:
                time.sleep(wait if wait is not None else min(self.backoff * (2**n), MAX_BACKOFF))
        attempts = "1 attempt" if self.retries == 0 else f"{self.retries + 1} attempts"
        raise FetchError(index, url, f"{last}, after {attempts}",
                         f"check the network and the index URL; or read the index from elsewhere with "
                         f"--index {index}=URL (a mirror, or a folder made by planner mirror), or compile "
                         "only the targets that do not need it with -t TARGET")

    def _get_file(self, url: str, index: str, headers: Mapping[str, str], limit: int) -> Response:
        path = self._local_path(url, index)
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


def _connection_cause(exc: BaseException) -> str:
    """Why a connection failed, in a user's words: the DNS name, a refusal, TLS, a connection the
    server dropped, or else the error's kind and text."""
    import socket
    import ssl

    import httpx

    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    for cause in seen:
        if isinstance(cause, socket.gaierror):
            return "DNS name not found (the host name does not resolve here)"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused (nothing listens at that host and port)"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted ({redact_text(cause.verify_message or str(cause))})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed ({redact_text(cause.reason or str(cause))})"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by the server"
        if isinstance(cause, httpx.RemoteProtocolError):
            return "the server closed the connection before a complete answer"
        if isinstance(cause, (httpx.ReadError, httpx.WriteError)):
            return "the connection broke during the transfer"
    text = " ".join(str(cause) for cause in seen)
    for words, cause_text in (("Name or service not known", "DNS name not found (the host name does not resolve here)"),
                              ("nodename nor servname", "DNS name not found (the host name does not resolve here)"),
                              ("Connection refused", "connection refused (nothing listens at that host and port)"),
                              ("CERTIFICATE_VERIFY_FAILED", "TLS certificate not trusted"),
                              ("SSL", "TLS handshake failed"),
                              ("Network is unreachable", "network unreachable (no route to that host from here)")):
        if words in text:
            return cause_text
    detail = redact_text(str(exc)).strip()
    return f"{type(exc).__name__} ({detail[:200]})" if detail else type(exc).__name__


class _HashingReader(io.RawIOBase):
    """A readable stream over `chunks` that hashes every byte and counts them (at most
    `max_bytes`; beyond, `too_large()` is raised)."""

    def __init__(self, chunks: Iterator[bytes], max_bytes: int, too_large: Callable[[], Exception]) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")
        self._digest = hashlib.sha256()
        self._max = max_bytes
        self._too_large = too_large
        self.total = 0

    def readable(self) -> bool:
        return True

    def _next(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                self.total += len(chunk)
                if self.total > self._max:
                    raise self._too_large()
                self._digest.update(chunk)
                self._pending = memoryview(chunk)
                return True
        return False

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def,override]
        if not self._pending and not self._next():
            return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def drain(self) -> None:
        self._pending = memoryview(b"")
        while self._next():
            self._pending = memoryview(b"")

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


# Where cloud metadata services answer: never the target of a redirect.
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data",
                             "instance-data.ec2.internal"})


def _blocked_address(address: str) -> bool:
    """Link-local (169.254.0.0/16, fe80::/10, as IPv4-mapped too) or AWS's IPv6 metadata address."""
    import ipaddress

    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_link_local or ip == ipaddress.ip_address("fd00:ec2::254")


def redirect_problem(source: str, target: str, resolve: bool = True) -> str | None:
    """Why a redirect from `source` to `target` must not be followed, or None."""
    import socket

    here, there = urlsplit(source), urlsplit(target)
    scheme = there.scheme.lower()
    if scheme not in ("http", "https"):
        return "not an http or https URL"
    if here.scheme.lower() == "https" and scheme == "http":
        return "a downgrade from https to http"
    host = (there.hostname or "").rstrip(".").lower()
    if host in _METADATA_HOSTS or _blocked_address(host):
        return "a link-local address, where cloud metadata services answer"
    if resolve and host:
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, there.port or 443, type=socket.SOCK_STREAM)}
        except (OSError, UnicodeError):
            return None  # not resolvable here (a proxy may be): the connection decides
        if any(_blocked_address(str(address)) for address in addresses):
            return f"{host} resolves to a link-local address, where cloud metadata services answer"
    return None


class _RedirectRefused(Exception):
    def __init__(self, source: str, target: str, reason: str) -> None:
        super().__init__(reason)
        self.source, self.target, self.reason = source, target, reason
        self.fix = ("check the index URL; planner never follows a server to file: or other schemes"
                    if "not an http" in reason else
                    "check the index URL (use its https:// address directly)" if "https to http" in reason else
                    "the index (or something between) sends planner to a cloud metadata service: do not trust it")


class _RedirectGuard:
    """httpx event hooks that check every hop of a redirect chain, per thread (each request's
    hops run in the thread that sent it)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def start(self) -> None:
        self._local.chain = []

    def on_request(self, request: httpx.Request) -> None:
        chain: list[str] = getattr(self._local, "chain", [])
        url = str(request.url)
        if chain:
            problem = redirect_problem(chain[-1], url)
            if problem is not None:
                raise _RedirectRefused(chain[-1], url, problem)
        chain.append(url)

    def on_response(self, response: httpx.Response) -> None:
        chain: list[str] = getattr(self._local, "chain", [])
        if len(chain) < 2:
            return  # the URL planner was given: not a redirect
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if peer and _blocked_address(str(peer[0])):  # a name that resolved differently at connect time
            raise _RedirectRefused(chain[-2], chain[-1], "its connection reached a link-local address, "
                                   "where cloud metadata services answer")


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
