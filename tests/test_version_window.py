"""`version_window` narrows the versions a specifier is checked against by bisection: it must
never leave out a version the specifier admits (local labels, pre-releases, post-releases,
epochs and zero padding included)."""

from __future__ import annotations

import random

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from planner.solve.target_solver import version_window

TEXTS = ["1.0", "1.0+cpu", "1.0.post1", "1.0.post1+l", "1.0.1a1", "1.0.1", "1.0.1+cu121", "1.1.dev0", "1.1",
         "2.0rc1", "2.0", "2.0.0+x", "2.0.1", "2.0.post1.dev3", "0.9", "0.9.post2", "1.0.0.0", "1!0.1"]
OPERATORS = [">=", ">", "<=", "<", "==", "~=", "!=", "==="]


def _specifiers(count: int) -> list[SpecifierSet]:
    rng = random.Random(7)
    out: list[SpecifierSet] = []
    while len(out) < count:
        parts = []
        for _ in range(rng.randint(1, 3)):
            operator, text = rng.choice(OPERATORS), rng.choice(TEXTS + ["1.*", "2.0.*", "1.0.1.*"])
            parts.append(operator + text)
        try:
            out.append(SpecifierSet(",".join(parts)))
        except InvalidSpecifier:
            continue
    return out


def test_the_window_holds_every_admitted_version() -> None:
    versions = sorted({Version(t) for t in TEXTS})
    narrowed = 0
    for specifier in _specifiers(3000):
        low, high = version_window(specifier, versions)
        admitted = [i for i, v in enumerate(versions) if specifier.contains(v, prereleases=True)]
        assert all(low <= i < high for i in admitted), (str(specifier), low, high)
        narrowed += (high - low) < len(versions)
    assert narrowed > 1000  # the bounds do narrow (else the test proves nothing about bisection)


def test_local_builds_stay_inside_upper_and_exact_bounds() -> None:
    versions = sorted(Version(t) for t in ["2.4.0", "2.5.1", "2.5.1+cpu", "2.5.1+cu121", "2.6.0"])
    for text in ("==2.5.1", "<=2.5.1"):
        low, high = version_window(SpecifierSet(text), versions)
        assert [str(v) for v in versions[low:high]][-3:] == ["2.5.1", "2.5.1+cpu", "2.5.1+cu121"]
    low, high = version_window(SpecifierSet("==2.5.1+cpu"), versions)
    assert [str(v) for v in versions[low:high]] == ["2.5.1+cpu"]
