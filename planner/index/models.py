"""Value types of the index stage: what an index lists, what a target can install, and why not.

These are pure data shared by the parsers (`simple.py`), candidate selection (`candidates.py`),
metadata reading (`metadata.py`) and the network client (`client.py`).
"""

from __future__ import annotations

import re
from array import array
from itertools import accumulate, repeat
from operator import add
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import Any, TypeVar

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, parse_tag
from packaging.utils import NormalizedName
from packaging.version import Version

from planner.errors import Location
from planner.memo import PerObject


_T = TypeVar("_T")


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class MetadataCopy:
    """A copy of a file's core metadata that an index keeps beside its pages instead of at the
    PEP 658 place (the file URL + ".metadata"): a `planner mirror` whose file URLs lead upstream
    (docs/mirror.md). `url` is absolute; `hashes` may be empty (then nothing can be verified)."""

    url: str
    hashes: Mapping[str, str]


class ArtifactKind(StrEnum):
    WHEEL = "wheel"
    SDIST = "sdist"
    DIRECTORY = "directory"  # a local source tree (planner/sources/); never on an index
    VCS = "vcs"  # a git commit's tree (planner/sources/git.py); never on an index


# The index names of distributions that come from no index (planner/sources/): local source
# trees and files, git commits, and files at URLs. No `[[tool.uv.index]]` name can be spelt so.
LOCAL_INDEX = "<local>"
GIT_INDEX = "<git>"
URL_INDEX = "<url>"
DIRECT_INDEXES = (GIT_INDEX, URL_INDEX)


def offered_by(index: str) -> str:
    """How messages say where a candidate comes from: `on pypi`, `from git`, `from its URL`."""
    return {GIT_INDEX: "from git", URL_INDEX: "from its URL"}.get(index, f"on {index}")


@dataclass(frozen=True)
class GitCommit:
    """Where a git package's tree is: the repository (its URL without credentials), the ref as
    written (None: the default branch) and the full commit id it resolved to."""

    repository: str
    requested: str | None
    commit: str


@dataclass(frozen=True)
class Artifact:
    """One file an index lists for a project (PEP 503/691, with PEP 592/658/700 fields)."""

    index: str  # index name (as in the project model)
    filename: str  # decoded file name, as listed
    url: str  # absolute URL (credentials never included)
    name: NormalizedName
    version: Version
    kind: ArtifactKind
    tags: frozenset[Tag] = frozenset()  # empty for sdists
    hashes: Mapping[str, str] = field(default_factory=_empty)  # algorithm -> lowercase hex
    requires_python: str | None = None  # raw specifier text as the index gave it
    yanked: str | None = None  # None: not yanked; "": yanked without a reason; else the reason
    size: int | None = None
    upload_time: str | None = None
    # PEP 658/714: None: not advertised; {}: advertised without hashes; else hashes of the file.
    core_metadata: Mapping[str, str] | None = None
    # Read instead of the PEP 658 file when set (the index lists its own copy of the metadata).
    metadata_copy: MetadataCopy | None = None
    # Local distributions (index LOCAL_INDEX): the path from the project root (POSIX, may start
    # with ".."), and whether the source asks for an editable install (source trees only).
    path: str | None = None
    editable: bool = False
    # Git packages (index GIT_INDEX): the commit; git and URL packages: where the project lies
    # inside the repository or source archive.
    git: GitCommit | None = None
    subdirectory: str | None = None

    def __hash__(self) -> int:
        # The mapping fields are not hashable; (index, url) identifies an artifact on its own.
        return hash((self.index, self.url))

    @property
    def sha256(self) -> str | None:
        return self.hashes.get("sha256")

    @property
    def is_local(self) -> bool:
        return self.index == LOCAL_INDEX

    @property
    def is_direct(self) -> bool:
        """A git commit or a file at a URL (a `git` / `url` source, or `name @ url`)."""
        return self.index in DIRECT_INDEXES

    @property
    def is_yanked(self) -> bool:
        return self.yanked is not None

    @property
    def metadata_url(self) -> str:
        if self.metadata_copy is not None:
            return self.metadata_copy.url
        return self.url.split("#", 1)[0] + ".metadata"

    @property
    def metadata_hashes(self) -> Mapping[str, str] | None:
        """Hashes of the metadata file at `metadata_url`; None when the index offers none."""
        if self.metadata_copy is not None:
            return self.metadata_copy.hashes
        return self.core_metadata

    def requires_python_specifier(self) -> SpecifierSet | None:
        if not self.requires_python:
            return None
        return SpecifierSet(self.requires_python)


@dataclass(frozen=True)
class SkippedFile:
    """A listed file planner could not use at all (its name does not parse, say).

    `suspicious`: a field failed its check (a URL with a line break, a hash of the wrong length...):
    the index sends what no honest index would, and the user hears of it (once per run)."""

    filename: str
    reason: str
    suspicious: bool = False


@lru_cache(maxsize=None)
def parse_version(text: str) -> Version:
    """One `Version` per distinct string: pages of one run repeat the same few thousand."""
    return Version(text)


# `str(version)`, remembered per object (`str` rebuilds the text on every call). By identity, not
# equality: `1.0` and `1.0.0` are equal versions with different texts.
version_text: PerObject[Version, str] = PerObject(str)


