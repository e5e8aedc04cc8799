"""Reading the previous outputs (untrusted: validated, a bad file is a warning, never a crash),
exclude-newer values, the fingerprint of a pyproject's meaning, and the change list."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from packaging.version import Version

from planner.plan.changes import plan_changes
from planner.previous.model import Pin
from planner.previous.read import read_previous
from planner.project.cutoffs import CutoffError, RecordedCutoff, iso_duration, parse_exclude_newer
from planner.project.loader import load_project
from planner.solve.memory import MemoryProvider, Release
from planner.solve.objective import solve_plan
from planner.targets.resolve import resolve_targets

PYPROJECT = """\
[project]
name = "demo"
version = "0.1"
requires-python = ">=3.11"
dependencies = ["a"]

[tool.planner.targets.lin]
platform = "linux-x86_64"
python = "3.11"
"""


@pytest.mark.parametrize(("text", "timestamp", "span"), [
    ("2024-06-01", "2024-06-02T00:00:00+00:00", None),  # the whole day counts
    ("2024-06-01T10:00:00Z", "2024-06-01T10:00:00+00:00", None),
    ("2024-06-01T10:00:00+02:00", "2024-06-01T08:00:00+00:00", None),
    ("7 days", None, "P7D"), ("1 week", None, "P7D"), ("P1W", None, "P7D"), ("24h", None, "P1D"),
    ("1 week, 2 days", None, "P9D"), ("3 days 4 hours", None, "P3DT4H"), ("PT36H", None, "P1DT12H"),
])
def test_exclude_newer_values(text: str, timestamp: str | None, span: str | None) -> None:
    value = parse_exclude_newer(text)
    assert (value.timestamp.isoformat() if value.timestamp else None) == timestamp
    assert value.span_text == span


@pytest.mark.parametrize(("text", "problem"), [
    ("2 months", "months"), ("P1M", "months or years"), ("P1Y", "months or years"), ("1.5 days", "neither"),
    ("2024-06-01T10:00:00", "no time zone offset"), ("2024-13-01", "not a date"), ("", "empty"),
    ("1 fortnight", "unknown unit"), ("-1 day", "neither"),
])
def test_bad_exclude_newer_values(text: str, problem: str) -> None:
    with pytest.raises(CutoffError, match=problem):
        parse_exclude_newer(text)


def test_a_span_is_resolved_once_and_reused_for_the_same_span() -> None:
    now = datetime(2026, 1, 10, 12, tzinfo=UTC)
    span = parse_exclude_newer("7 days")
    assert span.resolved(now).cutoff == datetime(2026, 1, 3, 12, tzinfo=UTC)
    earlier = RecordedCutoff(datetime(2025, 12, 1, tzinfo=UTC), timedelta(days=7))
    assert span.resolved(now, earlier).cutoff == earlier.timestamp
    other = RecordedCutoff(datetime(2025, 12, 1, tzinfo=UTC), timedelta(days=3))
    assert span.resolved(now, other).cutoff == datetime(2026, 1, 3, 12, tzinfo=UTC)
    assert iso_duration(timedelta(0)) == "PT0S"


@pytest.fixture
def demo(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    project = load_project(tmp_path)
    return project, resolve_targets(project).targets


def _plan_json(**changes) -> dict:  # type: ignore[no-untyped-def]
    document = {"planner_plan": 1, "project": "demo", "targets": [{"target": {"name": "lin"}, "packages": [
        {"name": "a", "version": "1.0", "index": "pypi",
         "artifact": {"filename": "a-1.0-py3-none-any.whl", "sha256": "ab" * 32}}]}],
                "exclude_newer": {"timestamp": "2025-01-01T00:00:00Z", "span": "P7D"}}
    document.update(changes)
    return document


def test_plan_json_pins_and_recorded_cutoff(demo, tmp_path: Path) -> None:
    project, targets = demo
    out = tmp_path / "output"
    out.mkdir()
    (out / "plan.json").write_text(json.dumps(_plan_json()))
    previous = read_previous(out, project, targets, {"pypi": "https://pypi.org/simple"})
    assert not previous.warnings
    assert previous.plan.pins("lin")["a"] == Pin("a", Version("1.0"), "pypi", "a-1.0-py3-none-any.whl", "ab" * 32)
    assert previous.plan.exclude_newer == RecordedCutoff(datetime(2025, 1, 1, tzinfo=UTC), timedelta(days=7))


@pytest.mark.parametrize(("document", "problem"), [
    ("not json", "not valid JSON"),
    (json.dumps([1]), "the document: expected dict"),
    (json.dumps(_plan_json(planner_plan=2)), "planner_plan: not 1"),
    (json.dumps(_plan_json(project="other")), "it is the plan of 'other'"),
    (json.dumps(_plan_json(targets=[{"target": {"name": "lin"}, "packages": [{"name": "../x", "version": "1", "index": "pypi", "artifact": {"filename": "x"}}]}])),
     "is not a package name"),
    (json.dumps(_plan_json(targets=[{"target": {"name": "lin"}, "packages": [
        {"name": "a", "version": "one", "index": "pypi", "artifact": {"filename": "x"}}]}])), "'one' is not a version"),
    (json.dumps(_plan_json(targets=[{"target": {"name": "lin"}, "packages": [
        {"name": "a", "version": "1", "index": "pypi", "artifact": {"filename": "x", "sha256": "zz"}}]}])),
     "not a sha256"),
    (json.dumps(_plan_json(exclude_newer={"timestamp": "yesterday"})), "not an RFC 3339 timestamp"),
    (json.dumps(_plan_json(targets=[{"target": {"name": "lin"}, "packages": [
        {"name": "a", "version": "1", "index": "<git>", "artifact": {"filename": "a@1", "git": {
            "repository": "https://example.com/a", "requested": "main", "commit": "--upload-pack=x"}}}]}])),
     "artifact.git.commit: not a full commit id"),
])
def test_a_broken_plan_json_is_a_warning(demo, tmp_path: Path, document: str, problem: str) -> None:
    project, targets = demo
    out = tmp_path / "output"
    out.mkdir()
    (out / "plan.json").write_text(document)
    previous = read_previous(out, project, targets, {"pypi": "https://pypi.org/simple"})
    assert previous.plan is None
    [warning] = previous.warnings
    assert problem in str(warning) and "no pins are kept" in str(warning)


def test_a_foreign_pylock_gives_pins_per_target(demo, tmp_path: Path) -> None:
    project, targets = demo
    (tmp_path / "pylock.toml").write_text("""\
