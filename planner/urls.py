"""URL helpers: validation of index URLs and redaction of credentials for display."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SUPPORTED_SCHEMES = ("https", "http", "file")
# `scheme://user:secret@` anywhere in a text; the user info runs to the last '@' before the host.
_URL_USERINFO_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")  # at the start of a URL
_TEXT_USERINFO_RE = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s'\"<>]*@")


def redact_url(url: str) -> str:
    """Hide user info (`user:secret@`) so that no credential reaches a message or a file."""
    return _replace_userinfo(url, "***@", unparsable="<unparsable URL>")


def strip_userinfo(url: str) -> str:
    """The URL without user info: for pages, caches and the files installers read (credentials
    come from netrc or a keyring instead; a `***` user name would only confuse an installer)."""
    return _replace_userinfo(url, "", unparsable=None)


def _replace_userinfo(url: str, replacement: str, unparsable: str | None) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        # A broken IPv6 host, say: still never let `user:secret@` through.
        return unparsable if unparsable is not None else _URL_USERINFO_RE.sub(r"\1", url, count=1)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, replacement + host, parts.path, parts.query, parts.fragment))


def redact_text(text: str) -> str:
    """`text` with the user info of every URL in it hidden (`https://***@host/...`): for messages
    that quote user input (a requirement, a marker, an option) which may hold a URL."""
    return _TEXT_USERINFO_RE.sub(r"\g<scheme>***@", text)


def normalize_index_url(raw: str, base_dir: Path) -> str:
    """Return the index URL to use, or raise ValueError with the reason.

    Accepts http(s) and file URLs, and plain paths (relative to the pyproject's folder), which
    become file URLs, as uv accepts a local directory laid out as a simple index.
    """
    text = raw.strip()
    if not text:
        raise ValueError("the URL is empty")
    if "://" not in text:
        if text.startswith(("/", ".", "~")) or Path(text).drive or (base_dir / text).exists():
            path = Path(text).expanduser()
            if not path.is_absolute():
                path = (base_dir / path).resolve()
            return path.as_uri()
        raise ValueError(f"'{redact_url(text)}' is neither a URL (https://...) nor a path")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"'{redact_url(text)}' is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in SUPPORTED_SCHEMES:
        raise ValueError(
            f"scheme '{scheme}' of '{redact_url(text)}' is not supported "
            f"(use one of {', '.join(SUPPORTED_SCHEMES)})"
        )
    if scheme != "file" and not parts.hostname:
        raise ValueError(f"'{redact_url(text)}' has no host")
    return text.rstrip("/") if scheme != "file" else text
