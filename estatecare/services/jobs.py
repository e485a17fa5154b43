"""Revisits of single jobs outside the monthly draw (R-RV-4, R-RV-5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services.people import first_with_role
from models import Revisit, WorkOrder
from models.enums import RevisitKind, RevisitMethod, Role, WorkOrderKind


def job_revisit(core: App, session: Session, order: WorkOrder, due_at: datetime) -> Revisit:
    """Urgent and major repairs: an immediate revisit by phone or on site (R-RV-4);
    renovation: on site within 7 days (R-RV-5)."""
    renovation = order.kind is WorkOrderKind.RENOVATION
    visitor = first_with_role(session, order.estate_id, Role.SERVICE_CENTRE_MANAGER)
    revisit = Revisit(
        estate_id=order.estate_id,
        work_order_id=order.id,
        kind=RevisitKind.RENOVATION if renovation else RevisitKind.SERVICE,
        method=RevisitMethod.ON_SITE if renovation else RevisitMethod.PHONE,
        visitor_id=visitor.id if visitor else None,
        due_at=due_at,
        created_at=order.completed_at or due_at,
    )
    session.add(revisit)
    session.flush()
    return revisit
