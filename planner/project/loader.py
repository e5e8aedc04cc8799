"""Load and validate a pyproject into a `Project`.

Reads the standard tables (`[project]`, `[dependency-groups]`), uv's `[tool.uv]` with uv's
semantics, and planner's `[tool.planner]`. Any problem raises `InputError` naming the file, the
key path, the line and the fix; settings that are understood but not honoured become warnings.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from planner.errors import Diagnostic, InputError, KeyPath, Location, format_key
from planner.project.model import (
    ALIGNMENT_MODES,
    PYPI_NAME,
    BuildSettings,
    DependencyMetadata,
    DirectSource,
    GitSource,
    LocalSource,
    PathSource,
    SourceDeclaration,
    UrlSource,
    Workspace,
    WorkspaceSource,
    ConflictItem,
    ConflictKind,
    ConflictSet,
    Dependency,
    DockerSettings,
    Index,
    IndexFormat,
    IndexSource,
    IndexStrategy,
    PlannerSettings,
    PrereleaseMode,
    Project,
    Resolution,
    TargetSpec,
    UvSettings,
    frozen_mapping,
)
from planner.project.cutoffs import EXAMPLES as CUTOFF_EXAMPLES
from planner.project.cutoffs import CutoffError, ExcludeNewer, parse_exclude_newer
from planner.project.fingerprint import combined_fingerprint, fingerprint, path_source_state
from planner.project.markers import marker_problem
from planner.project.numbers import marker_number_problem, number_problem, requirement_number_problem, specifier_problem
from planner.project.references import (
    DirectReferenceError,
    GitReference,
    PathReference,
    git_source,
    parse_direct_reference,
    space_before_url_marker,
    url_source,
)
from planner.project.reader import DocumentReader, did_you_mean, toml_type_name
from planner.project.toml_positions import TomlPositions
from planner.urls import normalize_index_url

# PEP 508 names (packages, extras, groups) before normalisation.
_NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
# uv: index names are ASCII letters, digits, '-', '_' and '.'.
_INDEX_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TARGET_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# A target name becomes a folder name (and part of pylock.<target>.toml): file systems take 255 bytes.
MAX_TARGET_NAME = 100
# How deeply tables and arrays may nest. A pyproject needs about six levels; a document nested
# thousands deep is an attack on the parser, not a project.
MAX_TOML_DEPTH = 32
_TOML_LINE_RE = re.compile(r"\(at line (\d+), column (\d+)\)")

# [tool.uv] keys planner reads.
_UV_SUPPORTED = (
    "index", "sources", "conflicts", "index-strategy", "environments", "required-environments",
    "prerelease", "constraint-dependencies", "override-dependencies", "dev-dependencies",
    "index-url", "extra-index-url", "default-groups", "workspace", "package", "find-links", "resolution", "exclude-newer",
    "exclude-newer-package", "upgrade", "upgrade-package",
    "no-build-isolation", "no-build-isolation-package",
    *("no-build", "no-build-package", "dependency-metadata", "build-constraint-dependencies",
      "extra-build-dependencies", "extra-build-variables", "config-settings", "config-settings-package"),
)
# [tool.uv] keys a workspace member may set; uv reads the others from the workspace root only.
_UV_MEMBER_KEYS = ("sources", "index", "package", "dev-dependencies", "managed")
# [tool.uv] keys that do not change which artifacts a plan contains (they steer uv's installer,
# cache, Python downloads or publishing). Accepted silently.
_UV_NO_EFFECT = (
    "managed", "cache-dir", "cache-keys", "python-preference", "python-downloads",
    "python-install-mirror", "pypy-install-mirror", "python-downloads-json-url", "required-version",
    "native-tls", "offline", "concurrent-downloads", "concurrent-builds", "concurrent-installs",
    "link-mode", "compile-bytecode", "preview", "publish-url", "trusted-publishing", "check-url",
    "keyring-provider", "allow-insecure-host", "pip", "build-backend", "reinstall",
    "reinstall-package", "no-cache", "fork-strategy", "add-bounds", "conflicts-groups",
)
# [tool.uv] keys uv documents that would change the plan and planner does not honour yet.
_UV_UNSUPPORTED = {
    "no-binary": "planner prefers wheels regardless",
    "no-binary-package": "planner prefers wheels regardless",
    "no-index": "indexes are still consulted",
    "no-sources": "sources are still applied",
    "torch-backend": "use [tool.uv.sources] and targets instead",
}
# uv build settings planner reads but cannot honour: an error naming the key, never ignored.
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DEPENDENCY_METADATA_KEYS = ("name", "version", "requires-dist", "requires-python", "provides-extra")
# Project-wide settings whose location later stages cite in messages.
_LOCATED_SETTINGS: tuple[KeyPath, ...] = (
    ("project", "name"), ("project", "requires-python"), ("tool", "uv", "environments"), ("tool", "uv", "required-environments"),
    ("tool", "uv", "index-strategy"), ("tool", "uv", "prerelease"), ("tool", "uv", "resolution"),
    ("tool", "uv", "exclude-newer"), ("tool", "planner", "prefer-newest"),
)
_SOURCE_KEYS = ("index", "marker", "extra", "group")
_PATH_SOURCE_KEYS = ("path", "editable", "package", "marker", "extra", "group")
_WORKSPACE_SOURCE_KEYS = ("workspace", "editable", "marker", "extra", "group")
_GIT_SOURCE_KEYS = ("git", "rev", "tag", "branch", "subdirectory", "lfs", "marker", "extra", "group")
_URL_SOURCE_KEYS = ("url", "subdirectory", "marker", "extra", "group")
_INDEX_KEYS = ("name", "url", "explicit", "default", "format", "authenticate",
               "ignore-error-codes", "cache-control", "publish-url")
_TARGET_KEYS = ("platform", "python", "accelerator", "extras", "groups", "packages", "manylinux", "macos",
                "docker")
_DOCKER_KEYS = ("base-image", "build-base-image", "debian-suite", "command", "groups")


def find_pyproject(path: Path | str) -> Path:
    """The pyproject.toml meant by a command-line argument (a directory or the file itself)."""
    candidate = Path(path)
    if candidate.is_dir():
        candidate = candidate / "pyproject.toml"
    if not candidate.is_file():
        raise InputError(
            f"no pyproject.toml at {candidate}",
            fix="pass the project's directory or the path of its pyproject.toml",
        )
    return candidate


def load_project(path: Path | str) -> Project:
    """Read, parse and validate the pyproject at `path` (a file or its directory), and, when it
    is a workspace root, every member's."""
    pyproject = find_pyproject(path)
    return _ProjectLoader(read_document(pyproject)).load()


def read_document(pyproject: Path, shown: str | None = None) -> DocumentReader:
    """A pyproject parsed, with its key positions; an `InputError` naming the file otherwise."""
    try:
        data = pyproject.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", location=Location(pyproject),
                         fix="check that the file exists and is readable") from None
    return parse_document(data, pyproject.resolve(), shown)


def parse_document(data: bytes, pyproject: Path, shown: str | None = None) -> DocumentReader:
    """`data`, the bytes of the pyproject at `pyproject` (a path messages name; a file inside a
    git commit need not exist on disk), parsed with its key positions; `InputError` otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}",
            location=Location(pyproject, (), line),
            fix="save the file as UTF-8 (TOML requires it)",
        ) from None
    # Editors on Windows often start UTF-8 files with a byte order mark; uv (like Cargo) reads
    # such a pyproject, tomllib does not. It sits before line 1, so line numbers are unchanged.
    text = text.removeprefix("\ufeff")
    try:
        document = tomllib.loads(text)
    except RecursionError:
        raise InputError(f"invalid TOML: arrays or tables nested too deeply (planner reads at most {MAX_TOML_DEPTH} levels)",
                         location=Location(pyproject), fix="flatten the nesting") from None
    except ValueError as exc:
        if isinstance(exc, tomllib.TOMLDecodeError):
            raise _toml_error(exc, pyproject, text) from None
        # tomllib converts integers with int(), which refuses more than 4300 digits.
        long_number = re.search(r"\d[\d_]{4000,}", text)
        line = text[: long_number.start()].count("\n") + 1 if long_number else None
        raise InputError("invalid TOML: a number with thousands of digits", location=Location(pyproject, (), line),
                         fix="write a number of sane size (or a quoted string)") from None
    if _nesting_depth(document) > MAX_TOML_DEPTH:
        raise InputError(f"arrays or tables nested more than {MAX_TOML_DEPTH} levels deep (planner reads at most {MAX_TOML_DEPTH})",
                         location=Location(pyproject), fix="flatten the nesting")
    return DocumentReader(pyproject, document, TomlPositions(text), shown)


def _source_meaning(entries: tuple[Any, ...]) -> tuple[Any, ...]:
    """What a list of sources says, without where it was written (to compare two of them)."""
    out = []
    for entry in entries:
        fields = {k: v for k, v in vars(entry).items() if k not in ("origin", "written", "key_locations")}
        out.append((type(entry).__name__, tuple(sorted((k, str(v)) for k, v in fields.items()))))
    return tuple(out)


def _folder_name(folder: Path) -> NormalizedName:
    """A virtual workspace root's name (used for image tags and reports): its folder's name."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", folder.name).strip("-._")
    return canonicalize_name(cleaned or "workspace")


def _cutoff_meaning(value: object) -> str:
    """An exclude-newer value (validated by the loader) by what it means, for the fingerprint."""
    try:
        return parse_exclude_newer(_cutoff_text(value)).meaning()
    except (CutoffError, TypeError):
        return repr(value)


def _cutoff_text(value: object) -> str:
    """TOML's own date and date-time values are accepted as well as strings."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _nesting_depth(document: dict[str, Any]) -> int:
    """How deeply `document`'s tables and arrays nest (counted without recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_TOML_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _toml_error(exc: tomllib.TOMLDecodeError, pyproject: Path, text: str) -> InputError:
    message = str(exc)
    match = _TOML_LINE_RE.search(message)
    line = int(match.group(1)) if match else None
    column = int(match.group(2)) if match else None
    problem = _TOML_LINE_RE.sub("", message).strip()
    return InputError(
        f"invalid TOML: {problem}" + (f" (column {column})" if match else ""),
        location=Location(pyproject, (), line),
        fix=_toml_fix(problem, text, line, column),
    )


