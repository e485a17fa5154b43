"""The register and one complaint's detail (``GET /api/complaints``, ``GET /api/complaints/REF``)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from estatecare.api.context import ApiContext
from estatecare.reads import complaints
from estatecare.services.people import Actor
from estatecare.services.schemas import MAX_OFFSET
from models.enums import ComplaintStatus


def router(ctx: ApiContext) -> APIRouter:
    """The complaint reads, for staff."""
    api = APIRouter(tags=["complaints"])
    staff = Annotated[Actor, Depends(ctx.current_staff)]
    now = ctx.now

    @api.get("/api/complaints", response_model=complaints.ComplaintPage)
    async def list_complaints(
        actor: staff,
        status: ComplaintStatus | None = None,
        estate: str | None = None,
        assignee: Annotated[str | None, Query(description="assignee email, or 'me'")] = None,
        overdue: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> complaints.ComplaintPage:
        """The register: filter by status, estate, assignee, overdue (staff see their estate only)."""
        return await ctx.run(
            lambda s: complaints.complaint_page(s, actor, status, estate, assignee, overdue, limit, offset, now())
        )

    @api.get("/api/complaints/{reference}", response_model=complaints.ComplaintDetail)
    async def get_complaint(reference: str, actor: staff) -> complaints.ComplaintDetail:
        """State, deadlines, assignee, escalation level, duplicates and the full history."""
        return await ctx.run(lambda s: complaints.complaint_detail(s, actor, reference, now()))

    return api
