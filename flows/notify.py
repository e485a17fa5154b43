"""Notify: after a person's step (a result recorded, confirmed or returned, a transfer
sheet, a superior's decision, an assignment by hand, a progress update, a closing), deliver
the notices the step queued in its own transaction (R-HD-3..6, R-RV-3)."""

from __future__ import annotations

from prefect import flow

from flows._delivery import deliver
from flows._naming import tag_run
from models.ref import Ref


@flow(name="notify", flow_run_name="notify {label}", log_prints=True)
async def notify_flow(refs: list[Ref], label: str = "") -> None:
    """Deliver what the step queued; the run is tagged with the complaints it notified about."""
    await tag_run(refs)
    await deliver()
