"""URL helpers: validation of index URLs and redaction of credentials for display.

Redaction works on the text, not on a parse: a password may hold `/`, `?`, `#`, `@` or `:`
unencoded, and no URL parser then finds where the user info ends (`https://u:pa/ss@host` parses
as host `u`, port `pa`). So everything between `scheme://` and the last `@` of the URL is hidden
(`https://***@host/...`); version-control URLs keep their `@ref` (the last `@` that is followed
by a path ends the user info there). Hiding too much is harmless, showing a secret is not.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SUPPORTED_SCHEMES = ("https", "http", "file")
REDACTED = "***"
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# Where a URL quoted in free text ends: whitespace, quotes or angle brackets.
_TOKEN_END_RE = re.compile(r"[\s'\"<>`]")
# Schemes whose URLs carry a revision after '@' (PEP 508 / pip: git+https://host/repo@v1.0).
_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+", "git:", "ssh:")
_VCS_FRAGMENT_RE = re.compile(r"#[A-Za-z_]+=")  # `#subdirectory=...`, `#egg=...`


def _userinfo_end(scheme: str, rest: str) -> int:
    """Length of the user info (with its final '@') at the start of `rest`, the text after
    `scheme://`; 0 when there is none."""
    last = rest.rfind("@")
    if last < 0:
        return 0
    if not scheme.lower().startswith(_VCS_PREFIXES):
        return last + 1
    # `git+https://[user:secret@]host/org/repo@ref#subdirectory=x`: without its fragment, the user
    # info ends at the last '@' that a path ('/') follows (an '@' with no '/' after it starts the
    # revision; a revision with a '/' in it is hidden too: hiding too much is harmless).
    # The fragment is the last `#key=` with no '@' after it: a password's '#' comes before the
    # '@' that ends the user info.
    fragments = [m for m in _VCS_FRAGMENT_RE.finditer(rest) if "@" not in rest[m.start():]]
    body = rest[:fragments[-1].start()] if fragments else rest
    last = body.rfind("@")
    while last >= 0 and "/" not in body[last + 1:]:
        last = body.rfind("@", 0, last)
    return last + 1 if last >= 0 else 0


def _redact_token(token: str, replacement: str) -> str:
    """`token` (one URL) with its user info replaced."""
    match = _SCHEME_RE.match(token)
    if match is None:
        # No scheme (`user:secret@host/simple` given where a URL was expected): anything up to
        # the last '@' may be a secret.
        last = token.rfind("@")
        return token if last < 0 else replacement + token[last:] if replacement else token[last + 1:]
    scheme, rest = match.group(0), token[match.end():]
    end = _userinfo_end(scheme, rest)
    if not end:
        return token
    return scheme + (replacement + "@" if replacement else "") + rest[end:]


def hidden_userinfo(url: str) -> bool:
    """Does `url` hold user info that URL parsers do not see as such (a password with an
    unencoded '/', '?', '#' or '@')? Such a URL splits into a wrong host, path and fragment, and
    any message quoting one of those parts would show part of the secret."""
    match = _SCHEME_RE.match(url)
    if match is None or match.group(0).lower().startswith(_VCS_PREFIXES):
        return False  # (a revision after '@' may hold a '/': no telling it from a password)
    end = _userinfo_end(match.group(0), url[match.end():])
    if not end:
        return False
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return True
    return "@" not in netloc or netloc.rsplit("@", 1)[0] != url[match.end():match.end() + end - 1]


def redact_url(url: str) -> str:
    """Hide user info (`user:secret@`) so that no credential reaches a message or a file."""
    return _redact_token(url, REDACTED)


def strip_userinfo(url: str) -> str:
    """The URL without user info: for pages, caches and the files installers read (credentials
    come from netrc or a keyring instead; a `***` user name would only confuse an installer)."""
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return _redact_token(url, "")
    if "@" not in parts.netloc:
        # An '@' in the path is data, not user info. (Index URLs whose password hides its '@'
        # from the parser are refused by `normalize_index_url`; such file URLs do not validate.)
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def redact_text(text: str) -> str:
    """`text` with the user info of every URL in it hidden (`https://***@host/...`): for messages
    that quote user input (a requirement, a marker, an option) which may hold a URL."""
    if "://" not in text:
        return text
    out: list[str] = []
    position = 0
    for match in _SCHEME_RE.finditer(text):
        if match.start() < position:
            continue  # inside the previous URL (already redacted with it)
        end_match = _TOKEN_END_RE.search(text, match.end())
        end = end_match.start() if end_match else len(text)
        out.append(text[position:match.start()])
        out.append(_redact_token(text[match.start():end], REDACTED))
        position = end
    out.append(text[position:])
    return "".join(out)


def normalize_index_url(raw: str, base_dir: Path) -> str:
    """Return the index URL to use, or raise ValueError with the reason.

    Accepts http(s) and file URLs, and plain paths (relative to the pyproject's folder), which
    become file URLs, as uv accepts a local directory laid out as a simple index. Reasons never
    quote the URL's credentials, nor a parser's message (which may quote part of them).
    """
    text = raw.strip()
    if not text:
        raise ValueError("the URL is empty")
    shown = redact_url(text)
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in text):
        raise ValueError(f"'{redact_url(text.encode('unicode_escape').decode())}' contains whitespace or "
                         "control characters")
    if "://" not in text:
        if "@" in text:
            raise ValueError(f"'{shown}' is neither a URL (https://...) nor a path")
        if text.startswith(("/", ".", "~")) or Path(text).drive or (base_dir / text).exists():
            path = Path(text).expanduser()
            if not path.is_absolute():
                path = (base_dir / path).resolve()
            return path.as_uri()
        raise ValueError(f"'{shown}' is neither a URL (https://...) nor a path")
    try:
        parts = urlsplit(text)
    except ValueError:
        raise ValueError(f"'{shown}' is not a valid URL (invalid IPv6 host in brackets)") from None
    scheme = parts.scheme.lower()
    if scheme not in SUPPORTED_SCHEMES:
        raise ValueError(
            f"scheme '{scheme}' of '{shown}' is not supported "
            f"(use one of {', '.join(SUPPORTED_SCHEMES)})"
        )
    if hidden_userinfo(text):
        raise ValueError(f"'{shown}' has an '@' after its host: credentials in a URL must have "
                         "'/', '?', '#' and '@' percent-encoded (%2F, %3F, %23, %40)")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValueError(f"'{shown}' is not a valid URL (its port is not a number from 0 to 65535)") from None
    if scheme != "file" and not parts.hostname:
        raise ValueError(f"'{shown}' has no host")
    return text.rstrip("/") if scheme != "file" else text
