"""PerObject: one answer per object, by identity."""

from __future__ import annotations

from packaging.version import Version

from planner.index.models import version_text
from planner.memo import PerObject


def test_equal_objects_keep_their_own_answers() -> None:
    # 1.0 and 1.0.0 are equal versions with different texts: answers are per object, not per value.
    short, long = Version("1.0"), Version("1.0.0")
    assert short == long
    assert (version_text(short), version_text(long)) == ("1.0", "1.0.0")


def test_an_answer_is_made_once_per_object_and_the_limit_empties_it() -> None:
    made: list[object] = []

    def make(obj: object) -> int:
        made.append(obj)
        return len(made)

    memo: PerObject[object, int] = PerObject(make, limit=2)
    a, b, c = object(), object(), object()
    assert [memo(a), memo(a), memo(b), memo(b)] == [1, 1, 2, 2]
    assert memo(c) == 3  # full: emptied, then c kept
    assert memo(a) == 4  # a is made again
    assert made == [a, b, c, a]


def test_a_freed_objects_id_never_returns_its_answer() -> None:
    memo: PerObject[list[int], int] = PerObject(len)
    first = [1, 2, 3]
    assert memo(first) == 3
    # The entry keeps `first` alive, so no new object can take its id while the entry lives.
    # Each list below is dropped by the caller at once: without the memo holding it, the next
    # list would often get its id, and the answer of the one before.
    for n in range(1, 500):
        assert memo(list(range(n))) == n
