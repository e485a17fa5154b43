"""Intake sweep: every accepted complaint is processed, even when its dispatch was lost
(the Prefect server was down, the web process restarted); lost follow-ups are redone too."""

from __future__ import annotations

from prefect import flow

from flows._naming import label
from flows.after_revisit import after_revisit_flow
from flows.assign import assign_flow
from flows.intake import intake_flow
from tasks import lifecycle

BATCH = 200


@flow(name="intake-sweep", log_prints=True)
async def intake_sweep_flow(older_than_seconds: float = 30.0, limit: int = 1000) -> int:
    """Run intake for complaints waiting longer than ``older_than_seconds``; returns how many."""
    waiting = await lifecycle.pending_intake(older_than_seconds, limit)
    for start in range(0, len(waiting), BATCH):
        batch = waiting[start : start + BATCH]
        await intake_flow(batch, label=label(batch))
    follow_ups = await lifecycle.pending_follow_ups(limit)
    if follow_ups["assign"]:
        await assign_flow(follow_ups["assign"], label=label(follow_ups["assign"]))
    if follow_ups["after-revisit"]:
        await after_revisit_flow(follow_ups["after-revisit"], label=label(follow_ups["after-revisit"]))
    if waiting:
        print(f"{len(waiting)} waiting complaint(s) taken through intake")
    return len(waiting)
