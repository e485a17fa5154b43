"""The database thread runs people's requests before queued background work."""

from __future__ import annotations

import threading

import pytest

from estatecare.dbthread import BACKGROUND, REQUEST, DatabaseThread


def test_a_request_queued_after_background_work_runs_before_it() -> None:
    db, gate, order = DatabaseThread(), threading.Event(), []
    first = db.submit(lambda: gate.wait(5))  # holds the thread while the others queue
    later = [db.submit(lambda i=i: order.append(f"step{i}"), BACKGROUND) for i in range(3)]
    request = db.submit(lambda: order.append("request"), REQUEST)
    gate.set()
    for f in [first, *later, request]:
        f.result(5)
    assert order == ["request", "step0", "step1", "step2"]


def test_an_error_reaches_the_caller_and_the_thread_goes_on() -> None:
    db = DatabaseThread()
    with pytest.raises(ZeroDivisionError):
        db.submit(lambda: 1 / 0).result(5)
    assert db.submit(lambda: 42).result(5) == 42
