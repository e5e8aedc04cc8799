"""Direct references: where a package comes from when it is no index's (PEP 508 `name @ url`,
PEP 440 direct references, uv's `git` and `url` sources), as validated, immutable values.

Pure: text in, values out (no network, no file system). Forms read:

- `name @ git+https://host/org/repo.git@v1.0#subdirectory=pkg` (also `git+http`, `git+ssh`,
  `git+file`, `git+git`): a `GitReference`; the `@ref` part names a branch, tag or commit
  (which one is decided when the repository is asked, see planner/sources/git.py);
- `name @ https://host/name-1.0-py3-none-any.whl#sha256=<hex>` (or an sdist / source archive,
  `http`, or a `file:` URL of an archive): a `UrlReference`, its hash fragments read;
- `name @ file:///path/to/tree` (any `file:` URL that names no archive): a `PathReference`;
- `[tool.uv.sources]` tables `{ git = "...", rev | tag | branch = "...", subdirectory = "..." }`
  and `{ url = "...", subdirectory = "..." }`: `git_source` and `url_source`.

`${PROJECT_ROOT}` in a requirement's URL stands for the project's folder, as uv reads it.

Every problem is a `DirectReferenceError` whose `problem` and `fix` quote URLs with their
credentials hidden, and whose `key` names the source table key at fault (for the loader, which
adds the file and line). A reference keeps the credentials it was written with (they are needed
to fetch it), but neither its repr nor any message shows them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from urllib.parse import unquote, urlsplit, urlunsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from planner.urls import hidden_userinfo, redact_url

GIT_SCHEMES = ("https", "http", "ssh", "file", "git")
URL_SCHEMES = ("https", "http", "file")
WHEEL_SUFFIX = ".whl"
# What uv and pip accept as source archives (PEP 625 sdists are .tar.gz; older ones .zip etc.).
ARCHIVE_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tbz", ".tar.xz", ".txz", ".tar")
PROJECT_ROOT_VARIABLE = "${PROJECT_ROOT}"
# A hash fragment's hex length per algorithm hashlib guarantees (the names pip and uv accept).
HASH_LENGTHS = {name: hashlib.new(name).digest_size * 2
                for name in ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")}
# uv and pip end a requirement's URL at a ';' followed by whitespace even with none before it
# (`dion @ git+https://host/dion.git; platform_machine == 'x86_64'`); PEP 508, and so `packaging`,
# need whitespace before that ';'. `\S+?` stops at the first such ';' (uv's rule).
_MARKER_AFTER_URL_RE = re.compile(r"^(?P<head>[^@;]*@[ \t]*)(?P<url>\S+?);(?=[ \t])")
_HEX_RE = re.compile(r"[0-9a-fA-F]+")
_FULL_COMMIT_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# git check-ref-format, in short: no control characters, space, ~ ^ : ? * [ \, no "..", no "@{",
# not starting with "-" (it would read as an option) or "/", not ending with "/", "." or ".lock".
_BAD_REF_RE = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|^[-/]|[/.]$|\.lock$|//")


class DirectReferenceError(ValueError):
    """A direct reference that cannot be used; `key` is the source table key at fault, if any."""

    def __init__(self, problem: str, fix: str, key: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix
        self.key = key


class GitRefKind(StrEnum):
    DEFAULT = "default"  # the repository's HEAD (its default branch)
    BRANCH = "branch"
    TAG = "tag"
    REV = "rev"  # a commit id (full or short) or any ref name: uv's `rev`, and PEP 508's `@ref`


def space_before_url_marker(text: str) -> str | None:
    """`text` with a space before the ';' that ends its URL, where uv reads a requirement so and
    PEP 508 does not (a ';' right after the URL, whitespace after it); None for any other text.
    (`url;marker`, with no whitespace on either side, stays an error: uv cannot tell where such a
    URL ends either.)"""
    match = _MARKER_AFTER_URL_RE.match(text)
    if match is None:
        return None
    return f"{match['head']}{match['url']} ;{text[match.end():]}"


def requirement_as_uv_reads(text: str) -> Requirement:
    """`packaging`'s Requirement of `text`, also where only uv's reading of a URL's end lets it
    parse (`space_before_url_marker`); `packaging`'s InvalidRequirement otherwise."""
    try:
        return Requirement(text)
    except InvalidRequirement:
        spaced = space_before_url_marker(text)
        if spaced is None:
            raise
        try:
            return Requirement(spaced)
        except InvalidRequirement:
            pass
        raise


