"""The web process's dispatcher: batching and a clean stop."""

from __future__ import annotations

import asyncio
from typing import Any

from estatecare.dispatch import Dispatcher
from flows._naming import Ref


def test_complaints_arriving_together_share_one_flow_run() -> None:
    calls: list[list[Ref]] = []

    async def intake(refs: list[Ref], label: str) -> None:
        calls.append(list(refs))

    async def scenario() -> None:
        d = Dispatcher({"intake": intake}, linger=0.05)
        d.start()
        for i in range(5):
            d.submit("intake", (i, f"CH-{i}", "CH", ""))
        await d.idle()
        await d.stop()

    asyncio.run(scenario())
    assert [[r[0] for r in batch] for batch in calls] == [[0, 1, 2, 3, 4]]


async def _dispatcher_in_a_stubborn_sweep(sweeps: list[int]) -> Dispatcher:
    """A dispatcher whose sweep is under way and, like a cancelled Prefect flow, turns its
    cancellation into an ordinary error."""
    in_sweep = asyncio.Event()

    async def sweep() -> Any:
        sweeps.append(1)
        in_sweep.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("All connection attempts failed") from None

    d = Dispatcher({}, sweep=sweep, sweep_every=0.01)
    d.start()
    await in_sweep.wait()
    return d


def test_stop_ends_a_sweep_that_turns_its_cancellation_into_an_error() -> None:
    sweeps: list[int] = []

    async def scenario() -> None:
        d = await _dispatcher_in_a_stubborn_sweep(sweeps)
        await asyncio.wait_for(d.stop(grace=5), 10)
        await asyncio.sleep(0.05)

    asyncio.run(scenario())
    assert sweeps == [1]


def test_cancelling_the_sweeper_without_stop_ends_it() -> None:
    """After a signal, asyncio.run cancels leftover tasks without calling stop(); the sweep must not loop on."""
    sweeps: list[int] = []

    async def scenario() -> None:
        d = await _dispatcher_in_a_stubborn_sweep(sweeps)
        assert d._sweeper is not None
        d._sweeper.cancel()
        await asyncio.wait_for(asyncio.wait({d._sweeper}), 10)

    asyncio.run(scenario())
    assert sweeps == [1]
