"""Work shared among the machine's cores: the check's loading, MkDocs' two loops over the pages
and the post-build audit of a large site.

`share(work, count, processes)` runs `work(0)` ... `work(count - 1)` and returns their results
in order. Worker processes are forked from this one, so they inherit its memory: `work` and
everything it reads (a loaded configuration, the pages of a build) are never pickled, only what
each call returns is. The workers take batches from the front; this process takes them from the
back, each one that no worker has started yet, so no core waits and the results this process made
are not pickled either.

Where `fork` does not exist (Windows), or for a single process, the calls run here in order.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

R = TypeVar("R")

#: at most this many processes, this one included
MOST = 8

#: what the forked workers run, by index: set just before the pool forks them
_TASKS: list[Callable[[int], Any]] = []


def cores() -> int:
    """The cores this process may run on (at most `MOST`)."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(count, MOST))


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _run(task: int, index: int) -> Any:
    """In a worker: call `index` of the task `task` (inherited from the parent at the fork)."""
    return _TASKS[task](index)


def _tell(finished: Callable[[int, Any], None], index: int, future: Future[Any]) -> None:
    """A worker's call is over (in the pool's thread): `finished` unless it failed or was cancelled."""
    if not future.cancelled() and future.exception() is None:
        finished(index, future.result())


def share(work: Callable[[int], R], count: int, processes: int, *,
          done: Callable[[int, R], None] | None = None,
          first: Callable[[], Any] | None = None) -> tuple[list[R], Any]:
    """`[work(0), ..., work(count - 1)]` over `processes` processes, this one included; and
    `first()` (or None), run by a worker before any batch (here, when one process does all).
    `done(index, result)` is told as each call ends, in whatever order they end (progress), one
    at a time. An exception a call raises is raised here, and the calls not yet started are
    cancelled."""
    lock = threading.Lock()

    def finished(index: int, result: R) -> None:
        if done is not None:
            with lock:
                done(index, result)

    if processes <= 1 or count <= 1 or not can_fork() or _TASKS:
        extra = first() if first is not None else None  # (_TASKS set: already inside a share)
        results = []
        for i in range(count):
            results.append(work(i))
            finished(i, results[-1])
        return results, extra
    _TASKS[:] = [work, (lambda _index: first()) if first is not None else work]
    pool = ProcessPoolExecutor(max_workers=processes - 1, mp_context=multiprocessing.get_context("fork"))
    try:
        side = pool.submit(_run, 1, 0) if first is not None else None
        futures: list[Future[R]] = [pool.submit(_run, 0, i) for i in range(count)]
        for i, future in enumerate(futures):
            future.add_done_callback(functools.partial(_tell, finished, i))
        mine: dict[int, R] = {}
        for i in reversed(range(count)):
            if not futures[i].cancel():
                break  # the pool has reached this call, so it has every call before it
            mine[i] = work(i)
            finished(i, mine[i])
        results = [mine[i] if i in mine else futures[i].result() for i in range(count)]
        return results, side.result() if side is not None else None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _TASKS.clear()


def beside(side: Callable[[], R], here: Callable[[], Any]) -> tuple[R, Any]:
    """`(side(), here())`, with `side` run in a forked worker while this process runs `here`
    (both in this process, one after the other, where a worker cannot be forked). Only what `side`
    returns is pickled. An exception either raises is raised here."""
    if cores() <= 1 or not can_fork() or _TASKS:
        return side(), here()
    _TASKS[:] = [lambda _index: side()]
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    try:
        future = pool.submit(_run, 0, 0)
        mine = here()
        return future.result(), mine
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _TASKS.clear()
