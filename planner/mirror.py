"""`planner mirror`: write a static simple index of chosen packages, read from any index.

Layout written under the output folder (the folder is the index URL)::

    index.json, index.html                 the project list (PEP 691 JSON, PEP 503 HTML)
    <project>/index.json, index.html       one page per project (normalized name)
    files/<filename>.metadata              core metadata (PEP 658/714), one per file whose
                                           metadata could be read
    files/<filename>                       the artifacts themselves (only with `include_files`)

Where a file link leads depends on whether the artifacts are copied:

- with `include_files` (or `relative_urls`), it is relative (`../files/<quoted filename>` by
  default): the folder is a complete index, as a `file://` URL or served by any static server;
  the standard PEP 658 keys advertise the `.metadata` beside each file.
- without, it is the absolute URL the source index gave (credentials removed), so that every
  link of a metadata-only mirror leads to the real bytes: pip, uv, and planner's requirements
  files, lock and Dockerfiles download from upstream. The standard PEP 658 keys then say what
  the source said about *that* URL (an installer fetches `<url>.metadata` from upstream), and the
  mirror's own `.metadata` copy is listed under a private key (`_planner-metadata` in JSON, PEP
  700; `data-planner-metadata` in HTML), relative like the files would be. Planner reads the
  copy (no upstream request while planning); other clients ignore the key.

Pages carry no credential and no URL of the source index itself, only artifact URLs.

Output is deterministic: sorted keys, files sorted by name, versions in ascending order, no time
of the run; the same request against the same index gives the same bytes. Every file is written
to a temporary name beside it and renamed into place (a reader sees the old file or the new one),
and a file whose bytes are unchanged is not rewritten. A run replaces the pages of the projects
it mirrors and adds them to the project list; other projects already in the folder stay listed.

I/O goes through the `IndexClient` (pages, metadata, its fetcher for downloads) and the output
folder only.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from planner.errors import InputError
from planner.index.models import Artifact, ArtifactKind, ProjectPage
from planner.index.simple import HTML_METADATA_COPY_ATTR, JSON_METADATA_COPY_KEY
from planner.urls import redact_url, strip_userinfo

if TYPE_CHECKING:
    from planner.index.client import IndexClient
    from planner.project.model import Index
    from planner.targets.model import Target

MiB = 1024 * 1024
MAX_ARTIFACT_BYTES = 4096 * MiB
DEFAULT_FILES_HREF = "../files/"
FILES_DIR = "files"
JSON_API_VERSION = "1.1"  # PEP 700: `versions`, `size`, `upload-time`
JSON_API_VERSION_WITHOUT_SIZES = "1.0"  # a page with a file of unknown size cannot claim 1.1
HTML_API_VERSION = "1.0"
# PEP 714: the current key, and the legacy one older installers (pip < 23.3) read.
METADATA_KEYS: tuple[str, ...] = ("core-metadata", "dist-info-metadata")
PAGE_NAMES: tuple[str, ...] = ("index.json", "index.html")


@dataclass(frozen=True)
class MirrorRequest:
    """What to mirror.

    - `packages`: requirements such as `numpy>=2,<2.3` (the specifier filters versions) or `numpy`
      (every version). Several requirements for one project admit the union of their versions.
      Extras are ignored; markers and direct URLs are an input error.
    - `latest`: keep only the N newest kept versions per project (versions whose every file is
      yanked do not count and are left out).
    - `targets`: when given, keep only wheels whose tags fit at least one target, plus sdists;
      versions left without a file are dropped before `latest` counts.
    - `include_files`: also copy the artifacts (downloaded and verified against their sha256).
    - `prereleases`: None follows PEP 440 (pre-releases only when the specifier names one, or
      when nothing else matches); True keeps them; False never does.
    - `files_href`: the relative URL prefix from a project page to the files folder (the
      `.metadata` files always, the artifacts when they are linked locally). The default fits
      the layout above; `../../files/` fits a server mapping `/<name>/simple/` to the folder and
      `/<name>/files/` to its `files/` (the test fixture server).
    - `relative_urls`: link files under `files_href` even without `include_files` (for a folder
      whose artifacts are put in `files/` by other means, or a test fixture's server).
    """

    packages: Sequence[Requirement]
    latest: int | None = None
    targets: Sequence[Target] | None = None
    include_files: bool = False
    prereleases: bool | None = None
    files_href: str = DEFAULT_FILES_HREF
    relative_urls: bool = False

    @property
    def links_local(self) -> bool:
        """Whether file links lead into the mirror's `files/` (else to the source's URLs)."""
        return self.include_files or self.relative_urls


@dataclass
class PackageReport:
    """What one project's mirror holds after the run."""

    name: NormalizedName
    requested: list[str]
    versions: list[str] = field(default_factory=list)  # ascending
    files: list[str] = field(default_factory=list)  # sorted
    metadata_files: int = 0
    artifact_files: int = 0
    bytes: int = 0  # pages, metadata files and artifacts of this project, as written
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requested": self.requested,
            "versions": self.versions,
            "files": self.files,
            "metadata_files": self.metadata_files,
            "artifact_files": self.artifact_files,
            "bytes": self.bytes,
            "notes": self.notes,
        }


