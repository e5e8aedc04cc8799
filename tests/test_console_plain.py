"""Off a terminal, lines are written as plain text without loading rich, and read exactly as rich
writes them there; a terminal (or FORCE_COLOR / TTY_COMPATIBLE, as rich reads them) gets rich."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from rich.markup import escape

from planner.cli import console
from planner.cli.console import Output

REPO = Path(__file__).resolve().parent.parent
MESSAGES = ["plain", "tab\there\tand\tthere", "[bold]not markup[/] and \\[escaped]", "back\\slash\\ inside",
            "bell\x07 backspace\x08 cr\r ff\x0c vt\x0b esc\x1b[31m", "unicode ünï 中文 ✓", "",
            "two\nlines\twith tab", "trailing   ", "https://user:secret@example.org/simple/"]


class _Stream(io.StringIO):
    def __init__(self, terminal: bool) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


def _rich_off_a_terminal(text: str, **kwargs: object) -> str:
    stream = io.StringIO()
    Console(file=stream, highlight=False, soft_wrap=False, width=10_000).print(text, soft_wrap=True, **kwargs)
    return stream.getvalue()


@pytest.mark.parametrize("message", MESSAGES)
def test_plain_lines_read_as_rich_writes_them_off_a_terminal(message: str, monkeypatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    err, out = _Stream(False), _Stream(False)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(sys, "stdout", out)
    output = Output()
    output.error(message)
    output.warning(message)
    output.info(message)
    output.text(message)
    shown = console._shown(message)
    assert err.getvalue() == (_rich_off_a_terminal(f"[bold red]error[/]: {escape(shown)}")
                              + _rich_off_a_terminal(f"[yellow]warning[/]: {escape(shown)}")
                              + _rich_off_a_terminal(escape(shown)))
    assert out.getvalue() == _rich_off_a_terminal(message, markup=False)
    assert "secret" not in err.getvalue() and "\x1b" not in err.getvalue()


@pytest.mark.parametrize(("environ", "terminal", "plain"), [
    ({}, False, True), ({}, True, False),
    ({"FORCE_COLOR": "1"}, False, False), ({"FORCE_COLOR": ""}, True, True),
    ({"TTY_COMPATIBLE": "1"}, False, False), ({"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"}, True, True),
])
def test_plain_text_where_rich_sees_no_terminal(environ: dict[str, str], terminal: bool, plain: bool,
                                                monkeypatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    stream = _Stream(terminal)
    assert (console._plain_stream(stream) is not None) is plain
    assert Console(file=stream).is_terminal is not plain


def test_a_compile_off_a_terminal_loads_no_rich(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "planner", "compile", "examples/torch-cpu-gpu", "--index",
         "pytorch-cpu=examples/seed-9310/indexes/pytorch-cpu", "--default-index", "examples/seed-9310/indexes/pypi",
         "--no-cache", "-o", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=REPO, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(REPO / "nonexistent")})
    assert result.returncode == 0, result.stderr
    imported = {line.rpartition("|")[2].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    said = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    assert said == [f"wrote 14 files to {tmp_path / 'out'}"] and "linux-x86_64-cpu (linux-x86_64" in result.stdout
    assert not any(name == "rich" or name.startswith("rich.") for name in imported)
