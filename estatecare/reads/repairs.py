"""A job (a live work order) as staff read it, the resident's contact only for those who may see it (R-IN-6),
and the technician's page of it: what may be recorded next, and by whom."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare.services.errors import NotFound
from estatecare.services.people import Actor, may
from estatecare.services.repair_schemas import JobEventView, JobView
from estatecare.services.repairs import charge_of, job_case, job_for
from models import Department, Estate, Revisit, Staff, Unit, WorkOrder, WorkOrderEvent
from models.enums import Role, WorkOrderStatus
from models.permissions import Step
from models.repairs import next_status
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
        select(Revisit)  # the latest: after a rework, the follow-up revisit rather than the one done
        .where(Revisit.work_order_id == order.id, Revisit.sample_item_id.is_(None))
        .order_by(Revisit.id.desc())
        .limit(1)
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
        history=job_history(session, order),
    )


def job_history(session: Session, order: WorkOrder) -> list[JobEventView]:
    """Every step of ``order``, in order (R-RC-1); a cleared signature is told as signed, not shown."""
    events = session.scalars(
        select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id).order_by(WorkOrderEvent.seq)
    ).all()
    ids = {i for e in events for i in (e.actor_id, e.technician_id) if i is not None}
    people = {p.id: p for p in session.scalars(select(Staff).where(Staff.id.in_(ids)))} if ids else {}
    out = []
    for e in events:
        actor, tech = people.get(e.actor_id or 0), people.get(e.technician_id or 0)
        details = {k: v for k, v in e.data.items() if k != "signature_png_base64"}
        if "signature_png_base64" in e.data:
            details["signed"] = e.data["signature_png_base64"] is not None
        out.append(
            JobEventView(
                at=e.at,
                action=e.action.value,
                from_status=e.from_status.value if e.from_status else None,
                to_status=e.to_status.value,
                actor=actor.email if actor else None,
                actor_name=actor.name if actor else None,
                technician=tech.email if tech else None,
                technician_name=tech.name if tech else None,
                note=e.note,
                details=details,
            )
        )
    return out


@dataclass(frozen=True)
class JobPage:
    """The technician's page of a job: the job as the reader sees it, and the steps open to them.

    ``next_step`` is the job's next recording step (``arrive``, ``complete``) when the reader may
    take it, else ""; ``technicians`` are the department's people the job may be given to
    (email, name), empty unless the reader may reassign it now."""

    job: JobView
    estate_name: str
    department_name: str | None
    contact_visible: bool
    next_step: str
    technicians: list[tuple[str, str]]
    revisit_method: str | None


def job_page(session: Session, actor: Actor, reference: str) -> JobPage:
    """The page of job ``reference`` for a staff member of its estate (another estate's: 404)."""
    order = job_for(session, reference, actor, Step.VIEW)
    view = job_view(session, actor, order)
    estate = session.get(Estate, order.estate_id)
    dept = session.get(Department, order.department_id) if order.department_id is not None else None
    assert estate is not None
    case = job_case(order)
    step = next((name for name in ("arrive", "complete") if next_status(order.status, name)), "")
    technicians: list[tuple[str, str]] = []
    if dept is not None and next_status(order.status, "reassign") and may(actor, Step.JOB_REASSIGN, case):
        technicians = [
            (email, name)
            for email, name in session.execute(
                select(Staff.email, Staff.name)
                .where(
                    Staff.department_id == dept.id,
                    Staff.active.is_(True),
                    Staff.role.in_([Role.HANDLER, Role.DEPARTMENT_HEAD]),
                    Staff.id != (order.handler_id or 0),
                )
                .order_by(Staff.id)
            )
        ]
    revisit = session.get(Revisit, view.revisit_id) if view.revisit_id is not None else None
    return JobPage(
        job=view,
        estate_name=estate.name,
        department_name=dept.name if dept else None,
        contact_visible=order.contact_visible_to(actor),
        next_step=step if step and may(actor, Step.JOB_WORK, case) else "",
        technicians=technicians,
        revisit_method=revisit.method.value if revisit else None,
    )


def signature_png(session: Session, actor: Actor, reference: str) -> bytes:
    """The resident's signature of a finished job, for staff of its estate (another estate's: 404)."""
    order = job_for(session, reference, actor, Step.VIEW)
    if order.signature_png is None or order.status not in (WorkOrderStatus.COMPLETED, WorkOrderStatus.CLOSED):
        raise NotFound(f"work order {reference} has no signature")
    return order.signature_png
