"""The error of a distribution source (a git repository, a URL) that cannot be used."""

from __future__ import annotations

from typing import ClassVar

from planner.errors import ExitCode, PlannerError
from planner.urls import redact_text, redact_url


class SourceError(PlannerError):
    """A source that cannot be used: names it (credentials hidden), the problem and the fix."""

    exit_code = ExitCode.BAD_INPUT
    kind: ClassVar[str] = "source"  # how the message names the source: "git repository", "URL"

    def __init__(self, url: str, problem: str, fix: str | None = None):
        self.url = redact_url(url)
        self.problem = redact_text(problem)
        self.fix = fix
        super().__init__(f"{self.kind} {self.url}: {self.problem}")

    def render(self) -> str:
        return f"{self}\n  fix: {self.fix}" if self.fix else str(self)
