"""Assignment: by the routing table or by hand, to a department and the person with the
fewest open cases (a major complaint: the service-centre manager), with a work arrangement notice
(R-AS-4, R-HD-2, R-HD-3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services import messages
from estatecare.services.errors import Forbidden, InvalidInput, NotFound
from estatecare.services.lifecycle.common import S, by_id, id_of, load
from estatecare.services.people import Actor, department, first_with_role, least_busy_handler, staff_by_email
from estatecare.services.schemas import AssignmentIn
from models import Assignment, Complaint, Staff
from models.enums import Role, Severity
from models.lifecycle import Action
from models.permissions import Step


def auto_assign(core: App, session: Session, complaint_id: int, now: datetime) -> bool:
    """Assign an assessed (or reopened) complaint by the routing table; no-op otherwise."""
    complaint = by_id(session, complaint_id)
    if complaint.status not in (S.ASSESSED, S.REOPENED) or complaint.duplicate_of_id is not None:
        return False
    if complaint.category is None:
        return False
    handler = major_handler(core, session, complaint)
    assign_to(core, session, complaint, None, handler.email if handler else None, None, "", None, now)
    return True


def major_handler(core: App, session: Session, complaint: Complaint) -> Staff | None:
    """A valid major complaint is handled by the policy's ``major_handler_role`` (the estate's
    service-centre manager, R-AS-4); None for any other, or when the estate has nobody in that role."""
    if complaint.severity is not Severity.MAJOR or not complaint.valid:
        return None
    return first_with_role(session, complaint.estate_id, core.policy.escalation.major_handler_role)


def assign(
    core: App, session: Session, reference: str, data: AssignmentIn, actor: Actor | None, now: datetime
) -> Complaint:
    """Assign or reassign by hand (R-HD-2)."""
    complaint = load(session, reference, data.version, actor, Step.ASSIGN)
    assignment = assign_to(
        core,
        session,
        complaint,
        data.department or None,
        data.staff_email or None,
        data.due_at,
        data.instructions,
        actor,
        now,
    )
    if actor is not None and actor.role is Role.DEPARTMENT_HEAD and assignment.department_id != actor.department_id:
        raise Forbidden("a department head assigns within the department; a transfer sheet asks to move it (R-HD-3)")
    return complaint


def assign_to(
    core: App,
    session: Session,
    complaint: Complaint,
    dept_code: str | None,
    staff_email: str | None,
    due_at: datetime | None,
    instructions: str,
    actor: Actor | None,
    now: datetime,
) -> Assignment:
    """Assign ``complaint`` to ``dept_code`` (default: the routing table's) and ``staff_email``
    (default: the least busy handler), ending an earlier assignment; queues the work arrangement notice."""
    if dept_code is None:
        if complaint.category is None:
            raise InvalidInput("department", "the complaint has no category yet: name the department")
        dept_code = core.policy.department_for(complaint.category, complaint.service_area)
    try:
        dept = department(session, complaint.estate_id, dept_code)
    except NotFound as exc:
        raise InvalidInput("department", str(exc)) from exc
    if staff_email:
        try:
            person = staff_by_email(session, staff_email)
        except NotFound as exc:
            raise InvalidInput("staff_email", str(exc)) from exc
        if person.estate_id not in (None, complaint.estate_id):
            raise InvalidInput("staff_email", "that person works for another estate")
    else:
        try:
            person = least_busy_handler(session, dept, excluding=complaint.id)
        except NotFound as exc:
            raise InvalidInput("department", str(exc)) from exc
    if due_at is not None and due_at.tzinfo is None:
        raise InvalidInput("due_at", "give the deadline with its timezone offset")
    complaint.apply(
        Action.ASSIGN, at=now, actor_id=id_of(actor), data={"department": dept.code, "assignee": person.email}
    )
    if complaint.assignee_id is not None:  # a reassignment: the earlier one ends (a first one has none)
        session.execute(
            update(Assignment)
            .where(Assignment.complaint_id == complaint.id, Assignment.active.is_(True))
            .values(active=False)
        )
    complaint.department_id = dept.id
    complaint.assignee_id = person.id
    complaint.resolution_due_at = due_at or core.deadlines.resolution_due(now, complaint.severity)
    complaint.first_response_at = complaint.first_response_at or now
    assignment = Assignment(
        complaint_id=complaint.id,
        department_id=dept.id,
        staff_id=person.id,
        assigned_by_id=id_of(actor),
        assigned_at=now,
        due_at=complaint.resolution_due_at,
        instructions=instructions,
    )
    session.add(assignment)
    session.flush()
    messages.work_arrangement(
        core,
        session,
        complaint,
        person,
        key=f"work_arrangement:{assignment.id}",
        assigned_by=actor.name if actor else "Estate Care",
        instructions=instructions,
    )
    return assignment
