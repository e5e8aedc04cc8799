"""Data-driven scenarios: one TOML file per case in `tests/scenarios/` (format: tests/scenario_format.md).

Each file holds a pyproject, an in-memory index universe and the plan expected per target,
worked out by hand from the rules (newest versions, alignment first). The runner writes the
pyproject to a temporary folder, loads it, makes its targets concrete, solves against a
`MemoryProvider`, and asserts:

- per target, the installed set equals the expectation exactly (names, versions, and the index
  and planned extras where the file gives them); unsatisfiable targets are the expected ones;
- every expected divergence and held-back entry is reported (exactly those with `exact-reports`);
- the independent plan checker finds no violation in any target's plan.

A file with `xfail = "reason"` documents a known planner bug: the test is a strict xfail, so it
fails loudly ("XPASS(strict)") once the bug is fixed and the marker should be removed.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from planner.plan.check import check_target_plan
from planner.plan.model import Plan
from planner.project.loader import load_project
from planner.solve.memory import MemoryProvider, Release
from planner.solve.objective import ALIGNMENT_MODES, solve_plan
from planner.sources.provider import with_local_sources
from planner.targets.resolve import resolve_targets

SCENARIO_DIR = Path(__file__).parent / "scenarios"
FILE_RE = re.compile(r"^\d{2,}-[a-z0-9][a-z0-9-]*\.toml$")
TOP_KEYS = {"description", "alignment", "xfail", "exact-reports", "pyproject", "files", "index", "expected",
            "divergence", "held-back"}
RELEASE_KEYS = {"name", "version", "requires", "tag", "tags", "requires-python", "yanked"}
ALL_TARGETS = "*"
UNSATISFIABLE = "unsatisfiable"
_PIN_RE = re.compile(r"^\s*(?P<version>[^@\[\s]+)\s*(?:\[(?P<extras>[^\]]*)\])?\s*(?:@\s*(?P<index>\S+))?\s*$")


class ScenarioMismatch(AssertionError):
    """The plan disagrees with the scenario's expectation (what `xfail` scenarios expect to see)."""


class ScenarioFormatError(ValueError):
    """The scenario file itself is malformed (never swallowed by `xfail`)."""


# -- reading a scenario file ------------------------------------------------------------------
@dataclass(frozen=True)
class Pin:
    version: Version
    index: str | None = None
    extras: tuple[str, ...] | None = None  # None: not checked

    def describe(self) -> str:
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        return f"{self.version}{extras}" + (f"@{self.index}" if self.index else "")


@dataclass(frozen=True)
class TargetExpectation:
    packages: Mapping[str, Pin] | None  # None: the target is unsatisfiable
    message: str | None = None  # for an unsatisfiable target: a substring of its message


@dataclass(frozen=True)
class Scenario:
    path: Path
    description: str
    pyproject: str
    files: Mapping[str, str]  # relative path -> text: workspace members, path sources
    alignment: str
    indexes: Mapping[str, tuple[Release, ...]]
    expected: Mapping[str, TargetExpectation]  # target name or ALL_TARGETS
    divergences: tuple[Mapping[str, Any], ...]
    held_back: tuple[Mapping[str, Any], ...]
    exact_reports: bool
    xfail: str | None


def _fail(path: Path, message: str) -> NoReturn:
    raise ScenarioFormatError(f"{path.name}: {message}")


def _extras(names: list[str] | None) -> tuple[str, ...] | None:
    return None if names is None else tuple(sorted(canonicalize_name(n.strip()) for n in names))


def _pin(path: Path, where: str, raw: Any) -> Pin:
    if isinstance(raw, str):
        match = _PIN_RE.match(raw)
        if match is None:
            _fail(path, f"{where}: '{raw}' is not 'VERSION', 'VERSION@INDEX' or 'VERSION[extra,...]@INDEX'")
        extras = match["extras"]
        names = None if extras is None else [e for e in extras.split(",") if e.strip()]
        return Pin(Version(match["version"]), match["index"], _extras(names))
    if isinstance(raw, dict):
        unknown = set(raw) - {"version", "index", "extras"}
        if unknown or "version" not in raw:
            _fail(path, f"{where}: a table needs 'version' and may have 'index', 'extras' (found {sorted(raw)})")
        return Pin(Version(raw["version"]), raw.get("index"), _extras(raw.get("extras")))
    _fail(path, f"{where}: expected a string or a table, found {type(raw).__name__}")


def _target_expectation(path: Path, target: str, raw: Any) -> TargetExpectation:
    if raw == UNSATISFIABLE:
        return TargetExpectation(None)
    if not isinstance(raw, dict):
        _fail(path, f"expected.{target} must be a table or \"{UNSATISFIABLE}\"")
    if UNSATISFIABLE in raw:
        flag = raw[UNSATISFIABLE]
        if len(raw) != 1 or flag is False:
            _fail(path, f"expected.{target}: 'unsatisfiable' stands alone (true, or a substring of the message)")
        return TargetExpectation(None, flag if isinstance(flag, str) else None)
    packages = {canonicalize_name(name): _pin(path, f"expected.{target}.{name}", value) for name, value in raw.items()}
    return TargetExpectation(packages)


