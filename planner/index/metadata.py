"""Core metadata (METADATA / PKG-INFO) -> `CoreMetadata`, plus artifact hash checks.

Pure: every function takes bytes and returns values or raises; no network, no files. The readers
that pull the bytes out of wheels and sdists live in `wheel_zip.py`.

Indexes are not trusted: a metadata file that names another project or version than the artifact
it came with is an error, never silently accepted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Hashable, Iterable, Mapping
from functools import lru_cache
from typing import TypeVar

from packaging.markers import InvalidMarker, Marker
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

from planner.index.models import CoreMetadata
from planner.project.markers import marker_problem
from planner.project.numbers import number_problem, oversized_number, requirement_number_problem
from planner.project.references import requirement_as_uv_reads

__all__ = [
    "HashMismatch",
    "MetadataError",
    "MetadataNeedsBuild",
    "check_sdist_metadata",
    "metadata_from_record",
    "metadata_record",
    "hash_algorithm_for",
    "parse_core_metadata",
    "parse_sdist_metadata",
    "parse_wheel_metadata",
    "sdist_metadata_usable",
    "verify_hash",
]

# PEP 643: from 2.2 on, a field of an sdist's PKG-INFO that is not listed in Dynamic is final.
SDIST_STATIC_SINCE = Version("2.2")
# Fields whose being dynamic means the dependencies are unknown until a build.
BUILD_DEPENDENT_FIELDS: tuple[str, ...] = ("requires-dist",)
# Hash algorithms in order of preference (sha256 is what PEP 503/691/751 centre on).
PREFERRED_HASHES: tuple[str, ...] = ("sha256", "sha512", "sha384", "sha224", "sha1", "md5")

_BOM = b"\xef\xbb\xbf"
_T = TypeVar("_T", bound=Hashable)
_FOLD = re.compile(r"\r?\n[ \t]+")


class MetadataError(ValueError):
    """A core metadata file that planner cannot use: malformed, or not what was asked for."""


class MetadataNeedsBuild(MetadataError):
    """An sdist whose PKG-INFO does not pin its dependencies (they are only known after a build)."""

    def __init__(self, message: str, *, filename: str, reason: str) -> None:
        super().__init__(message)
        self.filename = filename
        self.reason = reason  # short: "Metadata-Version 2.1", "dynamic Requires-Dist", ...


class HashMismatch(MetadataError):
    """Downloaded bytes whose digest differs from the one the index (or lock) promised."""

    def __init__(self, message: str, *, algorithm: str, expected: str, actual: str) -> None:
        super().__init__(message)
        self.algorithm = algorithm
        self.expected = expected
        self.actual = actual


# -- parsing -------------------------------------------------------------------------------------


def parse_core_metadata(
    data: bytes,
    *,
    expected_name: str | None = None,
    expected_version: str | Version | None = None,
    origin: str | None = None,
) -> CoreMetadata:
    """Parse a METADATA/PKG-INFO file (Metadata-Version 1.0 to 2.x).

    `origin` (a file name, say) prefixes error messages. Unknown fields are ignored; fields the
    compiler needs must be well-formed: Name, Version and every Requires-Dist line.
    """
    where = f"{origin}: " if origin else ""
    data = data.removeprefix(_BOM)  # some tools write one; it would glue onto the first field
    from packaging.metadata import parse_email  # (and the email package: only for files not cached yet)

    try:
        raw, unparsed = parse_email(data)
    except Exception as exc:  # the email parser is lenient, but be sure nothing odd escapes
        raise MetadataError(f"{where}core metadata does not parse: {exc}") from exc

    metadata_version = _single(raw.get("metadata_version"), unparsed, "metadata-version", where)
    if metadata_version is not None:
        _check_metadata_version(metadata_version, where)

    raw_name = _single(raw.get("name"), unparsed, "name", where)
    if not raw_name or not raw_name.strip():
        raise MetadataError(f"{where}core metadata has no Name field")
    name = canonicalize_name(raw_name.strip())

    raw_version = _single(raw.get("version"), unparsed, "version", where)
    if not raw_version or not raw_version.strip():
        raise MetadataError(f"{where}core metadata of {raw_name.strip()} has no Version field")
    try:
        if number_problem(raw_version):
            raise InvalidVersion(raw_version)
        version = Version(raw_version.strip())
    except InvalidVersion as exc:
        raise MetadataError(
            f"{where}core metadata of {raw_name.strip()[:100]} has an invalid Version "
            f"{raw_version.strip()[:100]!r}"
        ) from exc

    _check_expected(name, version, raw_name.strip(), expected_name, expected_version, where)

    # Lines with undecodable bytes land in `unparsed`; they still get their own parse (and error).
    requires_dist = tuple(
        _parse_requirement(line, where)
        for line in [*raw.get("requires_dist", []), *unparsed.get("requires-dist", [])]
        if line.strip()  # an empty field occurs in the wild and means nothing
    )

    requires_python = _single(raw.get("requires_python"), unparsed, "requires-python", where)
    if requires_python is not None:
        requires_python = requires_python.strip() or None
        if requires_python is not None and number_problem(requires_python):
            raise MetadataError(f"{where}core metadata's Requires-Python: {number_problem(requires_python)}")

    extras = [*raw.get("provides_extra", []), *unparsed.get("provides-extra", [])]
    provides_extra = tuple(_unique(canonicalize_name(e.strip()) for e in extras if e.strip()))
    dynamic = tuple(_unique(d.strip().lower() for d in raw.get("dynamic", []) if d.strip()))

    return CoreMetadata(
        name=name,
        version=version,
        requires_dist=requires_dist,
        requires_python=requires_python,
        provides_extra=provides_extra,
        dynamic=dynamic,
        metadata_version=metadata_version.strip() if metadata_version else None,
    )


def metadata_record(meta: CoreMetadata) -> bytes:
    """`meta` as a small JSON record (`metadata_from_record` reads it back): a warm run loads
    the metadata it parsed before instead of parsing the e-mail format again."""
    return json.dumps({
        "name": meta.name, "version": str(meta.version),
        "requires_dist": [str(requirement) for requirement in meta.requires_dist],
        "requires_python": meta.requires_python, "provides_extra": list(meta.provides_extra),
        "dynamic": list(meta.dynamic), "metadata_version": meta.metadata_version,
    }).encode()


def metadata_from_record(data: bytes, *, expected_name: str | None = None,
                         expected_version: str | Version | None = None) -> CoreMetadata:
    """The `CoreMetadata` a `metadata_record` holds; `MetadataError` if it does not read back.

    The record comes from the cache folder, which planner does not trust: it is JSON (data only),
    every field must have its type, every requirement must parse and pass the checks metadata
    from an index passes, and it must describe the artifact it is read for."""
    try:
        record = json.loads(data)
        if not isinstance(record, dict):
            raise MetadataError("not an object")
        texts = record["requires_dist"]
        strings = (record["name"], record["version"], *texts, *record["provides_extra"], *record["dynamic"])
        if not isinstance(texts, list) or not all(isinstance(text, str) for text in strings) or not all(
                value is None or isinstance(value, str) for value in (record["requires_python"], record["metadata_version"])):
            raise MetadataError("a field has the wrong type")
        requires_dist = tuple(_requirement(text) for text in texts)
        if any(isinstance(requirement, str) for requirement in requires_dist):
            raise MetadataError("a stored requirement no longer parses")
        if record["requires_python"] is not None and number_problem(record["requires_python"]):
            raise MetadataError("requires-python holds a number too large")
        version = Version(record["version"])
        _check_expected(canonicalize_name(record["name"]), version, record["name"], expected_name, expected_version, "")
        return CoreMetadata(
            name=canonicalize_name(record["name"]), version=version,
            requires_dist=requires_dist,  # type: ignore[arg-type]
            requires_python=record["requires_python"],
            provides_extra=tuple(canonicalize_name(extra) for extra in record["provides_extra"]),
            dynamic=tuple(record["dynamic"]), metadata_version=record["metadata_version"],
        )
    except (ValueError, KeyError, TypeError, RecursionError) as exc:  # MetadataError is a ValueError too
        raise MetadataError(f"stored metadata record does not read back: {str(exc)[:200]}") from None


def parse_wheel_metadata(
    data: bytes,
    filename: str,
    *,
    expected_name: str | None = None,
    expected_version: str | Version | None = None,
) -> CoreMetadata:
    """Parse a wheel's METADATA, checking it against the wheel file name unless told otherwise.

    `Dynamic` in a wheel is kept but means nothing: a built wheel's metadata is final.
    """
    if expected_name is None or expected_version is None:
        try:
            wheel_name, wheel_version, _build, _tags = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion):
            pass  # the caller listed it, so it was usable; just skip the cross-check
        else:
            expected_name = wheel_name if expected_name is None else expected_name
            expected_version = wheel_version if expected_version is None else expected_version
    return parse_core_metadata(
        data, expected_name=expected_name, expected_version=expected_version, origin=filename
    )


def parse_sdist_metadata(
    data: bytes,
    filename: str,
    *,
    expected_name: str | None = None,
    expected_version: str | Version | None = None,
) -> CoreMetadata:
    """Parse an sdist's PKG-INFO; raise `MetadataNeedsBuild` unless its dependencies are static.

    Name and version are checked against the arguments, else against the file name when that
    parses as a standard sdist name (legacy sdist names are too irregular to insist on it).
    """
    if expected_name is None or expected_version is None:
        try:
            sdist_name, sdist_version = parse_sdist_filename(filename)
        except (InvalidSdistFilename, InvalidVersion):
            pass
        else:
            expected_name = sdist_name if expected_name is None else expected_name
            expected_version = sdist_version if expected_version is None else expected_version
    meta = parse_core_metadata(
        data, expected_name=expected_name, expected_version=expected_version, origin=filename
    )
    check_sdist_metadata(meta, filename)
    return meta


# -- sdists: static or not -----------------------------------------------------------------------


def sdist_metadata_usable(meta: CoreMetadata, metadata_version: str | None = None) -> bool:
    """True when an sdist's PKG-INFO pins its dependencies (PEP 643: 2.2+, Requires-Dist static).

    `metadata_version` defaults to the one recorded in `meta`.
    """
    return _sdist_problem(meta, metadata_version) is None


def check_sdist_metadata(
    meta: CoreMetadata, filename: str, metadata_version: str | None = None
) -> None:
    """Raise `MetadataNeedsBuild` when `sdist_metadata_usable` is false, saying why."""
    problem = _sdist_problem(meta, metadata_version)
    if problem is not None:
        reason, detail = problem
        raise MetadataNeedsBuild(
            f"sdist {filename} {detail}; its dependencies are only known after a build",
            filename=filename,
            reason=reason,
        )


def _sdist_problem(meta: CoreMetadata, metadata_version: str | None) -> tuple[str, str] | None:
    declared = metadata_version if metadata_version is not None else meta.metadata_version
    if declared is None or not declared.strip():
        return "no Metadata-Version", "has no Metadata-Version"
    try:
        parsed = Version(declared.strip())
    except InvalidVersion:
        return (
            f"Metadata-Version {declared.strip()}",
            f"has an unreadable Metadata-Version {declared.strip()!r}",
        )
    if parsed < SDIST_STATIC_SINCE:
        # Before 2.2 nothing in PKG-INFO promises to match what a build produces.
        return (
            f"Metadata-Version {declared.strip()}",
            (
                f"has Metadata-Version {declared.strip()} (before 2.2, which is where PKG-INFO "
                "fields become reliable)"
            ),
        )
    dynamic = [f for f in BUILD_DEPENDENT_FIELDS if f in meta.dynamic]
    if dynamic:
        fields = ", ".join(_field_title(f) for f in dynamic)
        return f"dynamic {fields}", f"declares {fields} as dynamic"
    return None


def _field_title(field: str) -> str:
    return "-".join(part.capitalize() for part in field.split("-"))


# -- hashes --------------------------------------------------------------------------------------


def hash_algorithm_for(hashes: Mapping[str, str]) -> str | None:
    """The algorithm `verify_hash` would check: the preferred one present, else any other that
    hashlib guarantees; None when `hashes` names none planner can compute."""
    present = {k.lower() for k in hashes}
    for algorithm in PREFERRED_HASHES:
        if algorithm in present:
            return algorithm
    for algorithm in sorted(present):
        if algorithm in hashlib.algorithms_guaranteed and not algorithm.startswith("shake_"):
            return algorithm  # shake_* need a digest length, which an index never gives
    return None


def verify_hash(data: bytes, hashes: Mapping[str, str], *, what: str = "downloaded file") -> None:
    """Check `data` against the index's hashes (algorithm -> hex). No-op when none are given.

    Only one algorithm is checked (sha256 when present): the others add cost, not safety.
    Raises `HashMismatch` on a difference and `MetadataError` when hashes are given but none
    is computable (accepting unverifiable bytes would defeat the point of hashes).
    """
    if not hashes:
        return
    algorithm = hash_algorithm_for(hashes)
    if algorithm is None:
        names = ", ".join(sorted(hashes))
        raise MetadataError(f"cannot verify {what}: no supported hash algorithm among {names}")
    expected = next(v for k, v in hashes.items() if k.lower() == algorithm).strip().lower()
    actual = hashlib.new(algorithm, data).hexdigest()
    if actual != expected:
        raise HashMismatch(
            f"{what} does not match its {algorithm} hash: expected {expected}, got {actual} "
            "(corrupted download, or the index changed the file)",
            algorithm=algorithm,
            expected=expected,
            actual=actual,
        )


# -- helpers -------------------------------------------------------------------------------------


def _single(
    value: str | None, unparsed: Mapping[str, list[str]], field: str, where: str
) -> str | None:
    """A single-use field; packaging moves repeated or undecodable ones to `unparsed`."""
    if value is not None:
        return value
    values = unparsed.get(field)
    if not values:
        return None
    distinct = {v.strip() for v in values}
    if len(distinct) == 1:
        # Undecodable bytes (decoded as latin-1 by packaging) or an exact repeat: usable as is.
        return values[0]
    title = _field_title(field)
    shown = ", ".join(repr(v.strip()) for v in values)
    raise MetadataError(f"{where}core metadata has {len(values)} different {title} fields: {shown}")


def _check_metadata_version(value: str, where: str) -> None:
    try:
        major = Version(value.strip()).major
    except InvalidVersion:
        return  # tolerated here; only sdists depend on it, and they check it themselves
    if major > 2:
        # The spec asks tools to refuse a major version they do not know.
        raise MetadataError(
            f"{where}core metadata has Metadata-Version {value.strip()}, which planner does not "
            "know (it reads 1.0 to 2.x)"
        )


def _check_expected(
    name: NormalizedName,
    version: Version,
    shown_name: str,
    expected_name: str | None,
    expected_version: str | Version | None,
    where: str,
) -> None:
    name_ok = expected_name is None or canonicalize_name(expected_name) == name
    version_ok = True
    if expected_version is not None:
        try:
            wanted = (
                expected_version
                if isinstance(expected_version, Version)
                else Version(expected_version)
            )
        except InvalidVersion:
            version_ok = str(expected_version).strip() == str(version)
        else:
            version_ok = wanted == version
    if name_ok and version_ok:
        return
    claimed = f"{shown_name} {version}"
    wanted_text = " ".join(
        str(part)
        for part in (
            expected_name if expected_name is not None else shown_name,
            expected_version if expected_version is not None else version,
        )
    )
    raise MetadataError(
        f"{where}metadata claims to be {claimed}, expected {wanted_text} "
        "(the index serves metadata of another distribution)"
    )


def _parse_requirement(line: str, where: str) -> Requirement:
    # compat32 keeps folded header lines as "\n\t..."; unfold them (RFC 5322).
    text = _FOLD.sub(" ", line).strip()
    parsed = _requirement(text)
    if isinstance(parsed, str):
        raise MetadataError(f"{where}{parsed}")
    return parsed


@lru_cache(maxsize=None)
def _requirement(text: str) -> Requirement | str:
    """The requirement a Requires-Dist text stands for, or why it cannot be used. One object per
    distinct text (never mutated): the versions of a package repeat the same lines, and markers
    shared this way are evaluated once per target (`Target.evaluate` remembers by object)."""
    try:
        requirement = _requirement_in_parts(text) or requirement_as_uv_reads(text)
    except InvalidRequirement as exc:
        return f"Requires-Dist line {text[:200]!r} does not parse: {exc}"
    # Its versions and marker are parts of the text: a text without a large number has none.
    problem = requirement_number_problem(requirement) if oversized_number(text) is not None else None
    if problem is not None:
        return f"Requires-Dist line {text[:200]!r}: {problem}"
    problem = _marker_problem(requirement.marker) if requirement.marker is not None else None
    if problem is not None:
        return f"the marker of Requires-Dist line {text!r} cannot be evaluated: {problem}"
    return requirement


def _requirement_in_parts(text: str) -> Requirement | None:
    """`Requirement(text)` for the common `name[extras] specifier ; marker` line, from its two
    parts parsed apart and remembered: thousands of lines repeat a few hundred markers (`extra ==
    "test"`, `python_version < "3.11"`), which then share one `Marker`. None when the line has no
    marker or a URL (where a `;` may belong to the URL), or a part does not parse: the caller
    parses the whole line, so that every error reads as before."""
    head, semicolon, tail = text.partition(";")
    if not semicolon or "@" in head:
        return None
    try:
        marker = _marker(tail.strip())
        base = _requirement_head(head)
    except (InvalidMarker, InvalidRequirement):
        return None
    requirement = _new_requirement(Requirement)
    requirement.name, requirement.url, requirement.specifier = base.name, base.url, base.specifier
    requirement.extras = set(base.extras)  # a set of its own, as `Requirement(text)` makes
    requirement.marker = marker
    return requirement


_new_requirement = object.__new__


@lru_cache(maxsize=4096)
def _requirement_head(text: str) -> Requirement:
    return Requirement(text)


@lru_cache(maxsize=4096)
def _marker(text: str) -> Marker:
    return Marker(text)


@lru_cache(maxsize=4096)
def _marker_problem(marker: Marker) -> str | None:
    # Markers compare and hash by their text: decided once per distinct marker.
    return marker_problem(marker)


def _unique(items: Iterable[_T]) -> list[_T]:
    return list(dict.fromkeys(items))  # first occurrence wins, order kept
