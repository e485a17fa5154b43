"""``POST /api/work-orders``: register a job done for a resident."""

from typing import Annotated

from fastapi import APIRouter, Depends

from estatecare.api.context import ApiContext
from estatecare.services import work_orders
from estatecare.services.people import Actor
from estatecare.services.schemas import WorkOrderIn


def router(ctx: ApiContext) -> APIRouter:
    """The work-order route, for staff."""
    api = APIRouter(tags=["work orders"])
    staff = Annotated[Actor, Depends(ctx.current_staff)]

    @api.post("/api/work-orders", status_code=201, response_model=work_orders.WorkOrderOut)
    async def post_work_order(data: WorkOrderIn, actor: staff) -> work_orders.WorkOrderOut:
        """Register a job done for a resident; urgent, major and renovation jobs get their own revisit
        (R-RV-4, R-RV-5); general repair and cleaning join the monthly draw (R-RV-6)."""
        return await ctx.run(lambda s: work_orders.create_work_order(ctx.core, s, data, actor, ctx.now()))

    return api
