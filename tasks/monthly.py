"""Prefect tasks of the monthly procedures: the draw (R-RV-6) and the summary (R-KP-1, R-KP-2).

Each task does its database work on a worker thread through the service layer; both
are idempotent (one draw per estate and month; one summary email per month and
recipient unless forced), so a retried or repeated run changes nothing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from prefect import get_run_logger, task

from estatecare import runtime
from estatecare.runtime import current_app
from estatecare.services import monthly_report, sampling
from estatecare.services.records import in_transaction
from models.sampling import parse_month


@task(name="monthly-draw", task_run_name="draw {month}")
async def draw_month(month: str, estate: str | None = None, at: datetime | None = None) -> list[dict[str, Any]]:
    """Draw every estate's sample (or one estate's) and queue the lists; one row per sampled order."""
    core, log = current_app(), get_run_logger()
    year, mon = parse_month(month)
    now = at or runtime.now()
    results = await asyncio.to_thread(sampling.draw_all, core, year, mon, now, estate)
    rows: list[dict[str, Any]] = []
    for r in results:
        log.info(
            "draw %s %s: %s of %s orders (%s on site), seed %s%s",
            r.month, r.estate_code, r.size, r.population, r.on_site, r.seed, "" if r.created else " (drawn before)",
        )  # fmt: skip
        rows += [
            {
                "estate": r.estate_code,
                "work_order": i.work_order_ref,
                "unit": i.unit_label,
                "kind": i.kind,
                "completed_at": i.completed_at.isoformat() if i.completed_at else "",
                "method": i.method.value,
                "revisit_due_at": r.revisits_due_at.isoformat(),
                "seed": r.seed,
            }
            for i in r.items
        ]
    return rows


@task(name="job-revisits")
async def job_revisits(estate: str | None = None) -> int:
    """Safety net: finished urgent/major repairs and renovations without a revisit get one (R-RV-4, R-RV-5)."""
    core = current_app()
    now = runtime.now()

    def work(session: Any) -> int:
        ids = [e.id for e in sampling.estates(session, estate)] if estate else [None]
        return sum(sampling.ensure_job_revisits(core, session, now, estate_id) for estate_id in ids)

    made = await asyncio.to_thread(in_transaction, core.sessions, work)
    if made:
        get_run_logger().info("%s job revisit(s) created", made)
    return made


@task(name="monthly-summary", task_run_name="summary {month}")
async def summary(month: str, estate: str | None = None, force: bool = False) -> tuple[str, list[int]]:
    """Build the month's report and queue it to leadership with the .xlsx; returns (markdown in the
    company's language, queued ids)."""
    core = current_app()
    year, mon = parse_month(month)
    now = runtime.now()

    def work(session: Any) -> tuple[str, list[int]]:
        report = monthly_report.build_report(core, session, year, mon, estate, generated_at=now)
        queued = monthly_report.queue_summary(core, session, report, force=force, now=now)
        return monthly_report.markdown(report, core.policy.company.default_locale), queued

    markdown, queued = await asyncio.to_thread(in_transaction, core.sessions, work)
    get_run_logger().info("summary %s: %s email(s) queued%s", month, len(queued), "" if queued else " (sent before)")
    return markdown, queued