@lru_cache(maxsize=None)
def tags_of(tag_key: str) -> frozenset[Tag]:
    """The tags of a wheel's `python-abi-platform` name part; one shared set per distinct part
    (thousands of files share a few: pages stay small in memory, and selection ranks each once)."""
    return frozenset(parse_tag(tag_key))


def wheel_tag_key(filename: str) -> str:
    """`torch-2.5.1-cp311-cp311-linux_x86_64.whl` -> `cp311-cp311-linux_x86_64`."""
    return "-".join(filename[: -len(".whl")].split("-")[-3:])


# -- the parsed-page record: plain JSON data, checked field by field when read back -------------
RECORD_FORMAT = 3
# Space-separated text columns: the characters each may hold (checked with bytes.translate, the
# fastest check there is), and the lengths its items may have (an empty item stands for "none").
_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_COLUMN_CHARS = {
    "filenames": _LETTERS + b"._+!- ",
    "urls": _LETTERS + b"-._~:/?#[]@!$&'()*+,;=% ",
    "sha256": b"0123456789abcdef ",
    "uploads": b"0123456789TtZz:.+- ",
    "core": b"0123456789abcdef+- ",
}
_COLUMN_LENGTHS = {"sha256": {0, 64}, "core": {0, 1, 64}}
_HEX_COLUMNS = ("_sha256", "_core")  # (FileTable attributes) checked against `_COLUMN_LENGTHS` when read
_TAG_KEY_RE = re.compile(r"[A-Za-z0-9_.]+-[A-Za-z0-9_.]+-[A-Za-z0-9_.]+")


@lru_cache(maxsize=65536)
def _valid_tag_key(key: str) -> bool:  # pages share a few hundred
    return bool(_TAG_KEY_RE.fullmatch(key))


def _names_start_well(text: str) -> bool:
    """Every space-separated name starts with a letter or digit (no '..', no hidden names)."""
    return not text.startswith(tuple("._+!-")) and not any(f" {c}" in text for c in "._+!-")
_PLATFORM_RE = re.compile(r"[A-Za-z0-9_.]+")
_MAX_ROWS = 10_000_000


class RecordError(ValueError):
    """A stored parsed page that does not read back as valid data (damaged or forged)."""


def _split(column: str, n: int) -> list[str]:
    return column.split(" ") if n else []


def _int_column(values: Any, n: int, low: int, high: int, what: str) -> array[int]:
    if not isinstance(values, list) or len(values) != n:
        raise RecordError(f"{what}: not a list of {n}")
    try:
        checked = array("q", values)  # C speed: refuses anything but integers of 64 bits
    except (TypeError, OverflowError):
        raise RecordError(f"{what}: not integers") from None
    if n and (min(checked) < low or max(checked) > high):
        raise RecordError(f"{what}: out of range")
    return checked  # 8 bytes a row, where a list holds an int object of 28 per large number


