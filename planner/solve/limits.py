"""Time limits of a run, and what it is busy with.

- the whole solve (`planner compile --timeout SECONDS`, `PLANNER_TIMEOUT`): every SAT call checks
  the deadline first, and a call still running at the deadline is interrupted (one hard call, a
  crafted index's pigeonhole, can otherwise run for hours); past it the run stops with
  `SolveTimeout` (exit 2), saying what it was doing;
- each explanation's search for the smallest conflicting set and its fixes (`--explain-budget
  SECONDS`, `PLANNER_EXPLAIN_BUDGET`, default `DEFAULT_EXPLAIN_SECONDS`): past it the best set
  found so far is shown, marked as possibly not minimal.

The limits are set by the command for its duration (`time_limit`, `explain_budget`) and read by the
solver and the explainer, from any thread; `activity()` is what the CLI's progress line shows.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from planner.errors import ExitCode, InputError, PlannerError

DEFAULT_EXPLAIN_SECONDS = 5.0
_state: dict[str, object] = {"deadline": None, "seconds": None, "explain": None, "activity": "", "calls": 0}


class SolveTimeout(PlannerError):
    """The solve ran past `--timeout`."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, seconds: float, activity: str):
        super().__init__(f"solving stopped at the --timeout of {seconds:g} s" + (f", while {activity}" if activity else "")
                         + "; nothing was written")
        self.fix = "give it more time (--timeout), or solve fewer targets at once (-t TARGET)"

    def render(self) -> str:
        return f"{self}\n  fix: {self.fix}"


def checked_seconds(value: float | None, option: str) -> float | None:
    """A time limit from the command line or the environment: a finite number of seconds >= 0."""
    if value is None:
        return None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{option} {value!r}: a time limit is a number of seconds, 0 or more",
                         fix=f"e.g. {option} 60")
    return value


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Solving within this block stops after `seconds` (None: no limit)."""
    previous = (_state["deadline"], _state["seconds"])
    _state["deadline"] = None if seconds is None else time.monotonic() + seconds
    _state["seconds"] = seconds
    try:
        yield
    finally:
        _state["deadline"], _state["seconds"] = previous


@contextmanager
def explain_budget(seconds: float | None) -> Iterator[None]:
    """Explanations within this block search for at most `seconds` each (None: the default)."""
    previous = _state["explain"]
    _state["explain"] = seconds
    try:
        yield
    finally:
        _state["explain"] = previous


def explain_seconds() -> float:
    """The time one explanation may search: set by the command, else `PLANNER_EXPLAIN_BUDGET`,
    else the default."""
    if _state["explain"] is not None:
        return float(_state["explain"])  # type: ignore[arg-type]
    raw = os.environ.get("PLANNER_EXPLAIN_BUDGET", "").strip()
    if not raw:
        return DEFAULT_EXPLAIN_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    checked = checked_seconds(value, "PLANNER_EXPLAIN_BUDGET=")
    assert checked is not None
    return checked


def check(target: str, sat_calls: int) -> None:
    """Before a SAT call on `target`: note the activity; past the deadline, stop."""
    _state["activity"] = f"solving target '{target}' ({sat_calls} SAT calls so far)"
    deadline = _state["deadline"]
    if deadline is not None and time.monotonic() > deadline:  # type: ignore[operator]
        raise SolveTimeout(float(_state["seconds"]), str(_state["activity"]))  # type: ignore[arg-type]


class _Interruptible(Protocol):
    """The part of a PySAT solver that a deadline needs."""

    def solve(self, assumptions: Sequence[int] = ...) -> bool | None: ...
    def solve_limited(self, assumptions: Sequence[int] = ..., expect_interrupt: bool = ...) -> bool | None: ...
    def interrupt(self) -> None: ...
    def clear_interrupt(self) -> None: ...


def solve_by_deadline(solver: _Interruptible, assumptions: Sequence[int]) -> bool:
    """One SAT call that the deadline interrupts (`check` came first): past it, `SolveTimeout`.
    Without a deadline it is the plain call (no timer thread)."""
    deadline = _state["deadline"]
    if deadline is None:
        return bool(solver.solve(assumptions=assumptions))
    timer = threading.Timer(max(0.0, deadline - time.monotonic()), solver.interrupt)  # type: ignore[operator]
    timer.daemon = True
    timer.start()
    try:
        answer = solver.solve_limited(assumptions=assumptions, expect_interrupt=True)
    finally:
        timer.cancel()
    if answer is None:  # interrupted: the solver's state stays usable, but the run is over
        solver.clear_interrupt()
        raise SolveTimeout(float(_state["seconds"]), str(_state["activity"]))  # type: ignore[arg-type]
    return answer


def note(activity: str) -> None:
    """What the run is busy with now (explaining a target, say)."""
    _state["activity"] = activity


def activity() -> str:
    return str(_state["activity"])
