"""The revisits: the to-do list and records, an open letter, a work order's revisit, a review."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from estatecare.api.context import ApiContext
from estatecare.reads import revisits as revisit_reads
from estatecare.services import revisits
from estatecare.services.people import Actor
from estatecare.services.schemas import MAX_OFFSET, OpenLetterIn, ReviewIn, RevisitRecordIn, RowIdInPath, When


def router(ctx: ApiContext) -> APIRouter:
    """The revisit routes, for staff."""
    api = APIRouter(tags=["revisits"])
    staff = Annotated[Actor, Depends(ctx.current_staff)]

    @api.get("/api/revisits", response_model=revisit_reads.RevisitPage)
    async def list_revisits(
        actor: staff,
        estate: Annotated[str | None, Query(description="an estate's code; default: yours (leaders: all)")] = None,
        due_before: Annotated[
            When | None, Query(description="due before this date or time (no offset: the policy's timezone)")
        ] = None,
        done: Annotated[bool | None, Query(description="false: the to-do list; true: the records")] = False,
        reviewed: Annotated[
            bool | None, Query(description="with done=true, false: the records awaiting the supervisor's review")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> revisit_reads.RevisitPage:
        """The service centre's revisits, soonest due first: sampled orders (R-RV-6), major jobs and
        renovations (R-RV-4, R-RV-5), complaints (R-RV-3). Staff of an estate see their own."""
        return await ctx.run(
            lambda s: revisit_reads.revisit_page(
                ctx.core, s, actor, estate, due_before, done, limit, offset, ctx.now(), reviewed
            )
        )

    # before /api/revisits/{revisit_id}, which would take "open-letter" for an id (and answer 422)
    @api.post("/api/revisits/open-letter", response_model=list[revisit_reads.RevisitItem])
    async def post_open_letter(data: OpenLetterIn, actor: staff) -> list[revisit_reads.RevisitItem]:
        """Answer several due revisits about one shared problem with one open letter, filed with each
        (R-RV-12): all are recorded done by letter with its reference, or none. No satisfaction is
        recorded; complaint revisits (R-RV-14) and first revisits planned on site are refused."""
        return (await ctx.take("open-letter", 0, data, actor)).answer  # type: ignore[no-any-return]

    @api.post("/api/revisits/{revisit_id}", response_model=revisits.RecordedRevisit)
    async def post_order_revisit(
        revisit_id: RowIdInPath, data: RevisitRecordIn, actor: staff
    ) -> revisits.RecordedRevisit:
        """Record a work order's revisit: method, answers, satisfaction, signature or refusal note
        (R-RV-7, R-RV-8); unsatisfied sets the next revisit (R-RV-11); a new issue becomes a
        complaint (R-RV-10). A complaint's revisit is recorded on the complaint (409 here)."""
        return (await ctx.take("order-revisit", revisit_id, data, actor)).answer  # type: ignore[no-any-return]

    @api.post("/api/revisits/{revisit_id}/review", response_model=revisit_reads.RevisitItem)
    async def post_revisit_review(revisit_id: RowIdInPath, data: ReviewIn, actor: staff) -> revisit_reads.RevisitItem:
        """A supervisor of the revisit's estate (or a leader) reviews a done revisit record, a complaint's
        or a work order's, and signs an opinion (R-RV-9); not the person who recorded it. Once only."""
        return (await ctx.take("review", revisit_id, data, actor)).answer  # type: ignore[no-any-return]

    return api
