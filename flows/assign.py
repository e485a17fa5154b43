"""Assign: department by the routing table, the person with the fewest open cases (R-HD-2)."""

from __future__ import annotations

from prefect import flow

from flows._delivery import deliver
from flows._naming import label as name_of
from flows._naming import tag_run
from models.ref import Ref
from tasks import lifecycle


@flow(name="assign", flow_run_name="assign {label}", log_prints=True)
async def assign_flow(refs: list[Ref], label: str = "") -> int:
    """Assign each assessed complaint and send the work arrangement notices; returns how many were handled."""
    await tag_run(refs)
    done = await lifecycle.assign(refs, label=name_of(refs))
    await deliver()
    return len(done)
