"""Closing: by hand when R-RV-14 holds, and the later reports of the same problem with their first (R-IN-5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services import messages
from estatecare.services.lifecycle.common import S, id_of, load
from estatecare.services.people import Actor
from estatecare.services.schemas import CloseIn
from models import Complaint
from models.lifecycle import Action
from models.permissions import Step


def close(core: App, session: Session, reference: str, data: CloseIn, actor: Actor | None, now: datetime) -> Complaint:
    """Close by hand when R-RV-14 holds (the guard in ``Complaint.apply`` checks it)."""
    complaint = load(session, reference, data.version, actor, Step.CLOSE)
    handled = S(complaint.status) in HANDLED_STATES
    complaint.apply(Action.CLOSE, at=now, actor_id=id_of(actor), note=data.note)
    complaint.next_reply_due_at = None
    if handled:
        messages.closing_notice(session, complaint)
    close_duplicates(session, complaint, now)
    return complaint


#: Closing from these states ends a handled complaint, and its complainants are told (R-HD-4);
#: an invalid one was explained instead (R-AS-2), a linked report closes with its first.
HANDLED_STATES = frozenset({S.RESOLVED, S.REVISIT_DUE})


def close_duplicates(session: Session, complaint: Complaint, now: datetime) -> None:
    """Later reports of the same problem close with their first report (R-IN-5)."""
    for dup in session.scalars(
        select(Complaint).where(Complaint.duplicate_of_id == complaint.id, Complaint.status == S.ASSESSED)
    ):
        dup.apply(Action.CLOSE, at=now, note=f"closed with its first report {complaint.reference} (R-IN-5)")
