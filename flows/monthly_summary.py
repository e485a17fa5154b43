"""Monthly summary (R-KP-1, R-KP-2): at 09:00 on the 1st, the previous month's statistics
against the targets, emailed to leadership with the .xlsx form, and a markdown artifact."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact
from prefect.runtime import flow_run

from estatecare import runtime
from estatecare.runtime import current_app
from flows._delivery import deliver
from models.sampling import month_key, summary_month
from tasks import monthly


def _run_name() -> str:
    """``summary 2026-11`` (``summary last month`` when the month is left to the schedule)."""
    params = flow_run.parameters
    scope = f" {params['estate']}" if params.get("estate") else ""
    return f"summary {params.get('month') or 'last month'}{scope}"


@flow(name="monthly-summary", flow_run_name=_run_name, log_prints=True)
async def monthly_summary_flow(month: str | None = None, estate: str | None = None, force: bool = False) -> int:
    """Report ``month`` (default: the previous month); returns how many emails were queued."""
    if month is None:
        month = month_key(*summary_month(runtime.now(), current_app().policy.tz))
    markdown, queued = await monthly.summary(month, estate, force)
    await acreate_markdown_artifact(
        markdown=markdown,
        key=f"monthly-summary-{month}",
        description=f"Monthly summary {month} against the targets",
    )
    print(f"{month}: {len(queued)} summary email(s) queued")
    await deliver()
    return len(queued)
