"""One writer at a time per embedded library, across processes (Chroma's files are not safe)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout

from assistant.errors import LibraryBusyError
from assistant.settings import Settings


@contextmanager
def write_lock(settings: Settings, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the library's write lock; tells `on_wait` once if another process has it."""
    if settings.store.chroma_url:  # a Chroma server serialises writes itself
        yield
        return
    settings.home.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.home / "library.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait is not None:
            on_wait(f"library busy: another litreview process is writing to {settings.home}; waiting")
        try:
            lock.acquire(timeout=settings.store.lock_timeout_s)
        except Timeout:
            raise LibraryBusyError(
                f"library busy: gave up after {settings.store.lock_timeout_s:.0f} s waiting for the "
                f"write lock {settings.home / 'library.lock'}"
            ) from None
    try:
        yield
    finally:
        lock.release()
