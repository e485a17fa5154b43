"""Repair and service requests (報修 → 派工 → 完工 → 回訪): a resident's request becomes a live work
order, dispatched at once to the least busy technician of its trade's department (R-HD-2), who
records the arrival and the completion with the resident's sign-off; the finished job then gets
the revisit its kind calls for (R-RV-4, R-RV-5) or waits for the month's draw (R-RV-6); an
unsatisfied revisit reopens it (R-RV-11), a satisfied one closes it.

Each function is one step of the step table (``steps.py``), in the caller's transaction, and
appends to the job's history (``WorkOrderEvent``, R-RC-1): who, when, what, from which status to which.
"""

from __future__ import annotations

import base64
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services import messages
from estatecare.services.errors import ConflictError, Forbidden, InvalidInput, NotFound, WrongState
from estatecare.services.jobs import job_revisit
from estatecare.services.lifecycle.revisit import decode_signature
from estatecare.services.people import Actor, check_step, department, first_with_role, staff_by_email
from estatecare.services.records import unit_in_estate
from estatecare.services.repair_schemas import ArrivalIn, CompletionIn, ReassignmentIn, RepairIn
from estatecare.services.revisits import OrderRevisitOutcome
from estatecare.services.work_orders import order_reference
from models import Estate, Revisit, Staff, WorkOrder, WorkOrderEvent
from models.enums import Channel, Role, WorkOrderAction, WorkOrderStatus
from models.permissions import Case, Step
from models.repairs import job_kind, next_status, on_site_due
from models.revisit import OPEN_JOB_STATES, is_satisfied

A = WorkOrderAction


def job_case(order: WorkOrder) -> Case:
    """The facts of a job the permissions matrix decides on: its estate, department and technician."""
    return Case(estate_id=order.estate_id, department_id=order.department_id, assignee_id=order.handler_id)


def unknown_job(reference: str) -> NotFound:
    """The answer for a job that does not exist, or is another estate's."""
    return NotFound(f"no work order with reference {reference!r}")


def job_for(
    session: Session, reference: str, actor: Actor | None, step: Step, expected_version: int | None = None
) -> WorkOrder:
    """The job ``reference`` once ``actor`` may take ``step`` on it; another estate's is answered as an
    unknown one, before its version is compared."""
    order = session.scalar(select(WorkOrder).where(WorkOrder.reference == reference))
    if order is None:
        raise unknown_job(reference)
    check_step(actor, step, job_case(order), hidden=unknown_job(reference))
    if expected_version is not None and order.version != expected_version:
        raise ConflictError(
            f"work order {reference} changed since version {expected_version} "
            f"(now version {order.version}, status {order.status.value}); reload and try again"
        )
    return order


def _move(order: WorkOrder, step: WorkOrderAction) -> WorkOrderStatus:
    """Move the job by ``step`` (``models.repairs.MOVES``); the status it was in."""
    before = order.status
    after = next_status(before, step)
    if after is None:
        raise WrongState(f"work order {order.reference} is {before.value}: no {step.value} step now", before)
    order.status = after
    return before


