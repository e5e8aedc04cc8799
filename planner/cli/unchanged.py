"""A compile whose inputs did not change keeps the previous plan without solving.

After a compile writes its outputs, it records in the cache (one record per output folder,
`Cache.put_unchanged`) what the plan was made from:

- the inputs hash `--check` compares (`OutputContext.inputs_hash`: the pyproject's meaning, every
  workspace member's included, the index options, the target selection, the command-line settings
  that shape the plan, planner's version), and the options that change the outputs besides
  (`--fetch-missing-hashes`);
- the sha256 of plan.json as written;
- every cached index page the solve read, by URL, with the sha256 of its body;
- the content of every local tree or file the plan's local packages come from when the pyproject
  does not state their metadata: each `path` source (`tree_key`: paths, bytes and the executable
  bit of its files) and each workspace member whose dependencies are dynamic (built).

The next compile into the same folder with the same inputs hash checks, before loading the
solver: plan.json is the recorded one and every output still has the bytes its manifest lists
(what `--check` verifies); every recorded page is in the cache with the same body (by the sha256
of its entry's header); offline that is all, online each page must also still be fresh by its
HTTP lifetime (Cache-Control max-age, or `PLANNER_INDEX_TTL` for servers that send no caching
headers), as a full compile would use it without a request. A page that needs revalidation, or
any other difference, makes the compile a full one (which revalidates, with 304s when the page did
not change, and records anew). Then it prints what an unchanged compile prints and writes nothing.

A compile records nothing (and the next one is a full one) when it listed a local folder or file
as an index (flat indexes are listed afresh every run), planned a package from a URL or a git
repository, printed a warning after loading the project, or ran with options that make it more
than a compile
(`--check`, `--dry-run`, `--locked`, `--upgrade`, `--upgrade-package`, `--refresh`, `--no-cache`,
`--emit-cnf`, `--format json`, `-v`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.cli import early
from planner.cli.early import RECORD_FORMAT, EarlyRecord, invocation_key, page_entry_holds, page_entry_name
from planner.index.cache import Cache

if TYPE_CHECKING:
    from planner.generate.context import OutputContext
    from planner.project.model import Project

_SHA256_HEX = frozenset("0123456789abcdef")


def _is_sha256(text: object) -> bool:
    return isinstance(text, str) and len(text) == 64 and set(text) <= _SHA256_HEX


def local_inputs(project: Project) -> dict[str, str]:
    """What the plan's local packages are made from, beyond the pyproject's meaning: path ->
    content key, for every `path` source (a tree: `tree_key`; a file: its sha256; absent:
    "missing") and every workspace member whose metadata needs a build."""
    from planner.project.model import PathSource
    from planner.sources.tree_metadata import BUILT_FIELDS

    paths: set[Path] = set()
    members = project.local_projects
    for owner in (project, *members.values()):
        for sources in owner.uv.local_sources.values():
            paths.update(source.path for source in sources if isinstance(source, PathSource))
    paths.update(member.root for member in members.values() if any(f in member.dynamic for f in BUILT_FIELDS))
    return {str(path): _content_key(path) for path in sorted(paths)}


def _content_key(path: Path) -> str:
    if path.is_dir():
        from planner.sources.build import BuildFailed, tree_key

        try:
            return tree_key(path)
        except (BuildFailed, OSError) as exc:  # too large or unreadable: never equal to itself
            return f"unreadable:{exc}"
    try:
        if not path.is_file():
            return "missing"
        with path.open("rb") as stream:  # (a local wheel may be GBs: never whole in memory)
            return "file:" + hashlib.file_digest(stream, "sha256").hexdigest()
    except OSError:
        return "missing"


@dataclass
class UnchangedInputs:
    """The check and the record for one compile into `out` (see the module docstring)."""

    project: Project  # with the command line's index options
    cache: Cache
    out: Path
    key: str
    offline: bool
    local: dict[str, str] = field(default_factory=dict)  # taken before solving (`snapshot`)
    output: _CountingOutput | None = None
    inputs_hash: str = ""
    stats_file: Path | None = None
    loaded_quietly: bool = False  # loading the project printed no warning
    said: list[str] = field(default_factory=list)  # the stdout lines of an unchanged compile
    _record: dict[str, Any] | None = None  # the record `why_not` found standing

    @classmethod
    def for_compile(cls, project: Project, context: OutputContext, out: Path, cache_dir: Path | None,
                    offline: bool, options: Mapping[str, Any], *, stats_file: Path | None = None,
                    loaded_quietly: bool = False) -> UnchangedInputs:
        """`options`: the command-line options that change the outputs and are not part of the
        inputs hash; `loaded_quietly`: loading the project printed no warning."""
        from planner.index.cache import default_cache_dir

        facts = {"format": RECORD_FORMAT, "inputs": context.inputs_hash, "options": dict(options)}
        key = hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()
        return cls(project, Cache(cache_dir or default_cache_dir()), out.resolve(), key, offline,
                   inputs_hash=context.inputs_hash, stats_file=stats_file, loaded_quietly=loaded_quietly)

    def counting(self, output: Any) -> Any:
        """`output` that counts its warnings: a compile that warns records nothing, so that the
        next one warns again."""
        self.output = _CountingOutput(output)
        return self.output

    @property
    def _record_key(self) -> str:
        return f"{RECORD_FORMAT}\0{self.out}"

    def stands(self, context: OutputContext, output: Any, unchanged_note: str) -> bool:
        """Whether the previous plan stands (else a full compile follows). When it does, prints
        what the compile would print (its report on stdout, `unchanged_note` on stderr), and the
        same command line is answered early next time (planner/cli/early.py)."""
        if self.why_not(context) is not None:
            return False
        if not output.quiet:
            for line in self.said:
                output.text(line)
        output.info(unchanged_note)
        self._remember_invocation(None if output.quiet else unchanged_note)
        return True

    def why_not(self, context: OutputContext) -> str | None:
        """Why the previous plan may not stand, or None when it stands."""
        from planner.generate.outputs import PLAN_FILE, outputs_stale_reason, read_output

        record = self._read_record()
        if record is None:
            return "no usable record of the previous compile"
        if record["key"] != self.key:
            return "the inputs or options changed"
        plan = read_output(self.out, PLAN_FILE)
        if plan is None or hashlib.sha256(plan).hexdigest() != record["plan"]:
            return f"{PLAN_FILE} is not the one the previous compile wrote"
        reason = outputs_stale_reason(self.out, context.planner_version, context.inputs_hash)
        if reason is not None:
            return reason
        stale = []
        for media, url, digest, index, package in record["pages"]:
            if self.offline:  # the body's sha256 in the entry's header is all an offline compile needs
                if self.cache.root is None or not page_entry_holds(str(self.cache.root), page_entry_name(media, url),
                                                                   digest):
                    return f"the index page {url} changed"
                continue
            found = self.cache.page_validity(url, media)
            if found is None or found[0] != digest:
                return f"the index page {url} changed"
            if not self.offline and (not found[1] or _revalidate_all()):
                if media != "simple":
                    return f"the index page {url} needs revalidation"
                stale.append((index, package, digest))
        if stale and not self._still_served(stale):
            return "an index page changed"
        for path, content in record["local"].items():
            if _content_key(Path(path)) != content:
                return f"{path} changed"
        self.local = dict(record["local"])
        self.said = list(record["said"])
        self._record = record
        return None

    def _still_served(self, stale: list[tuple[str, str, str]]) -> bool:
        """Whether every index still serves each of the `stale` pages (index, package, sha256)
        as cached: conditional requests side by side; any failure means no."""
        from packaging.utils import canonicalize_name

        from planner.errors import PlannerError
        from planner.index.auth import CredentialStore
        from planner.index.client import IndexClient
        from planner.index.http import Fetcher
        from planner.threads import map_in_threads

        indexes = {index.name: index for index in self.project.indexes}
        if any(name not in indexes for name, _, _ in stale):
            return False
        with Fetcher(CredentialStore(self.project.indexes)) as fetcher:
            client = IndexClient(self.project, fetcher, self.cache)

            def served(page: tuple[str, str, str]) -> bool:
                index, package, digest = page
                try:
                    name = canonicalize_name(package, validate=True)  # (the record is not trusted)
                    return client.page_still_served(indexes[index], name, digest)
                except (PlannerError, ValueError):
                    return False  # a full compile retries and reports it

            return all(map_in_threads(served, stale, client.max_workers, "planner-revalidate"))

    def snapshot(self, project: Project) -> None:
        """Take the local inputs' content before the solve reads them (a tree edited while the
        compile runs then differs from the record, and the next compile is a full one)."""
        self.local = local_inputs(project)

    def remember(self, client: Any, plan: Any, said: list[str], unchanged_note: str | None) -> None:
        """Record what this compile read (`client`: its IndexClient), after it wrote its outputs;
        when the record would be incomplete, or the compile warned, leave one that matches nothing.
        `said` and `unchanged_note` (None: a quiet command line) are what a compile of the same
        inputs prints: the same command line is answered early from the next run on."""
        from planner.generate.outputs import PLAN_FILE, read_output

        written = read_output(self.out, PLAN_FILE)
        warned = self.output is not None and self.output.warnings > 0
        if written is None or client.read_uncached or _planned_from_url(plan) or warned:
            self.cache.put_unchanged(self._record_key, b"{}")
            return
        pages = sorted([media, url, *read] for (media, url), read in client.read_pages.items())
        record = {"format": RECORD_FORMAT, "key": self.key, "plan": hashlib.sha256(written).hexdigest(),
                  "pages": pages, "local": self.local, "said": said}
        self.cache.put_unchanged(self._record_key, json.dumps(record, sort_keys=True).encode())
        self.said = said
        self._record = record
        self._remember_invocation(unchanged_note)

    def _remember_invocation(self, note: str | None) -> None:
        """For a project of one pyproject (no workspace, no path source) that loaded without a
        warning: the same command line, in the same folder and environment, is answered from
        an early record before the command line library and the project loader load
        (planner/cli/early.py). Taken from what `why_not` just checked or `remember` just wrote."""
        from planner.generate.outputs import PLAN_FILE, manifest_of, read_output

        invocation = early.invocation
        if invocation is None or self._record is None or not self.loaded_quietly or self.local \
                or self.project.members or self.project.workspace is not None or self.project.uv.local_sources:
            return
        pyproject = self.project.pyproject.resolve()
        folder_record = self.cache.get_unchanged(self._record_key)
        plan = read_output(self.out, PLAN_FILE)
        try:
            digest = hashlib.sha256(pyproject.read_bytes()).hexdigest()
        except OSError:
            return
        if folder_record is None or plan is None or hashlib.sha256(plan).hexdigest() != self._record["plan"]:
            return  # changed since it was checked: the next compile is a full one
        manifest = manifest_of(plan)
        if manifest is None:
            return
        record = EarlyRecord(
            out=str(self.out), pyproject=str(pyproject), pyproject_sha256=digest, offline=self.offline,
            absent=_absent_pyprojects(invocation, pyproject), said=self.said if note is not None else [],
            note=note, stats=str(self.stats_file.resolve()) if self.stats_file is not None else None,
            folder_record_sha256=hashlib.sha256(folder_record).hexdigest(), plan_sha256=self._record["plan"],
            outputs=sorted(manifest.items()),
            pages=[(page_entry_name(media, url), digest) for media, url, digest, _, _ in self._record["pages"]])
        data = record.encode()
        if data is not None:
            self.cache.put_unchanged(invocation_key(invocation, os.environ, os.getcwd()), data)

    def _read_record(self) -> dict[str, Any] | None:
        """The record, checked field by field (the cache folder is not trusted)."""
        data = self.cache.get_unchanged(self._record_key)
        if data is None:
            return None
        try:
            record = json.loads(data)
        except (ValueError, RecursionError):
            return None
        if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT \
                or not _is_sha256(record.get("key")) or not _is_sha256(record.get("plan")):
            return None
        said = record.get("said")
        if not isinstance(said, list) or not all(isinstance(line, str) for line in said):
            return None
        pages, local = record.get("pages"), record.get("local")
        if not isinstance(pages, list) or not isinstance(local, dict) \
                or not all(_is_page_entry(entry) for entry in pages) \
                or not all(isinstance(k, str) and isinstance(v, str) for k, v in local.items()):
            return None
        return record


def _revalidate_all() -> bool:
    """PLANNER_INDEX_TTL=0: a full compile revalidates every page, fresh or not."""
    try:
        return int(os.environ.get("PLANNER_INDEX_TTL", "").strip() or "1") == 0
    except ValueError:
        return False


def _is_page_entry(entry: object) -> bool:
    return (isinstance(entry, list) and len(entry) == 5 and entry[0] in ("simple", "flat")
            and isinstance(entry[1], str) and _is_sha256(entry[2])
            and isinstance(entry[3], str) and isinstance(entry[4], str))


def _planned_from_url(plan: Any) -> bool:
    """Whether a package of the plan comes from a URL or a git repository (no index page says
    whether it changed: a file at a URL can, a kept commit can vanish from its repository)."""
    from planner.index.models import DIRECT_INDEXES

    return any(p.artifact.index in DIRECT_INDEXES for t in plan.targets for p in t.packages)


class _CountingOutput:
    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.warnings = 0

    def warning(self, message: str) -> None:
        self.warnings += 1
        self._inner.warning(message)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _absent_pyprojects(argv: Sequence[str], found: Path) -> list[str]:
    """The pyproject.toml files that, had they existed, the command would have found before
    `found`: in the current folder and each folder a word names, and their parents."""
    starts = [Path.cwd()] + [Path(word).resolve() for word in argv if not word.startswith("-") and Path(word).is_dir()]
    absent: set[str] = set()
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder / "pyproject.toml"
            if candidate.resolve() == found:
                break
            if not os.path.lexists(candidate):
                absent.add(str(candidate))
    return sorted(absent)

