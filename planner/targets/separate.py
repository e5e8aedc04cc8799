"""The shortest PEP 508 marker that is true on some targets and false on others.

Used to tell a user how to make a platform-bound requirement explicit: `vllm>=0.6` that cannot
install on macOS becomes `vllm>=0.6; sys_platform == 'linux'`. Only `sys_platform`,
`platform_machine` and `python_version` are used, the variables people write by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

from planner.targets.model import PythonVersion, Target


@dataclass(frozen=True)
class _Atom:
    text: str
    holds: Callable[[Target], bool]


def _atoms(targets: Sequence[Target], keep: Sequence[Target]) -> list[_Atom]:
    """Candidate atoms, the ones people prefer first: `sys_platform == 'linux'` before
    `sys_platform != 'darwin'`, platform before machine before Python."""
    atoms: list[_Atom] = []
    for variable in ("sys_platform", "platform_machine"):
        values = sorted({t.environment[variable] for t in targets})
        if keep:
            atoms += [_Atom(f"{variable} == '{v}'", lambda t, v=v, k=variable: t.environment[k] == v) for v in values]
        atoms += [_Atom(f"{variable} != '{v}'", lambda t, v=v, k=variable: t.environment[k] != v) for v in values]
    pythons = sorted({t.python.minor_tuple for t in targets})
    for major, minor in pythons:
        bound = PythonVersion(major, minor).short
        atoms.append(_Atom(f"python_version < '{bound}'", lambda t, b=(major, minor): t.python.minor_tuple < b))
        atoms.append(_Atom(f"python_version >= '{bound}'", lambda t, b=(major, minor): t.python.minor_tuple >= b))
    return atoms


def separating_marker(keep: Sequence[Target], drop: Sequence[Target]) -> str | None:
    """A marker true on every target of `keep` and false on every target of `drop` (one atom, else
    two joined by `and`); None when no such marker exists or `drop` is empty."""
    if not drop:
        return None
    atoms = _atoms([*keep, *drop], keep)
    usable = [a for a in atoms if all(a.holds(t) for t in keep)]
    for atom in usable:
        if not any(atom.holds(t) for t in drop):
            return atom.text
    for first, second in combinations(usable, 2):
        if not any(first.holds(t) and second.holds(t) for t in drop):
            return f"{first.text} and {second.text}"
    return None
