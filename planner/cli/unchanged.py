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
as an index (flat indexes are listed afresh every run), planned a package from a URL, printed a
warning after loading the project, or ran with options that make it more than a compile
(`--check`, `--dry-run`, `--locked`, `--upgrade`, `--upgrade-package`, `--refresh`, `--no-cache`,
`--emit-cnf`, `--format json`, `-v`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.index.cache import Cache

if TYPE_CHECKING:
    from planner.generate.context import OutputContext
    from planner.project.model import Project

RECORD_FORMAT = "planner-unchanged-1"
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
        return "file:" + hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
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

    @classmethod
    def for_compile(cls, project: Project, context: OutputContext, out: Path, cache_dir: Path | None,
                    offline: bool, options: Mapping[str, Any]) -> UnchangedInputs:
        """`options`: the command-line options that change the outputs and are not part of the
        inputs hash."""
        from planner.index.cache import default_cache_dir

        facts = {"format": RECORD_FORMAT, "inputs": context.inputs_hash, "options": dict(options)}
        key = hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()
        return cls(project, Cache(cache_dir or default_cache_dir()), out.resolve(), key, offline)

    def counting(self, output: Any) -> Any:
        """`output` that counts its warnings: a compile that warns records nothing, so that the
        next one warns again."""
        self.output = _CountingOutput(output)
        return self.output

    @property
    def _record_key(self) -> str:
        return f"{RECORD_FORMAT}\0{self.out}"

    def why_not(self, context: OutputContext) -> str | None:
        """Why the previous plan may not stand (a full compile follows), or None when it stands."""
        from planner.generate.outputs import PLAN_FILE, read_output, stale_reason

        record = self._read_record()
        if record is None:
            return "no usable record of the previous compile"
        if record["key"] != self.key:
            return "the inputs or options changed"
        plan = read_output(self.out, PLAN_FILE)
        if plan is None or hashlib.sha256(plan).hexdigest() != record["plan"]:
            return f"{PLAN_FILE} is not the one the previous compile wrote"
        reason = stale_reason(self.out, context)
        if reason is not None:
            return reason
        stale = []
        for media, url, digest, index, package in record["pages"]:
            found = self.cache.page_validity(url, media)
            if found is None or found[0] != digest:
                return f"the index page {url} changed"
            if not self.offline and not found[1]:
                if media != "simple":
                    return f"the index page {url} needs revalidation"
                stale.append((index, package, digest))
        if stale and not self._still_served(stale):
            return "an index page changed"
        for path, content in record["local"].items():
            if _content_key(Path(path)) != content:
                return f"{path} changed"
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

    def remember(self, client: Any, plan: Any) -> None:
        """Record what this compile read (`client`: its IndexClient), after it wrote its outputs;
        when the record would be incomplete, or the compile warned, leave one that matches nothing."""
        from planner.generate.outputs import PLAN_FILE, read_output

        written = read_output(self.out, PLAN_FILE)
        warned = self.output is not None and self.output.warnings > 0
        if written is None or client.read_uncached or _planned_from_url(plan) or warned:
            self.cache.put_unchanged(self._record_key, b"{}")
            return
        pages = sorted([media, url, *read] for (media, url), read in client.read_pages.items())
        record = {"format": RECORD_FORMAT, "key": self.key, "plan": hashlib.sha256(written).hexdigest(),
                  "pages": pages, "local": self.local}
        self.cache.put_unchanged(self._record_key, json.dumps(record, sort_keys=True).encode())

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
        pages, local = record.get("pages"), record.get("local")
        if not isinstance(pages, list) or not isinstance(local, dict) \
                or not all(_is_page_entry(entry) for entry in pages) \
                or not all(isinstance(k, str) and isinstance(v, str) for k, v in local.items()):
            return None
        return record


def _is_page_entry(entry: object) -> bool:
    return (isinstance(entry, list) and len(entry) == 5 and entry[0] in ("simple", "flat")
            and isinstance(entry[1], str) and _is_sha256(entry[2])
            and isinstance(entry[3], str) and isinstance(entry[4], str))


def _planned_from_url(plan: Any) -> bool:
    """Whether a package of the plan comes from a URL (its file is not an index's)."""
    from planner.index.models import URL_INDEX

    return any(p.artifact.index == URL_INDEX for t in plan.targets for p in t.packages)


class _CountingOutput:
    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.warnings = 0

    def warning(self, message: str) -> None:
        self.warnings += 1
        self._inner.warning(message)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