def _record(
    session: Session,
    order: WorkOrder,
    action: WorkOrderAction,
    before: WorkOrderStatus | None,
    actor: Actor | None,
    now: datetime,
    *,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> WorkOrderEvent:
    """Append ``action`` to the job's history (R-RC-1), once the step has changed the job: the
    status it came from and is in now, and the technician it is with."""
    last = session.scalar(select(func.max(WorkOrderEvent.seq)).where(WorkOrderEvent.work_order_id == order.id))
    event = WorkOrderEvent(
        work_order_id=order.id,
        seq=(last or 0) + 1,
        at=now,
        actor_id=actor.id if actor is not None else None,
        action=action,
        from_status=before,
        to_status=order.status,
        technician_id=order.handler_id,
        note=note,
        data=data or {},
    )
    session.add(event)
    session.flush()
    return event


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def least_busy_technician(session: Session, department_id: int) -> Staff | None:
    """The department's handler with the fewest open jobs (ties: the lowest id), else its head
    with the fewest (R-HD-2); None when the department has nobody active."""
    open_jobs = (
        select(func.count(WorkOrder.id))
        .where(WorkOrder.handler_id == Staff.id, WorkOrder.status.in_(list(OPEN_JOB_STATES)))
        .correlate(Staff)
        .scalar_subquery()
    )
    for role in (Role.HANDLER, Role.DEPARTMENT_HEAD):
        person = session.scalar(
            select(Staff)
            .where(Staff.department_id == department_id, Staff.active.is_(True), Staff.role == role)
            .order_by(open_jobs, Staff.id)
            .limit(1)
        )
        if person is not None:
            return person
    return None


def request_repair(core: App, session: Session, data: RepairIn, actor: Actor | None, now: datetime) -> WorkOrder:
    """Register a request (the resident online without signing in, staff any channel) and dispatch it
    at once to its trade's department (R-HD-2), the technician getting the job by email."""
    if actor is None and data.channel is not Channel.ONLINE:
        raise Forbidden(
            "without a staff token only online requests are accepted: "
            f"one by {data.channel.value} is registered by staff"
        )
    estate = session.scalar(select(Estate).where(Estate.code == data.estate))
    if estate is None:
        raise InvalidInput("estate", f"no estate with code {data.estate!r}")
    check_step(actor, Step.JOB_REQUEST, Case(estate_id=estate.id), hidden=Forbidden("this estate is not yours"))
    unit_id = unit_in_estate(session, estate, data.building, data.unit) if data.unit else None
    if data.preferred_at is not None:
        if data.preferred_at.tzinfo is None:
            raise InvalidInput("preferred_at", "give the time with its timezone offset")
        if data.preferred_at <= now:
            raise InvalidInput("preferred_at", "must be in the future")
    dept = department(session, estate.id, core.policy.repairs.routing[data.trade])
    order = WorkOrder(
        reference=order_reference(core, estate.code, now),
        estate_id=estate.id,
        unit_id=unit_id,
        kind=job_kind(data.trade, data.urgency),
        description=data.description,
        department_id=dept.id,
        created_at=now,
        status=WorkOrderStatus.REQUESTED,
        channel=data.channel,
        trade=data.trade,
        urgency=data.urgency,
        contact_name=data.contact_name,
        contact_phone=data.contact_phone,
        contact_email=data.contact_email,
        locale=data.locale,
        preferred_at=data.preferred_at,
        on_site_due_at=on_site_due(core.policy.repairs, now, data.urgency, data.preferred_at),
    )
    session.add(order)
    session.flush()
    _record(session, order, A.REQUEST, None, actor, now, data={"on_site_due_at": _iso(order.on_site_due_at)})
    technician = least_busy_technician(session, dept.id)
    if technician is not None:  # else it waits, requested, for the department head to assign it
        _dispatch_to(core, session, order, technician, A.DISPATCH, actor, now, assigned_by="")
    return order


def _dispatch_to(
    core: App,
    session: Session,
    order: WorkOrder,
    technician: Staff,
    step: WorkOrderAction,
    actor: Actor | None,
    now: datetime,
    *,
    assigned_by: str,
    note: str = "",
) -> None:
    before = _move(order, step)
    order.handler_id = technician.id
    order.dispatched_at = now
    order.arrived_at = None
    _record(session, order, step, before, actor, now, note=note, data={"on_site_due_at": _iso(order.on_site_due_at)})
    messages.job_task(core, session, order, technician, assigned_by=assigned_by)


def reassign(
    core: App, session: Session, reference: str, data: ReassignmentIn, actor: Actor | None, now: datetime
) -> WorkOrder:
    """Give the job to another active technician of its department (R-HD-2)."""
    order = job_for(session, reference, actor, Step.JOB_REASSIGN, data.version)
    try:
        person = staff_by_email(session, data.staff_email)
    except NotFound as exc:
        raise InvalidInput("staff_email", str(exc)) from exc
    if person.estate_id != order.estate_id:
        raise InvalidInput("staff_email", "that person works for another estate")
    if person.department_id != order.department_id:
        raise Forbidden("a job is reassigned within its department: that person is of another department")
    if person.id == order.handler_id:
        raise WrongState(f"work order {order.reference} is already {person.name}'s", order.status)
    _dispatch_to(
        core, session, order, person, A.REASSIGN, actor, now, assigned_by=actor.name if actor else "", note=data.note
    )
    return order


def _when(field: str, value: datetime | None, now: datetime, not_before: datetime | None) -> datetime:
    at = value or now
    if at.tzinfo is None:
        raise InvalidInput(field, "give the time with its timezone offset")
    if at > now:
        raise InvalidInput(field, "cannot be in the future")
    if not_before is not None and at < not_before:
        raise InvalidInput(field, f"cannot be before {not_before.isoformat()}")
    return at


def arrive(
    core: App, session: Session, reference: str, data: ArrivalIn, actor: Actor | None, now: datetime
) -> WorkOrder:
    """The technician is on site: the arrival time against the on-site deadline (punctuality)."""
    order = job_for(session, reference, actor, Step.JOB_WORK, data.version)
    before = _move(order, A.ARRIVE)
    order.arrived_at = _when("arrived_at", data.arrived_at, now, order.dispatched_at)
    _record(session, order, A.ARRIVE, before, actor, now, data={"arrived_at": _iso(order.arrived_at)})
    return order


def _signature(data: CompletionIn) -> bytes:
    """The resident's signature as a PNG (the schema asks for it or a refusal note, as on-site revisits, R-RV-8)."""
    return decode_signature(data.signature_png_base64)


def complete(
    core: App, session: Session, reference: str, data: CompletionIn, actor: Actor | None, now: datetime
) -> WorkOrder:
    """The job is done (完工): work, materials, charge, the resident's sign-off. Urgent and major jobs
    get an immediate revisit, a renovation completion one on site (R-RV-4, R-RV-5), the service
    centre being sent it with the resident's contact; other repair and cleaning jobs join the
    month's draw (R-RV-6). A job put right after an unsatisfied revisit already has its next
    revisit (R-RV-11): it gets no other, and that revisit's visitor is sent it now."""
    order = job_for(session, reference, actor, Step.JOB_WORK, data.version)
    signature = _signature(data)
    before = _move(order, A.COMPLETE)
    order.completed_at = _when("completed_at", data.completed_at, now, order.arrived_at)
    order.work_done = data.work_done
    order.materials = data.materials
    order.charge_cents = int(data.charge * 100) if data.charge is not None else None
    order.signature_png = signature or None
    order.refusal_note = data.refusal_note
    _record(session, order, A.COMPLETE, before, actor, now, data={"completed_at": _iso(order.completed_at)})
    revisit = session.scalar(
        select(Revisit)
        .where(Revisit.work_order_id == order.id, Revisit.done_at.is_(None))
        .order_by(Revisit.due_at, Revisit.id)
        .limit(1)
    )
    if revisit is None:
        due = core.deadlines.job_revisit_due(order.completed_at, order.kind)
        revisit = job_revisit(core, session, order, due) if due is not None else None
    if revisit is not None:
        visitor = session.get(Staff, revisit.visitor_id) if revisit.visitor_id is not None else None
        if visitor is not None:
            messages.job_revisit_task(core, session, order, revisit, visitor)
    return order


def after_order_revisit(
    core: App, session: Session, outcome: OrderRevisitOutcome, actor: Actor | None, now: datetime
) -> None:
    """What a work order's recorded revisit does to the job; its outcome joins the job's history
    whatever it is (R-RC-1).

    Only a live job (``WorkOrder.is_live``: it came in as a request, with a channel) moves, and
    only once completed: a satisfied revisit closes it, an unsatisfied one reopens it to be put
    right (R-RV-11, see ``reopen``). An order registered as already finished had no dispatch or
    on-site steps to take again: it stays ``completed`` whatever the answer, an unsatisfied
    revisit being followed up by the next revisit it set. A live job still being put right
    (reopened, not completed again) is not moved by a revisit either."""
    revisit, order = outcome.revisit, outcome.work_order
    if order is None:  # a suggestion revisit (R-RV-2)
        return
    satisfied = is_satisfied(revisit.satisfaction)
    facts: dict[str, Any] = {
        "revisit_id": revisit.id,
        "sequence": revisit.sequence,
        "satisfaction": revisit.satisfaction.value if revisit.satisfaction else None,
    }
    if outcome.follow_up is not None:
        facts["next_revisit_due_at"] = _iso(outcome.follow_up.due_at)
    _record(session, order, A.REVISIT, order.status, actor, now, data=facts)
    if not order.is_live or order.status is not WorkOrderStatus.COMPLETED:
        return
    if satisfied:
        before = _move(order, A.CLOSE)
        _record(session, order, A.CLOSE, before, actor, now, data={"revisit_id": revisit.id})
    else:
        reopen(core, session, order, revisit, actor, now)


def reopen(core: App, session: Session, order: WorkOrder, revisit: Revisit, actor: Actor | None, now: datetime) -> None:
    """An unsatisfied revisit reopens a completed live job (R-RV-11): it is requested again, with a
    new on-site deadline by its urgency from now (the resident's earlier booking is past), and
    dispatched at once to the same technician, or, if they are no longer an active member of its
    department, to its least busy one (R-HD-2), who is sent the job again saying it was reopened.
    The arrival and completion (work, materials, charge, sign-off) are cleared from the job into the
    reopening's history record (R-RC-1); the next revisit the unsatisfied one set follows up the
    job once it is completed again."""
    cleared: dict[str, Any] = {
        "revisit_id": revisit.id,
        "preferred_at": _iso(order.preferred_at),
        "on_site_due_at": _iso(order.on_site_due_at),
        "dispatched_at": _iso(order.dispatched_at),
        "arrived_at": _iso(order.arrived_at),
        "completed_at": _iso(order.completed_at),
        "work_done": order.work_done,
        "materials": order.materials,
        "charge": str(charge_of(order)) if order.charge_cents is not None else None,
        "refusal_note": order.refusal_note,
        "signature_png_base64": base64.b64encode(order.signature_png).decode() if order.signature_png else None,
    }
    previous = session.get(Staff, order.handler_id) if order.handler_id is not None else None
    if previous is None or not previous.active or previous.department_id != order.department_id:
        previous = None
    before = _move(order, A.REOPEN)
    order.handler_id = None
    order.preferred_at = None
    order.on_site_due_at = on_site_due(core.policy.repairs, now, order.urgency, None)
    order.dispatched_at = order.arrived_at = order.completed_at = None
    order.work_done = order.materials = order.refusal_note = ""
    order.charge_cents = None
    order.signature_png = None
    _record(session, order, A.REOPEN, before, actor, now, data=cleared)
    technician = previous
    if technician is None and order.department_id is not None:
        technician = least_busy_technician(session, order.department_id)
    if technician is not None:  # else it waits, requested, for the department head to assign it
        _dispatch_to(core, session, order, technician, A.DISPATCH, actor, now, assigned_by="")


def overdue_contact(session: Session, order: WorkOrder) -> Staff | None:
    """Who is told that nobody reached a job in time: its department's active head, else the
    estate's service centre manager."""
    head = (
        None
        if order.department_id is None
        else session.scalar(
            select(Staff)
            .where(
                Staff.department_id == order.department_id,
                Staff.role == Role.DEPARTMENT_HEAD,
                Staff.active.is_(True),
            )
            .order_by(Staff.id)
            .limit(1)
        )
    )
    return head or first_with_role(session, order.estate_id, Role.SERVICE_CENTRE_MANAGER)


def mark_overdue(core: App, session: Session, order: WorkOrder, now: datetime) -> WorkOrderEvent:
    """Nobody is on site by the job's deadline: the job's history records it, its status as it is,
    and the department head is sent the job to reassign it (R-HD-2)."""
    event = _record(
        session, order, A.OVERDUE, order.status, None, now, data={"on_site_due_at": _iso(order.on_site_due_at)}
    )
    person = overdue_contact(session, order)
    if person is not None:
        messages.job_overdue(core, session, order, person)
    return event


def charge_of(order: WorkOrder) -> Decimal | None:
    """The charge as money (stored in cents)."""
    return Decimal(order.charge_cents).scaleb(-2) if order.charge_cents is not None else None