lock-version = "1.0"
created-by = "uv"
requires-python = ">=3.11"

[[packages]]
name = "a"
version = "1.0"
index = "https://PyPI.org/simple/"
wheels = [{ name = "a-1.0-py3-none-any.whl", url = "https://files.example/a-1.0-py3-none-any.whl", hashes = { sha256 = "%s" } }]

[[packages]]
name = "b"
version = "2.0"
marker = "sys_platform == 'darwin'"
index = "https://pypi.org/simple"
wheels = [{ name = "b-2.0-py3-none-any.whl", url = "https://files.example/b-2.0-py3-none-any.whl", hashes = { sha256 = "%s" } }]
""" % ("cd" * 32, "ef" * 32))
    previous = read_previous(tmp_path / "output", project, targets, {"pypi": "https://pypi.org/simple"})
    assert not previous.warnings
    assert dict(previous.plan.pins("lin")) == {"a": Pin("a", Version("1.0"), "pypi", "a-1.0-py3-none-any.whl", "cd" * 32)}
    (tmp_path / "pylock.toml").write_text("lock-version = 'x'")
    broken = read_previous(tmp_path / "output", project, targets, {})
    assert broken.plan is None and "is not a valid PEP 751 lock" in str(broken.warnings[0])


def test_changes_per_target(demo) -> None:
    project, targets = demo
    provider = MemoryProvider(project, {"pypi": [Release("a", "1.0", ("b",)), Release("a", "2.0", ("c",)),
                                                 Release("b", "1.0"), Release("c", "1.0")]})
    kept = {"lin": {"a": Pin("a", Version("1.0"), "pypi"), "b": Pin("b", Version("1.0"), "pypi")}}
    assert plan_changes(kept, solve_plan(project, targets, provider, previous=kept)) == ()
    moved = plan_changes(kept, solve_plan(project, targets, provider))
    assert [line for t in moved for line in t.lines()] == ["lin:", "  ~ a 1.0 → 2.0", "  - b", "  + c 1.0"]
    assert [line for t in plan_changes(None, solve_plan(project, targets, provider)) for line in t.lines()] == [
        "lin (new target):", "  + a 2.0", "  + c 1.0"]
    gone = plan_changes({**kept, "mac": {}}, solve_plan(project, targets, provider, previous=kept))
    assert [line for t in gone for line in t.lines()] == ["mac: target removed"]


def test_the_fingerprint_follows_meaning_only(tmp_path: Path) -> None:
    def fingerprint(text: str) -> str:
        (tmp_path / "pyproject.toml").write_text(text)
        return load_project(tmp_path).fingerprint

    base = fingerprint(PYPROJECT)
    assert fingerprint("# a comment\n" + PYPROJECT.replace('version = "0.1"', 'version = "0.1"  # why not')) == base
    assert fingerprint(PYPROJECT.replace('dependencies = ["a"]', 'dependencies = [ "a" ]\ndescription = "x"')) == base
    assert fingerprint(PYPROJECT + '\n[tool.ruff]\nline-length = 99\n') == base
    assert fingerprint(PYPROJECT + '\n[tool.uv]\nexclude-newer = "1 week"\n') == \
        fingerprint(PYPROJECT + '\n[tool.uv]\nexclude-newer = "P7D"\n')
    assert fingerprint(PYPROJECT.replace('["a"]', '["a >= 1"]')) == fingerprint(PYPROJECT.replace('["a"]', '["a>=1"]'))
    assert fingerprint(PYPROJECT.replace('["a"]', '["a>=1"]')) != base
    assert fingerprint(PYPROJECT + '\n[tool.uv]\nresolution = "lowest"\n') != base


def test_a_workspace_fingerprint_follows_its_members(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["packages/*"]\n')
    member = tmp_path / "packages" / "api"
    member.mkdir(parents=True)
    text = '[project]\nname = "api"\nversion = "0.1"\nrequires-python = ">=3.11"\ndependencies = ["a"]\n'
    (member / "pyproject.toml").write_text(text)
    base = load_project(tmp_path).fingerprint
    (member / "pyproject.toml").write_text("# a comment\n" + text)
    assert load_project(tmp_path).fingerprint == base
    (member / "pyproject.toml").write_text(text.replace('["a"]', '["a", "b"]'))
    assert load_project(tmp_path).fingerprint != base