class FileTable(Sequence[Artifact]):
    """A page's files as columns of plain values, each file made an `Artifact` on first use.

    A project page can list tens of thousands of files (torch, numpy) while a target installs
    one per version: columns load from the parsed-page cache faster than objects (JSON with one
    string per column, checked by one regular expression each and split only when needed), and
    candidate selection reads the few fields it needs by position (`version_groups`, `kind`,
    `tags`, `requires_python`, `yanked`, `filename`). Versions, tag parts and Requires-Python
    texts are stored once per page and referred to by number.

    `foreign`: wheels no target of the run can install (their platform is no target's), left out
    by the parser to keep huge pages small, summarized per version by their platform tags so that
    explanations can still say what a version has."""

    __slots__ = ("index", "name", "foreign", "_n", "_filenames", "_urls", "_version_ids", "_versions", "_kinds",
                 "_tag_ids", "_tag_keys", "_sha256", "_rpy_ids", "_rpys", "_sizes", "_uploads", "_core", "_hashes",
                 "_yanked", "_copies", "_core_hashes", "_artifacts", "_groups", "_newest_first", "_shapes",
                 "_uploaded_by", "_offsets", "_remembered")

    def __init__(self, index: str, name: NormalizedName) -> None:
        self.index = index
        self.name = name
        self.foreign: dict[str, tuple[str, ...]] = {}
        self._n = 0
        self._filenames: list[str] | str = []
        self._urls: list[str] | str = []
        self._version_ids: list[int] | array[int] = []  # an array when read from the cache
        self._versions: list[str] = []
        self._kinds = ""  # one letter per file: "w" wheel, "s" sdist
        self._tag_ids: list[int] | array[int] = []
        self._tag_keys: list[str] = [""]  # 0: no tags (sdists)
        self._sha256: list[str] | str = []  # "" when the index gives none
        self._rpy_ids: list[int] | array[int] = []
        self._rpys: list[str | None] = [None]  # 0: no Requires-Python
        self._sizes: list[int] | array[int] = []  # -1 when unknown
        self._uploads: list[str] | str = []  # "" when unknown
        self._core: list[str] | str = []  # "": no metadata file; "-": one without hash; "+": hashes in _core_hashes
        self._hashes: dict[int, tuple[tuple[str, str], ...]] = {}  # other algorithms than sha256
        self._yanked: dict[int, str] = {}  # position -> reason ("" without one)
        self._copies: dict[int, tuple[str, tuple[tuple[str, str], ...]]] = {}
        self._core_hashes: dict[int, tuple[tuple[str, str], ...]] = {}
        self._artifacts: dict[int, Artifact] = {}
        self._groups: dict[Version, array[int]] | None = None
        self._newest_first: list[tuple[Version, array[int]]] | None = None
        self._shapes: dict[tuple[str | None, str | None], tuple[list[Version], array[int]]] | None = None
        self._uploaded_by: dict[object, tuple[FileTable, int]] = {}
        self._offsets: dict[str, array[int]] = {}  # text column kept whole -> where each item starts
        self._remembered: dict[Hashable, Any] = {}

    @classmethod
    def of(cls, artifacts: Sequence[Artifact]) -> FileTable:
        if isinstance(artifacts, FileTable):
            return artifacts
        index = artifacts[0].index if artifacts else ""
        name = artifacts[0].name if artifacts else NormalizedName("")
        builder = FileTableBuilder(index, name)
        for artifact in artifacts:
            builder.add(artifact.filename, artifact.url, str(artifact.version), artifact.kind,
                        wheel_tag_key(artifact.filename) if artifact.kind is ArtifactKind.WHEEL else "",
                        artifact.hashes, artifact.requires_python, artifact.yanked, artifact.size,
                        artifact.upload_time, artifact.core_metadata, artifact.metadata_copy)
        table = builder.build()
        table._artifacts = dict(enumerate(artifacts))
        return table

    # -- Sequence[Artifact] --------------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    def __getitem__(self, position):  # type: ignore[no-untyped-def,override]
        if isinstance(position, slice):
            return tuple(self[i] for i in range(*position.indices(self._n)))
        if position < 0:
            position += self._n
        if not 0 <= position < self._n:
            raise IndexError(position)
        artifact = self._artifacts.get(position)
        if artifact is None:
            artifact = self._artifacts[position] = self._artifact(position)
        return artifact

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (self[i] for i in range(self._n))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FileTable):
            return (self.index, self.name, self.foreign) == (other.index, other.name, other.foreign) \
                and tuple(self) == tuple(other)
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.index, self.name, self._joined("_filenames")))

    def __repr__(self) -> str:
        return f"FileTable({self.index!r}, {self.name!r}, {self._n} files)"

    def _text(self, attribute: str) -> list[str]:
        """A text column as a list (split here when the cache stored it as one string)."""
        value = getattr(self, attribute)
        if isinstance(value, str):
            value = _split(value, self._n)
            setattr(self, attribute, value)
            self._offsets.pop(attribute, None)
        return value  # type: ignore[no-any-return]

    def _item(self, attribute: str, position: int) -> str:
        """One item of a text column. A column the cache stored as one string stays one: only a
        few of its rows are ever read (the chosen files), and a page's URLs split into strings
        take ten times the memory of their offsets."""
        value = getattr(self, attribute)
        if not isinstance(value, str):
            return value[position]  # type: ignore[no-any-return]
        if attribute in _HEX_COLUMNS and len(value) == 65 * self._n - 1:
            # Items of at most 64 characters that fill the column: all 64 long (the usual case).
            return value[65 * position:65 * position + 64]
        offsets = self._column_offsets(attribute, value)
        return value[offsets[position]:offsets[position + 1] - 1]

    def _column_offsets(self, attribute: str, value: str) -> array[int]:
        """Where each item of a text column kept whole starts (and, last, its length + 1)."""
        offsets = self._offsets.get(attribute)
        if offsets is None:
            # Item k starts after the k items before it and their separators (all at C speed).
            lengths = map(add, map(len, _split(value, self._n)), repeat(1))
            offsets = self._offsets[attribute] = array("q", accumulate(lengths, initial=0))
        return offsets

    def filename_reader(self) -> Callable[[int], str]:
        """`filename`, made for many calls in a row (selection compares names)."""
        value = self._filenames
        if not isinstance(value, str):
            return value.__getitem__
        offsets = self._column_offsets("_filenames", value)
        return lambda position: value[offsets[position]:offsets[position + 1] - 1]

    def _joined(self, attribute: str) -> str:
        value = getattr(self, attribute)
        return value if isinstance(value, str) else " ".join(value)

    def _artifact(self, position: int) -> Artifact:
        sha256 = self._item("_sha256", position)
        hashes = dict(self._hashes.get(position, ()))
        if sha256:
            hashes = {"sha256": sha256, **hashes}
        core = self._item("_core", position)
        core_metadata: Mapping[str, str] | None = None
        if core == "-":
            core_metadata = MappingProxyType({})
        elif core == "+":
            core_metadata = MappingProxyType(dict(self._core_hashes.get(position, ())))
        elif core:
            core_metadata = MappingProxyType({"sha256": core})
        copy = self._copies.get(position)
        tag_key = self._tag_keys[self._tag_ids[position]]
        size = self._sizes[position]
        upload = self._item("_uploads", position)
        return Artifact(
            index=self.index, filename=self._item("_filenames", position), url=self._item("_urls", position), name=self.name,
            version=parse_version(self._versions[self._version_ids[position]]),
            kind=ArtifactKind.WHEEL if self._kinds[position] == "w" else ArtifactKind.SDIST,
            tags=tags_of(tag_key) if tag_key else frozenset(),
            hashes=MappingProxyType(hashes), requires_python=self._rpys[self._rpy_ids[position]],
            yanked=self._yanked.get(position), size=None if size < 0 else size, upload_time=upload or None,
            core_metadata=core_metadata,
            metadata_copy=None if copy is None else MetadataCopy(copy[0], MappingProxyType(dict(copy[1]))),
        )

    # -- what candidate selection reads, without making artifacts -------------------------------
    def version_groups(self) -> dict[Version, array[int]]:
        """Row positions per version, in page order (computed once)."""
        if self._groups is None:
            by_id: dict[int, list[int]] = {}
            for position, version_id in enumerate(self._version_ids):
                found = by_id.get(version_id)
                if found is None:
                    by_id[version_id] = [position]
                else:
                    found.append(position)
            groups: dict[Version, array[int]] = {}
            for version_id, positions in by_id.items():
                version = parse_version(self._versions[version_id])
                if version in groups:  # "1.0" and "1.0.0" are one version: keep page order
                    groups[version] = array("q", sorted([*groups[version], *positions]))
                else:
                    groups[version] = array("q", positions)  # a page's rows, kept for the run: compact
            self._groups = groups
        return self._groups

    def newest_first(self) -> list[tuple[Version, array[int]]]:
        """`version_groups` as (version, rows), newest version first (sorted once)."""
        if self._newest_first is None:
            self._newest_first = sorted(self.version_groups().items(), key=lambda item: item[0], reverse=True)
        return self._newest_first

    def shapes(self) -> dict[tuple[str | None, str | None], tuple[list[Version], array[int]]]:
        """The versions and rows of the files per (Requires-Python text, wheel tag part or None
        for an sdist), in page order, as two parallel columns: what decides whether a file fits
        a target.

        A page repeats a few hundred such keys over thousands of files: a target decides each
        key once, then visits only the files that fit it (computed once, shared by every target)."""
        if self._shapes is None:
            shapes: dict[tuple[str | None, str | None], tuple[list[Version], array[int]]] = {}
            rpys, rpy_ids, tag_keys, tag_ids, kinds = self._rpys, self._rpy_ids, self._tag_keys, self._tag_ids, self._kinds
            for version, positions in self.version_groups().items():
                for position in positions:
                    key = (rpys[rpy_ids[position]], tag_keys[tag_ids[position]] if kinds[position] == "w" else None)
                    found = shapes.get(key)
                    if found is None:
                        shapes[key] = ([version], array("q", (position,)))
                    else:
                        found[0].append(version)
                        found[1].append(position)
            self._shapes = shapes
        return self._shapes

    def remembered(self, key: Hashable, make: Callable[[], _T]) -> _T:
        """What `make` works out from this page for `key`, worked out once (candidate selection
        keeps its choices per target decisions here: targets that decide alike share them)."""
        try:
            return self._remembered[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self._remembered[key] = make()
            return value

    def is_wheel(self, position: int) -> bool:
        return self._kinds[position] == "w"

    def tags(self, position: int) -> frozenset[Tag]:
        key = self._tag_keys[self._tag_ids[position]]
        return tags_of(key) if key else frozenset()

    def filename(self, position: int) -> str:
        return self._item("_filenames", position)

    def requires_python(self, position: int) -> str | None:
        return self._rpys[self._rpy_ids[position]]

    def yanked(self, position: int) -> str | None:
        return self._yanked.get(position)

    @property
    def has_yanked(self) -> bool:
        """Whether any file of the page is yanked (most pages: none)."""
        return bool(self._yanked)

    @property
    def yanked_rows(self) -> Mapping[int, str]:
        """Row -> yank reason ("" without one) of the yanked files (read only)."""
        return self._yanked

    def upload_time(self, position: int) -> str | None:
        return self._item("_uploads", position) or None

    def uploaded_by(self, cutoff: object, uploaded_before: Callable[[str | None], bool | None]) -> tuple[FileTable, int]:
        """The files uploaded by `cutoff` (as a table of their own, made once per cut-off), and how
        many were left out because the index gives no upload time for them.
        `uploaded_before(text)`: True/False, or None when the time is missing or unreadable."""
        found = self._uploaded_by.get(cutoff)
        if found is None:
            kept: list[int] = []
            undated = 0
            for position, text in enumerate(self._text("_uploads")):
                verdict = uploaded_before(text or None)
                if verdict is None:
                    undated += 1
                elif verdict:
                    kept.append(position)
            table = self if len(kept) == self._n else self._subset(kept)
            found = self._uploaded_by[cutoff] = (table, undated)
        return found

    def _subset(self, positions: list[int]) -> FileTable:
        """A table of these rows only (the per-page texts are shared, not copied)."""
        table = FileTable(self.index, self.name)
        table._n = len(positions)
        renumbered = {old: new for new, old in enumerate(positions)}
        for column in ("_filenames", "_urls", "_sha256", "_uploads", "_core"):
            values = self._text(column)
            setattr(table, column, [values[p] for p in positions])
        table._versions, table._tag_keys, table._rpys = self._versions, self._tag_keys, self._rpys
        table._version_ids = [self._version_ids[p] for p in positions]
        table._kinds = "".join(self._kinds[p] for p in positions)
        table._tag_ids = [self._tag_ids[p] for p in positions]
        table._rpy_ids = [self._rpy_ids[p] for p in positions]
        table._sizes = [self._sizes[p] for p in positions]
        for sparse in ("_hashes", "_yanked", "_copies", "_core_hashes", "_artifacts"):
            values = getattr(self, sparse)
            setattr(table, sparse, {renumbered[k]: v for k, v in values.items() if k in renumbered})
        # Left-out wheels (no target's platform) of a version whose listed files were all uploaded
        # later go with them; those of versions with no listed file stay (their times are unknown).
        listed = {self._versions[i] for i in self._version_ids}
        kept = {self._versions[i] for i in table._version_ids}
        table.foreign = {text: platforms for text, platforms in self.foreign.items()
                         if text in kept or text not in listed}
        return table

    def foreign_versions(self) -> dict[Version, tuple[str, ...]]:
        """Versions of the left-out wheels with their platform tags, parsed."""
        return {parse_version(text): platforms for text, platforms in self.foreign.items()}

    # -- the cache record ----------------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """The table as plain JSON data (`from_record` reads it back, checking every field)."""
        return {
            "n": self._n,
            "filenames": self._joined("_filenames"),
            "urls": self._joined("_urls"),
            "versions": self._versions, "version": list(self._version_ids), "kinds": self._kinds,
            "tag_keys": self._tag_keys, "tag": list(self._tag_ids),
            "sha256": self._joined("_sha256"),
            "rpys": self._rpys, "rpy": list(self._rpy_ids), "sizes": list(self._sizes),
            "uploads": self._joined("_uploads"),
            "core": self._joined("_core"),
            "hashes": {str(k): v for k, v in self._hashes.items()},
            "yanked": {str(k): v for k, v in self._yanked.items()},
            "copies": {str(k): [url, pairs] for k, (url, pairs) in self._copies.items()},
            "core_hashes": {str(k): v for k, v in self._core_hashes.items()},
            "foreign": self.foreign,
        }

    @classmethod
    def from_record(cls, record: Any, index: str, name: NormalizedName, local_root: str | None) -> FileTable:
        """A table from `to_record`'s data, every field checked as if an index had sent it (the
        cache folder is not trusted either); `RecordError` when anything is off."""
        from planner.index.validate import BadField, check_hashes, check_requires_python, check_url, \
            check_version, clean_reason

        if not isinstance(record, dict):
            raise RecordError("not an object")
        n = record.get("n")
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= _MAX_ROWS:
            raise RecordError("bad row count")
        table = cls(index, name)
        table._n = n
        try:
            texts = {column: _checked_text(record, column, characters, n) for column, characters in _COLUMN_CHARS.items()}
            filenames = _split(texts["filenames"], n)
            lengths = set(map(len, filenames))
            if n and (max(lengths) > 255 or 0 in lengths or not _names_start_well(texts["filenames"])):
                raise RecordError("bad file names")
            # Every URL starts with a scheme planner may read (there is no space inside one).
            spaced = " " + texts["urls"]
            prefixes = (" https://", " http://") + ((" file:///",) if local_root is not None else ())
            if sum(spaced.count(prefix) for prefix in prefixes) != n:
                raise RecordError("bad URLs")
            if local_root is not None and "file:" in texts["urls"]:
                for url in _split(texts["urls"], n):
                    if url.startswith("file:"):
                        check_url(url, local_root=local_root)
            for column, allowed in _COLUMN_LENGTHS.items():
                text = texts[column]
                # All 64 characters long (the usual case): the separators sit every 65th place.
                if not (len(text) == 65 * n - 1 and not text[64::65].strip(" ")):
                    if not set(map(len, _split(text, n))) <= allowed:
                        raise RecordError(f"bad column {column}")
            table._filenames = texts["filenames"]  # read by row (`_item`)
            table._urls, table._sha256 = texts["urls"], texts["sha256"]  # split when first used
            table._uploads, table._core = texts["uploads"], texts["core"]
            kinds = record.get("kinds")
            if not isinstance(kinds, str) or len(kinds) != n or kinds.strip("ws"):
                raise RecordError("bad kinds")
            table._kinds = kinds
            versions = record.get("versions")
            if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
                raise RecordError("bad versions")
            for text in versions:
                check_version(text)
                parse_version(text)  # InvalidVersion is a ValueError
            table._versions = versions
            tag_keys = record.get("tag_keys")
            if not isinstance(tag_keys, list) or not tag_keys or tag_keys[0] != "" \
                    or not all(isinstance(k, str) and _valid_tag_key(k) for k in tag_keys[1:]):
                raise RecordError("bad tags")
            table._tag_keys = tag_keys
            rpys = record.get("rpys")
            if not isinstance(rpys, list) or not rpys or rpys[0] is not None \
                    or not all(isinstance(r, str) for r in rpys[1:]):
                raise RecordError("bad requires-python")
            for text in rpys[1:]:
                check_requires_python(text)
            table._rpys = rpys
            table._version_ids = _int_column(record.get("version"), n, 0, len(versions) - 1, "version")
            table._tag_ids = _int_column(record.get("tag"), n, 0, len(tag_keys) - 1, "tag")
            table._rpy_ids = _int_column(record.get("rpy"), n, 0, len(rpys) - 1, "rpy")
            from planner.index.validate import MAX_SIZE

            table._sizes = _int_column(record.get("sizes"), n, -1, MAX_SIZE, "sizes")
            table._hashes = {k: tuple(check_hashes(dict(v)).items()) for k, v in _sparse(record, "hashes", n).items()}
            table._core_hashes = {k: tuple(check_hashes(dict(v)).items())
                                  for k, v in _sparse(record, "core_hashes", n).items()}
            yanked = _sparse(record, "yanked", n)
            if not all(isinstance(v, str) and clean_reason(v) == v for v in yanked.values()):
                raise RecordError("bad yank reason")
            table._yanked = yanked
            copies = {}
            for position, value in _sparse(record, "copies", n).items():
                if not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], str):
                    raise RecordError("bad metadata copy")
                copies[position] = (check_url(value[0], local_root=local_root), tuple(check_hashes(dict(value[1])).items()))
            table._copies = copies
            foreign = record.get("foreign")
            if not isinstance(foreign, dict):
                raise RecordError("bad foreign files")
            for text, platforms in foreign.items():
                check_version(text)
                parse_version(text)
                if not isinstance(platforms, list) or not all(isinstance(p, str) and _PLATFORM_RE.fullmatch(p)
                                                              for p in platforms):
                    raise RecordError("bad foreign platforms")
            table.foreign = {text: tuple(platforms) for text, platforms in foreign.items()}
        except (BadField, TypeError, KeyError) as exc:
            raise RecordError(str(exc)) from None
        except ValueError as exc:  # InvalidVersion and the like
            raise RecordError(str(exc)) from None
        return table


