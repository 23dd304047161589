"""The process's second thread: independent reads of one search run beside each other (and the query
encoder lays its weights out there once, off the first query's path).

Chroma's queries and numpy's copies release the GIL, so on two cores two of them overlap. Each caller
awaits its own futures and every part is computed exactly as it would be alone, so results never depend on
the threads. A task run here never waits on another task run here (that could wait forever once every
worker waits).

Measured and not taken: splitting the query encode's steps over the two threads gave the same bits but no
speed (docs/benchmarks.md, fifth session).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

PREFIX = "litreview-beside"  # its threads sit idle between calls (the CLI's quick exit knows them)
T = TypeVar("T")
_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def beside(fn: Callable[..., T], *args: Any) -> Future[T]:
    """Start fn(*args) on another thread; the caller goes on and takes the result when it needs it."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix=PREFIX)
        return _pool.submit(fn, *args)
