"""Parse Simple Repository API project pages (PEP 503 HTML, PEP 691 JSON) into `ProjectPage`s,
and flat (find-links) pages and folders into a `FlatListing` of every project they list.

Pure functions: bytes and URLs in, values out. The HTTP client negotiates the format with
`ACCEPT_HEADER`, picks the parser with `media_type_of` and adds the index name and URL to an
`IndexFormatError` message.

A page is checked to be the page asked for (an index answering with a login or proxy page, a
page for another project, or anything without the Simple API's markers is an `IndexFormatError`,
never an empty page): JSON needs `meta.api-version` and, when it names a project, the one asked
for; HTML needs the `pypi:repository-version` meta tag, a "Links for <project>" title or heading,
or links to distribution files, and its files must not all be another project's.

Pages are parsed as a stream: JSON file entries are decoded one at a time from the text (never
the whole document as objects), HTML links are handled as the parser meets them; each file is
checked and either kept as a column entry (`FileTableBuilder`), summarized (a wheel none of the
run's target platforms can install: `platforms`), or skipped with the reason. A page of a million
files costs memory for its body and for the files some target can use. A file's name is read
first: the other fields of a file its name leaves out are never looked at, and the fields of an
entry in the usual shape are checked without the detours odd entries need (same results).

What every listed file goes through, whatever the format:
- its URL is resolved against the page URL and stripped of user info (credentials are re-added
  per host by the HTTP client and must never reach a plan or a log);
- its name is parsed with `packaging.utils` (wheels; sdists as .tar.gz/.zip); files that do not
  parse, belong to another project, hide a path in their name, or repeat an earlier name are kept
  out of `artifacts` and listed in `skipped` with the reason;
- every field is checked (`validate.py`): a file with a bad URL, name, hash, size, upload time,
  requires-python or version number is unusable, listed in `skipped` as `suspicious` (the client
  reports it once), never written anywhere;
- a copy of its core metadata that the index keeps beside its pages (`_planner-metadata` in JSON,
  `data-planner-metadata` in HTML, written by `planner mirror` when the file URLs lead upstream;
  see docs/mirror.md) becomes `Artifact.metadata_copy`. It is honoured only when it resolves to
  the page's own scheme and host, and never changes what the standard keys say.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from html.parser import HTMLParser
from types import MappingProxyType
from typing import Any, Literal, NamedTuple
from urllib.parse import unquote, urljoin, urlsplit

from packaging.utils import NormalizedName, canonicalize_name, parse_sdist_filename, parse_wheel_filename

from planner.index.models import (
    ArtifactKind,
    FileTableBuilder,
    MetadataCopy,
    ProjectPage,
    SkippedFile,
    tags_of,
    wheel_tag_key,
)
from planner.index.validate import (
    FILENAME_RE,
    MAX_FILENAME,
    MAX_SIZE,
    BadField,
    check_filename,
    check_hashes,
    check_requires_python,
    check_size,
    check_upload_time,
    check_url,
    check_version,
    clean_reason,
)
from planner.urls import strip_userinfo

JSON_MEDIA_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_MEDIA_TYPE = "application/vnd.pypi.simple.v1+html"
# PEP 691 content negotiation: JSON preferred, the versioned HTML next, plain HTML (PEP 503) last.
ACCEPT_HEADER = f"{JSON_MEDIA_TYPE}, {HTML_MEDIA_TYPE};q=0.2, text/html;q=0.01"

# Only major version 1 of the API exists; a newer minor only adds keys, which are ignored (PEP 629).
SUPPORTED_API_MAJOR = 1

_JSON_TYPES = {JSON_MEDIA_TYPE, "application/vnd.pypi.simple.latest+json"}
_HTML_TYPES = {HTML_MEDIA_TYPE, "application/vnd.pypi.simple.latest+html", "text/html"}
_UNFINISHED_ANCHOR_RE = re.compile(r"<a(?:[\s/>]|$)", re.IGNORECASE)
# PEP 658 attribute value `<hashname>=<hexvalue>`.
_HASH_PAIR_RE = re.compile(r"([A-Za-z0-9_-]+)=([0-9a-fA-F]+)")
# Where `planner mirror` lists its own copy of a file's metadata (PEP 700 reserves keys with a
# leading underscore for private use; HTML clients ignore unknown data- attributes).
JSON_METADATA_COPY_KEY = "_planner-metadata"
HTML_METADATA_COPY_ATTR = "data-planner-metadata"
# Files a simple page links to (any project's): what tells a project page from a login page.
DISTRIBUTION_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tbz", ".tar", ".egg",
                         ".exe", ".msi", ".rpm", ".dmg")
MAX_SKIPPED = 1000  # skipped files kept with their reasons; beyond, only counted
_JSON_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SPACES = frozenset(" \t\n\r")  # (a set of characters: the empty string at the end is not in it)
_DECODER = json.JSONDecoder()


class IndexFormatError(ValueError):
    """A project page that is not a valid Simple API response; the message says what is wrong."""


def media_type_of(content_type_header: str | None) -> Literal["json", "html"] | None:
    """Which parser a response's `Content-Type` calls for; None for anything else.

    Parameters (`; charset=utf-8`) and case are ignored. An unknown API version (`v2+json`) is
    None too: this parser only knows version 1.
    """
    if not content_type_header:
        return None
    media_type = content_type_header.split(";", 1)[0].strip().lower()
    if media_type in _JSON_TYPES:
        return "json"
    if media_type in _HTML_TYPES:
        return "html"
    return None


# -- shared helpers ---------------------------------------------------------------------------
def _resolve(base_url: str, href: str) -> tuple[str, str]:
    """Absolute URL of `href` without credentials, and its fragment, split off.

    Raises ValueError for a URL that does not parse (say, a broken IPv6 host).
    """
    href = href.strip()
    netloc = href.split("/", 3)[2] if href.startswith(("https://", "http://")) else None
    if netloc is not None and "@" not in netloc and "[" not in netloc:
        absolute = href  # the usual case on PyPI: absolute, no credentials, nothing to join
    else:
        absolute = strip_userinfo(urljoin(base_url, href))
    url, _, fragment = absolute.partition("#")
    return url, fragment


def _hash_from_fragment(fragment: str) -> tuple[str, str] | None:
    """`sha256=<hex>` (PEP 503 file URL fragment) as (algorithm, lowercase hex), if it is one."""
    match = _HASH_PAIR_RE.fullmatch(fragment)
    if match is None:
        return None
    return match.group(1).lower(), match.group(2).lower()


def _metadata_copy(page_url: str, base_url: str, href: str, hashes: Mapping[str, str]) -> MetadataCopy | None:
    """The copy at `href` (relative to `base_url`), or None when it lies on another scheme or host
    than the page: a copy is kept beside the pages, and only there is it read instead of the
    PEP 658 file."""
    url, _ = _resolve(base_url, href)
    here, there = urlsplit(strip_userinfo(page_url)), urlsplit(url)
    if (here.scheme.lower(), here.netloc.lower()) != (there.scheme.lower(), there.netloc.lower()):
        return None
    return MetadataCopy(url, MappingProxyType(dict(hashes)))


def _unsafe_name_reason(filename: str) -> str | None:
    # A name is used as a file name on disk later (caches, downloads): no paths, no traversal.
    if not filename:
        return "the URL names no file"
    if "/" in filename or "\\" in filename or "\x00" in filename:
        return "its name contains a path separator"
    if filename in (".", "..") or filename.startswith(".."):
        return "its name is a relative path ('..')"
    return None


class _ParsedName(NamedTuple):  # made for every listed file: a tuple is cheaper than a frozen dataclass
    name: NormalizedName
    version_text: str  # the version, normalized (`str(Version)`)
    kind: ArtifactKind
    tag_key: str  # a wheel's tag part (`wheel_tag_key`), "" for an sdist


@lru_cache(maxsize=65536)
def _wheel_head(head: str) -> tuple[NormalizedName, str] | None:
    """(name, normalized version) of a wheel whose name before its tags is `head`
    (`name-version[-build]`), or None if that does not parse. The files of a version share their
    head: each is parsed once, not once per platform."""
    try:
        name, version, _build, _tags = parse_wheel_filename(f"{head}-py3-none-any.whl")
    except ValueError:  # InvalidWheelFilename, InvalidVersion
        return None
    return name, str(version)


@lru_cache(maxsize=4096)
def _wheel_tags_parse(tag_key: str) -> bool:
    """Does a wheel's tag part (`python-abi-platform`) parse? (Thousands of files share a few.)"""
    try:
        parse_wheel_filename(f"a-0-{tag_key}.whl")
    except ValueError:
        return False
    return True