@dataclass(frozen=True)
class GitRef:
    kind: GitRefKind
    name: str | None = None  # None for DEFAULT

    def __str__(self) -> str:
        return "the default branch" if self.name is None else f"{self.kind.value} '{self.name}'"

    @property
    def is_full_commit(self) -> bool:
        """A rev that is a full commit id: resolving it needs no ref lookup."""
        return self.kind is GitRefKind.REV and bool(_FULL_COMMIT_RE.fullmatch(self.name or ""))


@dataclass(frozen=True)
class GitReference:
    """A package in a git repository, at a ref, in an optional subdirectory."""

    url: str  # the repository URL, without `git+`, ref or fragment; may hold user info
    ref: GitRef = GitRef(GitRefKind.DEFAULT)
    subdirectory: str | None = None  # a relative POSIX path inside the repository

    @property
    def display_url(self) -> str:
        return redact_url(self.url)

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    def __repr__(self) -> str:
        return f"GitReference(url={self.display_url!r}, ref={self.ref!r}, subdirectory={self.subdirectory!r})"

    def __str__(self) -> str:
        where = f" (subdirectory {self.subdirectory})" if self.subdirectory else ""
        return f"{self.display_url} at {self.ref}{where}"

    def pep508_url(self, commit: str | None = None) -> str:
        """`git+<url>@<ref or commit>[#subdirectory=...]`, credentials removed (for outputs)."""
        from planner.urls import strip_userinfo

        ref = commit or self.ref.name
        text = "git+" + strip_userinfo(self.url) + (f"@{ref}" if ref else "")
        return text + (f"#subdirectory={self.subdirectory}" if self.subdirectory else "")


class DistributionKind(StrEnum):
    WHEEL = "wheel"
    SDIST = "sdist"  # an sdist, or any source archive (GitHub's /archive/<ref>.zip, say)


@dataclass(frozen=True)
class UrlReference:
    """A wheel or source archive at a URL (http, https or file)."""

    url: str  # without the fragment; may hold user info
    filename: str  # the last path segment, decoded
    kind: DistributionKind
    hashes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # from the fragment
    subdirectory: str | None = None  # sdists: where the project lies inside the archive
    name: NormalizedName | None = None  # from the file name: always for wheels, else when it parses
    version: Version | None = None

    @property
    def sha256(self) -> str | None:
        return self.hashes.get("sha256")

    @property
    def display_url(self) -> str:
        return redact_url(self.url)

    def __repr__(self) -> str:
        return f"UrlReference(url={self.display_url!r}, kind={self.kind.value!r}, hashes={dict(self.hashes)!r})"

    def __str__(self) -> str:
        return self.display_url

    def __hash__(self) -> int:
        return hash((self.url, self.filename, self.kind, tuple(sorted(self.hashes.items())), self.subdirectory))


@dataclass(frozen=True)
class PathReference:
    """A local directory named by a `file:` URL (`name @ file:///path/to/tree`)."""

    path: Path  # absolute
    editable: bool = False

    def __str__(self) -> str:
        return str(self.path)


DirectReference = GitReference | UrlReference | PathReference


# -- PEP 508 `name @ url` ------------------------------------------------------------------------
def parse_direct_reference(requirement: Requirement, project_root: Path) -> DirectReference:
    """The reference a requirement with a URL makes (`requirement.url` must be set)."""
    if not requirement.url:
        raise ValueError(f"requirement {requirement.name} has no URL")
    name = canonicalize_name(requirement.name)
    text = requirement.url.strip().replace(PROJECT_ROOT_VARIABLE, project_root.as_posix())
    while text.lower().startswith("file:////"):  # file:///${PROJECT_ROOT}/... with an absolute root
        text = text[:7] + text[8:]
    shown = redact_url(text)
    _check_userinfo(text, shown)
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme.startswith("git+"):
        return _pep508_git(text, shown)
    if "+" in scheme:
        raise DirectReferenceError(
            f"'{shown}' uses the version control scheme '{scheme}', which planner does not read",
            "use a git repository (git+https://...) or a URL of a wheel or sdist")
    reference = _archive_url(text, shown, allow_subdirectory=True)
    if isinstance(reference, UrlReference) and reference.name is not None and reference.kind is DistributionKind.WHEEL \
            and reference.name != name:
        raise DirectReferenceError(
            f"'{shown}' is a wheel of '{reference.name}', not of '{name}'",
            f"require it as {reference.name} @ ..., or point {name} at its own wheel")
    return reference


def _check_userinfo(text: str, shown: str) -> None:
    """A password with an unencoded '/', '?', '#' or '@' would be split into the URL's path or
    fragment (and quoted in messages about them): refuse it first, saying how to write it."""
    if hidden_userinfo(text):
        raise DirectReferenceError(f"'{shown}' has credentials that hold '/', '?', '#' or '@' unencoded",
                                   "percent-encode them in the user info (%2F, %3F, %23, %40)")


