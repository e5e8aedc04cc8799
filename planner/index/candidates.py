"""What a target can install: candidates (package, version, index) with the artifact it would use.

Pure: pages in, a `CandidateSet` out. Every artifact or version left out keeps a `Rejection`
saying why, in the target's terms, for the explainer ("no wheel for linux_x86_64/cp311 ...").

Rules, per (index, version):
1. files whose `Requires-Python` does not admit the target's Python are dropped;
2. wheels none of whose tags the target accepts are dropped;
3. if every file left is yanked, the version stays as a yanked candidate (usable only when
   pinned with == / ===, PEP 592); otherwise yanked files are ignored;
4. the best-ranked wheel wins (its best tag's position in `target.tags`, then its file name);
   without a fitting wheel, the sdist; without either, the version is rejected; but a file an
   earlier plan installed (`prefer`) wins while it still fits and is not yanked (a kept sdist
   gives way to a wheel that fits now).

Under a cut-off (`exclude-newer`), files uploaded later are not there at all (as in uv, no
rejection names them), nor are files whose index gives no upload time (the set records which
indexes those were, so that the user is told). Whether an index has a package at all is decided
on the full listing: a cut-off never makes first-index fall through to a later index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import cached_property, lru_cache

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from packaging.tags import Tag

from planner.index.models import (
    Candidate,
    CandidateSet,
    LOCAL_INDEX,
    FileTable,
    ProjectPage,
    Rejection,
    RejectionKind,
    tags_of,
    version_text,
)
from planner.project.cutoffs import parse_upload_time
from planner.project.model import IndexStrategy
from planner.targets.model import Target
from planner.targets.platforms import OperatingSystem

# How many platform tags a "no wheel" message lists before it elides the rest.
MAX_LISTED_PLATFORMS = 8


def target_platform_label(target: Target) -> str:
    """The target as a wheel would name it: `linux_x86_64/cp311`, `macosx_13_0_arm64/cp311`."""
    platform = target.platform
    interpreter = f"cp{target.python.major}{target.python.minor}"
    if platform.os is OperatingSystem.LINUX:
        name = f"linux_{platform.arch}"
    elif platform.os is OperatingSystem.MACOS:
        major, minor = target.os_floor or platform.default_os_floor or (11, 0)
        name = f"macosx_{major}_{minor}_{platform.arch}"
    else:
        name = f"win_{platform.arch}"
    return f"{name}/{interpreter}"


@lru_cache(maxsize=1024)
def _specifier(text: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


@lru_cache(maxsize=8192)
def _python_admitted(requires_python: str, python: str) -> bool:
    # A page repeats a handful of Requires-Python strings over thousands of files: decide each once.
    specifier = _specifier(requires_python)
    # An index's broken Requires-Python must not hide a file: pip and uv ignore it too.
    if specifier is None:
        return True
    return specifier.contains(python, prereleases=True)


def _interpreter_key(interpreter: str) -> tuple[str, int, str]:
    # cp39 before cp310: compare the number, not the text.
    match = re.fullmatch(r"([a-z]+)(\d+)(.*)", interpreter)
    if match is None:
        return (interpreter, -1, "")
    return (match.group(1), int(match.group(2)), match.group(3))


def _compact(items: Iterable[str], limit: int = MAX_LISTED_PLATFORMS) -> str:
    listed = list(items)
    if len(listed) > limit:
        return ", ".join(listed[:limit]) + ", …"
    return ", ".join(listed)


# Per target (by its tag-rank table): the rank of each wheel tag part and the verdict on each
# Requires-Python text, shared by every selection for that target (a page repeats a few hundred
# of each over thousands of files, and a run's pages repeat them again). Bounded: tests make
# thousands of targets in one process.
_TARGET_MEMO_SIZE = 64
_target_memos: dict[int, tuple[dict[Tag, int], str, dict[str, int | None], dict[str, bool]]] = {}


def _target_memo(target: Target) -> tuple[dict[str, int | None], dict[str, bool]]:
    ranks, python = target.tag_ranks, target.python.full
    found = _target_memos.get(id(ranks))
    if found is None or found[0] is not ranks or found[1] != python:
        if len(_target_memos) >= _TARGET_MEMO_SIZE:
            del _target_memos[next(iter(_target_memos))]
        found = _target_memos[id(ranks)] = (ranks, python, {}, {})
    return found[2], found[3]


class _Selector:
    """Selection for one target: tag ranks and labels; records rejections when `record` is set.

    Reads the page's rows (`FileTable`), so that only the chosen file of each version becomes
    an `Artifact` (when the solver first reads it); without `record` it builds no rejection at
    all (the solver's common path)."""

    def __init__(self, target: Target, record: bool) -> None:
        self.target = target
        self.python = target.python.full
        self.rank = target.tag_ranks
        self.record = record
        self.rejections: list[Rejection] = []
        # Thousands of files share a few tag sets and Requires-Python texts: decide each once.
        self._ranks: dict[frozenset[Tag], int | None] = {}
        self._key_ranks, self._admitted = _target_memo(target)

    @cached_property
    def label(self) -> str:
        return target_platform_label(self.target)

    def wheel_rank(self, tags: frozenset[Tag]) -> int | None:
        if tags not in self._ranks:
            ranks = [self.rank[tag] for tag in tags if tag in self.rank]
            self._ranks[tags] = min(ranks) if ranks else None
        return self._ranks[tags]

    def key_rank(self, tag_key: str) -> int | None:
        """`wheel_rank` of the tags of a wheel's `python-abi-platform` name part."""
        try:
            return self._key_ranks[tag_key]
        except KeyError:
            rank = self._key_ranks[tag_key] = self.wheel_rank(tags_of(tag_key))
            return rank

    def admits(self, requires_python: str) -> bool:
        try:
            return self._admitted[requires_python]
        except KeyError:
            admitted = self._admitted[requires_python] = _python_admitted(requires_python, self.python)
            return admitted

    def reject(self, filename: str | None, version: Version, index: str, kind: RejectionKind, detail: str) -> None:
        self.rejections.append(Rejection(index, version, filename, kind, detail))

    def select(self, files: FileTable, version: Version, positions: Sequence[int],
               prefer: str | None = None) -> Candidate | None:
        """The candidate (index, version) gives the target, recording rejections on the way
        (the explainer's path; the solver's is `fitting_files` then `choose`)."""
        index, record = files.index, self.record
        fitting: list[tuple[int, int]] = []  # (rank, row)
        sdists: list[int] = []
        python_misfits: list[int] = []
        tag_misfits: list[int] = []
        for position in positions:
            requires_python = files.requires_python(position)
            if requires_python and not self.admits(requires_python):
                python_misfits.append(position)
                if record:
                    self.reject(files.filename(position), version, index, RejectionKind.REQUIRES_PYTHON,
                                f"{files.filename(position)} requires Python {requires_python}; "
                                f"the target has {self.python}")
                continue
            if not files.is_wheel(position):
                sdists.append(position)
                continue
            rank = self.wheel_rank(files.tags(position))
            if rank is None:
                tag_misfits.append(position)
                if record:
                    self.reject(files.filename(position), version, index, RejectionKind.TAGS,
                                f"{files.filename(position)} has no tag for {self.label}")
                continue
            fitting.append((rank, position))

        if not fitting and not sdists:
            if record:
                self.reject(None, version, index, RejectionKind.NO_ARTIFACT,
                            self._no_artifact_detail(files, version, positions, python_misfits, tag_misfits))
            return None
        return self.choose(files, version, fitting, sdists, prefer)

    def choose(self, files: FileTable, version: Version, fitting: list[tuple[int, int]],
               sdists: list[int], prefer: str | None = None) -> Candidate:
        """The candidate among the files of `version` that fit the target: `fitting` wheels as
        (rank, row), and `sdists` rows (not both empty; their order does not matter); `prefer`,
        the name of a file an earlier plan installed, wins when it is among them."""
        row, all_yanked = self.pick(files, fitting, sdists, prefer)
        if self.record:
            index, yanked = files.index, files.yanked
            if not all_yanked:
                # Some file of this version is fine: yanked siblings are simply never chosen.
                for position in [p for _, p in fitting] + sdists:
                    if yanked(position) is not None:
                        self.reject(files.filename(position), version, index, RejectionKind.YANKED,
                                    self._yanked_text(files, position))
            else:
                self.reject(None, version, index, RejectionKind.YANKED,
                            f"{files.name} {version} on {index} is yanked{self._reason(yanked(row))}; "
                            "usable only when pinned with == or ===")
        return Candidate.from_row(files, row, version, all_yanked)

    @classmethod
    def pick(cls, files: FileTable, fitting: list[tuple[int, int]], sdists: list[int],
             prefer: str | None = None) -> tuple[int, bool]:
        """The row `choose` takes, and whether every fitting file of the version is yanked."""
        if prefer is None and not files.has_yanked:  # the common case: nothing to filter
            if fitting:
                return (fitting[0][1] if len(fitting) == 1 else cls._best(files, fitting, sdists)), False
            return (sdists[0] if len(sdists) == 1 else cls._best(files, fitting, sdists)), False
        yanked = files.yanked
        live = [pair for pair in fitting if yanked(pair[1]) is None]
        live_sdists = [p for p in sdists if yanked(p) is None]
        all_yanked = not live and not live_sdists
        pool = (fitting, sdists) if all_yanked else (live, live_sdists)
        # The earlier plan's file is kept; but a wheel that fits now wins over a kept sdist (the
        # same version without a build: the sdist was only ever chosen for want of a wheel).
        keepable = [p for _, p in pool[0]] if pool[0] else pool[1]
        kept = [p for p in keepable if files.filename(p) == prefer] if prefer else []
        return (kept[0] if kept else cls._best(files, *pool)), all_yanked

    def fitting_files(self, files: FileTable) -> dict[Version, tuple[list[tuple[int, int]], list[int]]]:
        """Per version of the page, its files that fit the target: wheels as (rank, row), sdists.

        The same choice as `select` makes, without rejections: each selection key is decided
        once, and only the files that fit are visited (a wheel-rich page fits a target with
        a few percent of its files)."""
        out: dict[Version, tuple[list[tuple[int, int]], list[int]]] = {}
        for (requires_python, tag_key), (versions, rows) in files.shapes().items():
            if requires_python and not self.admits(requires_python):
                continue
            if tag_key is None:
                for version, position in zip(versions, rows):
                    out.setdefault(version, ([], []))[1].append(position)
                continue
            rank = self.key_rank(tag_key)
            if rank is None:
                continue
            for version, position in zip(versions, rows):
                out.setdefault(version, ([], []))[0].append((rank, position))
        return out

    def fitting_files_of(self, files: FileTable, version: Version) -> tuple[list[tuple[int, int]], list[int]]:
        """`fitting_files(files)[version]`, in the same order (by shape, then as the version
        lists them), visiting only that version's files."""
        keys, shape_of = files.remembered(("shape of row",), lambda: _shape_of_rows(files))
        fitting: list[tuple[int, int]] = []
        sdists: list[int] = []
        for position in sorted(files.version_groups().get(version, ()), key=shape_of.__getitem__):
            requires_python, tag_key = keys[shape_of[position]]
            if requires_python and not self.admits(requires_python):
                continue
            if tag_key is None:
                sdists.append(position)
                continue
            rank = self.key_rank(tag_key)
            if rank is not None:
                fitting.append((rank, position))
        return fitting, sdists

    def decisions(self, files: FileTable) -> tuple[int | None, ...]:
        """What the target decides on each of the page's file shapes (`FileTable.shapes`): None,
        the file does not fit; -1, an sdist that fits; else the wheel's rank among the page's
        fitting wheels. Only the order of ranks matters to `choices`, so targets with equal
        decisions choose the same files."""
        admits, key_rank = self.admits, self.key_rank
        ranks: list[int | None] = []
        for requires_python, tag_key in files.shapes():
            if requires_python and not admits(requires_python):
                ranks.append(None)
            else:
                ranks.append(-1 if tag_key is None else key_rank(tag_key))  # key_rank: None when no tag fits
        dense = {rank: position for position, rank in enumerate(sorted({r for r in ranks if r is not None and r >= 0}))}
        return tuple(rank if rank is None or rank < 0 else dense[rank] for rank in ranks)

    def chosen(self, files: FileTable, decisions: tuple[int | None, ...]) -> dict[Version, tuple[int, bool]]:
        """`choices`, shared by the targets that make these `decisions` on the page."""
        return files.remembered(("choices", decisions), lambda: self.choices(files))

    def choices(self, files: FileTable) -> dict[Version, tuple[int, bool]]:
        """Per version of the page with a file that fits the target: the row `choose` takes
        without a preferred file, and whether that version is all yanked.

        One pass over the fitting files, keeping each version's best so far by one key that
        orders as `pick` does: a file that is not yanked before a yanked one, then a wheel (by
        its best tag's rank) before an sdist (.tar.gz before .zip), then by file name (read
        only to break a tie); the first of equals stays."""
        filename, yanked = files.filename_reader(), files.yanked_rows
        admits, key_rank = self.admits, self.key_rank
        best: dict[Version, tuple[tuple[bool, int, int], int]] = {}  # version -> (key, row)
        for (requires_python, tag_key), (versions, rows) in files.shapes().items():
            if requires_python and not admits(requires_python):
                continue
            rank = -1 if tag_key is None else key_rank(tag_key)
            if rank is None:
                continue
            for version, row in zip(versions, rows):
                key = (row in yanked, 1, not filename(row).endswith(".tar.gz")) if rank < 0 else (row in yanked, 0, rank)
                found = best.get(version)
                if found is None or key < found[0] or (key == found[0] and filename(row) < filename(found[1])):
                    best[version] = (key, row)
        return {version: (row, key[0]) for version, (key, row) in best.items()}

    @staticmethod
    def _best(files: FileTable, fitting: list[tuple[int, int]], sdists: list[int]) -> int:
        if len(fitting) == 1:
            return fitting[0][1]
        if fitting:
            # Best tag first; the file name makes ties (build tags, duplicate uploads) deterministic.
            return min(fitting, key=lambda pair: (pair[0], files.filename(pair[1])))[1]
        if len(sdists) == 1:
            return sdists[0]
        # Prefer .tar.gz (the PEP 625 format) over legacy .zip, then by name.
        return min(sdists, key=lambda p: (not files.filename(p).endswith(".tar.gz"), files.filename(p)))

    @staticmethod
    def _reason(yanked: str | None) -> str:
        return f" ({yanked})" if yanked else ""

    def _yanked_text(self, files: FileTable, position: int) -> str:
        return (f"{files.filename(position)} is yanked{self._reason(files.yanked(position))}; "
                "another file of this version is used")

    def _no_artifact_detail(self, files: FileTable, version: Version, positions: Sequence[int],
                            python_misfits: Sequence[int], tag_misfits: Sequence[int]) -> str:
        wheels = [p for p in positions if files.is_wheel(p)]
        platforms = sorted({tag.platform for p in wheels for tag in files.tags(p)}
                           | set(files.foreign.get(str(version), ())))
        has = _compact(platforms) if platforms else "no wheels"
        if files.index == LOCAL_INDEX and not wheels:  # a source tree or sdist file of the project's
            has = ", ".join(files.filename(p) for p in positions)
        elif any(not files.is_wheel(p) for p in positions):
            has += ", and an sdist"
        if positions and len(python_misfits) == len(positions):  # Python, not the platform, is the reason
            specifiers = sorted({files.requires_python(p) or "" for p in python_misfits})
            return (f"requires-python {' / '.join(specifiers)} excludes Python {self.python} "
                    f"({files.name} {version} on {files.index} has: {has})")
        detail = f"no wheel for {self.label} ({files.name} {version} on {files.index} has: {has})"
        # Wheels for the right platform but another Python are the most common surprise: say so.
        platforms = {tag.platform for tag in self.target.tags}
        other_pythons = sorted(
            {tag.interpreter for p in tag_misfits for tag in files.tags(p) if tag.platform in platforms},
            key=_interpreter_key,
        )
        if other_pythons:
            detail += f"; wheels for this platform exist only for {', '.join(other_pythons)}"
        if python_misfits:
            specifiers = sorted({files.requires_python(p) or "" for p in python_misfits})
            detail += f"; requires-python {' / '.join(specifiers)} excludes Python {self.python}"
        return detail


def _has_files(page: ProjectPage) -> bool:
    # Unusable files still mean the index has the project: first-index must not fall through
    # to a later index then (that is how dependency confusion happens).
    return page.has_files


@lru_cache(maxsize=65536)
def _uploaded_before(text: str | None, cutoff: datetime) -> bool | None:
    if not text:
        return None
    moment = parse_upload_time(text)
    return None if moment is None else moment <= cutoff


def select_candidates(
    pages: Sequence[ProjectPage], target: Target, strategy: IndexStrategy,
    alongside: Sequence[ProjectPage] = (), cutoff: datetime | None = None,
    prefer: Iterable[tuple[str, str, str]] = (),
    only: Version | None = None,
) -> CandidateSet:
    """The candidates of one package on `target`, newest version first, then in index order.

    `pages` are that package's pages on the indexes of its route, in route order; a page without
    files means the index does not have the package. `strategy` combines them as uv does:
    - first-index: only the first page that lists any file (even if none fits the target);
    - unsafe-first-match: each version from the first index that lists it;
    - unsafe-best-match: every version of every index.
    `alongside` are its pages on the route's find-links locations: every version they list is a
    candidate too, whatever the strategy, after the indexes' candidates of the same version.
    `cutoff`: files uploaded later are left out; `prefer`: (index, version, file name) of files
    to keep choosing while they fit (see the module docstring); `only`: the candidates of that
    version alone (the same as those of the full selection), the rest of the set as it would be.

    The rejections (why each other file or version is out) are worked out when first read.
    """
    every = [*pages, *alongside]
    if not every:
        raise ValueError("select_candidates needs the package's page on at least one index")
    name = every[0].project
    if any(page.project != name for page in every):
        raise ValueError(f"pages of different projects: {sorted({page.project for page in every})}")
    order, consulted, undated, single = _versions_in_order(pages, strategy, alongside, cutoff)
    preferred: Mapping[tuple[str, str], str] = {(index, version): filename for index, version, filename in prefer}
    selector = _Selector(target, record=False)
    if single is not None and only is not None:
        candidates = _only_version(single, selector, only, preferred)
    elif single is not None:  # the common case: one page, in its own order
        # Targets that decide alike on the page's files (pure-Python packages: every target)
        # share its candidates.
        decisions = selector.decisions(single)
        candidates = single.remembered(("candidates", decisions), lambda: tuple(
            Candidate.from_row(single, found[0], version, found[1])
            for version, found in _chosen_in_order(single.newest_first(), selector.choices(single))))
        if preferred:  # an earlier plan's files: only the versions it names can choose otherwise
            candidates = _with_preferred(single, selector, candidates, preferred)
    else:
        fitting: dict[int, dict[Version, tuple[list[tuple[int, int]], list[int]]]] = {}
        found_list = []
        chosen: dict[int, dict[Version, tuple[int, bool]]] = {}
        for version, files, _ in order if order is not None else _in_order(single):
            if only is not None and version != only:
                continue
            choices = chosen.get(id(files))
            if choices is None:
                choices = chosen[id(files)] = selector.chosen(files, selector.decisions(files))
            found = choices.get(version)
            if found is None:
                continue
            prefer = preferred.get((files.index, version_text(version))) if preferred else None
            if prefer is not None:
                fits = fitting.get(id(files))
                if fits is None:
                    fits = fitting[id(files)] = selector.fitting_files(files)
                found = selector.pick(files, *fits[version], prefer)
            found_list.append(Candidate.from_row(files, found[0], version, found[1]))
        candidates = tuple(found_list)

    def rejections() -> tuple[Rejection, ...]:
        recorder = _Selector(target, record=True)
        for version, files, positions in order if order is not None else _in_order(single):
            recorder.select(files, version, positions)
        for page in every:
            if page.index in consulted:  # versions with wheels for no target's platform at all
                for version, platforms in page.files.foreign_versions().items():
                    if version not in page.files.version_groups():
                        recorder.reject(None, version, page.index, RejectionKind.NO_ARTIFACT,
                                        f"no wheel for {recorder.label} ({name} {version} on {page.index} has: "
                                        f"{_compact(platforms)})")
        return tuple(recorder.rejections)

    return CandidateSet(name=name, candidates=candidates, indexes_consulted=tuple(consulted),
                        undated=tuple(undated), explain_rejections=rejections)


def _shape_of_rows(files: FileTable) -> tuple[list[tuple[str | None, str | None]], dict[int, int]]:
    """The page's file shapes (`FileTable.shapes`) in order, and each row's position among them."""
    keys, shape_of = [], {}
    for position, (key, (_, rows)) in enumerate(files.shapes().items()):
        keys.append(key)
        shape_of.update(dict.fromkeys(rows, position))
    return keys, shape_of


def _only_version(files: FileTable, selector: _Selector, only: Version,
                  preferred: Mapping[tuple[str, str], str]) -> tuple[Candidate, ...]:
    """The page's candidate of version `only` (none, or one), chosen as the full selection does."""
    # (the page's own version object: `1.0` and `1.0.0` are equal, with other texts)
    version = files.remembered(("versions",), lambda: {v: v for v in files.version_groups()}).get(only)
    if version is None:
        return ()
    fitting, sdists = selector.fitting_files_of(files, version)
    if not fitting and not sdists:
        return ()
    row, all_yanked = selector.pick(files, fitting, sdists, preferred.get((files.index, version_text(version))))
    return (Candidate.from_row(files, row, version, all_yanked),)


def _with_preferred(files: FileTable, selector: _Selector, candidates: tuple[Candidate, ...],
                    preferred: Mapping[tuple[str, str], str]) -> tuple[Candidate, ...]:
    """The page's `candidates`, each version `preferred` names chosen again as `pick` chooses
    with the earlier plan's file preferred."""
    out = list(candidates)
    for position, candidate in enumerate(candidates):
        prefer = preferred.get((files.index, version_text(candidate.version)))
        if prefer is not None:
            found = selector.pick(files, *selector.fitting_files_of(files, candidate.version), prefer)
            out[position] = Candidate.from_row(files, found[0], candidate.version, found[1])
    return tuple(out)


def _dated(files: FileTable, cutoff: datetime | None, undated: list[str]) -> FileTable:
    """The files uploaded by `cutoff` (all of them without one); notes the index in `undated`
    when files without an upload time had to be left out."""
    if cutoff is None:
        return files
    table, missing = files.uploaded_by(cutoff, lambda text: _uploaded_before(text, cutoff))
    if missing and files.index not in undated:
        undated.append(files.index)
    return table


def _versions_in_order(pages: Sequence[ProjectPage], strategy: IndexStrategy, alongside: Sequence[ProjectPage] = (),
                       cutoff: datetime | None = None,
                       ) -> tuple[list[tuple[Version, FileTable, Sequence[int]]] | None, list[str], list[str],
                                  FileTable | None]:
    """(version, page files, rows of that version) to select from, newest first then in route
    order (find-links pages last), or None when they are one page's files in its `newest_first`
    order; the indexes consulted; the indexes whose undated files the cut-off left out; that one
    page's files."""
    consulted: list[str] = []
    undated: list[str] = []
    # (version, position of the page: route order, then find-links) -> that page's files of the version
    chosen: dict[tuple[Version, int], tuple[FileTable, Sequence[int]]] = {}
    if strategy is IndexStrategy.FIRST_INDEX:
        for position, page in enumerate(pages):
            consulted.append(page.index)
            if _has_files(page):  # on the full listing: a cut-off never makes it fall through
                files = _dated(page.files, cutoff, undated)
                if not alongside:  # the common case: already in order (listed only when read)
                    return None, consulted, undated, files
                chosen.update(((version, position), (files, rows)) for version, rows in files.version_groups().items())
                break
    else:
        first_listing: dict[Version, int] = {}
        for position, page in enumerate(pages):
            consulted.append(page.index)
            files = _dated(page.files, cutoff, undated)
            for version, rows in files.version_groups().items():
                if strategy is IndexStrategy.UNSAFE_FIRST_MATCH:
                    if version in first_listing:
                        continue  # an earlier index lists this version: it alone is asked
                    first_listing[version] = position
                chosen[(version, position)] = (files, rows)
    for position, page in enumerate(alongside, start=len(pages)):
        consulted.append(page.index)
        files = _dated(page.files, cutoff, undated)
        chosen.update(((version, position), (files, rows)) for version, rows in files.version_groups().items())
    # Newest first, then route order (sort is stable, also with reverse=True).
    order = sorted(sorted(chosen, key=lambda key: key[1]), key=lambda key: key[0], reverse=True)
    return [(version, *chosen[(version, position)]) for version, position in order], consulted, undated, None


def _in_order(files: FileTable | None) -> Iterator[tuple[Version, FileTable, Sequence[int]]]:
    assert files is not None  # (`_versions_in_order` gives the files when it gives no order)
    return ((version, files, rows) for version, rows in files.newest_first())


def _chosen_in_order(order: Sequence[tuple[Version, Sequence[int]]],
                     choices: Mapping[Version, tuple[int, bool]]) -> Iterator[tuple[Version, tuple[int, bool]]]:
    for version, _ in order:
        found = choices.get(version)
        if found is not None:
            yield version, found
