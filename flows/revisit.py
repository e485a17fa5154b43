"""Revisit: after a revisit is recorded, close a satisfied complaint (R-RV-14), reopen and
reassign an unsatisfied one (R-RV-11), and take in a new issue raised during it (R-RV-10)."""

from __future__ import annotations

from prefect import flow

from flows._delivery import deliver
from flows._naming import Ref, tag_run
from flows._naming import label as name_of
from flows.intake import intake_flow
from tasks import lifecycle


@flow(name="revisit", flow_run_name="revisit {label}", log_prints=True)
async def revisit_flow(refs: list[Ref], label: str = "", new_complaints: list[Ref] | None = None) -> dict[str, str]:
    """Conclude each recorded revisit; returns what happened to each complaint."""
    await tag_run(refs)
    outcome = await lifecycle.after_revisit(refs, label=name_of(refs))
    await deliver()
    if new_complaints:
        await intake_flow(new_complaints, label=name_of(new_complaints))
    return outcome