_MARKER_VARIABLES = (
    "python_version", "python_full_version", "os_name", "sys_platform", "platform_release",
    "platform_system", "platform_version", "platform_machine", "platform_python_implementation",
    "implementation_name", "implementation_version", "extra", "extras", "dependency_groups",
)
_TOKEN_RE = re.compile(r"[A-Za-z0-9_.*+-]+")


def _syntax_error(exc: Exception, text: str) -> tuple[str, int | None]:
    """`packaging`'s parse error as (first line, 0-based column in `text` it points at).

    `packaging` renders the error as the message, the input indented, and a `^` under the spot.
    """
    lines = str(exc).splitlines()
    detail = lines[0] if lines else "cannot parse it"
    column = None
    if len(lines) >= 3 and lines[1].endswith(text) and "^" in lines[2]:
        column = lines[2].index("^") - (len(lines[1]) - len(text))
    if column is None or not 0 <= column <= len(text):
        return detail, None
    rest = text[column:].strip()
    if column > 0:  # at column 0 the rest is the whole text, already quoted in the message
        detail += f", at '{rest}'" if rest else ", at the end"
    return detail, column


def _with_hint(hint: str | None, fix: str) -> str:
    if not hint:
        return fix
    return f"{hint} {fix}" if hint.endswith("?") else f"{hint}; {fix}"


def _is_version(text: str) -> bool:
    try:
        Version(text)
    except ValueError:  # InvalidVersion, or a number of thousands of digits
        return False
    return True


def _marker_hint(text: str, detail: str, column: int | None) -> str | None:
    """A likely fix for a marker `packaging` rejected: a misspelt variable, an unquoted value, `=`."""
    if column is None:
        return None
    if detail.startswith("Expected marker operator") and re.match(r"=(?!=)", text[column:]):
        return "use '==' to compare"
    if not detail.startswith("Expected a marker variable or quoted string"):
        return None
    token = _TOKEN_RE.match(text, column)
    if not token or not any(c.isalnum() for c in token.group(0)):
        return None
    word = token.group(0)
    hint = did_you_mean(word, _MARKER_VARIABLES)
    if hint:
        return hint
    return f"quote the value: '{word}' (marker values are strings)"


def _requirement_hint(text: str, detail: str, column: int | None) -> str | None:
    """A likely fix for a requirement `packaging` rejected."""
    if re.match(r"[^@;]*@\s*\S+;\S", text):
        return "put a space before the ';' that ends the URL: 'name @ URL ; marker'"
    marker_hint = _marker_hint(text, detail, column)
    if marker_hint:
        return marker_hint
    spec = text.split(";", 1)[0]
    if "=>" in spec:
        return "write '>=' instead of '=>'"
    if "=<" in spec:
        return "write '<=' instead of '=<'"
    if re.search(r"(?<![=<>!~])=(?!=)", spec):
        return "use '==' for an exact version"
    if detail.startswith("Expected comma") and re.search(r"[0-9*]\s+[<>=!~]", spec):
        return "separate version specifiers with commas, e.g. 'numpy>=1.26,<2'"
    return None


def _toml_fix(problem: str, text: str, line: int | None, column: int | None) -> str:
    """What to do about a `tomllib` error, for the mistakes people make in pyproject files."""
    char = ""
    if line is not None and column is not None:
        lines = text.split("\n")
        if 0 < line <= len(lines):
            char = (lines[line - 1] + "\n")[column - 1 : column]
    if problem.startswith("Illegal character '\\n'") or problem.startswith("Unterminated string"):
        return "close the string on the line where it starts (use triple quotes for text spanning lines)"
    if problem.startswith("Cannot overwrite a value"):
        return "a key may appear once per table: remove or rename the repeated key"
    if problem.startswith("Cannot declare") and problem.endswith("twice"):
        return "a table header may appear once: merge the two tables into one"
    if problem.startswith("Invalid initial character for a key part") and char in ("\n", "}"):
        return ("an inline table { ... } must be on one line, without a trailing comma (TOML 1.0); "
                "shorten it or write it as a [table] / [[array of tables]]")
    if problem.startswith("Invalid value"):
        return 'give the key a value: a quoted string, a number, true/false, an array [...] or a table { ... }'
    if problem.startswith("Expected newline or end of document after a statement"):
        return 'write one key = value per line and quote text values, e.g. version = "0.1.0"'
    return "correct the TOML syntax at that line"


