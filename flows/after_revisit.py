"""After a revisit is recorded: close a satisfied complaint (R-RV-14), or reopen and
reassign an unsatisfied one (R-RV-11)."""

from __future__ import annotations

from prefect import flow

from flows._delivery import deliver
from flows._naming import label as name_of
from flows._naming import tag_run
from models.ref import Ref
from tasks import lifecycle


@flow(name="after-revisit", flow_run_name="after revisit {label}", log_prints=True)
async def after_revisit_flow(refs: list[Ref], label: str = "") -> dict[str, str]:
    """Conclude each recorded revisit; returns what happened to each complaint."""
    await tag_run(refs)
    outcome = await lifecycle.after_revisit(refs, label=name_of(refs))
    await deliver()
    return outcome
