"""Resolve: after the handler's result or the department head's confirmation, tell the
people concerned: confirmation task, reply to the complainant, revisit task (R-HD-6, R-RV-3)."""

from __future__ import annotations

from prefect import flow

from flows._delivery import deliver
from flows._naming import Ref, tag_run


@flow(name="resolve", flow_run_name="resolve {label}", log_prints=True)
async def resolve_flow(refs: list[Ref], label: str = "") -> None:
    """Deliver what the resolution step queued (the step itself ran in the API's transaction)."""
    await tag_run(refs)
    await deliver()
