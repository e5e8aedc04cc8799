"""Where the CLI writes: data to stdout, diagnostics to stderr, with -q / -v and NO_COLOR."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def _console(stderr: bool) -> Console:
    from rich.console import Console  # imported when a command runs: `planner --help` needs no rich

    # rich honours NO_COLOR and disables colour when the stream is not a terminal. Piped output
    # gets a wide page so that tables stay one row per line for grep and diff.
    console = Console(stderr=stderr, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console = Console(stderr=stderr, highlight=False, soft_wrap=False, width=200)
    return console


@dataclass
class Output:
    quiet: bool = False
    verbose: int = 0
    out: Console = field(default_factory=lambda: _console(stderr=False))
    err: Console = field(default_factory=lambda: _console(stderr=True))

    def error(self, message: str) -> None:
        self.err.print(f"[bold red]error[/]: {_escape(message)}", soft_wrap=True)

    def warning(self, message: str) -> None:
        if not self.quiet:
            self.err.print(f"[yellow]warning[/]: {_escape(message)}", soft_wrap=True)

    def info(self, message: str) -> None:
        if not self.quiet:
            self.err.print(_escape(message), soft_wrap=True)

    def detail(self, message: str) -> None:
        if self.verbose and not self.quiet:
            self.err.print(_escape(message), soft_wrap=True)

    def diagnostic(self, message: str) -> None:
        self.err.print(_escape(message), soft_wrap=True)

    def text(self, message: str) -> None:
        """A line of data on stdout (printed as is: no markup, never wrapped)."""
        self.out.print(message, markup=False, soft_wrap=True)

    def progress(self, message: str):  # type: ignore[no-untyped-def]
        """A spinner on stderr while slow work runs (only on a terminal, never with -q)."""
        from contextlib import nullcontext

        if self.quiet or not self.err.is_terminal:
            return nullcontext()
        return self.err.status(message)

    def json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
        sys.stdout.flush()


def _escape(message: str) -> str:
    from rich.markup import escape

    return escape(message)
