"""One thread that runs SQLite transactions in turn, people's requests before background work.

SQLite has one writer: transactions from many threads only queue on its lock, and the
busy handler's sleeps make a slow tail. So the web process runs them on one thread. A
plain queue would make a resident's POST wait behind a burst's hundreds of lifecycle
steps; here a request (priority 0) goes before flow work (priority 1), first come first
served within a priority.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

REQUEST = 0
BACKGROUND = 1


class DatabaseThread:
    """A single worker thread with a priority queue; started on first use, a daemon."""

    def __init__(self, name: str = "estatecare-db") -> None:
        self.name = name
        self._queue: queue.PriorityQueue[tuple[int, int, Callable[[], Any], Future[Any]]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, fn: Callable[[], T], priority: int = REQUEST) -> Future[T]:
        """Run ``fn`` on the thread; lower ``priority`` first."""
        future: Future[T] = Future()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()
            self._queue.put((priority, next(self._order), fn, future))
        return future

    def _loop(self) -> None:
        while True:
            _, _, fn, future = self._queue.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the awaiting caller
                future.set_exception(exc)
