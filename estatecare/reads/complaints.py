"""Complaints as staff read them: the register page of the API and a complaint's detail.

Complainant contact is shown only to staff who handle the case (R-IN-6); everyone else
sees the masked phone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from estatecare.services.people import Actor
from estatecare.services.records import complaint_for
from models import (
    Complaint,
    Department,
    Escalation,
    Estate,
    Revisit,
    Staff,
    Unit,
)
from models.enums import ComplaintStatus, Role
from models.lifecycle import ASSIGNED_STATES
from models.permissions import Step
from notifications.catalogue import mask_phone


class HistoryItem(BaseModel):
    """One record of the history timeline (R-RC-1)."""

    seq: int
    at: datetime
    action: str
    from_status: str
    to_status: str
    escalation_level: int
    actor: str | None
    note: str
    data: dict[str, Any]


class ComplaintSummary(BaseModel):
    """A line of the register."""

    reference: str
    estate: str
    status: ComplaintStatus
    category: str | None
    severity: str
    urgency: str
    received_at: datetime
    assignee: str | None
    escalation_level: int
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    revisit_due_at: datetime | None
    overdue: bool


class ComplaintPage(BaseModel):
    """A page of the register."""

    total: int
    items: list[ComplaintSummary]


class ComplaintDetail(ComplaintSummary):
    """Everything about one complaint."""

    version: int
    channel: str
    unit: str | None
    content: str
    valid: bool | None
    service_area: str | None
    department: str | None
    department_name: str | None  # what pages show; ``department`` is its code
    assignee_name: str | None  # what pages show; ``assignee`` is the handler's email
    estate_name: str
    complainant_name: str | None
    contact_phone: str
    contact_email: str | None
    contact_visible: bool
    anonymous: bool
    reply_only: bool
    incoming_doc_number: str  # a written complaint's number in the incoming-document log (R-IN-3)
    received_by: str | None  # the staff member who registered it (R-IN-2), by email
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution_text: str
    explanation_text: str
    satisfaction: str | None
    duplicate_of: str | None
    duplicates: list[str]
    parent: str | None
    children: list[str]
    escalations: list[dict[str, Any]]
    revisits: list[dict[str, Any]]
    history: list[HistoryItem]


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """SQL twin of :meth:`Complaint.is_overdue`: a deadline of the current state has passed
    and the resolution is not waiting for its department head (resolved is not overdue).

    Every branch requires its deadline to be set, so the clause is never NULL and
    ``~overdue_clause(now)`` matches exactly the complaints that are not overdue.
    """
    s = ComplaintStatus
    return or_(
        and_(
            Complaint.status.in_([s.RECEIVED, s.ASSESSED]),
            Complaint.first_response_at.is_(None),
            Complaint.response_due_at.is_not(None),
            Complaint.response_due_at < now,
        ),
        and_(
            Complaint.status.in_(ASSIGNED_STATES),
            Complaint.resolution_due_at.is_not(None),
            Complaint.resolution_due_at < now,
        ),
        and_(
            Complaint.status == s.REVISIT_DUE,
            Complaint.revisit_due_at.is_not(None),
            Complaint.revisit_due_at < now,
        ),
    )


def complaint_page(
    session: Session,
    actor: Actor,
    status: ComplaintStatus | None,
    estate: str | None,
    assignee: str | None,
    overdue: bool | None,
    limit: int,
    offset: int,
    now: datetime,
) -> ComplaintPage:
    """The register, filtered; staff of an estate see only that estate."""
    query = select(Complaint, Estate.code, Staff.email).join(Estate, Estate.id == Complaint.estate_id)
    query = query.outerjoin(Staff, Staff.id == Complaint.assignee_id)
    if actor.estate_id is not None:
        query = query.where(Complaint.estate_id == actor.estate_id)
    if status is not None:
        query = query.where(Complaint.status == status)
    if estate:
        query = query.where(Estate.code == estate)
    if assignee:
        email = actor.email if assignee == "me" else assignee
        query = query.where(func.lower(Staff.email) == email.lower())
    if overdue is not None:
        query = query.where(overdue_clause(now) if overdue else ~overdue_clause(now))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Complaint.received_at.desc(), Complaint.id.desc()).limit(limit).offset(offset)
    )
    return ComplaintPage(total=total, items=[_summary(c, code, email, now) for c, code, email in rows])


def _summary(c: Complaint, estate_code: str, assignee_email: str | None, now: datetime) -> ComplaintSummary:
    return ComplaintSummary(
        reference=c.reference,
        estate=estate_code,
        status=ComplaintStatus(c.status),
        category=c.category.value if c.category else None,
        severity=c.severity.value,
        urgency=c.urgency.value,
        received_at=c.received_at,
        assignee=assignee_email,
        escalation_level=c.escalation_level,
        response_due_at=c.response_due_at,
        resolution_due_at=c.resolution_due_at,
        revisit_due_at=c.revisit_due_at,
        overdue=c.is_overdue(now),
    )


def complaint_detail(session: Session, actor: Actor, reference: str, now: datetime) -> ComplaintDetail:
    """One complaint with its history timeline; another estate's is answered like an unknown reference."""
    c = complaint_for(session, reference, actor, Step.VIEW)
    estate = session.get(Estate, c.estate_id)
    assignee = session.get(Staff, c.assignee_id) if c.assignee_id else None
    dept = session.get(Department, c.department_id) if c.department_id else None
    unit = session.get(Unit, c.unit_id) if c.unit_id else None
    visible = c.contact_visible_to(actor)
    actor_ids = {e.actor_id for e in c.events if e.actor_id}
    actor_names: dict[int, str] = {
        sid: name for sid, name in session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(actor_ids)))
    }
    ref_of = aliased(Complaint)
    duplicate_of = (
        session.scalar(select(ref_of.reference).where(ref_of.id == c.duplicate_of_id)) if c.duplicate_of_id else None
    )
    parent = session.scalar(select(ref_of.reference).where(ref_of.id == c.parent_id)) if c.parent_id else None
    base = _summary(c, estate.code if estate else "", assignee.email if assignee else None, now)
    return ComplaintDetail(
        **base.model_dump(),
        version=c.version,
        channel=c.channel.value,
        unit=unit.label if unit else None,
        content=c.content,
        valid=c.valid,
        service_area=c.service_area.value if c.service_area else None,
        department=dept.code if dept else None,
        department_name=dept.name if dept else None,
        assignee_name=assignee.name if assignee else None,
        estate_name=estate.name if estate else "",
        complainant_name=c.complainant_name if visible else None,
        contact_phone=c.contact_phone if visible else mask_phone(c.contact_phone),
        contact_email=c.contact_email if visible else None,
        contact_visible=visible,
        anonymous=c.anonymous,
        reply_only=c.reply_only,
        incoming_doc_number=c.incoming_doc_number,
        received_by=session.scalar(select(Staff.email).where(Staff.id == c.received_by_id)),
        first_response_at=c.first_response_at,
        resolved_at=c.resolved_at,
        closed_at=c.closed_at,
        resolution_text=c.resolution_text,
        explanation_text=c.explanation_text,
        satisfaction=c.satisfaction.value if c.satisfaction else None,
        duplicate_of=duplicate_of,
        duplicates=list(session.scalars(select(Complaint.reference).where(Complaint.duplicate_of_id == c.id))),
        parent=parent,
        children=list(session.scalars(select(Complaint.reference).where(Complaint.parent_id == c.id))),
        escalations=[
            {
                "kind": e.kind.value,
                "level": e.level,
                "to_role": Role(e.to_role).value,
                "raised_at": e.raised_at,
                "reason": e.reason,
                "deadline_kind": e.deadline_kind.value if e.deadline_kind else None,
                "decided_at": e.decided_at,
                "decision_note": e.decision_note,
            }
            for e in session.scalars(select(Escalation).where(Escalation.complaint_id == c.id).order_by(Escalation.id))
        ],
        revisits=[
            {
                "sequence": r.sequence,
                "method": r.method.value,
                "due_at": r.due_at,
                "done_at": r.done_at,
                "satisfaction": r.satisfaction.value if r.satisfaction else None,
                "signed": r.signature_png is not None,
                "refusal_note": r.refusal_note,
                "answers": r.answers,
                "new_issue": r.new_issue,
                "id": r.id,
                "reviewed_at": r.reviewed_at,  # the supervisor's review (R-RV-9)
                "supervisor_opinion": r.supervisor_opinion,
            }
            for r in session.scalars(select(Revisit).where(Revisit.complaint_id == c.id).order_by(Revisit.id))
        ],
        history=[
            HistoryItem(
                seq=e.seq,
                at=e.at,
                action=e.action.value,
                from_status=e.from_status.value,
                to_status=e.to_status.value,
                escalation_level=e.escalation_level,
                actor=actor_names.get(e.actor_id) if e.actor_id else None,
                note=e.note,
                data=e.data,
            )
            for e in c.events
        ],
    )
