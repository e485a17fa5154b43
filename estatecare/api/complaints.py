"""The register and one complaint's detail (``GET /api/complaints``, ``GET /api/complaints/REF``)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from estatecare.api import views
from estatecare.api.context import ApiContext
from estatecare.reads import assessment, complaint_pages, complaints
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

    @api.get("/api/complaints/{reference}", response_model=views.ComplaintView)
    async def get_complaint(reference: str, actor: staff) -> views.ComplaintView:
        """State, deadlines, assignee, escalation level and the role it went up to, duplicates and the
        full history; while it waits for assessment, the keyword rules' suggestion for staff who may assess it."""
        policy = ctx.core.policy
        detail = await ctx.run(lambda s: assessment.complaint_with_suggestion(s, actor, reference, now(), policy))
        to_role = complaint_pages.escalated_to(policy.escalation.chain, detail.escalation_level)
        return views.ComplaintView(**detail.model_dump(), escalated_to=to_role)

    return api
