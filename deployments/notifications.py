"""Deployments of the notification flows (the lead adds them to deployments/__init__.py)."""

from __future__ import annotations

from typing import Any

from prefect.types.entrypoint import EntrypointType

from flows.deliver_outbox import deliver_outbox_flow


def deployables() -> list[Any]:
    """The outbox sweep, every minute."""
    return [
        deliver_outbox_flow.to_deployment(
            name="deliver-outbox",
            entrypoint_type=EntrypointType.MODULE_PATH,  # importable from any working directory (work pools)
            interval=60,
            description="Send due notifications from the outbox; Failed when one failed permanently.",
            tags=["notifications"],
        )
    ]
