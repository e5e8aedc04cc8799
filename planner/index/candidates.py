"""What a target can install: candidates (package, version, index) with the artifact it would use.

Pure: pages in, a `CandidateSet` out. Every artifact or version left out keeps a `Rejection`
saying why, in the target's terms, for the explainer ("no wheel for linux_x86_64/cp311 ...").

Rules, per (index, version):
1. files whose `Requires-Python` does not admit the target's Python are dropped;
2. wheels none of whose tags the target accepts are dropped;
3. if every file left is yanked, the version stays as a yanked candidate (usable only when
   pinned with == / ===, PEP 592); otherwise yanked files are ignored;
4. the best-ranked wheel wins (its best tag's position in `target.tags`, then its file name);
   without a fitting wheel, the sdist; without either, the version is rejected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from planner.index.models import (
    Artifact,
    ArtifactKind,
    Candidate,
    CandidateSet,
    ProjectPage,
    Rejection,
    RejectionKind,
)
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


def _admits_python(artifact: Artifact, python: str) -> bool:
    if not artifact.requires_python:
        return True
    return _python_admitted(artifact.requires_python, python)


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


class _Selector:
    """Selection state for one target: tag ranks, label, and the rejections collected."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.python = target.python.full
        self.label = target_platform_label(target)
        self.rank = {tag: position for position, tag in enumerate(target.tags)}
        self.platforms = {tag.platform for tag in target.tags}
        self.rejections: list[Rejection] = []

    def wheel_rank(self, artifact: Artifact) -> int | None:
        ranks = [self.rank[tag] for tag in artifact.tags if tag in self.rank]
        return min(ranks) if ranks else None

    def reject(
        self, artifact: Artifact | None, version: Version, index: str, kind: RejectionKind, detail: str
    ) -> None:
        filename = artifact.filename if artifact is not None else None
        self.rejections.append(Rejection(index, version, filename, kind, detail))

    def select(self, index: str, version: Version, artifacts: Sequence[Artifact]) -> Candidate | None:
        """The candidate (index, version) gives the target, recording every rejection on the way."""
        fitting: list[tuple[int, Artifact]] = []
        sdists: list[Artifact] = []
        python_misfits: list[Artifact] = []
        tag_misfits: list[Artifact] = []
        for artifact in artifacts:
            if not _admits_python(artifact, self.python):
                python_misfits.append(artifact)
                self.reject(
                    artifact,
                    version,
                    index,
                    RejectionKind.REQUIRES_PYTHON,
                    f"{artifact.filename} requires Python {artifact.requires_python}; "
                    f"the target has {self.python}",
                )
                continue
            if artifact.kind is ArtifactKind.SDIST:
                sdists.append(artifact)
                continue
            rank = self.wheel_rank(artifact)
            if rank is None:
                tag_misfits.append(artifact)
                self.reject(
                    artifact,
                    version,
                    index,
                    RejectionKind.TAGS,
                    f"{artifact.filename} has no tag for {self.label}",
                )
                continue
            fitting.append((rank, artifact))

        usable = [a for _, a in fitting] + sdists
        if not usable:
            self.reject(
                None,
                version,
                index,
                RejectionKind.NO_ARTIFACT,
                self._no_artifact_detail(index, version, artifacts, python_misfits, tag_misfits),
            )
            return None

        all_yanked = all(a.is_yanked for a in usable)
        if not all_yanked:
            # Some file of this version is fine: yanked siblings are simply never chosen.
            for artifact in usable:
                if artifact.is_yanked:
                    detail = self._yanked_text(artifact)
                    self.reject(artifact, version, index, RejectionKind.YANKED, detail)
            fitting = [(rank, a) for rank, a in fitting if not a.is_yanked]
            sdists = [a for a in sdists if not a.is_yanked]

        chosen = self._best(fitting, sdists)
        if all_yanked:
            self.reject(
                None,
                version,
                index,
                RejectionKind.YANKED,
                f"{chosen.name} {version} on {index} is yanked{self._reason(chosen)}; "
                "usable only when pinned with == or ===",
            )
        return Candidate(chosen.name, version, index, chosen, yanked=all_yanked)

    @staticmethod
    def _best(fitting: list[tuple[int, Artifact]], sdists: list[Artifact]) -> Artifact:
        if fitting:
            # Best tag first; the file name makes ties (build tags, duplicate uploads) deterministic.
            return min(fitting, key=lambda pair: (pair[0], pair[1].filename))[1]
        # Prefer .tar.gz (the PEP 625 format) over legacy .zip, then by name.
        return min(sdists, key=lambda a: (not a.filename.endswith(".tar.gz"), a.filename))

    @staticmethod
    def _reason(artifact: Artifact) -> str:
        return f" ({artifact.yanked})" if artifact.yanked else ""

    def _yanked_text(self, artifact: Artifact) -> str:
        return (
            f"{artifact.filename} is yanked{self._reason(artifact)}; "
            "another file of this version is used"
        )

    def _no_artifact_detail(
        self,
        index: str,
        version: Version,
        artifacts: Sequence[Artifact],
        python_misfits: Sequence[Artifact],
        tag_misfits: Sequence[Artifact],
    ) -> str:
        name = artifacts[0].name
        wheels = [a for a in artifacts if a.kind is ArtifactKind.WHEEL]
        platforms = sorted({tag.platform for a in wheels for tag in a.tags})
        has = _compact(platforms) if platforms else "no wheels"
        if any(a.kind is ArtifactKind.SDIST for a in artifacts):
            has += ", and an sdist"
        detail = f"no wheel for {self.label} ({name} {version} on {index} has: {has})"
        # Wheels for the right platform but another Python are the most common surprise: say so.
        other_pythons = sorted(
            {tag.interpreter for a in tag_misfits for tag in a.tags if tag.platform in self.platforms},
            key=_interpreter_key,
        )
        if other_pythons:
            detail += f"; wheels for this platform exist only for {', '.join(other_pythons)}"
        if python_misfits:
            specifiers = sorted({a.requires_python or "" for a in python_misfits})
            detail += f"; requires-python {' / '.join(specifiers)} excludes Python {self.python}"
        return detail