@dataclass
class MirrorReport:
    out_dir: Path
    index: str
    index_url: str  # redacted
    packages: list[PackageReport] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)  # the project list after the run
    changed: int = 0  # files created or rewritten by this run (0 on an identical rerun)

    @property
    def totals(self) -> dict[str, int]:
        return {
            "packages": len(self.packages),
            "versions": sum(len(p.versions) for p in self.packages),
            "files": sum(len(p.files) for p in self.packages),
            "metadata_files": sum(p.metadata_files for p in self.packages),
            "artifact_files": sum(p.artifact_files for p in self.packages),
            "bytes": sum(p.bytes for p in self.packages),
            "changed": self.changed,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "to": str(self.out_dir),
            "index": {"name": self.index, "url": self.index_url},
            "packages": [p.to_json() for p in self.packages],
            "projects": self.projects,
            "totals": self.totals,
        }


# -- selection (pure) -------------------------------------------------------------------------
def check_requirement(requirement: Requirement) -> None:
    if requirement.url:
        raise InputError(f"'{requirement}': a direct URL cannot be mirrored",
                         fix="name the package and a version specifier, e.g. 'numpy>=2,<2.3'")
    if requirement.marker is not None:
        raise InputError(f"'{requirement}': markers have no meaning for a mirror",
                         fix="drop the '; ...' part; use --target to restrict the wheels")


def check_files_href(href: str) -> str:
    """The prefix, validated: a relative URL path ending in '/', without scheme, host or query."""
    try:
        parts = urlsplit(href)
    except ValueError as exc:
        raise InputError(f"files prefix '{href}' does not parse ({exc})") from None
    if parts.scheme or parts.netloc or href.startswith("/") or parts.query or parts.fragment:
        raise InputError(f"files prefix '{redact_url(href)}' must be a relative URL path",
                         fix="use e.g. '../files/' (the default) or '../../files/'")
    if not href.endswith("/"):
        raise InputError(f"files prefix '{href}' must end with '/'", fix=f"use '{href}/'")
    return href


UNREADABLE = "a wheel or sdist planner can read"


