"""Index credentials: URL user info, environment variables, netrc.

Lookup order for a request URL (first hit wins), as uv does it:
1. user info written in the URL of the index the request belongs to;
2. `PLANNER_INDEX_<NAME>_USERNAME` / `_PASSWORD`, then uv's `UV_INDEX_<NAME>_USERNAME` /
   `_PASSWORD` (NAME upper-cased, every non-alphanumeric character replaced by `_`);
3. the netrc file (`NETRC` or `~/.netrc`) entry of the request's host.
Credentials are only sent to the host they belong to; secrets never appear in a repr.
"""

from __future__ import annotations

import netrc
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from planner.project.model import Index


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"


def env_prefixes(index_name: str) -> tuple[str, str]:
    key = re.sub(r"[^A-Za-z0-9]", "_", index_name).upper()
    return (f"PLANNER_INDEX_{key}_", f"UV_INDEX_{key}_")


def split_userinfo(url: str) -> tuple[str, Credentials | None]:
    """The URL without user info, and the credentials it carried."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    username, _, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, Credentials(unquote(username), unquote(password))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return (parts.scheme, (parts.hostname or "").lower(), parts.port)


class CredentialStore:
    """Finds the credentials for a request; built once per run from the project's indexes."""

    def __init__(self, indexes: Iterable[Index], environ: Mapping[str, str] | None = None,
                 netrc_path: Path | None = None):
        environ = os.environ if environ is None else environ
        self._by_index: list[tuple[str, str, Credentials]] = []  # (index name, clean URL, creds)
        for index in indexes:
            clean, creds = split_userinfo(index.url)
            for prefix in env_prefixes(index.name):
                username = environ.get(prefix + "USERNAME")
                password = environ.get(prefix + "PASSWORD")
                if creds is None and (username or password):
                    creds = Credentials(username or "", password or "")
            if creds is not None:
                self._by_index.append((index.name, clean, creds))
        self._netrc = self._load_netrc(netrc_path, environ)

    @staticmethod
    def _load_netrc(path: Path | None, environ: Mapping[str, str]) -> netrc.netrc | None:
        candidate = path or (Path(environ["NETRC"]) if environ.get("NETRC") else Path.home() / ".netrc")
        try:
            return netrc.netrc(str(candidate)) if candidate.is_file() else None
        except (netrc.NetrcParseError, OSError):
            return None  # an unreadable netrc must not stop planner; requests go unauthenticated

    def for_url(self, url: str) -> Credentials | None:
        clean, inline = split_userinfo(url)
        if inline is not None:
            return inline
        origin = _origin(clean)
        # The longest index URL that prefixes the request wins; then any index on the same origin.
        best: tuple[int, Credentials] | None = None
        for _, index_url, creds in self._by_index:
            if _origin(index_url) != origin:
                continue
            score = len(index_url) if clean.startswith(index_url.rstrip("/")) else 0
            if best is None or score > best[0]:
                best = (score, creds)
        if best is not None:
            return best[1]
        if self._netrc is not None and origin[1]:
            entry = self._netrc.authenticators(origin[1])
            if entry:
                login, _, password = entry
                return Credentials(login or "", password or "")
        return None

    def secrets(self) -> tuple[str, ...]:
        """Every known secret, for scrubbing text before it is shown or written."""
        found = {c.password for _, _, c in self._by_index if c.password}
        return tuple(sorted(found))
