"""Work orders: a job done for a resident, registered by staff once finished (R-RV-4..6); live
repair and service requests are ``repairs``."""

from __future__ import annotations

import secrets
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services.errors import Forbidden, InvalidInput
from estatecare.services.jobs import job_revisit
from estatecare.services.people import Actor, check_step
from estatecare.services.records import complaint_for, unit_in_estate
from estatecare.services.schemas import WorkOrderIn
from models import Department, Estate, WorkOrder
from models.enums import Role
from models.permissions import Case, Step


class WorkOrderOut(BaseModel):
    """A registered work order."""

    reference: str
    kind: str
    completed_at: datetime | None
    revisit_due_at: datetime | None


def order_reference(core: App, estate_code: str, now: datetime) -> str:
    """``WO-CH-261123-4F2A9C``: estate, local date, random part."""
    return f"WO-{estate_code}-{now.astimezone(core.policy.tz):%y%m%d}-{secrets.token_hex(3).upper()}"


def create_work_order(core: App, session: Session, data: WorkOrderIn, actor: Actor, now: datetime) -> WorkOrderOut:
    """Register a work order; jobs that need their own revisit get one (R-RV-4, R-RV-5). A linked
    complaint is of the order's estate; another estate's reference is answered like an unknown one."""
    estate = session.scalar(select(Estate).where(Estate.code == data.estate))
    if estate is None:
        raise InvalidInput("estate", f"no estate with code {data.estate!r}")
    check_step(actor, Step.WORK_ORDER, Case(estate_id=estate.id), hidden=Forbidden("this estate is not yours"))
    unit_id = unit_in_estate(session, estate, data.building, data.unit) if data.unit else None
    complaint_id = None
    if data.complaint:
        complaint = complaint_for(session, data.complaint, actor, Step.VIEW)
        if complaint.estate_id != estate.id:
            raise InvalidInput("complaint", f"a work order of estate {estate.code} links only to a complaint of it")
        complaint_id = complaint.id
    dept_id = None
    if data.department:
        dept_id = session.scalar(
            select(Department.id).where(Department.estate_id == estate.id, Department.code == data.department)
        )
        if dept_id is None:
            raise InvalidInput("department", f"no department {data.department!r} in estate {estate.code}")
    if data.completed_at is not None and data.completed_at.tzinfo is None:
        raise InvalidInput("completed_at", "give the time with its timezone offset")
    order = WorkOrder(
        reference=order_reference(core, estate.code, now),
        estate_id=estate.id,
        unit_id=unit_id,
        complaint_id=complaint_id,
        kind=data.kind,
        description=data.description,
        department_id=dept_id,
        handler_id=actor.id if actor.role is Role.HANDLER else None,
        created_at=now,
        completed_at=data.completed_at,
    )
    session.add(order)
    session.flush()
    revisit_due = None
    if data.completed_at is not None:
        revisit_due = core.deadlines.job_revisit_due(data.completed_at, data.kind)
        if revisit_due is not None:
            job_revisit(core, session, order, revisit_due)
    return WorkOrderOut(
        reference=order.reference, kind=order.kind.value, completed_at=order.completed_at, revisit_due_at=revisit_due
    )
