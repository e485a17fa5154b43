"""Distributed mode: register every deployment on a process work pool.

``estatecare deploy --pool NAME`` creates the pool when it does not exist and registers
``all_deployments()`` on it (schedules included). Workers started with
``prefect worker start --pool NAME`` then run the flows, each run in a new Python
process, with the worker's environment (ESTATECARE_*, PREFECT_API_URL).
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectNotFound

from deployments import all_deployments


async def ensure_pool(name: str, concurrency_limit: int | None = None) -> bool:
    """Create the process work pool ``name`` unless it exists; True when it was created."""
    async with get_client() as client:
        try:
            await client.read_work_pool(name)
            return False
        except ObjectNotFound:
            await client.create_work_pool(
                WorkPoolCreate(name=name, type="process", concurrency_limit=concurrency_limit)
            )
            return True


async def register(pool: str) -> dict[str, UUID]:
    """Register (or update) every deployment on ``pool``; returns deployment ids by full name."""
    await ensure_pool(pool)
    ids: dict[str, UUID] = {}
    # Built off the event loop: ``Flow.to_deployment`` returns a coroutine when called inside one.
    for deployment in await asyncio.to_thread(all_deployments):
        ids[deployment.full_name] = await deployment.aapply(work_pool_name=pool)
    return ids