def _checked_text(record: dict[str, Any], column: str, allowed: bytes, n: int) -> str:
    """A space-separated column of `n` items, of `allowed` characters only."""
    text = record.get(column)
    if not isinstance(text, str) or text.count(" ") != max(n - 1, 0) or (not n and text):
        raise RecordError(f"bad column {column}")
    try:
        if text.encode("ascii").translate(None, allowed):
            raise RecordError(f"bad characters in column {column}")
    except UnicodeEncodeError:
        raise RecordError(f"bad characters in column {column}") from None
    return text


def _sparse(record: dict[str, Any], key: str, n: int) -> dict[int, Any]:
    """A `{position: value}` column of the record (positions as JSON object keys)."""
    value = record.get(key)
    if not isinstance(value, dict):
        raise RecordError(f"bad {key}")
    out: dict[int, Any] = {}
    for text, item in value.items():
        if not (text.isascii() and text.isdigit() and len(text) <= 8) or int(text) >= n:
            raise RecordError(f"bad {key} position")
        if isinstance(item, list):  # pairs of (algorithm, hex): lists in JSON
            if key in ("hashes", "core_hashes"):
                if not all(isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
                           for pair in item):
                    raise RecordError(f"bad {key}")
                item = [tuple(pair) for pair in item]
        out[int(text)] = item
    return out


