"""Checks of every field an index gives for a file, before it can reach an output, a path or a
request (docs/reliability.md, "trust model").

Pure functions. Each returns the value as planner uses it, or raises `BadField` with the reason;
a file with a bad field is unusable: it is left out of the page, reported once, never written.

- URLs: no whitespace or control characters (a line break in `requirements.txt` is a new
  requirement, and pip expands `${VAR}` there); characters RFC 3986 does not allow are
  percent-encoded; the scheme is http or https, or `file:` only on a local-folder index and only
  inside its folder; a host and a valid port; no user info.
- File names: ASCII letters, digits and `._+!-`, at most 255 characters.
- Hashes: for each known algorithm the right number of hex digits (unknown algorithms are
  dropped); sizes: integers from 0 to 1 TiB (inside TOML's and PEP 751's range); upload times:
  RFC 3339; requires-python: at most 1000 characters, numbers of at most 64 bits.
- Free text shown to users (a yank reason): control characters removed, at most 300 characters.
"""

from __future__ import annotations

import os
import posixpath
import re
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote, unquote, urlsplit

from planner.project.numbers import number_problem

MAX_URL = 8192
MAX_FILENAME = 255
MAX_SIZE = 2**40  # 1 TiB: far above any wheel, far inside TOML's 64-bit integers
MAX_REQUIRES_PYTHON = 1000
MAX_REASON = 300
# Hex digits per algorithm (hashlib's names, as PEP 503/691 use them).
HASH_LENGTHS = {
    "md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128,
    "sha3_224": 56, "sha3_256": 64, "sha3_384": 96, "sha3_512": 128, "blake2b": 128, "blake2s": 64,
}
_HEX_RE = re.compile(r"[0-9a-f]+")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
# A file name planner accepts (with at most MAX_FILENAME characters): no path, no "..".
FILENAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]*")
# RFC 3986 characters (unreserved, reserved, '%'); anything else is percent-encoded.
URL_SAFE = "-._~:/?#[]@!$&'()*+,;=%"
_URL_CHARS_RE = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_BAD_URL_CHARS_RE = re.compile(r"[\x00-\x20\x7f-\x9f\s]")
# http(s)://host[:port]/... with only RFC 3986 characters and no user info: no parse needed.
# (Case is spelt out, not IGNORECASE: that is four times slower on a long path, and lets the
# Kelvin sign and the long s pass as ASCII letters.)
_PLAIN_HTTP_URL_RE = re.compile(r"[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::(\d{1,5}))?"
                                r"(?:[/?][A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)?")
_UPLOAD_TIME_RE = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:[Zz]|[+-]\d\d:\d\d)")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class BadField(ValueError):
    """A field of a listed file that planner cannot use; the message says which and why."""


def check_url(url: str, *, local_root: str | None = None, what: str = "its URL") -> str:
    """`url` (absolute, fragment removed) as planner uses it: checked, RFC 3986 characters only.

    `local_root` is the folder of a local-folder index (a path); only then may a `file:` URL
    appear, and only inside that folder."""
    if len(url) > MAX_URL:
        raise BadField(f"{what} is longer than {MAX_URL} characters")
    plain = _PLAIN_HTTP_URL_RE.fullmatch(url)
    if plain is not None and (plain.group(1) is None or 0 < int(plain.group(1)) <= 65535):
        return url  # the usual case, decided by one expression: http(s), a host name, RFC 3986 characters
    if _BAD_URL_CHARS_RE.search(url):
        raise BadField(f"{what} contains whitespace or control characters")
    if not _URL_CHARS_RE.fullmatch(url):
        url = quote(url, safe=URL_SAFE)  # non-ASCII, {}|\\^"<>`: encoded as browsers do
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        raise BadField(f"{what} does not parse (a bad host or port)") from None
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not parts.hostname or not port_ok:
            raise BadField(f"{what} has no host")
        if "@" in parts.netloc:
            raise BadField(f"{what} carries user info (credentials come from the index's settings only)")
        return url
    if scheme == "file":
        if local_root is None:
            raise BadField(f"{what} is a file: URL, which only a local-folder index may list")
        if parts.netloc not in ("", "localhost"):
            raise BadField(f"{what} names a file on another host")
        path = posixpath.normpath(unquote(parts.path))
        root = posixpath.normpath(local_root)
        if path != root and not path.startswith(root.rstrip("/") + "/"):
            raise BadField(f"{what} points outside the index folder {local_root}")
        return url
    raise BadField(f"{what} has scheme '{scheme[:20]}'; an index may only send planner to http(s) files")


