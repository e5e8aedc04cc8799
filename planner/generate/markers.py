"""Short markers that pick out a set of targets among the lock's targets.

A lock entry must be selected on exactly the targets that install it. Writing the disjunction of
the full environments of those targets would be correct and unreadable; instead each target is
described by a few *atoms* (its `sys_platform`, `platform_machine`, `python_version`, and for every
extra or group some target activates, `'x' in extras` or `'x' not in extras`), and the marker is a
smallest-first cover: for each target that installs the package, the fewest atoms of its own that
no target without the package satisfies, and then as few such terms as cover all of them.

Only the lock's own targets matter: `environments` in the lock refuses every other machine, so a
marker need not say anything about environments outside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from planner.targets.model import Target

_MAX_TERM_ATOMS = 5  # beyond this, a target's full description is used (never needed in practice)


@dataclass(frozen=True, order=True)
class Atom:
    rank: int  # display and preference order: platform first, then Python, extras, groups
    text: str


def target_atoms(target: Target, extras: Sequence[str], groups: Sequence[str]) -> tuple[Atom, ...]:
    """What tells `target` apart, as marker atoms. `extras`/`groups`: those any lock target uses."""
    env = target.environment
    atoms = [
        Atom(0, f"sys_platform == '{env['sys_platform']}'"),
        Atom(1, f"platform_machine == '{env['platform_machine']}'"),
        Atom(2, f"python_version == '{env['python_version']}'"),
    ]
    for extra in extras:
        atoms.append(Atom(3, f"'{extra}' in extras") if extra in target.extras
                     else Atom(5, f"'{extra}' not in extras"))
    for group in groups:
        atoms.append(Atom(4, f"'{group}' in dependency_groups") if group in target.groups
                     else Atom(6, f"'{group}' not in dependency_groups"))
    return tuple(atoms)


def environment_marker(target: Target) -> str:
    """The target's machine and Python, as `environments` in the lock lists it (no extras)."""
    return " and ".join(a.text for a in target_atoms(target, (), ()))


def indistinguishable(targets: Sequence[Target]) -> list[tuple[str, str]]:
    """Pairs of targets no marker can tell apart (same machine, Python, extras and groups)."""
    extras, groups = _universe(targets)
    seen: dict[frozenset[Atom], str] = {}
    pairs = []
    for target in targets:
        key = frozenset(target_atoms(target, extras, groups))
        if key in seen:
            pairs.append((seen[key], target.name))
        else:
            seen[key] = target.name
    return pairs


def selector_marker(using: set[str], targets: Sequence[Target]) -> str | None:
    """A marker true on the targets named in `using` and false on the others; None: all of them.

    Raises ValueError if two targets on either side cannot be told apart (see `indistinguishable`).
    """
    if all(t.name in using for t in targets):
        return None
    extras, groups = _universe(targets)
    atoms = {t.name: frozenset(target_atoms(t, extras, groups)) for t in targets}
    outside = [atoms[t.name] for t in targets if t.name not in using]
    inside = [t.name for t in targets if t.name in using]

    def separates(term: frozenset[Atom]) -> bool:
        return not any(term <= other for other in outside)

    # For each target, its smallest separating terms; then a greedy cover, widest term first.
    terms: set[frozenset[Atom]] = set()
    for name in inside:
        own = sorted(atoms[name])
        for size in range(1, min(len(own), _MAX_TERM_ATOMS) + 1):
            found = [frozenset(c) for c in combinations(own, size) if separates(frozenset(c))]
            if found:
                terms.update(found)
                break
        else:
            if not separates(atoms[name]):
                raise ValueError(f"target {name} cannot be told apart from a target without the package")
            terms.add(atoms[name])
    uncovered = set(inside)
    chosen: list[frozenset[Atom]] = []
    while uncovered:
        best = min(terms, key=lambda term: (
            -sum(1 for n in uncovered if term <= atoms[n]), len(term), sorted(term)))
        chosen.append(best)
        uncovered -= {n for n in uncovered if best <= atoms[n]}
    rendered = [" and ".join(a.text for a in sorted(term)) for term in sorted(chosen, key=sorted)]
    if len(rendered) == 1:
        return rendered[0]
    return " or ".join(f"({r})" if " and " in r else r for r in rendered)


def _universe(targets: Sequence[Target]) -> tuple[list[str], list[str]]:
    extras = sorted({e for t in targets for e in t.extras})
    groups = sorted({g for t in targets for g in t.groups})
    return extras, groups
