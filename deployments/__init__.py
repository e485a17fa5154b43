"""Every deployment and schedule of Estate Care, in one place.

``estatecare serve-flows`` serves them all from one long-lived process; the operator's
guide shows the same deployments on a process work pool.
"""

from __future__ import annotations

from prefect.deployments.runner import RunnerDeployment


def all_deployments() -> list[RunnerDeployment]:
    """Lifecycle, delivery and monthly deployments."""
    from deployments import lifecycle, monthly, notifications

    return [*lifecycle.deployables(), *notifications.deployables(), *monthly.deployables()]
