"""Handling to the result: progress replies to the complainant (R-HD-5), the handler's result and
its confirmation by the department head (R-HD-6), then the revisit is arranged (R-RV-3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services import messages
from estatecare.services.errors import InvalidInput
from estatecare.services.lifecycle.close import close_duplicates
from estatecare.services.lifecycle.common import id_of, load
from estatecare.services.lifecycle.escalate import chain_role
from estatecare.services.people import Actor, first_with_role, staff_with_role
from estatecare.services.schemas import ConfirmationIn, ProgressIn, ResolutionIn
from models import Complaint, Revisit, Staff
from models.enums import RevisitKind, RevisitMethod, Role
from models.lifecycle import Action
from models.permissions import Step


def progress(
    core: App, session: Session, reference: str, data: ProgressIn, actor: Actor | None, now: datetime
) -> Complaint:
    """Tell the complainant how it goes, and when not solved yet, the next reply date (R-HD-5)."""
    complaint = load(session, reference, data.version, actor, Step.PROGRESS)
    if data.next_reply_at is not None:
        if data.next_reply_at.tzinfo is None:
            raise InvalidInput("next_reply_at", "give the time with its timezone offset")
        if data.next_reply_at <= now:
            raise InvalidInput("next_reply_at", "the next reply date must be in the future (R-HD-5)")
    event = complaint.apply(
        Action.PROGRESS,
        at=now,
        actor_id=id_of(actor),
        note=data.message,
        data={"next_reply_at": messages.iso(data.next_reply_at)},
    )
    complaint.first_response_at = complaint.first_response_at or now
    # A later progress step replaces the promise; one without a date leaves the result as the next word.
    complaint.next_reply_due_at = data.next_reply_at
    messages.progress_update(session, complaint, message=data.message, next_reply_at=data.next_reply_at, seq=event.seq)
    return complaint


def resolve(
    core: App, session: Session, reference: str, data: ResolutionIn, actor: Actor | None, now: datetime
) -> Complaint:
    """The handler records the result, marked as a rectification (整改) when it put right something
    done wrong (a corrective action in the monthly report, R-KP-1); the department head is asked
    to confirm (R-HD-6)."""
    complaint = load(session, reference, data.version, actor, Step.RESOLVE)
    event = complaint.apply(
        Action.RESOLVE, at=now, actor_id=id_of(actor), note=data.result, data={"rectification": data.rectification}
    )
    complaint.resolution_text = data.result
    complaint.rectification = data.rectification
    complaint.resolved_at = now
    complaint.next_reply_due_at = None  # the result is the reply now due (R-HD-5)
    confirmer = _confirmer(core, session, complaint, id_of(actor))
    if confirmer is not None:
        messages.confirm_task(
            core, session, complaint, confirmer, handler_name=actor.name if actor else "", seq=event.seq
        )
    return complaint


def _confirmer(core: App, session: Session, complaint: Complaint, recorder_id: int | None) -> Staff | None:
    """Who is asked to confirm: a head of the department other than the one who recorded the result;
    when there is none, the first superior of the chain (R-HD-6, R-HD-3; ``Step.CONFIRM``)."""
    not_recorder = [Staff.id != recorder_id] if recorder_id is not None else []
    if complaint.department_id is not None:
        head = session.scalar(
            select(Staff)
            .where(
                Staff.department_id == complaint.department_id,
                Staff.role == Role.DEPARTMENT_HEAD,
                Staff.active.is_(True),
                *not_recorder,
            )
            .order_by(Staff.id)
            .limit(1)
        )
        if head is not None:
            return head
    return next(
        (p for p in staff_with_role(session, complaint.estate_id, chain_role(core, 1)) if p.id != recorder_id), None
    )


def confirm(
    core: App, session: Session, reference: str, data: ConfirmationIn, actor: Actor | None, now: datetime
) -> Complaint:
    """The department head confirms (reply to the complainant, revisit due) or returns the result (R-HD-6)."""
    complaint = load(session, reference, data.version, actor, Step.CONFIRM)
    if not data.confirmed:
        returned = complaint.apply(Action.RETURN, at=now, actor_id=id_of(actor), note=data.note)
        assignee = session.get(Staff, complaint.assignee_id) if complaint.assignee_id else None
        if assignee is not None:
            messages.work_arrangement(
                core,
                session,
                complaint,
                assignee,
                key=f"returned:{complaint.id}:{returned.seq}",
                assigned_by=actor.name if actor else "",
                instructions=data.note,
            )
        return complaint
    emailed = any(person.contact_email for person in messages.complainants(session, complaint))
    event = complaint.apply(
        Action.CONFIRM,
        at=now,
        actor_id=id_of(actor),
        note=data.note,
        data={"reply_by": reply_by(emailed, data.reply_by)},
    )
    messages.final_reply(session, complaint, seq=event.seq)
    if complaint.needs_revisit:
        _arrange_revisit(core, session, complaint, now)
    else:
        complaint.apply(
            Action.CLOSE,
            at=now,
            actor_id=id_of(actor),
            note="no revisit: anonymous or reply-only, the reply is on the record (R-IN-4)",
        )
        messages.closing_notice(session, complaint)
        close_duplicates(session, complaint, now)
    return complaint


def reply_by(emailed: bool, recorded: str | None) -> str:
    """How the final reply reaches the complainant, as the confirmation records it (R-HD-4): by
    ``email`` (sent from the outbox), as a person recorded (``phone``, ``in_person``, ``letter``),
    both (``email+phone``), or ``""``: no reply is sent or recorded."""
    return "+".join(way for way in ("email" if emailed else "", recorded or "") if way)


def _arrange_revisit(core: App, session: Session, complaint: Complaint, now: datetime) -> Revisit:
    """A valid complaint is revisited by the service-centre manager in person (R-RV-3);
    from the 2nd revisit on, by phone if need be (R-RV-10)."""
    sequence = 1 + len(session.scalars(select(Revisit.id).where(Revisit.complaint_id == complaint.id)).all())
    visitor = first_with_role(session, complaint.estate_id, Role.SERVICE_CENTRE_MANAGER)
    due = core.deadlines.complaint_revisit_due(now)
    revisit = Revisit(
        estate_id=complaint.estate_id,
        complaint_id=complaint.id,
        kind=RevisitKind.COMPLAINT,
        method=RevisitMethod.ON_SITE,
        sequence=sequence,
        visitor_id=visitor.id if visitor else None,
        due_at=due,
        created_at=now,
    )
    session.add(revisit)
    session.flush()
    complaint.revisit_due_at = due
    if visitor is not None:
        messages.revisit_task(core, session, complaint, revisit, visitor)
    return revisit