class FileTableBuilder:
    """Collects a page's files (already checked by the parser) into a `FileTable`."""

    def __init__(self, index: str, name: NormalizedName) -> None:
        self.table = FileTable(index, name)
        self._version_ids: dict[str, int] = {}
        self._tag_ids: dict[str, int] = {"": 0}
        self._rpy_ids: dict[str | None, int] = {None: 0}
        self._kinds: list[str] = []
        self._foreign: dict[str, set[str]] = {}

    def add(self, filename: str, url: str, version_text: str, kind: ArtifactKind, tag_key: str,
            hashes: Mapping[str, str], requires_python: str | None, yanked: str | None, size: int | None,
            upload_time: str | None, core_metadata: Mapping[str, str] | None,
            metadata_copy: MetadataCopy | None) -> None:
        t = self.table
        position = t._n
        t._n += 1
        t._filenames.append(filename)  # type: ignore[union-attr]
        t._urls.append(url)  # type: ignore[union-attr]
        version_id = self._version_ids.get(version_text)
        if version_id is None:
            version_id = self._version_ids[version_text] = len(t._versions)
            t._versions.append(version_text)
        t._version_ids.append(version_id)
        self._kinds.append("w" if kind is ArtifactKind.WHEEL else "s")
        tag_id = self._tag_ids.get(tag_key)
        if tag_id is None:
            tag_id = self._tag_ids[tag_key] = len(t._tag_keys)
            t._tag_keys.append(tag_key)
        t._tag_ids.append(tag_id)
        sha256 = hashes.get("sha256", "")
        t._sha256.append(sha256)  # type: ignore[union-attr]
        others = tuple((k, v) for k, v in hashes.items() if k != "sha256")
        if others:
            t._hashes[position] = others
        rpy_id = self._rpy_ids.get(requires_python)
        if rpy_id is None:
            rpy_id = self._rpy_ids[requires_python] = len(t._rpys)
            t._rpys.append(requires_python)
        t._rpy_ids.append(rpy_id)
        t._sizes.append(-1 if size is None else size)
        t._uploads.append(upload_time or "")  # type: ignore[union-attr]
        if core_metadata is None:
            core = ""
        elif not core_metadata:
            core = "-"
        elif set(core_metadata) == {"sha256"}:
            core = core_metadata["sha256"]
        else:
            core = "+"
            t._core_hashes[position] = tuple(core_metadata.items())
        t._core.append(core)  # type: ignore[union-attr]
        if yanked is not None:
            t._yanked[position] = yanked
        if metadata_copy is not None:
            t._copies[position] = (metadata_copy.url, tuple(metadata_copy.hashes.items()))

    def add_foreign(self, version_text: str, platforms: Iterable[str]) -> None:
        """A wheel left out because no target's platform is among its `platforms`."""
        self._foreign.setdefault(version_text, set()).update(platforms)

    def build(self) -> FileTable:
        table = self.table
        table._kinds = "".join(self._kinds)
        shared: dict[tuple[str, ...], tuple[str, ...]] = {}  # versions of a page share a few platform sets
        for text, platforms in self._foreign.items():
            key = tuple(sorted(platforms))
            table.foreign[text] = shared.setdefault(key, key)
        return table


