"""Run a job that reports tokens through a callback in a worker thread, and yield the tokens as they come."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar, cast

from assistant.chain import TokenSink

T = TypeVar("T")
_DONE = object()


class TokenStream(Generic[T]):
    """Iterate for the tokens; afterwards `result()` is the job's return value (or raises its error).

    Streamlit may draw only from the script thread, so the job runs in a worker thread that
    only puts tokens on a queue, and the script thread iterates (e.g. in `st.write_stream`).
    """

    def __init__(self, job: Callable[[TokenSink], T]) -> None:
        self._queue: queue.Queue[object] = queue.Queue()
        self._result: T | None = None
        self._error: BaseException | None = None
        self._drained = False
        self._thread = threading.Thread(target=self._run, args=(job,), daemon=True, name="litreview-answer")
        self._thread.start()

    def _run(self, job: Callable[[TokenSink], T]) -> None:
        try:
            self._result = job(self._queue.put)
        except BaseException as exc:  # handed to the script thread by result()
            self._error = exc
        finally:
            self._queue.put(_DONE)

    def __iter__(self) -> Iterator[str]:
        while not self._drained:
            item = self._queue.get()
            if item is _DONE:
                self._drained = True
                return
            if isinstance(item, str) and item:
                yield item

    def result(self) -> T:
        """The job's return value, after the tokens are drained; re-raises the job's error."""
        for _ in self:  # drain whatever the caller did not read
            pass
        self._thread.join()
        if self._error is not None:
            raise self._error
        return cast(T, self._result)
