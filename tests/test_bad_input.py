"""Bad input: one clear message naming the file, the key path, the line and the fix; exit 2.

Every file in tests/cases/bad_input/ is a small pyproject with exactly one problem. Its header
comments say what the error must contain:

    # expect-key: tool.uv.sources.torch[0].index     (optional) the TOML key path, as printed
    # expect-line: 35                                (optional) the line of the offending key
    # expect-message: which is not defined           (repeatable) substrings of the message
    # expect-fix: [[tool.uv.index]]                  (repeatable) substrings of the fix

Line numbers count the header comments: they are lines of the case file as it stands. Cases that
a text file cannot hold (bytes that are not UTF-8) are generated below, in INLINE_CASES.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli.app import app

CASES_DIR = Path(__file__).resolve().parent / "cases" / "bad_input"
CASE_FILES = sorted(CASES_DIR.glob("*.toml"))
_CASE_NAME_RE = re.compile(r"^(\d{2,3})-[a-z0-9]+(?:-[a-z0-9]+)*\.toml$")
_HEADER_RE = re.compile(r"^# expect-(key|line|message|fix): (.+?)\s*$")

# A valid project (the seed) for command-line tests.
SEED = """\
[project]
name = "test"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = []

[project.optional-dependencies]
cpu = ["torch==2.5.1", "torchvision==0.20.1"]
gpu = ["torch==2.5.1", "torchvision==0.20.1"]

[tool.uv]
conflicts = [[{ extra = "cpu" }, { extra = "gpu" }]]

[[tool.uv.sources.torch]]
index = "pytorch-cpu"
marker = "platform_system != 'Darwin'"
extra = "cpu"

[[tool.uv.sources.torchvision]]
index = "pytorch-cpu"
marker = "platform_system != 'Darwin'"
extra = "cpu"

