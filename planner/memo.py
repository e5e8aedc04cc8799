"""A value worked out once per object, for objects that are shared but slow to hash.

A compile meets the same `Version`, `SpecifierSet` and `Requirement` objects over and over (each
is parsed once per index page or metadata line and then shared), and hashing or comparing them
costs more than the answer. `PerObject` keeps an answer by the object's identity instead, and
the object with it: while the entry lives, the object cannot be freed and its id reused by
another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

_K = TypeVar("_K")
_V = TypeVar("_V")


class PerObject(Generic[_K, _V]):
    """`make(obj)`, computed once per object; `limit`: emptied when it holds that many (tests make
    millions of objects in one process), None: never."""

    __slots__ = ("_make", "_limit", "_found")

    def __init__(self, make: Callable[[_K], _V], limit: int | None = None):
        self._make = make
        self._limit = limit
        self._found: dict[int, tuple[_K, _V]] = {}

    def __call__(self, obj: _K) -> _V:
        found = self._found.get(id(obj))
        if found is None or found[0] is not obj:
            if self._limit is not None and len(self._found) >= self._limit:
                self._found.clear()
            found = self._found[id(obj)] = (obj, self._make(obj))
        return found[1]
