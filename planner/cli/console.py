"""Where the CLI writes: data to stdout, diagnostics to stderr, with -q / -v and NO_COLOR."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

QUIET_SECONDS = 10.0  # off a terminal, the first "still ..." line comes after this long
NOTE_SECONDS = 30.0  # and then one every this long

if TYPE_CHECKING:
    from rich.console import Console


def _console(stderr: bool) -> Console:
    from rich.console import Console  # imported when a command runs: `planner --help` needs no rich

    # rich honours NO_COLOR and COLUMNS, and disables colour when the stream is not a terminal.
    # Piped output is never wrapped at a fixed width: tables stay one row per line for grep and
    # diff, unless COLUMNS asks for a width.
    stream = _PipeSafe(sys.stderr if stderr else sys.stdout)
    console = Console(file=stream, highlight=False, soft_wrap=False)  # type: ignore[arg-type]
    if not console.is_terminal:
        width = _columns() or PIPE_WIDTH
        console = Console(file=stream, highlight=False, soft_wrap=False, width=width)  # type: ignore[arg-type]
    return console


PIPE_WIDTH = 10_000  # "unlimited": a table off a terminal takes the width its rows need


def _columns() -> int | None:
    """COLUMNS, when it holds a usable width."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return None
    return columns if columns >= 20 else None


class _PipeSafe:
    """A text stream whose reader may go away (`planner ... | head`): writes after that are
    dropped (`reader_gone`) instead of failing the command."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            reader_gone(self._stream)
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            reader_gone(self._stream)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@dataclass
class Output:
    """Lines for the user. Off a terminal (CI logs, pipes, tests) they are written as plain text,
    exactly as rich would write them there, without loading rich; a terminal gets rich's colours,
    and tables and the status line always go through rich (`out`, `err`)."""

    quiet: bool = False
    verbose: int = 0

    @cached_property
    def out(self) -> Console:
        return _console(stderr=False)

    @cached_property
    def err(self) -> Console:
        return _console(stderr=True)

    def error(self, message: str) -> None:
        self._say(message, "error", "bold red")

    def warning(self, message: str) -> None:  # shown with -q too: -q keeps errors and warnings
        self._say(message, "warning", "yellow")

    def info(self, message: str) -> None:
        if not self.quiet:
            self._say(message)

    def detail(self, message: str) -> None:
        if self.verbose and not self.quiet:
            self._say(message)

    def diagnostic(self, message: str) -> None:
        self._say(message)

    def text(self, message: str) -> None:
        """A line of data on stdout (printed as is: no markup, never wrapped)."""
        stream = _plain_stream(sys.stdout)
        if stream is None:
            self.out.print(message, markup=False, soft_wrap=True)
        else:
            _write_plain(stream, message)

    def _say(self, message: str, label: str = "", style: str = "") -> None:
        shown = _shown(message)
        stream = _plain_stream(sys.stderr)
        if stream is None:
            from rich.markup import escape

            self.err.print(f"[{style}]{label}[/]: {escape(shown)}" if label else escape(shown), soft_wrap=True)
        else:
            _write_plain(stream, f"{label}: {shown}" if label else shown)

    @contextmanager
    def progress(self, message: str, counts: Callable[[], str] | None = None) -> Iterator[None]:
        """While slow work runs, what it is busy with (`planner.solve.limits.activity`): on a
        terminal a line kept current with the phase and target and `counts()` (pages, metadata,
        builds so far); elsewhere (CI logs) a line after `QUIET_SECONDS` and then every
        `NOTE_SECONDS`. Nothing with -q."""
        if self.quiet:
            yield
            return
        import threading
        import time

        from planner.solve.limits import activity

        done = threading.Event()
        started = time.monotonic()
        if _plain_stream(sys.stderr) is None:  # a terminal, as rich decides it
            status = self.err.status(message)
            status.start()

            def refresh() -> None:
                while not done.wait(0.5):
                    now = activity()
                    so_far = ", ".join(part for part in (counts() if counts else "",
                                                         f"{time.monotonic() - started:.0f} s") if part)
                    status.update(f"{message}: {now or 'working'} ({so_far})")
        else:
            status = None

            def refresh() -> None:
                if done.wait(QUIET_SECONDS):
                    return
                while True:
                    self.info(f"still {message}: {activity() or 'working'} ({time.monotonic() - started:.0f} s; "
                              "--timeout limits it)")
                    if done.wait(NOTE_SECONDS):
                        return

        thread = threading.Thread(target=refresh, name="planner-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(1)
            if status is not None:
                status.stop()

    def json(self, data: Any) -> None:
        stream = _PipeSafe(sys.stdout)
        stream.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
        stream.flush()

    def flush(self) -> None:
        """Flush both streams (a closed pipe noticed here ends quietly too)."""
        _PipeSafe(sys.stdout).flush()
        _PipeSafe(sys.stderr).flush()


def reader_gone(stream: Any) -> None:
    """The program reading a stream went away (`planner ... | head`): what is left to print goes
    to /dev/null, and the command finishes with the exit code its work earned. (Python would
    report the closed pipe once more when it flushes the stream on exit.)"""
    try:
        fileno = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test's capture): nothing to redirect
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fileno)
    finally:
        os.close(devnull)


def _shown(message: str) -> str:
    """A diagnostic as printed: URL credentials hidden (a last guard: messages redact what they
    quote already), control characters shown escaped."""
    from planner.urls import redact_text

    return _CONTROL_RE.sub(_shown_control, redact_text(message))


def _plain_stream(stream: Any) -> _PipeSafe | None:
    """`stream` for plain text when rich would not treat it as a terminal, else None. rich's rules,
    in order: TTY_COMPATIBLE=1/0, then FORCE_COLOR (set and not empty: a terminal), then isatty."""
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible == "1":
        return None
    if compatible != "0":
        force = os.environ.get("FORCE_COLOR")
        if force is not None:
            if force != "":
                return None
        else:
            try:
                if stream.isatty():
                    return None
            except (AttributeError, ValueError):  # no isatty, or closed: not a terminal
                pass
    return _PipeSafe(stream)


# What rich drops from printed text (bell, backspace, vertical tab, form feed, carriage return).
_RICH_STRIPPED = dict.fromkeys((7, 8, 11, 12, 13))


def _write_plain(stream: _PipeSafe, text: str) -> None:
    """One line as rich writes it off a terminal with soft wrapping: tabs expanded to 8 columns,
    the control codes above dropped. (Emoji codes such as `:smile:` stay as written.)"""
    stream.write(text.translate(_RICH_STRIPPED).expandtabs(8) + "\n")


# Control characters other than newline and tab: shown escaped, never sent to the terminal (an
# index's yank reason, say, could otherwise hold escape sequences).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _shown_control(match: re.Match[str]) -> str:
    return repr(match.group(0))[1:-1]