def _releases(path: Path, index: str, raw: Any) -> tuple[Release, ...]:
    if not isinstance(raw, list):
        _fail(path, f"index.{index} must be an array of release tables")
    out: list[Release] = []
    for n, entry in enumerate(raw):
        where = f"index.{index}[{n}]"
        if not isinstance(entry, dict):
            _fail(path, f"{where} must be a table")
        unknown = set(entry) - RELEASE_KEYS
        if unknown:
            _fail(path, f"{where}: unknown key(s) {sorted(unknown)} (allowed: {sorted(RELEASE_KEYS)})")
        if "name" not in entry or "version" not in entry:
            _fail(path, f"{where}: 'name' and 'version' are required")
        if "tag" in entry and "tags" in entry:
            _fail(path, f"{where}: give 'tag' or 'tags', not both")
        tags = entry.get("tags", [entry.get("tag", "py3-none-any")])
        for tag in tags:
            out.append(Release(
                name=entry["name"],
                version=entry["version"],
                requires_dist=tuple(entry.get("requires", ())),
                tag=None if tag == "sdist" else tag,
                requires_python=entry.get("requires-python"),
                yanked=bool(entry.get("yanked", False)),
            ))
    return tuple(out)


def _reports(path: Path, data: dict[str, Any], key: str, required: tuple[str, ...],
             allowed: set[str]) -> tuple[Mapping[str, Any], ...]:
    entries = data.get(key, [])
    for n, entry in enumerate(entries):
        missing = [k for k in required if k not in entry]
        unknown = set(entry) - allowed
        if missing or unknown:
            _fail(path, f"{key}[{n}]: needs {list(required)}, may have {sorted(allowed - set(required))}")
    return tuple(entries)


def _files(path: Path, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        _fail(path, "'files' is a table of relative path = text")
    for name in raw:
        if Path(name).is_absolute() or ".." in Path(name).parts:
            _fail(path, f"files: '{name}' must stay inside the project folder")
    return dict(raw)


def read_scenario(path: Path) -> Scenario:
    if not FILE_RE.match(path.name):
        _fail(path, "scenario files are named NN-some-name.toml")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    unknown = set(data) - TOP_KEYS
    if unknown:
        _fail(path, f"unknown top-level key(s) {sorted(unknown)} (allowed: {sorted(TOP_KEYS)})")
    for key in ("description", "pyproject", "index", "expected"):
        if key not in data:
            _fail(path, f"missing '{key}'")
    alignment = data.get("alignment", "per-python")
    if alignment not in ALIGNMENT_MODES:
        _fail(path, f"alignment '{alignment}' is not one of {ALIGNMENT_MODES}")
    indexes = {name: _releases(path, name, raw) for name, raw in data["index"].items()}
    raw_expected = data["expected"]
    if raw_expected == UNSATISFIABLE:
        expected = {ALL_TARGETS: TargetExpectation(None)}
    elif isinstance(raw_expected, dict):
        expected = {target: _target_expectation(path, target, raw) for target, raw in raw_expected.items()}
    else:
        _fail(path, f"'expected' must be a table of targets or \"{UNSATISFIABLE}\"")
    xfail = data.get("xfail")
    if xfail is not None and (not isinstance(xfail, str) or not xfail.strip()):
        _fail(path, "'xfail' must be a non-empty string: the reason")
    return Scenario(
        path=path,
        description=data["description"],
        pyproject=data["pyproject"],
        files=_files(path, data.get("files", {})),
        alignment=alignment,
        indexes=indexes,
        expected=expected,
        divergences=_reports(path, data, "divergence", ("package",), {"package", "kind", "targets"}),
        held_back=_reports(path, data, "held-back", ("package", "target"), {"package", "target", "version", "newest"}),
        exact_reports=bool(data.get("exact-reports", False)),
        xfail=xfail,
    )


def _scenario_params() -> Iterator[Any]:
    paths = sorted(SCENARIO_DIR.glob("*.toml"))
    assert paths, f"no scenario files in {SCENARIO_DIR}"
    for path in paths:
        xfail = tomllib.loads(path.read_text(encoding="utf-8")).get("xfail")
        marks = [pytest.mark.xfail(reason=str(xfail), strict=True, raises=ScenarioMismatch)] if xfail else []
        yield pytest.param(path, id=path.stem, marks=marks)


# -- running one --------------------------------------------------------------------------------
def _diff(expected: Mapping[str, str], actual: Mapping[str, str]) -> str:
    lines = []
    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name, "-"), actual.get(name, "-")
        if want != got:
            lines.append(f"    {name}: expected {want}, planned {got}")
    return "\n".join(lines)


