"""The monthly report over the API: who may read which estate, and month validation."""

from __future__ import annotations

from datetime import datetime

from fastapi import HTTPException
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services.errors import Forbidden
from estatecare.services.monthly_report import MonthlyReport, build_report
from estatecare.services.people import Actor
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