def _parse_filename(filename: str) -> _ParsedName | str:
    """The project, version and kind a file name stands for, or the reason it cannot be used.
    (The name is at most 255 characters of [A-Za-z0-9._+!-]: `check_filename` ran first.)"""
    try:
        if filename.endswith(".whl"):
            stem = filename[: -len(".whl")]
            if 4 <= stem.count("-") <= 5:  # name-version[-build]-python-abi-platform
                at = stem.rfind("-", 0, stem.rfind("-", 0, stem.rfind("-")))
                head, tag_key = _wheel_head(stem[:at]), stem[at + 1 :]
                if head is not None and _wheel_tags_parse(tag_key):
                    return _ParsedName(head[0], head[1], ArtifactKind.WHEEL, tag_key)
            name, version, _build, _tags = parse_wheel_filename(filename)  # the exact reason, or
            return _ParsedName(name, str(version), ArtifactKind.WHEEL, wheel_tag_key(filename))  # an odd name
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return _ParsedName(name, str(version), ArtifactKind.SDIST, "")
    except ValueError as exc:  # InvalidWheelFilename, InvalidSdistFilename, InvalidVersion
        return f"its name does not parse ({exc})"
    return "not a wheel or an sdist (.tar.gz / .zip)"


@dataclass
class _RawFile:
    """One listed file, format-independent, before its fields are checked. A field the index
    gave with the wrong type is kept as the problem to report (`problem`)."""

    filename: str
    url: str
    hashes: dict[str, Any]
    requires_python: str | None
    yanked: str | None
    size: int | None
    upload_time: str | None
    core_metadata: Mapping[str, Any] | None
    metadata_copy: MetadataCopy | None = None
    problem: str | None = None


def _page_local_root(page_url: str, local_root: str | None) -> str | None:
    """The folder `file:` URLs of a page may point into: the index's (given by the client), or for
    a page read on its own, the folder above the page's (`<index>/<project>/`)."""
    if local_root is not None or not page_url.lower().startswith("file:"):
        return local_root
    from urllib.request import url2pathname

    return posixpath.dirname(posixpath.dirname(url2pathname(unquote(urlsplit(page_url).path)).rstrip("/")))


