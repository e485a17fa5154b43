"""Every deployment and schedule of Estate Care, in one place.

``estatecare serve-flows`` serves them all from one long-lived process; the operator's
guide shows the same deployments on a process work pool.
"""

from __future__ import annotations

from prefect.deployments.runner import RunnerDeployment

from estatecare.settings import Settings, get_settings


def all_deployments(settings: Settings | None = None) -> list[RunnerDeployment]:
    """Lifecycle, delivery and monthly deployments."""
    from deployments import lifecycle, monthly, notifications

    s = settings or get_settings()
    return [*lifecycle.deployables(s), *notifications.deployables(s), *monthly.deployables(s.policy)]
