"""The CPython feature releases planner knows, kept as data (docs/targets.md).

Derived targets cover the lowest and the newest stable CPython that a project's
`requires-python` admits. "Newest stable" is the last row of this table, never the machine
planner runs on nor the network, so the same pyproject derives the same targets everywhere.

Updating: CPython publishes a feature release every October (PEP 602). When 3.N.0 final is out,
add its row here (and its date), then update the tests that name the newest Python
(`tests/test_targets.py` asserts the table's last row). Pre-releases never go in.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# (major, minor) -> date of its first final release (3.N.0), from the release schedule PEPs.
CPYTHON_RELEASES: Mapping[tuple[int, int], str] = MappingProxyType({
    (3, 8): "2019-10-14",  # PEP 569
    (3, 9): "2020-10-05",  # PEP 596
    (3, 10): "2021-10-04",  # PEP 619
    (3, 11): "2022-10-24",  # PEP 664
    (3, 12): "2023-10-02",  # PEP 693
    (3, 13): "2024-10-07",  # PEP 719
    (3, 14): "2025-10-07",  # PEP 745
    (3, 15): "2026-10-01",  # PEP 790
})

NEWEST_STABLE: tuple[int, int] = max(CPYTHON_RELEASES)
OLDEST_KNOWN: tuple[int, int] = min(CPYTHON_RELEASES)

# Minors a declared target or a future requires-python may name beyond the table: considered
# only when the project admits no released CPython at all (`requires-python = ">=3.16"`).
FUTURE_MINORS: tuple[tuple[int, int], ...] = tuple((3, minor) for minor in range(NEWEST_STABLE[1] + 1, 21))


def released(minor: tuple[int, int]) -> bool:
    return minor in CPYTHON_RELEASES


def release_date(minor: tuple[int, int]) -> str | None:
    return CPYTHON_RELEASES.get(minor)