def _fragment(text: str, shown: str) -> tuple[str, dict[str, str]]:
    """The URL without its fragment, and the fragment's `key=value` pairs (`&`-separated)."""
    url, _, fragment = text.partition("#")
    pairs: dict[str, str] = {}
    for item in filter(None, fragment.split("&")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise DirectReferenceError(f"the fragment '#{fragment}' of '{shown}' is not key=value pairs",
                                       "write e.g. #sha256=<hex> or #subdirectory=path")
        if key in pairs:
            raise DirectReferenceError(f"'{key}' appears twice in the fragment of '{shown}'", "keep one")
        pairs[key] = unquote(value)
    return url, pairs


def _checked_subdirectory(value: str, key: str | None = "subdirectory") -> str:
    text = value.strip().strip("/")
    parts = PurePosixPath(text).parts if text else ()
    if (not text or "\\" in text or "\x00" in text or value.strip().startswith("/")
            or any(part in ("", ".", "..") for part in parts) or any(part.lower() == ".git" for part in parts)):
        raise DirectReferenceError(
            f"subdirectory '{value}' is not a relative path inside the repository or archive",
            "write a path such as 'packages/client', without '..' or a leading '/'", key)
    return "/".join(parts)


def _pep508_git(text: str, shown: str) -> GitReference:
    url, fragment = _fragment(text[len("git+"):], shown)
    subdirectory = None
    for key, value in fragment.items():
        if key == "subdirectory":
            subdirectory = _checked_subdirectory(value, None)
        elif key == "egg":
            continue  # pip's legacy name hint: the requirement names the package already
        elif key in HASH_LENGTHS:
            raise DirectReferenceError(f"'{shown}' carries a #{key}= hash, which a git reference cannot have",
                                       "drop the hash: the resolved commit pins the repository's content")
        else:
            raise DirectReferenceError(f"unknown fragment '{key}' in '{shown}'",
                                       "a git URL takes #subdirectory=<path> (and pip's #egg=<name>)")
    parts = _split_url(url, shown, GIT_SCHEMES, "git+")
    path, ref_name = parts.path, None
    if "@" in path:
        path, _, ref_name = path.rpartition("@")
        ref_name = unquote(ref_name)
        if not ref_name:
            raise DirectReferenceError(f"'{shown}' ends its path with '@' but names no ref",
                                       "write the branch, tag or commit after '@', or drop the '@'")
        _check_ref_name(ref_name, None)
    repository = urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
    ref = GitRef(GitRefKind.REV, ref_name) if ref_name else GitRef(GitRefKind.DEFAULT)
    return GitReference(repository, ref, subdirectory)


def _split_url(url: str, shown: str, schemes: tuple[str, ...], prefix: str = ""):  # type: ignore[no-untyped-def]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise DirectReferenceError(f"'{shown}' is not a valid URL ({exc})", "check the URL") from None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        listed = ", ".join(prefix + s for s in schemes)
        raise DirectReferenceError(f"the scheme of '{shown}' is not supported", f"use one of: {listed}")
    if scheme != "file" and not parts.hostname:
        raise DirectReferenceError(f"'{shown}' has no host", "write the full URL, e.g. https://github.com/org/repo")
    if scheme == "file" and (parts.netloc not in ("", "localhost") or not parts.path.startswith("/")):
        raise DirectReferenceError(f"'{shown}' is not a file: URL of an absolute path",
                                   f"write file:///absolute/path (three slashes), or file:///{PROJECT_ROOT_VARIABLE}/relative/path")
    if not parts.path or parts.path == "/":
        raise DirectReferenceError(f"'{shown}' has no path", "write the URL of the repository or file")
    return parts._replace(scheme=scheme)


def _check_ref_name(name: str, key: str | None) -> None:
    if _BAD_REF_RE.search(name):
        raise DirectReferenceError(
            f"'{name}' is not a valid git branch, tag or commit name",
            "write a name as git allows it (no spaces, '..', '~', '^', ':', and not starting with '-')", key)


def _archive_url(text: str, shown: str, *, allow_subdirectory: bool,
                 subdirectory: str | None = None) -> UrlReference | PathReference:
    url, fragment = _fragment(text, shown)
    parts = _split_url(url, shown, URL_SCHEMES)
    hashes: dict[str, str] = {}
    for key, value in fragment.items():
        if key in HASH_LENGTHS:
            if not _HEX_RE.fullmatch(value) or len(value) != HASH_LENGTHS[key]:
                raise DirectReferenceError(f"#{key}= of '{shown}' is not a {key} digest ({HASH_LENGTHS[key]} hex digits)",
                                           f"copy the file's {key} again, e.g. from `sha256sum`")
            hashes[key] = value.lower()
        elif key == "subdirectory" and allow_subdirectory:
            subdirectory = _checked_subdirectory(value, None)
        elif key == "egg":
            continue
        else:
            raise DirectReferenceError(f"unknown fragment '{key}' in '{shown}'",
                                       "a URL of a wheel or sdist takes #sha256=<hex> (and #subdirectory= for sdists)")
    clean = urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
    filename = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    lower = filename.lower()
    if lower.endswith(WHEEL_SUFFIX):
        try:
            name, version, _build, _tags = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion) as exc:
            raise DirectReferenceError(f"'{shown}' names a wheel whose file name does not parse ({exc})",
                                       "point at the wheel as its index publishes it (name-version-tags.whl)") from None
        if subdirectory is not None:
            raise DirectReferenceError(f"'{shown}' is a wheel, which has no subdirectory",
                                       "drop the subdirectory", "subdirectory")
        return UrlReference(clean, filename, DistributionKind.WHEEL, MappingProxyType(hashes), None, name, version)
    if lower.endswith(ARCHIVE_SUFFIXES):
        name = version = None
        try:
            name, version = parse_sdist_filename(filename)
        except (InvalidSdistFilename, InvalidVersion):
            pass  # a source archive such as GitHub's v1.2.zip: name and version come from its metadata
        return UrlReference(clean, filename, DistributionKind.SDIST, MappingProxyType(hashes), subdirectory,
                            name, version)
    if parts.scheme == "file":
        if hashes:
            raise DirectReferenceError(f"'{shown}' names a folder, which has no hash", "drop the hash fragment")
        return PathReference(Path(unquote(parts.path)))
    hint = " (for a git repository write git+https://...)" if lower.endswith(".git") or "github.com" in (parts.hostname or "") else ""
    raise DirectReferenceError(
        f"'{shown}' is not the URL of a distribution: its file name '{filename}' is no wheel (.whl) "
        f"or sdist ({', '.join(ARCHIVE_SUFFIXES[:2])}, ...)",
        "point at a wheel or an sdist file" + hint)


