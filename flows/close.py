"""Close: a complaint closed by hand when R-RV-14 holds; linked duplicates close with it (R-IN-5)."""

from __future__ import annotations

from prefect import flow

from flows._delivery import deliver
from flows._naming import Ref, tag_run


@flow(name="close", flow_run_name="close {label}", log_prints=True)
async def close_flow(refs: list[Ref], label: str = "") -> None:
    """Deliver anything the closing step queued."""
    await tag_run(refs)
    await deliver()
