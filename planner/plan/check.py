"""An independent checker of one target's plan: is it a valid, installable answer to the project?

It re-derives everything from the project, the target and the artifacts' core metadata, with
`packaging` only, and shares no code with the encoder or the solver: a bug there cannot hide
here. Scenario tests run it on every plan they produce.

Rules (every marker is evaluated on `plan.target`):

- root requirements: for each local package the target installs (`Target.packages`), the package
  itself with the target's extras it declares when it is a package (its requirements are then
  its metadata's), else its dependencies and the optional dependencies of the target's extras;
  and the dependency groups of the target's groups, of the root and of those packages. A
  requirement on a project that is no package (`name[extra]` inside it) stands for the
  requirements of those extras;
- overrides replace every requirement on their package, wherever it appears; constraints bound
  every planned package they name;
- every requirement that holds (root, or a planned package's Requires-Dist with extra "" or one
  of its planned extras) is satisfied: the package is planned, its version is in the specifier,
  the requested extras are planned extras;
- one entry per name; the artifact fits the target (wheel tags, Requires-Python) and is the
  package's own; it comes from the index the package is routed to; a yanked artifact needs an
  exact pin; every package (and planned extra) is reachable from the project and `required_by`
  names exactly its requirers;
- a local package (workspace member, path source) comes from its local source, at its path, and
  nothing else does: never an index for a local package, never a local file for another;
- no build carries a runtime the target's stated accelerator cannot run (the rule of
  planner/targets/runtimes.py, docs/accelerators.md);
- a git or URL package (a `git` / `url` source, a `name @ url` requirement) comes from exactly
  that source: the repository and subdirectory at a full commit id (the one the ref was pinned
  to, when it names a commit), or the file at that URL with the `#sha256=` it was written with;
  nothing else comes from git or a URL; a root requirement written with a URL is met by that
  URL's package (unless a URL in override-dependencies replaces it).

Violation kinds: root-requirement, dependency, constraint, duplicate, artifact (the file is
another package's), tags, requires-python, metadata (unreadable), routing, direct (a git or URL
package from anywhere but its source), yanked, unrequired, required-by, accelerator (a build
whose runtime the target's stated accelerator cannot run).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name

from planner.errors import PlannerError
from planner.index.models import DIRECT_INDEXES, LOCAL_INDEX, Artifact, ArtifactKind, CoreMetadata
from planner.plan.model import PROJECT, PlannedPackage, TargetPlan
from planner.project.model import (
    Dependency,
    DirectSource,
    PathSource,
    Project,
    SourceDeclaration,
    WorkspaceSource,
)
from planner.project.references import (
    DirectReferenceError,
    GitReference,
    PathReference,
    UrlReference,
    parse_direct_reference,
)
from planner.targets.routing import route
from planner.targets.runtimes import runtime_of, runtime_problem
from planner.urls import strip_userinfo

Metadata = Callable[[Artifact], CoreMetadata]


@dataclass(frozen=True, order=True)
class Violation:
    """One way a plan is wrong; field order is the sort order (kind, package, message)."""

    kind: str
    package: str  # the package the fault belongs to, or PROJECT
    message: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.message}"


@dataclass(frozen=True)
class _Edge:
    """An active requirement after overrides: `source` (a package or PROJECT) needs it.

    `contexts` are the requirer's extras under which it holds (None: without any extra); the
    reachability walk follows an edge only from a context that is itself reached.
    """

    source: str
    requirement: Requirement
    origin: str  # who requires it, for messages
    contexts: frozenset[NormalizedName | None]
    note: str = ""  # the override that wrote it, if any

    def describe(self) -> str:
        return f"{self.origin} requires '{self.requirement}'{self.note}"

    @property
    def name(self) -> NormalizedName:
        return canonicalize_name(self.requirement.name)

    @property
    def extras(self) -> frozenset[NormalizedName]:
        return frozenset(canonicalize_name(e) for e in self.requirement.extras)


def check_target_plan(project: Project, plan: TargetPlan, metadata: Metadata) -> list[Violation]:
    """Every violation of the rules above; an empty list means the plan is valid."""
    return _Checker(project, plan, metadata).run()


class _Checker:
    def __init__(self, project: Project, plan: TargetPlan, metadata: Metadata):
        self.project = project
        self.plan = plan
        self.target = plan.target
        self.metadata = metadata
        self.on = f"on target '{self.target.name}'"
        self.violations: set[Violation] = set()
        self.read: dict[tuple[str, str], CoreMetadata | None] = {}
        self.planned: dict[NormalizedName, list[PlannedPackage]] = defaultdict(list)
        for package in plan.packages:
            self.planned[canonicalize_name(package.name)].append(package)

    def add(self, kind: str, package: str, message: str) -> None:
        self.violations.add(Violation(kind, package, f"{self.on}, {message}"))

    def run(self) -> list[Violation]:
        root = self.root_edges()
        edges = self.dependency_edges()
        for edge in root:
            self.check_requirement("root-requirement", edge)
        for edge in edges:
            self.check_requirement("dependency", edge)
        all_edges = root + edges
        self.check_duplicates()
        self.check_constraints()
        for package in self.plan.packages:
            self.check_artifact(package)
            self.check_accelerator(package)
            self.check_routing(package)
            self.check_yanked(package, all_edges)
        self.check_url_requirements(root)
        self.check_reachability(all_edges)
        self.check_required_by(all_edges)
        return sorted(self.violations)

    # -- requirements ---------------------------------------------------------------------------
    def holds(self, requirement: Requirement, extra: NormalizedName | None = None) -> bool:
        if requirement.marker is None:
            return True
        return self.target.evaluate(
            requirement.marker, frozenset({extra}) if extra else frozenset()
        )

    def overridden(self, requirement: Requirement) -> list[tuple[Requirement, str]]:
        """The requirement as overrides rewrite it: itself, or the overrides that hold here.

        Overrides are project-wide, so their markers see no extra; when none of a package's
        overrides holds on the target, requirements on that package vanish here (uv combines
        an override's marker with the requirement's the same way).
        """
        name = canonicalize_name(requirement.name)
        overrides = [o for o in self.project.uv.overrides if o.name == name]
        if not overrides:
            return [(requirement, "")]
        return [
            (o.requirement, f" (override at {o.origin}, replacing '{requirement}')")
            for o in overrides
            if self.holds(o.requirement)
        ]

    def installed(self) -> list[Project]:
        """The local projects the target installs (the root when the target names none)."""
        names = self.target.packages or (self.project.name,)
        local = self.project.local_projects
        return [local[name] for name in names if name in local]

    def root_edges(self) -> list[_Edge]:
        """The target's active root requirements, with self-references of projects that are no
        package expanded."""
        todo: list[tuple[Dependency, str, Project | None]] = []
        expanded: set[tuple[NormalizedName, NormalizedName]] = set()
        installed = self.installed()
        for local in installed:
            if local.is_package:
                extras = [e for e in self.target.extras if e in local.optional_dependencies]
                wanted = Requirement(local.name + (f"[{','.join(extras)}]" if extras else ""))
                todo.append((Dependency(wanted, local.locate(("project",))), "the target's packages", None))
                continue
            todo += [(d, "dependencies", local) for d in local.dependencies]
            for extra in self.target.extras:
                expanded.add((local.name, extra))
                todo += [(d, f"extra '{extra}'", local) for d in local.optional_dependencies.get(extra, ())]
        for group in self.target.groups:
            for owner in {id(p): p for p in (self.project, *installed)}.values():
                todo += [(d, f"group '{group}'", owner) for d in owner.dependency_groups.get(group, ())]
        edges: list[_Edge] = []
        seen: set[tuple[str, str]] = set()
        while todo:
            dependency, where, owner = todo.pop(0)
            requirement = dependency.requirement
            if not self.holds(requirement):
                continue
            origin = f"the project ({where}, {dependency.origin})"
            itself = owner if owner is not None and dependency.name == owner.name and not owner.is_package else None
            if itself is not None:
                for extra in sorted(canonicalize_name(e) for e in requirement.extras):
                    if (itself.name, extra) in expanded:
                        continue  # already active: guards against extras that include each other
                    expanded.add((itself.name, extra))
                    if extra not in itself.optional_dependencies:
                        self.add(
                            "root-requirement",
                            PROJECT,
                            f"{origin} requires '{requirement}', "
                            f"but {itself.name} has no extra '{extra}'",
                        )
                    todo += [
                        (d, f"extra '{extra}' via '{requirement}'", itself)
                        for d in itself.optional_dependencies.get(extra, ())
                    ]
                continue
            key = (str(requirement), str(dependency.origin))
            if key in seen:
                continue
            seen.add(key)
            for replaced, note in self.overridden(requirement):
                edges.append(_Edge(PROJECT, replaced, origin, frozenset({None}), note))
        return edges

    def dependency_edges(self) -> list[_Edge]:
        edges: list[_Edge] = []
        for package in self.plan.packages:
            contexts: list[NormalizedName | None] = [None, *sorted(set(package.extras))]
            core = self.core_metadata(package)
            for requirement in core.requires_dist if core is not None else ():
                active = frozenset(c for c in contexts if self.holds(requirement, c))
                if not active:
                    continue
                origin = f"{package.name} {package.version}"
                for replaced, note in self.overridden(requirement):
                    edges.append(_Edge(package.name, replaced, origin, active, note))
        return edges

    def core_metadata(self, package: PlannedPackage) -> CoreMetadata | None:
        """The artifact's metadata, read once; None (and a violation) when it cannot be read."""
        key = (package.artifact.index, package.artifact.url)
        given = self.project.uv.build.metadata_for(package.name, package.version)
        if given is not None:  # [[tool.uv.dependency-metadata]]: the project states it, nothing is read
            return CoreMetadata(package.name, package.version, given.requires_dist, given.requires_python,
                                given.provides_extra)
        if key not in self.read:
            try:
                self.read[key] = self.metadata(package.artifact)
            except PlannerError as exc:
                self.read[key] = None
                self.add(
                    "metadata",
                    package.name,
                    f"the metadata of {package.name} {package.version} "
                    f"({package.artifact.filename}) cannot be read: {exc}",
                )
        return self.read[key]

    def check_requirement(self, kind: str, edge: _Edge) -> None:
        requirement = edge.requirement
        found = self.planned.get(edge.name, [])
        if not found:
            self.add(kind, edge.source, f"{edge.describe()}, but the plan has no {edge.name}")
            return
        if any(self.satisfies(p, edge) for p in found):
            return
        package = found[0]
        if not requirement.specifier.contains(package.version, prereleases=True):
            problem = f"the plan has {package.name} {package.version}"
        else:
            missing = sorted(edge.extras - set(package.extras))
            problem = f"the plan does not activate extra(s) {', '.join(missing)} of {package.name}"
        self.add(kind, edge.source, f"{edge.describe()}, but {problem}")

    @staticmethod
    def satisfies(package: PlannedPackage, edge: _Edge) -> bool:
        return edge.requirement.specifier.contains(
            package.version, prereleases=True
        ) and edge.extras <= set(package.extras)

    def check_constraints(self) -> None:
        for constraint in self.project.uv.constraints:
            if not self.holds(constraint.requirement):
                continue
            for package in self.planned.get(constraint.name, []):
                if not constraint.requirement.specifier.contains(package.version, prereleases=True):
                    self.add(
                        "constraint",
                        package.name,
                        f"{package.name} {package.version} violates the constraint "
                        f"'{constraint.requirement}' ({constraint.origin})",
                    )

    # -- packages -------------------------------------------------------------------------------
    def check_duplicates(self) -> None:
        for name, packages in self.planned.items():
            if len(packages) > 1:
                versions = ", ".join(f"{p.version} from '{p.index}'" for p in packages)
                self.add(
                    "duplicate", name, f"the plan lists {name} {len(packages)} times ({versions})"
                )

    def check_artifact(self, package: PlannedPackage) -> None:
        artifact = package.artifact
        what = f"{package.name} {package.version} ({artifact.filename})"
        if (artifact.name, artifact.version, artifact.index) != (
            package.name,
            package.version,
            package.index,
        ):
            self.add(
                "artifact",
                package.name,
                f"{package.name} {package.version} from '{package.index}' is planned with the "
                f"file of {artifact.name} {artifact.version} from '{artifact.index}' "
                f"({artifact.filename})",
            )
        if artifact.kind is ArtifactKind.WHEEL and not artifact.tags & set(self.target.tags):
            tags = ", ".join(sorted(str(t) for t in artifact.tags))
            self.add(
                "tags", package.name, f"the wheel of {what} has no tag the target accepts ({tags})"
            )
        python = self.target.python.full
        for source, text in self.requires_python(package):
            specifier = _specifier(text)
            if specifier is not None and not specifier.contains(python, prereleases=True):
                self.add(
                    "requires-python",
                    package.name,
                    f"{what} requires Python {text} ({source}), the target has {python}",
                )

    def check_accelerator(self, package: PlannedPackage) -> None:
        """A stated accelerator is a hard requirement: no build whose runtime it cannot run."""
        accelerator = self.target.accelerator
        runtime = runtime_of(package.name, package.version) if accelerator is not None else None
        problem = runtime_problem(accelerator, runtime) if accelerator and runtime else None
        if problem:
            self.add("accelerator", package.name,
                     f"{package.name} {package.version} is {runtime.describe()} and the target states "  # type: ignore[union-attr]
                     f"accelerator {accelerator}: {problem}")

    def requires_python(self, package: PlannedPackage) -> Iterable[tuple[str, str]]:
        """Requires-Python as the index lists it and as the file's own metadata declares it.

        The index may omit it (PEP 503 pages often do) while installers read the metadata's.
        """
        if package.artifact.requires_python:
            yield "index", package.artifact.requires_python
        core = self.core_metadata(package)
        declared = core.requires_python if core is not None else None
        if declared and declared != package.artifact.requires_python:
            yield "metadata", declared

    def check_routing(self, package: PlannedPackage) -> None:
        try:
            decided = route(self.project, self.target, package.name)
        except PlannerError as exc:
            self.add("routing", package.name, f"{package.name} has no valid route: {exc}")
            return
        local = package.index == LOCAL_INDEX or package.artifact.index == LOCAL_INDEX
        if decided.local is not None or local:
            self.check_local(package, decided.local)
            return
        if decided.direct is not None or package.index in DIRECT_INDEXES or package.artifact.index in DIRECT_INDEXES:
            self.check_direct(package, decided.direct)
            return
        allowed = decided.source.index if decided.source is not None else None
        if package.index not in decided.allowed_index_names or (
            allowed is not None and package.index != allowed
        ):
            self.add(
                "routing",
                package.name,
                f"{package.name} {package.version} comes from index '{package.index}', "
                f"but it is routed to {decided.describe()}",
            )

    def check_local(self, package: PlannedPackage, source: PathSource | WorkspaceSource | None) -> None:
        """A local package comes from its own source tree or file, at its path; nothing else
        comes from a local path."""
        if source is None:
            self.add("routing", package.name, f"{package.name} {package.version} comes from the local path "
                     f"'{package.artifact.path}', but no local source applies to it here")
            return
        if package.index != LOCAL_INDEX:
            self.add("routing", package.name, f"{package.name} is a local package, but the plan takes "
                     f"{package.version} from index '{package.index}'")
            return
        if isinstance(source, WorkspaceSource):
            member = self.project.local_projects.get(package.name)
            expected = member.root if member is not None else None
        else:
            expected = source.path
        actual = (self.project.root / str(package.artifact.path)).resolve() if package.artifact.path else None
        if expected is None or actual != expected.resolve():
            self.add("routing", package.name, f"{package.name} is planned from '{package.artifact.path}', but its "
                     f"source is {expected}")

    def check_direct(self, package: PlannedPackage, source: DirectSource | None) -> None:
        """A git or URL package comes from exactly its source; nothing else comes from git or a URL."""
        artifact = package.artifact
        if source is None:
            self.add("direct", package.name, f"{package.name} {package.version} comes from '{artifact.url}', but no "
                     "git or URL source applies to it here")
            return
        problem = _direct_mismatch(artifact, source.reference)
        if package.index != artifact.index or package.index not in DIRECT_INDEXES:
            problem = problem or f"it is planned from index '{package.index}'"
        if problem is not None:
            self.add("direct", package.name, f"{package.name} comes from {source.reference}"
                     f" ({source.declared.value} at {source.origin}), but {problem}")

    def check_url_requirements(self, edges: list[_Edge]) -> None:
        """A root requirement written with a URL is met by that URL's package (a URL in
        override-dependencies may replace it)."""
        for edge in edges:
            if edge.source != PROJECT or not edge.requirement.url:
                continue
            decided = route(self.project, self.target, edge.name)
            if decided.direct is not None and decided.direct.declared is SourceDeclaration.OVERRIDE:
                continue
            try:
                reference = parse_direct_reference(edge.requirement, self.project.root)
            except DirectReferenceError as exc:
                self.add("direct", edge.name, f"{edge.describe()}, a URL that does not parse ({exc.problem})")
                continue
            for package in self.planned.get(edge.name, []):
                if isinstance(reference, PathReference):
                    actual = (self.project.root / str(package.artifact.path)).resolve() if package.artifact.path else None
                    problem = None if actual == reference.path.resolve() else f"it comes from '{package.artifact.url}'"
                else:
                    problem = _direct_mismatch(package.artifact, reference)
                if problem is not None:
                    self.add("direct", edge.name, f"{edge.describe()}, but {problem}")

    def check_yanked(self, package: PlannedPackage, edges: list[_Edge]) -> None:
        if not package.artifact.is_yanked:
            return
        pins = [e.requirement for e in edges if e.name == canonicalize_name(package.name)]
        pins += [
            c.requirement
            for c in self.project.uv.constraints
            if c.name == canonicalize_name(package.name) and self.holds(c.requirement)
        ]
        if any(_pins(r.specifier, package) for r in pins):
            return
        reason = f" ({package.artifact.yanked})" if package.artifact.yanked else ""
        self.add(
            "yanked",
            package.name,
            f"{package.name} {package.version} ({package.artifact.filename}) is yanked{reason} "
            f"and no requirement pins it with == or ===",
        )

    # -- why each package is there --------------------------------------------------------------
    def check_reachability(self, edges: list[_Edge]) -> None:
        by_source: dict[str, list[_Edge]] = defaultdict(list)
        for edge in edges:
            by_source[edge.source].append(edge)
        # Nodes are (package, extra): an extra is reached only through a requirement asking for it.
        reached: set[tuple[str, NormalizedName | None]] = {(PROJECT, None)}
        todo: list[tuple[str, NormalizedName | None]] = [(PROJECT, None)]
        while todo:
            source, context = todo.pop()
            for edge in by_source.get(source, []):
                if context not in edge.contexts or edge.name not in self.planned:
                    continue
                for node in [(edge.name, None), *((edge.name, x) for x in edge.extras)]:
                    if node not in reached:
                        reached.add(node)
                        todo.append(node)
        for package in self.plan.packages:
            name = canonicalize_name(package.name)
            if (name, None) not in reached:
                self.add(
                    "unrequired",
                    package.name,
                    f"{package.name} {package.version} is planned, but no active requirement "
                    f"reachable from the project needs it",
                )
                continue
            for extra in sorted(set(package.extras)):
                if (name, extra) not in reached:
                    self.add(
                        "unrequired",
                        package.name,
                        f"extra '{extra}' of {package.name} {package.version} is planned, but no "
                        f"active requirement reachable from the project asks for it",
                    )

    def check_required_by(self, edges: list[_Edge]) -> None:
        requirers: dict[NormalizedName, set[str]] = defaultdict(set)
        for edge in edges:
            # A package naming itself (`pkg[x]`) is no reason to plan it.
            if edge.source != edge.name:
                requirers[edge.name].add(edge.source)
        for package in self.plan.packages:
            expected = tuple(sorted(requirers.get(canonicalize_name(package.name), set())))
            if tuple(package.required_by) != expected:
                actual = ", ".join(package.required_by) or "nothing"
                wanted = ", ".join(expected) or "nothing"
                self.add(
                    "required-by",
                    package.name,
                    f"{package.name} {package.version} lists required_by: {actual}; "
                    f"its active requirers, sorted, are: {wanted}",
                )


