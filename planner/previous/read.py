"""Read the previous outputs: `plan.json` in the output folder, else a PEP 751 lock.

Where pins come from, first found wins:
1. `<output>/plan.json`, as planner writes it;
2. `<output>/pylock.toml` or `<output>/pylock.<target>.toml` (planner's lock, or another tool's);
3. `pylock.toml` beside the pyproject (another tool's, e.g. `uv export --format pylock.toml`).

A lock is read per target with `packaging.pylock` (its markers, extras and groups evaluated for the
target's environment, its wheels ranked by the target's tags), so any standard lock works.

These files are untrusted input. Nothing in them becomes a path, a URL or an output: a pin is only
ever compared with what the indexes list now (a version, an index name, a file name and its
sha256), so the worst a forged file can do is prefer one of the index's own files. A git
package's commit (a full commit id, checked) is kept only for a source whose repository and ref
match what the pyproject says now, and is asked of that repository alone: the worst a forged
commit can do is pick another commit of the project's own repository. A file that
does not read back as a plan or a lock is ignored with a warning naming it and what is wrong; the
compile then plans without pins.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import InvalidName, NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from planner.errors import Diagnostic
from planner.previous.model import GitPin, Pin, PreviousPlan
from planner.project.cutoffs import CutoffError, RecordedCutoff, parse_span, parse_upload_time
from planner.project.model import Project, frozen_mapping
from planner.targets.model import Target
from planner.urls import strip_userinfo

if TYPE_CHECKING:  # (loaded when a lock is read: a compile whose inputs did not change reads none)
    from packaging.pylock import Pylock

PLAN_FILE = "plan.json"
_COMMIT_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256 repositories
MAX_BYTES = 64 * 1024 * 1024  # larger than any real plan; a bigger file is not read


class Invalid(ValueError):
    """What is wrong with a previous output, as "key: problem"."""


@dataclass(frozen=True)
class Previous:
    plan: PreviousPlan | None
    warnings: tuple[Diagnostic, ...] = ()


def read_previous(out_dir: Path, project: Project, targets: Sequence[Target],
                  index_urls: Mapping[str, str]) -> Previous:
    """The pins of the previous outputs (see the module docstring). `index_urls`: index name ->
    the URL outputs name it by, to recognise the indexes a lock names."""
    warnings: list[Diagnostic] = []
    plan_file = out_dir / PLAN_FILE
    if plan_file.is_file():
        try:
            return Previous(_plan_json(plan_file, project), tuple(warnings))
        except Invalid as exc:
            warnings.append(Diagnostic(f"{plan_file} is not a plan planner can read ({exc}); "
                                       "it is ignored and no pins are kept from it"))
    locks = sorted(out_dir.glob("pylock*.toml")) if out_dir.is_dir() else []
    if not locks and (project.root / "pylock.toml").is_file():
        locks = [project.root / "pylock.toml"]
    if locks:
        try:
            return Previous(_locks(locks, project, targets, index_urls), tuple(warnings))
        except Invalid as exc:
            warnings.append(Diagnostic(f"{exc}; no pins are kept from it"))
    return Previous(None, tuple(warnings))


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise Invalid(f"larger than {MAX_BYTES // (1024 * 1024)} MiB")
        return path.read_bytes()
    except OSError as exc:
        raise Invalid(f"cannot be read: {exc.strerror}") from None


# -- plan.json ----------------------------------------------------------------------------------
def plan_document(path: Path) -> dict[str, Any]:
    """plan.json as a JSON object of this planner's plan format (`Invalid` otherwise)."""
    try:
        document = json.loads(_read(path))
    except ValueError:
        raise Invalid("not valid JSON") from None
    _expect(document, dict, "the document")
    if document.get("planner_plan") != 1:
        raise Invalid("planner_plan: not 1 (not a plan of this planner version)")
    return document


