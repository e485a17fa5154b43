"""A helper process that builds message bytes while the sender's connections send.

Rendering (Jinja2 + Babel) costs more CPU than talking SMTP; in one process the two take
turns on one core. A large batch is therefore built in a long-lived helper process, in
chunks, while the event loop only sends. The helper is spawned on first use (the web
process has threads, so no fork) and the sender builds in-process until it is up; if it
dies, its chunk is built in-process and a new helper is started for the next batch.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor


def worthwhile() -> bool:
    """A helper pays off with more than two cores. On two, the sender, the helper and (often)
    the SMTP server on the same machine take turns, and with rendering at ~0.65 ms a message
    the helper's round trips cost about what they save (measured by ``python -m bench email``)."""
    return (os.cpu_count() or 1) > 2


#: Batches smaller than this are built in-process: not worth the round trip.
MIN_ROWS = 20
#: Rows per round trip to the helper.
CHUNK = 50
#: Chunks handed to the helper ahead of the one being sent.
AHEAD = 3


def _quiet() -> None:
    """The helper ignores Ctrl-C (sent to the whole process group): its parent stops it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _ping() -> bool:
    """Import and compile every template in the helper, off the sender's hot path."""
    from models.enums import Locale
    from notifications.catalogue import CATALOGUE
    from notifications.render import compile_all

    compile_all(list(CATALOGUE), list(Locale))
    return True


class RenderHelper:
    """One helper process, started lazily and replaced when it breaks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._up: Future[bool] | None = None
        self.chunks_built = 0  # by the helper, since this process started

    def start(self) -> None:
        """Start the helper now (e.g. when a web process starts), so the first burst finds it up."""
        self.ready()

    def ready(self) -> ProcessPoolExecutor | None:
        """The helper if it is up; otherwise start it (once) and answer None for now."""
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"), initializer=_quiet)
                self._up = self._pool.submit(_ping)
                return None
            assert self._up is not None
            if not self._up.done():
                return None
            if self._up.exception() is not None:
                self._discard()
                return None
            return self._pool

    def broken(self, pool: ProcessPoolExecutor) -> None:
        """``pool`` failed (its process died): drop it; the next batch starts a new one."""
        with self._lock:
            if self._pool is pool:
                self._discard()

    def _discard(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool, self._up = None, None

    def shutdown(self) -> None:
        """Stop the helper process (at exit)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool, self._up = None, None


HELPER = RenderHelper()
atexit.register(HELPER.shutdown)
