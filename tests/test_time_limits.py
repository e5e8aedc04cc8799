"""Bounded time: `--timeout` stops a solve with a clear message; an explanation's search has a
budget (`--explain-budget`, default a few seconds) past which the best set found so far is shown,
marked as possibly not minimal; a long run says what it is doing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from planner.solve import limits
from tests.fixtures.hostile import Served, assert_one_clear_error, compile_cli, served_project, snapshot


@pytest.fixture
def served(tmp_path: Path):
    with served_project(tmp_path) as served:
        yield served


def _pin_a_missing_version(served: Served) -> None:
    pyproject = served.project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('dependencies = ["alpha"]', 'dependencies = ["alpha==5.0"]'))


def test_timeout_stops_the_solve_with_a_clear_message(served: Served) -> None:
    _pin_a_missing_version(served)  # (a change, so that the outputs would be rewritten)
    before = snapshot(served.output)
    result = compile_cli(served.args("--timeout", "0.000001", cache=False))
    assert_one_clear_error(result, "solving stopped at the --timeout of 1e-06 s, while solving target",
                           "nothing was written", "fix: give it more time (--timeout)")
    assert snapshot(served.output) == before


@pytest.mark.parametrize("option", ["--timeout", "--explain-budget"])
@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_time_limits_are_checked(served: Served, option: str, value: str) -> None:
    result = compile_cli(served.args(option, value, cache=False))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output


def test_explanation_past_its_budget_shows_the_set_so_far(served: Served) -> None:
    _pin_a_missing_version(served)
    hurried = compile_cli(served.args("--explain-budget", "0"))
    assert hurried.exit_code == 1, hurried.output
    assert "alpha==5.0 (pyproject.toml:5)" in hurried.stderr  # the facts found so far
    assert "possibly not minimal" in hurried.stderr and "--explain-budget" in hurried.stderr
    assert "fixes" not in hurried.stderr  # no time was left to verify any
    unhurried = compile_cli(served.args(), {"PLANNER_EXPLAIN_BUDGET": "30"})
    assert unhurried.exit_code == 1, unhurried.output
    assert "possibly not minimal" not in unhurried.stderr and "fixes (each checked by solving again)" in unhurried.stderr


def test_the_explanation_budget_holds_for_a_slow_search(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every solve of the search is made slow; a one-second budget still ends the explanation
    within a few seconds instead of after every step (the search would need dozens)."""
    from planner.solve.target_solver import TargetSolver

    _pin_a_missing_version(served)
    real_solve = TargetSolver.solve

    def slow_solve(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.explain:
            time.sleep(0.2)
        return real_solve(self, *args, **kwargs)

    monkeypatch.setattr(TargetSolver, "solve", slow_solve)
    started = time.monotonic()
    result = compile_cli(served.args("--explain-budget", "1"))
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert "3 targets have no plan, for the same reasons:\n  target 'linux-cpu' (" in result.stderr
    # Three targets explained, each within its budget plus one slow solve (a guard, not a benchmark).
    assert elapsed < 3 * (1 + 0.2 * 3) + 15, elapsed


def test_a_long_run_says_what_it_is_doing(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    import planner.cli.console as console

    monkeypatch.setattr(console, "QUIET_SECONDS", 0.0)
    monkeypatch.setattr(console, "NOTE_SECONDS", 0.05)
    _pin_a_missing_version(served)
    result = compile_cli(served.args())
    assert result.exit_code == 1, result.output
    assert "still compiling 3 targets: " in result.stderr, result.stderr
    assert "--timeout limits it" in result.stderr


def test_limits_are_scoped_to_their_block() -> None:
    with limits.time_limit(0):
        with pytest.raises(limits.SolveTimeout):
            time.sleep(0.001)
            limits.check("t", 0)
    limits.check("t", 0)  # no limit outside
    with limits.explain_budget(1.5):
        assert limits.explain_seconds() == 1.5
    assert limits.explain_seconds() == limits.DEFAULT_EXPLAIN_SECONDS


def test_why_and_why_not_fresh_take_the_time_limits(served: Served) -> None:
    """`why --fresh` and `why-not --fresh` solve as compile does, within the same limits."""
    for command in (["why", "alpha"], ["why-not", "alpha"]):
        words = [*command, "-p", str(served.project), "--fresh", "--default-index", served.server.url("pypi"),
                 "--no-cache"]
        stopped = compile_cli([*words, "--timeout", "0.000001"])
        assert stopped.exit_code == 2, stopped.output
        assert "solving stopped at the --timeout of 1e-06 s" in stopped.stderr
        assert compile_cli([*words, "--explain-budget", "nan"]).exit_code == 2
        assert compile_cli([*words, "--timeout", "60"]).exit_code == 0


def test_the_deadline_interrupts_a_sat_call_that_runs_past_it() -> None:
    """Ten pigeons in nine holes: one SAT call takes tens of seconds; a half-second limit stops it
    at the deadline instead of after the call."""
    from pysat.examples.genhard import PHP
    from pysat.solvers import Solver

    with Solver(name="glucose41", bootstrap_with=PHP(10).clauses) as solver, limits.time_limit(0.5):
        started = time.monotonic()
        with pytest.raises(limits.SolveTimeout, match="--timeout of 0.5 s"):
            limits.solve_by_deadline(solver, [])
        assert time.monotonic() - started < 5  # a guard: uninterrupted, the call runs for minutes