def select_versions(page: ProjectPage, requirements: Sequence[Requirement], request: MirrorRequest,
                    target_tags: frozenset[Tag] | None) -> tuple[dict[Version, list[Artifact]], list[str]]:
    """The kept files of each kept version of `page`, and notes on what was left out."""
    notes: list[str] = []
    all_versions = sorted({a.version for a in page.artifacts})
    admitted: set[Version] = set()
    for requirement in requirements:
        specifier: SpecifierSet = requirement.specifier
        admitted.update(specifier.filter(all_versions, prereleases=request.prereleases))
    by_version: dict[Version, list[Artifact]] = {}
    misfits = 0
    for artifact in page.artifacts:
        if artifact.version not in admitted:
            continue
        if (target_tags is not None and artifact.kind is ArtifactKind.WHEEL
                and target_tags.isdisjoint(artifact.tags)):
            misfits += 1
            continue
        by_version.setdefault(artifact.version, []).append(artifact)
    if misfits:
        notes.append(f"{misfits} {'wheel' if misfits == 1 else 'wheels'} of matching versions fit none of the "
                     "targets and were left out")
    dropped = sorted(set(admitted) - set(by_version))
    if dropped and target_tags is not None:
        notes.append(f"{len(dropped)} matching {'version has' if len(dropped) == 1 else 'versions have'} no file "
                     "for the targets: "
                     + ", ".join(str(v) for v in dropped[-5:]) + (" ..." if len(dropped) > 5 else ""))
    if request.latest is not None:
        newest = sorted(by_version, reverse=True)
        usable = [v for v in newest if any(not a.is_yanked for a in by_version[v])]
        keep = set(usable[: request.latest])
        if keep:
            passed_over = [v for v in newest if v > min(keep) and v not in keep]
            if passed_over:
                notes.append(f"left out wholly yanked {'version' if len(passed_over) == 1 else 'versions'}: " + ", ".join(str(v) for v in passed_over))
        by_version = {v: files for v, files in by_version.items() if v in keep}
    if page.skipped_total:
        notes.append(f"{page.skipped_total} listed {'file is' if page.skipped_total == 1 else 'files are'} not "
                     f"{UNREADABLE}; not mirrored")
    return {v: sorted(files, key=lambda a: a.filename) for v, files in sorted(by_version.items())}, notes


# -- page rendering (pure) --------------------------------------------------------------------
@dataclass(frozen=True)
class MirroredFile:
    """One file as the mirror lists it.

    `url` None: the file is linked under the files prefix, and the standard metadata keys
    advertise the `.metadata` written beside it. Else `url` is the absolute upstream URL,
    `upstream_metadata` what the source said about `<url>.metadata` (None: nothing; (): offered
    without hashes), and a written `.metadata` is listed under the private keys.
    """

    filename: str
    hashes: tuple[tuple[str, str], ...]  # sorted (algorithm, hex)
    requires_python: str | None
    yanked: str | None  # None: not yanked; "": yanked without a reason; else the reason
    size: int | None
    upload_time: str | None
    metadata_sha256: str | None  # set when `<filename>.metadata` is written
    url: str | None = None
    upstream_metadata: tuple[tuple[str, str], ...] | None = None  # sorted (algorithm, hex)

    @property
    def sha256(self) -> str | None:
        return dict(self.hashes).get("sha256")

    def href(self, prefix: str) -> str:
        return self.url if self.url is not None else file_href(prefix, self.filename)

    def standard_metadata(self) -> dict[str, str] | None:
        """The PEP 658 hashes of `<href>.metadata` ({}: offered without hashes), or None."""
        if self.url is None:
            return None if self.metadata_sha256 is None else {"sha256": self.metadata_sha256}
        return None if self.upstream_metadata is None else dict(self.upstream_metadata)

    def metadata_copy_href(self, prefix: str) -> str | None:
        """The relative link to the mirror's `.metadata`, listed under the private keys."""
        if self.url is None or self.metadata_sha256 is None:
            return None
        return file_href(prefix, f"{self.filename}.metadata")


def file_href(prefix: str, filename: str) -> str:
    return prefix + quote(filename, safe="")


def _one_hash(hashes: dict[str, str]) -> tuple[str, str] | None:
    """The pair an HTML attribute or fragment carries: sha256 when present."""
    if not hashes:
        return None
    algorithm = "sha256" if "sha256" in hashes else sorted(hashes)[0]
    return algorithm, hashes[algorithm]


def _json_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def render_json_page(project: str, versions: Iterable[Version], files: Sequence[MirroredFile], prefix: str) -> bytes:
    entries = []
    for f in files:
        entry: dict[str, Any] = {
            "filename": f.filename,
            "url": f.href(prefix),
            "hashes": dict(f.hashes),
            "yanked": False if f.yanked is None else (f.yanked or True),
        }
        if f.requires_python is not None:
            entry["requires-python"] = f.requires_python
        if f.size is not None:
            entry["size"] = f.size
        if f.upload_time is not None:
            entry["upload-time"] = f.upload_time
        standard = f.standard_metadata()
        if standard is not None:
            for key in METADATA_KEYS:
                entry[key] = standard or True
        copy_href = f.metadata_copy_href(prefix)
        if copy_href is not None:
            entry[JSON_METADATA_COPY_KEY] = {"url": copy_href, "hashes": {"sha256": f.metadata_sha256}}
        entries.append(entry)
    api = JSON_API_VERSION if all(f.size is not None for f in files) else JSON_API_VERSION_WITHOUT_SIZES
    return _json_bytes({
        "meta": {"api-version": api},
        "name": project,
        "versions": [str(v) for v in sorted(set(versions))],
        "files": entries,
    })


