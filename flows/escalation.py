"""Escalation: a transfer sheet to the superior, or the superior's decision as a work
arrangement notice (R-HD-3). Missed deadlines escalate in the deadline sweep."""

from __future__ import annotations

from prefect import flow

from flows._delivery import deliver
from flows._naming import Ref, tag_run


@flow(name="escalation", flow_run_name="escalation {label}", log_prints=True)
async def escalation_flow(refs: list[Ref], label: str = "") -> None:
    """Deliver the transfer sheet or work arrangement notice that the step queued."""
    await tag_run(refs)
    await deliver()