@dataclass(frozen=True)
class ProjectPage:
    """Everything one index lists for one project (`artifacts` is kept as a `FileTable`)."""

    index: str
    url: str  # the page URL (redacted for display by callers)
    project: NormalizedName
    artifacts: Sequence[Artifact]
    skipped: tuple[SkippedFile, ...] = ()  # the first MAX_SKIPPED of them (simple.py)
    skipped_total: int = -1  # how many files were skipped in all (-1: as many as listed)

    def __post_init__(self) -> None:
        object.__setattr__(self, "artifacts", FileTable.of(self.artifacts))
        if self.skipped_total < 0:
            object.__setattr__(self, "skipped_total", len(self.skipped))

    @property
    def has_files(self) -> bool:
        """Does the index list the project at all? Unusable files and files for platforms no
        target has count: under first-index, such a page stops the search (that later indexes are
        never asked for the name is what stops dependency confusion)."""
        return bool(len(self.files) or self.skipped_total or self.files.foreign)

    def to_record(self) -> dict[str, Any]:
        """The page as plain JSON data (`from_record` reads it back)."""
        return {"format": RECORD_FORMAT, "index": self.index, "url": self.url, "project": self.project,
                "files": self.files.to_record(), "skipped_total": self.skipped_total,
                "skipped": [[s.filename, s.reason, s.suspicious] for s in self.skipped]}

    @classmethod
    def from_record(cls, record: Any, *, index: str, url: str, project: NormalizedName,
                    local_root: str | None) -> ProjectPage:
        """The page a `to_record` record holds, checked like index data, for the page asked for
        (`RecordError` when it is damaged, forged, or another page's)."""
        if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
            raise RecordError("another format")
        if (record.get("index"), record.get("url"), record.get("project")) != (index, url, project):
            raise RecordError("another page")
        files = FileTable.from_record(record.get("files"), index, project, local_root)
        total, skipped = record.get("skipped_total"), record.get("skipped")
        if not isinstance(total, int) or isinstance(total, bool) or not isinstance(skipped, list) \
                or not 0 <= len(skipped) <= total:
            raise RecordError("bad skipped files")
        items = []
        for item in skipped:
            if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) and isinstance(item[1], str)
                    and isinstance(item[2], bool) and len(item[0]) <= 300 and len(item[1]) <= 1000):
                raise RecordError("bad skipped file")
            items.append(SkippedFile(item[0], item[1], item[2]))
        return cls(index, url, project, files, tuple(items), total)

    @property
    def files(self) -> FileTable:
        return self.artifacts  # type: ignore[return-value]

    @property
    def versions(self) -> tuple[Version, ...]:
        return tuple(sorted(self.files.version_groups(), reverse=True))


