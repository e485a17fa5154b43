"""Deployments of the monthly flows and their schedules, in the policy's timezone.

Sampling: 18:00 on the 30th, or the last day of a shorter month (R-RV-6), as an RRULE
(``BYMONTHDAY=28,29,30;BYSETPOS=-1``). Summary: 09:00 on the 1st for the previous month
(R-KP-1). Times and days come from the policy (``sampling.draw_day/draw_time``,
``summary.day/time``).
"""

from __future__ import annotations

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, RRule

from deployments.lifecycle import deployment
from flows.monthly_sampling import monthly_sampling_flow
from flows.monthly_summary import monthly_summary_flow
from models.policy import Policy
from models.sampling import draw_rrule, summary_cron


def deployables(policy: Policy | None = None) -> list[RunnerDeployment]:
    """The monthly sampling and summary deployments with their schedules."""
    if policy is None:
        from estatecare.settings import get_settings

        policy = get_settings().policy
    tz = policy.company.timezone
    return [
        deployment(
            monthly_sampling_flow,
            schedule=RRule(draw_rrule(policy.sampling), timezone=tz),
            tags=["monthly", "sampling"],
        ),
        deployment(
            monthly_summary_flow,
            schedule=Cron(summary_cron(policy.summary), timezone=tz),
            tags=["monthly", "summary"],
        ),
    ]