def _html_document(title: str, lines: list[str]) -> bytes:
    head = [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        f'    <meta name="pypi:repository-version" content="{HTML_API_VERSION}">',
        f"    <title>{html.escape(title)}</title>",
        "  </head>",
        "  <body>",
        f"    <h1>{html.escape(title)}</h1>",
    ]
    return ("\n".join([*head, *lines, "  </body>", "</html>"]) + "\n").encode("utf-8")


def render_html_page(project: str, files: Sequence[MirroredFile], prefix: str) -> bytes:
    lines = []
    for f in files:
        href = f.href(prefix)
        if f.hashes:
            algorithm, digest = ("sha256", f.sha256) if f.sha256 else f.hashes[0]
            href += f"#{algorithm}={digest}"
        attrs = [f'href="{html.escape(href, quote=True)}"']
        if f.requires_python is not None:
            attrs.append(f'data-requires-python="{html.escape(f.requires_python, quote=True)}"')
        if f.yanked is not None:
            attrs.append(f'data-yanked="{html.escape(f.yanked, quote=True)}"')
        standard = f.standard_metadata()
        if standard is not None:
            pair = _one_hash(standard)
            value = f"{pair[0]}={pair[1]}" if pair is not None else "true"
            for key in METADATA_KEYS:
                attrs.append(f'data-{key}="{html.escape(value, quote=True)}"')
        copy_href = f.metadata_copy_href(prefix)
        if copy_href is not None:
            value = f"{copy_href}#sha256={f.metadata_sha256}"
            attrs.append(f'{HTML_METADATA_COPY_ATTR}="{html.escape(value, quote=True)}"')
        lines.append(f"    <a {' '.join(attrs)}>{html.escape(f.filename)}</a><br />")
    return _html_document(f"Links for {project}", lines)


def render_root(projects: Iterable[str]) -> tuple[bytes, bytes]:
    names = sorted(set(projects))
    as_json = _json_bytes({"meta": {"api-version": JSON_API_VERSION},
                           "projects": [{"name": name} for name in names]})
    as_html = _html_document("Simple index",
                             [f'    <a href="{quote(name)}/">{html.escape(name)}</a><br />' for name in names])
    return as_json, as_html