def _direct_mismatch(artifact: Artifact, reference: GitReference | UrlReference | PathReference) -> str | None:
    """How `artifact` is not what `reference` names, or None when it is."""
    if isinstance(reference, GitReference):
        git = artifact.git
        if artifact.kind is not ArtifactKind.VCS or git is None:
            return f"the plan installs {artifact.filename}, which is no git checkout"
        if git.repository != strip_userinfo(reference.url):
            return f"the plan's commit is from {git.repository}"
        if (artifact.subdirectory or None) != (reference.subdirectory or None):
            return f"the plan takes subdirectory '{artifact.subdirectory}'"
        if len(git.commit) not in (40, 64) or any(c not in "0123456789abcdef" for c in git.commit):
            return f"the plan pins '{git.commit}', which is no full commit id"
        if reference.ref.is_full_commit and git.commit != (reference.ref.name or "").lower():
            return f"the plan pins commit {git.commit}, not the commit {reference.ref.name} it names"
        if strip_userinfo(artifact.url) != artifact.url or not artifact.url.endswith(
                f"@{git.commit}" + (f"#subdirectory={reference.subdirectory}" if reference.subdirectory else "")):
            return f"the plan installs '{artifact.url}', not that commit"
        return None
    if isinstance(reference, UrlReference):
        if artifact.kind not in (ArtifactKind.WHEEL, ArtifactKind.SDIST) or artifact.url != strip_userinfo(reference.url):
            return f"the plan installs '{artifact.url}'"
        if artifact.filename != reference.filename:
            return f"the plan's file is {artifact.filename}"
        for algorithm, digest in reference.hashes.items():
            if artifact.hashes.get(algorithm, digest) != digest:
                return f"the plan's file has {algorithm} {artifact.hashes.get(algorithm)}, the URL says {digest}"
        if artifact.sha256 is None:
            return "the plan's file has no sha256"
        return None
    return "it is a local folder"


def _specifier(text: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None  # an unparseable Requires-Python is ignored, as installers do


def _pins(specifier: SpecifierSet, package: PlannedPackage) -> bool:
    """Whether `specifier` pins this exact version (`==X` without a wildcard, or `===X`).

    `==2.5.1` pins `2.5.1+cpu` too: PEP 440 ignores the local label of the candidate.
    """
    return any(
        (spec.operator == "===" or (spec.operator == "==" and not spec.version.endswith(".*")))
        and spec.contains(package.version, prereleases=True)
        for spec in specifier
    )
