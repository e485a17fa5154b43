"""Reminders the deadline sweep sends: the reply date promised to a complainant (R-HD-5) and open
revisits about to fall due (R-RV-13). Each is queued once (outbox idempotency keys), so running
the sweep twice sends nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, cast, literal, select
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services import messages
from estatecare.services.lifecycle.common import S
from estatecare.services.lifecycle.revisit import revisit_subject
from models import Complaint, Notification, Revisit, Staff
from models.lifecycle import ASSIGNED_STATES, Action

#: Not solved yet: the states in which a progress step promises a next reply (R-HD-5).
UNSOLVED_STATES = frozenset({S.ASSESSED, *ASSIGNED_STATES})


@dataclass(frozen=True)
class Reminded:
    """What one sweep reminded of: complaints whose promised reply date came, open revisits."""

    next_replies: list[int]
    revisits: list[int]


def send_reminders(core: App, session: Session, now: datetime, limit: int = 500) -> Reminded:
    """Both kinds of reminder, in the caller's transaction."""
    return Reminded(next_reply_reminders(core, session, now, limit), revisit_reminders(core, session, now, limit))


def next_reply_reminders(core: App, session: Session, now: datetime, limit: int = 500) -> list[int]:
    """The reply date promised to the complainant came and the complaint is not solved (R-HD-5):
    the complainants are told it is still being handled and when they hear next, and the handler
    is reminded. The next date is the resolution deadline if still ahead, else the next working
    day; it becomes the new promise, reminded of in turn, until a progress step, the result or
    closing replaces or clears it. Returns the complaints reminded of."""
    rows = session.scalars(
        select(Complaint)
        .where(
            Complaint.next_reply_due_at.is_not(None),
            Complaint.next_reply_due_at <= now,
            Complaint.status.in_(sorted(UNSOLVED_STATES)),
        )
        .order_by(Complaint.next_reply_due_at, Complaint.id)
        .limit(limit)
    ).all()
    for complaint in rows:
        due = complaint.next_reply_due_at
        assert due is not None
        ahead = complaint.resolution_due_at
        next_at = ahead if ahead is not None and ahead > now else core.deadlines.calendar.add_days(now, 1)
        messages.reply_due(core, session, complaint, _handler(session, complaint), due=due, next_at=next_at)
        complaint.next_reply_due_at = next_at
    return [c.id for c in rows]


def _handler(session: Session, complaint: Complaint) -> Staff | None:
    """Who promised the reply: the assignee, else whoever took the last progress step."""
    staff_id = complaint.assignee_id or next(
        (e.actor_id for e in reversed(complaint.events) if e.action is Action.PROGRESS and e.actor_id), None
    )
    return session.get(Staff, staff_id) if staff_id is not None else None


def revisit_reminders(core: App, session: Session, now: datetime, limit: int = 500) -> list[int]:
    """Remind the visitor of each open revisit ``deadlines.revisit_reminder_hours`` before it is due
    (a complaint's, a work order's or a suggestion's), once per revisit (R-RV-13). A revisit first
    seen when already overdue is reminded of at once, marked overdue. Returns the revisits reminded of."""
    window = now + timedelta(hours=core.policy.deadlines.revisit_reminder_hours)
    key = literal("revisit_reminder:") + cast(Revisit.id, String)
    reminded = select(Notification.id).where(Notification.idempotency_key == key).exists()
    rows = session.scalars(
        select(Revisit)
        .where(Revisit.done_at.is_(None), Revisit.visitor_id.is_not(None), Revisit.due_at <= window, ~reminded)
        .order_by(Revisit.due_at, Revisit.id)
        .limit(limit)
    ).all()
    for revisit in rows:
        visitor = session.get(Staff, revisit.visitor_id)
        assert visitor is not None
        subject_ref, resident = revisit_subject(core, session, revisit)
        complaint = session.get(Complaint, revisit.complaint_id) if revisit.complaint_id is not None else None
        unit = messages.unit_label(session, resident.unit_id)
        messages.revisit_reminder(
            core, session, revisit, visitor, subject_ref=subject_ref, unit=unit, complaint=complaint, now=now
        )
    return [r.id for r in rows]