class _ProjectLoader:
    def __init__(self, reader: DocumentReader, root_indexes: tuple[Index, ...] | None = None):
        self.r = reader
        self.warnings: list[Diagnostic] = []
        # A workspace member's loader: the root's indexes (members name them in sources).
        self.root_indexes = root_indexes
        # Requirements written with a URL (`name @ git+https://...`), where, and what they name.
        self.direct_requirements: list[tuple[KeyPath, Dependency, GitReference | Any]] = []
        # Packages whose extra build dependencies ask for match-runtime (planner never builds them).
        self.match_runtime: set[NormalizedName] = set()

    def warn(self, path: KeyPath, message: str) -> None:
        self.warnings.append(Diagnostic(message, self.r.location(path)))

    # -- names and requirements ------------------------------------------------------------
    def name(self, path: KeyPath, raw: str, what: str) -> NormalizedName:
        if not _NAME_RE.fullmatch(raw):  # fullmatch: '$' would let a trailing newline through
            self.r.fail(
                path,
                f"{raw!r} is not a valid {what} name",
                "use letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
            )
        return canonicalize_name(raw)

    def requirement(self, path: KeyPath, raw: Any) -> Dependency:
        text = self.r.expect(path, raw, str, '"torch>=2.4"')
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            # uv ends a URL at a ';' followed by whitespace; read so, the text may parse, or its
            # real mistake (in the marker, say) shows.
            spaced = space_before_url_marker(text)
            read = spaced or text
            try:
                requirement = Requirement(read) if spaced is not None else None
            except InvalidRequirement as spaced_exc:
                exc, requirement = spaced_exc, None
            if requirement is None:
                detail, column = _syntax_error(exc, read)
                hint = _requirement_hint(read, detail, column)
                self.r.fail(path, f"invalid requirement '{text}': {detail}",
                            _with_hint(hint, "write a PEP 508 requirement, e.g. \"torch==2.5.1\" or \"numpy>=1.26; python_version >= '3.11'\""))
            self.warn(path, f"requirement '{text}' has no space before the ';' that ends its URL: read as uv "
                            "reads it, 'URL ; marker' (PEP 508 needs the space: packaging and the build backends "
                            "that use it refuse the requirement as written)")
        problem = requirement_number_problem(requirement)
        if problem is not None:
            self.r.fail(path, f"requirement '{text}': {problem}", "write the version you mean")
        problem = marker_problem(requirement.marker) if requirement.marker is not None else None
        if problem is not None:
            self.r.fail(path, f"the marker of requirement '{text}' cannot be evaluated: {problem}",
                        "write a PEP 508 marker, e.g. \"numpy>=1.26; python_version >= '3.11'\"")
        dependency = Dependency(requirement, self.r.location(path))
        if requirement.url:
            try:
                reference = parse_direct_reference(requirement, self.r.file.parent)
            except DirectReferenceError as exc:
                self.r.fail(path, f"requirement '{text}': {exc.problem}", exc.fix)
            if requirement.specifier:  # PEP 508 grammar forbids it; packaging may still accept
                self.r.fail(path, f"requirement '{text}' has both a URL and a version specifier",
                            f"drop the version: the URL decides what {requirement.name} is")
            self.direct_requirements.append((path, dependency, reference))
        return dependency

    def requirements(self, path: KeyPath) -> tuple[Dependency, ...]:
        items = self.r.array(path, example='["torch==2.5.1", "numpy>=1.26"]')
        return tuple(self.requirement((*path, n), raw) for n, raw in enumerate(items))

    def marker(self, path: KeyPath, raw: Any) -> Marker:
        text = self.r.expect(path, raw, str, "\"sys_platform == 'linux'\"")
        try:
            marker = Marker(text)
        except InvalidMarker as exc:
            detail, column = _syntax_error(exc, text)
            hint = _marker_hint(text, detail, column)
            self.r.fail(path, f"invalid marker '{text}': {detail}",
                        _with_hint(hint, "write a PEP 508 marker, e.g. \"sys_platform == 'linux' and platform_machine == 'x86_64'\""))
        problem = marker_number_problem(marker) or marker_problem(marker)
        if problem is not None:
            self.r.fail(path, f"marker '{text}' cannot be evaluated: {problem}",
                        "write a PEP 508 marker, e.g. \"sys_platform == 'linux' and platform_machine == 'x86_64'\"")
        return marker

    # -- sections ----------------------------------------------------------------------------
    def load(self) -> Project:
        member = self.root_indexes is not None
        virtual = not self.r.has(("project",))
        if virtual and member:
            self.r.fail(("project",), "this workspace member has no [project] table",
                        'add [project] with at least name = "...", or leave the folder out with '
                        "[tool.uv.workspace] exclude in the workspace root")
        if virtual and not self.r.has(("tool", "uv", "workspace")):
            self.r.fail(("project",), "missing [project] table",
                        'add [project] with at least name = "..." and dependencies = [...] '
                        "(a workspace root without [project] needs [tool.uv.workspace] members)")
        if virtual:
            name, version, dynamic = _folder_name(self.r.file.parent), None, []
            requires_python, dependencies, optional = None, (), {}
        else:
            self.r.table(("project",))
            name_raw = self.r.string(("project", "name"), required=True, example='"my-app"')
            name = self.name(("project", "name"), name_raw, "project")
            version = self.r.string(("project", "version"))
            if version is not None:
                try:
                    if number_problem(version):
                        raise InvalidVersion(version)
                    Version(version)
                except InvalidVersion:
                    self.r.fail(("project", "version"), f"'{version}' is not a PEP 440 version", 'e.g. version = "0.1.0"')
            dynamic = self.r.string_array(("project", "dynamic"))
            # Dynamic requirements come from a build of the project (planner/sources/build.py),
            # which only a package gets: a project that is no package stands for its requirements.
            package = self.package_setting()
            for field in ("dependencies", "optional-dependencies"):
                if field in dynamic and (package is False or (package is None and not self.r.has(("build-system",)))):
                    why = "sets tool.uv.package = false" if package is False else "has no [build-system] (as uv decides)"
                    self.r.fail(("project", "dynamic"),
                                f"'{field}' is dynamic, but this project {why}: it is no package, so nothing builds "
                                f"it and its {field} cannot be known",
                                f"list project.{field} statically, or make it a package ([build-system], "
                                "tool.uv.package = true)")
            requires_python = self.requires_python(warn=not member and not self.r.has(("tool", "uv", "workspace")))
            dependencies = self.requirements(("project", "dependencies"))
            optional = self.optional_dependencies()
        groups = self.dependency_groups()
        common = dict(
            pyproject=self.r.file, name=name, version=version, dependencies=dependencies,
            optional_dependencies=frozen_mapping(optional), dependency_groups=frozen_mapping(groups),
            virtual=virtual, has_build_system=self.r.has(("build-system",)), scripts=self.scripts(),
            dynamic=tuple(dynamic), origin=self.r.location(() if virtual else ("project",)), shown=self.r.shown,
            fingerprint=fingerprint(self.r.document, _UV_NO_EFFECT, _cutoff_meaning),
        )
        if member:
            located = {path: self.r.location(path) for path in _LOCATED_SETTINGS if self.r.has(path)}
            return self.member({**common, "locations": frozen_mapping(located)}, requires_python, optional, groups, name)
        workspace = self.workspace_settings()
        indexes = self.indexes()
        members = self.load_members(workspace, indexes, name) if workspace is not None else ()
        requires_python = self.workspace_requires_python(requires_python, members, workspace)
        all_extras = dict(optional)
        all_groups = dict(groups)
        for p in members:
            all_extras.update(p.optional_dependencies)
            all_groups.update(p.dependency_groups)
        local_names = ([] if virtual else [name]) + [p.name for p in members]
        uv = self.uv_settings(optional, groups, name, indexes, members, local_names, all_extras, all_groups)
        uv = dataclasses.replace(uv, indexes=self.with_member_indexes(indexes, members))
        uv = self.check_workspace_sources(uv, dependencies, optional, groups, members, local_names)
        planner = self.planner_settings(all_extras, all_groups, local_names)
        self.check_member_requirements(name, dependencies, optional, groups, uv, members)
        return Project(
            **{key: value for key, value in common.items() if key != "fingerprint"},
            requires_python=requires_python,
            uv=uv,
            planner=planner,
            warnings=tuple(self.warnings) + tuple(w for p in members for w in p.warnings),
            locations=frozen_mapping({path: self.r.location(path) for path in _LOCATED_SETTINGS if self.r.has(path)}),
            fingerprint=combined_fingerprint(common["fingerprint"], members, self.path_source_states(uv)),
            workspace=workspace,
            members=members,
        )

    def path_source_states(self, uv: UvSettings) -> list[str]:
        """`path` sources' trees and files as the fingerprint sees them, by the path as written
        (relative: a clone elsewhere has the same fingerprint)."""
        paths = {source.path: source.written for sources in uv.local_sources.values() for source in sources
                 if isinstance(source, PathSource)}
        return [f"path {written}={path_source_state(path, _UV_NO_EFFECT, _cutoff_meaning)}"
                for path, written in paths.items()]

    def scripts(self) -> Mapping[str, str]:
        path: KeyPath = ("project", "scripts")
        out = {}
        for key, value in self.r.table(path, example='{ serve = "app.main:run" }').items():
            out[key] = self.r.expect((*path, key), value, str, '"app.main:run"')
        return frozen_mapping(out)

    # -- workspaces ----------------------------------------------------------------------------
    def member(self, common: dict[str, Any], requires_python: SpecifierSet | None,
               optional: Mapping[str, Any], groups: Mapping[str, Any], name: NormalizedName) -> Project:
        """A workspace member: its own [project], groups, sources and `package`; the workspace's
        other settings are read from the root only (as uv does), so they are warned about here."""
        base = ("tool", "uv")
        for key in self.r.table(base):
            if key not in _UV_MEMBER_KEYS:
                self.warn((*base, key), f"tool.uv.{key} in a workspace member is ignored: uv reads it from "
                          "the workspace root only")
        if self.r.has(("tool", "planner")):
            self.warn(("tool", "planner"), "[tool.planner] in a workspace member is ignored: declare targets "
                      "in the workspace root")
        own = self.member_indexes(name)
        # uv looks an index a member's source names up in the member first, then in the root.
        index_sources, local_sources, direct_sources = self.sources(own + (self.root_indexes or ()), optional, groups)
        self.requirement_sources(local_sources, direct_sources)
        self.warn_unrouted_member_indexes(own, index_sources)
        uv = UvSettings(indexes=own, sources=frozen_mapping(index_sources), local_sources=frozen_mapping(local_sources),
                        direct_sources=frozen_mapping(direct_sources), package=self.package_setting())
        return Project(**common, requires_python=requires_python, uv=uv, planner=PlannerSettings(),
                       warnings=tuple(self.warnings))

    def workspace_settings(self) -> Workspace | None:
        base: KeyPath = ("tool", "uv", "workspace")
        if not self.r.has(base):
            return None
        table = self.r.table(base)
        self.r.reject_unknown_keys(base, table, ("members", "exclude"), "[tool.uv.workspace]")
        if "members" not in table:
            self.r.fail(base, "[tool.uv.workspace] has no members", 'add members = ["packages/*"] (globs of member folders)')
        globs = {}
        for key in ("members", "exclude"):
            patterns = self.r.string_array((*base, key), '["packages/*"]')
            for n, pattern in enumerate(patterns):
                if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
                    self.r.fail((*base, key, n), f"'{pattern}' leaves the workspace folder",
                                "write globs relative to the workspace root, e.g. \"packages/*\"")
            globs[key] = tuple(patterns)
        return Workspace(globs["members"], globs["exclude"], self.r.location(base))

    def load_members(self, workspace: Workspace, indexes: tuple[Index, ...], root_name: str) -> tuple[Project, ...]:
        """The members' folders matched by `members` and not by `exclude` (uv's rule: exclude
        wins); a matched folder without pyproject.toml is skipped with a warning, as uv does."""
        root = self.r.file.parent
        base: KeyPath = ("tool", "uv", "workspace")
        excluded = {path.resolve() for pattern in workspace.exclude for path in root.glob(pattern)}
        folders: dict[Path, KeyPath] = {}
        for n, pattern in enumerate(workspace.members):
            matched = sorted(p for p in root.glob(pattern) if p.is_dir())
            for folder in matched:
                resolved = folder.resolve()
                if resolved == root.resolve() or resolved in excluded or resolved in folders:
                    continue
                if not (folder / "pyproject.toml").is_file():
                    self.warn((*base, "members", n), f"workspace member folder '{folder.relative_to(root).as_posix()}' "
                              f"(matched by '{pattern}') has no pyproject.toml and is skipped")
                    continue
                folders[resolved] = (*base, "members", n)
        members: list[Project] = []
        seen: dict[str, Project] = {}
        for folder in sorted(folders, key=lambda f: f.relative_to(root.resolve()).as_posix()):
            shown = (folder.relative_to(root.resolve()) / "pyproject.toml").as_posix()
            member = _ProjectLoader(read_document(folder / "pyproject.toml", shown), root_indexes=indexes).load()
            other = seen.get(member.name)
            if other is not None or member.name == root_name:
                first = other.display_path() if other is not None else "the workspace root's pyproject.toml"
                raise InputError(
                    f"two workspace members are named '{member.name}': {first} and {shown}",
                    location=member.locate(("project", "name")),
                    fix="give each member a unique project.name, or exclude one in [tool.uv.workspace] exclude")
            seen[member.name] = member
            members.append(member)
        return tuple(members)

    def workspace_requires_python(self, own: SpecifierSet | None, members: tuple[Project, ...],
                                  workspace: Workspace | None) -> SpecifierSet | None:
        """uv's rule: the workspace's requires-python is the intersection of the members'."""
        found = [s for s in (own, *(m.requires_python for m in members)) if s is not None]
        if not found:
            if workspace is not None:
                self.warn(("project",) if self.r.has(("project",)) else ("tool", "uv", "workspace"),
                          "no member sets project.requires-python; derived targets use Python 3.12")
            return None
        combined = found[0]
        for specifier in found[1:]:
            combined &= specifier
        return combined

    def check_member_requirements(self, root_name: str, dependencies: tuple[Dependency, ...],
                                  optional: Mapping[str, tuple[Dependency, ...]],
                                  groups: Mapping[str, tuple[Dependency, ...]], uv: UvSettings,
                                  members: tuple[Project, ...]) -> None:
        """uv requires `{ workspace = true }` for a requirement on a member; planner resolves it to
        the member anyway (a local package is never taken from an index) and says so."""
        if not members:
            return
        names = {m.name for m in members} | {root_name}
        projects: list[tuple[tuple[Dependency, ...], Mapping[str, Any], str]] = [
            (dependencies + tuple(d for ds in optional.values() for d in ds) + tuple(d for ds in groups.values() for d in ds),
             uv.local_sources, root_name)]
        for m in members:
            projects.append((m.dependencies + tuple(d for ds in m.optional_dependencies.values() for d in ds)
                             + tuple(d for ds in m.dependency_groups.values() for d in ds),
                             m.uv.local_sources, m.name))
        for deps, sources, owner in projects:
            for dependency in deps:
                if dependency.name in names and dependency.name != owner and not any(
                        isinstance(s, WorkspaceSource) for s in (*sources.get(dependency.name, ()),
                                                                 *uv.local_sources.get(dependency.name, ()))):
                    self.warnings.append(Diagnostic(
                        f"'{dependency.requirement}' names workspace member '{dependency.name}' without "
                        f"{dependency.name} = {{ workspace = true }} in tool.uv.sources (uv requires it); "
                        "planner uses the member", dependency.origin))

    def requires_python(self, warn: bool = True) -> SpecifierSet | None:
        path = ("project", "requires-python")
        text = self.r.string(path, example='">=3.11"')
        if text is None:
            if warn:
                self.warn(("project",), "project.requires-python is not set; derived targets use Python 3.12")
            return None
        try:
            specifiers = SpecifierSet(text)
        except InvalidSpecifier:
            fix = 'write specifiers separated by commas, e.g. requires-python = ">=3.11,<3.14"'
            if _is_version(text.strip()):
                fix = f'add a comparison operator, e.g. requires-python = ">={text.strip()}"'
            self.r.fail(path, f"invalid version specifier '{text}'", fix)
        problem = specifier_problem(specifiers)
        if problem is not None:
            self.r.fail(path, f"requires-python '{text}': {problem}", 'e.g. requires-python = ">=3.11"')
        return specifiers

    def optional_dependencies(self) -> dict[NormalizedName, tuple[Dependency, ...]]:
        base = ("project", "optional-dependencies")
        out: dict[NormalizedName, tuple[Dependency, ...]] = {}
        for raw_name in self.r.table(base, example='{ cpu = ["torch==2.5.1"] }'):
            path = (*base, raw_name)
            extra = self.name(path, raw_name, "extra")
            if extra in out:
                self.r.fail(path, f"extra '{raw_name}' is declared twice (names are compared normalised, as '{extra}')",
                            "merge the two lists under one name")
            out[extra] = self.requirements(path)
        return out

    def dependency_groups(self) -> dict[NormalizedName, tuple[Dependency, ...]]:
        """PEP 735 groups with `{include-group = ...}` expanded, plus uv's legacy dev-dependencies."""
        base = ("dependency-groups",)
        raw_groups = self.r.table(base)
        names: dict[NormalizedName, str] = {}
        for raw_name in raw_groups:
            group = self.name((*base, raw_name), raw_name, "dependency group")
            if group in names:
                self.r.fail((*base, raw_name), f"dependency group '{raw_name}' is declared twice "
                            f"(names are compared normalised, as '{group}')", "merge the two groups")
            names[group] = raw_name
            self.r.array((*base, raw_name))  # type check early, with the group's location

        resolved: dict[NormalizedName, tuple[Dependency, ...]] = {}

        def expand(group: NormalizedName, stack: tuple[NormalizedName, ...]) -> tuple[Dependency, ...]:
            if group in resolved:
                return resolved[group]
            raw_name = names[group]
            items: list[Dependency] = []
            for n, item in enumerate(raw_groups[raw_name]):
                path = (*base, raw_name, n)
                if isinstance(item, dict):
                    if set(item) != {"include-group"}:
                        keys = sorted(item)
                        hint = did_you_mean(keys[0], ["include-group"]) if len(keys) == 1 else ""
                        self.r.fail(path, "a dependency-group entry must be a requirement string or {include-group = \"name\"}, "
                                    f"found a table with {'key' if len(keys) == 1 else 'keys'} {', '.join(keys) or 'none'}",
                                    (hint + " " if hint else "")
                                    + 'write { include-group = "other-group" } to include a group, or a requirement string')
                    target_raw = self.r.expect((*path, "include-group"), item["include-group"], str)
                    target = canonicalize_name(target_raw)
                    if target not in names:
                        hint = did_you_mean(target_raw, names.values())
                        self.r.fail((*path, "include-group"), f"included group '{target_raw}' does not exist",
                                    hint or f"declare [dependency-groups] {target_raw} = [...]")
                    if target in stack or target == group:
                        cycle = " -> ".join([*stack, group, target])
                        self.r.fail((*path, "include-group"), f"dependency groups include each other in a cycle: {cycle}",
                                    "remove one of the include-group entries")
                    items.extend(expand(target, (*stack, group)))
                else:
                    items.append(self.requirement(path, item))
            resolved[group] = tuple(items)
            return resolved[group]

        for group in names:
            expand(group, ())
        out = {group: resolved[group] for group in names}

        legacy = ("tool", "uv", "dev-dependencies")
        if self.r.has(legacy):
            dev = canonicalize_name("dev")
            out[dev] = out.get(dev, ()) + self.requirements(legacy)
            self.warn(legacy, "tool.uv.dev-dependencies is deprecated in uv; read as dependency group 'dev' "
                      "(move it to [dependency-groups] dev = [...])")
        return out

    # -- [tool.uv] -----------------------------------------------------------------------------
    def package_setting(self) -> bool | None:
        path: KeyPath = ("tool", "uv", "package")
        return self.r.boolean(path) if self.r.has(path) else None

    def uv_settings(self, extras: Mapping[str, Any], groups: Mapping[str, Any], project_name: str,
                    indexes: tuple[Index, ...], members: tuple[Project, ...], local_names: list[NormalizedName],
                    all_extras: Mapping[str, Any], all_groups: Mapping[str, Any]) -> UvSettings:
        base = ("tool", "uv")
        table = self.r.table(base)
        for key in table:
            if key in _UV_SUPPORTED or key in _UV_NO_EFFECT:
                continue
            if key in _UV_UNSUPPORTED:
                self.warn((*base, key), f"tool.uv.{key} is not supported by planner and is ignored: {_UV_UNSUPPORTED[key]}")
            else:
                hint = did_you_mean(key, (*_UV_SUPPORTED, *_UV_NO_EFFECT, *_UV_UNSUPPORTED))
                self.warn((*base, key), f"unknown key tool.uv.{key} is ignored" + (f" ({hint})" if hint else ""))
        constraints = self.requirements((*base, "constraint-dependencies"))
        overrides = self.requirements((*base, "override-dependencies"))
        conflicts = self.conflicts(all_extras, all_groups, project_name, members, local_names)
        index_sources, local_sources, direct_sources = self.sources(indexes, extras, groups)
        self.requirement_sources(local_sources, direct_sources, conflicts)
        index_sources, local_sources, direct_sources = self.workspace_sources(
            index_sources, local_sources, direct_sources, members)
        self.check_url_requirements(index_sources, local_sources, direct_sources)
        return UvSettings(
            indexes=indexes,
            sources=frozen_mapping(index_sources),
            local_sources=frozen_mapping(local_sources),
            direct_sources=frozen_mapping(direct_sources),
            package=self.package_setting(),
            index_strategy=self.choice((*base, "index-strategy"), IndexStrategy, IndexStrategy.FIRST_INDEX),
            prerelease=self.choice((*base, "prerelease"), PrereleaseMode, PrereleaseMode.IF_NECESSARY_OR_EXPLICIT),
            environments=self.markers((*base, "environments")),
            required_environments=self.markers((*base, "required-environments")),
            constraints=constraints,
            overrides=overrides,
            conflicts=conflicts,
            default_groups=self.default_groups(all_groups),
            resolution=self.choice((*base, "resolution"), Resolution, Resolution.HIGHEST),
            exclude_newer=self.exclude_newer((*base, "exclude-newer")),
            exclude_newer_package=frozen_mapping(self.exclude_newer_package()),
            upgrade=self.r.boolean((*base, "upgrade")),
            upgrade_package=self.upgrade_packages(),
            build=self.build_settings(),
        )

    def exclude_newer(self, path: KeyPath) -> ExcludeNewer | None:
        value = self.r.get(path)
        if value is None:
            return None
        try:
            return parse_exclude_newer(_cutoff_text(value), self.r.location(path))
        except TypeError:
            self.r.fail(path, f"expected a string, found {toml_type_name(value)}", f"write it as {CUTOFF_EXAMPLES}")
        except CutoffError as exc:
            self.r.fail(path, f"invalid exclude-newer value: {exc}", f"write {CUTOFF_EXAMPLES}")

    def exclude_newer_package(self) -> dict[NormalizedName, ExcludeNewer | None]:
        base = ("tool", "uv", "exclude-newer-package")
        out: dict[NormalizedName, ExcludeNewer | None] = {}
        for raw_name, value in self.r.table(base, example='{ torch = "2024-06-01", numpy = false }').items():
            path = (*base, raw_name)
            name = self.name(path, raw_name, "package")
            if value is False:
                out[name] = None  # no cut-off for this package
            elif value is True:
                self.r.fail(path, "true is not a cut-off", f"write false (no cut-off for {raw_name}) or {CUTOFF_EXAMPLES}")
            else:
                out[name] = self.exclude_newer(path)
        return out

    def upgrade_packages(self) -> tuple[Dependency, ...]:
        """`tool.uv.upgrade-package`: names, or requirements that bound the upgrade (as uv reads them)."""
        path: KeyPath = ("tool", "uv", "upgrade-package")
        return tuple(self.requirement((*path, n), raw) for n, raw in enumerate(self.r.string_array(path, '["torch"]')))

    # -- [tool.uv] build settings (planner/sources/build.py honours them) --------------------------
    def build_settings(self) -> BuildSettings:
        base: KeyPath = ("tool", "uv")
        keys = ("no-build", "no-build-package", "no-build-isolation", "no-build-isolation-package",
                "dependency-metadata", "build-constraint-dependencies",
                "extra-build-dependencies", "extra-build-variables", "config-settings", "config-settings-package")
        return BuildSettings(
            no_build=self.r.boolean((*base, "no-build")),
            no_build_package=tuple(self.name((*base, "no-build-package", n), raw, "package") for n, raw in
                                   enumerate(self.r.string_array((*base, "no-build-package"), '["numpy"]'))),
            no_isolation=self.r.boolean((*base, "no-build-isolation")),
            no_isolation_package=tuple(
                self.name((*base, "no-build-isolation-package", n), raw, "package") for n, raw in
                enumerate(self.r.string_array((*base, "no-build-isolation-package"), '["flash-attn"]'))),
            dependency_metadata=self.dependency_metadata(),
            constraints=self.requirements((*base, "build-constraint-dependencies")),
            extra_dependencies=frozen_mapping(self.extra_build_dependencies()),
            match_runtime=tuple(sorted(self.match_runtime)),
            variables=frozen_mapping(self.extra_build_variables()),
            config_settings=self.config_settings((*base, "config-settings")),
            config_settings_package=frozen_mapping({
                self.name((*base, "config-settings-package", raw), raw, "package"):
                    self.config_settings((*base, "config-settings-package", raw))
                for raw in self.r.table((*base, "config-settings-package"), example='{ numpy = { key = "value" } }')}),
            locations=frozen_mapping({key: self.r.location((*base, key)) for key in keys if self.r.has((*base, key))}),
        )

    def dependency_metadata(self) -> tuple[DependencyMetadata, ...]:
        base: KeyPath = ("tool", "uv", "dependency-metadata")
        out: list[DependencyMetadata] = []
        seen: dict[tuple[str, str | None], int] = {}
        example = '{ name = "flash-attn", version = "2.6.3", requires-dist = ["torch", "einops"] }'
        for n, entry in enumerate(self.r.array(base, f"[{example}]")):
            path: KeyPath = (*base, n)
            self.r.expect(path, entry, dict, example)
            self.r.reject_unknown_keys(path, entry, _DEPENDENCY_METADATA_KEYS, "a dependency-metadata entry")
            raw_name = self.r.string((*path, "name"), required=True, example='"flash-attn"')
            name = self.name((*path, "name"), raw_name, "package")
            raw_version = self.r.string((*path, "version"), example='"2.6.3"')
            version = None
            if raw_version is not None:
                try:
                    version = Version(raw_version)
                except InvalidVersion:
                    self.r.fail((*path, "version"), f"'{raw_version}' is not a PEP 440 version", 'e.g. version = "2.6.3"')
            if (name, raw_version) in seen:
                self.r.fail(path, f"dependency-metadata for {name} {raw_version or '(every version)'} is given twice "
                            f"(first in entry {seen[(name, raw_version)]})", "keep one entry per package and version")
            seen[(name, raw_version)] = n
            requires_python = self.r.string((*path, "requires-python"), example='">=3.9"')
            if requires_python is not None:
                try:
                    SpecifierSet(requires_python)
                except InvalidSpecifier:
                    self.r.fail((*path, "requires-python"), f"invalid version specifier '{requires_python}'",
                                'e.g. requires-python = ">=3.9"')
            extras = tuple(self.name((*path, "provides-extra", m), raw, "extra")
                           for m, raw in enumerate(self.r.string_array((*path, "provides-extra"), '["gpu"]')))
            out.append(DependencyMetadata(
                name=name, version=version,
                requires_dist=tuple(d.requirement for d in self.requirements((*path, "requires-dist"))),
                requires_python=requires_python, provides_extra=extras, origin=self.r.location(path)))
        return tuple(out)

    def extra_build_dependencies(self) -> dict[NormalizedName, tuple[Dependency, ...]]:
        base: KeyPath = ("tool", "uv", "extra-build-dependencies")
        out: dict[NormalizedName, tuple[Dependency, ...]] = {}
        for raw_name, items in self.r.table(base, example='{ cchardet = ["cython"] }').items():
            path: KeyPath = (*base, raw_name)
            name = self.name(path, raw_name, "package")
            found: list[Dependency] = []
            for n, item in enumerate(self.r.expect(path, items, list, '["cython"]')):
                if isinstance(item, dict):
                    self.r.reject_unknown_keys((*path, n), item, ("requirement", "match-runtime"),
                                               "an extra build dependency")
                    requirement = self.requirement((*path, n, "requirement"), item.get("requirement"))
                    if self.r.boolean((*path, n, "match-runtime")):
                        self.match_runtime.add(name)  # never built: BuildSettings.refused_build
                        continue
                    found.append(requirement)
                else:
                    found.append(self.requirement((*path, n), item))
            out[name] = tuple(found)
        return out

    def extra_build_variables(self) -> dict[NormalizedName, Mapping[str, str]]:
        base: KeyPath = ("tool", "uv", "extra-build-variables")
        out: dict[NormalizedName, Mapping[str, str]] = {}
        example = '{ vllm = { VLLM_TARGET_DEVICE = "cpu" } }'
        for raw_name in self.r.table(base, example=example):
            path: KeyPath = (*base, raw_name)
            variables = self.r.table(path, example='{ VLLM_TARGET_DEVICE = "cpu" }')
            for key, value in variables.items():
                if not _ENV_NAME_RE.match(key):
                    self.r.fail((*path, key), f"'{key}' is not an environment variable name",
                                "use letters, digits and '_', not starting with a digit")
                self.r.expect((*path, key), value, str, '"cpu"')
            out[self.name(path, raw_name, "package")] = frozen_mapping(variables)
        return out

    def config_settings(self, path: KeyPath) -> Mapping[str, str | tuple[str, ...]]:
        out: dict[str, str | tuple[str, ...]] = {}
        for key, value in self.r.table(path, example='{ editable_mode = "compat" }').items():
            if isinstance(value, list):
                out[key] = tuple(self.r.expect((*path, key, n), item, str) for n, item in enumerate(value))
            else:
                out[key] = self.r.expect((*path, key), value, str, '"value"')
        return frozen_mapping(out)

    def requirement_sources(self, local_sources: dict[NormalizedName, tuple[LocalSource, ...]],
                            direct_sources: dict[NormalizedName, tuple[DirectSource, ...]],
                            conflicts: tuple[ConflictSet, ...] = ()) -> None:
        """Sources for the requirements written with a URL (`name @ git+https://...`), added to
        `local_sources` (a `file:` URL of a folder) and `direct_sources`.

        As in uv, a URL pins the package wherever it appears (one URL per package), under the
        requirement's marker; an extra or group that is a member of a conflict set keeps its own
        URL (targets never activate two of them). A URL in override-dependencies replaces every
        other source of the package."""
        conflicted = {(item.kind.value, item.name) for conflict in conflicts for item in conflict.items}
        for path, dependency, reference in self.direct_requirements:
            name = dependency.name
            extra = group = None
            if path[:2] == ("project", "optional-dependencies") and ("extra", canonicalize_name(str(path[2]))) in conflicted:
                extra = canonicalize_name(str(path[2]))
            if path[0] == "dependency-groups" and ("group", canonicalize_name(str(path[1]))) in conflicted:
                group = canonicalize_name(str(path[1]))
            declared = (SourceDeclaration.OVERRIDE if path[:3] == ("tool", "uv", "override-dependencies")
                        else SourceDeclaration.REQUIREMENT)
            common = dict(marker=dependency.requirement.marker, extra=extra, group=group, origin=dependency.origin,
                          declared=declared)
            if isinstance(reference, PathReference):
                entry: Any = PathSource(package=name, path=reference.path, written=str(dependency.requirement.url),
                                        editable=False, **common)
                target: dict[NormalizedName, tuple[Any, ...]] = local_sources  # type: ignore[assignment]
            elif isinstance(reference, GitReference):
                entry, target = GitSource(package=name, reference=reference, **common), direct_sources
            else:
                entry, target = UrlSource(package=name, reference=reference, **common), direct_sources
            if entry not in target.get(name, ()):
                target[name] = target.get(name, ()) + (entry,)

    def check_url_requirements(self, index_sources: Mapping[NormalizedName, tuple[IndexSource, ...]],
                               local_sources: Mapping[NormalizedName, tuple[LocalSource, ...]],
                               direct_sources: Mapping[NormalizedName, tuple[DirectSource, ...]]) -> None:
        """A requirement's URL and a [tool.uv.sources] entry for the same package say two things
        about where it comes from: uv refuses that, and so does planner."""
        for package in {*local_sources, *direct_sources}:
            entries = (*index_sources.get(package, ()), *local_sources.get(package, ()), *direct_sources.get(package, ()))
            written = [e for e in entries if getattr(e, "declared", None) is SourceDeclaration.REQUIREMENT]
            table = [e for e in entries if getattr(e, "declared", SourceDeclaration.TABLE) is SourceDeclaration.TABLE]
            if written and table:
                raise InputError(
                    f"a requirement gives {package} a URL ({written[0].describe()}), and a [tool.uv.sources] entry "
                    f"(at {table[0].origin}) gives it a source too",
                    location=written[0].origin,
                    fix=f"keep one: write the requirement without its URL (just \"{package}\" with a version), "
                        "or remove the source entry")

    def default_groups(self, groups: Mapping[str, Any]) -> tuple[NormalizedName, ...]:
        path: KeyPath = ("tool", "uv", "default-groups")
        value = self.r.get(path)
        if value is None:
            return (canonicalize_name("dev"),) if "dev" in groups else ()
        if value == "all":
            return tuple(groups)
        out: list[NormalizedName] = []
        for n, raw in enumerate(self.r.expect(path, value, list, '["dev"] or "all"')):
            name = canonicalize_name(self.r.expect((*path, n), raw, str))
            if name not in groups:
                hint = did_you_mean(raw, groups)
                self.r.fail((*path, n), f"default group '{raw}' is not a dependency group of the project",
                            hint or f"declare it under [dependency-groups] (groups: {', '.join(groups) or 'none'})")
            out.append(name)
        return tuple(out)

    def choice(self, path: KeyPath, enum: Any, default: Any) -> Any:
        text = self.r.string(path)
        if text is None:
            return default
        try:
            return enum(text)
        except ValueError:
            values = [member.value for member in enum]
            hint = did_you_mean(text, values)
            self.r.fail(path, f"'{text}' is not a valid {format_key(path)}",
                        (hint + " " if hint else "") + f"use one of: {', '.join(values)}")

    def markers(self, path: KeyPath) -> tuple[Marker, ...]:
        value = self.r.get(path)
        if value is None:
            return ()
        if isinstance(value, str):
            return (self.marker(path, value),)
        items = self.r.expect(path, value, list)
        return tuple(self.marker((*path, n), item) for n, item in enumerate(items))

    def indexes(self) -> tuple[Index, ...]:
        out = self.index_tables()
        out.extend(self.legacy_index_urls(any(index.default for index in out), {index.name for index in out}))
        out.extend(self.find_links({index.name for index in out}))
        return tuple(out)

    def member_indexes(self, member: NormalizedName) -> tuple[Index, ...]:
        """A workspace member's `[[tool.uv.index]]` tables. uv looks up an index that the member's
        sources name among them first (then among the root's), and searches only the root's
        indexes for every other package: so each serves only the packages routed to it (it is
        explicit, whatever it says), and `default = true` in a member means nothing."""
        out = []
        for n, index in enumerate(self.index_tables()):
            if index.default:
                self.warn(("tool", "uv", "index", n, "default"),
                          f"default = true on index '{index.name}' in a workspace member is not read: the default "
                          "index comes from the workspace root, as in uv; this index serves only the packages "
                          "the member's sources route to it")
            out.append(dataclasses.replace(index, explicit=True, default=False, member=member))
        return tuple(out)

    def warn_unrouted_member_indexes(self, own: tuple[Index, ...],
                                     index_sources: Mapping[NormalizedName, tuple[IndexSource, ...]]) -> None:
        named = {source.index for sources in index_sources.values() for source in sources}
        for index in own:
            if index.name not in named:
                self.warnings.append(Diagnostic(
                    f"index '{index.name}' of this workspace member is named by none of its sources, so it is never "
                    "used: uv searches only the workspace root's indexes for packages no source routes (declare it "
                    "in the workspace root to search it, or route packages to it in this member's tool.uv.sources)",
                    index.origin))

    def with_member_indexes(self, indexes: tuple[Index, ...], members: tuple[Project, ...]) -> tuple[Index, ...]:
        """The root's indexes, then the members' (before the find-links locations, which close the
        list). One name is one index workspace-wide: a member repeating a name with the same URL
        shares that index; with another URL it is an error (uv would let each pyproject's sources
        mean its own, planner routes a package workspace-wide)."""
        by_name = {index.name: index for index in indexes}
        added: list[Index] = []
        for member in members:
            for index in member.uv.indexes:
                first = by_name.setdefault(index.name, index)
                if first is index:
                    added.append(index)
                elif (first.url, first.format) != (index.url, index.format):
                    raise InputError(
                        f"index '{index.name}' is defined twice with different URLs: {first.display_url} "
                        f"({first.origin}) and {index.display_url}",
                        location=index.origin,
                        fix="give the two indexes different names and name the right one in each tool.uv.sources, "
                            "or define the index once in the workspace root")
        cut = next((n for n, index in enumerate(indexes) if index.find_links), len(indexes))
        return (*indexes[:cut], *added, *indexes[cut:])

    def index_tables(self) -> list[Index]:
        """`[[tool.uv.index]]`, in the order written."""
        base = ("tool", "uv", "index")
        out: list[Index] = []
        seen: dict[str, KeyPath] = {}
        for n, entry in enumerate(self.r.array(base)):
            path = (*base, n)
            self.r.expect(path, entry, dict)
            for key in entry:
                if key not in _INDEX_KEYS:
                    hint = did_you_mean(key, _INDEX_KEYS)
                    self.warn((*path, key), f"unknown key '{key}' in [[tool.uv.index]] is ignored" + (f" ({hint})" if hint else ""))
            name = self.r.string((*path, "name"))
            if name is None:
                name = f"index-{n + 1}"
            elif not _INDEX_NAME_RE.fullmatch(name):
                self.r.fail((*path, "name"), f"'{name}' is not a valid index name",
                            "use ASCII letters, digits, '-', '_' and '.'")
            if name in seen:
                self.r.fail((*path, "name"), f"index name '{name}' is used twice "
                            f"(first at line {self.r.location(seen[name]).line})", "give each [[tool.uv.index]] a unique name")
            seen[name] = path
            raw_url = self.r.string((*path, "url"), required=True, example='"https://download.pytorch.org/whl/cpu"')
            try:
                url = normalize_index_url(raw_url, self.r.file.parent)
            except ValueError as exc:
                self.r.fail((*path, "url"), f"invalid index URL: {exc}", "use an https:// URL of a simple index, or a local path")
            index_format = self.choice((*path, "format"), IndexFormat, IndexFormat.SIMPLE)
            out.append(Index(
                name=name,
                url=url,
                explicit=self.r.boolean((*path, "explicit")),
                default=self.r.boolean((*path, "default")),
                origin=self.r.location(path),
                format=index_format,
            ))
        defaults = [(n, index) for n, index in enumerate(out) if index.default]
        if len(defaults) > 1:
            (_, first), (n, second) = defaults[:2]
            self.r.fail((*base, n, "default"),
                        f"more than one index is marked default = true ('{first.name}' and '{second.name}')",
                        "keep default = true on one index only")
        return out

    def find_links(self, taken: set[str]) -> list[Index]:
        """uv's `find-links`: flat pages or folders of files consulted beside the indexes, named
        `find-links-N` in messages and outputs."""
        path: KeyPath = ("tool", "uv", "find-links")
        out: list[Index] = []
        for n, raw in enumerate(self.r.string_array(path, '["./wheels", "https://example.com/wheels.html"]')):
            item: KeyPath = (*path, n)
            try:
                url = normalize_index_url(raw, self.r.file.parent)
            except ValueError as exc:
                self.r.fail(item, f"invalid find-links location: {exc}",
                            "use an https:// URL of an HTML page of links, or the path of a folder of wheels and sdists")
            name = f"find-links-{n + 1}"
            if name in taken:
                self.r.fail(item, f"index name '{name}' is reserved for tool.uv.find-links",
                            "rename the [[tool.uv.index]] entry")
            out.append(Index(name=name, url=url, origin=self.r.location(item), format=IndexFormat.FLAT,
                             find_links=True))
        return out

    def legacy_index_urls(self, has_default: bool, taken: set[str]) -> list[Index]:
        """uv's older `index-url` / `extra-index-url` settings, as unnamed indexes."""
        out: list[Index] = []
        for n, raw in enumerate(self.r.string_array(("tool", "uv", "extra-index-url"))):
            path: KeyPath = ("tool", "uv", "extra-index-url", n)
            out.append(Index(name=f"extra-index-url-{n + 1}", url=self.legacy_url(path, raw), origin=self.r.location(path)))
        raw = self.r.string(("tool", "uv", "index-url"))
        if raw is not None:
            path = ("tool", "uv", "index-url")
            if has_default:
                self.r.fail(path, "tool.uv.index-url and an index with default = true both replace PyPI",
                            "keep only one of them")
            out.append(Index(name="index-url", url=self.legacy_url(path, raw), default=True, origin=self.r.location(path)))
        for index in out:
            if index.name in taken:
                raise InputError(f"index name '{index.name}' is reserved for tool.uv.{index.name.rstrip('-0123456789')}",
                                 location=index.origin, fix="rename the [[tool.uv.index]] entry")
        return out

    def legacy_url(self, path: KeyPath, raw: str) -> str:
        try:
            return normalize_index_url(raw, self.r.file.parent)
        except ValueError as exc:
            self.r.fail(path, f"invalid index URL: {exc}", "use an https:// URL of a simple index")

    def sources(self, indexes: tuple[Index, ...], extras: Mapping[str, Any], groups: Mapping[str, Any],
                ) -> tuple[dict[NormalizedName, tuple[IndexSource, ...]], dict[NormalizedName, tuple[LocalSource, ...]],
                           dict[NormalizedName, tuple[DirectSource, ...]]]:
        """`[tool.uv.sources]`: index entries, local ones (`path`, `workspace`) and direct ones
        (`git`, `url`), per package."""
        base = ("tool", "uv", "sources")
        index_names = [index.name for index in indexes] + [PYPI_NAME]
        out: dict[NormalizedName, tuple[IndexSource, ...]] = {}
        local: dict[NormalizedName, tuple[LocalSource, ...]] = {}
        direct: dict[NormalizedName, tuple[DirectSource, ...]] = {}
        for raw_name, value in self.r.table(base).items():
            package = self.name((*base, raw_name), raw_name, "package")
            if package in out or package in local or package in direct:
                self.r.fail((*base, raw_name), f"sources for '{package}' are declared twice", "merge them into one list")
            if isinstance(value, dict):
                entries = [((*base, raw_name), value)]
            elif isinstance(value, list):
                entries = [((*base, raw_name, n), item) for n, item in enumerate(value)]
                if not entries:
                    self.r.fail((*base, raw_name), f"empty source list for '{raw_name}'", "remove the entry or add a source")
            else:
                self.r.fail((*base, raw_name), f"expected a table or an array of tables, found {toml_type_name(value)}",
                            f'e.g. {raw_name} = {{ index = "pytorch-cpu" }}')
            parsed = [self.source(path, entry, package, index_names, extras, groups) for path, entry in entries]
            indexed = tuple(e for e in parsed if isinstance(e, IndexSource))
            on_disk = tuple(e for e in parsed if isinstance(e, (PathSource, WorkspaceSource)))
            remote = tuple(e for e in parsed if isinstance(e, (GitSource, UrlSource)))
            if indexed:
                out[package] = indexed
            if on_disk:
                local[package] = on_disk
            if remote:
                direct[package] = remote
        return out, local, direct

    def source(self, path: KeyPath, entry: Any, package: NormalizedName, index_names: list[str],
               extras: Mapping[str, Any], groups: Mapping[str, Any]) -> IndexSource | LocalSource | DirectSource:
        self.r.expect(path, entry, dict)
        kinds = [kind for kind in ("index", "path", "workspace", "git", "url") if kind in entry]
        if len(kinds) > 1:
            self.r.fail(path, f"a source for '{package}' sets both {kinds[0]} and {kinds[1]}",
                        "give each source one kind: index, path, workspace, git or url (use a list of sources with "
                        "markers for several)")
        kind = kinds[0] if kinds else "index"
        keys = {"index": _SOURCE_KEYS, "path": _PATH_SOURCE_KEYS, "workspace": _WORKSPACE_SOURCE_KEYS,
                "git": _GIT_SOURCE_KEYS, "url": _URL_SOURCE_KEYS}[kind]
        for key in entry:
            if key not in keys:
                hint = did_you_mean(key, keys)
                self.r.fail((*path, key), f"unknown key '{key}' in a source for '{package}'",
                            (hint + " " if hint else "") + f"{kind} sources take: {', '.join(keys)}")
        marker = self.marker((*path, "marker"), entry["marker"]) if "marker" in entry else None
        extra = group = None
        if "extra" in entry and "group" in entry:
            self.r.fail(path, f"a source for '{package}' sets both extra and group", "use two entries, one per condition")
        if "extra" in entry:
            raw = self.r.expect((*path, "extra"), entry["extra"], str)
            extra = canonicalize_name(raw)
            if extra not in extras:
                hint = did_you_mean(raw, extras)
                self.r.fail((*path, "extra"), f"source for '{package}' applies to extra '{raw}', which the project does not declare",
                            hint or f"declare it under [project.optional-dependencies] or fix the name (extras: {', '.join(extras) or 'none'})")
        if "group" in entry:
            raw = self.r.expect((*path, "group"), entry["group"], str)
            group = canonicalize_name(raw)
            if group not in groups:
                hint = did_you_mean(raw, groups)
                self.r.fail((*path, "group"), f"source for '{package}' applies to group '{raw}', which the project does not declare",
                            hint or f"declare it under [dependency-groups] (groups: {', '.join(groups) or 'none'})")
        origin = self.r.location(path)
        if kind in ("git", "url"):
            return self.direct_source(kind, path, entry, package, marker, extra, group)
        if kind == "path":
            written = self.r.string((*path, "path"), example='"../lib"')
            if not written or not written.strip():
                self.r.fail((*path, "path"), f"empty path in the source for '{package}'",
                            'give the folder, wheel or sdist, relative to this pyproject, e.g. path = "../lib"')
            if "package" in entry:
                self.r.boolean((*path, "package"))
                self.warn((*path, "package"), "'package' in a path source is ignored: a local source tree "
                          "required by name is installed as a package")
            resolved = (self.r.file.parent / Path(written).expanduser()).resolve()
            return PathSource(package=package, path=resolved, written=written,
                              editable=self.r.boolean((*path, "editable")), marker=marker, extra=extra, group=group,
                              origin=origin)
        if kind == "workspace":
            value = entry["workspace"]
            if isinstance(value, str):
                self.r.fail((*path, "workspace"), "workspace sources that name another workspace's path are not supported",
                            f"use {{ path = \"{value}\" }} for a package of another workspace, or workspace = true "
                            "for a member of this one")
            if self.r.expect((*path, "workspace"), value, bool, "true") is not True:
                self.r.fail((*path, "workspace"), "workspace = false is not a source",
                            f"write {package} = {{ workspace = true }}, or remove the entry")
            return WorkspaceSource(package=package, editable=self.r.boolean((*path, "editable"), default=True),
                                   marker=marker, extra=extra, group=group, origin=origin)
        index = self.r.string((*path, "index"), required=True, example='"pytorch-cpu"')
        if index not in index_names:
            hint = did_you_mean(index, index_names)
            self.r.fail((*path, "index"), f"source for '{package}' names index '{index}', which is not defined",
                        (hint + " " if hint else "") + f'add [[tool.uv.index]] with name = "{index}" and its url'
                        + (f" (defined: {', '.join(index_names[:-1])})" if len(index_names) > 1 else ""))
        return IndexSource(package=package, index=index, marker=marker, extra=extra, group=group, origin=origin)

    def direct_source(self, kind: str, path: KeyPath, entry: dict[str, Any], package: NormalizedName,
                      marker: Marker | None, extra: NormalizedName | None, group: NormalizedName | None) -> DirectSource:
        """`{ git = "...", rev | tag | branch = "...", subdirectory = "..." }` or `{ url = "..." }`."""
        texts = {key: self.r.string((*path, key), example='"..."') for key in entry
                 if key in ("git", "rev", "tag", "branch", "subdirectory", "url")}
        locations = frozen_mapping({key: self.r.location((*path, key)) for key in entry})
        common = dict(marker=marker, extra=extra, group=group, origin=self.r.location(path), key_locations=locations)
        try:
            if kind == "git":
                if "lfs" in entry and self.r.boolean((*path, "lfs")):
                    self.warn((*path, "lfs"), "lfs = true is not supported: planner reads the repository without "
                              "its Git LFS objects (its metadata needs none; installers fetch them)")
                reference = git_source(texts["git"] or "", rev=texts.get("rev"), tag=texts.get("tag"),
                                       branch=texts.get("branch"), subdirectory=texts.get("subdirectory"))
                return GitSource(package=package, reference=reference, **common)
            found = url_source(texts["url"] or "", subdirectory=texts.get("subdirectory"))
        except DirectReferenceError as exc:
            fix = exc.fix.replace("(for a git repository write git+https://...)",
                                  '(for a git repository use { git = "https://..." })')
            self.r.fail((*path, exc.key or kind), f"the {kind} source for '{package}': {exc.problem}", fix)
        if found.name is not None and found.kind.value == "wheel" and found.name != package:
            self.r.fail((*path, "url"), f"the url source for '{package}' names a wheel of '{found.name}'",
                        f"point it at a wheel of {package}, or move the entry to {found.name}")
        return UrlSource(package=package, reference=found, **common)

    def workspace_sources(self, index_sources: dict[NormalizedName, tuple[IndexSource, ...]],
                          local_sources: dict[NormalizedName, tuple[LocalSource, ...]],
                          direct_sources: dict[NormalizedName, tuple[DirectSource, ...]], members: tuple[Project, ...],
                          ) -> tuple[dict[NormalizedName, tuple[IndexSource, ...]], dict[NormalizedName, tuple[LocalSource, ...]],
                                     dict[NormalizedName, tuple[DirectSource, ...]]]:
        """One source table for the whole workspace. uv applies the root's sources to every member
        unless a member declares its own for that package, and a member's only to its own
        requirements; planner applies sources wherever a package appears, so a member's entry
        replaces the root's for the package (with a warning when they differ), and members that
        disagree are an error (docs/uv-compat.md). Direct references written in the members'
        requirements (`name @ url`) join the root's."""
        merged: list[dict[NormalizedName, tuple[Any, ...]]] = [dict(index_sources), dict(local_sources), dict(direct_sources)]
        declared: dict[NormalizedName, tuple[Project, tuple[Any, ...]]] = {}

        def tables(entries: tuple[Any, ...]) -> tuple[Any, ...]:
            return tuple(e for e in entries if getattr(e, "declared", SourceDeclaration.TABLE) is SourceDeclaration.TABLE)

        for member in members:
            own = (member.uv.sources, member.uv.local_sources, member.uv.direct_sources)
            for package in set().union(*own):
                entries = tables(sum((mapping.get(package, ()) for mapping in own), ()))
                if not entries:
                    continue
                meaning = _source_meaning(entries)
                first = declared.get(package)
                if first is not None:
                    if _source_meaning(first[1]) != meaning:
                        raise InputError(
                            f"workspace members declare different sources for '{package}': "
                            f"{first[0].display_path()} and {member.display_path()}",
                            location=entries[0].origin,
                            fix="declare one source for it in the workspace root's [tool.uv.sources] and remove "
                                "the members' entries (planner applies a source wherever the package appears)")
                    continue
                declared[package] = (member, entries)
                root_entries = tables(sum((mapping.get(package, ()) for mapping in (index_sources, local_sources,
                                                                                        direct_sources)), ()))
                if root_entries and _source_meaning(root_entries) != meaning:
                    self.warnings.append(Diagnostic(
                        f"{member.display_path()} declares its own source for '{package}'; planner uses it for "
                        f"every requirement on {package} in the workspace (uv: for that member's only)",
                        entries[0].origin))
                for mapping, member_mapping in zip(merged, own, strict=True):
                    kept = tuple(e for e in mapping.pop(package, ()) if e not in tables((e,)))
                    chosen = kept + tables(member_mapping.get(package, ()))
                    if chosen:
                        mapping[package] = chosen
        # Requirements with a URL in a member hold wherever the package appears, as the root's.
        for member in members:
            for mapping, member_mapping in zip(merged, (member.uv.sources, member.uv.local_sources,
                                                        member.uv.direct_sources), strict=True):
                for package, entries in member_mapping.items():
                    for entry in entries:
                        if getattr(entry, "declared", SourceDeclaration.TABLE) is not SourceDeclaration.TABLE \
                                and entry not in mapping.get(package, ()):
                            mapping[package] = mapping.get(package, ()) + (entry,)
        return merged[0], merged[1], merged[2]

    def check_workspace_sources(self, uv: UvSettings, dependencies: tuple[Dependency, ...],
                                optional: Mapping[str, tuple[Dependency, ...]],
                                groups: Mapping[str, tuple[Dependency, ...]], members: tuple[Project, ...],
                                local_names: list[NormalizedName]) -> UvSettings:
        """A `workspace = true` source must name a member when a requirement of the workspace uses it
        (uv fails then, and so does planner). uv lowers sources per requirement, so an entry that no
        requirement names is never read and the lock succeeds: planner warns and drops it, so that a
        package of that name required by an index package still comes from the indexes."""
        required: set[NormalizedName] = set()
        for project_deps in ((dependencies, optional, groups, uv.constraints, uv.overrides),
                             *((m.dependencies, m.optional_dependencies, m.dependency_groups) for m in members)):
            for deps in project_deps:
                for dependency in (d for ds in deps.values() for d in ds) if isinstance(deps, Mapping) else deps:
                    required.add(dependency.name)
        kept: dict[NormalizedName, tuple[LocalSource, ...]] = {}
        for package, entries in uv.local_sources.items():
            stray = [e for e in entries if isinstance(e, WorkspaceSource) and package not in local_names]
            if stray and package in required:
                names = ", ".join(sorted(local_names)) or "none"
                hint = did_you_mean(package, local_names)
                raise InputError(
                    f"source for '{package}' says workspace = true, but no workspace member is named "
                    f"'{package}' (members: {names})",
                    location=stray[0].origin,
                    fix=(hint + " " if hint else "") + "add its folder to [tool.uv.workspace] members in the "
                        "workspace root, or use { path = \"...\" } or an index source")
            if stray:
                hint = did_you_mean(package, local_names)
                self.warnings.append(Diagnostic(
                    f"source for '{package}' says workspace = true, but no workspace member is named '{package}' "
                    "and no requirement of the workspace names it: ignored, as uv ignores it"
                    + (f" ({hint})" if hint else ""), stray[0].origin))
            rest = tuple(e for e in entries if e not in stray)
            if rest:
                kept[package] = rest
        return dataclasses.replace(uv, local_sources=frozen_mapping(kept))

    def conflicts(self, extras: Mapping[str, Any], groups: Mapping[str, Any], project_name: str,
                  members: tuple[Project, ...] = (), local_names: list[NormalizedName] | None = None,
                  ) -> tuple[ConflictSet, ...]:
        base = ("tool", "uv", "conflicts")
        out: list[ConflictSet] = []
        for n, raw_set in enumerate(self.r.array(base)):
            set_path = (*base, n)
            if isinstance(raw_set, dict):
                self.r.fail(set_path, "expected a conflict set (an array of items), found a table",
                            "tool.uv.conflicts is a list of sets: wrap the items in a second pair of brackets, "
                            'e.g. conflicts = [[{ extra = "cpu" }, { extra = "gpu" }]]')
            raw_items = self.r.expect(set_path, raw_set, list, '[{ extra = "cpu" }, { extra = "gpu" }]')
            items: list[ConflictItem] = []
            undeclared: set[ConflictItem] = set()
            for m, member in enumerate(raw_items):
                path = (*set_path, m)
                self.r.expect(path, member, dict, '{ extra = "cpu" }')
                unknown = set(member) - {"extra", "group", "package"}
                if unknown:
                    self.r.fail((*path, sorted(unknown)[0]), f"unknown key '{sorted(unknown)[0]}' in a conflict item",
                                "a conflict item is { extra = \"...\" } or { group = \"...\" }")
                owner = None
                if "package" in member:
                    raw_package = self.r.expect((*path, "package"), member["package"], str)
                    owner = canonicalize_name(raw_package)
                    names = local_names if local_names is not None else [project_name]
                    if owner not in names:
                        hint = did_you_mean(raw_package, names)
                        self.r.fail((*path, "package"), f"conflict names package '{raw_package}', which is no "
                                    f"workspace member (members: {', '.join(names) or 'none'})",
                                    hint or "name a member of [tool.uv.workspace], or fix the name")
                kinds = [kind for kind in ("extra", "group") if kind in member]
                if len(kinds) > 1 or (not kinds and owner is None):
                    self.r.fail(path, "a conflict item needs exactly one of 'extra', 'group' or 'package'",
                                'e.g. { extra = "cpu" } or { package = "api" }')
                if not kinds:
                    items.append(ConflictItem(ConflictKind.PACKAGE, owner))  # type: ignore[arg-type]
                    continue
                kind = ConflictKind(kinds[0])
                raw = self.r.expect((*path, kind.value), member[kind.value], str)
                name = canonicalize_name(raw)
                declared = extras if kind is ConflictKind.EXTRA else groups
                if owner is not None:  # `{ extra = "x", package = "api" }`: an extra of that member
                    project = next((m for m in members if m.name == owner), None)
                    if project is not None:
                        declared = project.optional_dependencies if kind is ConflictKind.EXTRA else project.dependency_groups
                items.append(ConflictItem(kind, name))
                if name not in declared:  # uv accepts it: an extra nothing activates conflicts with nothing
                    hint = did_you_mean(raw, declared)
                    table = "[project.optional-dependencies]" if kind is ConflictKind.EXTRA else "[dependency-groups]"
                    self.warn((*path, kind.value),
                              f"conflict names {kind.value} '{raw}', which the project does not declare: it has no "
                              "effect (uv accepts it too); " + (hint or f"declare it under {table} or remove it "
                                                                f"(declared: {', '.join(declared) or 'none'})"))
                    undeclared.add(items[-1])
            if len(set(items)) < 2:
                self.r.fail(set_path, "a conflict set needs at least two different extras or groups",
                            'list every extra or group that cannot be installed together, '
                            'e.g. [{ extra = "cpu" }, { extra = "gpu" }], or remove the set')
            kept = tuple(item for item in items if item not in undeclared)
            if len(set(kept)) >= 2:
                out.append(ConflictSet(kept, self.r.location(set_path)))
        return tuple(out)

    # -- [tool.planner] ---------------------------------------------------------------------
    def planner_settings(self, extras: Mapping[str, Any], groups: Mapping[str, Any],
                         local_names: list[NormalizedName] | None = None) -> PlannerSettings:
        base = ("tool", "planner")
        table = self.r.table(base)
        self.r.reject_unknown_keys(base, table, ("targets", "alignment", "prefer-newest"), "[tool.planner]")
        alignment = self.r.string((*base, "alignment")) or "per-python"
        if alignment not in ALIGNMENT_MODES:
            hint = did_you_mean(alignment, ALIGNMENT_MODES)
            self.r.fail((*base, "alignment"), f"'{alignment}' is not an alignment mode",
                        (hint + " " if hint else "") + f"use one of: {', '.join(ALIGNMENT_MODES)}")
        prefer: list[NormalizedName] = []
        for n, raw in enumerate(self.r.string_array((*base, "prefer-newest"), '["vllm"]')):
            name = self.name((*base, "prefer-newest", n), raw, "package")
            if name in prefer:
                self.r.fail((*base, "prefer-newest", n), f"'{raw}' is listed twice in prefer-newest",
                            "list each package once, most important first")
            prefer.append(name)
        targets: list[TargetSpec] = []
        for name, raw in self.r.table((*base, "targets")).items():
            path = (*base, "targets", name)
            if not _TARGET_NAME_RE.fullmatch(name) or len(name) > MAX_TARGET_NAME:
                shown = name if len(name) <= 40 else name[:40] + "…"
                self.r.fail(path, f"{shown!r} is not a valid target name"
                            + (f" ({len(name)} characters)" if len(name) > MAX_TARGET_NAME else ""),
                            f"use up to {MAX_TARGET_NAME} letters, digits, '-', '_' and '.' (it becomes a folder name)")
            self.r.expect(path, raw, dict)
            targets.append(self.target(path, name, raw, extras, groups, local_names or []))
        return PlannerSettings(targets=tuple(targets), alignment=alignment, prefer_newest=tuple(prefer))

    def docker_command(self, path: KeyPath) -> tuple[str, ...] | None:
        """`command`: an array of words (exec form), or a string split as a shell would."""
        value = self.r.get(path)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                words = shlex.split(value)
            except ValueError as exc:
                self.r.fail(path, f"cannot split the command '{value}': {exc}", 'e.g. command = ["serve", "--port", "8000"]')
        else:
            words = [self.r.expect((*path, n), item, str) for n, item in enumerate(self.r.expect(path, value, list))]
        if not words or any(not word or "\n" in word for word in words):
            self.r.fail(path, "the docker command is empty or has an empty word or a line break",
                        'e.g. command = ["serve", "--port", "8000"]')
        return tuple(words)

    def target(self, path: KeyPath, name: str, raw: dict[str, Any], extras: Mapping[str, Any],
               groups: Mapping[str, Any], local_names: list[NormalizedName]) -> TargetSpec:
        self.r.reject_unknown_keys(path, raw, _TARGET_KEYS, f"target '{name}'")
        platform = self.r.string((*path, "platform"), required=True, example='"linux-x86_64"')
        activated: dict[str, tuple[NormalizedName, ...]] = {}
        for key, declared, table in (("extras", extras, "[project.optional-dependencies]"),
                                     ("groups", groups, "[dependency-groups]")):
            names: list[NormalizedName] = []
            for n, raw_item in enumerate(self.r.string_array((*path, key), '["cpu"]')):
                item = canonicalize_name(raw_item)
                if item not in declared:
                    hint = did_you_mean(raw_item, declared)
                    self.r.fail((*path, key, n), f"target '{name}' activates {key[:-1]} '{raw_item}', which the project does not declare",
                                hint or f"declare it under {table} (declared: {', '.join(declared) or 'none'})")
                if item not in names:
                    names.append(item)
            activated[key] = tuple(names)
        docker_path = (*path, "docker")
        docker_table = self.r.table(docker_path)
        self.r.reject_unknown_keys(docker_path, docker_table, _DOCKER_KEYS, f"target '{name}' docker settings")
        docker_groups: list[NormalizedName] = []
        for n, raw_item in enumerate(self.r.string_array((*docker_path, "groups"), '["prod"]')):
            item = canonicalize_name(raw_item)
            if item not in activated["groups"]:
                self.r.fail((*docker_path, "groups", n), f"target '{name}' docker image installs group '{raw_item}', "
                            "which the target does not activate",
                            f"add it to the target's groups (now: {', '.join(activated['groups']) or 'none'})")
            docker_groups.append(item)
        docker = DockerSettings(
            base_image=self.r.string((*docker_path, "base-image")),
            build_base_image=self.r.string((*docker_path, "build-base-image")),
            debian_suite=self.r.string((*docker_path, "debian-suite")),
            origin=self.r.location(docker_path) if docker_table else None,
            command=self.docker_command((*docker_path, "command")),
            groups=tuple(docker_groups),
        )
        packages = None
        if "packages" in raw:
            names: list[NormalizedName] = []
            for n, raw_item in enumerate(self.r.string_array((*path, "packages"), '["api"]')):
                item = canonicalize_name(raw_item)
                if item not in local_names:
                    hint = did_you_mean(raw_item, local_names)
                    self.r.fail((*path, "packages", n), f"target '{name}' installs package '{raw_item}', which is "
                                "not the project or a workspace member",
                                hint or f"name one of: {', '.join(local_names) or 'none (declare [tool.uv.workspace] members)'}")
                if item not in names:
                    names.append(item)
            if not names:
                self.r.fail((*path, "packages"), f"target '{name}' installs no package",
                            "list at least one workspace member, or remove the key (default: the root project, "
                            "or every member under a virtual root)")
            packages = tuple(names)
        return TargetSpec(
            name=name,
            platform=platform,
            python=self.r.string((*path, "python"), example='"3.11"'),
            accelerator=self.r.string((*path, "accelerator"), example='"cuda12.4"'),
            extras=activated["extras"],
            groups=activated["groups"],
            manylinux=self.r.string((*path, "manylinux"), example='"2.28"'),
            macos=self.r.string((*path, "macos"), example='"13.0"'),
            docker=docker,
            origin=self.r.location(path),
            packages=packages,
            key_locations=frozen_mapping({key: self.r.location((*path, key)) for key in raw}),
        )
