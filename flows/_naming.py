"""How lifecycle flow runs are named and tagged, so operations find a complaint's runs.

Tags go on the flow run only, set from inside the run: a tag on a task run would cost
the task a concurrency-limit call to the server, which a burst cannot afford.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast
from urllib.parse import urlencode

from prefect.client.orchestration import PrefectClient
from prefect.context import FlowRunContext

from models.ref import Ref


def label(refs: Sequence[Ref]) -> str:
    """``CH-261123-7KQ4MZ``, or ``CH-261123-7KQ4MZ +41`` for a batch (the first reference and the count)."""
    if not refs:
        return "(none)"
    return refs[0][1] if len(refs) == 1 else f"{refs[0][1]} +{len(refs) - 1}"


def run_tags(refs: Sequence[Ref]) -> list[str]:
    """``estate:CH``, ``category:facility`` and ``complaint:REF`` for each complaint of the run."""
    found: dict[str, None] = {}
    for _, _ref, estate, category in refs:
        found[f"estate:{estate}"] = None
        if category:
            found[f"category:{category}"] = None
    for _, ref, _, _ in refs:
        found[complaint_tag(ref)] = None
    return list(found)


def complaint_tag(reference: str) -> str:
    """The tag every flow run that worked on complaint ``reference`` carries."""
    return f"complaint:{reference}"


def runs_page(prefect_ui: str, reference: str) -> str:
    """The Prefect UI's runs page filtered to one complaint's runs, over all time (the 3.8
    UI reads ``tags`` on ``/v2/runs``; ``/runs`` ignores it and shows every run)."""
    return f"{prefect_ui.rstrip('/')}/v2/runs?{urlencode({'tags': complaint_tag(reference)})}"


async def tag_run(refs: Sequence[Ref]) -> None:
    """Add the complaints' tags to the current flow run (its task runs stay untagged)."""
    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None or not refs:
        return
    tags = sorted({*ctx.flow_run.tags, *run_tags(refs)})
    client = cast(PrefectClient, ctx.client)
    await client.update_flow_run(ctx.flow_run.id, tags=tags)
