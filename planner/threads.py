"""Thread pools that an interruption can end.

`ThreadPoolExecutor` used as a context manager waits, on the way out, for every task it was
given, even when the reason for leaving is Ctrl-C or SIGTERM: a run would go on downloading
until its queue is empty. `map_in_threads` cancels the tasks not yet started instead, and lets
the interruption go on at once (the tasks already running end on their own).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


def map_in_threads(function: Callable[[_T], _R], items: Iterable[_T], workers: int, name: str) -> list[_R]:
    """`[function(item) for item in items]`, on up to `workers` threads, in order."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    try:
        results = list(pool.map(function, items))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results
