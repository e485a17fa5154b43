"""The monthly report over the API (``GET /api/reports/monthly``): who may read which estate,
and month validation."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy.orm import Session

from estatecare.api.context import ApiContext
from estatecare.app import App
from estatecare.services.errors import Forbidden
from estatecare.services.monthly_report import MonthlyReport, build_report
from estatecare.services.people import Actor
from estatecare.services.schemas import MONTH_PATTERN
from models import Estate
from models.sampling import parse_month


def monthly_view(
    core: App, session: Session, actor: Actor, month: str, estate: str | None, now: datetime
) -> MonthlyReport:
    """The report; staff of one estate read their own estate only, leaders read any (R-IN-6)."""
    try:
        year, mon = parse_month(month)
    except ValueError as exc:
        raise HTTPException(422, [{"loc": ["query", "month"], "msg": str(exc), "type": "value_error"}]) from None
    if actor.estate_id is not None:
        own = session.get(Estate, actor.estate_id)
        assert own is not None
        if estate not in (None, own.code):
            raise Forbidden("you may read your own estate's report only")
        estate = own.code
    return build_report(core, session, year, mon, estate, generated_at=now)


def router(ctx: ApiContext) -> APIRouter:
    """The report route, for staff."""
    api = APIRouter(tags=["reports"])
    staff = Annotated[Actor, Depends(ctx.current_staff)]

    @api.get("/api/reports/monthly", response_model=MonthlyReport)
    async def get_monthly_report(
        actor: staff,
        month: Annotated[
            str,
            Query(description="The month, YYYY-MM (2000-01 to 2100-12)", examples=["2026-11"], pattern=MONTH_PATTERN),
        ],
        estate: Annotated[str | None, Query(description="An estate's code; default: all (leaders)")] = None,
    ) -> MonthlyReport:
        """The month's statistics against the targets (R-KP-1, R-KP-2); staff of an estate see their own."""
        return await ctx.run(lambda s: monthly_view(ctx.core, s, actor, month, estate, ctx.now()))

    return api
