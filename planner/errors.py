"""Errors and diagnostics shared by every stage.

Every user-facing failure is a value that knows where it comes from (file, key path, line) and
what would fix it; the CLI renders it and picks the exit code. Nothing here formats tracebacks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    OK = 0
    UNSATISFIABLE = 1  # also: outputs stale under --check
    BAD_INPUT = 2  # bad input or bad usage
    INTERNAL = 3  # a bug in planner
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    TERMINATED = 143  # SIGTERM (128 + SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that it unwinds like Ctrl-C: `finally` blocks remove
    temporary files, the CLI prints one message and exits with 143."""


KeyPath = tuple[str | int, ...]


def format_key(path: KeyPath) -> str:
    """`("tool", "uv", "sources", "torch", 0, "index")` -> `tool.uv.sources.torch[0].index`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            # Quoted as TOML writes it: control characters escaped (`"cpu\\n"`), never printed raw.
            text = part if _is_bare_key(part) else json.dumps(part, ensure_ascii=False)
            out += f".{text}" if out else text
    return out


def _is_bare_key(key: str) -> bool:
    return bool(key) and all(c.isalnum() or c in "-_" for c in key) and key.isascii()


@dataclass(frozen=True)
class Location:
    """Where a fact was written: a file, the TOML key path inside it and, when known, the line."""

    file: Path
    key: KeyPath = ()
    line: int | None = None
    # How messages name the file: a workspace member's pyproject by its path from the workspace
    # root ("packages/api/pyproject.toml"); None: the root pyproject by its name, others in full.
    shown: str | None = None

    def __str__(self) -> str:
        where = self.shown or (self.file.name if self.file.name == "pyproject.toml" else str(self.file))
        if self.line is not None:
            where = f"{where}:{self.line}"
        if self.key:
            where = f"{where} [{format_key(self.key)}]"
        return where


@dataclass(frozen=True)
class Diagnostic:
    """A warning or note for the user, with an optional location."""

    message: str
    location: Location | None = None

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class PlannerError(Exception):
    """Base of every error planner reports to a user (never shown as a traceback)."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def render(self) -> str:
        return str(self)


class InputError(PlannerError):
    """The user's input (pyproject, command line, environment) is wrong: exit 2."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, problem: str, *, location: Location | None = None, fix: str | None = None):
        super().__init__(problem)
        self.problem = problem
        self.location = location
        self.fix = fix

    def render(self) -> str:
        head = f"{self.location}: {self.problem}" if self.location else self.problem
        return f"{head}\n  fix: {self.fix}" if self.fix else head
