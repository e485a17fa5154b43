"""Deployments of the notification flows."""

from __future__ import annotations

from datetime import timedelta

from prefect.deployments.runner import RunnerDeployment

from deployments.lifecycle import deployment
from estatecare.settings import Settings, get_settings
from flows.deliver_outbox import deliver_outbox_flow


def deployables(settings: Settings | None = None) -> list[RunnerDeployment]:
    """The outbox sweep (every minute by default: mail deferred during an SMTP outage goes
    out at the first sweep after the server is back)."""
    s = settings or get_settings()
    return [
        deployment(
            deliver_outbox_flow, interval=timedelta(seconds=s.outbox_every_seconds), tags=["notifications", "sweep"]
        )
    ]