[[tool.uv.index]]
name = "pytorch-cpu"
url = "https://download.pytorch.org/whl/cpu"
explicit = true
"""


@dataclass(frozen=True)
class Expectation:
    key: str | None = None
    line: int | None = None
    messages: tuple[str, ...] = ()
    fixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class BadInput:
    name: str
    content: bytes
    expect: Expectation = field(default_factory=Expectation)


def read_expectation(content: bytes) -> Expectation:
    """The `# expect-*` header comments at the top of a case."""
    found: dict[str, list[str]] = {"key": [], "line": [], "message": [], "fix": []}
    for raw in content.decode("utf-8", errors="replace").splitlines():
        if not raw.startswith("#"):
            break
        match = _HEADER_RE.match(raw)
        if match:
            found[match.group(1)].append(match.group(2))
    assert len(found["key"]) <= 1 and len(found["line"]) <= 1, "expect-key and expect-line are given once"
    return Expectation(
        key=found["key"][0] if found["key"] else None,
        line=int(found["line"][0]) if found["line"] else None,
        messages=tuple(found["message"]),
        fixes=tuple(found["fix"]),
    )


# Cases written as bytes: a text editor (or git's text handling) would not keep them as they are.
_LATIN1_PROJECT = (
    b'[project]\nname = "test"\nversion = "0.1.0"\n'
    b'description = "Caf\xe9 models for pytorch"\nrequires-python = ">=3.11"\n'
)
INLINE_CASES = (
    BadInput(
        "latin1-byte",
        _LATIN1_PROJECT,
        Expectation(line=4, messages=("not valid UTF-8: byte 0xe9",), fixes=("save the file as UTF-8",)),
    ),
    BadInput(
        "utf16-file",
        SEED.encode("utf-16"),
        Expectation(line=1, messages=("not valid UTF-8: byte 0xff at offset 0",), fixes=("save the file as UTF-8",)),
    ),
    # A UTF-8 byte order mark is accepted (as uv accepts it) and leaves line numbers unchanged.
    BadInput(
        "bom-keeps-line-numbers",
        b"\xef\xbb\xbf" + SEED.replace('index = "pytorch-cpu"', 'index = "pytorch"', 1).encode(),
        Expectation(key="tool.uv.sources.torch[0].index", line=15,
                    messages=("names index 'pytorch', which is not defined",), fixes=("[[tool.uv.index]]",)),
    ),
)

ALL_CASES = [BadInput(path.stem, path.read_bytes(), read_expectation(path.read_bytes())) for path in CASE_FILES]
ALL_CASES += INLINE_CASES


def _flat(text: str) -> str:
    """Whitespace collapsed: the console may wrap long messages."""
    return " ".join(text.split())


def run_targets(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, ["targets", *args], env=env)


def assert_one_clear_error(stdout: str, stderr: str, expect: Expectation) -> None:
    flat = _flat(stderr)
    assert "Traceback" not in stdout + stderr
    assert stdout == ""
    assert stderr.count("error:") == 1, stderr
    assert "pyproject.toml" in stderr
    assert "fix:" in stderr
    if expect.line is not None:
        first = re.search(r"pyproject\.toml:(\d+)", stderr)
        assert first is not None and int(first.group(1)) == expect.line, stderr
    if expect.key is not None:
        assert f"[{expect.key}]" in flat, stderr
    for text in (*expect.messages, *expect.fixes):
        assert _flat(text) in flat, f"{text!r} not in:\n{stderr}"


# -- the corpus ---------------------------------------------------------------------------------
def test_corpus_is_large_and_well_formed() -> None:
    assert len(CASE_FILES) >= 100
    numbers = []
    for path in CASE_FILES:
        match = _CASE_NAME_RE.match(path.name)
        assert match, f"{path.name}: name cases NN-short-name.toml"
        numbers.append(match.group(1))
        expect = read_expectation(path.read_bytes())
        assert expect.messages and expect.fixes, f"{path.name}: needs expect-message and expect-fix"
    assert len(numbers) == len(set(numbers)), "case numbers are unique"


def test_expected_lines_exist() -> None:
    for path in CASE_FILES:
        expect = read_expectation(path.read_bytes())
        if expect.line is not None:
            lines = path.read_text(encoding="utf-8").splitlines()
            assert 1 <= expect.line <= len(lines), path.name
            assert not lines[expect.line - 1].startswith("# expect-"), f"{path.name}: line points at the header"


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case.name)
def test_bad_input_gives_one_clear_error(case: BadInput, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(case.content)
    result = run_targets(str(tmp_path))
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert_one_clear_error(result.stdout, result.stderr, case.expect)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"], "no output file is written"


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case.name)
def test_bad_input_as_json_is_still_an_error(case: BadInput, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(case.content)
    result = run_targets(str(tmp_path), "--format", "json")
    assert result.exit_code == 2
    assert result.stdout == ""


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b"\xef\xbb\xbf" + SEED.encode())
    result = run_targets(str(tmp_path))
    assert result.exit_code == 0, result.output


# -- the real entry point ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["01-toml-unclosed-table-header", "24-source-unknown-index", "57-target-conflicting-extras"]
)
def test_entry_point_exits_2_without_traceback(name: str, tmp_path: Path) -> None:
    source = CASES_DIR / f"{name}.toml"
    shutil.copy(source, tmp_path / "pyproject.toml")
    completed = subprocess.run(
        [sys.executable, "-m", "planner", "targets", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert completed.returncode == 2, completed.stderr
    assert_one_clear_error(completed.stdout, completed.stderr, read_expectation(source.read_bytes()))


def test_entry_point_with_project_file_path(tmp_path: Path) -> None:
    source = CASES_DIR / "50-unknown-platform.toml"
    shutil.copy(source, tmp_path / "pyproject.toml")
    completed = subprocess.run(
        [sys.executable, "-m", "planner", "targets", str(tmp_path / "pyproject.toml")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert completed.returncode == 2
    assert_one_clear_error(completed.stdout, completed.stderr, read_expectation(source.read_bytes()))


# -- bad command-line input ----------------------------------------------------------------------
@pytest.fixture
def seed_project(tmp_path: Path) -> Path:
    folder = tmp_path / "seed"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(SEED, encoding="utf-8")
    return folder


def assert_usage_error(result, *texts: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    flat = _flat(result.stderr)
    assert result.stderr.count("error:") == 1, result.stderr
    for text in texts:
        assert text in flat, f"{text!r} not in:\n{result.stderr}"


def test_seed_project_is_valid(seed_project: Path) -> None:
    assert run_targets(str(seed_project)).exit_code == 0


def test_index_option_without_equals(seed_project: Path) -> None:
    result = run_targets(str(seed_project), "--index", "pytorch-cpu")
    assert_usage_error(result, "--index 'pytorch-cpu' is neither NAME=URL nor a URL or a folder", "fix:",
                       "--index NAME=URL")


def test_index_option_with_empty_url(seed_project: Path) -> None:
    result = run_targets(str(seed_project), "--index", "pytorch-cpu=")
    assert_usage_error(result, "--index 'pytorch-cpu=' gives no URL", "fix:")


def test_index_option_without_a_name_hides_credentials(seed_project: Path) -> None:
    result = run_targets(str(seed_project), "--index", "https://user:s3cret@mirror.example.com/simple?a=b")
    assert result.exit_code == 0, result.output  # a bare URL: a new index, searched first (as uv)
    assert "indexes: index-1 (https://***@mirror.example.com/simple?a=b), pytorch-cpu" in result.stdout
    assert "s3cret" not in result.output
    broken = run_targets(str(seed_project), "--index", "user:s3cret@mirror")
    assert_usage_error(broken, "is neither NAME=URL nor a URL or a folder")
    assert "s3cret" not in broken.output


def test_index_option_naming_an_undeclared_index_adds_it_first(seed_project: Path) -> None:
    result = run_targets(str(seed_project), "--index", "extra=http://x", "--index", "pytorch_cpu=http://y",
                         "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(i["name"], i["url"]) for i in data["indexes"]][:3] == [
        ("extra", "http://x"), ("pytorch_cpu", "http://y"), ("pytorch-cpu", "https://download.pytorch.org/whl/cpu")]
    assert "the project declares no index 'pytorch_cpu', so it is added before the others (did you mean " \
           "'pytorch-cpu'?" in result.stderr


def test_default_index_with_unsupported_scheme(seed_project: Path) -> None:
    result = run_targets(str(seed_project), "--default-index", "ftp://x")
    assert_usage_error(result, "--default-index: invalid index URL: scheme 'ftp'", "fix:")


def test_default_index_from_environment_is_checked_too(seed_project: Path) -> None:
    result = run_targets(str(seed_project), env={"PLANNER_DEFAULT_INDEX": "ftp://x"})
    assert_usage_error(result, "--default-index: invalid index URL", "fix:")


def test_index_option_with_bad_url(seed_project: Path) -> None:
    result = run_targets(str(seed_project), "--index", "pytorch-cpu=not a url")
    assert_usage_error(result, "--index pytorch-cpu: invalid index URL", "fix:")


def test_path_without_pyproject(tmp_path: Path) -> None:
    result = run_targets(str(tmp_path))
    assert_usage_error(result, f"no pyproject.toml in {tmp_path} or any parent folder (looked in {tmp_path}, "
                       f"{tmp_path.parent},", "fix: run planner in the project's folder or a subfolder")


def test_missing_path(tmp_path: Path) -> None:
    result = run_targets(str(tmp_path / "does-not-exist"))
    assert_usage_error(result, f"no such folder: {tmp_path / 'does-not-exist'}", "fix:")
