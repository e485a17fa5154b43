"""Running one benchmark module, in this process or in one of its own (for ``python -m bench``).

Here rather than in ``bench/__main__.py``: a spawned process can import a function from a
module, but not from a package's ``__main__``.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from bench.results import row


def run_module(name: str, quick: bool) -> list[dict[str, Any]]:
    """Import ``bench.<name>`` and run its ``main``; a failure becomes one row that did not meet its goal."""
    started = time.perf_counter()
    try:
        module = importlib.import_module(f"bench.{name}")
        main = getattr(module, "main", None)
        if not callable(main):
            return []
        rows = main(["--quick"] if quick else [])
        return [dict(r) for r in rows or []]
    except (Exception, SystemExit) as exc:
        traceback.print_exc()
        return [_error(name, f"{type(exc).__name__}: {exc}", seconds=round(time.perf_counter() - started, 1))]


def _error(name: str, error: str, **detail: Any) -> dict[str, Any]:
    """The row of a benchmark that did not run: a goal not met."""
    return row(f"{name}.error", None, "-", goal="the benchmark runs", met=False, detail={"error": error, **detail})


def _child(name: str, quick: bool, conn: Connection) -> None:
    conn.send(run_module(name, quick))
    conn.close()


def run_isolated(name: str, quick: bool) -> list[dict[str, Any]]:
    """:func:`run_module` in a process of its own: a benchmark's servers, environment and
    Prefect settings (e.g. the burst's Prefect server) cannot leak into the next one."""
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(name, quick, send), name=f"bench.{name}")
    child.start()
    send.close()
    try:
        rows: list[dict[str, Any]] = receive.recv()
    except EOFError:
        rows = [_error(name, f"the benchmark process ended with exit code {child.exitcode}")]
    child.join()
    return rows
