"""Assess: link duplicates, apply the keyword rules, or ask the supervisor (R-IN-5, R-AS-1..4)."""

from __future__ import annotations

from prefect import flow

from flows._delivery import deliver
from flows._naming import label as name_of
from flows._naming import tag_run
from models.ref import Ref
from tasks import lifecycle


@flow(name="assess", flow_run_name="assess {label}", log_prints=True)
async def assess_flow(refs: list[Ref], label: str = "") -> list[Ref]:
    """Returns the complaints that left the received state (assessed or linked)."""
    await tag_run(refs)
    _, assessed = await lifecycle.assess(refs, label=name_of(refs))
    await deliver()
    return assessed
