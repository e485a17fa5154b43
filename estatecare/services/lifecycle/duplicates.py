"""Duplicates by hand: staff link a later report to the first report of the same problem, or
undo a link that was wrong; both are recorded in the history (R-IN-5, R-RC-1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services.errors import InvalidInput
from estatecare.services.lifecycle.common import S, id_of, load
from estatecare.services.people import Actor
from estatecare.services.records import complaint_for
from estatecare.services.schemas import LinkIn, UnlinkIn
from models import Assignment, Complaint
from models.lifecycle import Action
from models.permissions import Step


def link(core: App, session: Session, reference: str, data: LinkIn, actor: Actor | None, now: datetime) -> Complaint:
    """Link ``reference`` to its first report: it stops being handled on its own (an assignment
    ends), follows the first report and closes with it; its complainant still gets the replies."""
    complaint = load(session, reference, data.version, actor, Step.ASSESS)
    first = complaint_for(session, data.first_report, actor, Step.VIEW)
    if first.estate_id != complaint.estate_id or first.id == complaint.id:
        raise InvalidInput("first_report", "the first report must be another complaint of the same estate")
    if first.duplicate_of_id is not None:
        raise InvalidInput("first_report", "that complaint is itself linked: name the first report it follows")
    if S(first.status) in (S.INVALID, S.CLOSED):
        raise InvalidInput("first_report", f"the first report is {S(first.status).value}: it is not handled any more")
    complaint.duplicate_of_id = first.id
    complaint.apply(
        Action.LINK_DUPLICATE,
        at=now,
        actor_id=id_of(actor),
        note=data.note,
        data={"first_report": first.reference, "by_hand": True},
    )
    if complaint.assignee_id is not None:
        session.execute(
            update(Assignment)
            .where(Assignment.complaint_id == complaint.id, Assignment.active.is_(True))
            .values(active=False)
        )
        complaint.assignee_id = None
    complaint.valid, complaint.category, complaint.service_area = first.valid, first.category, first.service_area
    complaint.severity, complaint.urgency = first.severity, first.urgency
    complaint.resolution_due_at = None
    return complaint


def unlink(
    core: App, session: Session, reference: str, data: UnlinkIn, actor: Actor | None, now: datetime
) -> Complaint:
    """Undo a wrong link: the report is a problem of its own and is assigned by its assessment."""
    complaint = load(session, reference, data.version, actor, Step.ASSESS)
    first = session.get(Complaint, complaint.duplicate_of_id) if complaint.duplicate_of_id else None
    complaint.apply(
        Action.UNLINK_DUPLICATE,
        at=now,
        actor_id=id_of(actor),
        note=data.reason,
        data={"first_report": first.reference if first is not None else ""},
    )
    complaint.duplicate_of_id = None
    complaint.intake_done = False  # intake takes it up again: assigned by its assessment
    return complaint
