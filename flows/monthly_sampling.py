"""Monthly sampling (R-RV-6): at 18:00 on the 30th (the last day of a shorter month), draw each
estate's general repair and cleaning orders, create the revisits, email the lists."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import acreate_table_artifact
from prefect.runtime import flow_run

from estatecare import runtime
from estatecare.runtime import current_app
from flows._delivery import deliver
from models.sampling import month_key
from tasks import monthly


def _run_name() -> str:
    """``sampling 2026-11`` (``sampling this month`` when the month is left to the schedule)."""
    params = flow_run.parameters
    scope = f" {params['estate']}" if params.get("estate") else ""
    return f"sampling {params.get('month') or 'this month'}{scope}"


@flow(name="monthly-sampling", flow_run_name=_run_name, log_prints=True)
async def monthly_sampling_flow(month: str | None = None, estate: str | None = None) -> int:
    """Draw ``month`` (default: this month, local time); returns how many orders were sampled."""
    if month is None:
        local = runtime.now().astimezone(current_app().policy.tz)
        month = month_key(local.year, local.month)
    await monthly.job_revisits(estate)
    rows = await monthly.draw_month(month, estate)
    await acreate_table_artifact(
        table=rows or [{"estate": estate or "*", "work_order": "(none)"}],
        key=f"sample-list-{month}",
        description=f"Monthly sample {month}: revisit each order before the 5th of next month.",
    )
    print(f"{month}: {len(rows)} work order(s) sampled")
    await deliver()
    return len(rows)
