"""Numbers in versions, specifiers and markers must be of a sane size.

`packaging` turns every number of a version into a Python int: a 5000-digit one fails deep inside
a comparison (CPython refuses to convert more than 4300 digits), and big ones make later work
slow. uv stores each version number in 64 bits; planner holds input to the same bound, so an
absurd number is reported where it is written (the pyproject, an index's file name or metadata)
instead of failing in the middle of a plan.
"""

from __future__ import annotations

import re

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

MAX_NUMBER = 2**64 - 1  # as uv: every number of a version fits in 64 bits
_DIGITS_RE = re.compile(r"\d{21,}|\d{20}")  # runs that may exceed MAX_NUMBER


def oversized_number(text: str) -> str | None:
    """The first number in `text` above `MAX_NUMBER`, shortened for a message; None if none."""
    for match in _DIGITS_RE.finditer(text):
        run = match.group(0)
        if len(run) > 20 or int(run) > MAX_NUMBER:
            return run if len(run) <= 24 else f"{run[:10]}…({len(run)} digits)"
    return None


def number_problem(text: str) -> str | None:
    """Why `text` (a version, a specifier or a marker) holds a number planner refuses, or None."""
    number = oversized_number(text)
    if number is None:
        return None
    return f"the number {number} is too large (version numbers must fit in 64 bits, at most {MAX_NUMBER})"


def specifier_problem(specifiers: SpecifierSet) -> str | None:
    for specifier in specifiers:
        problem = number_problem(specifier.version)
        if problem is not None:
            return problem
    return None


def marker_number_problem(marker: Marker) -> str | None:
    return number_problem(str(marker))


def requirement_number_problem(requirement: Requirement) -> str | None:
    """A number too large in `requirement`'s versions or marker (its name and URL are not read)."""
    problem = specifier_problem(requirement.specifier)
    if problem is None and requirement.marker is not None:
        problem = marker_number_problem(requirement.marker)
    return problem