def _plan_json(path: Path, project: Project) -> PreviousPlan:
    document = plan_document(path)
    if document.get("project") != project.name:
        raise Invalid(f"project: it is the plan of {document.get('project')!r}, not of {project.name!r}")
    targets: dict[str, dict[NormalizedName, Pin]] = {}
    git: dict[GitPin, None] = {}
    for t, entry in enumerate(_expect(document.get("targets"), list, "targets")):
        where = f"targets[{t}]"
        _expect(entry, dict, where)
        definition = _expect(entry.get("target"), dict, f"{where}.target")
        name = _expect(definition.get("name"), str, f"{where}.target.name")
        pins: dict[NormalizedName, Pin] = {}
        for p, raw in enumerate(_expect(entry.get("packages"), list, f"{where}.packages")):
            pin = _plan_pin(raw, f"{where}.packages[{p}]")
            if pin.name in pins:
                raise Invalid(f"{where}.packages[{p}].name: {pin.name} is listed twice")
            pins[pin.name] = pin
            recorded = raw["artifact"].get("git")
            if recorded is not None:
                at = f"{where}.packages[{p}].artifact.git"
                _expect(recorded, dict, at)
                git[_git_pin(pin.name, recorded.get("repository"), recorded.get("requested"), recorded.get("commit"),
                             at)] = None
        targets[name] = pins
    cutoff = document.get("exclude_newer")
    per_package = _expect(document.get("exclude_newer_package", {}), dict, "exclude_newer_package")
    return PreviousPlan(
        source=path,
        targets=frozen_mapping({k: frozen_mapping(v) for k, v in targets.items()}),
        exclude_newer=None if cutoff is None else _recorded(cutoff, "exclude_newer"),
        exclude_newer_package=frozen_mapping({
            _name(k, f"exclude_newer_package.{k}"): None if v is False else _recorded(v, f"exclude_newer_package.{k}")
            for k, v in per_package.items()}),
        git=tuple(git),
    )


def _git_pin(name: NormalizedName, repository: Any, requested: Any, commit: Any, where: str) -> GitPin:
    """A git package's recorded commit, checked: a full commit id (it is only ever asked of the
    project's own repository for that ref), the repository and ref as plain text."""
    _expect(repository, str, f"{where}.repository")
    if requested is not None:
        _expect(requested, str, f"{where}.requested")
    if not isinstance(commit, str) or not _COMMIT_RE.fullmatch(commit):
        raise Invalid(f"{where}.commit: not a full commit id")
    return GitPin(name, repository, requested, commit)


def _plan_pin(raw: Any, where: str) -> Pin:
    _expect(raw, dict, where)
    artifact = _expect(raw.get("artifact"), dict, f"{where}.artifact")
    sha256 = artifact.get("sha256")
    if sha256 is not None and not (isinstance(sha256, str) and len(sha256) == 64
                                   and all(c in "0123456789abcdef" for c in sha256)):
        raise Invalid(f"{where}.artifact.sha256: not a sha256")
    return Pin(
        name=_name(raw.get("name"), f"{where}.name"),
        version=_version(raw.get("version"), f"{where}.version"),
        index=_expect(raw.get("index"), str, f"{where}.index"),
        filename=_expect(artifact.get("filename"), str, f"{where}.artifact.filename"),
        sha256=sha256,
    )


def _recorded(raw: Any, where: str) -> RecordedCutoff:
    _expect(raw, dict, where)
    moment = parse_upload_time(_expect(raw.get("timestamp"), str, f"{where}.timestamp"))
    if moment is None:
        raise Invalid(f"{where}.timestamp: not an RFC 3339 timestamp")
    span = raw.get("span")
    if span is None:
        return RecordedCutoff(moment)
    try:
        return RecordedCutoff(moment, parse_span(_expect(span, str, f"{where}.span")))
    except CutoffError as exc:
        raise Invalid(f"{where}.span: {exc}") from None


