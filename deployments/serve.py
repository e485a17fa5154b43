"""Serve every deployment from one long-lived process: ``estatecare serve-flows``.

Prefect's own ``serve`` stops badly on SIGTERM in 3.8 (its handler leaves ``Runner.astop``
un-awaited and exits from inside the event loop); here SIGTERM and SIGINT stop the runner
from the loop, so it pauses its schedules and closes its connections before the process exits.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from prefect.deployments.runner import RunnerDeployment
from prefect.runner import Runner

log = logging.getLogger("estatecare.serve_flows")


class _Runner(Runner):
    """A Runner whose SIGTERM handler asks the event loop to stop it."""

    def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
        self.request_stop()

    def request_stop(self) -> None:
        """Stop polling and end ``start()`` (callable from a signal handler in the loop's thread)."""
        if self.stopping or not self.started:
            return
        log.info("stopping: no new runs are started; schedules are paused until the next start")
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.astop()))


async def serve(deployments: list[RunnerDeployment]) -> None:
    """Register ``deployments`` and run their scheduled and requested runs until SIGTERM or SIGINT."""
    runner = _Runner(name="estatecare-flows", pause_on_shutdown=True)
    for deployment in deployments:
        await runner.add_deployment(deployment)  # type: ignore[misc]
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, runner.request_stop)
    names = ", ".join(d.name for d in deployments)
    log.info("serving %d deployments: %s", len(deployments), names)
    print(f"serving {len(deployments)} deployments: {names}", flush=True)
    await runner.start()