# -- [tool.uv.sources] tables --------------------------------------------------------------------
def git_source(url: str, *, rev: str | None = None, tag: str | None = None, branch: str | None = None,
               subdirectory: str | None = None) -> GitReference:
    """`{ git = url, rev | tag | branch = ..., subdirectory = ... }` (uv's git source)."""
    text = url.strip()
    if text.lower().startswith("git+"):
        text = text[len("git+"):]  # uv's own spelling has no prefix; accept the PEP 508 one
    shown = redact_url(text)
    if "#" in text:
        raise DirectReferenceError(f"the git URL '{shown}' has a fragment",
                                   "write the subdirectory as subdirectory = \"...\"", "git")
    parts = _split_url(text, shown, GIT_SCHEMES)
    if "@" in parts.path:
        raise DirectReferenceError(f"the git URL '{shown}' names a ref after '@'",
                                   "write it as rev = \"...\", tag = \"...\" or branch = \"...\"", "git")
    given = [(kind, value) for kind, value in ((GitRefKind.REV, rev), (GitRefKind.TAG, tag),
                                                (GitRefKind.BRANCH, branch)) if value is not None]
    if len(given) > 1:
        names = " and ".join(kind.value for kind, _ in given)
        raise DirectReferenceError(f"a git source sets both {names}", "keep one of rev, tag or branch",
                                   given[1][0].value)
    ref = GitRef(GitRefKind.DEFAULT)
    if given:
        kind, value = given[0]
        if not value.strip():
            raise DirectReferenceError(f"{kind.value} is empty", f"name the {kind.value}, or remove the key", kind.value)
        _check_ref_name(value.strip(), kind.value)
        ref = GitRef(kind, value.strip())
    sub = _checked_subdirectory(subdirectory) if subdirectory is not None else None
    return GitReference(urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, "")), ref, sub)


def url_source(url: str, *, subdirectory: str | None = None) -> UrlReference:
    """`{ url = "https://.../x.whl", subdirectory = ... }` (uv's url source)."""
    text = url.strip()
    shown = redact_url(text)
    _check_userinfo(text, shown)
    sub = _checked_subdirectory(subdirectory) if subdirectory is not None else None
    try:
        reference = _archive_url(text, shown, allow_subdirectory=sub is None, subdirectory=sub)
    except DirectReferenceError as exc:
        exc.key = exc.key or "url"
        raise
    if isinstance(reference, PathReference):
        raise DirectReferenceError(f"'{shown}' names a folder, not a wheel or sdist",
                                   "for a local folder use { path = \"...\" }", "url")
    return reference