# -- PEP 751 locks ------------------------------------------------------------------------------
def _locks(paths: Sequence[Path], project: Project, targets: Sequence[Target],
           index_urls: Mapping[str, str]) -> PreviousPlan:
    from packaging.pylock import PylockSelectError

    by_url = {_url_key(url): name for name, url in index_urls.items()}
    by_url.update({_url_key(index.url): index.name for index in project.indexes})
    split = {p.name[len("pylock."):-len(".toml")]: p for p in paths if p.name != "pylock.toml"}
    pins: dict[str, dict[NormalizedName, Pin]] = {}
    recorded: RecordedCutoff | None = None
    per_package: dict[NormalizedName, RecordedCutoff | None] = {}
    parsed: dict[Path, Pylock] = {}
    git: dict[GitPin, None] = {}
    for target in targets:
        path = split.get(target.name) or next((p for p in paths if p.name == "pylock.toml"), None)
        if path is None:
            continue
        if path not in parsed:
            parsed[path] = _pylock(path)
            recorded, per_package = _lock_cutoffs(parsed[path], path) if recorded is None else (recorded, per_package)
        lock = parsed[path]
        extras = [e for e in target.extras if e in (lock.extras or ())]
        groups = [g for g in target.groups if g in [*(lock.dependency_groups or ()), *(lock.default_groups or ())]]
        try:
            selected = list(lock.select(environment=dict(target.environment), tags=list(target.tags),  # type: ignore[arg-type]
                                        extras=extras, dependency_groups=groups))
        except PylockSelectError:
            continue  # the lock does not cover this target: it gets no pins
        target_pins: dict[NormalizedName, Pin] = {}
        for package, chosen in selected:
            vcs = package.vcs
            if vcs is not None and vcs.type == "git" and vcs.url is not None and vcs.commit_id is not None:
                git[_git_pin(canonicalize_name(package.name), vcs.url, vcs.requested_revision, vcs.commit_id,
                             f"{path}: packages.{package.name}.vcs")] = None
            if package.version is None:
                continue  # a directory, VCS or archive entry: nothing an index can match
            filename = getattr(chosen, "filename", None)
            sha256 = dict(getattr(chosen, "hashes", None) or {}).get("sha256")
            index = by_url.get(_url_key(package.index)) if package.index else None
            target_pins[canonicalize_name(package.name)] = Pin(canonicalize_name(package.name), package.version,
                                                               index, filename, sha256)
        pins[target.name] = target_pins
    first = next(iter(parsed), paths[0])
    return PreviousPlan(first, frozen_mapping({k: frozen_mapping(v) for k, v in pins.items()}), recorded,
                        frozen_mapping(per_package), tuple(git))


def _pylock(path: Path) -> Pylock:
    from packaging.pylock import Pylock, PylockUnsupportedVersionError, PylockValidationError

    try:
        data = tomllib.loads(_read(path).decode("utf-8"))
    except Invalid as exc:
        raise Invalid(f"{path} {exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise Invalid(f"{path} is not a valid TOML file ({exc})") from None
    try:
        return Pylock.from_dict(data)
    except (PylockValidationError, PylockUnsupportedVersionError) as exc:
        raise Invalid(f"{path} is not a valid PEP 751 lock ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - packaging's reader on hostile input: never a crash
        raise Invalid(f"{path} is not a valid PEP 751 lock ({type(exc).__name__})") from None


def _lock_cutoffs(lock: Pylock, path: Path) -> tuple[RecordedCutoff | None, dict[NormalizedName, RecordedCutoff | None]]:
    """The cut-offs planner records in its lock's `[tool.planner]` (none in other tools' locks)."""
    table = (lock.tool or {}).get("planner") if isinstance(lock.tool, dict) else None
    if not isinstance(table, dict):
        return None, {}
    try:
        recorded = None
        if "exclude-newer" in table:
            recorded = _recorded({"timestamp": table.get("exclude-newer"), "span": table.get("exclude-newer-span")},
                                 "tool.planner.exclude-newer")
        per_package: dict[NormalizedName, RecordedCutoff | None] = {}
        raw = _expect(table.get("exclude-newer-package", {}), dict, "tool.planner.exclude-newer-package")
        for key, value in raw.items():
            where = f"tool.planner.exclude-newer-package.{key}"
            per_package[_name(key, where)] = None if value is False else _recorded(value, where)
    except Invalid as exc:
        raise Invalid(f"{path}: {exc}") from None
    return recorded, per_package


def _url_key(url: str) -> str:
    """An index URL as compared: no credentials, no trailing slash, scheme and host in lower case."""
    text = strip_userinfo(url.strip()).rstrip("/")
    scheme, sep, rest = text.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}{sep}{host.lower()}{slash}{path}"


# -- checks -------------------------------------------------------------------------------------
def _expect(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise Invalid(f"{where}: expected {kind.__name__}, found {type(value).__name__}")
    return value


def _name(value: Any, where: str) -> NormalizedName:
    text = _expect(value, str, where)
    try:
        name = canonicalize_name(text, validate=True)
    except InvalidName:
        raise Invalid(f"{where}: {text!r} is not a package name") from None
    return name


def _version(value: Any, where: str) -> Version:
    try:
        return Version(_expect(value, str, where))
    except InvalidVersion:
        raise Invalid(f"{where}: {value!r} is not a version") from None