class _PageBuilder:
    """Checks each listed file and collects the page (see the module docstring)."""

    def __init__(self, index: str, page_url: str, project: str, local_root: str | None,
                 platforms: frozenset[str] | None, default_root: bool = True) -> None:
        self.index = index
        self.page_url = page_url
        self.wanted = canonicalize_name(project)
        self.local_root = _page_local_root(page_url, local_root) if default_root else local_root
        self.platforms = platforms
        self.files = FileTableBuilder(index, self.wanted)
        self.skipped: list[SkippedFile] = []
        self.skipped_total = 0
        self.seen: set[str] = set()
        self.other_projects: dict[NormalizedName, int] = {}
        self.listed = 0
        self._kept_tags: dict[str, tuple[bool, tuple[str, ...]]] = {}

    def skip(self, filename: str, reason: str, suspicious: bool = False) -> None:
        self.skipped_total += 1
        if len(self.skipped) < MAX_SKIPPED:
            self.skipped.append(SkippedFile(filename[:300], reason, suspicious))

    def add(self, raw: _RawFile | SkippedFile) -> None:
        self.listed += 1
        if isinstance(raw, SkippedFile):
            self.skip(raw.filename, raw.reason, raw.suspicious)
            return
        parsed = self.named(raw.filename)
        if parsed is not None:
            self.keep(raw, parsed)

    def named(self, filename: str) -> _ParsedName | None:
        """The name stage of `add` (the caller counts the file as listed): the parsed name of a
        file whose fields are to be checked and kept, or None when the name alone settles it
        (skipped, or a wheel for no target's platform, summarized). Nothing else of the entry is
        read before this: most files of a large page end here."""
        if len(filename) > MAX_FILENAME or not FILENAME_RE.fullmatch(filename):  # (the usual name passes both)
            reason = _unsafe_name_reason(filename)
            if reason is not None:
                self.skip(filename, reason, suspicious=True)
                return None
            try:
                check_filename(filename)
            except BadField as exc:
                self.skip(filename, str(exc), suspicious=True)
                return None
        if filename in self.seen:
            # Two entries for one name would make "the artifact" ambiguous; the first one wins.
            self.skip(filename, "listed twice (the first entry is used)")
            return None
        parsed = _parse_filename(filename)
        if isinstance(parsed, str):
            self.skip(filename, parsed)
            return None
        if parsed.name != self.wanted:
            self.other_projects[parsed.name] = self.other_projects.get(parsed.name, 0) + 1
            self.skip(filename, f"it belongs to project '{parsed.name}', not '{self.wanted}'")
            return None
        if parsed.kind is ArtifactKind.WHEEL and self.platforms is not None:
            keep, platforms = self._fits_some_platform(parsed.tag_key)
            if not keep:  # never used, never written: only its version and platforms are kept
                try:
                    self.files.add_foreign(check_version(parsed.version_text), platforms)
                except BadField as exc:
                    self.skip(filename, str(exc), suspicious=True)
                return None
        return parsed

    def keep(self, raw: _RawFile, parsed: _ParsedName) -> None:
        """The field stage of `add`: the file's fields checked, then kept (or skipped)."""
        try:
            checked = self._checked(raw, parsed)
        except BadField as exc:
            self.skip(raw.filename, str(exc), suspicious=True)
            return
        self.seen.add(raw.filename)
        self.files.add(raw.filename, checked.url, parsed.version_text, parsed.kind, parsed.tag_key, checked.hashes,
                       checked.requires_python, checked.yanked, checked.size, checked.upload_time,
                       checked.core_metadata, checked.metadata_copy)

    def _fits_some_platform(self, tag_key: str) -> tuple[bool, tuple[str, ...]]:
        found = self._kept_tags.get(tag_key)
        if found is None:
            platforms = tuple(sorted({tag.platform for tag in tags_of(tag_key)}))
            assert self.platforms is not None
            found = self._kept_tags[tag_key] = (any(p in self.platforms for p in platforms), platforms)
        return found

    def _checked(self, raw: _RawFile, parsed: _ParsedName) -> _RawFile:
        if raw.problem is not None:
            raise BadField(raw.problem)
        check_version(parsed.version_text)
        url = check_url(raw.url, local_root=self.local_root)
        hashes = check_hashes(raw.hashes)
        core = None if raw.core_metadata is None else MappingProxyType(
            check_hashes(dict(raw.core_metadata), "core-metadata hash"))
        copy = raw.metadata_copy
        if copy is not None:
            copy = MetadataCopy(check_url(copy.url, local_root=self.local_root, what="its metadata copy's URL"),
                                MappingProxyType(check_hashes(dict(copy.hashes), "metadata copy hash")))
        return _RawFile(
            filename=raw.filename, url=url, hashes=hashes,
            requires_python=None if raw.requires_python is None else check_requires_python(raw.requires_python),
            yanked=None if raw.yanked is None else clean_reason(raw.yanked),
            size=None if raw.size is None else check_size(raw.size),
            upload_time=None if raw.upload_time is None else check_upload_time(raw.upload_time),
            core_metadata=core, metadata_copy=copy)

    def page(self) -> ProjectPage:
        kept = self.files.build()
        if not len(kept) and not kept.foreign and self.other_projects and \
                sum(self.other_projects.values()) == self.skipped_total:
            other = max(self.other_projects, key=lambda name: self.other_projects[name])
            raise IndexFormatError(f"the page lists files of project '{other}', not '{self.wanted}': "
                                   "it is not the page asked for")
        return ProjectPage(index=self.index, url=strip_userinfo(self.page_url), project=self.wanted,
                           artifacts=kept, skipped=tuple(self.skipped), skipped_total=self.skipped_total)


