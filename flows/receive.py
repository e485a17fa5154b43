"""Receive: acknowledge each complaint; written ones go to leadership (R-IN-2, R-IN-3)."""

from __future__ import annotations

from prefect import flow

from flows._delivery import deliver
from flows._naming import label as name_of
from flows._naming import tag_run
from models.ref import Ref
from tasks import lifecycle


@flow(name="receive", flow_run_name="receive {label}", log_prints=True)
async def receive_flow(refs: list[Ref], label: str = "") -> list[Ref]:
    """Acknowledge the complaints and send the emails; returns those handled."""
    await tag_run(refs)
    done = await lifecycle.receive(refs, label=name_of(refs))
    await deliver()
    return done