class RejectionKind(StrEnum):
    TAGS = "tags"  # no wheel tag the target accepts
    REQUIRES_PYTHON = "requires-python"
    YANKED = "yanked"
    NO_ARTIFACT = "no-artifact"  # neither a fitting wheel nor an sdist


@dataclass(frozen=True)
class Rejection:
    """Why an artifact (or a whole version) cannot serve a target; kept for explanations."""

    index: str
    version: Version
    filename: str | None
    kind: RejectionKind
    detail: str

    def __str__(self) -> str:
        return self.detail


class Candidate:
    """A (package, version, index) a target could install, with the artifact it would install.

    Immutable. Selection makes one per fitting version of a page, while the solver reads the
    artifact of a few: a candidate made from a page's row (`from_row`) makes its `Artifact` when
    it is first read. Equal when name, version, index, yank state and artifact are."""

    __slots__ = ("name", "version", "index", "yanked", "_artifact", "_files", "_row")

    name: NormalizedName
    version: Version
    index: str
    yanked: bool  # admissible only when pinned with == / ===

    def __init__(self, name: NormalizedName, version: Version, index: str, artifact: Artifact,
                 yanked: bool = False) -> None:
        _set = object.__setattr__
        _set(self, "name", name)
        _set(self, "version", version)
        _set(self, "index", index)
        _set(self, "yanked", yanked)
        _set(self, "_artifact", artifact)
        _set(self, "_files", None)
        _set(self, "_row", -1)

    @classmethod
    def from_row(cls, files: FileTable, row: int, version: Version, yanked: bool = False) -> Candidate:
        """The candidate whose artifact is `files[row]`, made when first read."""
        candidate = _new_candidate(cls)
        _set = object.__setattr__
        _set(candidate, "name", files.name)
        _set(candidate, "version", version)
        _set(candidate, "index", files.index)
        _set(candidate, "yanked", yanked)
        _set(candidate, "_artifact", None)
        _set(candidate, "_files", files)
        _set(candidate, "_row", row)
        return candidate

    @property
    def artifact(self) -> Artifact:
        """The best-ranked fitting wheel, else the sdist."""
        artifact = self._artifact
        if artifact is None:
            artifact = self._files[self._row]  # type: ignore[index]
            object.__setattr__(self, "_artifact", artifact)
        return artifact  # type: ignore[no-any-return]

    @property
    def key(self) -> tuple[NormalizedName, Version, str]:
        return (self.name, self.version, self.index)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Candidate is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Candidate is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Candidate):
            return NotImplemented
        if (self.name, self.version, self.index, self.yanked) != (other.name, other.version, other.index, other.yanked):
            return False
        if self._files is not None and self._files is other._files:  # same page: same row, same file
            return self._row == other._row
        return self.artifact == other.artifact

    def __hash__(self) -> int:
        return hash((self.name, self.version, self.index, self.yanked))

    def __repr__(self) -> str:
        return (f"Candidate(name={self.name!r}, version={self.version!r}, index={self.index!r}, "
                f"artifact={self.artifact!r}, yanked={self.yanked!r})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Candidate, (self.name, self.version, self.index, self.artifact, self.yanked))


_new_candidate = object.__new__


def _no_rejections() -> tuple[Rejection, ...]:
    return ()


@dataclass(frozen=True)
class CandidateSet:
    """The candidates of one package on one target, newest first, plus every rejection."""

    name: NormalizedName
    candidates: tuple[Candidate, ...]
    indexes_consulted: tuple[str, ...]  # in order; with first-index, where the search stopped
    # Indexes whose files without an upload time (PEP 700) were left out under exclude-newer.
    undated: tuple[str, ...] = ()
    # Works the rejections out: only explanations read them, so they are not built before.
    explain_rejections: Callable[[], tuple[Rejection, ...]] = field(default=_no_rejections, compare=False,
                                                                    repr=False)

    @cached_property
    def rejections(self) -> tuple[Rejection, ...]:
        return self.explain_rejections()


@dataclass(frozen=True)
class BuiltOn:
    """The environment a PEP 517 metadata build ran in (`planner/sources/build.py`): a backend
    may compute dependencies from it, so a target on another one may get other dependencies."""

    python_version: str  # "3.11.7"
    implementation: str  # "cpython"
    sys_platform: str  # "linux"
    machine: str  # "x86_64"

    def describe(self) -> str:
        return f"Python {self.python_version} on {self.sys_platform} {self.machine}"

    def differs_from(self, environment: Mapping[str, str]) -> list[str]:
        """What differs from a target's marker environment: "Python 3.12", "darwin", "arm64"."""
        out = []
        python = ".".join(self.python_version.split(".")[:2])
        if environment.get("python_version") not in (None, python):
            out.append(f"Python {environment['python_version']}")
        if environment.get("sys_platform") not in (None, self.sys_platform):
            out.append(environment["sys_platform"])
        if environment.get("platform_machine") not in (None, self.machine):
            out.append(environment["platform_machine"])
        return out


@dataclass(frozen=True)
class CoreMetadata:
    """The parts of a distribution's core metadata the compiler needs."""

    name: NormalizedName
    version: Version
    requires_dist: tuple[Requirement, ...]
    requires_python: str | None
    provides_extra: tuple[NormalizedName, ...]
    dynamic: tuple[str, ...] = ()  # sdists only: fields a build may change
    # As the file declared it ("2.4"); None when absent. Left out of equality so that the same
    # dependencies read from differently produced files compare equal.
    metadata_version: str | None = field(default=None, compare=False)
    # Where each of `requires_dist` was written, when it comes from a pyproject the user edits
    # (a local package's): same length as `requires_dist`, else empty.
    origins: tuple[Location | None, ...] = field(default=(), compare=False)
    # Set when the metadata comes from a PEP 517 build rather than a file an index published.
    built_on: BuiltOn | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Unusable:
    """Why an artifact's dependencies cannot be known (an sdist or source tree that needs a
    build, bad metadata): the solver then leaves that candidate out instead of failing the run."""

    reason: str


class MetadataSource(StrEnum):
    """How a metadata file was obtained (the tests assert each path is taken)."""

    PEP658 = "pep658"
    RANGE = "range"
    DOWNLOAD = "download"
    SDIST = "sdist"
    CACHE = "cache"
