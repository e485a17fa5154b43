"""Repair and service requests: ``POST /api/repairs`` (residents without a token, staff any channel)
and a job's steps ``POST /api/work-orders/REF/...``, each one row of the step table."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from estatecare.api.context import ApiContext
from estatecare.api.errors import TooMany
from estatecare.rate_limits import IntakeLimits
from estatecare.reads import repairs as repair_reads
from estatecare.services import steps
from estatecare.services.people import Actor
from estatecare.services.repair_schemas import (
    ArrivalIn,
    CompletionIn,
    JobAccepted,
    JobView,
    ReassignmentIn,
    RepairIn,
)


def router(ctx: ApiContext, limits: IntakeLimits) -> APIRouter:
    """The repair routes; ``limits`` count the public's requests with its complaints."""
    api = APIRouter(tags=["repairs"])
    staff = Annotated[Actor, Depends(ctx.current_staff)]

    @api.post("/api/repairs", status_code=201, response_model=JobAccepted)
    async def post_repair(
        request: Request, data: RepairIn, receiver: Annotated[Actor | None, Depends(ctx.optional_staff)]
    ) -> JobAccepted:
        """Request a repair or service (報修): without a staff token (a resident) online only; staff
        register a call or a walk-in. The job is dispatched at once to its trade's department, to the
        technician with the fewest open jobs, who is sent it by email."""
        if receiver is None:
            address = request.client.host if request.client else "unknown"
            if (refusal := limits.admit(address)) is not None:
                raise TooMany(refusal)
        done = await steps.run_step(ctx.core, "repair-request", 0, data, receiver, ctx.now())
        ctx.follow(done.follow_ups)
        return done.answer  # type: ignore[no-any-return]

    @api.get("/api/work-orders/{reference}", response_model=JobView)
    async def get_work_order(reference: str, actor: staff) -> JobView:
        """A job: where it stands, its technician, deadline and record, and its history (every step:
        when, by whom, from which status to which); the resident's contact for the service centre,
        supervisors and its technician while it is theirs."""
        return await ctx.run(lambda s: repair_reads.job(s, actor, reference))

    async def step(name: str, reference: str, data: BaseModel, actor: Actor) -> JobView:
        return (await ctx.take(name, reference, data, actor)).answer  # type: ignore[no-any-return]

    @api.post("/api/work-orders/{reference}/arrival", response_model=JobView)
    async def post_arrival(reference: str, data: ArrivalIn, actor: staff) -> JobView:
        """The technician is on site (the job's technician, or its department's head)."""
        return await step("job-arrive", reference, data, actor)

    @api.post("/api/work-orders/{reference}/completion", response_model=JobView)
    async def post_completion(reference: str, data: CompletionIn, actor: staff) -> JobView:
        """The job is done: work, materials, charge and the resident's signature (or a refusal note).
        Urgent jobs get an immediate revisit, a renovation completion one on site within days; other
        repair and cleaning jobs join the month's draw."""
        return await step("job-complete", reference, data, actor)

    @api.post("/api/work-orders/{reference}/reassignment", response_model=JobView)
    async def post_reassignment(reference: str, data: ReassignmentIn, actor: staff) -> JobView:
        """Give the job to another technician of its department (its head, supervisors, leaders)."""
        return await step("job-reassign", reference, data, actor)

    return api
