"""Flow: drain the notification outbox (scheduled every minute)."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.client.schemas.objects import State
from prefect.states import Failed

from tasks.delivery import DeliveryFailed, deliver_outbox

#: Rows per task run; the flow runs the task again while batches come back full.
BATCH = 1000
#: Upper bound on task runs per flow run, so one run never outlives its schedule by much.
MAX_ROUNDS = 20


@flow(name="deliver-outbox")
async def deliver_outbox_flow(ids: list[int] | None = None) -> dict[str, Any] | State[Any]:
    """Send every due notification; the run is Failed if any failed permanently."""
    sent = deferred = 0
    failed: list[int] = []
    for _ in range(MAX_ROUNDS):
        state: State[Any] = await deliver_outbox(ids=ids, limit=BATCH, return_state=True)  # type: ignore[misc]
        result = await state.aresult(raise_on_failure=False)
        if isinstance(result, DeliveryFailed):
            report = result.report
            sent, deferred = sent + len(report.sent), deferred + len(report.deferred)
            failed += report.failed
            handled = report.claimed
        elif isinstance(result, dict):
            sent, deferred = sent + int(result["sent"]), deferred + int(result["deferred"])
            handled = int(result["sent"]) + int(result["deferred"])
        else:
            raise result if isinstance(result, BaseException) else RuntimeError(f"unexpected result {result!r}")
        if handled < BATCH or deferred:
            break
    totals = {"sent": sent, "deferred": deferred, "failed": failed}
    if failed:
        return Failed(message=f"{len(failed)} notification(s) failed permanently: {failed[:20]}", data=totals)
    return totals