def _target_problems(plan: Plan, name: str, expectation: TargetExpectation) -> list[str]:
    unsatisfiable = {u.target.name: u for u in plan.unsatisfiable}
    if expectation.packages is None:
        if name not in unsatisfiable:
            planned = ", ".join(f"{p.name} {p.version}@{p.index}" for p in plan.for_target(name).packages)
            return [f"target '{name}' should be unsatisfiable, but it has a plan: {planned}"]
        message = unsatisfiable[name].message
        if expectation.message and expectation.message not in message:
            return [f"target '{name}': its message {message!r} lacks {expectation.message!r}"]
        return []
    if name in unsatisfiable:
        return [f"target '{name}' should have a plan: {unsatisfiable[name].message}"]
    want = {package: pin.describe() for package, pin in expectation.packages.items()}
    got: dict[str, str] = {}
    for entry in plan.for_target(name).packages:
        pin = expectation.packages.get(entry.name)  # index / extras are compared where the file gives them
        index = entry.index if pin is not None and pin.index else None
        extras = tuple(sorted(entry.extras)) if pin is not None and pin.extras is not None else None
        got[entry.name] = Pin(entry.version, index, extras).describe()
    if want != got:
        return [f"target '{name}' plan differs:\n{_diff(want, got)}"]
    return []


def _report_problems(scenario: Scenario, plan: Plan) -> list[str]:
    problems = []
    for wanted in scenario.divergences:
        found = [d for d in plan.divergences if d.package == canonicalize_name(wanted["package"])
                 and wanted.get("kind", d.kind) == d.kind
                 and ("targets" not in wanted or sorted(wanted["targets"]) == sorted(t for t, _ in d.choices))]
        if not found:
            problems.append(f"no divergence reported matching {dict(wanted)}; reported: {list(plan.divergences)}")
    for wanted in scenario.held_back:
        found = [h for h in plan.held_back if h.package == canonicalize_name(wanted["package"])
                 and h.target == wanted["target"]
                 and ("version" not in wanted or h.version == Version(wanted["version"]))
                 and ("newest" not in wanted or h.newest == Version(wanted["newest"]))]
        if not found:
            problems.append(f"no held-back entry matching {dict(wanted)}; reported: {list(plan.held_back)}")
    if scenario.exact_reports:
        divergent = sorted(d.package for d in plan.divergences)
        listed = sorted(canonicalize_name(d["package"]) for d in scenario.divergences)
        if divergent != listed:
            problems.append(f"divergences reported for {divergent}, expected exactly {listed}: "
                            f"{list(plan.divergences)}")
        held = sorted((h.package, h.target) for h in plan.held_back)
        listed_held = sorted((canonicalize_name(h["package"]), h["target"]) for h in scenario.held_back)
        if held != listed_held:
            problems.append(f"held back reported for {held}, expected exactly {listed_held}: {list(plan.held_back)}")
    return problems


@pytest.mark.parametrize("path", list(_scenario_params()))
def test_scenario(path: Path, tmp_path: Path) -> None:
    scenario = read_scenario(path)
    (tmp_path / "pyproject.toml").write_text(scenario.pyproject, encoding="utf-8")
    for name, text in scenario.files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    project = load_project(tmp_path)
    targets = resolve_targets(project).targets
    names = [t.name for t in targets]
    unknown = set(scenario.expected) - set(names) - {ALL_TARGETS}
    if unknown:
        _fail(path, f"expected names unknown target(s) {sorted(unknown)}; the targets are {names}")
    uncovered = [n for n in names if n not in scenario.expected and ALL_TARGETS not in scenario.expected]
    if uncovered:
        _fail(path, f"no expectation for target(s) {uncovered} (list them, or use [expected.\"*\"])")
    unknown_indexes = set(scenario.indexes) - {i.name for i in project.indexes}
    if unknown_indexes:
        _fail(path, f"index table(s) {sorted(unknown_indexes)} name no index of the project")

    provider = with_local_sources(project, MemoryProvider(project, scenario.indexes))
    plan = solve_plan(project, targets, provider, scenario.alignment)

    problems: list[str] = []
    for target_plan in plan.targets:  # the independent checker, on every plan
        violations = check_target_plan(project, target_plan, lambda a: provider.metadata([a])[a])
        problems += [f"plan checker: {v}" for v in violations]
    for name in names:
        problems += _target_problems(plan, name, scenario.expected.get(name) or scenario.expected[ALL_TARGETS])
    problems += _report_problems(scenario, plan)
    if problems:
        raise ScenarioMismatch(f"{path.name}:\n" + "\n".join(f"  - {p}" for p in problems))


def test_scenario_files_are_well_formed() -> None:
    """Every file parses, and numbers are unique (a malformed file never hides behind `xfail`)."""
    numbers: dict[str, str] = {}
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        scenario = read_scenario(path)
        number = path.name.split("-", 1)[0]
        assert number not in numbers, f"{path.name} and {numbers[number]} share the number {number}"
        numbers[number] = path.name
        assert scenario.description.strip(), f"{path.name}: empty description"
        document = tomllib.loads(scenario.pyproject)
        assert document.get("project") or document.get("tool", {}).get("uv", {}).get("workspace"), \
            f"{path.name}: the pyproject has no [project] and is no workspace root"