def _has_files(page: ProjectPage) -> bool:
    # Unusable files still mean the index has the project: first-index must not fall through
    # to a later index then (that is how dependency confusion happens).
    return bool(page.artifacts or page.skipped)


def _by_version(page: ProjectPage) -> dict[Version, list[Artifact]]:
    groups: dict[Version, list[Artifact]] = {}
    for artifact in page.artifacts:
        groups.setdefault(artifact.version, []).append(artifact)
    return groups


def select_candidates(
    pages: Sequence[ProjectPage], target: Target, strategy: IndexStrategy
) -> CandidateSet:
    """The candidates of one package on `target`, newest version first, then in index order.

    `pages` are that package's pages on the indexes of its route, in route order; a page without
    files means the index does not have the package. `strategy` combines them as uv does:
    - first-index: only the first page that lists any file (even if none fits the target);
    - unsafe-first-match: each version from the first index that lists it;
    - unsafe-best-match: every version of every index.
    """
    if not pages:
        raise ValueError("select_candidates needs the package's page on at least one index")
    name = pages[0].project
    if any(page.project != name for page in pages):
        raise ValueError(f"pages of different projects: {sorted({page.project for page in pages})}")

    consulted: list[str] = []
    # (version, position of the index in the route) -> that index's files of the version
    chosen: dict[tuple[Version, int], tuple[str, list[Artifact]]] = {}
    if strategy is IndexStrategy.FIRST_INDEX:
        for position, page in enumerate(pages):
            consulted.append(page.index)
            if _has_files(page):
                for version, files in _by_version(page).items():
                    chosen[(version, position)] = (page.index, files)
                break
    else:
        first_listing: dict[Version, int] = {}
        for position, page in enumerate(pages):
            consulted.append(page.index)
            for version, files in _by_version(page).items():
                if strategy is IndexStrategy.UNSAFE_FIRST_MATCH:
                    if version in first_listing:
                        continue  # an earlier index lists this version: it alone is asked
                    first_listing[version] = position
                chosen[(version, position)] = (page.index, files)

    selector = _Selector(target)
    candidates: list[Candidate] = []
    # Newest first, then route order (sort is stable, also with reverse=True).
    order = sorted(sorted(chosen, key=lambda key: key[1]), key=lambda key: key[0], reverse=True)
    for version, position in order:
        index, files = chosen[(version, position)]
        candidate = selector.select(index, version, files)
        if candidate is not None:
            candidates.append(candidate)
    return CandidateSet(
        name=name,
        candidates=tuple(candidates),
        rejections=tuple(selector.rejections),
        indexes_consulted=tuple(consulted),
    )