def check_filename(filename: str) -> str:
    if len(filename) > MAX_FILENAME:
        raise BadField(f"its name is longer than {MAX_FILENAME} characters")
    if not FILENAME_RE.fullmatch(filename):
        raise BadField("its name holds characters other than ASCII letters, digits and ._+!-")
    return filename


def check_hashes(hashes: dict[str, str], what: str = "hashes") -> dict[str, str]:
    """Known algorithms, lower-case, with exactly their number of hex digits; others dropped."""
    if len(hashes) == 1 and "sha256" in hashes:  # the usual case
        digest = hashes["sha256"]
        if isinstance(digest, str) and _SHA256_RE.fullmatch(digest):
            return {"sha256": digest}
    out: dict[str, str] = {}
    for algorithm, digest in hashes.items():
        name = algorithm.lower()
        length = HASH_LENGTHS.get(name)
        if length is None:
            continue  # an algorithm planner cannot compute: never used, never written
        value = digest.lower() if isinstance(digest, str) else ""
        if len(value) != length or not _HEX_RE.fullmatch(value):
            shown = digest[:20] if isinstance(digest, str) else type(digest).__name__
            raise BadField(f"its {what} {name} value {shown!r} is not {length} hex digits")
        out[name] = value
    return out


def check_size(size: int) -> int:
    if not 0 <= size <= MAX_SIZE:
        raise BadField(f"its size {str(size)[:30]} is out of range (0 to {MAX_SIZE})")
    return size


def check_upload_time(text: str) -> str:
    if not _UPLOAD_TIME_RE.fullmatch(text):
        raise BadField(f"its upload-time {text[:40]!r} is not an RFC 3339 date and time")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadField(f"its upload-time {text[:40]!r} is not a real date and time") from None
    if not 1970 <= parsed.year <= 9999:
        raise BadField(f"its upload-time {text[:40]!r} is out of range")
    return text.replace(" ", "T")  # RFC 3339 allows a space there; planner's records do not


@lru_cache(maxsize=4096)
def check_requires_python(text: str) -> str:
    if len(text) > MAX_REQUIRES_PYTHON or _CONTROL_RE.search(text):
        raise BadField("its requires-python is too long or holds control characters")
    problem = number_problem(text)
    if problem is not None:
        raise BadField(f"its requires-python: {problem}")
    return text


@lru_cache(maxsize=65536)
def check_version(version_text: str) -> str:
    problem = number_problem(version_text)
    if problem is not None:
        raise BadField(f"its version: {problem}")
    return version_text


def clean_reason(text: str) -> str:
    """Free text from an index (a yank reason) as planner shows it."""
    text = _CONTROL_RE.sub(" ", text).strip()
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def local_root_of(index_url: str) -> str | None:
    """The folder a local-folder index (a `file:` index URL) may send planner into, as a path;
    None for other indexes. It is the index folder, or its parent when the folder is named
    `simple`: a copy of a served index keeps `simple/` and `files/` side by side (for a flat
    index given as an HTML file: the folder of the file)."""
    if not index_url.lower().startswith("file:"):
        return None
    from urllib.request import url2pathname

    folder = os.path.normpath(url2pathname(unquote(urlsplit(index_url).path)))
    if os.path.isfile(folder):  # a local flat index page: the folder it lies in
        return os.path.dirname(folder)
    parent = os.path.dirname(folder)
    if os.path.basename(folder) == "simple" and parent != os.path.dirname(parent):  # never the root
        return parent
    return folder
