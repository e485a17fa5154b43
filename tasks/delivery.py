"""Prefect task: deliver the notification outbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import task

from estatecare.runtime import current_app
from notifications.sender import DeliveryReport, SmtpConfig, deliver_pending


class DeliveryFailed(Exception):
    """Some notifications failed permanently; they are recorded as failed in the outbox."""

    def __init__(self, report: DeliveryReport) -> None:
        self.report = report
        reasons = "; ".join(f"#{i}: {report.failures[i]}" for i in report.failed[:10])
        super().__init__(f"{len(report.failed)} notification(s) failed permanently ({reasons})")


def summary(report: DeliveryReport) -> dict[str, Any]:
    """A JSON-friendly summary of a report (the task's result)."""
    return {
        "sent": len(report.sent),
        "failed": report.failed,
        "deferred": len(report.deferred),
        "failures": {str(k): v for k, v in report.failures.items()},
    }


@task(name="deliver-outbox")
async def deliver_outbox(ids: list[int] | None = None, limit: int = 1000) -> dict[str, Any]:
    """Send due notifications (only ``ids`` if given).

    Temporary failures stay pending for the next sweep; a permanent failure is recorded
    on its row and then raised, so the task run ends Failed and operations see it.
    """
    app = current_app()
    report = await deliver_pending(
        app.sessions,
        SmtpConfig.from_settings(app.settings),
        app.policy.company.timezone,
        ids=ids,
        limit=limit,
        lease=timedelta(seconds=app.settings.send_lease_seconds),
    )
    if report.failed:
        raise DeliveryFailed(report)
    return summary(report)
