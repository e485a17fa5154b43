"""Deadline sweep (every few minutes): missed response, resolution or revisit deadlines
escalate one level and notify, once per deadline (R-HD-1, R-HD-3); promised reply dates and
revisits about to fall due are reminded of, once each (R-HD-5, R-RV-13)."""

from __future__ import annotations

from prefect import flow

from flows._delivery import deliver
from tasks import lifecycle


@flow(name="deadline-sweep", log_prints=True)
async def deadline_sweep_flow() -> int:
    """Returns how many escalations were raised."""
    raised = await lifecycle.sweep_deadlines()
    if raised:
        print(f"{len(raised)} missed deadline(s) escalated")
    reminded = await lifecycle.send_reminders()
    if reminded.next_replies:
        print(f"{len(reminded.next_replies)} complaint(s) past their promised reply date: complainant and handler told")
    if reminded.revisits:
        print(f"{len(reminded.revisits)} revisit reminder(s) queued")
    await deliver()
    return len(raised)
