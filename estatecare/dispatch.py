"""Fire-and-forget starts of lifecycle flows from the web process, batched.

The API answers first and dispatches after: a complaint is already safe in the database.
Complaints that arrive together share one flow run (a burst is carried by batches), and
each complaint's task runs and tags carry its reference. When a run cannot start (the
Prefect server is down) nothing is lost: the intake sweep finds the work in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from estatecare.services.steps import FollowUp, Then
from flows._naming import label
from models.ref import Ref

log = logging.getLogger("estatecare.dispatch")

FlowFn = Callable[..., Awaitable[Any]]


def lifecycle_flows() -> dict[str, FlowFn]:
    """The flow that continues each kind of step (the step table's ``Then``)."""
    from flows.after_revisit import after_revisit_flow
    from flows.intake import intake_flow
    from flows.notify import notify_flow

    flows: dict[Then, FlowFn] = {
        Then.INTAKE: intake_flow,
        Then.NOTIFY: notify_flow,
        Then.AFTER_REVISIT: after_revisit_flow,
    }
    return {then.value: f for then, f in flows.items()}


def step_deployments() -> dict[str, str]:
    """The deployment (``flow/deployment``) that continues each kind of step in distributed mode."""
    from deployments.lifecycle import full_name

    return {step: full_name(f) for step, f in lifecycle_flows().items()}  # type: ignore[arg-type]


def sweep_deployment() -> str:
    """The intake sweep's deployment (``flow/deployment``)."""
    from deployments.lifecycle import full_name
    from flows.intake_sweep import intake_sweep_flow

    return full_name(intake_sweep_flow)


def deployment_flows() -> dict[str, FlowFn]:
    """Distributed mode: each step starts a run of its deployment, which a worker of the
    work pool picks up; this returns as soon as the run is created (the server must be up)."""

    def starter(name: str) -> FlowFn:
        async def start(refs: list[Ref], label: str = "") -> Any:
            from prefect.deployments import run_deployment

            return await run_deployment(  # type: ignore[misc]
                name, parameters={"refs": [list(r) for r in refs], "label": label}, timeout=0, as_subflow=False
            )

        return start

    return {step: starter(name) for step, name in step_deployments().items()}


async def start_sweep_deployment(older_than_seconds: float) -> None:
    """Distributed mode: ask a worker to run the intake sweep (claims keep concurrent sweeps apart)."""
    from prefect.deployments import run_deployment

    await run_deployment(  # type: ignore[misc]
        sweep_deployment(), parameters={"older_than_seconds": older_than_seconds}, timeout=0, as_subflow=False
    )


class Dispatcher:
    """A long-lived worker in the web process that runs lifecycle flows in batches."""

    def __init__(
        self,
        flows: dict[str, FlowFn] | None = None,
        *,
        linger: float = 0.1,
        max_batch: int = 200,
        sweep: Callable[[], Awaitable[Any]] | None = None,
        sweep_every: float = 30.0,
        share_prefect_client: bool = False,
    ) -> None:
        self.flows = flows if flows is not None else lifecycle_flows()
        # One Prefect client for every run this dispatcher starts: otherwise each flow run
        # builds its own (an HTTP client with a fresh TLS context), a few ms each in a burst.
        self.share_prefect_client = share_prefect_client
        self.linger = linger
        self.max_batch = max_batch
        self.sweep = sweep
        self.sweep_every = sweep_every
        self._queue: asyncio.Queue[tuple[str, Ref]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = False
        self.failures = 0

    def start(self) -> None:
        """Start the worker (and the periodic sweep, if any) on the running event loop."""
        loop = asyncio.get_running_loop()
        self._stopping = False
        if self._worker is None:
            self._worker = loop.create_task(self._loop(), name="estatecare-dispatcher")
        if self.sweep is not None and self._sweeper is None:
            self._sweeper = loop.create_task(self._sweep_loop(), name="estatecare-sweeper")

    async def _sweep_loop(self) -> None:
        assert self.sweep is not None
        # A flow run interrupted by cancel() may end with an ordinary exception instead of
        # CancelledError (Prefect catches it), so the loop also checks the stop flag and the
        # task's pending cancellation: asyncio.run's clean-up after a signal cancels it too.
        while not self._stopping:
            await asyncio.sleep(self.sweep_every)
            try:
                await self.sweep()
            except Exception as exc:
                task = asyncio.current_task()
                if self._stopping or (task is not None and task.cancelling()):
                    return
                log.warning("sweep did not run (%s); trying again in %.0f s", exc, self.sweep_every)

    async def stop(self, grace: float = 30.0) -> None:
        """Let queued work finish (up to ``grace`` seconds), then stop; leftovers wait for the sweep."""
        self._stopping = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.wait({self._sweeper}, timeout=grace)
            self._sweeper = None
        if self._worker is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), grace)
        except TimeoutError:
            log.warning("stopping with %d dispatch(es) queued; the intake sweep will pick them up", self._queue.qsize())
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        self._worker = None

    def submit(self, step: str, ref: Ref) -> None:
        """Queue ``step`` for one complaint; never blocks and never raises for Prefect trouble."""
        if step not in self.flows:
            raise KeyError(f"unknown lifecycle step {step!r}")
        self._queue.put_nowait((step, ref))

    def follow(self, follow_ups: Iterable[FollowUp]) -> None:
        """Queue what continues the steps just taken (``run_step``'s answer)."""
        for item in follow_ups:
            self.submit(item.then.value, item.ref)

    async def idle(self) -> None:
        """Wait until everything queued so far has been run."""
        await self._queue.join()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        async with contextlib.AsyncExitStack() as stack:
            shared = False
            while True:
                first = await self._queue.get()
                if self.share_prefect_client and not shared:
                    shared = await self._share_client(stack)
                batch: dict[str, list[Ref]] = {first[0]: [first[1]]}
                taken = 1
                until = loop.time() + self.linger
                while taken < self.max_batch:
                    remaining = until - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        step, ref = await asyncio.wait_for(self._queue.get(), remaining)
                    except TimeoutError:
                        break
                    batch.setdefault(step, []).append(ref)
                    taken += 1
                try:
                    for step, refs in batch.items():
                        await self._run(step, refs)
                finally:
                    for _ in range(taken):
                        self._queue.task_done()

    @staticmethod
    async def _share_client(stack: contextlib.AsyncExitStack) -> bool:
        """Open the Prefect client the runs will share; if the server is down, each run opens
        its own (and fails over to the sweep as before) and sharing is tried again next batch."""
        from prefect.context import AsyncClientContext

        context = AsyncClientContext()
        try:
            await stack.enter_async_context(context)
        except Exception as exc:
            with contextlib.suppress(Exception):  # the HTTP client may be open though the check failed
                await context.client.__aexit__(None, None, None)
            log.info("no shared Prefect client yet (%s)", exc)
            return False
        return True

    async def _run(self, step: str, refs: list[Ref]) -> None:
        try:
            await self.flows[step](refs, label=label(refs))
        except Exception as exc:  # the database holds the work; the sweep retries it
            self.failures += 1
            log.warning("%s flow for %s did not run (%s); left for the sweep", step, label(refs), exc)
