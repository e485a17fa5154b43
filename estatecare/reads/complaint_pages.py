"""What the web app's pages read besides a complaint's detail.

The estates of the complaint form, whether a complaint exists (its confirmation page), a
resident's status lookup, a complaint's photos and revisit signatures, the departments and
people a decision may name, and the revisit an action page records.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare.services.errors import NotFound
from estatecare.services.people import Actor
from estatecare.services.records import complaint_for
from models import Complaint, ComplaintAttachment, Department, Estate, Notification, Revisit, Staff
from models.enums import ComplaintStatus, NotificationStatus, Role
from models.lifecycle import Action
from models.permissions import Step


def estates(session: Session) -> list[tuple[str, str]]:
    """Every estate as (code, name), by code: the complaint form's choice."""
    return [(code, name) for code, name in session.execute(select(Estate.code, Estate.name).order_by(Estate.code))]


def complaint_exists(session: Session, reference: str) -> bool:
    """Whether a complaint with ``reference`` exists."""
    return session.scalar(select(Complaint.id).where(Complaint.reference == reference)) is not None


def resident_status(session: Session, reference: str, contact: str) -> dict[str, Any] | None:
    """A complaint's status for its resident, or None unless ``contact`` is its phone or email."""
    c = session.scalar(select(Complaint).where(Complaint.reference == reference))
    if c is None or not contact:
        return None
    digits = re.sub(r"\D", "", contact)
    by_phone = bool(digits) and re.sub(r"\D", "", c.contact_phone) == digits
    by_email = bool(c.contact_email) and c.contact_email.lower() == contact.lower()
    if not (by_phone or by_email):
        return None
    return {
        "reference": c.reference,
        "status": ComplaintStatus(c.status).value,
        "received_at": c.received_at,
        "closed_at": c.closed_at,
        "steps": with_reply(session, c, [(e.action.value, e.at) for e in c.events if e.action.value != "escalate"]),
    }


def reply_state(session: Session, c: Complaint) -> tuple[str, datetime | None] | None:
    """How the final reply reached the complainant (R-HD-4): ``reply_sent`` (when its email was
    sent), ``reply_recorded`` (a person recorded replying by phone, in person or by letter),
    ``reply_pending`` (its email waits in the outbox) or ``reply_none``; None before any reply is due."""
    confirmed = next((e for e in reversed(c.events) if e.action is Action.CONFIRM), None)
    row = session.execute(
        select(Notification.status, Notification.sent_at)
        .where(Notification.complaint_id == c.id, Notification.template == "final_reply")
        .order_by(Notification.id.desc())
        .limit(1)
    ).first()
    if row is not None and row.status is NotificationStatus.SENT:
        return "reply_sent", row.sent_at
    recorded = str((confirmed.data or {}).get("reply_by", "")) if confirmed is not None else ""
    if confirmed is not None and any(way in recorded for way in ("phone", "in_person", "letter")):
        return "reply_recorded", confirmed.at
    if row is not None and row.status is not NotificationStatus.FAILED:
        return "reply_pending", None
    return ("reply_none", None) if confirmed is not None or row is not None else None


def with_reply(session: Session, c: Complaint, steps: list[tuple[str, datetime]]) -> list[tuple[str, datetime | None]]:
    """The timeline's steps with the reply's state after the confirmation: "replied" only when the
    reply was sent or recorded (R-HD-4)."""
    state = reply_state(session, c)
    if state is None:
        return list(steps)
    at = max((i for i, (action, _) in enumerate(steps) if action == "confirm"), default=len(steps) - 1)
    return [*steps[: at + 1], state, *steps[at + 1 :]]


def attachments(session: Session, complaint_id: int) -> list[tuple[int, str, str]]:
    """A complaint's attachments as (id, filename, content type), in upload order."""
    rows = session.execute(
        select(ComplaintAttachment.id, ComplaintAttachment.filename, ComplaintAttachment.content_type)
        .where(ComplaintAttachment.complaint_id == complaint_id)
        .order_by(ComplaintAttachment.id)
    )
    return [(aid, name, content_type) for aid, name, content_type in rows]


def attachment_file(session: Session, actor: Actor, reference: str, attachment_id: int) -> tuple[str, str, str]:
    """(content type, filename, stored name) of an attachment of a complaint ``actor`` may see the photos of."""
    complaint = complaint_for(session, reference, actor, Step.ATTACHMENTS)
    row = session.get(ComplaintAttachment, attachment_id)
    if row is None or row.complaint_id != complaint.id:
        raise NotFound("no such photo")
    return row.content_type, row.filename, row.stored_name


def signature_png(session: Session, actor: Actor, reference: str, sequence: int) -> bytes:
    """The resident's signature of revisit number ``sequence`` of a complaint ``actor`` may see."""
    complaint = complaint_for(session, reference, actor, Step.VIEW)
    png = session.scalar(
        select(Revisit.signature_png).where(Revisit.complaint_id == complaint.id, Revisit.sequence == sequence)
    )
    if not png:
        raise NotFound("no signature")
    return png


def departments(session: Session, estate_id: int) -> list[dict[str, Any]]:
    """The estate's departments, each with the active handlers and heads a decision may name."""
    out = []
    for dept in session.scalars(select(Department).where(Department.estate_id == estate_id).order_by(Department.id)):
        people = session.execute(
            select(Staff.email, Staff.name)
            .where(
                Staff.department_id == dept.id,
                Staff.active.is_(True),
                Staff.role.in_([Role.HANDLER, Role.DEPARTMENT_HEAD]),
            )
            .order_by(Staff.id)
        ).all()
        out.append({"code": dept.code, "name": dept.name, "people": [(e, n) for e, n in people]})
    return out


def open_revisit(session: Session, complaint_id: int) -> Revisit | None:
    """The complaint's first revisit not yet done, if any."""
    return session.scalar(
        select(Revisit).where(Revisit.complaint_id == complaint_id, Revisit.done_at.is_(None)).order_by(Revisit.id)
    )


def escalated_to(chain: Sequence[Role], level: int) -> Role | None:
    """The role of the chain a complaint at escalation ``level`` went up to (R-HD-3); None below level 1."""
    return chain[min(level, len(chain)) - 1] if level > 0 and chain else None