# -- writing ----------------------------------------------------------------------------------
class _Writer:
    """Atomic writes under the output folder; counts what actually changed."""

    def __init__(self, root: Path):
        self.root = root
        self.changed = 0
        self._lock = threading.Lock()

    def _temp(self, path: Path) -> Path:
        return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")

    def write(self, path: Path, data: bytes) -> int:
        """Write `data` to `path` unless it already holds exactly that; returns the size."""
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return len(data)
        except OSError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._temp(path)
        try:
            # os.open honours the umask (mkstemp would make the mirror readable by its owner only).
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._count()
        return len(data)

    def place(self, source: Path, path: Path) -> None:
        """Move a downloaded file into place (copied when it lives on another file system)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._temp(path)
        try:
            try:
                os.replace(source, tmp)  # the same file system: a rename, no copy
            except OSError:
                shutil.copyfile(source, tmp)
            os.chmod(tmp, 0o666 & ~_umask())  # downloads are private temporary files; a mirror is not
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._count()

    def _count(self) -> None:
        with self._lock:
            self.changed += 1


_UMASK: int | None = None


def _umask() -> int:
    """The process umask (reading it means setting it, so it is read once)."""
    global _UMASK
    if _UMASK is None:
        current = os.umask(0o022)
        os.umask(current)
        _UMASK = current
    return _UMASK


def _sha256_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _existing_projects(out_dir: Path) -> set[str]:
    """Projects already in the folder: its project list, and every folder holding a page."""
    names: set[str] = set()
    try:
        document = json.loads((out_dir / "index.json").read_bytes())
        for entry in document.get("projects", []):
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                names.add(canonicalize_name(entry["name"]))
    except (OSError, ValueError, AttributeError):
        pass
    try:
        for child in out_dir.iterdir():
            if child.is_dir() and not child.name.startswith(".") and any((child / n).is_file() for n in PAGE_NAMES):
                names.add(canonicalize_name(child.name))
    except OSError:
        pass
    return {n for n in names if (out_dir / n).is_dir()}


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir} exists and is not a folder", fix="give --to a folder (new or a mirror)")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not any((out_dir / n).is_file() for n in PAGE_NAMES):
        raise InputError(f"{out_dir} is not empty and holds no simple index (no index.json or index.html)",
                         fix="give --to a new folder, an empty one, or an earlier mirror")


def _load_metadata(client: IndexClient, artifacts: list[Artifact]) -> dict[Artifact, bytes | str]:
    """Raw metadata bytes of each artifact, or why there is none (an sdist that needs a build, or
    one the index lists but does not serve).

    Like `IndexClient.metadata_many` (same pool size), but one artifact without metadata does not
    stop the others: it is named in the report instead. A wheel whose metadata cannot be fetched
    still stops the run: every wheel of a mirror must carry its metadata.
    """
    from planner.index.client import MetadataUnavailable
    from planner.index.http import FetchError
    from planner.index.models import ArtifactKind

    def one(artifact: Artifact) -> bytes | str:
        try:
            return client.metadata(artifact).raw
        except MetadataUnavailable as exc:
            return str(exc)
        except FetchError as exc:
            if artifact.kind is not ArtifactKind.SDIST:
                raise
            return f"sdist {artifact.filename}: {exc.problem}; listed without metadata"

    if len(artifacts) <= 1:
        return {a: one(a) for a in artifacts}
    with ThreadPoolExecutor(max_workers=client.max_workers, thread_name_prefix="planner-mirror-meta") as pool:
        results = list(pool.map(one, artifacts))
    return dict(zip(artifacts, results, strict=True))


def _download(client: IndexClient, index: Index, artifact: Artifact, dest: Path, writer: _Writer) -> tuple[int, str]:
    """Copy one artifact into the mirror (unless an identical copy is there); (size, sha256)."""
    expected = artifact.sha256
    if expected and dest.is_file() and _sha256_of(dest) == expected:
        return dest.stat().st_size, expected
    if client.offline:
        from planner.index.client import OfflineMiss

        raise OfflineMiss(f"copy of {artifact.filename} (--files downloads artifacts; run without --offline)")
    tmp = client.fetcher.download(artifact.url, index.name, expected, MAX_ARTIFACT_BYTES,
                                  directory=dest.parent if dest.parent.is_dir() else None)
    try:
        digest = expected or _sha256_of(tmp)
        size = tmp.stat().st_size
        if not (dest.is_file() and dest.stat().st_size == size and _sha256_of(dest) == digest):
            writer.place(tmp, dest)
        return size, digest
    finally:
        tmp.unlink(missing_ok=True)


def mirror(client: IndexClient, index: Index, request: MirrorRequest, out_dir: Path) -> MirrorReport:
    """Mirror `request.packages` from `index` into `out_dir`; see the module docstring."""
    client.keep_metadata_files = True  # each metadata file is written out as it was read
    out_dir = Path(out_dir)
    prefix = check_files_href(request.files_href)
    if request.latest is not None and request.latest < 1:
        raise InputError(f"latest must be at least 1, not {request.latest}")
    grouped: dict[NormalizedName, list[Requirement]] = {}
    for requirement in request.packages:
        check_requirement(requirement)
        grouped.setdefault(canonicalize_name(requirement.name), []).append(requirement)
    if not grouped:
        raise InputError("nothing to mirror", fix="name at least one package, e.g. 'numpy>=2'")
    _check_out_dir(out_dir)
    _umask()  # read once, before any worker thread writes a file
    target_tags = (frozenset(tag for target in request.targets for tag in target.tags)
                   if request.targets is not None else None)

    report = MirrorReport(out_dir=out_dir, index=index.name, index_url=redact_url(index.url))
    selected: dict[NormalizedName, dict[Version, list[Artifact]]] = {}
    for name in sorted(grouped):
        package = PackageReport(name=name, requested=[str(r) for r in grouped[name]])
        page = client.page(index, name)
        if not page.artifacts:
            package.notes.append(f"index '{index.name}' lists no file of '{name}'")
        kept, notes = select_versions(page, grouped[name], request, target_tags)
        package.notes.extend(notes)
        if page.artifacts and not kept:
            package.notes.append("no version matched " + " or ".join(package.requested))
        selected[name] = kept
        report.packages.append(package)

    artifacts = [a for kept in selected.values() for files in kept.values() for a in files]
    metadata = _load_metadata(client, artifacts)

    out_dir.mkdir(parents=True, exist_ok=True)
    writer = _Writer(out_dir)
    files_dir = out_dir / FILES_DIR
    downloads: dict[Artifact, tuple[int, str]] = {}
    if request.include_files and artifacts:
        for artifact in artifacts:
            _check_plain_name(artifact.filename)
        with ThreadPoolExecutor(max_workers=client.max_workers, thread_name_prefix="planner-mirror") as pool:
            results = list(pool.map(
                lambda a: _download(client, index, a, files_dir / a.filename, writer), artifacts))
        downloads = dict(zip(artifacts, results, strict=True))

    for package in report.packages:
        kept = selected[package.name]
        if not kept:
            continue
        listed: list[MirroredFile] = []
        for artifact in (a for files in kept.values() for a in files):
            _check_plain_name(artifact.filename)
            hashes = dict(artifact.hashes)
            size = artifact.size
            if artifact in downloads:
                size, digest = downloads[artifact]
                hashes.setdefault("sha256", digest)
                package.artifact_files += 1
                package.bytes += size
            found = metadata.get(artifact)
            metadata_sha256 = None
            if isinstance(found, bytes):
                package.bytes += writer.write(files_dir / f"{artifact.filename}.metadata", found)
                package.metadata_files += 1
                metadata_sha256 = hashlib.sha256(found).hexdigest()
            elif isinstance(found, str):
                package.notes.append(f"{artifact.filename}: no metadata file ({found})")
            upstream = None if request.links_local else _upstream_url(artifact)
            listed.append(MirroredFile(
                filename=artifact.filename,
                hashes=tuple(sorted(hashes.items())),
                requires_python=artifact.requires_python,
                yanked=artifact.yanked,
                size=size,
                upload_time=artifact.upload_time,
                metadata_sha256=metadata_sha256,
                url=upstream,
                upstream_metadata=(None if upstream is None or artifact.core_metadata is None
                                   else tuple(sorted(artifact.core_metadata.items()))),
            ))
        listed.sort(key=lambda f: f.filename)
        package.versions = [str(v) for v in kept]
        package.files = [f.filename for f in listed]
        if not request.include_files and any(f.sha256 is None for f in listed):
            package.notes.append("some files have no sha256 on the index; installers cannot verify them")
        folder = out_dir / package.name
        package.bytes += writer.write(folder / "index.json", render_json_page(package.name, kept, listed, prefix))
        package.bytes += writer.write(folder / "index.html", render_html_page(package.name, listed, prefix))

    projects = _existing_projects(out_dir) | {p.name for p in report.packages if selected[p.name]}
    root_json, root_html = render_root(projects)
    writer.write(out_dir / "index.json", root_json)
    writer.write(out_dir / "index.html", root_html)
    report.projects = sorted(projects)
    report.changed = writer.changed
    return report


def _upstream_url(artifact: Artifact) -> str:
    """The artifact's URL as the source gave it (absolute, resolved against its page), without
    credentials or fragment; the hash goes into the page's own fields."""
    return strip_userinfo(artifact.url.split("#", 1)[0])


def _check_plain_name(filename: str) -> None:
    # The parsers already refuse names with paths; a mirror writes them to disk, so check again.
    if not filename or "/" in filename or "\\" in filename or "\x00" in filename or filename.startswith("."):
        raise InputError(f"refusing to write a file named {filename!r}")
