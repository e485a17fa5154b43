"""Intake: receive -> assess -> assign for a batch of new complaints, then mark them done.

A burst is carried by batches: one intake run for up to a few hundred complaints, its
steps as tasks (one transaction per complaint each). Every complaint stays findable: the
run is tagged ``complaint:REF`` for each, and each task logs one line per complaint.
The same steps exist as the ``receive``, ``assess`` and ``assign`` flows for running by hand.
"""

from __future__ import annotations

from prefect import flow

from flows._delivery import deliver
from flows._naming import label as name_of
from flows._naming import tag_run
from models.ref import Ref
from tasks import lifecycle


@flow(name="intake", flow_run_name="intake {label}", log_prints=True)
async def intake_flow(refs: list[Ref], label: str = "") -> int:
    """Process new complaints; running it twice changes nothing the second time. Returns how many finished."""
    await tag_run(refs)
    name = name_of(refs)
    mine = await lifecycle.claim_intake(refs)  # another worker's run may hold some of them
    if not mine:
        await deliver()  # e.g. a person's assessment queued an explanation; nothing left to take in
        return 0
    finished: set[int] = set()
    try:
        received = await lifecycle.receive(mine, label=name)
        handled, assessed = await lifecycle.assess(received, label=name)
        await deliver()
        assigned = await lifecycle.assign(assessed, label=name) if assessed else []
        await deliver()
        finished = {r[0] for r in handled} - ({r[0] for r in assessed} - {r[0] for r in assigned})
        await lifecycle.mark_intake_done(sorted(finished))
    finally:  # what is left goes back to the sweep now rather than when the claim expires
        await lifecycle.release_intake(sorted({r[0] for r in mine} - finished))
    return len(finished)
