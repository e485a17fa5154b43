"""Shared plumbing of the lifecycle steps: loading a complaint by id or by reference, and the
references (:class:`~models.ref.Ref`) that name and tag the flow runs of the automatic steps."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare.services.errors import NotFound
from estatecare.services.people import Actor
from estatecare.services.records import complaint_for
from models import Complaint, Estate, Revisit
from models.enums import ComplaintStatus
from models.permissions import Step
from models.ref import Ref

S = ComplaintStatus


def by_id(session: Session, complaint_id: int) -> Complaint:
    """The complaint with ``complaint_id`` (an automatic step's argument)."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(f"no complaint with id {complaint_id}")
    return complaint


def load(session: Session, reference: str, version: int | None, actor: Actor | None, step: Step) -> Complaint:
    """The complaint a person's step is about, once the permissions matrix lets ``actor`` take ``step``."""
    return complaint_for(session, reference, actor, step, version)


def id_of(actor: Actor | None) -> int | None:
    """The acting person's staff id; None when the system itself acts."""
    return actor.id if actor is not None else None


def describe(session: Session, ids: list[int]) -> list[Ref]:
    """Reference, estate and category of each complaint: what names and tags its flow runs."""
    if not ids:
        return []
    rows = session.execute(
        select(Complaint.id, Complaint.reference, Estate.code, Complaint.category)
        .join(Estate, Estate.id == Complaint.estate_id)
        .where(Complaint.id.in_(ids))
        .order_by(Complaint.id)
    )
    return [Ref(cid, ref, code, cat.value if cat else "") for cid, ref, code, cat in rows]


def pending_follow_ups(session: Session, limit: int = 500) -> dict[str, list[Ref]]:
    """Automatic steps still to do after their dispatch was lost: assignments and revisit outcomes."""
    open_revisit = select(Revisit.id).where(Revisit.complaint_id == Complaint.id, Revisit.done_at.is_(None)).exists()
    done_revisit = select(Revisit.id).where(Revisit.complaint_id == Complaint.id, Revisit.done_at.is_not(None)).exists()
    to_assign = session.scalars(
        select(Complaint.id)
        .where(
            Complaint.status == S.ASSESSED,
            Complaint.intake_done.is_(True),
            Complaint.valid.is_(True),
            Complaint.duplicate_of_id.is_(None),
        )
        .limit(limit)
    ).all()
    to_conclude = session.scalars(
        select(Complaint.id).where(Complaint.status == S.REVISIT_DUE, done_revisit, ~open_revisit).limit(limit)
    ).all()
    return {"assign": describe(session, list(to_assign)), "after-revisit": describe(session, list(to_conclude))}
