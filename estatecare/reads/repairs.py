"""A job (a live work order) as staff read it, the resident's contact only for those who may see it (R-IN-6)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare.services.people import Actor
from estatecare.services.repair_schemas import JobView
from estatecare.services.repairs import charge_of, job_for
from models import Department, Estate, Revisit, Staff, Unit, WorkOrder
from models.permissions import Step
from notifications.catalogue import mask_phone


def job(session: Session, actor: Actor, reference: str) -> JobView:
    """The job ``reference`` for a staff member of its estate (another estate's: 404)."""
    return job_view(session, actor, job_for(session, reference, actor, Step.VIEW))


def job_view(session: Session, actor: Actor | None, order: WorkOrder) -> JobView:
    """What ``actor`` sees of ``order`` (None: the system, which sees everything)."""
    estate = session.get(Estate, order.estate_id)
    unit = session.get(Unit, order.unit_id) if order.unit_id is not None else None
    dept = session.get(Department, order.department_id) if order.department_id is not None else None
    tech = session.get(Staff, order.handler_id) if order.handler_id is not None else None
    revisit = session.scalar(
        select(Revisit).where(Revisit.work_order_id == order.id, Revisit.sample_item_id.is_(None)).order_by(Revisit.id)
    )
    sees = actor is None or order.contact_visible_to(actor)
    assert estate is not None
    return JobView(
        reference=order.reference,
        estate=estate.code,
        unit=unit.label if unit else None,
        status=order.status.value,
        version=order.version,
        channel=order.channel.value if order.channel else None,
        trade=order.trade.value if order.trade else None,
        kind=order.kind.value,
        urgency=order.urgency.value,
        description=order.description,
        department=dept.code if dept else None,
        technician=tech.email if tech else None,
        technician_name=tech.name if tech else None,
        resident_name=order.contact_name if sees else None,
        resident_phone=order.contact_phone if sees else mask_phone(order.contact_phone),
        resident_email=order.contact_email if sees else None,
        preferred_at=order.preferred_at,
        on_site_due_at=order.on_site_due_at,
        dispatched_at=order.dispatched_at,
        arrived_at=order.arrived_at,
        completed_at=order.completed_at,
        work_done=order.work_done,
        materials=order.materials,
        charge=charge_of(order),
        signed=order.signature_png is not None,
        refusal_note=order.refusal_note,
        revisit_id=revisit.id if revisit else None,
        revisit_due_at=revisit.due_at if revisit else None,
    )
