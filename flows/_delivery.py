"""Delivering the emails a step queued, from inside a lifecycle flow."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, cast

from prefect.client.schemas.objects import State

from tasks.delivery import deliver_outbox


async def deliver() -> None:
    """Send due notifications. A failed delivery shows as a failed task run in the UI (and
    the row as failed in the outbox); the lifecycle step it follows stands."""
    await cast(Awaitable[State[Any]], deliver_outbox(return_state=True))