def _check_api_version(version: str, where: str) -> None:
    major_text = version.strip().split(".", 1)[0]
    if not (major_text.isascii() and major_text.isdigit() and len(major_text) <= 6):
        raise IndexFormatError(f"{where} '{version[:40]}' is not an API version like \"1.0\"")
    if int(major_text) != SUPPORTED_API_MAJOR:
        raise IndexFormatError(
            f"{where} is '{version[:40]}'; "
            f"only version {SUPPORTED_API_MAJOR}.x of the Simple API is supported"
        )


# -- PEP 691 JSON -----------------------------------------------------------------------------
_JSON_TYPE_NAMES: dict[type, str] = {
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "an object",
}


def _type_name(value: object) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


class _BadEntry(ValueError):
    """A file entry field of the wrong type: that file is unusable (the page is not)."""


def _json_hashes(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _BadEntry(f"{where} must be an object of hash name to hex digest, not {_type_name(value)}")
    hashes: dict[str, Any] = {}
    for algorithm, digest in value.items():
        if not isinstance(digest, str):
            raise _BadEntry(f"{where}.{str(algorithm)[:20]} must be a hex digest string, not {_type_name(digest)}")
        hashes[str(algorithm).lower()] = digest
    return hashes


def _json_core_metadata(entry: Mapping[str, Any], where: str) -> Mapping[str, Any] | None:
    # PEP 714 renamed the key; PyPI also served the misspelt `data-dist-info-metadata` for a while.
    for key in ("core-metadata", "dist-info-metadata", "data-dist-info-metadata"):
        if key in entry:
            value = entry[key]
            if value is True:
                return MappingProxyType({})
            if value is False or value is None:
                return None
            return MappingProxyType(_json_hashes(value, f"{where}.{key}"))
    return None


def _json_metadata_copy(entry: Mapping[str, Any], page_url: str, where: str) -> MetadataCopy | None:
    value = entry.get(JSON_METADATA_COPY_KEY)
    if value is None:
        return None
    where = f"{where}.{JSON_METADATA_COPY_KEY}"
    if not isinstance(value, dict):
        raise _BadEntry(f"{where} must be an object with 'url' and 'hashes', not {_type_name(value)}")
    href = value.get("url")
    if not isinstance(href, str) or not href.strip():
        raise _BadEntry(f"{where}.url must be a non-empty string, not {_type_name(href)}")
    hashes = _json_hashes(value.get("hashes", {}), f"{where}.hashes")
    try:
        return _metadata_copy(page_url, page_url, href, hashes)
    except ValueError:
        raise _BadEntry(f"{where}.url does not parse") from None


def _json_file(entry: object, page_url: str, where: str) -> _RawFile:
    if not isinstance(entry, dict):
        raise IndexFormatError(f"{where} must be an object, not {_type_name(entry)}")
    for key in ("filename", "url"):
        if key not in entry:
            raise IndexFormatError(f"{where} has no '{key}'")
    filename = entry["filename"]
    if not isinstance(filename, str):
        raise IndexFormatError(f"{where}.filename must be a string, not {_type_name(filename)}")
    try:
        return _json_fields(entry, filename, page_url, where)
    except _BadEntry as exc:
        return _RawFile(filename, "", {}, None, None, None, None, None, problem=str(exc))


def _json_fields(entry: dict[str, Any], filename: str, page_url: str, where: str) -> _RawFile:
    if not isinstance(entry["url"], str):
        raise _BadEntry(f"{where}.url must be a string, not {_type_name(entry['url'])}")
    hashes = _json_hashes(entry.get("hashes", {}), f"{where}.hashes")
    try:
        url, fragment = _resolve(page_url, entry["url"])
    except ValueError:
        raise _BadEntry(f"{where}.url does not parse") from None
    from_fragment = _hash_from_fragment(fragment)
    if from_fragment is not None:
        hashes.setdefault(*from_fragment)

    requires_python = entry.get("requires-python")
    if requires_python is not None and not isinstance(requires_python, str):
        raise _BadEntry(f"{where}.requires-python must be a string, not {_type_name(requires_python)}")

    yanked_value = entry.get("yanked", False)
    if isinstance(yanked_value, bool):
        yanked = "" if yanked_value else None
    elif isinstance(yanked_value, str):
        yanked = yanked_value  # PEP 691: a string is the reason (and means yanked)
    elif yanked_value is None:
        yanked = None
    else:
        raise _BadEntry(f"{where}.yanked must be a boolean or a string, not {_type_name(yanked_value)}")

    size = entry.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise _BadEntry(f"{where}.size must be a non-negative integer, not {str(size)[:30]}")
    upload_time = entry.get("upload-time")
    if upload_time is not None and not isinstance(upload_time, str):
        raise _BadEntry(f"{where}.upload-time must be a string, not {_type_name(upload_time)}")

    return _RawFile(
        filename=filename,
        url=url,
        hashes=hashes,
        requires_python=(requires_python.strip() or None) if requires_python is not None else None,
        yanked=yanked,
        size=size,
        upload_time=upload_time,
        core_metadata=_json_core_metadata(entry, where),
        metadata_copy=_json_metadata_copy(entry, page_url, where),
    )


_CORE_METADATA_KEYS = ("core-metadata", "dist-info-metadata", "data-dist-info-metadata")
_EMPTY_HASHES: Mapping[str, str] = MappingProxyType({})


def _plain_json_fields(entry: dict[str, Any], page_url: str, local_root: str | None, parsed: _ParsedName
                       ) -> tuple[str, dict[str, str], str | None, str | None, int | None, str | None,
                                  Mapping[str, str] | None, None] | None:
    """The checked fields of a file entry in the shape indexes send (PyPI's: a URL without
    fragment, a sha256 alone, the PEP 691 / 714 keys with their usual types), in the order
    `FileTableBuilder.add` takes them after the name; None for any other entry and for any
    field that fails its check: those go the general way (`_json_fields`, then
    `_PageBuilder._checked`), which says why. What is returned is what that way returns."""
    href = entry["url"]
    hashes = entry.get("hashes")
    if type(href) is not str or type(hashes) is not dict or len(hashes) != 1 or type(hashes.get("sha256")) is not str \
            or JSON_METADATA_COPY_KEY in entry:
        return None
    try:
        url, fragment = _resolve(page_url, href)
        if fragment:
            return None
        check_version(parsed.version_text)
        url = check_url(url, local_root=local_root)
        checked_hashes = check_hashes(hashes)
        core: Mapping[str, str] | None = None
        for key in _CORE_METADATA_KEYS:
            if key in entry:
                value = entry[key]
                if value is True:
                    core = _EMPTY_HASHES
                elif value is not False and value is not None:
                    if type(value) is not dict or len(value) != 1 or type(value.get("sha256")) is not str:
                        return None
                    core = MappingProxyType(check_hashes(value, "core-metadata hash"))
                break
        requires_python = entry.get("requires-python")
        if requires_python is not None:
            if type(requires_python) is not str:
                return None
            requires_python = requires_python.strip() or None
            if requires_python is not None:
                requires_python = check_requires_python(requires_python)
        yanked = entry.get("yanked", False)
        if yanked is False or yanked is None:
            yanked = None
        elif yanked is True:
            yanked = ""
        elif type(yanked) is str:
            yanked = clean_reason(yanked)
        else:
            return None
        size = entry.get("size")
        if size is not None and (type(size) is not int or not 0 <= size <= MAX_SIZE):
            return None
        upload_time = entry.get("upload-time")
        if upload_time is not None:
            if type(upload_time) is not str:
                return None
            upload_time = check_upload_time(upload_time)
    except (BadField, ValueError):
        return None
    return url, checked_hashes, requires_python, yanked, size, upload_time, core, None


def _json_text(data: bytes) -> str:
    try:
        encoding = json.detect_encoding(data)  # as json.loads reads bytes (UTF-8, -16 or -32)
        return data.decode(encoding, "surrogatepass").removeprefix("\ufeff")
    except (UnicodeDecodeError, LookupError) as exc:
        raise IndexFormatError(f"the page is not valid JSON ({exc})") from None


def _decode_at(text: str, position: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, position)
    except json.JSONDecodeError as exc:
        raise IndexFormatError(f"the page is not valid JSON ({exc})") from None
    except RecursionError:
        raise IndexFormatError("the page is not valid JSON (nested too deeply)") from None


def _skip_space(text: str, position: int) -> int:
    return _JSON_WHITESPACE.match(text, position).end()  # type: ignore[union-attr]


def _expect(text: str, position: int, char: str, what: str) -> int:
    if text[position:position + 1] != char:
        line = text.count("\n", 0, position) + 1
        raise IndexFormatError(f"the page is not valid JSON (expecting {what} at line {line}, "
                               f"char {position})")
    return _skip_space(text, position + 1)


def _walk_json_object(text: str, on_member: Callable[[str, Any], None], on_file: Callable[[Any, int], None]) -> None:
    """Walk the top-level object of `text`, decoding each member with the standard decoder but
    the elements of `files` one at a time (`on_file`), so that no page is ever held as objects."""
    position = _skip_space(text, 0)
    if text[position:position + 1] != "{":
        value, end = _decode_at(text, position)
        if text[_skip_space(text, end):]:
            raise IndexFormatError("the page is not valid JSON (extra data after the value)")
        raise IndexFormatError(f"the page must be a JSON object, not {_type_name(value)}")
    position = _skip_space(text, position + 1)
    if text[position:position + 1] != "}":
        while True:
            if text[position:position + 1] != '"':
                _expect(text, position, '"', "a key in double quotes")
            key, position = _decode_at(text, position)
            position = _expect(text, _skip_space(text, position), ":", "':'")
            if key == "files" and text[position:position + 1] == "[":
                on_member(key, [])  # a list: its elements follow, one by one
                position = _skip_space(text, position + 1)
                count = 0
                if text[position:position + 1] != "]":
                    # Tens of thousands of elements: the usual separator (", ") is stepped over
                    # without a regular expression, and the C scanner is called directly.
                    scan = _DECODER.scan_once
                    while True:
                        try:
                            element, position = scan(text, position)
                        except StopIteration as stop:
                            raise IndexFormatError(f"the page is not valid JSON "
                                                   f"({json.JSONDecodeError('Expecting value', text, stop.value)})") from None
                        except json.JSONDecodeError as exc:
                            raise IndexFormatError(f"the page is not valid JSON ({exc})") from None
                        except RecursionError:
                            raise IndexFormatError("the page is not valid JSON (nested too deeply)") from None
                        on_file(element, count)
                        count += 1
                        if text[position:position + 1] in _SPACES:
                            position = _skip_space(text, position)
                        if text[position:position + 1] == ",":
                            position += 1
                            if text[position:position + 1] in _SPACES:
                                position += 1
                                if text[position:position + 1] in _SPACES:
                                    position = _skip_space(text, position)
                            continue
                        position = _expect(text, position, "]", "',' or ']'")
                        break
                else:
                    position = _skip_space(text, position + 1)
            else:
                value, position = _decode_at(text, position)
                on_member(key, value)
            position = _skip_space(text, position)
            if text[position:position + 1] == ",":
                position = _skip_space(text, position + 1)
                continue
            position = _expect(text, position, "}", "',' or '}'")
            break
    else:
        position = _skip_space(text, position + 1)
    if position < len(text):
        raise IndexFormatError("the page is not valid JSON (extra data after the object)")


def parse_json_page(data: bytes, page_url: str, index: str, project: str, *, local_root: str | None = None,
                    platforms: frozenset[str] | None = None) -> ProjectPage:
    """Parse a PEP 691 project page (`application/vnd.pypi.simple.v1+json`).

    Raises IndexFormatError when the body is not JSON, lacks `meta.api-version` or `files`, has a
    value of the wrong type, declares an API major version other than 1, or is another project's
    page. A file entry with a bad field is unusable (listed in `skipped`), not a page error.
    `local_root`: the folder of a local-folder index; `platforms`: the platform tags some target
    installs (wheels for none of them are only summarized), or None to keep every file.
    """
    builder = _PageBuilder(index, page_url, project, local_root, platforms)
    members: dict[str, Any] = {}

    def on_member(key: str, value: Any) -> None:
        if key == "files" and "files" in members:
            raise IndexFormatError("the page lists 'files' twice")
        members[key] = value

    def on_file(entry: Any, n: int) -> None:
        if type(entry) is not dict or "url" not in entry or type(entry.get("filename")) is not str:
            builder.add(_json_file(entry, page_url, f"files[{n}]"))  # (raises IndexFormatError)
            return
        # The name first: the fields of a file it leaves out (a wheel for no target) are never read.
        builder.listed += 1
        filename = entry["filename"]
        parsed = builder.named(filename)
        if parsed is None:
            return
        fields = _plain_json_fields(entry, page_url, builder.local_root, parsed)
        if fields is None:  # an unusual entry (or a bad field): read and reported the general way
            builder.keep(_json_file(entry, page_url, f"files[{n}]"), parsed)
            return
        builder.seen.add(filename)
        builder.files.add(filename, fields[0], parsed.version_text, parsed.kind, parsed.tag_key, *fields[1:])

    _walk_json_object(_json_text(data), on_member, on_file)

    if "files" not in members:
        raise IndexFormatError("the page has no 'files' list")
    files = members["files"]
    if not isinstance(files, list):
        raise IndexFormatError(f"'files' must be a list, not {_type_name(files)}")
    name = members.get("name")
    if name is not None and not isinstance(name, str):
        raise IndexFormatError(f"'name' must be a string, not {_type_name(name)}")
    meta = members.get("meta")
    if meta is None:
        raise IndexFormatError("the page has no 'meta' (PEP 691 requires meta.api-version): "
                               "it is not a Simple API page")
    if not isinstance(meta, dict):
        raise IndexFormatError(f"'meta' must be an object, not {_type_name(meta)}")
    api_version = meta.get("api-version")
    if api_version is None:
        raise IndexFormatError("the page has no meta.api-version (PEP 691 requires it): it is not a Simple API page")
    if not isinstance(api_version, str):
        raise IndexFormatError(f"meta.api-version must be a string, not {_type_name(api_version)}")
    _check_api_version(api_version, "meta.api-version")
    if name is not None and canonicalize_name(name) != canonicalize_name(project):
        raise IndexFormatError(f"the page is for project '{name[:80]}', not '{canonicalize_name(project)}': "
                               "it is not the page asked for")
    return builder.page()


# -- PEP 503 HTML -----------------------------------------------------------------------------
class _AnchorCollector(HTMLParser):
    """Hands each `<a>` to `on_anchor` as it is met; notes the first `<base href>`, the
    repository-version meta tag and the page's title or first heading."""

    def __init__(self, on_anchor: Callable[[dict[str, str | None]], None] | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self.on_anchor = on_anchor
        self.base_href: str | None = None
        self.repository_version: str | None = None
        self.titles: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # html.parser lower-cases tag and attribute names and unescapes attribute values.
        if tag == "a":
            if self.on_anchor is not None:
                self.on_anchor(dict(attrs))
            return
        attributes = dict(attrs)
        if tag == "base" and self.base_href is None and attributes.get("href"):
            self.base_href = attributes["href"]
        elif tag == "meta" and (attributes.get("name") or "").lower() == "pypi:repository-version":
            self.repository_version = attributes.get("content") or ""
        elif tag in ("title", "h1") and len(self.titles) < 2:
            self._in_title = True
            self.titles.append("")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag in ("title", "h1"):
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title and len(self.titles[-1]) < 200:
            self.titles[-1] += data


_LINKS_FOR_RE = re.compile(r"\s*links\s+for\s+(\S+)\s*", re.IGNORECASE)
_BASE_TAG_RE = re.compile(r"<base[\s/>]", re.IGNORECASE)


def _html_core_metadata(anchor: Mapping[str, str | None]) -> Mapping[str, str] | None:
    # PEP 714: `data-core-metadata` wins; `data-dist-info-metadata` is the PEP 658 original name.
    for key in ("data-core-metadata", "data-dist-info-metadata"):
        if key in anchor:
            value = (anchor[key] or "").strip()
            if value.lower() == "true":
                return MappingProxyType({})
            pair = _hash_from_fragment(value)
            if pair is not None:
                return MappingProxyType({pair[0]: pair[1]})
            # Anything else ("false", garbage) does not promise a metadata file: do not ask for it.
            return None
    return None


def _html_metadata_copy(anchor: Mapping[str, str | None], page_url: str, base_url: str) -> MetadataCopy | None:
    # `href#sha256=<hex>`, like a file link. Lenient, as the rest of HTML: a bad value is ignored.
    href, _, fragment = (anchor.get(HTML_METADATA_COPY_ATTR) or "").strip().partition("#")
    if not href.strip():
        return None
    pair = _hash_from_fragment(fragment)
    try:
        return _metadata_copy(page_url, base_url, href, dict([pair]) if pair is not None else {})
    except ValueError:
        return None


def _html_file(anchor: Mapping[str, str | None], base_url: str,
               page_url: str | None = None) -> _RawFile | SkippedFile | None:
    href = anchor.get("href")
    if not href:
        return None  # an anchor without a link names no file
    try:
        url, fragment = _resolve(base_url, href)
        path = urlsplit(url).path
    except ValueError as exc:
        # HTML is parsed leniently: one broken link costs that file, not the page.
        return SkippedFile(href[:300], f"its URL does not parse ({exc})")
    filename = unquote(path.rsplit("/", 1)[-1])
    hashes: dict[str, str] = {}
    pair = _hash_from_fragment(fragment)
    if pair is not None:
        hashes[pair[0]] = pair[1]
    requires_python = (anchor.get("data-requires-python") or "").strip() or None
    # PEP 592: the attribute's presence means yanked; its value (possibly empty) is the reason.
    yanked = (anchor["data-yanked"] or "") if "data-yanked" in anchor else None
    return _RawFile(
        filename=filename,
        url=url,
        hashes=hashes,
        requires_python=requires_python,
        yanked=yanked,
        size=None,
        upload_time=None,
        core_metadata=_html_core_metadata(anchor),
        metadata_copy=_html_metadata_copy(anchor, page_url or base_url, base_url),
    )


def parse_html_page(data: bytes, page_url: str, index: str, project: str, *, local_root: str | None = None,
                    platforms: frozenset[str] | None = None) -> ProjectPage:
    """Parse a PEP 503 project page (HTML, also `application/vnd.pypi.simple.v1+html`).

    HTML is parsed leniently (as browsers and pip do). The page is an IndexFormatError when its
    repository-version meta tag has a major version other than 1, when it ends inside an <a> tag
    (truncated), when nothing marks it as a simple page (no repository-version tag, no "Links for"
    title, no link to a distribution file: a login or proxy page), or when every file it lists is
    another project's. `local_root` and `platforms` as for `parse_json_page`.
    """
    # Simple pages are UTF-8 (PEP 503 file names are ASCII); stray bytes must not stop the parse.
    text = data.decode("utf-8-sig", errors="replace")
    base_url = page_url
    if _BASE_TAG_RE.search(text):
        # `<base href>` applies to every link, also to links before it: find it first (rare).
        finder = _AnchorCollector()
        finder.feed(text)
        if finder.base_href:
            try:
                base_url = urljoin(page_url, finder.base_href)
            except ValueError as exc:
                raise IndexFormatError(f"<base href> does not parse ({exc})") from None
    builder = _PageBuilder(index, page_url, project, local_root, platforms)
    distribution_links = 0

    def on_anchor(anchor: dict[str, str | None]) -> None:
        nonlocal distribution_links
        listed = _html_file(anchor, base_url, page_url)
        if listed is None:
            return
        if listed.filename.lower().endswith(DISTRIBUTION_SUFFIXES):
            distribution_links += 1
        builder.add(listed)

    collector = _AnchorCollector(on_anchor)
    collector.feed(text)
    # What html.parser could not finish: a page that stops inside an <a> tag was cut off (in
    # transit or at the source) in the middle of a link, so its list of files is incomplete.
    unfinished = collector.rawdata.lstrip()
    if _UNFINISHED_ANCHOR_RE.match(unfinished):
        raise IndexFormatError(f"the page ends inside a link ({unfinished[:40]!r}...): it is truncated")
    collector.close()
    if collector.repository_version is not None:
        _check_api_version(collector.repository_version, "the pypi:repository-version meta tag")
    titled = any(_LINKS_FOR_RE.fullmatch(title) for title in collector.titles)
    if collector.repository_version is None and not titled and not distribution_links:
        shown = next((" ".join(t.split())[:60] for t in collector.titles if t.strip()), "")
        raise IndexFormatError(
            "the page is not a simple index page (no pypi:repository-version meta tag, no \"Links for\" "
            "title, no link to a distribution file)" + (f"; its title is '{shown}'" if shown else "")
            + ": a login or proxy page?")
    return builder.page()


def _html_anchors(data: bytes, page_url: str) -> tuple[list[dict[str, str | None]], str]:
    """The `<a>` tags of an HTML page (all of them: a flat page lists many projects) and the URL
    its links resolve against; IndexFormatError for a truncated page or an unknown API version."""
    # Simple pages are UTF-8 (PEP 503 file names are ASCII); stray bytes must not stop the parse.
    text = data.decode("utf-8-sig", errors="replace")
    anchors: list[dict[str, str | None]] = []
    collector = _AnchorCollector(anchors.append)
    collector.feed(text)
    unfinished = collector.rawdata.lstrip()
    if _UNFINISHED_ANCHOR_RE.match(unfinished):
        raise IndexFormatError(f"the page ends inside a link ({unfinished[:40]!r}...): it is truncated")
    collector.close()
    if collector.repository_version is not None:
        _check_api_version(collector.repository_version, "the pypi:repository-version meta tag")
    base_url = page_url
    if collector.base_href:
        try:
            base_url = urljoin(page_url, collector.base_href)
        except ValueError as exc:
            raise IndexFormatError(f"<base href> does not parse ({exc})") from None
    return anchors, base_url


# -- flat (find-links) pages and folders ---------------------------------------------------------
# A flat index lists the files of many projects on one HTML page (pip's --find-links, uv's
# `format = "flat"`), or is a local folder of files. Its files go through the same checks as a
# project page's: `FlatListing` groups them by the project their name claims, and each project's
# share becomes a `ProjectPage` like any other.
_REMOTE_SCHEMES = ("http", "https")


def _claimed_project(filename: str) -> NormalizedName | None:
    """The project a file name claims, for grouping: its parsed name, else (for a wheel whose
    name does not parse) its first part, so that the file is reported as skipped with its
    project's files; None when nothing can be told."""
    reason = _unsafe_name_reason(filename)
    if reason is not None:
        return None
    parsed = _parse_filename(filename)
    if isinstance(parsed, _ParsedName):
        return parsed.name
    if filename.endswith(".whl") and filename.split("-", 1)[0]:
        return canonicalize_name(filename.split("-", 1)[0])
    return None


@dataclass(frozen=True)
class FlatListing:
    """Every file a flat index lists, grouped by project (names normalized), in listed order.

    `skipped` holds the links that name no project at all (other pages, images, eggs, ...);
    a project's unusable files are reported on its own page, as on a simple index."""

    url: str  # the page or folder URL, without credentials
    files: Mapping[NormalizedName, tuple[_RawFile | SkippedFile, ...]]
    skipped: tuple[SkippedFile, ...] = ()
    folder: bool = False  # a local folder listed (True), or a page (its folder is where it lies)

    @property
    def projects(self) -> tuple[NormalizedName, ...]:
        return tuple(sorted(self.files))

    def project_page(self, index: str, project: str,
                     add_hashes: Callable[[str], Mapping[str, str] | None] | None = None, *,
                     local_root: str | None = None, platforms: frozenset[str] | None = None) -> ProjectPage:
        """The files of `project` as a project page (no files: the index does not have it),
        checked like a simple page's (`local_root`: the folder a local flat index may send
        planner into; `platforms` as for `parse_json_page`).

        `add_hashes(url)` gives the hashes of a file listed without any (local files, which
        are cheap to hash), or None to leave it without."""
        wanted = canonicalize_name(project)
        raw = self.files.get(wanted, ())
        if add_hashes is not None:
            raw = tuple(_with_hashes(entry, add_hashes) for entry in raw)
        if local_root is None and self.url.lower().startswith("file:"):
            # A local flat index may send planner into its own folder only.
            from urllib.request import url2pathname

            path = posixpath.normpath(url2pathname(unquote(urlsplit(self.url).path)))
            local_root = path if self.folder else posixpath.dirname(path)
        builder = _PageBuilder(index, self.url, wanted, local_root, platforms, default_root=False)
        for entry in raw:
            builder.add(entry)
        return builder.page()


def _with_hashes(entry: _RawFile | SkippedFile,
                 add_hashes: Callable[[str], Mapping[str, str] | None]) -> _RawFile | SkippedFile:
    if isinstance(entry, SkippedFile) or entry.hashes:
        return entry
    hashes = add_hashes(entry.url)
    return replace(entry, hashes=dict(hashes)) if hashes else entry


def _group(url: str, files: Iterable[_RawFile | SkippedFile], folder: bool = False) -> FlatListing:
    grouped: dict[NormalizedName, list[_RawFile | SkippedFile]] = {}
    unclaimed: list[SkippedFile] = []
    for entry in files:
        project = _claimed_project(entry.filename)
        if project is None:
            if isinstance(entry, _RawFile):
                reason = _unsafe_name_reason(entry.filename) or "not a wheel or an sdist (.tar.gz / .zip)"
                entry = SkippedFile(entry.filename, reason)
            unclaimed.append(entry)
        else:
            grouped.setdefault(project, []).append(entry)
    return FlatListing(strip_userinfo(url), MappingProxyType({k: tuple(v) for k, v in grouped.items()}),
                       tuple(unclaimed), folder)


def parse_flat_html(data: bytes, page_url: str) -> FlatListing:
    """Parse a flat HTML page of links to wheels and sdists (any project).

    Links resolve against the page (or its `<base href>`); the same attributes as on a PEP 503
    page are read (`#sha256=`, `data-requires-python`, `data-yanked`, ...). A page served over
    HTTP may only link to http(s) files: a link to `file:` is skipped, so that a remote page can
    never make planner read a local file. Raises IndexFormatError for a page cut inside a link.
    """
    anchors, base_url = _html_anchors(data, page_url)
    remote = urlsplit(page_url).scheme.lower() in _REMOTE_SCHEMES
    raw: list[_RawFile | SkippedFile] = []
    for anchor in anchors:
        listed = _html_file(anchor, base_url, page_url)
        if listed is None:
            continue
        if isinstance(listed, _RawFile):
            scheme = urlsplit(listed.url).scheme.lower()
            if scheme not in _REMOTE_SCHEMES and (remote or scheme != "file"):
                listed = SkippedFile(listed.filename, f"its URL scheme '{scheme}' is not allowed on "
                                     f"{'a remote' if remote else 'this'} page")
        raw.append(listed)
    return _group(page_url, raw)


def flat_folder_listing(folder_url: str, entries: Iterable[tuple[str, str, int]]) -> FlatListing:
    """A local folder of files as a flat listing: `entries` are (file name, file URL, size)."""
    return _group(folder_url, (
        _RawFile(filename=name, url=url, hashes={}, requires_python=None, yanked=None, size=size,
                 upload_time=None, core_metadata=None)
        for name, url, size in entries
    ), folder=True)
