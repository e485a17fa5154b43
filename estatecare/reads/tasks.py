"""What waits for a staff member (the inbox), and the log of who was shown contact data.

R-IN-6: a handler sees the complainant's contact only while the case is assigned to
them; supervisors, leaders and the service centre (front desk, revisit staff) see it
because they handle complaints. Every time contact data is shown, a ``ContactView``
row records who saw it, when and on which page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from estatecare.reads.revisits import suggestion_source
from estatecare.services.lifecycle import SUPERVISORS
from estatecare.services.people import RANK, Actor, complaint_case, may
from models import Complaint, ContactView, Escalation, Revisit, WorkOrder
from models.enums import ComplaintStatus, Role, WorkOrderStatus
from models.lifecycle import ASSIGNED_STATES, DECIDABLE_STATES
from models.permissions import Step
from models.revisit import OPEN_JOB_STATES

S = ComplaintStatus


def log_contact_view(session: Session, actor: Actor, complaint: Complaint, page: str, now: datetime) -> None:
    """Record that ``actor`` was shown the contact data of ``complaint`` (R-IN-6)."""
    session.add(ContactView(complaint_id=complaint.id, staff_id=actor.id, viewed_at=now, page=page[:60]))


@dataclass(frozen=True)
class Task:
    """One line of "my tasks"."""

    kind: str  # assess, handle, confirm, revisit, review, decide, job
    reference: str
    content: str
    due_at: datetime | None
    overdue: bool
    path: str


def estate_scope(actor: Actor) -> list[ColumnElement[bool]]:
    """Staff of an estate see their estate only; leaders over all estates see every one."""
    return [Complaint.estate_id == actor.estate_id] if actor.estate_id is not None else []


def my_tasks(session: Session, actor: Actor, now: datetime) -> list[Task]:
    """What waits for ``actor``: assess, handle, confirm, revisit, review, decide, their open jobs;
    earliest deadline first."""
    tasks: list[Task] = []

    def add(kind: str, c: Complaint, due: datetime | None, page: str, overdue: bool | None = None) -> None:
        """A task on ``c``; ``overdue`` defaults to the task's own deadline ``due`` having passed."""
        late = bool(due and due < now) if overdue is None else overdue
        tasks.append(Task(kind, c.reference, c.content, due, late, f"/staff/complaints/{c.reference}/{page}"))

    scope = estate_scope(actor)
    if actor.role in SUPERVISORS:
        for c in session.scalars(select(Complaint).where(Complaint.status == S.RECEIVED, *scope)):
            add("assess", c, c.current_deadline(), "assessment", c.is_overdue(now))
    for c in session.scalars(
        select(Complaint).where(Complaint.assignee_id == actor.id, Complaint.status.in_(ASSIGNED_STATES))
    ):
        add("handle", c, c.current_deadline(), "resolution", c.is_overdue(now))
    # R-HD-6: the department's head confirms, not a result they recorded; a supervisor of the estate
    # when the department has no other head (the permissions matrix decides, ``Step.CONFIRM``)
    confirming: list[ColumnElement[bool]] | None = None
    if actor.role is Role.DEPARTMENT_HEAD and actor.department_id is not None:
        confirming = [Complaint.department_id == actor.department_id]
    elif actor.role in SUPERVISORS and actor.estate_id is not None:
        confirming = scope
    if confirming is not None:
        for c in session.scalars(select(Complaint).where(Complaint.status == S.RESOLVED, *confirming)):
            if may(actor, Step.CONFIRM, complaint_case(session, c, Step.CONFIRM)):
                # the confirmer's own task: late once the resolution deadline has passed, although
                # a resolved complaint is not overdue in the register (``Complaint.is_overdue``)
                add("confirm", c, c.resolution_due_at, "confirmation")
    for r, c in session.execute(
        select(Revisit, Complaint)
        .join(Complaint, Complaint.id == Revisit.complaint_id)
        .where(Revisit.visitor_id == actor.id, Revisit.done_at.is_(None), Complaint.status == S.REVISIT_DUE)
    ):
        add("revisit", c, r.due_at, "revisit")
    for order in session.scalars(  # jobs dispatched to them, to be done on site by the deadline
        select(WorkOrder).where(WorkOrder.handler_id == actor.id, WorkOrder.status.in_(sorted(OPEN_JOB_STATES)))
    ):
        due = order.on_site_due_at
        late = order.status is WorkOrderStatus.DISPATCHED and due is not None and due < now
        tasks.append(
            Task("job", order.reference, order.description, due, late, f"/staff/work-orders/{order.reference}")
        )
    for r, order in session.execute(  # sampled orders and major jobs (R-RV-4..6): no complaint to move on
        select(Revisit, WorkOrder)
        .join(WorkOrder, WorkOrder.id == Revisit.work_order_id)
        .where(Revisit.visitor_id == actor.id, Revisit.done_at.is_(None))
    ):
        tasks.append(
            Task(
                "revisit",
                order.reference,
                order.description,
                r.due_at,
                r.due_at < now,
                f"/staff/revisits/{r.id}",
            )
        )
    for r in session.scalars(  # suggestion revisits (R-RV-2): no complaint or order of their own
        select(Revisit).where(
            Revisit.visitor_id == actor.id,
            Revisit.done_at.is_(None),
            Revisit.complaint_id.is_(None),
            Revisit.work_order_id.is_(None),
        )
    ):
        source = suggestion_source(session, r, sees_contact=False)
        subject, suggestion = str(source.get("subject") or ""), str(source.get("suggestion") or "")
        tasks.append(Task("revisit", subject, suggestion, r.due_at, r.due_at < now, f"/staff/revisits/{r.id}"))
    if actor.role in SUPERVISORS and actor.estate_id is not None:
        # R-RV-9: the estate's supervisors review its done revisit records, not their own (leaders
        # may review any estate's, from the list; they are not given every estate's as tasks)
        for r, order_ref, order_text, complaint_ref, complaint_text in session.execute(
            select(Revisit, WorkOrder.reference, WorkOrder.description, Complaint.reference, Complaint.content)
            .outerjoin(WorkOrder, WorkOrder.id == Revisit.work_order_id)
            .outerjoin(Complaint, Complaint.id == Revisit.complaint_id)
            .where(
                Revisit.estate_id == actor.estate_id,
                Revisit.done_at.is_not(None),
                Revisit.reviewed_at.is_(None),
                or_(Revisit.visitor_id.is_(None), Revisit.visitor_id != actor.id),
            )
        ):
            if order_ref is None and complaint_ref is None:  # a suggestion revisit (R-RV-2): its own subject
                source = suggestion_source(session, r, sees_contact=False)
                complaint_ref, complaint_text = str(source.get("subject") or ""), str(source.get("suggestion") or "")
            tasks.append(
                Task(
                    "review",
                    order_ref or complaint_ref or "",
                    (order_text if order_ref else complaint_text) or "",
                    None,
                    False,
                    f"/staff/revisits/{r.id}",
                )
            )
    roles_below = [role for role in Role if RANK[role] <= RANK[actor.role]]
    for c in session.scalars(
        select(Complaint)
        .join(Escalation, Escalation.complaint_id == Complaint.id)
        .where(
            Escalation.decided_at.is_(None),
            Escalation.to_role.in_(roles_below),
            Complaint.status.in_(sorted(DECIDABLE_STATES)),
            *scope,
        )
        .distinct()
    ):
        add("decide", c, c.resolution_due_at, "decision")
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(tasks, key=lambda t: (t.due_at or far, t.reference))
